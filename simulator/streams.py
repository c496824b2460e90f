"""How the simulated device gets the audio streams the skill asks it to play.

A real Echo fetches the stream's URL and plays it; it reports PlaybackFailed when it can't. The simulator
does the same: a URL under the in-process skill's simulated audio base is fetched from the Flask app's
own ``/audio/<file>`` route (the skill's real files, served the way production serves them), any other
HTTPS URL over the network. The track's length is read from the MP3 itself, frame by frame, so the
player's offsets and its PlaybackNearlyFinished / PlaybackFinished come when they would on a device.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

# The public HTTPS base the in-process skill is given: its streams are fetched from its own app.
SIMULATED_AUDIO_BASE = "https://audio.simulator.invalid/audio"
FETCH_TIMEOUT = 5.0

# Layer III bitrates (kbps) by index, for MPEG-1 and for MPEG-2 / 2.5; sample rates by version.
_BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # version bits


@dataclass(frozen=True)
class Fetched:
    """A stream as the device got it: its length in seconds, or why it could not be played."""

    seconds: float | None = None
    error: str | None = None  # an AudioPlayer error type (MEDIA_ERROR_...)


def mp3_seconds(data: bytes) -> float | None:
    """The playing time of MPEG audio Layer III ``data`` (an ID3v2 tag skipped); None when it is no MP3."""
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        pos = 10 + ((data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F))
    seconds, frames = 0.0, 0
    while pos + 4 <= len(data):
        # Frame header: 11 sync bits, version (2), layer (2), no-CRC (1); bitrate (4), rate (2), padding (1).
        b1, b2 = data[pos + 1], data[pos + 2]
        version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
        bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
        if data[pos] != 0xFF or (b1 & 0xE0) != 0xE0 or layer != 1 or version == 1 or rate_index == 3 \
                or bitrate_index in (0, 15):
            break
        bitrate = _BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
        rate = _RATES[version][rate_index]
        samples = 1152 if version == 3 else 576
        pos += samples // 8 * bitrate // rate + padding
        seconds += samples / rate
        frames += 1
    return seconds if frames else None


def fetch_stream(url: str, app_client=None) -> Fetched:
    """Get ``url`` as the device would; ``app_client`` serves the simulated audio base in-process."""
    if not url.startswith("https://"):
        return Fetched(error="MEDIA_ERROR_INVALID_REQUEST")  # AudioPlayer streams only over HTTPS
    try:
        if app_client is not None and url.startswith(SIMULATED_AUDIO_BASE + "/"):
            res = app_client.get("/audio/" + url[len(SIMULATED_AUDIO_BASE) + 1:])
            status, data = res.status_code, res.get_data()
        else:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as res:  # noqa: S310 - https only, above
                status, data = res.status, res.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, b""
    except (urllib.error.URLError, OSError, ValueError):
        return Fetched(error="MEDIA_ERROR_SERVICE_UNAVAILABLE")
    if status != 200:
        return Fetched(error="MEDIA_ERROR_INVALID_REQUEST" if 400 <= status < 500 else "MEDIA_ERROR_SERVICE_UNAVAILABLE")
    seconds = mp3_seconds(data)
    return Fetched(seconds=seconds) if seconds else Fetched(error="MEDIA_ERROR_INVALID_REQUEST")


# ---------------------------------------------------------------------------------- silent tracks
# A silent MPEG-2 Layer III frame (mono, 48 kbps, 24 kHz: Alexa's format) whose side information is all zeros,
# which decoders play as silence. FF F3: sync, MPEG-2, Layer III, no CRC; 64: 48 kbps, 24 kHz; C0: mono.
SILENT_FRAME = bytes((0xFF, 0xF3, 0x64, 0xC0)) + bytes(140)
SILENT_FRAME_SECONDS = 576 / 24000


def silent_mp3(seconds: float) -> bytes:
    """A silent MP3 of ``seconds``: a three-minute track is 7,500 frames, made in a millisecond."""
    return SILENT_FRAME * round(seconds / SILENT_FRAME_SECONDS)


def write_silent_tracks(folder, tracks: dict[str, int], locale: str = "en-US") -> None:
    """Silent breathing tracks of the real lengths (``tracks``: name -> seconds) and the tracks manifest the
    skill reads, as the audio build writes it: a device that plays the track without anyone building it
    (a scripted dialogue's ``tracks: silent``, the evaluation's track stage, the tests)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for track, seconds in tracks.items():
        name = f"{track}-{locale.lower()}-0123456789.mp3"
        (folder / name).write_bytes(silent_mp3(seconds))
        entries.append({"track": track, "locale": locale, "file": name, "duration_seconds": seconds,
                        "engine": "gtts"})
    (folder / "manifest.json").write_text(json.dumps({"tracks": entries}))


def breathing_track_lengths() -> dict[str, int]:
    """The skill's breathing tracks (protocol.yaml settings.breathing.tracks) and their lengths in seconds."""
    from skill.engine import default_content

    tracks = default_content().protocol.settings["breathing"]["tracks"]
    return {name: minutes * 60 for minutes, name in tracks.items()}
