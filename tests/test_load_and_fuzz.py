"""Short runs of `make load` and `make fuzz` (bench/load.py, bench/fuzz.py), and proof that their checks can fail."""

from __future__ import annotations

import contextlib
import json

import pytest

from bench import fuzz, load
from bench.served import GunicornSkill, dynalite_store
from simulator.transport import InProcessTransport
from skill.app import create_app


def _walk(user: load.User) -> load.User:
    while not user.take_turn():
        pass
    return user


def _transport(tmp_path, name: str) -> InProcessTransport:
    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / f"{name}.sqlite3"), "EXPOSE_PROMPT_KEYS": True})
    return InProcessTransport(client=app.test_client())


@pytest.mark.slow  # (four apps of its own)
def test_the_load_state_check_finds_a_lost_and_a_crossed_record(tmp_path):
    expected = load.expected_steps()
    assert len(set(expected.values())) > 3  # the walks end in different places
    kept = _walk(load.User.make(7, _transport(tmp_path, "kept")))
    assert kept.outcome(expected) == "ok"

    lost = load.User.make(8, _transport(tmp_path, "first"))
    lost.turns.remove("reopen")
    _walk(lost)
    lost.turns, lost.convo.transport = ["reopen"], _transport(tmp_path, "empty")  # a store that kept nothing
    assert _walk(lost).outcome(expected) == "lost"

    shared = _transport(tmp_path, "shared")
    other = _walk(load.User.make(5, shared))
    crossed = load.User.make(6, shared)
    crossed.convo.user_id = other.convo.user_id  # the store answers with someone else's record
    assert _walk(crossed).outcome(expected) == "crossed"


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "dynamodb"])
def test_a_short_load_run_keeps_every_users_place(tmp_path, store):
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(dynalite_store()) if store == "dynamodb" else {}
        skill = stack.enter_context(GunicornSkill(tmp_path, env=env))
        row = load.run(skill, users=40, connections=16)
    assert row["errors"] == 0 and row["ok"] == 40 and row["crossed"] == row["lost"] == row["unfinished"] == 0, row


def test_the_fuzz_check_flags_what_alexa_or_a_client_must_not_get():
    assert fuzz.answer_problem(500, b"{}") == "HTTP 500"
    assert fuzz.answer_problem(400, b'{"error": "x"}') is None
    assert fuzz.answer_problem(200, json.dumps({"response": {}, "sessionAttributes": {"junk": 1}}).encode())
    assert fuzz.answer_problem(200, json.dumps({"response": {"x": "y" * 30_000}}).encode())
    assert fuzz.answer_problem(200, json.dumps({"response": {}, "sessionAttributes": {"guide": {}}}).encode()) is None


@pytest.mark.slow
def test_a_short_fuzz_run_gets_no_5xx():
    statuses, problems, _ = fuzz.fuzz(150)
    assert problems == [] and sum(statuses.values()) == 150 and statuses[200] > 0, (statuses, problems)
