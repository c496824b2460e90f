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
    if engine == OFFLINE:
        return _render_offline(name, text, voice, path)
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


# ---------------------------------------------------------------------------- the offline engine
# espeak-ng, for previews and machines without network: robotic, and labelled as such in the manifest.
OFFLINE = "espeak-ng"
# gTTS's accent (its Google domain) -> the nearest espeak-ng voice.
ESPEAK_VOICES = {"com": "en-us", "ca": "en-us", "co.uk": "en-gb", "com.au": "en-gb", "co.in": "en-gb"}
_espeak = None  # (library, sample rate), initialised once per process


def _espeak_library():
    global _espeak
    if _espeak is None:
        import ctypes

        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # 2: synchronous
        if rate <= 0:
            raise BuildError("espeak-ng could not start")
        _espeak = (lib, rate)
    return _espeak


def _render_offline(name: str, text: str, voice: Voice, path: Path) -> Path:
    """Speak ``text`` with espeak-ng into 16-bit PCM (through its synthesis callback), then to MP3."""
    import ctypes
    import subprocess

    lib, rate = _espeak_library()
    chunks: list[bytes] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def collect(wav, count, _events):
        if wav and count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    callback = callback_type(collect)  # (kept referenced until synthesis is over)
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_SetVoiceByName(ESPEAK_VOICES.get(voice.tld, "en").encode())
    words = text.encode("utf-8")
    if lib.espeak_Synth(words, len(words) + 1, 0, 0, 0, 1, None, None) != 0:  # 1: UTF-8 text
        raise BuildError(f"cue {name!r} ({text!r}): espeak-ng refused it")
    lib.espeak_Synchronize()
    pcm = b"".join(chunks)
    if not pcm:
        raise BuildError(f"cue {name!r} ({text!r}): espeak-ng produced no audio")
    tmp = path.with_suffix(".part")
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "-",
                    "-b:a", "64k", "-f", "mp3", str(tmp)], input=pcm, check=True)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------- assembly
# Alexa's long-form audio: MP3, mono is enough for a voice, 48 kbps at 24 kHz (alexa-platform.md).
SAMPLE_RATE = 24_000
BITRATE = "48k"
CHANNELS = 1
# Where the loudness of a whole track is brought to (dBFS of its speech): calm, and level across tracks.
TARGET_DBFS = -20.0
GAP_MS = 1200  # between intro and close cues


def _audio():
    """pydub with imageio-ffmpeg's own ffmpeg (no system package); imported only when a track is built."""
    import warnings

    import imageio_ffmpeg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub warns at import when no ffmpeg is on PATH: we name ours
        from pydub import AudioSegment
    AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()
    return AudioSegment


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def decode(path: Path):
    """An MP3 as a pydub segment at the track's rate and channels (ffmpeg to WAV: pydub's own MP3 reading
    needs ffprobe, which imageio-ffmpeg does not ship)."""
    import io
    import subprocess

    wav = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE),
                          "-f", "wav", "-"], capture_output=True, check=True).stdout
    return _audio().from_wav(io.BytesIO(wav))


def assemble(manifest, track, cue_audio: dict) -> object:
    """The track as one segment: intro cues, paced breaths (long cues on the first breath, short ones
    every ``cue_every`` breaths, the middle cues halfway), close cues; ``cue_audio`` maps cue -> segment."""
    AudioSegment = _audio()
    inhale, exhale = manifest.inhale_seconds * 1000, manifest.exhale_seconds * 1000
    silence = AudioSegment.silent

    def phase(ms, cue=None):
        part = silence(duration=ms, frame_rate=SAMPLE_RATE)
        return part.overlay(cue_audio[cue]) if cue else part

    out = silence(duration=500, frame_rate=SAMPLE_RATE)
    for cue in track.intro:
        out += cue_audio[cue] + silence(duration=GAP_MS, frame_rate=SAMPLE_RATE)
    breaths = manifest.breaths(track)
    for n in range(breaths):
        if n == breaths // 2 and track.middle:
            for cue in track.middle:  # said on an out-breath's length of its own, never over a cue
                out += phase(max(exhale, len(cue_audio[cue]) + 500), cue)
        first, cued = n == 0, n % track.cue_every == 0
        out += phase(inhale, "first_in" if first else "in" if cued else None)
        out += phase(exhale, "first_out" if first else "out" if cued else None)
    for cue in track.close:
        out += silence(duration=GAP_MS, frame_rate=SAMPLE_RATE) + cue_audio[cue]
    out += silence(duration=1000, frame_rate=SAMPLE_RATE)
    return out.set_channels(CHANNELS).set_frame_rate(SAMPLE_RATE)


