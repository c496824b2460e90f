"""Builds the breathing tracks: each cue rendered once per voice (gTTS, cached by a hash of text and
voice), then assembled into Alexa-spec MP3s.

Run by the build command only; gTTS (and, for assembly, pydub and ffmpeg) are imported here and
nowhere on the request path. A cue Google cannot render (no network, a refusal) stops the build with
an error naming the cue, never a half-built track.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from skill.audio.manifest import Voice
from skill.config import PROJECT_ROOT

CACHE = PROJECT_ROOT / "audio" / ".cache"  # rendered cues, by hash: never fetched twice (not committed)


class BuildError(RuntimeError):
    """The build cannot go on; the message says which cue or track, and what to do."""


def cue_key(text: str, voice: Voice, engine: str) -> str:
    """The cache key of a rendered cue: everything that changes its sound."""
    return hashlib.sha256("\x1f".join([engine, voice.lang, voice.tld, text]).encode("utf-8")).hexdigest()[:24]


def render_cue(name: str, text: str, voice: Voice, cache: Path = CACHE, engine: str = "gtts") -> Path:
    """The cue ``name`` (``text``) spoken in ``voice``, as an MP3 in ``cache``: rendered only if it is not
    there already. Written under a temporary name first, so an interrupted render leaves nothing behind."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{cue_key(text, voice, engine)}.mp3"
    if path.is_file() and path.stat().st_size > 0:
        return path
    if engine != "gtts":
        raise BuildError(f"unknown text-to-speech engine {engine!r}")
    # Imported here: only the build command may pay for gTTS and requests.
    import requests
    from gtts import gTTS, gTTSError

    fd, tmp = tempfile.mkstemp(dir=cache, suffix=".part")
    os.close(fd)
    try:
        gTTS(text, lang=voice.lang, tld=voice.tld).save(tmp)
        if os.path.getsize(tmp) == 0:
            raise BuildError(f"cue {name!r} ({text!r}): Google's text-to-speech returned no audio")
        os.replace(tmp, path)
    except (gTTSError, requests.RequestException, OSError) as exc:
        raise BuildError(f"cue {name!r} ({text!r}) could not be rendered with Google's text-to-speech "
                         f"({voice.lang}, {voice.tld}): {exc}. Without network, build an offline preview instead.") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
