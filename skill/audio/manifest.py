"""The breathing audio manifest (audio/manifest.yaml): cue texts and track recipes, checked on loading.

Pure and light: the skill may load it on the request path to name tracks; rendering is in
``skill.audio.build``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from skill.config import PROJECT_ROOT
from skill.engine.content import CONTENT_DIR, FORBIDDEN_WORDS, Prompts

MANIFEST = PROJECT_ROOT / "audio" / "manifest.yaml"
# A cue the skill also says (``{prompt: breathing.reach_me}``) takes its words from this prompts file, so the
# track repeats what was said before it, word for word, whoever rewords it.
CUE_PROMPTS = CONTENT_DIR / "prompts" / "en-US.yaml"
# A cue is read out between breaths: a few short sentences at most.
MAX_SENTENCE_WORDS = 15
# clinical.md: 3 to 5 minutes as the default; a longer track for those who want it.
MIN_MINUTES, MAX_MINUTES = 3, 10
# No cue may tell anyone to hold their breath (clinical.md: holding can make a spasm worse).
HOLDING = re.compile(r"\bhold (it|your breath)\b(?! at any point)", re.IGNORECASE)


class ManifestError(ValueError):
    """The manifest is inconsistent; the message lists every problem found."""


@dataclass(frozen=True)
class Voice:
    lang: str
    tld: str


@dataclass(frozen=True)
class Track:
    name: str
    minutes: int
    intro: tuple[str, ...]
    cue_every: int
    middle: tuple[str, ...]
    close: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    voices: dict[str, Voice]
    inhale_seconds: int
    exhale_seconds: int
    cues: dict[str, str]
    tracks: dict[str, Track]

    def breaths(self, track: Track) -> int:
        """Breaths that fit the track's minutes (the intro and close take about one breath each)."""
        return max(1, track.minutes * 60 // (self.inhale_seconds + self.exhale_seconds) - 2)

    def recipe_hash(self, track: Track, locale: str) -> str:
        """Changes whenever anything that is heard changes: the track's file name carries it."""
        voice = self.voices[locale]
        heard = {"voice": [voice.lang, voice.tld], "pace": [self.inhale_seconds, self.exhale_seconds],
                 "track": [track.minutes, track.cue_every, track.intro, track.middle, track.close],
                 "cues": {k: self.cues[k] for k in sorted(self.cues)}}
        return hashlib.sha256(json.dumps(heard, sort_keys=True).encode()).hexdigest()[:12]


def load_manifest(path: Path = MANIFEST, breathing: dict | None = None, locales=None) -> Manifest:
    """The manifest at ``path``, checked against the protocol's breathing pace and the locales."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    voices = {loc: Voice(**spec) for loc, spec in (raw.get("voices") or {}).items()}
    pace = raw.get("pace") or {}
    cues = {}
    prompts = None
    for key, value in (raw.get("cues") or {}).items():
        if isinstance(value, dict):  # {prompt: key}: the words the skill says, read from the prompts file
            prompts = prompts or Prompts("en-US", yaml.safe_load(CUE_PROMPTS.read_text(encoding="utf-8")) or {})
            text = prompts.get(str(value.get("prompt")))
            if text is None:
                problems.append(f"cue {key}: no prompt {value.get('prompt')!r} in {CUE_PROMPTS.name}")
                continue
            value = text
        cues[str(key)] = str(value)
    tracks = {}
    for name, spec in (raw.get("tracks") or {}).items():
        tracks[name] = Track(name, int(spec.get("minutes", 0)), tuple(spec.get("intro") or ()),
                             int(spec.get("cue_every", 0)), tuple(spec.get("middle") or ()),
                             tuple(spec.get("close") or ()))
    manifest = Manifest(voices, int(pace.get("inhale_seconds", 0)), int(pace.get("exhale_seconds", 0)), cues, tracks)
    problems += check(manifest, breathing, locales)
    if problems:
        raise ManifestError("\n  ".join([f"{path}:"] + problems))
    return manifest


def check(manifest: Manifest, breathing: dict | None, locales) -> list[str]:
    problems = []
    if breathing is not None and (manifest.inhale_seconds, manifest.exhale_seconds) != (
            breathing["inhale_seconds"], breathing["exhale_seconds"]):
        problems.append(f"pace {manifest.inhale_seconds}/{manifest.exhale_seconds} s differs from protocol.yaml "
                        f"settings.breathing {breathing['inhale_seconds']}/{breathing['exhale_seconds']} s")
    for locale in locales or ():
        if locale not in manifest.voices:
            problems.append(f"voices: no voice for locale {locale}")
    for key, text in manifest.cues.items():
        for sentence in re.split(r"(?<=[.?!])\s+", text.strip()):
            if len(sentence.split()) > MAX_SENTENCE_WORDS:
                problems.append(f"cue {key}: a sentence of {len(sentence.split())} words: {sentence!r}")
        if any(word in text.lower() for word in FORBIDDEN_WORDS):
            problems.append(f"cue {key}: a seed typo: {text!r}")
        if HOLDING.search(text):
            problems.append(f"cue {key}: tells the listener to hold their breath: {text!r}")
    for track in manifest.tracks.values():
        if not re.fullmatch(r"[a-z0-9-]+", track.name):
            problems.append(f"track {track.name}: a name in lowercase letters, digits and dashes")
        if not MIN_MINUTES <= track.minutes <= MAX_MINUTES:
            problems.append(f"track {track.name}: {track.minutes} minutes, not {MIN_MINUTES} to {MAX_MINUTES}")
        if track.cue_every < 1:
            problems.append(f"track {track.name}: cue_every must be at least 1")
        for cue in (*track.intro, *track.middle, *track.close, "first_in", "first_out", "in", "out"):
            if cue not in manifest.cues:
                problems.append(f"track {track.name}: no cue {cue!r}")
    if not manifest.tracks:
        problems.append("no tracks")
    return problems
