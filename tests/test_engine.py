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
from skill.engine.content import CONTENT_DIR
from skill.engine.protocol import parse_protocol
from skill.engine.second_line import SecondLine
from skill.engine.guide import ANYWHERE, EVENTS
from skill.engine.plan import SILENT_EVENTS, Line
from skill.engine.record import SCHEMA_VERSION, Record, iso, migrate
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


def handle(state, kind: str, now: datetime = NOW, target: str | None = None, locale: str = "en-US",
           text: str = "", opens_session: bool = False):
    return GUIDE.handle(state, Event(kind, target, text=text, opens_session=opens_session), now, locale)


def describe(state, text: str, now: datetime = NOW, **kw):
    """The person said ``text`` (an AMAZON.SearchQuery catch-all, carrier already in the words)."""
    return handle(state, "describe", now, text=text, **kw)


def fresh_state(now: datetime) -> dict:
    return Record.fresh(now).to_json()


def side_question(state: dict) -> str | None:
    return (state["side_question"] or {}).get("name")


def keys(plan) -> list[str]:
    return [line.key for line in plan.lines if isinstance(line, Line)]


def said_keys(plan, locale: str = "en-US") -> list[str]:
    """Every prompt key the plan says, nested ones too (a pack's name, a step's title), in order."""
    return list(RENDER.render(plan, locale).keys)


def on_step(step_id: str, started: datetime = NOW, now: datetime = NOW, **fields) -> dict:
    """A record of someone on ``step_id``, screening clear, in an episode that began at ``started``."""
    state = fresh_state(started)
    state["step"] = step_id
    state["episode"]["screened_at"] = iso(now)
    state["last_seen"] = iso(now)
    state.update(fields)
    return state


def with_pack_on(state: dict, at: datetime, pack: str = "cold") -> dict:
    """``state`` with ``pack`` put on at ``at`` (so the next one is not due for a while)."""
    state["episode"]["compress_log"] = [{"pack": pack, "at": iso(at)}]
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
    "ambiguous-legs": (on_step("legs_1"), "describe"),
    "relaunch-mid-guide": (on_step("legs_2", now=NOW - timedelta(hours=2)), "launch"),
}


@pytest.mark.parametrize("case", DETERMINISM_CASES)
def test_the_same_state_event_and_time_give_the_same_turn_and_leave_the_input_alone(case):
    state, kind = DETERMINISM_CASES[case]
    before = copy.deepcopy(state)
    text = "i cannot lift my legs" if kind == "describe" else ""
    first = handle(state, kind, text=text)
    second = handle(state, kind, text=text)
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


def test_a_stored_time_at_the_end_of_the_calendar_is_treated_as_damage_not_a_crash():
    """Adding two hours to 9999-12-31 overflowed (OverflowError) before the fix; such a time is ignored."""
    state = on_step("legs_1")
    state["episode"]["compress_log"] = [{"pack": "cold", "at": "9999-12-31T23:59:59Z"}]
    for kind in sorted(EVENT_KINDS):
        turn = handle(copy.deepcopy(state), kind, NOW + timedelta(hours=1), **event_for(kind))
        assert asks_or_ends(turn.plan), kind


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
    # Version 2 fields, damaged.
    "v2-side-question-garbage": {"version": 2, "step": "rest", "side_question": {"name": "bogus", "flag": 3}},
    "v2-side-question-a-string": {"version": 2, "step": "rest", "side_question": "resume_offer"},
    "v2-clarify-without-flag": {"version": 2, "step": "legs_1", "side_question": {"name": "clarify_red_flag"}},
    "v2-urgent-garbage": {"version": 2, "step": "urgent", "episode": {"urgent": {"flag": 5, "at": None},
                                                                     "screened_at": "soon"}},
    "v2-emergency-flag-unknown": {"version": 2, "step": "emergency", "side_question": {"name": "confirm_help"},
                                  "last_emergency": {"flag": "t9_nothing", "at": iso(NOW)}},
    "v2-confirm-help-without-emergency": {"version": 2, "step": "rest", "side_question": {"name": "confirm_help"}},
}


@pytest.mark.parametrize("name", DAMAGED_AROUND_A_STEP)
def test_a_damaged_record_never_crashes_any_event(name):
    failures = []
    for kind in sorted(EVENT_KINDS):
        try:
            turn = handle(copy.deepcopy(DAMAGED_AROUND_A_STEP[name]), kind,
                          target="breathing" if kind == "jump" else None,
                          text="i cannot lift my legs" if kind == "describe" else "")
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
    assert turn.state["step"] == "pack_timer"  # "shall I set a timer for it?"


def test_no_on_a_compress_step_logs_nothing():
    turn = handle(on_step("compress_cold"), "no")
    assert turn.state["episode"]["compress_log"] == []


def next_due_after(step_id: str, hours: float) -> Line:
    """What is said about the pack on coming back ``hours`` after placing it: the line after the welcome."""
    # Heat is the plan from the second day of an episode.
    started = NOW - timedelta(hours=30) if "heat" in step_id else NOW
    placed = handle(on_step(step_id, started=started), "yes").state
    relaunch = handle(placed, "launch", NOW + timedelta(hours=hours))
    # Not due yet: "shall we carry on?"; due: "is the cold pack on now?" first, the step kept to come back to.
    assert side_question(relaunch.state) == "resume_offer" or relaunch.state["step"] == step_id
    assert keys(relaunch.plan)[0] == "events.welcome_back"
    return relaunch.plan.lines[1]


def hours_due(n: int) -> Line:
    return Line("durations.hours", {"n": n})


def minutes_due(n: int) -> Line:
    return Line("durations.minutes", {"n": n})


