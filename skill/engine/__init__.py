"""The guide engine: pure Python, no Alexa, no Flask.

``Guide().handle(state, Event("yes"), now, locale)`` returns a ``TurnResult`` with the new state and a
``Plan`` that names what to say by prompt key. Protocol, prompts and locales are data under
``skill/content/``. guide.py's docstring follows one utterance from the request to the words.
"""

from skill.engine.content import Content
from skill.engine.guide import Guide, default_content, load_content
from skill.engine.plan import EVENT_KINDS, Breathing, Card, Event, Line, Plan, TurnResult
from skill.engine.protocol import ContentError

__all__ = ["Breathing", "Card", "Content", "ContentError", "EVENT_KINDS", "Event", "Guide", "Line", "Plan",
           "TurnResult", "default_content", "load_content"]
