"""Interceptors: the session attributes a request may bring back, and logging (a request id and a hashed user
id on every line, never what was said).

Health skills must not log symptoms or raw Alexa ids, so the log names request and intent types
only; answers and slot values stay out. Whatever a line copies from a request (its id, its type, an intent
name) goes through :func:`loggable`: bounded and escaped, so a hostile request can neither flood the log nor
forge a line of it.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback

from ask_sdk_core.dispatch_components import AbstractRequestInterceptor, AbstractResponseInterceptor
from ask_sdk_core.utils import get_request_type

from skill.alexa import turns
from skill.alexa.effects import ZONE_KEY

log = logging.getLogger("skill.requests")

_STARTED = "_started_at"
# Characters of a request's own text that a log line keeps: a real request id is about 70.
LOGGED_CHARS = 100


def loggable(value, limit: int = LOGGED_CHARS) -> str:
    """``value`` as one short, printable line: non-printable characters (newlines included) escaped, and cut
    to ``limit`` characters with the number left off."""
    text = value if isinstance(value, str) else str(value)
    cut = text[:limit]
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                    for c in cut)
    return shown if len(text) <= limit else f"{shown}...(+{len(text) - limit} chars)"


# A traceback in the log keeps the innermost frames, up to this many characters: a request nested a thousand
# levels deep made a 138 KB one, each frame once per level.
TRACEBACK_FRAMES = 12
TRACEBACK_CHARS = 4000


def short_traceback(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc, limit=-TRACEBACK_FRAMES))
    return text if len(text) <= TRACEBACK_CHARS else f"...(+{len(text) - TRACEBACK_CHARS} chars)\n{text[-TRACEBACK_CHARS:]}"


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
    return loggable(request_type)


def request_id(handler_input) -> str:
    return loggable(handler_input.request_envelope.request.request_id)


# The session attributes the skill keeps (turns.py, effects.py): Alexa echoes the session's attributes in
# every response, so anything else a request brings is dropped before a handler sees it; and all of them, for
# a request that is in no session (turns.SESSION_REQUESTS).
OWN_SESSION_KEYS = (turns.STATE_KEY, turns.UNREAD_KEY, ZONE_KEY)


class SessionAttributesFilter(AbstractRequestInterceptor):
    def process(self, handler_input):
        if handler_input.request_envelope.session is None:
            return  # (ask-sdk refuses session attributes out of session)
        manager = handler_input.attributes_manager
        brought = manager.session_attributes or {}
        kept = OWN_SESSION_KEYS if turns.in_session(handler_input) else ()
        manager.session_attributes = {key: brought[key] for key in kept if key in brought}


class RequestLogger(AbstractRequestInterceptor):
    def process(self, handler_input):
        handler_input.attributes_manager.request_attributes[_STARTED] = time.monotonic()
        log.info("request %s user=%s %s", request_id(handler_input), user_hash(handler_input), _label(handler_input))


class ResponseLogger(AbstractResponseInterceptor):
    def process(self, handler_input, response):
        started = handler_input.attributes_manager.request_attributes.get(_STARTED)
        elapsed = (time.monotonic() - started) * 1000 if started else -1
        ends = getattr(response, "should_end_session", None) if response is not None else None
        log.info("response %s user=%s end_session=%s %.1f ms", request_id(handler_input), user_hash(handler_input),
                 ends, elapsed)
