"""Builds the ask-sdk CustomSkill: API client, persistence, interceptors, handlers, errors."""

from __future__ import annotations

from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model import Context
from ask_sdk_model.application import Application
from ask_sdk_model.interfaces.system import SystemState

from skill.alexa import effects
from skill.alexa.effects import BoundedApiClient
from skill.alexa.handlers import SpokenErrorHandler, request_handlers
from skill.alexa.interceptors import RequestLogger, ResponseLogger, SessionAttributesFilter
from skill.alexa.turns import Coach
from skill.engine import Guide, default_content
from skill.render import Renderer


class ContextTolerantSkill(CustomSkill):
    """A CustomSkill that answers envelopes without ``context`` (as older devices send them) or without its System.

    ask-sdk-core reads ``context.system`` for the skill-id check and the API client before any handler
    runs, so such a request failed with AttributeError (a 400). The request's session carries the same
    application and user; with no API endpoint or token, nothing here calls Alexa's APIs.
    """

    def invoke(self, request_envelope, context):
        if getattr(request_envelope.context, "system", None) is None:  # no context, or one without System
            session = request_envelope.session
            application = getattr(session, "application", None) or Application(application_id=None)
            request_envelope.context = request_envelope.context or Context()
            request_envelope.context.system = SystemState(application=application, user=getattr(session, "user", None))
        with effects.api_turn():  # the Alexa API time this request may spend (effects.BoundedApiClient)
            return super().invoke(request_envelope, context)


def build_skill(persistence_adapter, content=None, extra_handlers=(), library=None, second_line=None,
                api_callers=effects.API_CALLERS) -> CustomSkill:
    """The skill; ``extra_handlers`` are tried before the skill's own (tests, experiments); ``library``: the
    breathing tracks (skill.audio.tracks.AudioLibrary), without which the breathing is spoken; ``second_line``:
    the model behind the red-flag phrase lists (skill.engine.second_line.SecondLine), None for the lists alone;
    ``api_callers``: the request threads that may wait on the Alexa API at once (effects.api_callers)."""
    content = content or default_content()
    coach = Coach(guide=Guide(content, second_line=second_line), renderer=Renderer(content), store=persistence_adapter, library=library)
    builder = CustomSkillBuilder(persistence_adapter=persistence_adapter, api_client=BoundedApiClient(callers=api_callers))
    builder.add_global_request_interceptor(SessionAttributesFilter())
    builder.add_global_request_interceptor(RequestLogger())
    builder.add_global_response_interceptor(ResponseLogger())
    for handler in [*extra_handlers, *request_handlers(coach)]:
        builder.add_request_handler(handler)
    builder.add_exception_handler(SpokenErrorHandler(coach))
    return ContextTolerantSkill(skill_configuration=builder.skill_configuration)
