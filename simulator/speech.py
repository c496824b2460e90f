"""SSML as a person would hear it, written down: pauses and audio clips shown in brackets."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET


def ssml_to_text(ssml: str | None) -> str:
    """``<speak>In. <break time="4s"/> Out.</speak>`` -> ``In. [pause 4s] Out.``"""
    if not ssml:
        return ""
    try:
        root = ET.fromstring(ssml)
    except ET.ParseError:
        return f"[invalid SSML] {ssml}"
    parts: list[str] = []

    def walk(node):
        if node.tag == "break":
            parts.append(f"[pause {node.get('time') or node.get('strength') or ''}]".replace(" ]", "]"))
        elif node.tag == "audio":
            parts.append(f"[audio {node.get('src')}]")
        elif node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(root)
    return " ".join(" ".join(parts).split())


def output_text(speech: dict | None) -> str:
    """The words of an outputSpeech object, SSML or PlainText."""
    if not speech:
        return ""
    if speech.get("type") == "PlainText":
        return speech.get("text", "")
    return ssml_to_text(speech.get("ssml"))


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
            parts.append(f"{kind} {d.get('playBehavior')} {stream.get('url')} (token {stream.get('token')})")
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
