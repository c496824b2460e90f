"""Logging interceptors: a request id and a hashed user id on every line, never what was said.

Health skills must not log symptoms or raw Alexa ids, so the log names request and intent types
only; answers and slot values stay out.
"""

from __future__ import annotations

import hashlib
import logging
import time

from ask_sdk_core.dispatch_components import AbstractRequestInterceptor, AbstractResponseInterceptor
from ask_sdk_core.utils import get_request_type

from skill.alexa import turns

log = logging.getLogger("skill.requests")

_STARTED = "_started_at"


def user_hash(handler_input) -> str:
    user_id = turns.user_id(handler_input)
    # surrogatepass: JSON may carry a lone surrogate ("\\ud800"), which plain UTF-8 refuses to encode.
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:12] if user_id else "-"


# Only intents that say nothing about a person's health are named in the log. Everything else (answers to
# the red-flag questions, described symptoms, pain reports, any free words: "NumbIntent", "WetIntent") would,
# under a stable user hash, record health data; it is logged as "said".
NAMED_IN_LOGS = frozenset({
    "StartGuideIntent", "GoToStepIntent", "DeleteDataIntent", "AMAZON.NextIntent", "AMAZON.PreviousIntent",
    "AMAZON.RepeatIntent", "AMAZON.StartOverIntent", "AMAZON.PauseIntent", "AMAZON.ResumeIntent",
    "AMAZON.HelpIntent", "AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent",
    "AMAZON.FallbackIntent",
})


def _label(handler_input) -> str:
    request_type = get_request_type(handler_input)
    if request_type == "IntentRequest":
        name = handler_input.request_envelope.request.intent.name
        return f"IntentRequest/{name if name in NAMED_IN_LOGS else 'said'}"
    return request_type


class RequestLogger(AbstractRequestInterceptor):
    def process(self, handler_input):
        handler_input.attributes_manager.request_attributes[_STARTED] = time.monotonic()
        log.info("request %s user=%s %s", handler_input.request_envelope.request.request_id,
                 user_hash(handler_input), _label(handler_input))


class ResponseLogger(AbstractResponseInterceptor):
    def process(self, handler_input, response):
        started = handler_input.attributes_manager.request_attributes.get(_STARTED)
        elapsed = (time.monotonic() - started) * 1000 if started else -1
        ends = getattr(response, "should_end_session", None) if response is not None else None
        log.info("response %s user=%s end_session=%s %.1f ms", handler_input.request_envelope.request.request_id,
                 user_hash(handler_input), ends, elapsed)
