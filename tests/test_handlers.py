"""Routing: each handler answers exactly its own requests, in the one registration list."""

from __future__ import annotations

import json

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from envelopes import envelope, intent, launch, session_ended, skill_disabled
from skill.alexa.handlers import (BREATHING_SESSION_INTENT, GO_TO_STEP_INTENT, BreathingSessionHandler,
                                  GoToStepHandler,
                                  IntentEventHandler, SymptomHandler, UnknownIntentHandler, handled_intent_names,
                                  request_handlers, symptom_intents)
from skill.interaction_model import load_model, model_intent_names

MODEL_INTENTS = sorted(model_intent_names(load_model()))


def handler_input(env: dict) -> HandlerInput:
    return HandlerInput(request_envelope=DefaultSerializer().deserialize(json.dumps(env), RequestEnvelope))


def first_handler(env: dict):
    hi = handler_input(env)
    return next(h for h in request_handlers(coach=None) if h.can_handle(hi))


def test_handlers_cover_exactly_the_model_intents():
    assert handled_intent_names() == set(MODEL_INTENTS)


# What each intent means to the engine, stated here rather than read from the code under test.
# NavigateHome is handled like stop: save the place and end kindly.
INTENT_MEANS = {
    "StartGuideIntent": "start", "AMAZON.YesIntent": "yes", "AMAZON.NoIntent": "no", "NotSureIntent": "unsure",
    "PainBetterIntent": "better", "PainWorseIntent": "worse", "HeatWorseIntent": "heat_worse",
    "AMAZON.NextIntent": "next", "AMAZON.PreviousIntent": "back", "AMAZON.RepeatIntent": "repeat",
    "AMAZON.StartOverIntent": "start_over", "AMAZON.PauseIntent": "pause", "AMAZON.ResumeIntent": "resume",
    "AMAZON.HelpIntent": "help", "AMAZON.StopIntent": "stop", "AMAZON.CancelIntent": "cancel",
    "AMAZON.NavigateHomeIntent": "stop", "AMAZON.FallbackIntent": "fallback", "DeleteDataIntent": "delete_data",
    # Player options: there is one breathing track, nothing to loop or shuffle.
    "AMAZON.LoopOnIntent": "unsupported", "AMAZON.LoopOffIntent": "unsupported",
    "AMAZON.ShuffleOnIntent": "unsupported", "AMAZON.ShuffleOffIntent": "unsupported",
}


def test_each_model_intent_is_answered_by_its_own_handler_and_no_other():
    failures = []
    for intent_name in MODEL_INTENTS:
        hi = handler_input(intent(intent_name))
        answering = [h for h in request_handlers(coach=None) if h.can_handle(hi)]
        own = answering[0] if answering else None
        if intent_name == GO_TO_STEP_INTENT:
            ok = isinstance(own, GoToStepHandler)
        elif intent_name in symptom_intents():
            ok = isinstance(own, SymptomHandler)
        elif intent_name == BREATHING_SESSION_INTENT:
            ok = isinstance(own, BreathingSessionHandler)
        else:
            ok = isinstance(own, IntentEventHandler) and own.intent_name == intent_name \
                and own.event_kind == INTENT_MEANS.get(intent_name)
        # Only the catch-all for unknown intents may also match, and it comes last.
        if not ok or not all(isinstance(h, UnknownIntentHandler) for h in answering[1:]):
            failures.append(f"{intent_name}: answered by {[type(h).__name__ for h in answering]}"
                            f"{f' as {own.event_kind!r}' if isinstance(own, IntentEventHandler) else ''}")
    assert not failures, f"{len(failures)} intents not answered by their own handler:\n  " + "\n  ".join(failures)


def test_every_intent_handler_answers_only_its_intent():
    for handler in request_handlers(coach=None):
        if isinstance(handler, IntentEventHandler):
            matches = [name for name in MODEL_INTENTS if handler.can_handle(handler_input(intent(name)))]
            assert matches == [handler.intent_name]


NON_INTENT_REQUESTS = [
    (launch(), "LaunchHandler"),
    (session_ended(), "SessionEndedHandler"),
    (skill_disabled(), "SkillDisabledHandler"),
    (envelope({"type": "AlexaSkillEvent.SkillEnabled"}, with_session=False), "QuietSkillEventHandler"),
    (envelope({"type": "System.ExceptionEncountered", "error": {"type": "INVALID_RESPONSE"}}),
     "ExceptionEncounteredHandler"),
    (intent("SomeFutureIntent"), "UnknownIntentHandler"),
    (envelope({"type": "AudioPlayer.PlaybackStarted", "token": "t", "offsetInMilliseconds": 0}, with_session=False),
     "PlaybackReportHandler"),
    (envelope({"type": "PlaybackController.PauseCommandIssued"}, with_session=False), "PlaybackButtonHandler"),
]


def test_non_intent_requests_route_to_their_handler():
    failures = [f"{env['request']['type']}: {type(first_handler(env)).__name__}, not {name}"
                for env, name in NON_INTENT_REQUESTS if type(first_handler(env)).__name__ != name]
    assert not failures, failures


def test_catch_all_handlers_are_registered_last():
    from skill.alexa.handlers import OtherRequestHandler

    assert [type(h) for h in request_handlers(coach=None)[-2:]] == [UnknownIntentHandler, OtherRequestHandler]
