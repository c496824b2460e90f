"""Fault injection against a served skill: what each turn answered and what was stored afterwards.

    .venv/bin/python -m simulator.faults [--lock-seconds 10] [CASE ...]     (make faults)

Each case starts the skill as its own process (``flask run``, verification off, SQLite in a folder of
its own), breaks its store the way it breaks in life, talks to it over HTTP as several people at once,
mends the store, and reads the database file itself. The cases:

* ``lock``: another process holds the database's write lock (BEGIN EXCLUSIVE); twelve people open
  the skill and one says a red flag, all at once.
* ``full-disk``: the database lives on a small file system that is then filled to the last byte.
* ``read-only``: the file system is mounted read-only when the skill starts, and writable later.
* ``deleted-file``: the database files are deleted while the skill runs; then the skill restarts.
* ``corrupt-file``: random bytes are written over the file while the skill runs; then it restarts.
* ``kill-under-lock``: another process holds the write lock; three people say a red flag, and a second
  later the skill is killed (SIGKILL); it restarts once the lock is gone.
* ``deleted-folder``: the data folder (database and journal) is deleted while the skill runs; three red
  flags, a SIGKILL a second later, a restart.
* ``outside-reader``: an operator's ``sqlite3 FILE 'select count(*) ...'`` reads the file while the
  skill serves; then people talk, one says a red flag, and the skill stops.
* ``exclusive-reader``: the same reader in ``locking_mode = EXCLUSIVE``.
* ``immutable-shm``: the -shm file is made immutable (``chattr +i``) while the skill serves (a write to
  it was a SIGBUS that killed the worker); then it is made writable again.
* ``wal-truncated``: the -wal file is cut in half while the skill serves.
* ``fresh-start``: four servers open the same new file at the same moment, as gunicorn's workers do.

``full-disk`` and ``read-only`` need a file system of their own: the command runs them again in a
private mount namespace (``unshare``, util-linux) where it may mount a tmpfs without privileges; the
others run in the command's own process, whose capabilities ``chattr`` needs.

Each case ends with checks (PASS/FAIL); the exit status is 1 if any failed. Every turn must be
answered within a second, and every red flag with the emergency number. The closing table gives, per
case, the red flags answered with the emergency number, the slowest of them, and the emergencies the
file holds at the end ("kept"; a damaged file that is left alone for recovery keeps none).
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from simulator.envelopes import EnvelopeFactory, Identity, Session
from simulator.local_servers import free_port, wait_until_answering
from simulator.transport import KEYS_HEADER, PromptKeys
from skill.render import plain

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IN_NAMESPACE = "BSC_FAULTS_IN_NAMESPACE"
RED_FLAG = ("DescribeSymptomIntent", {"description": {"name": "description", "value": "my legs have gone numb"}})
ANSWER_LIMIT = 1.0  # seconds: well inside Alexa's 8


class Checks:
    def __init__(self):
        self.failed: list[str] = []
        self.rows: list[tuple[str, str, str, str]] = []  # the closing table: one row per case

    def summarise(self, case: str, flagged: list[Person], records: dict[str, dict]) -> None:
        """The case's row in the closing table: were its red flags answered with the emergency number, how fast,
        and how many of those emergencies the store kept."""
        answered = sum(1 for p in flagged if p.red_flag_answered)
        slowest = max((p.red_flag_seconds for p in flagged), default=0.0)
        kept = sum(1 for p in flagged if has_emergency(records, p.name))
        self.rows.append((case, f"{answered}/{len(flagged)}", f"{slowest * 1000:.0f} ms", f"{kept}/{len(flagged)}"))

    def print_table(self) -> None:
        header = ("case", "red flag answered", "slowest red flag", "emergencies kept")
        widths = [max(len(row[i]) for row in [header, *self.rows]) for i in range(4)]
        for row in [header, tuple("-" * w for w in widths), *self.rows]:
            print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)))

    def check(self, case: str, ok: bool, what: str) -> None:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}")
        if not ok:
            self.failed.append(f"{case}: {what}")


class ServedSkill:
    """The skill as its own process on a free loopback port."""

    def __init__(self, db_path: Path, log_path: Path):
        self.db_path, self.log_path = db_path, log_path
        self.process = None
        self.port = None

    def start(self) -> ServedSkill:
        self.port = free_port()
        env = {**os.environ, "SKILL_DB": str(self.db_path), "SKILL_VERIFY_REQUESTS": "0",
               "SKILL_STORE_RETRY_SECONDS": "1", "PYTHONUNBUFFERED": "1", "SKILL_EXPOSE_PROMPT_KEYS": "1"}
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "skill.app", "run", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-reload", "--no-debugger"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until_answering(self.health, self.process, "the skill", 30, self.log_path)
        return self

    def crash(self) -> None:
        """SIGKILL: no atexit, no flush; only what is on the disk is left."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: atexit gets to write what is still queued
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def health(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as res:
            return json.load(res)

    def post(self, envelope: dict) -> tuple[float, dict, PromptKeys]:
        """How long the answer took, the answer, and the prompt keys it said."""
        data = json.dumps(envelope).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/alexa", data=data,
                                     headers={"Content-Type": "application/json"})
        started = time.monotonic()
        with urllib.request.urlopen(req, timeout=15) as res:
            body = json.load(res)
            keys = PromptKeys.from_header(res.headers.get(KEYS_HEADER))
        return time.monotonic() - started, body, keys


