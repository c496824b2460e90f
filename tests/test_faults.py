"""The store misbehaving while people talk: a red flag never waits for it, and nothing is lost."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from envelopes import Conversation, intent, launch
from said import keys_of
from simulator.faults import CASES, Checks, free_port, hold_exclusive_lock, wait_for
from simulator.transport import KEYS_HEADER, PromptKeys
from skill.app import create_app

# What these apps are made with: each answer names the prompt keys it said (tests/said.py).
SHOW_KEYS = {"VERIFY_REQUESTS": False, "EXPOSE_PROMPT_KEYS": True}

def stored_records(path: str) -> list[dict]:
    with sqlite3.connect(path) as db:
        return [json.loads(data)["guide"] for (data,) in db.execute("SELECT data FROM user_attributes")]


def test_a_store_locked_by_another_process_delays_no_answer_and_loses_no_record(tmp_path):
    """Before the fix, with the lock held for 10 s, answers queued behind each other's 2-s busy waits:
    2, 4, 6, 8, 10 s, and the red flag took 10 s, past Alexa's 8-second limit."""
    path = str(tmp_path / "state.sqlite3")
    app = create_app({**SHOW_KEYS, "DB_PATH": path})
    client = app.test_client()
    client.post("/alexa", json=launch(user_id="amzn1.ask.account.WARMUP"))  # the file exists, the schema is made

    turns = [launch(user_id=f"amzn1.ask.account.LOCKED{n}") for n in range(12)]
    red_flag = intent("DescribeSymptomIntent", {"description": "my legs have gone numb"},
                      user_id="amzn1.ask.account.LOCKEDREDFLAG")

    def timed(env):
        started = time.monotonic()
        answer = app.test_client().post("/alexa", json=env)
        return time.monotonic() - started, keys_of(answer).say

    holder = hold_exclusive_lock(path, 10)
    try:
        with ThreadPoolExecutor(len(turns) + 1) as pool:
            answers = list(pool.map(timed, [*turns, red_flag]))
        assert holder.poll() is None, "the lock was released before every turn was answered"
    finally:
        # Every turn has been answered under the lock: ending the holder releases it now, rather than after
        # the rest of its 10 s, which would prove nothing more (what was queued is written after either way).
        holder.kill()
        holder.wait(timeout=15)

    slow = [f"{seconds:.2f} s: {said[:50]}" for seconds, said in answers if seconds >= 1.0]
    assert not slow, slow
    assert all("steps.stop_activity.say" in said for _, said in answers[:-1])
    assert "emergency.say" in answers[-1][1]
    assert answers[-1][0] < 0.25, f"the red flag waited {answers[-1][0]:.2f} s: it must not wait on the store at all"
    assert app.extensions["skill_store"].flush(timeout=5), "records still waiting after the lock was released"
    records = stored_records(path)
    assert len(records) == 1 + 13  # the warm-up, the twelve, and the red flag
    assert sum(1 for record in records if record.get("last_emergency")) == 1


def test_a_file_that_turns_corrupt_while_serving_is_noticed_and_triage_still_answers(tmp_path):
    path = tmp_path / "state.sqlite3"
    app = create_app({**SHOW_KEYS, "DB_PATH": str(path)})
    client = app.test_client()
    Conversation(client, user_id="amzn1.ask.account.BEFORE").launch()
    assert client.get("/healthz").get_json() == {"status": "ok"}

    damage = bytes(range(256)) * 64
    path.write_bytes(damage)  # overwritten in place: same file, no longer a database
    convo = Conversation(client, user_id="amzn1.ask.account.AFTER")
    convo.launch()
    assert {"steps.stop_activity.say", "events.load_failed"} <= set(convo.keys.say)
    convo.say("DescribeSymptomIntent", {"description": "i can't feel my legs"})
    assert "emergency.say" in convo.keys.say


    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and "damaged" in health["store"], health
    assert path.read_bytes() == damage  # left as it is while the skill runs, and a copy kept for recovery
    (copy,) = tmp_path.glob("state.sqlite3.damaged-*[0-9]")
    assert copy.read_bytes() == damage and str(copy) in health["store"]


