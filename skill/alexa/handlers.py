"""Request handlers: each turns one kind of request into one engine event.

Registration order is routing policy in the ASK SDK (the first handler that can handle wins), so
the whole order lives in :func:`request_handlers`, with the catch-alls last.
"""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.utils import get_intent_name, get_request_type, is_intent_name, is_request_type
from ask_sdk_model.canfulfill import (CanFulfillIntent, CanFulfillIntentValues, CanFulfillSlot, CanFulfillSlotValues,
                                      CanUnderstandSlotValues)

from skill.alexa.carriers import DESCRIPTION_SLOT, default_carriers
from skill.alexa.interceptors import loggable, short_traceback
from skill.alexa.turns import Coach, device_player, error_response, red_flag_response, run_turn
from skill.engine import Event
from skill.engine.playback import HELD, SOUNDING, is_ours

log = logging.getLogger(__name__)

# Intent → engine event. NavigateHome is handled like stop: save the place and end kindly.
INTENT_EVENTS = {
    "StartGuideIntent": "start",
    "AMAZON.YesIntent": "yes",
    "AMAZON.NoIntent": "no",
    "NotSureIntent": "unsure",
    "PainBetterIntent": "better",
    "PainWorseIntent": "worse",
    "HeatWorseIntent": "heat_worse",
    "AMAZON.NextIntent": "next",
    "AMAZON.PreviousIntent": "back",
    "AMAZON.RepeatIntent": "repeat",
    "AMAZON.StartOverIntent": "start_over",
    "AMAZON.PauseIntent": "pause",
    "AMAZON.ResumeIntent": "resume",
    "AMAZON.HelpIntent": "help",
    "AMAZON.StopIntent": "stop",
    "AMAZON.CancelIntent": "cancel",
    "AMAZON.NavigateHomeIntent": "stop",
    "AMAZON.FallbackIntent": "fallback",
    "DeleteDataIntent": "delete_data",
    # Player options certification sends to a skill with AudioPlayer: one breathing track has no use for them.
    "AMAZON.LoopOnIntent": "unsupported",
    "AMAZON.LoopOffIntent": "unsupported",
    "AMAZON.ShuffleOnIntent": "unsupported",
    "AMAZON.ShuffleOffIntent": "unsupported",
}
GO_TO_STEP_INTENT = "GoToStepIntent"
STEP_SLOT = "step"
# "Start a breathing session", "a five minute breathing session" (AMAZON.NUMBER slot).
BREATHING_SESSION_INTENT = "BreathingSessionIntent"
MINUTES_SLOT = "minutes"
# Free words: a custom slot of named red flags, and catch-alls with free text (AMAZON.SearchQuery)
# behind the carrier phrases people open with ("i'm ...", "my wife ...", "how ...", "can i ..."). Alexa
# cuts the carrier off, so each catch-all intent stands for one meaning, which the engine puts back in
# front before reading the words (interaction_models/carriers.en.yaml, skill/alexa/carriers.py).
SYMPTOM_INTENT = "SymptomIntent"
SYMPTOM_SLOT = "symptom"


def symptom_intents() -> frozenset[str]:
    """The intents that describe something: the named red flags and every catch-all with a carrier meaning."""
    return frozenset({SYMPTOM_INTENT, *default_carriers().meanings})

# Skill events that need no answer beyond an acknowledgement.
QUIET_SKILL_EVENTS = (
    "AlexaSkillEvent.SkillEnabled",
    "AlexaSkillEvent.SkillPermissionAccepted",
    "AlexaSkillEvent.SkillPermissionChanged",
    "AlexaSkillEvent.SkillAccountLinked",
)


def handled_intent_names() -> set[str]:
    return set(INTENT_EVENTS) | {GO_TO_STEP_INTENT, BREATHING_SESSION_INTENT} | symptom_intents()


class _CoachHandler(AbstractRequestHandler):
    def __init__(self, coach: Coach):
        self.coach = coach


class LaunchHandler(_CoachHandler):
    def can_handle(self, handler_input):
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input):
        return run_turn(handler_input, self.coach, Event("launch"))