# (the line's key, the pack said, when): "take the cold pack off in about 14 minutes", "your next cold pack is
# due in about 2 hours", "it's time for your next cold pack".
@pytest.mark.parametrize("step_id, hours, expected", [
    ("compress_cold", 1 / 60, ("timers.take_off", "timers.name_cold", 14)),  # (while it is on, no timer)
    ("compress_cold", 0.5, ("next_compress.due_later", "packs.cold", hours_due(2))),
    ("compress_cold", 1, ("next_compress.due_later", "packs.cold", Line("durations.one_hour"))),
    ("compress_cold", 1.75, ("next_compress.due_later", "packs.cold", minutes_due(15))),
    ("compress_cold", 3, ("next_compress.due_now", "packs.cold", None)),
    ("compress_heat", 1 / 60, ("timers.take_off", "timers.name_heat", 14)),
    ("compress_heat", 0.5, ("next_compress.due_later", "packs.heat", hours_due(4))),
    ("compress_heat", 3, ("next_compress.due_later", "packs.heat", Line("durations.one_hour"))),
    ("compress_heat", 3.5, ("next_compress.due_later", "packs.heat", minutes_due(30))),
    ("compress_heat", 4.5, ("next_compress.due_now", "packs.heat", None)),
], ids=["cold-just-placed", "cold-after-30m", "cold-after-1h", "cold-after-1h45", "cold-after-3h",
        "heat-just-placed", "heat-after-30m", "heat-after-3h", "heat-after-3h30", "heat-after-4h30"])
def test_the_next_compress_is_due_every_2_hours_for_cold_and_every_4_for_heat(step_id, hours, expected):
    line = next_due_after(step_id, hours)
    key, pack, due = expected
    assert (line.key, line.params["pack"]) == (key, pack)
    if isinstance(due, int):  # a time of day, said as minutes from now where the device's zone is unknown
        when = line.params["when"]
        assert round((when.at - when.now).total_seconds() / 60) == due
    else:
        assert line.params.get("due") == due


def test_after_heat_made_it_worse_the_plan_is_cold_only_from_then_on():
    placed = handle(on_step("compress_heat", started=NOW - timedelta(hours=30)), "yes").state
    at_legs = handle(placed, "heat_worse", NOW + timedelta(minutes=5))
    assert keys(at_legs.plan) == ["events.heat_worse", "compress_plan.cold_only"]
    relaunch = handle(at_legs.state, "launch", NOW + timedelta(minutes=10))
    assert "packs.heat" not in said_keys(relaunch.plan)  # never "your next moist heat"
    summary = handle(relaunch.state, "jump", NOW + timedelta(minutes=11), target="summary")
    assert keys(summary.plan)[1] == "compress_plan.cold_only"


def test_a_plan_told_in_the_session_is_not_announced_again_but_a_changed_one_is():
    told = handle(on_step("rest", started=NOW - timedelta(hours=30)), "yes").state  # told: moist heat
    assert told["episode"]["compress_plan"] == "heat"
    told = handle(told, "heat_worse", NOW + timedelta(minutes=1)).state  # now cold only, on the cold step
    assert told["episode"]["compress_plan"] == "cold_only"
    same = handle(told, "launch", NOW + timedelta(minutes=30))
    assert "compress_plan.changed" not in keys(same.plan)


@pytest.mark.parametrize("used_a_pack", [True, False])
def test_on_day_two_coming_back_asks_how_the_back_is_screens_again_then_moves_the_plan_to_moist_heat(used_a_pack):
    told = handle(on_step("rest"), "yes").state  # day one: "cold until about 9 AM tomorrow"
    placed = handle(told, "yes" if used_a_pack else "no").state
    placed = handle(placed, "next", NOW + timedelta(minutes=1)).state
    later = NOW + timedelta(hours=26)
    relaunch = handle(placed, "launch", later)
    assert keys(relaunch.plan) == ["events.welcome_back"]
    assert relaunch.plan.question == Line("events.how_is_back_ask")  # over 12 hours since the questions
    report = describe(relaunch.state, "about the same", later)
    assert keys(report.plan) == ["events.pain_same"] and report.plan.question == Line("events.rescreen_ask")
    assert [r["pain"] for r in report.state["episode"]["pain_reports"]] == ["same"]
    turn = handle(report.state, "no", later)
    assert turn.state["step"] == "compress_heat" and turn.state["episode"]["screened_at"] == iso(later)
    assert keys(turn.plan) == ["compress_plan.changed", "compress_plan.heat"]
    assert turn.plan.question == Line("steps.compress_heat.ask", {})
    assert not {"packs.cold", "timers.name_cold", "compress_plan.cold_today"} & set(said_keys(turn.plan))


@pytest.mark.parametrize("started_hours_ago, expected", [
    (2, ["compress_plan.cold_today", "compress_plan.then_heat"]),
    (30, ["compress_plan.heat"]),
])
def test_the_summary_says_todays_plan_and_on_day_one_what_changes_tomorrow(started_hours_ago, expected):
    state = on_step("get_help", started=NOW - timedelta(hours=started_hours_ago))
    turn = handle(state, "yes")
    body = keys(turn.plan)
    assert body[0] == "steps.summary.say"
    assert body[1:1 + len(expected)] == expected
    assert body[-3:] == ["steps.summary.rest", "steps.summary.warning", "steps.summary.close"]
    # The card carries everything but the opening "Here's your plan".
    assert [line.key for line in turn.plan.card.lines] == body[1:]


# ---------------------------------------------------------------------------- episodes


def test_a_relaunch_days_later_starts_a_new_episode_and_keeps_heat_intolerance():
    state = on_step("legs_2", heat_intolerant=True)
    state["episode"]["compress_log"] = [{"pack": "cold", "at": iso(NOW)}]
    turn = handle(state, "launch", NOW + timedelta(hours=80))
    episode = turn.state["episode"]
    assert episode["number"] == 2
    assert episode["started"] == iso(NOW + timedelta(hours=80))
    assert episode["compress_log"] == [] and episode["screened_at"] is None and episode["urgent"] is None
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
    turn = handle(with_pack_on(on_step("legs_2"), NOW + timedelta(hours=1)), "launch", NOW + timedelta(hours=2))
    assert turn.state["episode"]["number"] == 1
    assert turn.state["step"] == "legs_2"
    assert side_question(turn.state) == "resume_offer"
    assert turn.plan.question == Line("events.resume_ask", {"title": "titles.legs_2"})
    assert said_keys(turn.plan)[-2:] == ["events.resume_ask", "titles.legs_2"]  # "carry on with leg positions?"
    resumed = handle(turn.state, "yes", NOW + timedelta(hours=2, minutes=1))
    assert resumed.state["step"] == "legs_2" and resumed.state["side_question"] is None
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
    guide = Guide(dataclasses.replace(CONTENT, protocol=parse_protocol(raw, CONTENT.names)))
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


