"""The audio build's render step, with Google's text-to-speech faked at its HTTP boundary
(``requests.Session.send``, as gTTS sends it): cached cues are never fetched twice, and a failed fetch
names its cue."""

from __future__ import annotations

import base64
import io
import json

import pytest
import requests

from skill.audio.build import BuildError, render_cue
from skill.audio.manifest import Voice

# Stand-in audio bytes (the render step stores what Google answers; assembling real MP3s is tested with
# the assembly).
AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8
US = Voice("en", "com")


class FakeGoogleTTS:
    """Answers gTTS's batchexecute POST the way translate.google.com does, and counts the calls."""

    def __init__(self, fail: Exception | None = None, audio: bytes = AUDIO):
        self.calls: list[str] = []
        self.fail = fail
        self.audio = audio

    def send(self, request, **kwargs):  # (patched onto requests.Session: bound to this fake; gTTS passes request=)
        prepared = request
        self.calls.append(prepared.url)
        if self.fail is not None:
            raise self.fail
        audio = json.dumps([base64.b64encode(self.audio).decode()], separators=(",", ":"))
        payload = json.dumps([["wrb.fr", "jQ1olc", audio]], separators=(",", ":"))
        response = requests.Response()
        response.status_code = 200
        response.url = prepared.url
        response.request = prepared
        response.raw = io.BytesIO((")]}'\n\n" + payload).encode())
        return response


@pytest.fixture
def google(monkeypatch):
    fake = FakeGoogleTTS()
    monkeypatch.setattr(requests.Session, "send", fake.send)
    return fake


def test_a_cue_is_fetched_once_and_then_served_from_the_cache(google, tmp_path):
    first = render_cue("in", "In.", US, cache=tmp_path)
    assert first.read_bytes() == AUDIO and len(google.calls) == 1
    assert render_cue("in", "In.", US, cache=tmp_path) == first and len(google.calls) == 1
    render_cue("in", "In.", Voice("en", "co.uk"), cache=tmp_path)  # another voice: another render
    render_cue("out", "And out.", US, cache=tmp_path)  # other words: another render
    assert len(google.calls) == 3
    assert not list(tmp_path.glob("*.part"))


def test_a_failed_fetch_names_its_cue_and_leaves_nothing_behind(monkeypatch, tmp_path):
    fake = FakeGoogleTTS(fail=requests.ConnectionError("network is unreachable"))
    monkeypatch.setattr(requests.Session, "send", fake.send)
    with pytest.raises(BuildError, match=r"cue 'settle'.*could not be rendered.*Failed to connect.*offline"):
        render_cue("settle", "Let's breathe slowly together.", US, cache=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_nothing_of_the_build_is_imported_on_the_request_path(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from skill.app import create_app; "
            f"app = create_app({{'VERIFY_REQUESTS': False, 'DB_PATH': {str(tmp_path / 's.sqlite3')!r}}}); "
            "app.test_client().post('/alexa', json={}); "
            "print(sorted(m for m in ('gtts', 'pydub', 'imageio_ffmpeg', 'skill.audio.build') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


# ---------------------------------------------------------------------------- a whole track
def real_mp3(seconds: float = 1.2) -> bytes:
    """A real MP3 (a soft tone, 44.1 kHz stereo, as Google's are not) made here with the build's ffmpeg."""
    import subprocess

    from skill.audio.build import ffmpeg

    return subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                           "-ac", "2", "-ar", "44100", "-b:a", "64k", "-f", "mp3", "-"],
                          capture_output=True, check=True).stdout


def probe(path) -> tuple[str, float]:
    """What ffmpeg says of a file: its audio stream line and its duration in seconds."""
    import re
    import subprocess

    from skill.audio.build import ffmpeg

    info = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    stream = re.search(r"Audio: .*", info).group(0)
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info).groups()
    return stream, int(h) * 3600 + int(m) * 60 + float(s)


def test_a_track_is_mono_48_kbps_24_khz_mp3_of_its_length(monkeypatch, tmp_path):
    import hashlib

    from skill.audio.build import build_track
    from skill.audio.manifest import load_manifest

    fake = FakeGoogleTTS(audio=real_mp3())
    monkeypatch.setattr(requests.Session, "send", fake.send)
    manifest = load_manifest()
    track = manifest.tracks["breathing-3min"]
    lines: list[str] = []
    entry = build_track(manifest, track, "en-US", tmp_path / "tracks", cache=tmp_path / "cache", progress=lines.append)
    path = tmp_path / "tracks" / entry["file"]
    stream, seconds = probe(path)
    assert "mp3" in stream and "24000 Hz" in stream and "mono" in stream and "48 kb/s" in stream, stream
    assert 170 <= seconds <= 190 and abs(seconds - entry["duration_seconds"]) < 1.5, (seconds, entry)
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert any("cue" in line for line in lines) and any("encoding" in line for line in lines)  # progress shown
    cues = {*track.intro, *track.middle, *track.close, "first_in", "first_out", "in", "out"}
    assert len(fake.calls) == len(cues)  # each cue once
    build_track(manifest, track, "en-US", tmp_path / "tracks", cache=tmp_path / "cache", progress=lines.append)
    assert len(fake.calls) == len(cues)  # built again: nothing fetched again


def test_the_offline_engine_speaks_without_network_and_its_track_is_labelled_a_preview(monkeypatch, tmp_path):
    from skill.audio.build import OFFLINE, build_track, decode
    from skill.audio.manifest import load_manifest

    fake = FakeGoogleTTS(fail=AssertionError("the offline engine must not call Google"))
    monkeypatch.setattr(requests.Session, "send", fake.send)
    cue = render_cue("first_in", "Breathe in through your nose.", US, cache=tmp_path / "cache", engine=OFFLINE)
    assert 0.5 < len(decode(cue)) / 1000 < 5  # real speech, about a second of it
    manifest = load_manifest()
    entry = build_track(manifest, manifest.tracks["breathing-3min"], "en-GB", tmp_path / "tracks",
                        cache=tmp_path / "cache", engine=OFFLINE, progress=lambda line: None)
    stream, seconds = probe(tmp_path / "tracks" / entry["file"])
    assert entry["engine"] == OFFLINE and entry["file"].endswith("-preview.mp3")
    assert "24000 Hz" in stream and "mono" in stream and "48 kb/s" in stream and 170 <= seconds <= 195
    assert fake.calls == []