class IntentEventHandler(_CoachHandler):
    """Answers exactly one intent with exactly one engine event."""

    def __init__(self, coach: Coach, intent_name: str, event_kind: str):
        super().__init__(coach)
        self.intent_name = intent_name
        self.event_kind = event_kind

    def can_handle(self, handler_input):
        return is_intent_name(self.intent_name)(handler_input)

    def handle(self, handler_input):
        return run_turn(handler_input, self.coach, Event(self.event_kind))


def _slot(handler_input, name: str):
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    return (getattr(intent, "slots", None) or {}).get(name)


def resolved_id(slot) -> str | None:
    """The value id entity resolution matched for a custom slot, if any."""
    resolutions = getattr(slot, "resolutions", None)
    for authority in getattr(resolutions, "resolutions_per_authority", None) or []:
        status = getattr(getattr(authority.status, "code", None), "value", None)
        if status == "ER_SUCCESS_MATCH" and authority.values:
            return authority.values[0].value.id
    return None


def resolved_step(handler_input) -> str | None:
    """The STEP_NAME id that entity resolution matched; else the spoken value itself, which the
    engine answers with the list of steps when it names none."""
    slot = _slot(handler_input, STEP_SLOT)
    value = resolved_id(slot) or getattr(slot, "value", None)
    return "_".join(value.lower().split()) if value else None


def describe_event(handler_input) -> Event | None:
    """The engine event for something the person described, or None when the request describes nothing.
    The engine decides whether it is a red flag."""
    name = get_intent_name(handler_input) if is_request_type("IntentRequest")(handler_input) else None
    if name == SYMPTOM_INTENT:
        slot = _slot(handler_input, SYMPTOM_SLOT)
        return Event("describe", text=getattr(slot, "value", None) or "", flag=resolved_id(slot))
    meanings = default_carriers().meanings
    if name in meanings:
        text = getattr(_slot(handler_input, DESCRIPTION_SLOT), "value", None) or ""
        return Event("describe", text=text, carrier=meanings[name])
    return None


class SymptomHandler(_CoachHandler):
    """Something the person described ("I can't feel my legs"): the engine triages it."""

    def __init__(self, coach: Coach):
        super().__init__(coach)
        self.intents = symptom_intents()  # built with the skill: the carrier table is loaded and checked now

    def can_handle(self, handler_input):
        return is_request_type("IntentRequest")(handler_input) and get_intent_name(handler_input) in self.intents

    def handle(self, handler_input):
        return run_turn(handler_input, self.coach, describe_event(handler_input))


class GoToStepHandler(_CoachHandler):
    def can_handle(self, handler_input):
        return is_intent_name(GO_TO_STEP_INTENT)(handler_input)

    def handle(self, handler_input):
        return run_turn(handler_input, self.coach, Event("jump", target=resolved_step(handler_input)))


class BreathingSessionHandler(_CoachHandler):
    def can_handle(self, handler_input):
        return is_intent_name(BREATHING_SESSION_INTENT)(handler_input)

    def handle(self, handler_input):
        value = getattr(_slot(handler_input, MINUTES_SLOT), "value", None)
        minutes = int(value) if isinstance(value, str) and value.isdigit() and 0 < int(value) <= 60 else None
        return run_turn(handler_input, self.coach, Event("breathe", minutes=minutes))


# The player's request types, each to the engine's name for that report on the breathing track
# (plan.PLAYBACK_REPORTS).
PLAYER_REQUEST_REPORTS = {
    "AudioPlayer.PlaybackStarted": "started",
    "AudioPlayer.PlaybackStopped": "stopped",
    "AudioPlayer.PlaybackNearlyFinished": "nearly_finished",
    "AudioPlayer.PlaybackFinished": "finished",
    "AudioPlayer.PlaybackFailed": "failed",
}
# The device's play and pause buttons; next and previous have nothing to skip to in one track.
BUTTON_EVENTS = {
    "PlaybackController.PlayCommandIssued": "resume",
    "PlaybackController.PauseCommandIssued": "pause",
}


