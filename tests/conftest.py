import json
import os
import re
import tempfile
import uuid
import xml.etree.ElementTree as ET

import pytest

from skill.app import create_app

pytest_plugins = ["lambda_artefact"]  # the Lambda artefact, packaged in the background (tests/lambda_artefact.py)

# The tests decide which breathing tracks exist: none, unless a test makes some (tests/test_breathing_audio.py).
# Tracks a developer built into audio/tracks (make audio) must not change what the tests hear.
os.environ["SKILL_AUDIO_DIR"] = tempfile.mkdtemp(prefix="back-spasm-no-tracks-")

# Amazon's limits (alexa-platform.md): checked on every response the shared `client` sees.
MAX_SPEECH_CHARS = 8000
MAX_BREAK_SECONDS = 10
MAX_RESPONSE_BYTES = 24 * 1024


def response_problems(body: dict) -> list[str]:
    """What would make Alexa reject or certification fail this response."""
    problems = []
    response = body.get("response") or {}
    for where, speech in (("outputSpeech", response.get("outputSpeech")),
                          ("reprompt", (response.get("reprompt") or {}).get("outputSpeech"))):
        if not speech:
            continue
        ssml = speech.get("ssml", "")
        if len(ssml) > MAX_SPEECH_CHARS:
            problems.append(f"{where}: {len(ssml)} characters")
        try:
            root = ET.fromstring(ssml)
        except ET.ParseError as exc:
            problems.append(f"{where}: not SSML ({exc}): {ssml[:80]}")
            continue
        if root.tag != "speak":
            problems.append(f"{where}: root is <{root.tag}>")
        for brk in root.iter("break"):
            match = re.fullmatch(r"([\d.]+)(ms|s)", brk.get("time", ""))
            seconds = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1) if match else None
            if seconds is None or seconds > MAX_BREAK_SECONDS:
                problems.append(f"{where}: break {brk.get('time')!r}")
    asks = response.get("shouldEndSession") is False
    if asks and not response.get("reprompt"):
        problems.append("keeps the session open without a reprompt")
    if response.get("reprompt") and not asks:
        problems.append("has a reprompt but ends the session")
    if len(json.dumps(body).encode()) > MAX_RESPONSE_BYTES:
        problems.append("response larger than 24 KB")
    for directive in response.get("directives") or []:
        if directive.get("type") != "AudioPlayer.Play":
            continue
        stream = (directive.get("audioItem") or {}).get("stream") or {}
        offset = stream.get("offsetInMilliseconds")
        if not str(stream.get("url", "")).startswith("https://") or len(stream.get("url", "")) > 8000:
            problems.append(f"AudioPlayer.Play: stream URL {stream.get('url')!r}")
        if not 0 < len(stream.get("token") or "") <= 1024:
            problems.append("AudioPlayer.Play: token missing or over 1024 characters")
        if not isinstance(offset, int) or offset < 0:
            problems.append(f"AudioPlayer.Play: offset {offset!r}")
        if response.get("shouldEndSession") is False or response.get("reprompt"):
            problems.append("AudioPlayer.Play in a response that keeps the session open")
    return problems


def player_request_problems(body: dict) -> list[str]:
    """An answer to the player's own requests (AudioPlayer.*, PlaybackController.*): directives only."""
    response = body.get("response") or {}
    return [f"{key} in answer to the player" for key in ("outputSpeech", "card", "reprompt") if response.get(key)]


def _checked_app(db_path: str):
    """The skill's Flask app, recording every JSON response with what Alexa would reject in it."""
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False, "DB_PATH": db_path, "EXPOSE_PROMPT_KEYS": True})
    app.config["CHECKED_RESPONSES"] = []

    @app.after_request
    def check_alexa_limits(response):
        if response.status_code == 200 and response.mimetype == "application/json":
            body = response.get_json()
            if isinstance(body, dict) and "response" in body:
                app.config["CHECKED_RESPONSES"].append((body, response_problems(body)))
        return response

    return app


def _assert_within_alexa_limits(app) -> None:
    problems = [p for _, found in app.config["CHECKED_RESPONSES"] for p in found]
    assert not problems, problems


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "state.sqlite3")


@pytest.fixture
def app(db_path):
    """An app and SQLite file of the test's own: for tests that break or inspect the store."""
    return _checked_app(db_path)


@pytest.fixture
def client(app):
    yield app.test_client()
    _assert_within_alexa_limits(app)


@pytest.fixture(scope="module")
def module_app(tmp_path_factory):
    """One app and SQLite file for a whole test module; tests keep apart by user id (``new_user_id``)."""
    return _checked_app(str(tmp_path_factory.mktemp("module") / "state.sqlite3"))


@pytest.fixture
def shared_client(module_app):
    """A client of the module's app; every response of this test is checked against Alexa's limits."""
    module_app.config["CHECKED_RESPONSES"] = []
    yield module_app.test_client()
    _assert_within_alexa_limits(module_app)


@pytest.fixture
def new_user_id():
    """Makes a user id no other test has used, so a shared store never carries one case into another."""
    return lambda: f"amzn1.ask.account.TEST{uuid.uuid4().hex.upper()}"


@pytest.fixture
def alexa_problems():
    """The check every response goes through, for the test that proves it can fail."""
    return response_problems
