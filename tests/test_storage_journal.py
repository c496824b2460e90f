"""The journal (skill/storage/journal.py) on real files, with real processes killed by SIGKILL: what the skill
answered on without waiting for the store is on the disk, and only ever written by one process."""

from __future__ import annotations

import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.faults import hold_exclusive_lock
from skill.storage import KnownUser, open_store
from skill.storage.journal import Journal

ROOT = Path(__file__).resolve().parent.parent
KEY = "a" * 64
OTHER_KEY = "b" * 64

# A process that journals a record, says so, and waits to be killed.
KEEPER = """
import sys, time
from skill.storage.journal import Journal
Journal(sys.argv[1]).keep(sys.argv[2], {"guide": {"step": "emergency"}})
print("kept", flush=True)
time.sleep(60)
"""


def keeper(folder: Path, key: str = KEY) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", KEEPER, str(folder), key], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "kept"
    return process


def killed(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_the_entries_of_a_process_killed_9_are_adopted_by_one_starting_process_only(tmp_path):
    folder = tmp_path / "pending"
    killed(keeper(folder))
    first, second = Journal(folder), Journal(folder)  # two workers starting on one folder
    adopted = first.adopt() + second.adopt()
    assert [(entry.user_key, entry.attributes) for entry in adopted] == [(KEY, {"guide": {"step": "emergency"}})]
    assert second.adopt() == []  # the first one's entry: its owner lives
    assert len(list(folder.glob("*.lock"))) == 2  # the dead owner's lock file is gone, the living ones' kept


def test_the_entries_of_a_living_process_are_left_to_it_but_readable_by_others(tmp_path):
    folder = tmp_path / "pending"
    alive = keeper(folder)
    try:
        other = Journal(folder)
        assert other.adopt() == []
        assert other.newest(KEY) == {"guide": {"step": "emergency"}}  # another worker's, waiting for the store
        assert other.newest(OTHER_KEY) is None
    finally:
        killed(alive)
    assert [entry.user_key for entry in Journal(folder).adopt()] == [KEY]


def test_a_persons_entries_are_erased_whoever_wrote_them(tmp_path):
    folder = tmp_path / "pending"
    alive = keeper(folder)
    try:
        journal = Journal(folder)
        journal.keep(KEY, {"guide": {}})
        journal.keep(OTHER_KEY, {"guide": {}})
        journal.erase(KEY)
        assert journal.newest(KEY) is None and journal.newest(OTHER_KEY) == {"guide": {}}
    finally:
        killed(alive)


def test_entries_deleted_with_their_folder_are_written_again_and_a_crash_keeps_them(tmp_path):
    folder = tmp_path / "data" / "pending"
    journal = Journal(folder)
    entry = journal.keep(KEY, {"guide": {"step": "emergency"}})
    shutil.rmtree(tmp_path / "data")  # the data folder is deleted while serving
    journal.rewrite_if_missing([entry])
    assert Path(entry.path).exists() and list(folder.glob("*.lock"))
    assert Journal(folder).adopt() == []  # the lock was taken again too: still this process's entry
    journal.forget([entry])
    assert list(folder.glob("*.json")) == []


def test_a_partly_written_entry_of_a_dead_process_is_dropped_and_a_damaged_one_set_aside(tmp_path):
    folder = tmp_path / "pending"
    folder.mkdir()
    (folder / f"123-dead.{KEY}.1.json.partial").write_text('{"user_key": ')
    (folder / f"123-dead.{OTHER_KEY}.2.json").write_text("not json")
    assert Journal(folder).adopt() == []
    assert [p.name.split(".", 1)[1] for p in folder.iterdir() if not p.name.endswith(".lock")] == [
        f"{OTHER_KEY}.2.json.unreadable"]


def test_keeping_a_record_takes_milliseconds(tmp_path):
    """What a red flag pays for the journal: a record of the usual size written and fsynced (file and folder)."""
    journal = Journal(tmp_path / "pending")
    record = {"guide": {"step": "emergency", "trail": ["screen_saddle"] * 40, "notes": "x" * 2000}}
    seconds = []
    for _ in range(40):
        started = time.perf_counter()
        journal.keep(KEY, record)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    p50, p95 = statistics.median(seconds), seconds[int(len(seconds) * 0.95)]
    print(f"journal keep: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {seconds[-1] * 1000:.1f} ms")
    assert p50 < 0.05


@pytest.mark.slow
def test_an_emergency_queued_under_a_lock_is_written_by_the_next_start_after_a_kill_9(tmp_path):
    """The store's own view of the kill -9 case: the journaled record, and only it, reaches the file; the
    journal is empty afterwards."""
    path = tmp_path / "state.sqlite3"
    open_store({"DB_PATH": str(path)}).close()
    holder = hold_exclusive_lock(str(path), 60)
    child = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             stderr=subprocess.DEVNULL)
    try:
        assert child.stdout.readline().strip() == "answered"
    finally:
        killed(child)
        killed(holder)
    store = open_store({"DB_PATH": str(path)})
    try:
        assert store.flush(timeout=5)
        assert store.store.get_attributes(KnownUser(KEY)) == {"guide": {"step": "emergency"}}
        assert list(Path(f"{path}.pending").glob("*.json")) == []
    finally:
        store.close()


SAVER = f"""
import sys
from skill.storage import KnownUser, open_store
store = open_store({{"DB_PATH": sys.argv[1]}})
store.save_soon(KnownUser({KEY!r}), {{"guide": {{"step": "emergency"}}}})
print("answered", flush=True)
import time; time.sleep(60)
"""
