"""The breathing tracks that are built, as the skill sees them (from audio/tracks/manifest.json).

Light enough for the request path (a small JSON file and a stat per track, read again only when the
manifest changes), and a missing or damaged manifest means "no tracks" (the skill then speaks the
breathing session as SSML), never an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from skill.web.audio import TRACK_NAME

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltTrack:
    track: str  # the recipe's name, e.g. breathing-5min
    locale: str
    file: str
    duration_seconds: float
    preview: bool  # spoken by the offline engine: used only where no real track exists


def load_built(folder: str | Path, files_here: bool = True) -> dict[tuple[str, str], BuiltTrack]:
    """(track, locale) -> the built track whose file is there; a real track is preferred to a preview.

    ``files_here`` False: the files are elsewhere (S3, uploaded by skill/audio/upload.py, which uploads real
    tracks only), so the manifest is taken at its word, and a preview is never named."""
    folder = Path(folder)
    try:
        entries = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["tracks"]
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the audio tracks manifest in %s cannot be read (%s): breathing is spoken instead", folder, exc)
        return {}
    built: dict[tuple[str, str], BuiltTrack] = {}
    for entry in entries if isinstance(entries, list) else []:
        try:
            track = BuiltTrack(str(entry["track"]), str(entry["locale"]), str(entry["file"]),
                               float(entry["duration_seconds"]), entry.get("engine") != "gtts")
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if not TRACK_NAME.fullmatch(track.file):
            continue
        if not (files_here and (folder / track.file).is_file() or not files_here and not track.preview):
            continue
        key = (track.track, track.locale)
        if key not in built or built[key].preview and not track.preview:
            built[key] = track
    return built


def track_url(base_url: str, track: BuiltTrack) -> str | None:
    """Where a device fetches the track: AudioPlayer streams only over HTTPS."""
    if not base_url.startswith("https://"):
        return None
    return f"{base_url.rstrip('/')}/{track.file}"


class AudioLibrary:
    """The tracks a device can be played, by locale, with their URLs under the public HTTPS base.

    The manifest is read again only when its file changes (a build while the skill runs is picked up), so
    a request pays a stat. No HTTPS base, no tracks: the breathing is spoken."""

    def __init__(self, folder: str | Path, base_url: str | None, files_here: bool = True):
        self.folder = Path(folder)
        self.base_url = base_url or ""
        self.files_here = files_here
        self._seen: tuple | None = None
        self._built: dict[tuple[str, str], BuiltTrack] = {}

    def playable(self, locale: str | None) -> dict[str, str]:
        """track name -> URL, for the tracks built for ``locale``."""
        if not self.base_url.startswith("https://") or not locale:
            return {}
        built = self._current()
        urls = {}
        for (track, track_locale), entry in built.items():
            url = track_url(self.base_url, entry) if track_locale == locale else None
            if url is not None:
                urls[track] = url
        return urls

    def _current(self) -> dict[tuple[str, str], BuiltTrack]:
        try:
            stat = (self.folder / "manifest.json").stat()
            seen = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            seen = None
        if seen != self._seen:
            self._built, self._seen = (load_built(self.folder, self.files_here) if seen else {}), seen
        return self._built
