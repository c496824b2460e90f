"""How the simulator reaches the skill: in-process through the Flask app, or over HTTP.

Both give each answer with the prompt keys it said (``Answer.keys``), when the skill shows them: the
in-process app is made with EXPOSE_PROMPT_KEYS, and ``make run`` sets SKILL_EXPOSE_PROMPT_KEYS, so the skill
names them in the X-Prompt-Keys header (skill/web/endpoint.py). A production skill never does: its answers
have no keys (``PromptKeys.shown`` is False).
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from simulator.streams import SIMULATED_AUDIO_BASE, Fetched, fetch_stream


KEYS_HEADER = "X-Prompt-Keys"  # skill/web/endpoint.py's


class TransportError(RuntimeError):
    """The skill did not answer with a response envelope."""


@dataclass(frozen=True)
class PromptKeys:
    """What an answer said, by prompt key (in the order said), and its answer kind."""

    say: tuple[str, ...] = ()  # the speech: lines, then the question (nested keys after their line's)
    reprompt: tuple[str, ...] = ()
    card: tuple[str, ...] = ()
    triage: str | None = None  # emergency | urgent, when the answer is a red flag's
    heard: str | None = None  # what free words were taken for (answer, question, remark...)
    shown: bool = True  # False: the skill did not name its keys (not configured to)

    @classmethod
    def from_header(cls, value: str | None) -> PromptKeys:
        if not value:
            return cls(shown=False)
        raw = json.loads(value)
        return cls(say=tuple(raw.get("say") or ()), reprompt=tuple(raw.get("reprompt") or ()),
                   card=tuple(raw.get("card") or ()), triage=raw.get("triage"), heard=raw.get("heard"))


@dataclass(frozen=True)
class Answer:
    body: dict  # the response envelope
    keys: PromptKeys


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
            config = {"VERIFY_REQUESTS": False, "DB_PATH": db_path, "AUDIO_BASE_URL": SIMULATED_AUDIO_BASE,
                      "EXPOSE_PROMPT_KEYS": True}
            if audio_dir is not None:
                config["AUDIO_DIR"] = audio_dir
            app = create_app(config)
            second_line = app.extensions.get("second_line")
            if second_line is not None:
                # Loaded before the first request, as a warm skill meets most requests: the same answers every run
                # (the app loads it in the background; until then the phrase lists answer alone).
                try:
                    second_line.load()
                except Exception:  # noqa: BLE001 - the app's loading thread has logged it; the lists answer alone
                    pass
        self.app = app
        self.client = app.test_client()
        self.description = "in-process"

    def fetch(self, url: str) -> Fetched:
        """A stream, as the device gets it: the simulated audio base from this app's /audio route."""
        return fetch_stream(url, self.client)

    def send(self, envelope: dict) -> dict:
        return self.post(envelope).body

    def post(self, envelope: dict) -> Answer:
        res = self.client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
        body = res.get_json(silent=True)
        if res.status_code != 200 or not isinstance(body, dict):
            raise TransportError(f"skill answered {res.status_code}: {res.get_data(as_text=True)[:200]}")
        return Answer(body, PromptKeys.from_header(res.headers.get(KEYS_HEADER)))


class HttpTransport:
    """POSTs to a running skill, e.g. ``make run`` on http://127.0.0.1:5000/alexa."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        self.description = url

    def fetch(self, url: str) -> Fetched:
        return fetch_stream(url)

    def send(self, envelope: dict) -> dict:
        return self.post(envelope).body

    def post(self, envelope: dict) -> Answer:
        data = json.dumps(envelope).encode()
        req = urllib.request.Request(self.url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                return Answer(json.loads(res.read()), PromptKeys.from_header(res.headers.get(KEYS_HEADER)))
        except urllib.error.HTTPError as exc:
            raise TransportError(f"skill answered {exc.code}: {exc.read()[:200]!r}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TransportError(f"could not reach the skill at {self.url}: {exc}") from exc