def emergency_turn(question: str = "screen_legs", answer: str = "yes", now: datetime = NOW):
    state = fresh_state(now)
    state["step"] = question
    return handle(state, answer, now)


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
    assert turn.state["last_emergency"] == {"flag": flag, "at": iso(NOW), "step": question, "withdrawn_at": None,
                                            "acknowledged": False}



def test_a_relaunch_within_a_day_of_an_emergency_asks_whether_they_got_help():
    turn = handle(emergency_turn().state, "launch", NOW + timedelta(hours=20))
    assert side_question(turn.state) == "confirm_help"
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
    assert side_question(waiting) == "confirm_help"
    later = NOW + timedelta(hours=2, minutes=1)
    turn = handle(waiting, kind, later, target="breathing" if kind == "jump" else None,
                  text="my back aches" if kind == "describe" else "")
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
    assert side_question(turn.state) != "confirm_help"
    assert turn.plan.triage is None


# ---------------------------------------------------------------------------- tier 2: urgent


@pytest.mark.parametrize("answer", ["yes", "unsure"])
def test_a_tier_two_answer_says_see_a_doctor_today_then_offers_the_comfort_steps(answer):
    state = fresh_state(NOW)
    state["step"] = "screen_fever"
    turn = handle(state, answer)
    assert turn.plan.triage == "urgent"
    assert turn.state["episode"]["urgent"] == {"flag": "t2_fever", "at": iso(NOW), "step": "screen_fever",
                                               "withdrawn_at": None}
    assert turn.state["episode"]["screened_at"] == iso(NOW)
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
    assert keys(turn.plan)[0] == "urgent.say" and turn.plan.triage == "urgent"  # (its words: test_wording_smoke)


def test_a_clear_screening_is_recorded():
    state = fresh_state(NOW)
    state["step"] = "screen_fever"
    turn = handle(state, "no")
    assert turn.state["episode"]["screened_at"] == iso(NOW)
    assert turn.state["step"] == "rest"
    assert turn.plan.triage is None


# ---------------------------------------------------------------------------- every event, and session end


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_event_on_a_new_user_asks_a_question_or_ends_the_session(kind):
    turn = handle(None, kind, target="breathing" if kind == "jump" else None,
                  text="my back aches" if kind == "describe" else "")
    assert asks_or_ends(turn.plan)
    json.dumps(turn.state)
    if kind not in SILENT_EVENTS:
        assert turn.plan.lines or turn.plan.question


def test_session_ended_is_silent_and_keeps_the_place():
    state = on_step("legs_3")
    turn = handle(state, "session_ended", NOW + timedelta(minutes=3))
    assert turn.plan.silent and turn.plan.end_session
    assert turn.plan.card is None and turn.plan.triage is None
    assert turn.state["step"] == "legs_3"
    assert turn.state["trail"] == state["trail"]
    assert turn.state["last_seen"] == iso(NOW + timedelta(minutes=3))


# ---------------------------------------------------------------------------- the record's schema

V1_RECORD = {
    "version": 1, "step": "legs_2", "trail": ["rest", "compress_cold", "legs_1"], "pending": "resume_offer",
    "requested_step": None, "return_step": None, "paused": False, "heat_intolerant": True,
    "episode": {"number": 2, "started": iso(NOW), "compress_log": [{"pack": "cold", "at": iso(NOW)}],
                "screening": {"result": "clear", "at": iso(NOW)}, "pain_eased": True, "finished": False},
    "past_episodes": [{"number": 1, "started": iso(NOW - timedelta(days=20))}],
    "last_emergency": {"tier": 1, "reason": "t1_legs", "at": iso(NOW - timedelta(days=20)), "acknowledged": True},
    "last_seen": iso(NOW),
}


def test_a_version_1_record_is_migrated_field_by_field():
    record = Record.from_json(copy.deepcopy(V1_RECORD), NOW, CONTENT.known).to_json()
    assert record["version"] == SCHEMA_VERSION
    assert record["side_question"] == {"name": "resume_offer", "flag": None, "asked_again": False, "interrupted": None,
                                       "on_opening": False}
    assert record["episode"]["screened_at"] == iso(NOW)
    assert record["episode"]["urgent"] is None
    assert record["last_emergency"] == {"flag": "t1_legs", "at": iso(NOW - timedelta(days=20)), "step": None,
                                        "withdrawn_at": None, "acknowledged": True}
    for same in ("step", "trail", "heat_intolerant", "past_episodes", "last_seen"):
        assert record[same] == V1_RECORD[same], same
    assert record["episode"]["compress_log"] == V1_RECORD["episode"]["compress_log"]
    # And it reads back unchanged: to_json and from_json are each other's inverse.
    assert Record.from_json(copy.deepcopy(record), NOW, CONTENT.known).to_json() == record


def test_a_version_1_urgent_screening_is_asked_the_emergency_questions_again():
    """Version 1 counted "see a doctor today" as a finished screening, which skipped the emergency questions."""
    old = copy.deepcopy(V1_RECORD) | {"pending": None, "step": "urgent"}
    old["episode"]["screening"] = {"result": "urgent", "at": iso(NOW)}
    assert migrate(old)["episode"]["urgent"] == {"flag": None, "at": iso(NOW)}
    turn = handle(old, "yes", NOW + timedelta(minutes=1))  # "yes, some comfort steps please"
    assert turn.state["step"] == "screen_saddle"