class Person:
    """Someone talking to the skill: their own user id and session."""

    def __init__(self, skill: ServedSkill, name: str):
        self.skill, self.name = skill, name
        self.user_id = f"amzn1.ask.account.FAULTS-{name.upper()}"
        self.factory = EnvelopeFactory(Identity(user_id=self.user_id), lambda: datetime.now(timezone.utc))
        self.session = Session()
        self.last_seconds = 0.0
        self.last_said = ""
        self.last_keys = PromptKeys(shown=False)  # what the skill last said to this person, by prompt key
        self.last_step = None  # where the skill last said this person is (from the session it echoed)
        self.red_flag_answered, self.red_flag_seconds = False, 0.0  # this person's red flag, for the table

    @property
    def key(self) -> str:
        return hashlib.sha256(self.user_id.encode()).hexdigest()

    def launch(self) -> str:
        self.session = Session()
        return self._send(self.factory.launch(self.session), "opens the skill")

    def say(self, intent: str, slots: dict | None = None, label: str | None = None) -> str:
        return self._send(self.factory.intent(intent, slots or {}, self.session), label or intent)

    def red_flag(self) -> str:
        self.session = Session()  # a one-shot: "Alexa, tell back spasm coach my legs have gone numb"
        said = self._send(self.factory.intent(*RED_FLAG, self.session), '"my legs have gone numb"')
        self.red_flag_answered, self.red_flag_seconds = is_emergency(self), self.last_seconds
        return said

    def _send(self, envelope: dict, label: str) -> str:
        self.last_seconds, body, self.last_keys = self.skill.post(envelope)
        response = body.get("response", {})
        self.last_said = plain((response.get("outputSpeech") or {}).get("ssml", ""))
        step = ((body.get("sessionAttributes") or {}).get("guide") or {}).get("step")
        self.last_step = step or self.last_step
        ended = response.get("shouldEndSession", True)
        self.session = Session(self.session.session_id, new=False, attributes=body.get("sessionAttributes") or {})
        if ended:
            self.session = Session()
        print(f"    {self.name:>8} {label:<26} {self.last_seconds * 1000:6.0f} ms  {shorten(self.last_said)}")
        return self.last_said


def shorten(text: str, width: int = 96) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def is_emergency(person: Person) -> bool:
    """Whether the skill's last answer to ``person`` was the emergency answer (call the emergency number)."""
    return "emergency.say" in person.last_keys.say


