"""How the simulator reaches the skill: in-process through the Flask app, or over HTTP."""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from simulator.streams import SIMULATED_AUDIO_BASE, Fetched, fetch_stream


class TransportError(RuntimeError):
    """The skill did not answer with a response envelope."""


class InProcessTransport:
    """Calls the Flask app directly (its test client): no server, no port.

    ``client`` may be given instead of ``app``: a Flask test client, or anything with its ``post``.
    """

    def __init__(self, app=None, db_path: str | None = None, client=None, audio_dir: str | None = None):
        if client is not None:
            self.app, self.client, self.description = app, client, "in-process"
            return
        if app is None:
            from skill.app import create_app

            if db_path is None:
                db_path = str(Path(tempfile.mkdtemp(prefix="back-spasm-sim-")) / "state.sqlite3")
            # The simulator's requests are unsigned, like any local client's. The breathing tracks get a
            # public-looking HTTPS base that the device fetches from this app (simulator/streams.py).
            config = {"VERIFY_REQUESTS": False, "DB_PATH": db_path, "AUDIO_BASE_URL": SIMULATED_AUDIO_BASE}
            if audio_dir is not None:
                config["AUDIO_DIR"] = audio_dir
            app = create_app(config)
        self.app = app
        self.client = app.test_client()
        self.description = "in-process"

    def fetch(self, url: str) -> Fetched:
        """A stream, as the device gets it: the simulated audio base from this app's /audio route."""
        return fetch_stream(url, self.client)

    def send(self, envelope: dict) -> dict:
        res = self.client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
        body = res.get_json(silent=True)
        if res.status_code != 200 or not isinstance(body, dict):
            raise TransportError(f"skill answered {res.status_code}: {res.get_data(as_text=True)[:200]}")
        return body


class HttpTransport:
    """POSTs to a running skill, e.g. ``make run`` on http://127.0.0.1:5000/alexa."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        self.description = url

    def fetch(self, url: str) -> Fetched:
        return fetch_stream(url)

    def send(self, envelope: dict) -> dict:
        data = json.dumps(envelope).encode()
        req = urllib.request.Request(self.url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                return json.loads(res.read())
        except urllib.error.HTTPError as exc:
            raise TransportError(f"skill answered {exc.code}: {exc.read()[:200]!r}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TransportError(f"could not reach the skill at {self.url}: {exc}") from exc