def test_records_this_code_cannot_read_are_not_guessed_at():
    assert migrate({"version": 3, "step": "rest"}) is None
    assert migrate({"version": True}) is None
    assert migrate("v1") is None


def test_every_event_a_step_can_receive_has_an_entry_in_the_event_table():
    answered_before_a_step = {"launch", "start", "describe", "session_ended", "effect_done", "permission", "playback",
                              "breathe",  # (a jump to the breathing)
                              *ANYWHERE}
    assert set(EVENTS) == EVENT_KINDS - answered_before_a_step


# ---------------------------------------------------------------------------- every state, every event

QUESTION_STEPS = sorted(s.id for s in STEPS.values() if s.is_question)


def every_state() -> dict[str, dict]:
    """Each question step, and each side question, as a person would be on it mid-session."""
    states = {step: on_step(step, started=NOW - timedelta(hours=30) if "heat" in step else NOW)
              for step in QUESTION_STEPS}
    states["urgent"] = handle(on_step("legs_1"), "describe", text="i have a fever").state
    states["emergency"] = emergency_turn().state
    states["resume_offer"] = handle(on_step("legs_2", now=NOW - timedelta(hours=2)), "launch").state
    states["restart_offer"] = handle(on_step("summary", now=NOW - timedelta(hours=2)), "launch").state
    states["confirm_help"] = handle(emergency_turn(now=NOW - timedelta(hours=2)).state, "launch").state
    states["confirm_delete"] = handle(on_step("legs_2"), "delete_data").state
    states["clarify_red_flag"] = describe(on_step("legs_1"), "i cannot lift my legs").state
    told_cold = handle(on_step("compress_cold"), "yes").state
    told_cold["episode"]["screened_at"] = iso(NOW + timedelta(hours=25))  # (recently: no "how is your back?")
    states["plan_moved_on"] = handle(told_cold, "launch", NOW + timedelta(hours=26)).state
    states["how_is_back"] = handle(with_pack_on(on_step("legs_2"), NOW), "launch", NOW + timedelta(hours=20)).state
    states["rescreen"] = describe(states["how_is_back"], "about the same", NOW + timedelta(hours=20)).state
    # The confirming questions about a sign: "that was a mistake" after an emergency and after "see a doctor
    # today", and the second line's "did you say ...?" (the real model).
    states["confirm_alarm"] = describe(states["confirm_help"], "no that was a mistake").state
    states["confirm_alarm_urgent"] = describe(states["urgent"], "that was a mistake").state
    second_line = SecondLine(CONTENT.red_flags)
    second_line.load()
    guessing = Guide(CONTENT, second_line=second_line)
    states["confirm_sign"] = guessing.handle(on_step("legs_1"), Event("describe", text="the car behind went into us"),
                                             NOW).state
    assert states["confirm_sign"]["side_question"], "the model no longer guesses the words this state is made with"
    return states


STATES = every_state()