def stored(db_path: Path, people: list[Person]) -> dict[str, dict]:
    """What the file holds, by person (read as a separate reader, never through the skill)."""
    names = {p.key: p.name for p in people}
    if not db_path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute("SELECT user_key, data FROM user_attributes").fetchall()
    except sqlite3.Error as exc:
        return {"(unreadable)": {"error": str(exc)}}
    return {names.get(key, key[:8]): json.loads(data).get("guide", {}) for key, data in rows}


def has_emergency(records: dict[str, dict], name: str) -> bool:
    return bool(records.get(name, {}).get("last_emergency"))


def show_stored(title: str, records: dict[str, dict]) -> None:
    print(f"    stored {title}: {len(records)} record(s)")
    for name, record in sorted(records.items()):
        if "error" in record:
            print(f"      {name}: {record['error']}")
            continue
        emergency = record.get("last_emergency")
        print(f"      {name:>8}: step={record.get('step')!s:<16} emergency={'yes' if emergency else 'no'}")


def wait_for(condition, seconds: float = 8.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def answered_in_time(people: list[Person]) -> bool:
    return all(p.last_seconds < ANSWER_LIMIT for p in people)


# --------------------------------------------------------------------------- the cases

LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def hold_exclusive_lock(path, seconds: float) -> subprocess.Popen:
    """Another process takes the database's write lock for ``seconds``; returns once it holds it."""
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    if holder.stdout.readline().strip() != "locked":
        raise RuntimeError("the lock holder could not take the lock")
    return holder


def case_lock(work: Path, checks: Checks, lock_seconds: float) -> None:
    db = work / "state.sqlite3"
    skill = ServedSkill(db, work / "skill.log").start()
    try:
        warmup = Person(skill, "warmup")
        warmup.launch()
        print(f"    another process takes the write lock for {lock_seconds:g} s")
        holder = hold_exclusive_lock(db, lock_seconds)
        people = [Person(skill, f"user{n:02}") for n in range(1, 13)]
        flagged = Person(skill, "redflag")
        with ThreadPoolExecutor(13) as pool:
            for future in [pool.submit(p.launch) for p in people] + [pool.submit(flagged.red_flag)]:
                future.result()
        still_locked = holder.poll() is None
        show_stored("while locked", stored(db, [warmup, *people, flagged]))
        holder.wait()
        print("    the lock is released")
        everyone = people + [flagged]
        wait_for(lambda: len(stored(db, everyone)) == 14)
        everyone_stored = stored(db, [warmup, *everyone])
        records = everyone_stored
        show_stored("after the release", records)
        checks.check("lock", still_locked, "every turn was answered while the lock was still held")
        checks.check("lock", answered_in_time(everyone), f"every turn answered within {ANSWER_LIMIT:g} s")
        checks.check("lock", is_emergency(flagged), "the red flag got the emergency number")
        checks.check("lock", all(p.name in records for p in everyone), "all 13 records written after the release")
        checks.check("lock", has_emergency(records, "redflag"), "the emergency is stored")
        checks.summarise("lock", [flagged], records)
    finally:
        skill.stop()


def case_full_disk(work: Path, checks: Checks) -> None:
    mount_tmpfs(work, "4m")
    db = work / "state.sqlite3"
    skill = ServedSkill(db, work.parent / "full-disk-skill.log").start()
    try:
        alice, bob = Person(skill, "alice"), Person(skill, "bob")
        alice.launch()
        print("    the disk is filled to the last byte")
        filler = fill(work)
        alice.say("AMAZON.NoIntent", label="no (to a red-flag question)")
        bob.red_flag()
        show_stored("while the disk is full", stored(db, [alice, bob]))
        checks.check("full-disk", "events.save_failed" in alice.last_keys.say,
                     "alice is told her progress couldn't be saved")
        filler.unlink()
        print("    room is made on the disk")

        def both_written():
            now_stored = stored(db, [alice, bob])
            return has_emergency(now_stored, "bob") and \
                now_stored.get("alice", {}).get("step") == alice.last_step

        wait_for(both_written)
        records = stored(db, [alice, bob])
        show_stored("after room is made", records)
        checks.check("full-disk", answered_in_time([alice, bob]), f"every turn answered within {ANSWER_LIMIT:g} s")
        checks.check("full-disk", is_emergency(bob), "bob's red flag got the emergency number")
        checks.check("full-disk", has_emergency(records, "bob"),
                     "bob's emergency is written once there is room")
        checks.check("full-disk", records.get("alice", {}).get("step") == alice.last_step,
                     "alice's latest step is written once there is room")
        checks.summarise("full-disk", [bob], records)
    finally:
        skill.stop()


def case_read_only(work: Path, checks: Checks) -> None:
    mount_tmpfs(work, "4m")
    db = work / "state.sqlite3"
    skill = ServedSkill(db, work.parent / "read-only-skill.log").start()
    alice = Person(skill, "alice")
    alice.launch()
    skill.stop()  # alice's first step is on disk
    subprocess.run(["mount", "-o", "remount,ro", str(work)], check=True)
    print("    the file system is now read-only; the skill starts on it")
    skill = ServedSkill(db, work.parent / "read-only-skill.log").start()
    try:
        alice.skill = skill
        bob = Person(skill, "bob")
        alice.launch()
        bob.red_flag()
        health = skill.health()
        print(f"    /healthz: {health}")
        checks.check("read-only", health.get("status") == "degraded", "/healthz says degraded, with records waiting")
        checks.check("read-only", answered_in_time([alice, bob]), f"every turn answered within {ANSWER_LIMIT:g} s")
        checks.check("read-only", is_emergency(bob), "bob's red flag got the emergency number")
        subprocess.run(["mount", "-o", "remount,rw", str(work)], check=True)
        print("    the file system is writable again")
        wait_for(lambda: has_emergency(stored(db, [bob]), "bob"))
        records = stored(db, [alice, bob])
        show_stored("after it is writable", records)
        print(f"    /healthz: {skill.health()}")
        checks.check("read-only", has_emergency(records, "bob"),
                     "bob's emergency is written once the file system is writable, with no restart")
        checks.check("read-only", "alice" in records, "alice's saved progress is still there")
        checks.summarise("read-only", [bob], records)
    finally:
        skill.stop()


def case_deleted_file(work: Path, checks: Checks) -> None:
    db = work / "state.sqlite3"
    skill = ServedSkill(db, work / "skill.log").start()
    alice, bob, carol = Person(skill, "alice"), Person(skill, "bob"), Person(skill, "carol")
    try:
        alice.launch()
        carol.launch()  # and says nothing more
        for leftover in work.glob("state.sqlite3*"):
            leftover.unlink()
        print("    the database files are deleted while the skill runs")
        bob.red_flag()
        alice.say("AMAZON.NoIntent", label="no (to a red-flag question)")
        checks.check("deleted-file", is_emergency(bob), "bob's red flag got the emergency number")
    finally:
        skill.stop()
    print("    the skill restarts")
    skill = ServedSkill(db, work / "skill.log").start()
    alice.skill = skill
    try:
        records = stored(db, [alice, bob, carol])
        show_stored("after the restart", records)
        alice_after = Person(skill, "alice")
        alice_after.launch()
        checks.check("deleted-file", has_emergency(records, "bob"),
                     "bob's emergency, saved after the deletion, survived the restart")
        checks.check("deleted-file", records.get("alice", {}).get("step") == alice.last_step,
                     "alice's latest step survived the restart")
        checks.check("deleted-file", records.get("carol", {}).get("step") == carol.last_step,
                     "carol's step, saved before the deletion, was written into the new file")
        checks.summarise("deleted-file", [bob], records)
    finally:
        skill.stop()


def case_corrupt_file(work: Path, checks: Checks) -> None:
    db = work / "state.sqlite3"
    skill = ServedSkill(db, work / "skill.log").start()
    try:
        alice, bob = Person(skill, "alice"), Person(skill, "bob")
        alice.launch()
        damage = os.urandom(64 * 1024)
        db.write_bytes(damage)
        print("    random bytes are written over the database file while the skill runs")
        bob.launch()
        bob.red_flag()
        health = skill.health()
        print(f"    /healthz: {health}")
        copies = sorted(work.glob("state.sqlite3.damaged-*[0-9]"))
        checks.check("corrupt-file", answered_in_time([alice, bob]), f"every turn answered within {ANSWER_LIMIT:g} s")
        checks.check("corrupt-file", is_emergency(bob), "bob's red flag got the emergency number")
        checks.check("corrupt-file", health.get("status") == "degraded" and "damaged" in health.get("store", ""),
                     "/healthz says the file is damaged")
        checks.check("corrupt-file", bool(copies) and copies[0].read_bytes() == damage,
                     "a copy of the damaged file is kept for recovery")
    finally:
        skill.stop()
    checks.check("corrupt-file", db.read_bytes() == damage, "the damaged file was not written over, not even at exit")
    print("    the skill restarts on the damaged file")
    skill = ServedSkill(db, work / "skill.log").start()
    try:
        health = skill.health()
        print(f"    /healthz: {health}")
        carol = Person(skill, "carol")
        carol.red_flag()
        checks.check("corrupt-file", health.get("status") == "degraded", "it starts, degraded")
        checks.check("corrupt-file", is_emergency(carol), "carol's red flag got the emergency number")
        checks.check("corrupt-file", db.read_bytes() == damage, "the damaged file is still untouched")
    finally:
        skill.stop()
    checks.summarise("corrupt-file", [bob, carol], stored(db, [bob, carol]))


OUTSIDE_READER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0.5)
conn.execute(sys.argv[2])
try:
    print(conn.execute("SELECT count(*) FROM user_attributes").fetchone()[0])
