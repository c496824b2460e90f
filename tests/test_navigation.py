"""Every navigation event in every state, through POST /alexa.

A state is put in place the way Alexa carries it: as session attributes of an ongoing session.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from envelopes import intent, resolved_slot
from skill.alexa.handlers import GO_TO_STEP_INTENT, INTENT_EVENTS
from skill.alexa.turns import STATE_KEY
from skill.engine import default_content
from skill.engine.state import fresh_state, iso
from skill.render import Renderer, plain
from skill.engine.plan import Line

CONTENT = default_content()
STEPS = CONTENT.protocol.steps
RENDER = Renderer(CONTENT)
NOW = datetime.now(timezone.utc)

QUESTION_STEPS = sorted(s.id for s in STEPS.values() if s.kind in ("info", "screening") and not s.then)
SCREENING_STEPS = {s.id for s in STEPS.values() if s.kind == "screening"}
PENDING = ["resume_offer", "restart_offer", "confirm_delete", "confirm_help"]
STATES = QUESTION_STEPS + ["urgent"] + [f"pending:{p}" for p in PENDING]
INTENTS = sorted(INTENT_EVENTS) + [GO_TO_STEP_INTENT]


def state_for(name: str) -> dict:
    state = fresh_state(NOW)
    if name.startswith("pending:"):
        pending = name.split(":", 1)[1]
        state["step"] = "legs_2"
        state["pending"] = pending
        state["episode"]["screening"] = {"result": "clear", "at": iso(NOW)}
        if pending == "confirm_help":
            state["step"] = "emergency"
            state["last_emergency"] = {"tier": 1, "reason": "screen_legs", "at": iso(NOW), "acknowledged": False}
        if pending == "restart_offer":
            state["step"] = "summary"
        return state
    state["step"] = name
    if name not in SCREENING_STEPS:
        state["episode"]["screening"] = {"result": "urgent" if name == "urgent" else "clear", "at": iso(NOW)}
    return state


def send(client, name: str, state: dict) -> dict:
    slots = {"step": resolved_slot("step", "the breathing", "breathing", "breathing")} \
        if name == GO_TO_STEP_INTENT else None
    env = intent(name, slots, session_attributes={STATE_KEY: state}, new_session=False)
    res = client.post("/alexa", data=json.dumps(env), content_type="application/json")
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()


def question_text(state: dict) -> str:
    step = state["step"]
    if step == "urgent":
        return plain(RENDER.text(Line("urgent.ask"), "en-US"))
    return plain(RENDER.text(Line(f"steps.{step}.ask"), "en-US"))


def spoken(body: dict) -> str:
    return plain(body["response"].get("outputSpeech", {}).get("ssml", ""))


@pytest.mark.parametrize("intent_name", INTENTS)
@pytest.mark.parametrize("state_name", STATES)
def test_every_intent_in_every_state_gets_a_spoken_answer(client, state_name, intent_name):
    state = state_for(state_name)
    body = send(client, intent_name, state)
    response = body["response"]
    assert spoken(body), "every intent gets words back"
    if response.get("shouldEndSession") is False:
        assert response["reprompt"]["outputSpeech"]["ssml"]
        assert STATE_KEY in body["sessionAttributes"]
    else:
        assert response.get("shouldEndSession") is True


@pytest.mark.parametrize("state_name", QUESTION_STEPS + ["urgent"])
@pytest.mark.parametrize("intent_name", ["AMAZON.HelpIntent", "AMAZON.FallbackIntent", "AMAZON.RepeatIntent"])
def test_help_fallback_and_repeat_restate_the_current_question(client, state_name, intent_name):
    state = state_for(state_name)
    body = send(client, intent_name, state)
    assert spoken(body).endswith(question_text(state))
    assert body["response"]["shouldEndSession"] is False
    assert body["sessionAttributes"][STATE_KEY]["step"] == state["step"]


@pytest.mark.parametrize("state_name", QUESTION_STEPS + ["urgent"])
def test_help_says_what_can_be_said_here(client, state_name):
    text = spoken(send(client, "AMAZON.HelpIntent", state_for(state_name))).lower()
    if state_name in SCREENING_STEPS:
        assert "yes, no, or not sure" in text
    else:
        assert "go back" in text and "repeat" in text and "pause" in text


@pytest.mark.parametrize("intent_name", ["AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent"])
@pytest.mark.parametrize("state_name", STATES)
def test_stop_and_cancel_end_the_session_kindly_everywhere(client, state_name, intent_name):
    state = state_for(state_name)
    body = send(client, intent_name, state)
    if state_name == "pending:confirm_delete" and intent_name == "AMAZON.CancelIntent":
        # Cancel answers the delete question ("no, keep it"), then the guide carries on.
        assert "kept everything" in spoken(body)
        return
    assert body["response"]["shouldEndSession"] is True
    text = spoken(body).lower()
    assert "nine one one" in text or "take care" in text


@pytest.mark.parametrize("state_name", QUESTION_STEPS)
def test_stop_keeps_the_place_for_next_time(client, state_name):
    body = send(client, "AMAZON.StopIntent", state_for(state_name))
    assert body["sessionAttributes"][STATE_KEY]["step"] == state_name


@pytest.mark.parametrize("state_name", QUESTION_STEPS)
def test_pause_ends_and_says_how_to_come_back(client, state_name):
    body = send(client, "AMAZON.PauseIntent", state_for(state_name))
    assert body["response"]["shouldEndSession"] is True
    assert "open back spasm coach" in spoken(body).lower()
    assert body["sessionAttributes"][STATE_KEY]["paused"] is True


@pytest.mark.parametrize("state_name", QUESTION_STEPS)
def test_resume_picks_up_the_same_step(client, state_name):
    state = state_for(state_name)
    state["paused"] = True
    body = send(client, "AMAZON.ResumeIntent", state)
    assert spoken(body).endswith(question_text(state))
    assert body["sessionAttributes"][STATE_KEY]["paused"] is False


@pytest.mark.parametrize("state_name", sorted(SCREENING_STEPS))
@pytest.mark.parametrize("intent_name", [i for i in INTENTS if i not in (
    "AMAZON.YesIntent", "AMAZON.NoIntent", "NotSureIntent")])
def test_nothing_but_an_answer_gets_past_a_screening_question(client, state_name, intent_name):
    body = send(client, intent_name, state_for(state_name))
    step = body.get("sessionAttributes", {}).get(STATE_KEY, {}).get("step", state_name)
    assert step in SCREENING_STEPS | {"emergency", "urgent"}, step


@pytest.mark.parametrize("state_name", sorted(SCREENING_STEPS))
def test_yes_and_not_sure_escalate_on_every_screening_question(client, state_name):
    tier = STEPS[state_name].tier
    for intent_name in ("AMAZON.YesIntent", "NotSureIntent"):
        text = spoken(send(client, intent_name, state_for(state_name))).lower()
        assert ("call nine one one" in text) if tier == 1 else ("see a doctor today" in text)


@pytest.mark.parametrize("state_name", [s for s in QUESTION_STEPS if s not in SCREENING_STEPS])
def test_next_moves_to_the_main_line_successor(client, state_name):
    body = send(client, "AMAZON.NextIntent", state_for(state_name))
    expected = STEPS[state_name].next
    while STEPS[expected].then:  # pass-through steps speak and flow on in the same turn
        expected = STEPS[expected].then
    landed = body["sessionAttributes"][STATE_KEY]["step"] if "sessionAttributes" in body else None
    if STEPS[expected].kind == "router":
        assert landed.startswith("compress_")
    elif STEPS[expected].kind == "end":
        assert body["response"]["shouldEndSession"] is True
    else:
        assert landed == expected


@pytest.mark.parametrize("state_name", [s for s in QUESTION_STEPS if s not in SCREENING_STEPS])
def test_go_back_returns_to_the_previous_step(client, state_name):
    state = state_for(state_name)
    state["trail"] = ["rest"]
    body = send(client, "AMAZON.PreviousIntent", state)
    assert body["sessionAttributes"][STATE_KEY]["step"] == "rest"
    assert spoken(body).endswith(question_text({"step": "rest"}))


def test_go_back_at_the_first_step_says_so_and_restates(client):
    body = send(client, "AMAZON.PreviousIntent", state_for("screen_saddle"))
    assert spoken(body).startswith("This is the first step.")


@pytest.mark.parametrize("state_name", QUESTION_STEPS)
def test_start_over_begins_again_with_stop_what_you_are_doing(client, state_name):
    text = spoken(send(client, "AMAZON.StartOverIntent", state_for(state_name))).lower()
    assert "stop what you're doing" in text


@pytest.mark.parametrize("spoken_name, step_id, expected_step", [
    ("the breathing", "breathing", "breathing"),
    ("leg positions", "legs", "legs_1"),
    ("heat or cold", "compress", "compress_cold"),
    ("stretches", "exercises", "pain_check"),
    ("physio", "therapy", "therapy"),
])
def test_jump_to_a_named_step(client, spoken_name, step_id, expected_step):
    env = intent(GO_TO_STEP_INTENT, {"step": resolved_slot("step", spoken_name, step_id, step_id)},
                 session_attributes={STATE_KEY: state_for("rest")}, new_session=False)
    body = client.post("/alexa", json=env).get_json()
    assert body["sessionAttributes"][STATE_KEY]["step"] == expected_step


def test_jump_before_screening_asks_the_safety_questions_first_then_goes_there(client):
    env = intent(GO_TO_STEP_INTENT, {"step": resolved_slot("step", "leg positions", "legs", "legs")},
                 session_attributes={STATE_KEY: state_for("screen_legs")}, new_session=False)
    body = client.post("/alexa", json=env).get_json()
    assert "finish the safety questions first" in spoken(body)
    state = body["sessionAttributes"][STATE_KEY]
    for _ in range(2):
        env = intent("AMAZON.NoIntent", session_attributes={STATE_KEY: state}, new_session=False)
        body = client.post("/alexa", json=env).get_json()
        state = body["sessionAttributes"][STATE_KEY]
    assert state["step"] == "screen_fever"
    env = intent("AMAZON.NoIntent", session_attributes={STATE_KEY: state}, new_session=False)
    body = client.post("/alexa", json=env).get_json()
    assert body["sessionAttributes"][STATE_KEY]["step"] == "legs_1"


def test_unknown_step_name_lists_examples_and_restates(client):
    env = intent(GO_TO_STEP_INTENT, {"step": "the moon"}, session_attributes={STATE_KEY: state_for("rest")},
                 new_session=False)
    body = client.post("/alexa", json=env).get_json()
    assert "don't know that step" in spoken(body) and spoken(body).endswith("Ready for the next step?")


def test_pain_worse_during_an_exercise_stops_the_exercises(client):
    body = send(client, "PainWorseIntent", state_for("exercise_2"))
    assert "stop that exercise" in spoken(body).lower()
    assert body["sessionAttributes"][STATE_KEY]["step"] == "exercises_stopped"


def test_exercises_only_after_the_pain_has_eased(client):
    body = send(client, "AMAZON.NoIntent", state_for("pain_check"))
    assert body["sessionAttributes"][STATE_KEY]["step"] == "not_eased"
    body = send(client, "AMAZON.NextIntent", state_for("pain_check"))
    assert not body["sessionAttributes"][STATE_KEY]["step"].startswith("exercise")
    body = send(client, "PainBetterIntent", state_for("pain_check"))
    assert body["sessionAttributes"][STATE_KEY]["step"] == "exercise_1"
