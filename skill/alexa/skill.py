"""Builds the ask-sdk CustomSkill: API client, persistence, interceptors, handlers, errors."""

from __future__ import annotations

from ask_sdk_core.api_client import DefaultApiClient
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder

from skill.alexa.handlers import SpokenErrorHandler, request_handlers
from skill.alexa.interceptors import RequestLogger, ResponseLogger
from skill.alexa.turns import Coach
from skill.engine import Guide, default_content
from skill.render import Renderer


def build_skill(persistence_adapter, content=None, extra_handlers=()) -> CustomSkill:
    """The skill; ``extra_handlers`` are tried before the skill's own (tests, experiments)."""
    content = content or default_content()
    coach = Coach(guide=Guide(content), renderer=Renderer(content))
    builder = CustomSkillBuilder(persistence_adapter=persistence_adapter, api_client=DefaultApiClient())
    builder.add_global_request_interceptor(RequestLogger())
    builder.add_global_response_interceptor(ResponseLogger())
    for handler in [*extra_handlers, *request_handlers(coach)]:
        builder.add_request_handler(handler)
    builder.add_exception_handler(SpokenErrorHandler(coach))
    return builder.create()