except sqlite3.OperationalError as e:
    print(e)
conn.close()
"""


def read_from_outside(db: Path, mode: str) -> str:
    """An operator's `sqlite3 FILE 'select count(*) ...'` while the skill serves, as its own process."""
    result = subprocess.run([sys.executable, "-c", OUTSIDE_READER, str(db), f"PRAGMA locking_mode = {mode}"],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.strip() or result.stderr.strip()[-200:]


def case_outside_reader(work: Path, checks: Checks, mode: str = "NORMAL") -> None:
    case = "outside-reader" if mode == "NORMAL" else "exclusive-reader"
    db = work / "state.sqlite3"
    skill = ServedSkill(db, work / "skill.log").start()
    try:
        alice = Person(skill, "alice")
        alice.launch()
        print(f"    another process reads the file (locking_mode {mode}): {read_from_outside(db, mode)}")
        people = [Person(skill, f"user{n}") for n in range(1, 6)]
        bob = Person(skill, "bob")
        for person in people:
            person.launch()
        bob.red_flag()
        wait_for(lambda: len(stored(db, [alice, bob, *people])) == 7)
    finally:
        skill.stop()
    records = stored(db, [alice, bob, *people])
    show_stored("after the skill stops", records)
    checks.check(case, is_emergency(bob), "bob's red flag got the emergency number")
    checks.check(case, len(records) == 7, "all 7 records, saved after the outside read, are in the file")
    checks.check(case, has_emergency(records, "bob"), "bob's emergency is kept")
    checks.summarise(case, [bob], records)


def case_exclusive_reader(work: Path, checks: Checks) -> None:
    case_outside_reader(work, checks, mode="EXCLUSIVE")


def set_immutable(path: Path, immutable: bool) -> bool:
    result = subprocess.run(["chattr", "+i" if immutable else "-i", str(path)], capture_output=True, text=True)
    return result.returncode == 0


def case_immutable_shm(work: Path, checks: Checks) -> None:
    db = work / "state.sqlite3"
    shm = work / "state.sqlite3-shm"
    skill = ServedSkill(db, work / "skill.log").start()
    alice, bob = Person(skill, "alice"), Person(skill, "bob")
    people = [Person(skill, f"user{n:02}") for n in range(1, 31)]
    try:
        alice.launch()
        if not (shutil.which("chattr") and set_immutable(shm, True)):
            checks.check("immutable-shm", False, "the -shm file could not be made immutable (chattr, CAP_LINUX_IMMUTABLE)")
            return
        print("    the -shm file is made immutable while the skill runs")
        try:
            for person in people:  # enough turns to need more shared memory (where the SIGBUS came)
                person.launch()
            bob.red_flag()
            health = skill.health()
            print(f"    /healthz: {health}")
            checks.check("immutable-shm", skill.process.poll() is None, "the skill is still running")
            checks.check("immutable-shm", is_emergency(bob), "bob's red flag got the emergency number")
            checks.check("immutable-shm", health.get("status") == "degraded", "/healthz says degraded")
        finally:
            set_immutable(shm, False)
        print("    the -shm file can be written again")
        wait_for(lambda: has_emergency(stored(db, [bob]), "bob"))
        records = stored(db, [alice, bob, *people])
        show_stored("after it can be written", records)
        checks.check("immutable-shm", has_emergency(records, "bob"), "bob's emergency is written, with no restart")
        checks.check("immutable-shm", "alice" in records, "alice's saved progress is still there")
    finally:
        set_immutable(shm, False)
        skill.stop()
    checks.summarise("immutable-shm", [bob], stored(db, [bob]))


def case_wal_truncated(work: Path, checks: Checks) -> None:
    db = work / "state.sqlite3"
    wal = work / "state.sqlite3-wal"
    skill = ServedSkill(db, work / "skill.log").start()
    bob = Person(skill, "bob")
    try:
        people = [Person(skill, f"user{n:02}") for n in range(1, 21)]
        for person in people:
            person.launch()
        os.truncate(wal, wal.stat().st_size // 2)
        print("    the -wal file is cut in half while the skill runs")
        bob.red_flag()
        health = skill.health()
        print(f"    /healthz: {health}")
        copies = sorted(work.glob("state.sqlite3.damaged-*[0-9]-wal"))
        checks.check("wal-truncated", is_emergency(bob), "bob's red flag got the emergency number")
        checks.check("wal-truncated", health.get("status") == "degraded" and "damaged" in health.get("store", ""),
                     "/healthz says the file is damaged")
        checks.check("wal-truncated", bool(copies), "a copy of the damaged files is kept for recovery")
    finally:
        skill.stop()
    checks.summarise("wal-truncated", [bob], stored(db, [bob]))


def case_fresh_start(work: Path, checks: Checks, workers: int = 4) -> None:
    """Several servers (as gunicorn's workers do) open the same new file at the same moment."""
    db = work / "state.sqlite3"
    skills = [ServedSkill(db, work / f"skill{n}.log") for n in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(ServedSkill.start, skills))
    flagged = [Person(skill, f"redflag{n}") for n, skill in enumerate(skills)]
    try:
        healths = [skill.health() for skill in skills]
        print(f"    /healthz of the {workers} servers: {healths}")
        for person in flagged:
            person.red_flag()
        wait_for(lambda: len(stored(db, flagged)) == workers)
        checks.check("fresh-start", all(h.get("status") == "ok" for h in healths), f"all {workers} servers have the store")
        checks.check("fresh-start", all(p.red_flag_answered for p in flagged), "every red flag got the emergency number")
    finally:
        for skill in skills:
            skill.stop()
    records = stored(db, flagged)
    show_stored("after the servers stop", records)
    checks.check("fresh-start", all(has_emergency(records, p.name) for p in flagged), "every emergency is kept")
    checks.summarise("fresh-start", flagged, records)


def journal_holds_no_raw_ids(db: Path, people: list[Person]) -> bool:
    """What the journal beside the database keeps names people by user key, never by Alexa id."""
    journal = Path(f"{db}.pending")
    entries = sorted(journal.glob("*.json")) if journal.is_dir() else []
    print(f"    journal: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} waiting in {journal.name}")
    return not any(p.user_id in entry.read_text() or p.user_id in entry.name for entry in entries for p in people)


def crash_after_red_flags(skill: ServedSkill, db: Path, checks: Checks, case: str) -> list[Person]:
    """Three people say a red flag; a second later the skill is killed. Returns them."""
    flagged = [Person(skill, f"flag{n}") for n in range(1, 4)]
    with ThreadPoolExecutor(len(flagged)) as pool:
        list(pool.map(Person.red_flag, flagged))
    time.sleep(1.0)
    checks.check(case, journal_holds_no_raw_ids(db, flagged), "no raw user id in the journal")
    skill.crash()
    print("    the skill is killed (SIGKILL) a second after the answers")
    checks.check(case, answered_in_time(flagged), f"every red flag answered within {ANSWER_LIMIT:g} s")
    checks.check(case, all(map(is_emergency, flagged)), "every red flag got the emergency number")
    return flagged


def restart_and_check_kept(skill: ServedSkill, db: Path, flagged: list[Person], checks: Checks, case: str) -> None:
    """The skill restarts: every emergency is stored, and the next launch reminds of it."""
    skill.start()
    try:
        wait_for(lambda: all(has_emergency(stored(db, flagged), p.name) for p in flagged))
        records = stored(db, flagged)
        show_stored("after the restart", records)
        kept = sum(has_emergency(records, p.name) for p in flagged)
        print(f"    emergencies kept: {kept} of {len(flagged)}")
        checks.check(case, kept == len(flagged), "every emergency is stored after the restart")
        checks.summarise(case, flagged, records)
        back = flagged[0]
        back.skill = skill
        back.launch()
        checks.check(case, "emergency.reminder" in back.last_keys.say,
                     f"{back.name}'s next launch reminds of the emergency")
    finally:
        skill.stop()


def case_kill_under_lock(work: Path, checks: Checks) -> None:
    db = work / "state.sqlite3"
    skill = ServedSkill(db, work / "skill.log").start()
    warmup = Person(skill, "warmup")
    warmup.launch()
    print("    another process takes the write lock")
    holder = hold_exclusive_lock(db, 120)
    try:
        flagged = crash_after_red_flags(skill, db, checks, "kill-under-lock")
        show_stored("after the kill, the lock still held", stored(db, [warmup, *flagged]))
    finally:
        skill.stop()
        holder.kill()  # the lock goes with its holder
        holder.wait()
    print("    the lock is released; the skill restarts")
    restart_and_check_kept(skill, db, flagged, checks, "kill-under-lock")


def case_deleted_folder(work: Path, checks: Checks) -> None:
    data = work / "data"
    db = data / "state.sqlite3"
    skill = ServedSkill(db, work / "skill.log").start()
    try:
        Person(skill, "warmup").launch()
        shutil.rmtree(data)
        print("    the data folder (database and journal) is deleted while the skill runs")
        flagged = crash_after_red_flags(skill, db, checks, "deleted-folder")
    finally:
        skill.stop()
    print("    the skill restarts")
    restart_and_check_kept(skill, db, flagged, checks, "deleted-folder")


# --------------------------------------------------------------------------- the file system

def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)


def fill(where: Path) -> Path:
    filler = where / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 512, 1):  # big chunks, then the last few bytes
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def in_private_mount_namespace() -> bool:
    return os.environ.get(IN_NAMESPACE) == "1"