def sweep(check, kinds=EVENT_KINDS) -> None:
    """Run ``check(name, state, kind)`` on every state and each of ``kinds``; report every failure together."""
    failures = []
    for name, state in STATES.items():
        for kind in sorted(kinds):
            try:
                problem = check(name, copy.deepcopy(state), kind)
            except Exception as exc:  # noqa: BLE001 - every failure is reported, not just the first
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                failures.append(f"{name} + {kind}: {problem}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def event_for(kind: str) -> dict:
    return {"target": "breathing" if kind == "jump" else None,
            "text": "i can feel a twinge" if kind == "describe" else ""}


def test_every_state_and_event_asks_or_ends_and_keeps_a_json_record():
    def check(name, state, kind):
        turn = handle(state, kind, NOW + timedelta(minutes=1), **event_for(kind))
        json.loads(json.dumps(turn.state))
        if not asks_or_ends(turn.plan):
            return "neither asks a question nor ends"
        if kind not in SILENT_EVENTS and not (turn.plan.lines or turn.plan.question):
            return "says nothing"
    sweep(check)


# Free words that are no red flag, one of each kind the engine reads (skill/engine/understanding.py).
BENIGN_WORDS = {
    "remark": "i have to pick up the kids at three",
    "question": "how long do i keep the ice on",
    "unknown question": "is it ok to drink wine",
    "symptom": "my stomach hurts",
    "pain remark": "it really hurts",
    "timer": "set a timer for fifteen minutes",
    # Issue 21: remarks that once got the emergency number or "see a doctor today" (clinical.md, "What is not a
    # sign"): a pack's warmth or cold, another part of the body, someone else's history, a clear result or a
    # denial, weight lost on purpose.
    "sweaty under the heat pad": "i am all sweaty under the heat pad",
    "hot under the heat pad": "i feel hot under the heat pad",
    "cold under the ice": "i am freezing cold with the ice on",
    "shivering from the ice": "i am shivering from the ice pack",
    "a damp back under the pack": "my back is damp under the pack",
    "a sore neck": "i have a sore neck",
    "a sore shoulder": "my shoulder is sore",
    "a headache": "i have got a headache",
    "a mother's cancer": "my mum had cancer",
    "a clear screening": "my cancer screening was all clear",
    "never had cancer": "i have never had cancer",
    "a diet": "i am on a diet and i have lost weight",
    "trying to lose weight": "i lost a bit of weight but i have been trying to",
}
# Words that take a sign back (understanding.yaml corrections_of_a_sign): while an alarm stands, whichever sign it was
# for, they dispute what the skill heard (issue 21's third blind set), and the answer is one confirming question.
TAKES_A_SIGN_BACK = frozenset({"a diet"})
# Where any words escalate on purpose: an emergency stands, or "do your legs feel weak or numb?" is open, or a
# confirming question about a sign, where words that are no answer are asked once more, then settled by its tier.
ESCALATING_STATES = {"emergency", "confirm_help", "clarify_red_flag", "confirm_alarm", "confirm_alarm_urgent",
                     "confirm_sign"}
# Prompts that name the emergency number or say to see a doctor today: never the answer to a remark (issue 21).
ALARM_PLACEHOLDERS = ("{emergency_number}", "{urgent_action}")


def alarm_words(plan) -> list[str]:
    """The keys of what the plan says (its question too) whose words name the emergency number or urgent care."""
    prompts = CONTENT.prompts_for("en-US")
    said = said_keys(plan) + [line.key for line in (plan.question, plan.reprompt) if line is not None]
    return [key for key in said if any(mark in (prompts.get(key) or "") for mark in ALARM_PLACEHOLDERS)]


def test_a_remark_question_or_request_never_escalates_and_the_question_is_asked_again():
    """Everywhere: no emergency or urgent answer, no words that name the emergency number or urgent care (the
    hedge "if it feels serious, call 911" for "my stomach hurts" was one), the session stays open, and the
    question the person was on is the one asked again (the same as after "repeat")."""
    failures = []
    for name, state in STATES.items():
        if name in ESCALATING_STATES:
            continue
        again = handle(copy.deepcopy(state), "repeat", NOW + timedelta(minutes=1)).plan.question
        for kind, words in BENIGN_WORDS.items():
            plan = describe(copy.deepcopy(state), words, NOW + timedelta(minutes=1)).plan
            if plan.triage is not None or plan.end_session:
                failures.append(f"{name} + {kind}: triage {plan.triage}, ends {plan.end_session}")
            elif plan.question.key != again.key and not (kind == "pain remark" and name.startswith("exercise_")) \
                    and not (kind == "timer" and name == "pack_timer") \
                    and not (name == "how_is_back" and plan.question.key == "events.rescreen_ask") \
                    and not (kind in TAKES_A_SIGN_BACK and plan.question.key == "confirm.alarm_ask"):
                # (during an exercise, "it really hurts" is "it hurts more": that exercise stops; "set a
                # timer" is yes to "shall I set a timer?"; "how is your back?" never holds the person up; and
                # while an alarm stands, words that take a sign back dispute it: the one confirming question)
                failures.append(f"{name} + {kind}: asked {plan.question.key}, not {again.key}")
            elif "events.fallback" in keys(plan):
                failures.append(f"{name} + {kind}: said it didn't catch that")
            elif alarm_words(plan):
                failures.append(f"{name} + {kind}: said {alarm_words(plan)}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


# Harm from a pack, cold or hot (issue 21): "the ice is burning my skin" was taken as yes to "is the cold pack on?".
PACK_HARM_WORDS = ["the ice is burning my skin", "my skin has gone numb under the ice", "the heat pad is scalding me",
                   "the skin under the wheat bag has gone numb", "my skin's gone red and blotchy and it stings"]


def test_harm_from_a_pack_anywhere_is_take_it_off_now_with_no_alarm_and_a_question_after():
    """Everywhere but where an emergency stands or is being asked about: "take it off now", then a question
    (the one the person was on, or after a question about the pack, what comes next), never the timer offer."""
    failures = []
    for name, state in STATES.items():
        if name in ESCALATING_STATES:
            continue
        for words in PACK_HARM_WORDS:
            plan = describe(copy.deepcopy(state), words, NOW + timedelta(minutes=1)).plan
            said = keys(plan)
            if plan.triage is not None or plan.end_session or said[:1] != ["events.pack_harm"] \
                    or not asks_or_ends(plan) or plan.question.key == "steps.pack_timer.ask":
                failures.append(f"{name} + {words!r}: said {said}, asked {plan.question}, triage {plan.triage}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_stop_and_cancel_end_kindly_everywhere_and_never_lose_an_emergency():
    def check(name, state, kind):
        turn = handle(state, kind, NOW + timedelta(minutes=1))
        if not turn.plan.end_session and not (name == "confirm_delete" and kind == "cancel"):
            return "the session stays open"
        if name == "clarify_red_flag":  # no answer to "weak or numb?" counts as yes
            return None if keys(turn.plan)[0] == "emergency.say" else f"said {keys(turn.plan)}"
        if name in ("confirm_help", "emergency", "confirm_alarm"):  # an emergency stands: "call now" is the last word
            return None if "emergency.reminder" in keys(turn.plan) else f"said {keys(turn.plan)}"
        if name == "confirm_delete" and kind == "cancel":  # "cancel" the deletion: kept, and asked on
            return None if "events.delete_kept" in keys(turn.plan) else f"said {keys(turn.plan)}"
        if "events.stop" not in keys(turn.plan):
            return f"said {keys(turn.plan)}"
    sweep(check, kinds=["stop", "cancel"])


def test_a_described_red_flag_is_answered_first_in_every_state():
    def check(name, state, kind):
        turn = describe(state, "i cannot feel my legs", NOW + timedelta(minutes=1))
        if keys(turn.plan)[:1] != ["emergency.say"] or not turn.plan.end_session:
            return f"said {keys(turn.plan)}, end_session={turn.plan.end_session}"
        if turn.state["last_emergency"]["flag"] != "t1_legs":
            return "the emergency was not recorded"
    sweep(check, kinds=["describe"])


def test_worse_gets_the_careful_answer_in_every_state():
    def check(name, state, kind):
        turn = handle(state, "worse", NOW + timedelta(minutes=1))
        said = keys(turn.plan)
        if name in ("emergency", "confirm_help"):  # an emergency stands: the reminder is the careful answer
            return None if "emergency.reminder" in said else f"said {said}"
        if "events.pain_worse" not in said:
            return f"said {said}"
        if turn.plan.end_session:
            return "ended the session"
    sweep(check, kinds=["worse"])


def test_help_says_what_can_be_said_and_asks_the_same_question_again():
    def check(name, state, kind):
        before = handle(state, "repeat", NOW + timedelta(minutes=1)).plan.question
        turn = handle(state, "help", NOW + timedelta(minutes=1))
        if not [k for k in keys(turn.plan) if k.startswith("help.") or k.endswith(".help")] \
                and name != "emergency":
            return f"said {keys(turn.plan)}"
        if turn.plan.question != before:
            return f"asked {turn.plan.question} instead of {before}"
    sweep(check, kinds=["help"])


# ---------------------------------------------------------------------------- triage in the engine


def test_the_engine_matches_what_was_described_with_its_carrier_meaning():
    """The platform cuts "i can't" off "i can't feel my legs"; the carrier puts the meaning back."""
    turn = GUIDE.handle(on_step("legs_1"), Event("describe", text="feel my legs", carrier="i cannot"), NOW)
    assert keys(turn.plan)[:2] == ["emergency.say", "emergency.reasons.t1_legs"]
    plain = GUIDE.handle(on_step("legs_1"), Event("describe", text="feel my legs"), NOW)
    assert plain.plan.triage is None


def test_a_flag_resolved_by_name_is_taken_as_it_is():
    turn = GUIDE.handle(on_step("legs_1"), Event("describe", text="saddle numbness", flag="t1_saddle"), NOW)
    assert keys(turn.plan)[:2] == ["emergency.say", "emergency.reasons.t1_saddle"]


def test_breathlessness_has_its_own_reason():
    turn = describe(on_step("legs_1"), "i cannot breathe properly")
    assert keys(turn.plan) == ["emergency.say", "emergency.reasons.t1_breathing"]


def test_pain_or_weakness_gets_one_clarifying_question_not_a_guess():
    turn = describe(on_step("legs_1"), "i cannot lift my legs because it hurts too much")
    assert turn.plan.triage is None and not turn.plan.end_session
    assert turn.plan.question == Line("clarify.t1_legs.ask")
    assert turn.plan.reprompt == Line("clarify.t1_legs.reprompt")  # no answer still hears the number
    assert turn.state["step"] == "legs_1"


@pytest.mark.parametrize("answer, text", [
    ("yes", ""), ("unsure", ""), ("fallback", ""), ("stop", ""), ("pause", ""), ("next", ""),
    ("describe", "they feel weak"), ("describe", "it hurts and they are numb"), ("describe", "i do not know"),
])
def test_anything_but_only_the_pain_escalates(answer, text):
    asked = describe(on_step("legs_1"), "i cannot lift my legs").state
    turn = handle(asked, answer, NOW + timedelta(minutes=1), text=text)
    assert keys(turn.plan)[:1] == ["emergency.say"] and turn.plan.end_session
    assert turn.state["last_emergency"]["flag"] == "t1_legs"


def test_no_answer_at_all_escalates_and_the_next_launch_reminds():
    asked = describe(on_step("legs_1"), "i cannot lift my legs").state
    ended = handle(asked, "session_ended", NOW + timedelta(minutes=1))
    assert ended.plan.silent
    relaunch = handle(ended.state, "launch", NOW + timedelta(minutes=30))
    assert keys(relaunch.plan) == ["emergency.reminder"]


@pytest.mark.parametrize("answer, text", [("no", ""), ("describe", "no it is just the pain"),
                                          ("describe", "it is only the pain")])
def test_only_the_pain_gets_careful_words_and_the_same_step(answer, text):
    asked = describe(on_step("legs_1"), "i cannot lift my legs").state
    turn = handle(asked, answer, NOW + timedelta(minutes=1), text=text)
    assert keys(turn.plan) == ["clarify.t1_legs.pain_only"]
    assert turn.plan.question == Line("steps.legs_1.ask")
    assert turn.state["last_emergency"] is None and turn.state["side_question"] is None


# ---------------------------------------------------------------------------- safety first on every path


@pytest.mark.parametrize("question", ["screen_saddle", "screen_bladder", "screen_legs", "screen_injury"])
def test_an_urgent_sign_during_screening_finishes_the_emergency_questions_first(question):
    state = fresh_state(NOW) | {"step": question}
    turn = describe(state, "i have a fever")
    assert keys(turn.plan) == ["urgent.say", "urgent.reasons.t2_fever", "urgent.screening_first"]
    assert turn.plan.question == Line(f"steps.{question}.ask")
    asked = [question]
    state = turn.state
    while state["step"].startswith("screen_"):
        state = handle(state, "no", NOW + timedelta(minutes=1)).state
        asked.append(state["step"])
    assert "screen_fever" not in asked  # they told us already
    assert asked[-1] == "rest"
    assert state["episode"]["screened_at"] is not None


@pytest.mark.parametrize("where", ["new-user", "screened-13-hours-ago"])
def test_a_one_shot_urgent_sign_starts_the_emergency_questions(where):
    state = None if where == "new-user" else on_step("summary")
    turn = describe(state, "i had cancer", NOW + timedelta(hours=13), opens_session=True)
    assert keys(turn.plan)[:2] == ["urgent.say", "urgent.reasons.t2_cancer"]
    assert turn.state["step"] == "screen_saddle"
    assert turn.plan.question == Line("steps.screen_saddle.ask")


def test_comfort_steps_after_an_urgent_sign_carry_on_where_the_person_was():
    turn = describe(on_step("legs_3"), "i have a fever")
    assert turn.state["step"] == "urgent" and turn.plan.question == Line("urgent.ask")
    comfort = handle(turn.state, "yes", NOW + timedelta(minutes=1))
    assert comfort.state["step"] == "legs_3"


# ---------------------------------------------------------------------------- every way into a session


@pytest.mark.parametrize("kind", ["yes", "no", "next", "fallback", "repeat", "unsure", "back", "better", "worse"])
def test_a_request_that_opens_a_session_runs_the_coming_back_logic(kind):
    lapsed = handle(on_step("legs_2"), kind, NOW + timedelta(days=4), opens_session=True)
    assert lapsed.state["episode"]["number"] == 2
    assert lapsed.state["step"] == "screen_saddle"
    assert "steps.stop_activity.say" in keys(lapsed.plan)
    same_day = handle(with_pack_on(on_step("legs_2"), NOW + timedelta(hours=1)), kind, NOW + timedelta(hours=2),
                      opens_session=True)
    assert side_question(same_day.state) == "resume_offer"
    assert "events.fallback" not in keys(same_day.plan)
    emergency = handle(emergency_turn().state, kind, NOW + timedelta(hours=2), opens_session=True)
    assert keys(emergency.plan)[-1] == "emergency.reminder"


def test_a_one_shot_jump_is_taken_at_its_word_within_an_episode_and_after_screening_in_a_new_one():
    same = handle(on_step("legs_2"), "jump", NOW + timedelta(hours=2), target="breathing", opens_session=True)
    assert same.state["step"] == "breathing"
    lapsed = handle(on_step("legs_2"), "jump", NOW + timedelta(days=4), target="breathing", opens_session=True)
    assert lapsed.state["step"] == "screen_saddle" and lapsed.state["requested_step"] == "breathing"


def test_stop_in_a_new_session_stops_even_with_an_emergency_standing():
    turn = handle(emergency_turn().state, "stop", NOW + timedelta(hours=2), opens_session=True)
    assert turn.plan.end_session and keys(turn.plan)[0] != "steps.stop_activity.say"


# ---------------------------------------------------------------------------- found by trying it as people would


def test_a_jump_during_the_safety_questions_finishes_them_even_with_yesterdays_answers_on_record():
    state = on_step("screen_bladder", started=NOW - timedelta(hours=20), now=NOW - timedelta(hours=20))
    turn = handle(state, "jump", target="legs")
    assert keys(turn.plan) == ["events.screening_finish_first"]
    assert turn.plan.question == Line("steps.screen_bladder.ask")


@pytest.mark.parametrize("kind", ["start", "launch"])
def test_the_clarifying_question_stands_until_answered_even_across_a_new_start(kind):
    asked = describe(on_step("legs_1"), "i cannot move my legs").state
    turn = handle(asked, kind, NOW + timedelta(minutes=1))
    assert keys(turn.plan)[:1] == ["emergency.say"]


def test_a_day_after_an_emergency_the_relaunch_does_not_claim_the_guide_was_finished():
    turn = handle(emergency_turn().state, "launch", NOW + timedelta(hours=25))
    assert keys(turn.plan) == ["emergency.since"]
    assert turn.plan.question == Line("events.start_again_ask")


@pytest.mark.parametrize("step_id, goes_to", [("pain_check", "not_eased"), ("compress_cold", "compress_later"),
                                              ("legs_1", "relax")])
def test_not_sure_at_a_step_is_a_soft_no(step_id, goes_to):
    assert handle(on_step(step_id), "unsure").state["step"] == goes_to


def test_no_to_carrying_on_asks_before_starting_again():
    offer = handle(with_pack_on(on_step("legs_2", now=NOW - timedelta(hours=2)), NOW - timedelta(hours=1)),
                   "launch").state
    turn = handle(offer, "no")
    assert turn.plan.question == Line("events.start_again_ask") and turn.state["step"] == "legs_2"
    assert handle(turn.state, "no").plan.end_session


def test_a_see_a_doctor_today_sign_is_repeated_on_goodbye_and_on_coming_back():
    urgent = describe(on_step("legs_1"), "i have a fever").state
    goodbye = handle(urgent, "no", NOW + timedelta(minutes=1))
    assert keys(goodbye.plan) == ["steps.urgent_goodbye.say"]
    back = handle(describe(on_step("legs_1"), "i have a fever").state, "launch", NOW + timedelta(hours=3))
    assert keys(back.plan)[:2] == ["events.welcome_back", "urgent.reminder"]


def test_a_one_shot_urgent_sign_also_says_stop_what_you_are_doing():
    turn = describe(None, "i have a fever", opens_session=True)
    assert keys(turn.plan)[:3] == ["urgent.say", "urgent.reasons.t2_fever", "steps.stop_activity.say"]


def test_a_standing_see_a_doctor_today_is_repeated_on_stop_in_the_summary_and_on_goodbye():
    urgent = describe(on_step("legs_1"), "i have a fever").state
    comfort = handle(urgent, "yes", NOW + timedelta(minutes=1)).state  # back at the leg positions
    assert keys(handle(comfort, "stop", NOW + timedelta(minutes=2)).plan) == ["urgent.reminder", "events.stop"]
    summary = handle(comfort, "jump", NOW + timedelta(minutes=2), target="summary")
    assert "urgent.reminder" in [line.key for line in summary.plan.card.lines]
    offer = handle(summary.state, "launch", NOW + timedelta(hours=1)).state
    assert keys(handle(offer, "no", NOW + timedelta(hours=1)).plan) == ["urgent.reminder", "steps.goodbye.say"]


def test_a_day_later_the_fever_question_is_asked_again():
    urgent = describe(on_step("legs_1"), "i have a fever").state
    later = handle(urgent, "launch", NOW + timedelta(hours=26)).state  # how is the back, then the questions
    assert side_question(later) == "how_is_back"
    state = describe(later, "about the same", NOW + timedelta(hours=26)).state
    asked = []
    for _ in range(5):
        asked.append(state["step"])
        state = handle(state, "no", NOW + timedelta(hours=26)).state
    assert "screen_fever" in asked


def test_after_a_lapsed_emergency_keeping_the_data_offers_to_start_again_not_the_live_reminder():
    offer = handle(emergency_turn().state, "launch", NOW + timedelta(hours=26)).state
    asked = handle(offer, "delete_data", NOW + timedelta(hours=26)).state
    kept = handle(asked, "no", NOW + timedelta(hours=26))
    assert kept.plan.question == Line("events.start_again_ask") and kept.plan.triage is None


def test_stop_at_the_delete_question_while_an_emergency_stands_ends_on_call_now():
    reminded = handle(emergency_turn().state, "launch", NOW + timedelta(hours=1)).state
    asked = handle(reminded, "delete_data", NOW + timedelta(hours=1)).state
    assert keys(handle(asked, "stop", NOW + timedelta(hours=1)).plan) == ["emergency.reminder"]


def test_after_declining_comfort_steps_coming_back_does_not_claim_the_guide_was_finished():
    declined = handle(describe(on_step("legs_1"), "i have a fever").state, "no", NOW + timedelta(minutes=1)).state
    back = handle(declined, "launch", NOW + timedelta(hours=1))
    assert back.plan.question == Line("events.start_again_ask")


def test_a_question_left_unanswered_never_takes_the_answer_to_a_safety_question_next_day():
    """Found by a tester: a session that timed out on "shall we carry on?" left that question standing; the
    next day's relaunch asked the safety questions, but a "yes" (numbness) to the first was taken as yes
    to the old question, and a "no" as "start again from the beginning?"."""
    welcomed = handle(with_pack_on(on_step("legs_1"), NOW), "launch", NOW + timedelta(minutes=30), opens_session=True)
    assert welcomed.state["side_question"] is not None  # "shall we carry on?" left unanswered
    next_day = NOW + timedelta(hours=26)
    welcomed = handle(welcomed.state, "launch", next_day, opens_session=True)
    assert welcomed.plan.question.key == "events.how_is_back_ask"
    asked = describe(welcomed.state, "much the same", next_day).state  # then the safety question
    yes = handle(asked, "yes", next_day + timedelta(minutes=1))
    assert yes.plan.question.key == "steps.screen_saddle.ask"  # each question, none taken by the old one
    assert handle(yes.state, "yes", next_day + timedelta(minutes=2)).plan.triage == "emergency"
    assert handle(asked, "no", next_day + timedelta(minutes=1)).plan.question.key != "events.start_again_ask"


@pytest.mark.parametrize("answer", ["unsure", "yes"])
def test_not_sure_or_yes_to_the_combined_question_asks_each_safety_question(answer):
    later = NOW + timedelta(hours=20)
    asked = describe(handle(with_pack_on(on_step("legs_2"), NOW), "launch", later).state, "a bit better", later)
    assert asked.plan.question == Line("events.rescreen_ask")
    each = handle(asked.state, answer, later)
    assert each.plan.triage is None and each.plan.question == Line("steps.screen_saddle.ask")
    state = each.state
    for _ in range(5):
        turn = handle(state, "no", later)
        state = turn.state
    assert state["step"] == "compress_cold"  # the day's pack (still the first day, and due), then the step
    assert state["return_step"] == "legs_2"


@pytest.mark.parametrize("said, report, heard", [
    ({"kind": "describe", "text": "it's about the same"}, "same", "events.pain_same"),
    ({"kind": "worse"}, "worse", "events.pain_worse"),
])
def test_a_later_day_opened_with_how_the_back_is_takes_it_as_the_answer(said, report, heard):
    """ "Alexa, tell back spasm coach it's about the same": kept, then the one safety question, not "how is it?"."""
    later = NOW + timedelta(hours=20)
    turn = handle(with_pack_on(on_step("legs_2"), NOW), said["kind"], later, text=said.get("text", ""),
                  opens_session=True)
    assert keys(turn.plan) == ["events.welcome_back", heard]
    assert turn.plan.question == Line("events.rescreen_ask")
    assert [r["pain"] for r in turn.state["episode"]["pain_reports"]] == [report]


# ---------------------------------------------------------------------------- "how is your back today?" (issue 21)
# Every way a report can arrive (an intent's carrier put back in front of the words, or free words alone), each with a
# warning sign after it: the sign's answer, never the combined safety question ("back's better but I've had a
# temperature since last night" once got "any new numbness ...?").
REPORTS = [("better", "but"), ("worse", "and"), ("same", "as yesterday but"), ("still", "sore and"),
           ("seized", "up again and"), ("", "it is a bit better but"), ("", "about the same but"),
           ("", "much worse and"), ("", "it has gone completely but"), ("", "still sore but i can stand up now and")]
SIGNS_IN_A_REPORT = {"i have had a temperature since last night": "urgent",
                     "there is a new lump sticking out of my back": "urgent",
                     "my bum has gone numb": "emergency"}


def test_a_warning_sign_said_with_how_the_back_is_wins_over_the_report():
    later = NOW + timedelta(hours=20)
    asked = handle(with_pack_on(on_step("legs_2"), NOW), "launch", later).state
    assert side_question(asked) == "how_is_back"
    failures = []
    for carrier, report in REPORTS:
        for sign, tier in SIGNS_IN_A_REPORT.items():
            event = Event("describe", text=f"{report} {sign}", carrier=carrier)
            plan = GUIDE.handle(copy.deepcopy(asked), event, later, "en-US").plan
            if plan.triage != tier:
                failures.append(f"{carrier!r} + {report} {sign!r}: triage {plan.triage}, said {keys(plan)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("words, heard", [
    ("it's gone completely", "events.pain_better"), ("the pain has all gone now", "events.pain_better"),
    ("still sore but i can stand up straight now", "events.pain_better"),
    ("still stiff but i could sit up properly this morning", "events.pain_better"),
    ("it is paining less today", "events.pain_better"), ("aching less than yesterday", "events.pain_better"),
    ("still the same", "events.pain_same"), ("still sore but no worse", "events.pain_same"),
])
def test_how_the_back_is_in_everyday_words_is_the_report_it_means(words, heard):
    """Issue 21's blind set: "it's gone completely" was a remark, "still sore but I can stand up straight now" the
    same (a change for the better said beside "still ..." is the news)."""
    later = NOW + timedelta(hours=20)
    asked = handle(with_pack_on(on_step("legs_2"), NOW), "launch", later).state
    turn = describe(asked, words, later)
    assert keys(turn.plan) == [heard] and turn.plan.question == Line("events.rescreen_ask")


@pytest.mark.parametrize("words", ["just carry on where we were", "can we carry on", "let's just keep going"])
def test_a_request_to_carry_on_at_how_is_your_back_is_next_not_a_remark(words):
    """ "Just carry on where we were" is what "next" is there (the safety question, then the care), not "okay"."""
    later = NOW + timedelta(hours=20)
    asked = handle(with_pack_on(on_step("legs_2"), NOW), "launch", later).state
    turn = describe(asked, words, later)
    assert keys(turn.plan) == keys(handle(asked, "next", later).plan) == []
    assert turn.plan.question == Line("events.rescreen_ask")