def level(segment, cue_audio: dict):
    """Bring the speech to TARGET_DBFS: measured on the cues (the track is mostly silence)."""
    loudness = max(seg.dBFS for seg in cue_audio.values())
    return segment.apply_gain(TARGET_DBFS - loudness)


def build_track(manifest, track, locale: str, out_dir: Path, cache: Path = CACHE, engine: str = "gtts",
                progress=print) -> dict:
    """Render (or reuse) every cue, assemble, level and export one track; its entry for the tracks manifest."""
    voice = manifest.voices[locale]
    wanted = sorted({*track.intro, *track.middle, *track.close, "first_in", "first_out", "in", "out"})
    cue_audio = {}
    for i, cue in enumerate(wanted, 1):
        progress(f"  {track.name} {locale}: cue {i}/{len(wanted)} {cue!r}")
        cue_audio[cue] = decode(render_cue(cue, manifest.cues[cue], voice, cache, engine))
    segment = level(assemble(manifest, track, cue_audio), cue_audio)
    preview = "-preview" if engine == OFFLINE else ""  # an offline render never passes for the real one
    name = f"{track.name}-{locale.lower()}-{manifest.recipe_hash(track, locale)}{preview}.mp3"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    progress(f"  {track.name} {locale}: encoding {len(segment) / 1000:.0f} s -> {path.name}")
    segment.export(str(path), format="mp3", bitrate=BITRATE,
                   parameters=["-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE)])
    return {"track": track.name, "locale": locale, "file": name, "duration_seconds": round(len(segment) / 1000, 1),
            "bitrate": BITRATE, "sample_rate": SAMPLE_RATE, "channels": CHANNELS, "engine": engine,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


TRACKS_DIR = PROJECT_ROOT / "audio" / "tracks"


def main(argv=None) -> int:
    """`make audio` / `back-spasm-audio`: build the tracks and write audio/tracks/manifest.json."""
    import argparse
    import json
    import sys

    from skill.audio.manifest import ManifestError, load_manifest
    from skill.engine import default_content

    parser = argparse.ArgumentParser(prog="back-spasm-audio", description=main.__doc__)
    parser.add_argument("--locale", action="append", help="locales to build (default: en-US); repeatable")
    parser.add_argument("--track", action="append", help="tracks to build (default: all); repeatable")
    parser.add_argument("--out", type=Path, default=TRACKS_DIR, help="where the tracks go (default: audio/tracks)")
    parser.add_argument("--offline", action="store_true",
                        help="speak the cues with espeak-ng instead of Google (a robotic preview, labelled so)")
    args = parser.parse_args(argv)
    content = default_content()
    try:
        manifest = load_manifest(breathing=content.protocol.settings["breathing"], locales=content.locales)
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return 2
    tracks = [manifest.tracks[name] for name in (args.track or manifest.tracks) if name in manifest.tracks]
    entries = []
    try:
        for locale in args.locale or ["en-US"]:
            for track in tracks:
                entries.append(build_track(manifest, track, locale, args.out,
                                           engine=OFFLINE if args.offline else "gtts"))
    except BuildError as exc:
        print(f"audio build stopped: {exc}", file=sys.stderr)
        return 1
    built = args.out / "manifest.json"
    built.write_text(json.dumps({"tracks": entries}, indent=2) + "\n")
    for entry in entries:
        print(f"{entry['file']}: {entry['duration_seconds']} s, {entry['bitrate']}, {entry['sample_rate']} Hz, "
              f"sha256 {entry['sha256'][:12]}")
    print(f"wrote {built}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
