"""How the simulator reaches the skill: in-process through the Flask app, or over HTTP."""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from pathlib import Path


class TransportError(RuntimeError):
    """The skill did not answer with a response envelope."""


class InProcessTransport:
    """Calls the Flask app directly (its test client): no server, no port.

    ``client`` may be given instead of ``app``: a Flask test client, or anything with its ``post``.
    """

    def __init__(self, app=None, db_path: str | None = None, client=None):
        if client is not None:
            self.app, self.client, self.description = app, client, "in-process"
            return
        if app is None:
            from skill.app import create_app

            if db_path is None:
                db_path = str(Path(tempfile.mkdtemp(prefix="back-spasm-sim-")) / "state.sqlite3")
            # The simulator's requests are unsigned, like any local client's.
            app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": db_path})
        self.app = app
        self.client = app.test_client()
        self.description = "in-process"

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
