"""Every navigation event in every place of the guide: each property swept over all its cases at once.

The engine sweeps drive ``Guide().handle`` through whole conversations (``replay``) to reach each place,
so they never build a record by hand, and they recognise answers by prompt key. A failing sweep lists
every place and event that broke, not just the first. The HTTP tests at the end prove the intents reach
the engine as the events swept here, through POST /alexa, with one app for the module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from envelopes import Conversation, intent, resolved_slot
from skill.alexa.handlers import INTENT_EVENTS
from skill.alexa.turns import STATE_KEY
from skill.engine import EVENT_KINDS, Event, Guide, Line, Plan, TurnResult, default_content
from skill.engine.content import CONTENT_DIR
from skill.engine.plan import SILENT_EVENTS
from skill.render import Renderer, plain

CONTENT = default_content()
STEPS = CONTENT.protocol.steps
RENDER = Renderer(CONTENT)
GUIDE = Guide(CONTENT)
LOCALE = "en-US"
START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
LATER = timedelta(hours=1)


def red_flag(flag_id: str) -> Event:
    """The engine event for a described red flag: the one place that knows how it is built."""
    return Event("describe", flag=flag_id)


def event(item) -> Event:
    return item if isinstance(item, Event) else Event(item)


@dataclass
class Place:
    """Where a replayed conversation left the person: the record, the last turn and every question asked."""

    name: str
    state: dict
    question: str | None
    now: datetime
    asked: list = field(default_factory=list)


def replay(name: str, script: list) -> Place:
    """Plays ``script`` (event kinds or Events; a timedelta lets that much time pass) to a fresh user."""
    state, now, asked, question = None, START, [], None
    for item in script:
        if isinstance(item, timedelta):
            now += item
            continue
        now += timedelta(minutes=1)
        turn = GUIDE.handle(state, event(item), now, LOCALE)
        state = json.loads(json.dumps(turn.state))  # as the store hands it back
        question = turn.plan.question.key if turn.plan.question else None
        if question:
            asked.append(question)
    return Place(name, state, question, now, asked)


def then(place_script: list, *more) -> list:
    return place_script + list(more)


# ---------------------------------------------------------------------- every place a person can be asked something
TO = {"screen_saddle": ["launch"]}
for _before, _after in zip(["screen_saddle", "screen_bladder", "screen_legs", "screen_injury"],
                           ["screen_bladder", "screen_legs", "screen_injury", "screen_fever"]):
    TO[_after] = then(TO[_before], "no")
TO["rest"] = then(TO["screen_fever"], "no")
TO["compress_cold"] = then(TO["rest"], "yes")  # the first day of a first episode: cold
TO["compress_later"] = then(TO["compress_cold"], "no")
TO["compress_heat"] = then(TO["rest"], timedelta(hours=30), "yes")  # after the first day: moist heat
TO["heat_options"] = then(TO["compress_heat"], "no")
TO["compress_cold_only"] = then(TO["compress_heat"], "heat_worse")
TO["compress_heat_first"] = then(TO["rest"], timedelta(days=5), "launch", *["no"] * 5, "yes")  # a later episode
TO["pack_timer"] = then(TO["compress_cold"], "yes")
TO["legs_1"] = then(TO["pack_timer"], "no")  # no timer: the time to take the pack off, then the legs
# Reminders for the next packs are offered where the device's time zone is known.
TO["reminders_offer"] = then(TO["pack_timer"], Event("no", zone="UTC"))
TO["legs_2"] = then(TO["legs_1"], "yes")
TO["legs_3"] = then(TO["legs_2"], "yes")
TO["legs_4"] = then(TO["legs_3"], "yes")
TO["relax"] = then(TO["legs_4"], "yes")
TO["breathing"] = then(TO["relax"], "yes")
TO["pain_check"] = then(TO["breathing"], "no")
TO["not_eased"] = then(TO["pain_check"], "no")
TO["exercise_1"] = then(TO["pain_check"], "yes")
TO["exercise_2"] = then(TO["exercise_1"], "yes")
TO["exercise_3"] = then(TO["exercise_2"], "yes")
# Reached by "it hurts more" during an exercise (see test_pain_worse_during_an_exercise_stops_the_exercises).
TO["exercises_stopped"] = then(TO["exercise_1"], "worse")
TO["medicines"] = then(TO["exercise_3"], "yes")
TO["relaxants"] = then(TO["medicines"], "yes")
TO["therapy"] = then(TO["relaxants"], "yes")
TO["injections"] = then(TO["therapy"], "yes")
TO["get_help"] = then(TO["injections"], "yes")
STEP_PLACES = dict(TO)
TO["urgent"] = then(TO["screen_fever"], "yes")
# Side questions.
TO["resume offer"] = then(TO["rest"], timedelta(hours=2), "launch")
TO["restart offer"] = then(TO["get_help"], "yes", LATER, "launch")
TO["delete question"] = then(TO["rest"], "delete_data")
TO["got-help question"] = then(TO["screen_saddle"], "yes", LATER, "launch")
TO["delete question before the guide"] = ["delete_data"]  # "Alexa, tell back spasm coach to delete my data"

# The question each place asks (by prompt key): the replay must end on it.
QUESTION = {name: f"steps.{name}.ask" for name in STEP_PLACES} | {
    "urgent": "urgent.ask", "resume offer": "events.resume_ask", "restart offer": "events.done_ask",
    "delete question": "events.delete_ask", "got-help question": "emergency.ask_got_help",
    "delete question before the guide": "events.delete_ask"}
SCREENING = sorted(s.id for s in STEPS.values() if s.kind == "screening")
SIDE_QUESTIONS = ["resume offer", "restart offer", "delete question", "got-help question",
                  "delete question before the guide"]
# The place a person comes back to after leaving a question: the question itself, or for an offer to carry
# on and the delete question, the step they are about.
# "Delete my data" asked before the guide began: "no" keeps it all and ends, there being no question to go back to.
DELETE_QUESTIONS = ("delete question", "delete question before the guide")
HOME = dict(QUESTION) | {"resume offer": "steps.rest.ask", "delete question": "steps.rest.ask",
                         "delete question before the guide": None}
# Where a relaunch carries on: the timer offer belongs to the moment the pack goes on, so coming back, the
# guide carries on after it.
HOME_AFTER_RELAUNCH = HOME | {"pack_timer": "steps.legs_1.ask", "reminders_offer": "steps.legs_1.ask",
                              "delete question before the guide": "steps.screen_saddle.ask",
                              # ... and left waiting for the pack, it asks whether the pack is on now.
                              "compress_later": "steps.compress_cold.ask", "heat_options": "steps.compress_heat.ask"}


@pytest.fixture(scope="module")
def places() -> dict[str, Place]:
    reached = {name: replay(name, script) for name, script in TO.items()}
    lost = {name: place.question for name, place in reached.items() if place.question != QUESTION[name]}
    assert not lost, f"these scripts no longer reach their place (place: question asked instead): {lost}"
    return reached


def handle(state: dict, item, now: datetime) -> TurnResult:
    """One engine turn; a turn that raises comes back as an answer that fails every sweep and names the error."""
    try:
        return GUIDE.handle(state, event(item), now, LOCALE)
    except Exception as exc:  # noqa: BLE001 - listed with the other failures, not the first and only one
        return TurnResult(state=state, plan=Plan(lines=[Line(f"(raised {exc!r})")], end_session=False))


def turn(place: Place, item, after: timedelta = timedelta(minutes=1)) -> TurnResult:
    return handle(place.state, item, place.now + after)


def keys(plan) -> list[str]:
    return [line.key for line in plan.lines if isinstance(line, Line)]


def asked(plan) -> str | None:
    return plan.question.key if plan.question else None


def describe(plan) -> str:
    return f"said {keys(plan)}, asked {asked(plan)}, {'ends' if plan.end_session else 'listens'}"


def report(failures: list[str], what: str) -> str:
    return f"{len(failures)} {what}:\n  " + "\n  ".join(failures)


def test_every_question_of_the_guide_is_a_place_swept_here():
    question_steps = {s.id for s in STEPS.values() if s.kind in ("info", "screening") and not s.then}
    assert question_steps - set(STEP_PLACES) == set(), "add a script for the new step to TO"


# ---------------------------------------------------------------------- every event, every place
# Free words of every kind understanding.yaml reads, and every request it names (checked below).
FREE_WORDS = {"the ice pack is on now": ("request", "pack_on"), "set a timer": ("request", "timer"),
              "how long is left on the timer": ("request", "time_left"), "cancel the timer": ("request", "cancel_timer"),
              "remind me": ("request", "reminder"), "cancel my reminders": ("request", "cancel_reminders"),
              "when is my next pack due": ("request", "next_due"), "hang on": ("request", "moment"),
              "say that again": ("request", "repeat"),
              "just carry on where we were": ("request", "next"), "what do you mean": ("request", "help"),
              "can you pause it": ("request", "pause"), "that is enough for today goodbye": ("request", "stop"),
              "okay": ("answer", "okay"), "nah": ("answer", "no"), "still the same": ("pain", "same"),
              "it is a bit better": ("pain", "better"), "heat makes it worse": ("pain", "heat_worse"),
              "this one hurts": ("pain_remark", None), "how long do i keep the ice on": ("question", "cold_timing"),
              "my neck is sore": ("symptom", None), "what is the weather like": ("question", "off_topic"),
              "blah": ("remark", None), "the ice is burning my skin": ("pack_harm", None)}
SWEPT_EVENTS = [Event(kind) for kind in sorted(EVENT_KINDS - {"describe", "jump"})] + [
    Event("jump", target="breathing"), Event("jump", target="no_such_step"), red_flag("t1_legs"),
    red_flag("t3_one_leg")] + [Event("describe", text=words) for words in FREE_WORDS]


def test_the_swept_free_words_read_as_their_kind_and_cover_every_request():
    read = {words: CONTENT.understanding.read(words, None, CONTENT.red_flags) for words in FREE_WORDS}
    wrong = {words: reading for words, reading in read.items() if (reading.kind, reading.value) != FREE_WORDS[words]}
    requests = {value for kind, value in FREE_WORDS.values() if kind == "request"}
    named = set(yaml.safe_load((CONTENT_DIR / "understanding.yaml").read_text())["requests"]) | {"pack_on"}
    assert not wrong and requests == named, (wrong, named - requests)


def test_every_event_in_every_place_asks_with_a_reprompt_or_ends_and_renders(places):
    failures = []
    for place in places.values():
        for ev in SWEPT_EVENTS:
            plan = turn(place, ev).plan
            if plan.end_session:
                ok = plan.question is None and plan.reprompt is None
            else:
                ok = plan.question is not None and plan.reprompt is not None
            if ev.kind not in SILENT_EVENTS:
                ok = ok and bool(plan.lines or plan.question)
            try:
                RENDER.render(plan, LOCALE)
            except Exception as exc:  # noqa: BLE001 - listed with the rest
                ok, plan = False, f"does not render: {exc!r}"
            if not ok:
                failures.append(f"{place.name} + {ev}: {plan if isinstance(plan, str) else describe(plan)}")
    assert not failures, report(failures, "turns that neither ask with a reprompt nor end, or say nothing")


def test_a_tier_one_red_flag_anywhere_gets_the_emergency_answer_and_ends(places):
    failures = []
    for place in places.values():
        plan = turn(place, red_flag("t1_bladder")).plan
        card_title = plan.card.title.key if plan.card else None
        if keys(plan)[:1] != ["emergency.say"] or not plan.end_session or card_title != "emergency.card_title":
            failures.append(f"{place.name}: {describe(plan)}, card {card_title}")
    assert not failures, report(failures, "places where a tier-1 sign is not answered as an emergency")


# ---------------------------------------------------------------------- help, fallback, repeat
def help_key(name: str) -> str:
    if name in SCREENING:
        return "help.screening"
    return "help.offer" if name in SIDE_QUESTIONS else "help.question"


def test_help_says_what_can_be_said_here_and_asks_the_same_question_again(places):
    failures = []
    for name, place in places.items():
        plan = turn(place, "help").plan
        if help_key(name) not in keys(plan) or asked(plan) != QUESTION[name] or plan.end_session:
            failures.append(f"{name}: {describe(plan)}; wanted {help_key(name)} then {QUESTION[name]}")
    assert not failures, report(failures, "places where help does not help")


def test_fallback_and_repeat_ask_the_same_question_again(places):
    # An unanswered emergency is restated with its reminder, whatever was said.
    not_caught = {name: "events.fallback" for name in places} | {"got-help question": "emergency.reminder"}
    failures = []
    for name, place in places.items():
        for kind in ("fallback", "repeat"):
            plan = turn(place, kind).plan
            wrong = asked(plan) != QUESTION[name] or plan.end_session
            if kind == "fallback" and not_caught[name] not in keys(plan):
                wrong = True
            if wrong:
                failures.append(f"{name} + {kind}: {describe(plan)}")
    assert not failures, report(failures, "places where 'say that again' or an unclear answer loses the question")


# ---------------------------------------------------------------------- stop, cancel, pause, resume
def relaunch_and_carry_on(state: dict, now: datetime) -> str | None:
    """Opens the skill an hour later and accepts the offer to carry on (or, when the safety questions are
    over 12 hours old, says how the back is and answers the safety question first): the question then asked."""
    later = now + LATER + timedelta(minutes=1)
    relaunched = handle(state, "launch", now + LATER)
    if asked(relaunched.plan) == "events.how_is_back_ask":  # a later day: how the back is, then one question
        reported = handle(relaunched.state, Event("describe", text="about the same"), later)
        return asked(handle(reported.state, "no", later).plan)
    if asked(relaunched.plan) == "events.resume_ask":
        return asked(handle(relaunched.state, "yes", later).plan)
    if asked(relaunched.plan) == "steps.screen_saddle.ask" and "events.welcome_back" in keys(relaunched.plan):
        state = relaunched.state
        for _ in range(5):
            result = handle(state, "no", later)
            state = result.state
        return asked(result.plan)
    return asked(relaunched.plan)


def test_stop_and_cancel_end_kindly_everywhere_and_keep_the_place(places):
    said = {name: "events.stop" for name in places} | {"got-help question": "emergency.reminder"}
    home = HOME_AFTER_RELAUNCH
    failures = []
    for name, place in places.items():
        for kind in ("stop", "cancel"):
            result = turn(place, kind)
            plan = result.plan
            if name in DELETE_QUESTIONS and kind == "cancel":
                # Cancel answers the delete question ("no, keep it"), and the guide carries on.
                if keys(plan) != ["events.delete_kept"] or asked(plan) != HOME[name]:
                    failures.append(f"{name} + cancel: {describe(plan)}")
                continue
            if said[name] not in keys(plan) or not plan.end_session:
                failures.append(f"{name} + {kind}: {describe(plan)}")
            back = relaunch_and_carry_on(result.state, place.now)
            if back != home[name]:
                failures.append(f"{name} + {kind}, then a relaunch: asked {back}, not {home[name]}")
    assert not failures, report(failures, "stops that are not kind, do not end, or lose the place")


def test_pause_ends_saying_how_to_come_back_and_resume_picks_up_the_same_question(places):
    failures = []
    for name in [*STEP_PLACES, "urgent"]:
        place = places[name]
        paused = turn(place, "pause")
        if keys(paused.plan) != ["events.paused"] or not paused.plan.end_session:
            failures.append(f"{name} + pause: {describe(paused.plan)}")
        resumed = handle(paused.state, "resume", place.now + LATER).plan
        if asked(resumed) != QUESTION[name] or resumed.end_session:
            failures.append(f"{name} + pause, resume: {describe(resumed)}")
    assert not failures, report(failures, "places where pause or resume loses the place")


# ---------------------------------------------------------------------- screening
ANSWERS = {"yes", "no", "unsure"}


def test_nothing_but_an_answer_gets_past_a_screening_question(places):
    # Side questions a person may always ask ("delete my data") or be asked ("shall we carry on?").
    still_screening = {f"steps.{s}.ask" for s in SCREENING} | {"events.delete_ask", "events.resume_ask"}
    others = [ev for ev in SWEPT_EVENTS if ev.kind not in ANSWERS | {"red_flag", "session_ended"}
              and FREE_WORDS.get(ev.text, ("",))[0] != "answer"]  # ("nah" is an answer)
    failures = []
    for name in SCREENING:
        for ev in others:
            plan = turn(places[name], ev).plan
            if not (plan.end_session and asked(plan) is None) and asked(plan) not in still_screening:
                failures.append(f"{name} + {ev}: {describe(plan)}")
    assert not failures, report(failures, "events that get past a screening question without an answer")


def test_a_remark_about_the_pack_or_a_yes_that_asks_to_carry_on_is_no_answer_to_a_safety_question(places):
    # "I've got the pack on now" to "any numbness around your bottom?" was the emergency answer; "yes, carry on
    # from where we were" (meant for "shall we carry on?") too. Neither answers the sign: the question again.
    # Issue 21's blind set: any request to move the guide along after the yes ("yeah yeah, just get to the bit with
    # the heat pack") was the emergency answer.
    words = ["i have the pack on now", "i have got a hot water bottle on my back", "yes carry on from where we were",
             "yeah lets carry on", "yeah yeah just skip to the bit with the stretches", "yep start from the top",
             "yup keep going", "yes and can we do the breathing now", "sure lets just get started",
             "yeah go straight to the exercises"]
    failures = []
    for name in SCREENING:
        for said in words:
            plan = turn(places[name], Event("describe", text=said)).plan
            if plan.triage is not None or asked(plan) != QUESTION[name]:
                failures.append(f"{name} + {said!r}: {describe(plan)}, triage {plan.triage}")
    assert not failures, report(failures, "safety questions answered by a remark or a yes to another question")


def test_a_yes_in_free_words_still_escalates_and_a_sign_after_a_yes_is_heard(places):
    """The yes that asks to carry on must not swallow a yes: "yeah a bit", "yes it is", and a sign said after it."""
    failures = []
    for name in SCREENING:
        tier = STEPS[name].tier
        for said in ("yeah a bit", "yes it is", "yes i think so"):
            plan = turn(places[name], Event("describe", text=said)).plan
            if plan.triage != ("emergency" if tier == 1 else "urgent"):
                failures.append(f"{name} + {said!r}: {describe(plan)}, triage {plan.triage}")
        plan = turn(places[name], Event("describe", text="yes and can we carry on my bum has gone numb")).plan
        if plan.triage != "emergency":
            failures.append(f"{name} + a yes, a request and a sign: {describe(plan)}, triage {plan.triage}")
    assert not failures, report(failures, "yeses at a safety question no longer escalating")


def test_yes_and_not_sure_on_a_screening_question_escalate_by_its_tier(places):
    failures = []
    for name in SCREENING:
        tier = STEPS[name].tier
        for kind in ("yes", "unsure"):
            plan = turn(places[name], kind).plan
            first = keys(plan)[:1]
            ok = first == ["emergency.say"] and plan.end_session if tier == 1 else first == ["urgent.say"]
            if not ok:
                failures.append(f"{name} (tier {tier}) + {kind}: {describe(plan)}")
    assert not failures, report(failures, "screening answers that do not escalate")


# ---------------------------------------------------------------------- moving through the guide
def landing(target: str) -> set[str]:
    """The questions a move to ``target`` can end on: pass-through steps flow on, routers pick a step."""
    step = STEPS[target]
    if step.then:
        return landing(step.then)
    if step.kind == "router":
        return set().union(*(landing(go) for _, go in step.route if go in STEPS))
    if step.kind == "end":
        return {"(ends)"}
    return {f"steps.{target}.ask"}


def test_next_moves_to_the_main_line_successor(places):
    failures = []
    for name in STEP_PLACES:
        if name in SCREENING:
            continue
        plan = turn(places[name], "next").plan
        got = "(ends)" if plan.end_session and asked(plan) is None else asked(plan)
        if got not in landing(STEPS[name].next):
            failures.append(f"{name}: {describe(plan)}; wanted one of {sorted(landing(STEPS[name].next))}")
    assert not failures, report(failures, "places where next does not go on along the main line")


# A step that replaced the one before it in place (heat made it worse) is not gone back to.
BACK_SKIPS = {"compress_cold_only": "steps.compress_heat.ask"}


def test_go_back_returns_to_the_question_before_or_says_this_is_the_first(places):
    failures = []
    for name in STEP_PLACES:
        place = places[name]
        earlier = [q for q in place.asked[:-1] if q.startswith("steps.") and q != BACK_SKIPS.get(name)]
        plan = turn(place, "back").plan
        if earlier:
            ok = asked(plan) == earlier[-1]
            wanted = earlier[-1]
        else:
            ok = keys(plan) == ["events.back_at_start"] and asked(plan) == QUESTION[name]
            wanted = f"events.back_at_start, then {QUESTION[name]}"
        if not ok or plan.end_session:
            failures.append(f"{name}: {describe(plan)}; wanted {wanted}")
    assert not failures, report(failures, "places where go back goes somewhere else")


def test_start_over_and_my_back_is_spasming_begin_again_with_stop_what_you_are_doing(places):
    # Screened clear in the last 12 hours: the safety questions are skipped, and said to be (reminding
    # of a "see a doctor today" sign if there was one).
    begun = {"steps.screen_saddle.ask": [], "steps.rest.ask": ["steps.screening_skipped.say"]}
    skipped_urgent = {"steps.rest.ask": ["steps.screening_skipped_urgent.say"]}
    failures = []
    for name, place in places.items():
        for kind in ("start_over", "start"):
            plan = turn(place, kind).plan
            said = [k for k in keys(plan) if k not in ("events.restart", "events.two_weeks")]
            if name == "got-help question":  # nothing but "yes, I got help" leaves it
                ok = "emergency.reminder" in said and asked(plan) == QUESTION[name]
            elif name in DELETE_QUESTIONS and kind == "start_over":  # it wants a yes or a no first
                ok = asked(plan) == QUESTION[name]
            else:
                expected = skipped_urgent if name == "urgent" else begun
                ok = (said[:1] == ["steps.stop_activity.say"] and asked(plan) in expected
                      and all(k in said for k in expected[asked(plan)]))
            if not ok:
                failures.append(f"{name} + {kind}: {describe(plan)}")
    assert not failures, report(failures, "places where starting again does not begin with stopping")


def test_delete_my_data_asks_first_and_no_keeps_everything_and_the_question(places):
    failures = []
    for name, place in places.items():
        asked_first = turn(place, "delete_data")
        if asked(asked_first.plan) != "events.delete_ask":
            failures.append(f"{name} + delete_data: {describe(asked_first.plan)}")
            continue
        kept = handle(asked_first.state, "no", place.now + timedelta(minutes=2)).plan
        try:
            RENDER.render(kept, LOCALE)
            ok = keys(kept)[:1] == ["events.delete_kept"] and asked(kept) == HOME[name]
        except KeyError:
            ok = False
        if not ok:
            failures.append(f"{name} + delete_data, no: {describe(kept)}; wanted events.delete_kept, "
                            f"then {HOME[name]}")
    assert not failures, report(failures, "places where delete my data does not ask first, or no loses the place")


def test_jumping_to_a_step_waits_for_screening_and_for_help_in_an_emergency(places):
    failures = []
    for name, place in places.items():
        plan = turn(place, Event("jump", target="breathing")).plan
        if name in SCREENING:
            ok = keys(plan) == ["events.screening_finish_first"] and asked(plan) == QUESTION[name]
        elif name in ("got-help question", *DELETE_QUESTIONS):
            # Nothing but "yes, I got help" leaves the first; the other wants a yes or a no.
            ok = asked(plan) == QUESTION[name]
        else:  # (the restart offer too: the guide has finished, and a place asked for by name is gone to)
            ok = asked(plan) == "steps.breathing.ask"
        if not ok:
            failures.append(f"{name}: {describe(plan)}")
    assert not failures, report(failures, "places where go to the breathing goes wrong")


# ---------------------------------------------------------------------- through POST /alexa
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def spoken(body: dict) -> str:
    return plain(((body.get("response") or {}).get("outputSpeech") or {}).get("ssml", ""))


def reach(client, user_id: str, *intents: str) -> dict:
    """Session attributes after launching and saying ``intents``, in one session, as Alexa carries them."""
    convo = Conversation(client, user_id=user_id, now=NOW)
    convo.launch()
    for name in intents:
        convo.say(name)
    assert convo.in_session, convo.transcript
    return convo.attributes


def post(client, name: str, attributes: dict, user_id: str, slots: dict | None = None) -> dict:
    env = intent(name, slots, session_attributes=attributes, new_session=False, user_id=user_id, now=NOW)
    res = client.post("/alexa", data=json.dumps(env), content_type="application/json")
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()


def test_every_intent_reaches_the_engine_as_what_it_means(shared_client, new_user_id):
    """Same record, same time: the skill's answer is the engine's answer to the event the intent means."""
    setups = {"a screening question": ["AMAZON.NoIntent"],
              "a leg position": ["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"] * 3,
              "the delete question": ["AMAZON.NoIntent"] * 5 + ["DeleteDataIntent"]}
    failures = []
    for where, intents in setups.items():
        attributes = reach(shared_client, new_user_id(), *intents)
        for name, kind in INTENT_EVENTS.items():  # pinned to what each intent means in test_handlers.py
            body = post(shared_client, name, attributes, new_user_id())
            plan = GUIDE.handle(attributes[STATE_KEY], Event(kind), NOW, LOCALE).plan
            expected = plain(RENDER.render(plan, LOCALE).speech)
            if spoken(body) != expected or body["response"].get("shouldEndSession") is not plan.end_session:
                failures.append(f"{where} + {name}: said {spoken(body)[:90]!r}, the {kind!r} answer is "
                                f"{expected[:90]!r}")
    assert not failures, report(failures, "intents that do not reach the engine as what they mean")


NAMED_STEPS = {  # spoken name, slot id -> the step it leads to once screening is done
    ("the breathing", "breathing"): "breathing", ("leg positions", "legs"): "legs_1",
    ("heat or cold", "compress"): "compress_cold", ("stretches", "exercises"): "pain_check",
    ("physio", "therapy"): "therapy",
}


def step_words(step: str) -> str:
    """What tells a step apart when spoken: its advice when that needs no numbers filled in, else its question."""
    advice = CONTENT.prompts_for(LOCALE).get(f"steps.{step}.say")
    key = f"steps.{step}.say" if advice and "{" not in advice else f"steps.{step}.ask"
    return plain(RENDER.text(Line(key), LOCALE))


def test_go_to_a_named_step_goes_there(shared_client, new_user_id):
    attributes = reach(shared_client, new_user_id(), *["AMAZON.NoIntent"] * 5)  # on rest, screening clear
    failures = []
    for (spoken_name, step_id), step in NAMED_STEPS.items():
        slot = {"step": resolved_slot("step", spoken_name, step_id, step_id)}
        body = post(shared_client, "GoToStepIntent", attributes, new_user_id(), slot)
        if step_words(step) not in spoken(body):
            failures.append(f"go to {spoken_name}: said {spoken(body)!r}, not the {step} step")
    assert not failures, report(failures, "named steps not reached")


def test_jump_before_screening_asks_the_safety_questions_first_then_goes_there(shared_client, new_user_id):
    user = new_user_id()
    attributes = reach(shared_client, user, "AMAZON.NoIntent", "AMAZON.NoIntent")  # on the third question
    body = post(shared_client, "GoToStepIntent", attributes, user,
                {"step": resolved_slot("step", "leg positions", "legs", "legs")})
    assert spoken(body).startswith(plain(RENDER.text(Line("events.screening_finish_first"), LOCALE)))
    for _ in range(2):
        body = post(shared_client, "AMAZON.NoIntent", body["sessionAttributes"], user)
    assert spoken(body).endswith(plain(RENDER.text(Line("steps.screen_fever.ask"), LOCALE)))
    body = post(shared_client, "AMAZON.NoIntent", body["sessionAttributes"], user)
    assert spoken(body).endswith(plain(RENDER.text(Line("steps.legs_1.ask"), LOCALE)))


def test_unknown_step_name_lists_examples_and_restates(shared_client, new_user_id):
    user = new_user_id()
    attributes = reach(shared_client, user, *["AMAZON.NoIntent"] * 5)
    body = post(shared_client, "GoToStepIntent", attributes, user, {"step": "the moon"})
    assert spoken(body).startswith(plain(RENDER.text(Line("events.unknown_step"), LOCALE)))
    assert spoken(body).endswith(plain(RENDER.text(Line("steps.rest.ask"), LOCALE)))


TO_PAIN_CHECK = ["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"] * 7 + ["AMAZON.NoIntent"]


def test_pain_worse_during_an_exercise_stops_the_exercises(shared_client, new_user_id):
    user = new_user_id()
    to_exercise_2 = TO_PAIN_CHECK + ["AMAZON.YesIntent"] * 2
    body = post(shared_client, "PainWorseIntent", reach(shared_client, user, *to_exercise_2), user)
    assert plain(RENDER.text(Line("steps.exercises_stopped.say"), LOCALE)) in spoken(body)
    assert body["sessionAttributes"][STATE_KEY]["step"] == "exercises_stopped"


def test_exercises_only_after_the_pain_has_eased(shared_client, new_user_id):
    for name, step in (("AMAZON.NoIntent", "not_eased"), ("AMAZON.NextIntent", "medicines"),
                       ("PainBetterIntent", "exercise_1")):
        user = new_user_id()
        body = post(shared_client, name, reach(shared_client, user, *TO_PAIN_CHECK), user)
        assert spoken(body).endswith(plain(RENDER.text(Line(f"steps.{step}.ask"), LOCALE))), (name, spoken(body))
