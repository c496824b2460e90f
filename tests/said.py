"""What the skill said, by prompt key: the tests compare keys, so rewording a prompt breaks none of them.

``words(key)`` is a prompt's text as the skill renders it, for the few places where the words themselves
leave the skill (a timer's label, a reminder's text) and a test compares them with what the fake API holds.
"""

from __future__ import annotations

from simulator.script import in_order  # noqa: F401  (re-exported: "these keys, in this order")
from simulator.transport import KEYS_HEADER, PromptKeys
from skill.engine import default_content
from skill.engine.plan import Line
from skill.render import Renderer


def words(key: str, locale: str = "en-US", spoken: bool = True) -> str:
    """The text of a prompt without parameters of its own, as the skill renders it."""
    return Renderer(default_content()).text(Line(key), locale, spoken)


def keys_of(response) -> PromptKeys:
    """What a Flask test response said, by prompt key (from an app made with EXPOSE_PROMPT_KEYS)."""
    return PromptKeys.from_header(response.headers.get(KEYS_HEADER))