CASES = {
    "lock": case_lock,
    "full-disk": case_full_disk,
    "read-only": case_read_only,
    "deleted-file": case_deleted_file,
    "corrupt-file": case_corrupt_file,
    "kill-under-lock": case_kill_under_lock,
    "deleted-folder": case_deleted_folder,
    "outside-reader": case_outside_reader,
    "exclusive-reader": case_exclusive_reader,
    "immutable-shm": case_immutable_shm,
    "wal-truncated": case_wal_truncated,
    "fresh-start": case_fresh_start,
}
NEEDS_OWN_FILE_SYSTEM = {"full-disk", "read-only"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"which cases to run (default: all): {', '.join(CASES)}")
    parser.add_argument("--lock-seconds", type=float, default=10.0, help="how long the lock is held (default 10)")
    parser.add_argument("--results-to", help=argparse.SUPPRESS)  # the namespaced run hands its results back here
    args = parser.parse_args(argv)
    chosen = args.cases or list(CASES)
    unknown = [name for name in chosen if name not in CASES]
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)} (there are: {', '.join(CASES)})")

    checks = Checks()
    not_run: list[str] = []
    own_file_system = [name for name in chosen if name in NEEDS_OWN_FILE_SYSTEM]
    if own_file_system and not in_private_mount_namespace() and shutil.which("unshare"):
        # Those cases run in a private mount namespace where a tmpfs may be mounted without privileges; the rest
        # run here, where the process keeps its own capabilities (chattr needs them).
        run_in_namespace(own_file_system, args.lock_seconds, checks, not_run)
        chosen = [name for name in chosen if name not in NEEDS_OWN_FILE_SYSTEM]
    run_cases(chosen, args.lock_seconds, checks, not_run)
    if args.results_to:
        Path(args.results_to).write_text(json.dumps({"failed": checks.failed, "rows": checks.rows, "not_run": not_run}))
        return 0
    print()
    checks.print_table()
    print()
    if checks.failed:
        print(f"{len(checks.failed)} check(s) failed:")
        for failure in checks.failed:
            print(f"  {failure}")
    if not_run:
        print(f"not run: {', '.join(not_run)}")
    if not checks.failed and not not_run:
        print("every check passed")
    return 1 if checks.failed or not_run else 0