def talk_to_grow_the_file(client, people: int = 20) -> None:
    for n in range(people):
        Conversation(client, user_id=f"amzn1.ask.account.GROW{n}").launch()


def test_a_wal_cut_short_while_serving_is_noticed_and_triage_still_answers(tmp_path):
    """Before the fix only the main file's header was checked: with the -wal file cut in half, reads went on from
    the connections' caches, /healthz said ok, and every later save was appended past the cut, to be lost at the
    next restart."""
    path = tmp_path / "state.sqlite3"
    app = create_app({**SHOW_KEYS, "DB_PATH": str(path)})
    client = app.test_client()
    talk_to_grow_the_file(client)
    assert app.extensions["skill_store"].flush(timeout=5)
    wal = tmp_path / "state.sqlite3-wal"
    os.truncate(wal, wal.stat().st_size // 2)

    convo = Conversation(client, user_id="amzn1.ask.account.AFTERCUT")
    convo.launch()
    assert "events.load_failed" in convo.keys.say
    convo.say("DescribeSymptomIntent", {"description": "i can't feel my legs"})
    assert "emergency.say" in convo.keys.say
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and "damaged" in health["store"], health
    assert list(tmp_path.glob("state.sqlite3.damaged-*[0-9]-wal")), "no copy kept for recovery"


def test_a_file_damaged_while_the_skill_was_down_is_reported_at_start_and_triage_still_answers(tmp_path):
    """Before the fix a restart on a file with a damaged page (its header intact) reported ok."""
    path = tmp_path / "state.sqlite3"
    app = create_app({**SHOW_KEYS, "DB_PATH": str(path)})
    talk_to_grow_the_file(app.test_client())
    app.extensions["skill_store"].close()  # the skill stops; its WAL is written into the file
    page_size = 4096
    with open(path, "r+b") as f:
        f.seek(page_size)  # page 2, the table itself
        f.write(bytes(range(256)) * (page_size // 256))

    restarted = create_app({**SHOW_KEYS, "DB_PATH": str(path)})
    client = restarted.test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and "damaged" in health["store"], health
    convo = Conversation(client, user_id="amzn1.ask.account.AFTERRESTART")
    convo.say("DescribeSymptomIntent", {"description": "i can't feel my legs"})
    assert "emergency.say" in convo.keys.say


def test_a_store_out_of_reach_at_start_up_is_used_once_it_can_be_with_the_emergency_kept(tmp_path):
    """Before, a store that could not be opened stayed unavailable until a restart, and an emergency told
    meanwhile was never written."""
    blocker = tmp_path / "var"
    blocker.write_text("a file where the database's folder should be")
    path = blocker / "state.sqlite3"
    app = create_app({**SHOW_KEYS, "DB_PATH": str(path), "STORE_RETRY_SECONDS": 0.2})
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "degraded"
    convo = Conversation(client, user_id="amzn1.ask.account.OUTOFREACH")
    convo.launch()
    convo.say("DescribeSymptomIntent", {"description": "i can't feel my legs"})
    assert "emergency.say" in convo.keys.say

    blocker.unlink()  # the operator fixes the mount
    assert app.extensions["skill_store"].flush(timeout=5)
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert [record["last_emergency"] is not None for record in stored_records(str(path))] == [True]
    back = Conversation(client, user_id="amzn1.ask.account.OUTOFREACH")
    back.launch()
    assert "emergency.reminder" in back.keys.say and "events.welcome_back" not in back.keys.say


def test_a_deletion_asked_while_the_store_is_locked_is_not_confirmed_early_and_still_happens(tmp_path):
    from ask_sdk_core.exceptions import PersistenceException
    from skill.storage import open_store
    from storage_contract import ALICE, request_for

    path = tmp_path / "state.sqlite3"
    store = open_store({"DB_PATH": str(path)})
    store.save_attributes(request_for(ALICE), {"guide": {"step": "rest", "last_emergency": {"tier": 1}}})
    holder = hold_exclusive_lock(str(path), 1.0)
    try:
        with pytest.raises(PersistenceException, match="not deleted yet"):
            store.delete_attributes(request_for(ALICE))  # "I couldn't delete your data just now"
        assert store.get_attributes(request_for(ALICE)) == {}  # this process already acts on it
    finally:
        holder.wait(timeout=5)
    assert store.flush(timeout=5)
    assert stored_records(str(path)) == []
    store.close()


RED_FLAG = ("DescribeSymptomIntent", {"description": "my legs have gone numb"})


def journal_entries(db_path) -> list[Path]:
    return sorted(Path(f"{db_path}.pending").glob("*.json"))


def test_a_red_flag_under_a_lock_is_on_the_disk_before_the_answer_and_another_worker_reminds_of_it(tmp_path):
    """Two apps on one file stand for two gunicorn workers. Before the journal, the emergency was in the first
    worker's memory only: a kill -9 lost it, and the second worker, reading the store, gave no reminder."""
    path = tmp_path / "state.sqlite3"
    first, second = (create_app({**SHOW_KEYS, "DB_PATH": str(path)}) for _ in range(2))
    user_id = "amzn1.ask.account.JOURNALED"
    Conversation(first.test_client(), user_id="amzn1.ask.account.WARMUP").launch()
    holder = hold_exclusive_lock(str(path), 10)
    try:
        told = Conversation(first.test_client(), user_id=user_id)
        told.say(*RED_FLAG)
        assert "emergency.say" in told.keys.say
        (entry,) = journal_entries(path)  # on the disk when the answer came
        assert hashlib.sha256(user_id.encode()).hexdigest() in entry.name
        assert user_id not in entry.read_text()
        back = Conversation(second.test_client(), user_id=user_id)
        back.launch()
        assert "emergency.reminder" in back.keys.say
    finally:
        holder.kill()
        holder.wait(timeout=15)
    assert first.extensions["skill_store"].flush(timeout=5)
    assert [record["last_emergency"] is not None for record in stored_records(str(path))] == [False, True]
    assert journal_entries(path) == []  # the store has it: the entry is gone


def test_a_journal_that_cannot_be_written_is_logged_and_the_red_flag_still_answered_and_saved(tmp_path, caplog):
    path = tmp_path / "state.sqlite3"
    Path(f"{path}.pending").write_text("a file where the journal's folder should be")
    app = create_app({**SHOW_KEYS, "DB_PATH": str(path)})
    convo = Conversation(app.test_client(), user_id="amzn1.ask.account.NOJOURNAL")
    with caplog.at_level(logging.ERROR, logger="skill.storage.journal"):
        convo.say(*RED_FLAG)
    assert "emergency.say" in convo.keys.say
    assert any("journal" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "NOJOURNAL" not in caplog.text
    assert app.extensions["skill_store"].flush(timeout=5)
    assert [record["last_emergency"] is not None for record in stored_records(str(path))] == [True]


def test_deleting_a_persons_data_is_confirmed_only_once_no_file_holds_a_copy(tmp_path):
    """Before, with a reader holding a transaction, "I've deleted everything" was said while the WAL kept copies
    of the person's record (16 of their key) until the server stopped."""
    path = tmp_path / "state.sqlite3"
    app = create_app({**SHOW_KEYS, "DB_PATH": str(path)})
    user_id = "amzn1.ask.account.ERASEME"
    convo = Conversation(app.test_client(), user_id=user_id)
    convo.launch()
    convo.say("AMAZON.NoIntent")
    assert app.extensions["skill_store"].flush(timeout=5)
    with sqlite3.connect(path) as db:
        (saved,) = db.execute("SELECT data FROM user_attributes").fetchone()

    def copies() -> int:
        """Copies of the record as saved before the deletion, in the database's files."""
        return sum(Path(f"{path}{suffix}").read_bytes().count(saved.encode())
                   for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())

    reader = sqlite3.connect(str(path), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM user_attributes").fetchone()  # holds a snapshot: the WAL can't be reset
    try:
        convo.say("DeleteDataIntent")
        convo.say("AMAZON.YesIntent")
        assert convo.keys.say == ("events.delete_failed",)  # not "deleted": copies remain
        assert copies() > 0
        again = Conversation(app.test_client(), user_id=user_id)
        again.launch()  # back before the reader is done: a new record, begun from scratch
        assert "events.welcome_back" not in again.keys.say
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert app.extensions["skill_store"].flush(timeout=5), "the deletion is retried until it is done"
    assert copies() == 0
    (record,) = stored_records(str(path))  # the new record only
    assert record["step"] == again.attributes["guide"]["step"]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["kill-under-lock", "deleted-folder"])
def test_emergencies_told_just_before_a_kill_9_are_kept_and_reminded_after_the_restart(tmp_path, case):
    """simulator/faults.py's cases, each against the skill as its own process: three red flags, SIGKILL a second
    later, a restart. Before the journal, 0 of 3 emergencies were kept and no launch reminded of them."""
    checks = Checks()
    CASES[case](tmp_path, checks)
    assert not checks.failed, checks.failed


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's children (its workers), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            children.append(int(stat.parent.name))
    return children


@pytest.mark.slow
def test_gunicorn_workers_killed_9_under_a_lock_are_replaced_and_their_emergencies_kept(tmp_path):
    """Several workers share one journal folder: every worker is killed -9 just after three red flags while the
    store is locked; the workers gunicorn starts in their place adopt the entries (each once) with the lock still
    held, and write them once it is released. Before the journal, the three emergencies were lost."""
    path = tmp_path / "state.sqlite3"
    port = free_port()
    env = {**os.environ, "SKILL_DB": str(path), "SKILL_VERIFY_REQUESTS": "0", "HOST": "127.0.0.1",
           "PORT": str(port), "WEB_CONCURRENCY": "2", "SKILL_THREADS": "4", "SKILL_STORE_RETRY_SECONDS": "1",
           "SKILL_EXPOSE_PROMPT_KEYS": "1", "SKILL_SECOND_LINE": "0"}
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:skill.web.gunicorn_conf",
                               "skill.app:create_app()"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)

    def post(envelope: dict) -> tuple[str, ...]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/alexa", data=json.dumps(envelope).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as res:
            return PromptKeys.from_header(res.headers.get(KEYS_HEADER)).say

    def serving() -> bool:
        try:
            post(launch(user_id="amzn1.ask.account.WARMUP"))
            return True
        except OSError:
            return False

    users = [f"amzn1.ask.account.GUNICORN{n}" for n in range(3)]
    try:
        assert wait_for(serving, 30) and len(worker_pids(server.pid)) == 2
        holder = hold_exclusive_lock(str(path), 60)
        try:
            for user_id in users:
                assert "emergency.say" in post(intent(*RED_FLAG, user_id=user_id))
            killed = worker_pids(server.pid)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            assert wait_for(lambda: len(set(worker_pids(server.pid)) - set(killed)) == 2 and serving(), 30)
            assert len(journal_entries(path)) == 3  # adopted by the new workers, still waiting for the store
            assert all("emergency.reminder" in post(launch(user_id=user_id)) for user_id in users)
        finally:
            holder.kill()
            holder.wait(timeout=15)

        def all_kept() -> bool:
            return sum(bool(record.get("last_emergency")) for record in stored_records(str(path))) == 3

        assert wait_for(all_kept, 15)
        assert wait_for(lambda: journal_entries(path) == [], 5)
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)

