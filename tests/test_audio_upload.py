"""The tracks' upload to S3 (skill/audio/upload.py), against a small S3 stand-in on loopback: what arrives,
under which key and headers, that previews never go, and that an unchanged file is not sent twice."""

from __future__ import annotations

import hashlib
import http.server
import json

import pytest

from silent_mp3 import silent_mp3
from simulator.local_servers import serve_http_on_loopback
from skill.audio.upload import s3_client, upload


class FakeS3:
    """PUT and HEAD of objects, path-style (/bucket/key), as S3 answers them."""

    def __init__(self):
        self.objects, self.puts = {}, []
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                store.objects[self.path] = (body, dict(self.headers))
                store.puts.append(self.path)
                self.send_response(200)
                self.send_header("ETag", f'"{hashlib.md5(body).hexdigest()}"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self):
                found = store.objects.get(self.path)
                self.send_response(200 if found else 404)
                if found:
                    self.send_header("ETag", f'"{hashlib.md5(found[0]).hexdigest()}"')
                    self.send_header("Content-Length", str(len(found[0])))
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server, self.url = serve_http_on_loopback(Handler)


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    fake = FakeS3()
    yield fake
    fake.server.shutdown()


def built(folder, previews_too=True):
    entries = [{"track": "breathing-3min", "locale": "en-US", "file": "breathing-3min-en-us-aaaa.mp3",
                "duration_seconds": 2, "engine": "gtts"}]
    if previews_too:
        entries.append({"track": "breathing-5min", "locale": "en-US", "file": "breathing-5min-en-us-bbbb-preview.mp3",
                        "duration_seconds": 2, "engine": "espeak-ng"})
    for entry in entries:
        (folder / entry["file"]).write_bytes(silent_mp3(2))
    (folder / "manifest.json").write_text(json.dumps({"tracks": entries}))


def test_real_tracks_go_up_public_and_cacheable_previews_never_and_unchanged_files_once(tmp_path, s3):
    built(tmp_path)
    client = s3_client(s3.url, "us-east-1")
    assert upload(tmp_path, "coach-audio", client) == ["audio/breathing-3min-en-us-aaaa.mp3"]
    body, headers = s3.objects["/coach-audio/audio/breathing-3min-en-us-aaaa.mp3"]
    assert body == (tmp_path / "breathing-3min-en-us-aaaa.mp3").read_bytes()
    assert headers["Content-Type"] == "audio/mpeg" and "immutable" in headers["Cache-Control"]
    assert upload(tmp_path, "coach-audio", client) == [] and len(s3.puts) == 1  # already there


def test_previews_alone_are_refused_with_a_reason(tmp_path, s3):
    built(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["tracks"] = [t for t in manifest["tracks"] if t["engine"] != "gtts"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SystemExit, match="make audio"):
        upload(tmp_path, "coach-audio", s3_client(s3.url, "us-east-1"))
    assert s3.puts == []
