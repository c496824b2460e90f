"""The guide engine on its own: ``Guide().handle(state, Event(...), now, locale)``, no HTTP, no Alexa.

The walk-throughs over POST /alexa live in test_walkthrough.py and test_navigation.py; these are the
pure, fast checks of the engine's contract: purity, determinism, JSON state, robustness against damaged
records, compress choice and timing, episodes, the trail bound and triage.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from skill.engine import EVENT_KINDS, Event, Guide, default_content
from skill.engine.content import CONTENT_DIR, parse_protocol
from skill.engine.plan import Line
from skill.engine.state import fresh_state, iso
from skill.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
CONTENT = default_content()
STEPS = CONTENT.protocol.steps
SETTINGS = CONTENT.protocol.settings
GUIDE = Guide()
RENDER = Renderer(CONTENT)
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)

# The steps of the guide proper: everything a person must not be walked into while an emergency stands.
SELF_CARE_STEPS = {s.id for s in STEPS.values() if s.kind == "info" and not s.id.startswith("screen")} | {"summary"}


def handle(state, kind: str, now: datetime = NOW, target: str | None = None, locale: str = "en-US"):
    return GUIDE.handle(state, Event(kind, target), now, locale)


def keys(plan) -> list[str]:
    return [line.key for line in plan.lines if isinstance(line, Line)]


def spoken(plan, locale: str = "en-US") -> str:
    return " ".join(RENDER.text(line, locale) for line in plan.lines if isinstance(line, Line))


def on_step(step_id: str, started: datetime = NOW, now: datetime = NOW, **fields) -> dict:
    """A record of someone on ``step_id``, screening clear, in an episode that began at ``started``."""
    state = fresh_state(started)
    state["step"] = step_id
    state["episode"]["screening"] = {"result": "clear", "at": iso(started)}
    state["last_seen"] = iso(now)
    state.update(fields)
    return state


def later_episode(step_id: str, **fields) -> dict:
    state = on_step(step_id, **fields)
    state["episode"]["number"] = 2
    state["past_episodes"] = [{"number": 1, "started": iso(NOW - timedelta(days=30))}]
    return state


def asks_or_ends(plan) -> bool:
    """Every turn either asks a question (session open, with a reprompt) or ends the session."""
    if plan.end_session:
        return plan.question is None and plan.reprompt is None
    return plan.question is not None and plan.reprompt is not None


# ---------------------------------------------------------------------------- purity and determinism


def test_the_engine_and_renderer_import_nothing_from_flask_or_alexa():
    code = (
        "import json, sys\n"
        "import skill.engine, skill.render\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    banned = [m for m in loaded if m.split(".")[0].startswith(("flask", "ask_sdk", "werkzeug", "requests"))]
    assert not banned
    assert "skill.engine.guide" in loaded  # the import really happened


DETERMINISM_CASES = {
    "launch-new-user": (None, "launch"),
    "yes-on-rest": (on_step("rest"), "yes"),
    "yes-on-cold-pack": (on_step("compress_cold"), "yes"),
    "breathing": (on_step("relax"), "yes"),
    "tier-1-answer": (fresh_state(NOW) | {"step": "screen_legs"}, "unsure"),
    "relaunch-mid-guide": (on_step("legs_2", now=NOW - timedelta(hours=2)), "launch"),
}


@pytest.mark.parametrize("case", DETERMINISM_CASES)
def test_the_same_state_event_and_time_give_the_same_turn_and_leave_the_input_alone(case):
    state, kind = DETERMINISM_CASES[case]
    before = copy.deepcopy(state)
    first = handle(state, kind)
    second = handle(state, kind)
    assert first == second
    assert state == before
    assert first.state is not state


def test_the_state_stays_json_after_every_turn_of_a_full_walk_through():
    now = NOW
    state = None
    turns = [("start", None)] + [("no", None)] * 5 + [("yes", None)] * 40
    for n, (kind, target) in enumerate(turns):
        now += timedelta(minutes=1)
        if state and state["step"] == "breathing":
            kind = "no"  # "another round of breathing?" — yes would breathe again, forever
        turn = GUIDE.handle(state, Event(kind, target), now, "en-US")
        assert json.loads(json.dumps(turn.state)) == turn.state, f"turn {n}: {kind}"
        state = json.loads(json.dumps(turn.state))  # as a store would hand it back
        if kind == "yes" and turn.plan.end_session:
            break
    else:
        raise AssertionError("the walk-through never ended")
    assert state["step"] == "summary"
    assert state["episode"]["finished"] is True


# ---------------------------------------------------------------------------- damaged records

DAMAGED_STATES = {
    "none": None,
    "empty": {},
    "future-version": {"version": 999},
    "version-as-text": {"version": "1", "step": "legs_2"},
    "not-a-dict": ["step", "legs_2"],
    "garbage-types": {"version": 1, "step": 42, "trail": "x", "episode": None},
    "unknown-step": {"version": 1, "step": "no_such_step", "trail": [None, 7, "rest"]},
    "step-is-a-list": {"version": 1, "step": ["legs_2"]},
    "step-is-a-dict": {"version": 1, "step": {"id": "legs_2"}},
    "garbage-times": {"version": 1, "last_seen": 5, "episode": {"number": "x", "started": 5, "compress_log": "x"},
                      "past_episodes": None, "last_emergency": "x"},
    "pending-without-a-step": {"version": 1, "pending": "resume_offer", "trail": None},
    "unknown-pending": {"version": 1, "pending": "bogus", "requested_step": 3, "paused": "yes"},
}


@pytest.mark.parametrize("name", DAMAGED_STATES)
def test_a_damaged_record_starts_the_guide_with_stop_what_you_are_doing(name):
    turn = handle(copy.deepcopy(DAMAGED_STATES[name]), "launch")
    assert "steps.stop_activity.say" in keys(turn.plan)
    assert turn.state["step"] == "screen_saddle"
    assert turn.plan.question == Line("steps.screen_saddle.ask")
    json.dumps(turn.state)


# Damaged fields around a usable step: the person may keep their place, but no event may crash the turn.
DAMAGED_AROUND_A_STEP = {
    "trail-none": {"version": 1, "step": "rest", "trail": None},
    "trail-of-garbage": {"version": 1, "step": "legs_2", "trail": [["rest"], {"x": 1}, 3, "rest"]},
    "episode-garbage": {"version": 1, "step": "rest", "episode": {"number": "2", "started": 5,
                                                                  "compress_log": [{"pack": "cold", "at": 5}, "x"],
                                                                  "screening": "clear"}},
    "compress-log-garbage": {"version": 1, "step": "not_eased",
                             "episode": {"compress_log": [{"pack": "lava", "at": "2024-05-01T08:00:00Z"}]}},
    "past-episodes-none": {"version": 1, "step": "legs_1", "last_seen": "2020-01-01T00:00:00Z",
                           "past_episodes": None},
    "emergency-garbage": {"version": 1, "step": "emergency", "pending": "confirm_help",
                          "last_emergency": {"at": "yesterday", "reason": 4}},
    "requested-step-a-list": {"version": 1, "step": "screen_fever", "requested_step": ["breathing"]},
    "emergency-reason-a-list": {"version": 1, "step": "emergency", "pending": "confirm_help",
                                "last_emergency": {"at": iso(NOW - timedelta(hours=1)), "reason": ["screen_legs"]}},
    "bogus-pending": {"version": 1, "step": "rest", "pending": "bogus"},
}


@pytest.mark.parametrize("name", DAMAGED_AROUND_A_STEP)
def test_a_damaged_record_never_crashes_any_event(name):
    failures = []
    for kind in sorted(EVENT_KINDS):
        try:
            turn = handle(copy.deepcopy(DAMAGED_AROUND_A_STEP[name]), kind,
                          target="breathing" if kind == "jump" else None)
            json.dumps(turn.state)
            assert asks_or_ends(turn.plan)
        except Exception as exc:  # noqa: BLE001 - collect every event that fails, then report them together
            failures.append(f"{kind}: {type(exc).__name__}: {exc}")
    assert not failures


# ---------------------------------------------------------------------------- which compress


def test_cold_pack_on_day_one_of_a_first_episode():
    turn = handle(on_step("rest", started=NOW - timedelta(hours=23)), "yes")
    assert turn.state["step"] == "compress_cold"
    assert "steps.compress_cold.say" in keys(turn.plan)


def test_moist_heat_after_the_first_day_of_a_first_episode():
    turn = handle(on_step("rest", started=NOW - timedelta(hours=25)), "yes")
    assert turn.state["step"] == "compress_heat"


def test_heat_first_in_a_later_episode_even_on_its_first_day():
    turn = handle(later_episode("rest"), "yes")
    assert turn.state["step"] == "compress_heat_first"


@pytest.mark.parametrize("episode", ["first", "later"])
def test_cold_only_once_heat_has_made_it_worse(episode):
    state = later_episode("rest") if episode == "later" else on_step("rest", started=NOW - timedelta(hours=30))
    state["heat_intolerant"] = True
    turn = handle(state, "yes")
    assert turn.state["step"] == "compress_cold_only"


@pytest.mark.parametrize("heat_step", sorted(s.id for s in STEPS.values() if s.pack == "heat"))
def test_heat_makes_it_worse_on_a_heat_step_moves_to_cold_only_and_is_remembered(heat_step):
    turn = handle(on_step(heat_step, started=NOW - timedelta(hours=30)), "heat_worse")
    assert turn.state["heat_intolerant"] is True
    assert turn.state["step"] == "compress_cold_only"
    assert keys(turn.plan)[:2] == ["events.heat_worse", "steps.compress_cold_only.say"]
    assert turn.plan.question == Line("steps.compress_cold_only.ask")


def test_heat_makes_it_worse_elsewhere_is_remembered_and_keeps_the_place():
    turn = handle(on_step("legs_2"), "heat_worse")
    assert turn.state["heat_intolerant"] is True
    assert turn.state["step"] == "legs_2"
    assert turn.plan.question == Line("steps.legs_2.ask")


# ---------------------------------------------------------------------------- compress log and next-due line


@pytest.mark.parametrize("step_id, pack", [("compress_cold", "cold"), ("compress_cold_only", "cold"),
                                           ("compress_heat", "heat"), ("compress_heat_first", "heat")])
def test_yes_on_a_compress_step_logs_the_pack_and_the_time(step_id, pack):
    turn = handle(on_step(step_id), "yes")
    assert turn.state["episode"]["compress_log"] == [{"pack": pack, "at": iso(NOW)}]
    assert turn.state["step"] == "legs_1"


def test_no_on_a_compress_step_logs_nothing():
    turn = handle(on_step("compress_cold"), "no")
    assert turn.state["episode"]["compress_log"] == []


def next_due_after(step_id: str, hours: float) -> str:
    placed = handle(on_step(step_id), "yes").state
    relaunch = handle(placed, "launch", NOW + timedelta(hours=hours))
    assert relaunch.state["pending"] == "resume_offer"
    return spoken(relaunch.plan)


@pytest.mark.parametrize("step_id, hours, expected", [
    ("compress_cold", 1 / 60, "Your next cold pack is due in about 2 hours."),
    ("compress_cold", 1, "Your next cold pack is due in about an hour."),
    ("compress_cold", 1.75, "Your next cold pack is due in about 15 minutes."),
    ("compress_cold", 3, "Your next cold pack is due now."),
    ("compress_heat", 1 / 60, "Your next heat is due in about 4 hours."),
    ("compress_heat", 3, "Your next heat is due in about an hour."),
    ("compress_heat", 3.5, "Your next heat is due in about 30 minutes."),
    ("compress_heat", 4.5, "Your next heat is due now."),
], ids=["cold-just-placed", "cold-after-1h", "cold-after-1h45", "cold-after-3h", "heat-just-placed",
        "heat-after-3h", "heat-after-3h30", "heat-after-4h30"])
def test_the_next_compress_is_due_every_2_hours_for_cold_and_every_4_for_heat(step_id, hours, expected):
    assert expected in next_due_after(step_id, hours)


def test_after_heat_made_it_worse_the_next_pack_due_is_cold_on_the_cold_timing():
    placed = handle(on_step("compress_heat"), "yes").state
    placed = handle(placed, "heat_worse", NOW + timedelta(minutes=5)).state
    relaunch = handle(placed, "launch", NOW + timedelta(minutes=10))
    assert "Your next cold pack is due in about 2 hours." in spoken(relaunch.plan)


# ---------------------------------------------------------------------------- episodes


def test_a_relaunch_days_later_starts_a_new_episode_and_keeps_heat_intolerance():
    state = on_step("legs_2", heat_intolerant=True)
    state["episode"]["compress_log"] = [{"pack": "cold", "at": iso(NOW)}]
    turn = handle(state, "launch", NOW + timedelta(hours=80))
    episode = turn.state["episode"]
    assert episode["number"] == 2
    assert episode["started"] == iso(NOW + timedelta(hours=80))
    assert episode["compress_log"] == [] and episode["screening"] is None
    assert turn.state["past_episodes"] == [{"number": 1, "started": iso(NOW)}]
    assert turn.state["heat_intolerant"] is True
    assert turn.state["step"] == "screen_saddle"
    assert keys(turn.plan)[:2] == ["events.welcome_back", "steps.stop_activity.say"]


def test_a_new_episode_after_heat_made_it_worse_still_uses_only_cold():
    state = on_step("legs_2", heat_intolerant=True)
    state = handle(state, "launch", NOW + timedelta(hours=80)).state
    later = NOW + timedelta(hours=80, minutes=1)
    for _ in range(5):
        state = handle(state, "no", later).state
    turn = handle(state, "yes", later)
    assert turn.state["step"] == "compress_cold_only"


def test_a_relaunch_two_hours_later_offers_to_resume_the_same_step():
    turn = handle(on_step("legs_2"), "launch", NOW + timedelta(hours=2))
    assert turn.state["episode"]["number"] == 1
    assert turn.state["step"] == "legs_2"
    assert turn.state["pending"] == "resume_offer"
    assert turn.plan.question == Line("events.resume_ask", {"title": "titles.legs_2"})
    assert "carry on with leg positions" in RENDER.text(turn.plan.question, "en-US")
    resumed = handle(turn.state, "yes", NOW + timedelta(hours=2, minutes=1))
    assert resumed.state["step"] == "legs_2" and resumed.state["pending"] is None
    assert resumed.plan.question == Line("steps.legs_2.ask")


# ---------------------------------------------------------------------------- the trail


def test_the_trail_never_grows_beyond_the_trail_limit():
    limit = SETTINGS["trail_limit"]
    state = on_step("rest")
    now = NOW
    for n in range(4 * limit):
        now += timedelta(seconds=10)
        # Forward and back in the leg positions, and jumps between named steps: the trail only grows on jumps.
        for kind, target in (("next", None), ("back", None), ("jump", "legs" if n % 2 else "rest")):
            state = handle(state, kind, now, target=target).state
            assert len(state["trail"]) <= limit
    assert len(state["trail"]) == limit
    assert all(step in STEPS for step in state["trail"])


def test_a_small_trail_limit_is_honoured_on_a_walk_through_the_guide():
    with (CONTENT_DIR / "protocol.yaml").open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    raw["settings"]["trail_limit"] = 3
    guide = Guide(dataclasses.replace(CONTENT, protocol=parse_protocol(raw)))
    state, now = on_step("rest"), NOW
    walked = ["rest"]
    for _ in range(8):  # rest, compress_cold, legs_1 .. legs_4, relax, breathing/pain_check, medicines
        now += timedelta(minutes=1)
        state = guide.handle(state, Event("next"), now, "en-US").state
        assert len(state["trail"]) <= 3
        walked.append(state["step"])
    assert state["trail"] == walked[-4:-1]
    for expected in reversed(walked[-4:-1]):
        now += timedelta(minutes=1)
        state = guide.handle(state, Event("back"), now, "en-US").state
        assert state["step"] == expected
    turn = guide.handle(state, Event("back"), now, "en-US")
    assert keys(turn.plan)[0] == "events.back_at_start"


# ---------------------------------------------------------------------------- tier 1: emergency


def emergency_turn(question: str = "screen_legs", answer: str = "yes"):
    state = fresh_state(NOW)
    state["step"] = question
    return handle(state, answer)


@pytest.mark.parametrize("question", sorted(s.id for s in STEPS.values() if s.kind == "screening" and s.tier == 1))
@pytest.mark.parametrize("answer", ["yes", "unsure"])
def test_a_tier_one_answer_gives_the_emergency_plan_and_ends(question, answer):
    turn = emergency_turn(question, answer)
    plan = turn.plan
    assert plan.triage == "emergency"
    assert plan.end_session and plan.question is None and plan.reprompt is None
    flag = CONTENT.protocol.steps[question].flag
    assert keys(plan) == ["emergency.say", f"emergency.reasons.{flag}"]
    assert plan.card is not None and plan.card.title == Line("emergency.card_title")
    assert plan.card.lines == plan.lines
    assert turn.state["step"] == "emergency"
    assert turn.state["last_emergency"] == {"tier": 1, "reason": flag, "at": iso(NOW), "acknowledged": False}
    assert turn.state["episode"]["screening"]["result"] == "emergency"
    assert "nine one one" in spoken(plan) and "can't make the call" in spoken(plan)


def test_a_relaunch_within_a_day_of_an_emergency_asks_whether_they_got_help():
    turn = handle(emergency_turn().state, "launch", NOW + timedelta(hours=20))
    assert turn.state["pending"] == "confirm_help"
    assert turn.plan.triage == "emergency"
    assert keys(turn.plan) == ["emergency.reminder"]
    assert turn.plan.question == Line("emergency.ask_got_help")


def test_only_yes_leaves_the_got_help_question_for_the_comfort_steps():
    waiting = handle(emergency_turn().state, "launch", NOW + timedelta(hours=2)).state
    turn = handle(waiting, "yes", NOW + timedelta(hours=2, minutes=1))
    assert turn.state["step"] == "rest"
    assert turn.state["last_emergency"]["acknowledged"] is True
    assert keys(turn.plan)[:2] == ["emergency.got_help", "steps.rest.say"]


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS - {"yes"}))
def test_nothing_but_yes_gets_past_the_got_help_question(kind):
    waiting = handle(emergency_turn().state, "launch", NOW + timedelta(hours=2)).state
    assert waiting["pending"] == "confirm_help"
    later = NOW + timedelta(hours=2, minutes=1)
    turn = handle(waiting, kind, later, target="breathing" if kind == "jump" else None)
    assert turn.state["step"] == "emergency"
    assert not [k for k in keys(turn.plan) if k.startswith("steps.")]
    assert turn.state["last_emergency"]["acknowledged"] is False
    # And the next turn, whatever it is, still stands on the emergency. ("delete my data" asks
    # its own yes/no first; keeping the data returns to the emergency question.)
    follow_up = "no" if kind == "delete_data" else "next"
    again = handle(turn.state, follow_up, later + timedelta(minutes=1))
    assert again.state["step"] == "emergency"
    assert again.state["step"] not in SELF_CARE_STEPS
    assert again.plan.triage == "emergency"


def test_the_emergency_reminder_lapses_after_a_day():
    turn = handle(emergency_turn().state, "launch", NOW + timedelta(hours=25))
    assert turn.state["pending"] != "confirm_help"
    assert turn.plan.triage is None


# ---------------------------------------------------------------------------- tier 2: urgent


@pytest.mark.parametrize("answer", ["yes", "unsure"])
def test_a_tier_two_answer_says_see_a_doctor_today_then_offers_the_comfort_steps(answer):
    state = fresh_state(NOW)
    state["step"] = "screen_fever"
    turn = handle(state, answer)
    assert turn.plan.triage == "urgent"
    assert turn.state["episode"]["screening"] == {"result": "urgent", "at": iso(NOW)}
    assert turn.state["step"] == "urgent"
    assert keys(turn.plan) == ["urgent.say", "urgent.reasons.t2_fever"]
    assert turn.plan.card is not None and turn.plan.card.title == Line("urgent.card_title")
    assert turn.plan.question == Line("urgent.ask") and not turn.plan.end_session
    comfort = handle(turn.state, "yes", NOW + timedelta(minutes=1))
    assert comfort.state["step"] == "rest"
    assert comfort.plan.question == Line("steps.rest.ask")
    assert comfort.plan.triage is None


def test_the_uk_urgent_advice_says_call_111():
    state = fresh_state(NOW)
    state["step"] = "screen_fever"
    turn = handle(state, "yes", locale="en-GB")
    assert "call one one one" in spoken(turn.plan, "en-GB")


def test_a_clear_screening_is_recorded():
    state = fresh_state(NOW)
    state["step"] = "screen_fever"
    turn = handle(state, "no")
    assert turn.state["episode"]["screening"] == {"result": "clear", "at": iso(NOW)}
    assert turn.state["step"] == "rest"
    assert turn.plan.triage is None


# ---------------------------------------------------------------------------- every event, and session end


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_event_on_a_new_user_asks_a_question_or_ends_the_session(kind):
    turn = handle(None, kind, target="breathing" if kind == "jump" else None)
    assert asks_or_ends(turn.plan)
    json.dumps(turn.state)
    if kind != "session_ended":
        assert turn.plan.lines or turn.plan.question


def test_session_ended_is_silent_and_keeps_the_place():
    state = on_step("legs_3")
    turn = handle(state, "session_ended", NOW + timedelta(minutes=3))
    assert turn.plan.silent and turn.plan.end_session
    assert turn.plan.card is None and turn.plan.triage is None
    assert turn.state["step"] == "legs_3"
    assert turn.state["trail"] == state["trail"]
    assert turn.state["last_seen"] == iso(NOW + timedelta(minutes=3))
