"""Responses written down for the simulator: speech (via ``skill.render.plain``), directives, cards; and the
prompt key of what an alert announces."""

from __future__ import annotations

import functools
import re

from skill.render import plain


def output_text(speech: dict | None) -> str:
    """The words of an outputSpeech object, SSML or PlainText."""
    if not speech:
        return ""
    if speech.get("type") == "PlainText":
        return speech.get("text", "")
    return plain(speech.get("ssml"))


def directive_summary(directives: list[dict]) -> str:
    """One line naming each directive and its key facts."""
    parts = []
    for d in directives or []:
        kind = d.get("type", "?")
        if kind == "Connections.SendRequest":
            scopes = [p.get("permissionScope") for p in (d.get("payload") or {}).get("permissionScopes", [])]
            parts.append(f"{kind} {d.get('name')} {', '.join(s for s in scopes if s)}".strip())
        elif kind == "AudioPlayer.Play":
            stream = ((d.get("audioItem") or {}).get("stream") or {})
            offset = int(stream.get("offsetInMilliseconds") or 0) // 1000
            start = f" from {offset // 60}:{offset % 60:02d}" if offset else ""
            parts.append(f"{kind} {d.get('playBehavior')} {stream.get('url')}{start} (token {stream.get('token')})")
        elif kind == "Alexa.Presentation.APL.RenderDocument":
            parts.append(f"{kind} token={d.get('token')}")
        else:
            parts.append(kind)
    return "; ".join(parts)


def plain_card(card: dict | None) -> str:
    if not card:
        return ""
    title = card.get("title", "")
    body = card.get("content") or card.get("text") or ""
    body = re.sub(r"\s*\n\s*", " / ", body)
    return f"{title}: {body}" if title else body


def announced_key(text: str, locale: str) -> str | None:
    """The prompt key whose words an alert announces (a timer's announcement, a reminder's text): the skill
    gave Alexa the words of one prompt without parameters, so they are looked up among those prompts."""
    return _prompts_by_words(locale).get(" ".join(text.split()))


@functools.cache
def _prompts_by_words(locale: str) -> dict[str, str]:
    from skill.engine import default_content
    from skill.engine.plan import Line
    from skill.render import Renderer

    renderer, found = Renderer(default_content()), {}
    for key in default_content().prompts_for(locale).keys():
        try:
            found.setdefault(renderer.text(Line(key), locale), key)
        except (KeyError, IndexError, ValueError):
            continue  # a prompt with parameters of its own: never an alert's words
    return found