class PlaybackReportHandler(_CoachHandler):
    """The player's reports: kept in the record (where the track stopped, that it finished or failed).
    Alexa takes no speech in answer; the engine plans none."""

    def can_handle(self, handler_input):
        return get_request_type(handler_input) in PLAYER_REQUEST_REPORTS

    def handle(self, handler_input):
        request = handler_input.request_envelope.request
        if get_request_type(handler_input) == "AudioPlayer.PlaybackFailed":
            error = getattr(request, "error", None)
            log.warning("the breathing track failed to play: %s", getattr(getattr(error, "object_type", None),
                                                                          "value", None))
        return run_turn(handler_input, self.coach, Event("playback", target=PLAYER_REQUEST_REPORTS[get_request_type(
            handler_input)]))


class PlaybackButtonHandler(_CoachHandler):
    def can_handle(self, handler_input):
        return get_request_type(handler_input).startswith("PlaybackController.")

    def handle(self, handler_input):
        kind = BUTTON_EVENTS.get(get_request_type(handler_input))
        activity, token, _ = device_player(handler_input)
        if kind is None or not is_ours(token) or activity not in SOUNDING | HELD:
            # Nothing of ours to pause or play: a button is no way into the guide (it could say nothing).
            return handler_input.response_builder.response
        return run_turn(handler_input, self.coach, Event(kind))


# The statuses of Alexa's answer to a voice permission request (Connections.SendRequest AskFor), to the
# engine's name for each (plan.PERMISSION_ANSWERS).
PERMISSION_STATUS_ANSWERS = {"ACCEPTED": "accepted", "DENIED": "denied", "NOT_ANSWERED": "not_answered"}


class PermissionAnswerHandler(_CoachHandler):
    """Connections.Response to AskFor: ``status.code`` is 200 whatever the person said; their answer is
    ``payload.status``. A request that failed counts as not answered."""

    def can_handle(self, handler_input):
        return is_request_type("Connections.Response")(handler_input)

    def handle(self, handler_input):
        request = handler_input.request_envelope.request
        payload = request.payload if isinstance(getattr(request, "payload", None), dict) else {}
        code = str(getattr(getattr(request, "status", None), "code", "") or "")
        answer = PERMISSION_STATUS_ANSWERS.get(str(payload.get("status", "")).upper(), "not_answered")
        if getattr(request, "name", None) != "AskFor" or code != "200":
            answer = "not_answered"
        return run_turn(handler_input, self.coach, Event("permission", target=answer))


class SessionEndedHandler(_CoachHandler):
    """Saves progress whatever the reason; Alexa accepts no speech here."""

    def can_handle(self, handler_input):
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input):
        request = handler_input.request_envelope.request
        reason = getattr(getattr(request, "reason", None), "value", None)
        error = getattr(request, "error", None)
        log.info("session ended: %s%s", loggable(reason), f" ({loggable(error.object_type)})" if error is not None else "")
        run_turn(handler_input, self.coach, Event("session_ended"))
        return handler_input.response_builder.response


class SkillDisabledHandler(AbstractRequestHandler):
    """The person disabled the skill: delete what we stored for them."""

    def can_handle(self, handler_input):
        return is_request_type("AlexaSkillEvent.SkillDisabled")(handler_input)

    def handle(self, handler_input):
        handler_input.attributes_manager.delete_persistent_attributes()
        log.info("skill disabled: user data deleted")
        return handler_input.response_builder.response


class QuietSkillEventHandler(AbstractRequestHandler):
    def can_handle(self, handler_input):
        return get_request_type(handler_input) in QUIET_SKILL_EVENTS

    def handle(self, handler_input):
        return handler_input.response_builder.response


# Name-free interaction: Alexa asks whether the skill could take a request without its name being said.
# Only what the guide is for: a back spasm, a warning sign, a pain report. Everything else is "no", so the
# skill is never offered for what it cannot do.
CAN_FULFILL = frozenset({"StartGuideIntent", SYMPTOM_INTENT, "PainBetterIntent", "PainWorseIntent", "HeatWorseIntent"})


class CanFulfillIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input):
        return is_request_type("CanFulfillIntentRequest")(handler_input)

    def handle(self, handler_input):
        intent = getattr(handler_input.request_envelope.request, "intent", None)
        if getattr(intent, "name", None) not in CAN_FULFILL:
            answer = CanFulfillIntent(can_fulfill=CanFulfillIntentValues.NO)
        else:
            slots = {name: CanFulfillSlot(
                can_understand=CanUnderstandSlotValues.YES if resolved_id(slot) else CanUnderstandSlotValues.MAYBE,
                can_fulfill=CanFulfillSlotValues.YES) for name, slot in (intent.slots or {}).items()
                if getattr(slot, "value", None)}
            answer = CanFulfillIntent(can_fulfill=CanFulfillIntentValues.YES, slots=slots or None)
        return handler_input.response_builder.set_can_fulfill_intent(answer).response


class OtherRequestHandler(AbstractRequestHandler):
    """Request types this skill has no use for (Display.ElementSelected, Messaging, ...): an empty answer and
    a quiet line in the log, never a traceback."""

    def can_handle(self, handler_input):
        return not is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input):
        log.info("request type %s not used by this skill", loggable(get_request_type(handler_input)))
        return handler_input.response_builder.response


class ExceptionEncounteredHandler(AbstractRequestHandler):
    """Alexa reports that our previous response was rejected; no speech may be returned."""

    def can_handle(self, handler_input):
        return is_request_type("System.ExceptionEncountered")(handler_input)

    def handle(self, handler_input):
        request = handler_input.request_envelope.request
        error = getattr(request, "error", None)
        log.error("Alexa rejected a response: %s %s", loggable(getattr(error, "object_type", None)),
                  loggable(getattr(error, "message", None), limit=300))
        return handler_input.response_builder.response


class UnknownIntentHandler(_CoachHandler):
    """An intent this build doesn't know (a newer model deployed first): treat as not understood."""

    def can_handle(self, handler_input):
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input):
        log.warning("unhandled intent %s", loggable(get_intent_name(handler_input)))
        return run_turn(handler_input, self.coach, Event("fallback"))


class SpokenErrorHandler(AbstractExceptionHandler):
    """Any failure still gets spoken words, with the emergency number — never a broken response."""

    def __init__(self, coach: Coach):
        self.coach = coach

    def can_handle(self, handler_input, exception):
        return True

    def handle(self, handler_input, exception):
        log.error("handler failed: %s\n%s", type(exception).__name__, short_traceback(exception))
        # A red flag in the failed request is still answered: the engine alone, no store.
        try:
            event = describe_event(handler_input)
            answer = red_flag_response(handler_input, self.coach, event) if event is not None else None
        except Exception:  # noqa: BLE001 - fall through to the spoken apology
            log.error("red-flag answer failed too", exc_info=True)
            answer = None
        if answer is not None:
            return answer
        if get_request_type(handler_input) not in ("IntentRequest", "LaunchRequest"):
            return handler_input.response_builder.response  # Alexa accepts no speech for the others
        return error_response(handler_input, self.coach)


def request_handlers(coach: Coach) -> list[AbstractRequestHandler]:
    """Every request handler, in routing order."""
    return [
        LaunchHandler(coach),
        SymptomHandler(coach),
        GoToStepHandler(coach),
        BreathingSessionHandler(coach),
        *(IntentEventHandler(coach, name, kind) for name, kind in INTENT_EVENTS.items()),
        SessionEndedHandler(coach),
        PermissionAnswerHandler(coach),
        PlaybackReportHandler(coach),
        PlaybackButtonHandler(coach),
        SkillDisabledHandler(),
        QuietSkillEventHandler(),
        ExceptionEncounteredHandler(),
        CanFulfillIntentHandler(),
        UnknownIntentHandler(coach),
        OtherRequestHandler(),
    ]
