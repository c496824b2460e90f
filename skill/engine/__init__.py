"""The guide engine: pure Python, no Alexa, no Flask.

``Guide().handle(state, Event("yes"), now, locale)`` returns a ``Turn`` with the new state and a
``Plan`` that names what to say by prompt key. Protocol, prompts and locales are data under
``skill/content/``.
"""

from skill.engine.content import Content, ContentError, default_content, load_content
from skill.engine.guide import Guide
from skill.engine.plan import EVENT_KINDS, Breathing, Card, Event, Line, Plan, Turn

__all__ = ["Breathing", "Card", "Content", "ContentError", "EVENT_KINDS", "Event", "Guide", "Line", "Plan",
           "Turn", "default_content", "load_content"]