def run_in_namespace(cases: list[str], lock_seconds: float, checks: Checks, not_run: list[str]) -> None:
    with tempfile.NamedTemporaryFile(prefix="bsc-faults-", suffix=".json") as results:
        command = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private",
                   sys.executable, "-m", "simulator.faults", *cases, "--lock-seconds", str(lock_seconds),
                   "--results-to", results.name]
        subprocess.run(command, env={**os.environ, IN_NAMESPACE: "1"}, cwd=PROJECT_ROOT)
        try:
            handed_back = json.loads(Path(results.name).read_text() or "{}")
        except ValueError:
            handed_back = {}
    if not handed_back:
        checks.check(", ".join(cases), False, "the run in a private mount namespace broke before reporting")
        return
    checks.failed += handed_back["failed"]
    checks.rows += [tuple(row) for row in handed_back["rows"]]
    not_run += handed_back["not_run"]


def run_cases(cases: list[str], lock_seconds: float, checks: Checks, not_run: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bsc-faults-") as tmp:
        for name in cases:
            print(f"\n== {name}", flush=True)
            if name in NEEDS_OWN_FILE_SYSTEM and not in_private_mount_namespace():
                print("    not run: needs a file system of its own (unshare from util-linux)")
                not_run.append(name)
                continue
            work = Path(tmp) / name
            work.mkdir()
            try:
                if name == "lock":
                    CASES[name](work, checks, lock_seconds)
                else:
                    CASES[name](work, checks)
            except Exception as exc:  # noqa: BLE001 - report the case as failed and go on with the next
                checks.check(name, False, f"the case itself broke: {type(exc).__name__}: {exc}")
            finally:
                if name in NEEDS_OWN_FILE_SYSTEM:
                    subprocess.run(["umount", "--lazy", str(work)], check=False, stderr=subprocess.DEVNULL)
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
