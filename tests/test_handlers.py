"""Routing: each handler answers exactly its own requests, in the one registration list."""

from __future__ import annotations

import json

import pytest
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from envelopes import envelope, intent, launch, session_ended, skill_disabled
from skill.alexa.handlers import (GO_TO_STEP_INTENT, INTENT_EVENTS, SYMPTOM_INTENTS, GoToStepHandler,
                                  IntentEventHandler, SymptomHandler, UnknownIntentHandler, handled_intent_names,
                                  request_handlers)
from skill.interaction_model import load_model, model_intent_names

MODEL_INTENTS = sorted(model_intent_names(load_model()))


def handler_input(env: dict) -> HandlerInput:
    return HandlerInput(request_envelope=DefaultSerializer().deserialize(json.dumps(env), RequestEnvelope))


def first_handler(env: dict):
    hi = handler_input(env)
    return next(h for h in request_handlers(coach=None) if h.can_handle(hi))


def test_handlers_cover_exactly_the_model_intents():
    assert handled_intent_names() == set(MODEL_INTENTS)


@pytest.mark.parametrize("intent_name", MODEL_INTENTS)
def test_each_model_intent_is_answered_by_its_own_handler_and_no_other(intent_name):
    hi = handler_input(intent(intent_name))
    answering = [h for h in request_handlers(coach=None) if h.can_handle(hi)]
    own = answering[0]
    if intent_name == GO_TO_STEP_INTENT:
        assert isinstance(own, GoToStepHandler)
    elif intent_name in SYMPTOM_INTENTS:
        assert isinstance(own, SymptomHandler)
    else:
        assert isinstance(own, IntentEventHandler) and own.intent_name == intent_name
        assert own.event_kind == INTENT_EVENTS[intent_name]
    # Only the catch-all for unknown intents may also match, and it comes last.
    assert all(isinstance(h, UnknownIntentHandler) for h in answering[1:])


def test_every_intent_handler_answers_only_its_intent():
    for handler in request_handlers(coach=None):
        if isinstance(handler, IntentEventHandler):
            matches = [name for name in MODEL_INTENTS if handler.can_handle(handler_input(intent(name)))]
            assert matches == [handler.intent_name]


@pytest.mark.parametrize("env, handler_name", [
    (launch(), "LaunchHandler"),
    (session_ended(), "SessionEndedHandler"),
    (skill_disabled(), "SkillDisabledHandler"),
    (envelope({"type": "AlexaSkillEvent.SkillEnabled"}, with_session=False), "QuietSkillEventHandler"),
    (envelope({"type": "System.ExceptionEncountered", "error": {"type": "INVALID_RESPONSE"}}),
     "ExceptionEncounteredHandler"),
    (intent("SomeFutureIntent"), "UnknownIntentHandler"),
    (envelope({"type": "AudioPlayer.PlaybackStarted", "token": "t", "offsetInMilliseconds": 0}, with_session=False),
     "QuietSkillEventHandler"),
    (envelope({"type": "PlaybackController.PauseCommandIssued"}, with_session=False), "QuietSkillEventHandler"),
])
def test_non_intent_requests_route_to_their_handler(env, handler_name):
    assert type(first_handler(env)).__name__ == handler_name


def test_catch_all_handler_is_registered_last():
    assert isinstance(request_handlers(coach=None)[-1], UnknownIntentHandler)
