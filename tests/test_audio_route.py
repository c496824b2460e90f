"""GET /audio/<file>: built tracks only, with Range (Alexa resumes a paused stream with one), caching and
the MP3 content type; nothing outside the tracks folder, however the name is written."""

from __future__ import annotations

import pytest

from skill.app import create_app

TRACK = "breathing-5min-en-us.mp3"
BYTES = bytes(range(256)) * 40  # (the route does not read what is in the file)


@pytest.fixture
def client(tmp_path):
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    (tracks / TRACK).write_bytes(BYTES)
    (tracks / "notes.txt").write_text("not a track")
    (tmp_path / "secret.mp3").write_bytes(b"outside the folder")
    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "s.sqlite3"), "AUDIO_DIR": str(tracks)})
    return app.test_client()


def test_a_track_is_served_as_mp3_with_long_caching(client):
    res = client.get(f"/audio/{TRACK}")
    assert res.status_code == 200 and res.data == BYTES
    assert res.mimetype == "audio/mpeg" and res.headers["Accept-Ranges"] == "bytes"
    assert "max-age=604800" in res.headers["Cache-Control"]


def test_a_range_request_gets_206_with_just_those_bytes(client):
    res = client.get(f"/audio/{TRACK}", headers={"Range": "bytes=1000-1999"})
    assert res.status_code == 206 and res.data == BYTES[1000:2000]
    assert res.headers["Content-Range"] == f"bytes 1000-1999/{len(BYTES)}"
    tail = client.get(f"/audio/{TRACK}", headers={"Range": "bytes=10000-"})
    assert tail.status_code == 206 and tail.data == BYTES[10000:]
    beyond = client.get(f"/audio/{TRACK}", headers={"Range": f"bytes={len(BYTES) + 10}-"})
    assert beyond.status_code == 416


def test_a_cached_copy_is_confirmed_without_the_bytes(client):
    etag = client.get(f"/audio/{TRACK}").headers["ETag"]
    again = client.get(f"/audio/{TRACK}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("name", [
    "missing.mp3", "notes.txt", "../secret.mp3", "..%2Fsecret.mp3", "%2e%2e/secret.mp3", "tracks/../../secret.mp3",
    "/etc/passwd", "BREATHING.mp3", "breathing-5min-en-us.MP3", "a" * 200 + ".mp3", "breathing\x00.mp3",
])
def test_anything_but_a_built_track_is_a_404(client, name):
    res = client.get(f"/audio/{name}", follow_redirects=True)  # ("//etc" is first redirected to "/etc")
    assert res.status_code == 404 and b"outside the folder" not in res.data and b"root:" not in res.data
