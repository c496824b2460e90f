"""The SQLite backend: the shared persistence contract, plus what only a file on disk can get wrong."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from envelopes import launch
from skill.storage import SQLITE_BUSY_TIMEOUT, open_store
from skill.storage import sqlite as sqlite_store
from skill.storage.sqlite import SCHEMA_VERSION, SQLitePersistenceAdapter
from storage_contract import ALICE, BOB, PersistenceAdapterContract, closed_after, request_for


@pytest.fixture
def path(tmp_path):
    return tmp_path / "var" / "progress.sqlite3"  # parent folder does not exist yet


@pytest.fixture
def make_adapter(path):
    yield from closed_after(lambda **kw: SQLitePersistenceAdapter(str(path), **kw))


def raw(path):
    """A plain connection for poking at the file behind the adapter's back."""
    return sqlite3.connect(str(path), isolation_level=None, timeout=0.05)


def key(user_id):
    return hashlib.sha256(user_id.encode()).hexdigest()


class TestSQLiteAdapterHonoursTheContract(PersistenceAdapterContract):
    pass  # make_adapter comes from the module fixture above


# --- the file itself -------------------------------------------------------------------------

def test_saved_progress_survives_reopening_the_file(make_adapter):
    make_adapter().save_attributes(request_for(ALICE), {"streak": 4})
    assert make_adapter().get_attributes(request_for(ALICE)) == {"streak": 4}


def test_open_store_opens_the_configured_file(path):
    store = open_store({"DB_PATH": str(path)})
    try:
        store.save_attributes(request_for(ALICE), {"streak": 1})
    finally:
        store.close()
    assert path.exists()


def test_the_database_runs_in_wal_mode(make_adapter, path):
    make_adapter()
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_file_never_holds_the_raw_user_id(make_adapter, path):
    adapter = make_adapter()
    adapter.save_attributes(request_for(ALICE), {"streak": 1})
    on_disk = b"".join(p.read_bytes() for p in path.parent.iterdir())  # db, -wal, -shm
    assert ALICE.encode() not in on_disk and b"ALICE" not in on_disk
    with raw(path) as conn:
        assert conn.execute("SELECT user_key FROM user_attributes").fetchall() == [(key(ALICE),)]


def test_deleting_a_user_erases_their_data_from_every_file_the_store_writes(make_adapter, path):
    """"Delete my data" and SkillDisabled: nothing of the person stays on disk, not in the -wal file either
    (before this was fixed, the WAL still held the user's hash and their emergency record)."""
    adapter = make_adapter()
    record = {"last_emergency": {"tier": 1, "reason": "t1_legs"}, "step": "emergency"}
    for n in range(5):  # several saves: several old copies of the row in the WAL
        adapter.save_attributes(request_for(ALICE), {**record, "turn": n})
    adapter.save_attributes(request_for(BOB), {"step": "rest"})
    adapter.delete_attributes(request_for(ALICE))
    on_disk = b"".join(p.read_bytes() for p in path.parent.iterdir())  # db, -wal, -shm
    for trace in (key(ALICE).encode(), b"last_emergency", b"t1_legs"):
        assert trace not in on_disk, trace
    assert adapter.get_attributes(request_for(BOB)) == {"step": "rest"}  # everyone else is kept


def test_a_database_file_deleted_while_open_is_noticed_and_every_record_is_kept(make_adapter, path):
    """Before the first fix the open connection kept writing to the unlinked file: after a restart, what was saved
    since (an emergency record, in the issue) was gone. Before the second, what was saved before the deletion was
    gone: the people who had not spoken since lost their progress (issue 22: records written again)."""
    adapter = make_adapter()
    adapter.save_attributes(request_for(ALICE), {"step": "rest"})
    adapter.save_attributes(request_for(BOB), {"step": "screen_saddle"})
    for leftover in path.parent.iterdir():
        leftover.unlink()
    adapter.save_attributes(request_for(BOB), {"last_emergency": {"tier": 1}})
    adapter.close()
    restarted = SQLitePersistenceAdapter(str(path))
    assert restarted.get_attributes(request_for(BOB)) == {"last_emergency": {"tier": 1}}  # the newer record wins
    assert restarted.get_attributes(request_for(ALICE)) == {"step": "rest"}  # read back from the deleted file


def test_the_session_user_id_is_used_when_the_context_has_none(make_adapter):
    adapter = make_adapter()
    env = launch(user_id=ALICE)
    del env["context"]["System"]["user"]
    adapter.save_attributes(DefaultSerializer().deserialize(json.dumps(env), RequestEnvelope), {"streak": 2})
    assert adapter.get_attributes(request_for(ALICE)) == {"streak": 2}  # same key as via the context


def test_rows_record_their_schema_version_and_keep_their_creation_time(make_adapter, path):
    adapter = make_adapter()
    adapter.save_attributes(request_for(ALICE), {"streak": 1})
    with raw(path) as conn:
        first = conn.execute("SELECT data_version, created_at, updated_at FROM user_attributes").fetchone()
    adapter.save_attributes(request_for(ALICE), {"streak": 2})
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        version, created, updated = conn.execute("SELECT data_version, created_at, updated_at FROM user_attributes").fetchone()
    assert version == first[0] == SCHEMA_VERSION
    assert created == first[1] and updated >= first[2] >= created


# --- schema versions -------------------------------------------------------------------------

def test_a_file_from_a_newer_release_is_refused_with_a_clear_message(make_adapter, path):
    make_adapter().close()
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(PersistenceException, match=rf"schema version {SCHEMA_VERSION + 1}, newer than .*upgrade the skill"):
        make_adapter()


def test_opening_an_older_file_runs_only_the_missing_migrations(make_adapter, path, monkeypatch):
    make_adapter().save_attributes(request_for(ALICE), {"streak": 5})
    ran = []

    def to_v2(conn):
        ran.append(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute("ALTER TABLE user_attributes ADD COLUMN region TEXT")

    monkeypatch.setattr(sqlite_store, "MIGRATIONS", [*sqlite_store.MIGRATIONS, to_v2])
    monkeypatch.setattr(sqlite_store, "SCHEMA_VERSION", 2)
    assert make_adapter().get_attributes(request_for(ALICE)) == {"streak": 5}
    make_adapter()  # already at version 2: nothing runs again
    assert ran == [1]
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


def test_a_failed_migration_leaves_the_file_at_its_old_version(make_adapter, path, monkeypatch):
    make_adapter().save_attributes(request_for(ALICE), {"streak": 5})

    def broken_v2(conn):
        conn.execute("ALTER TABLE user_attributes ADD COLUMN region TEXT")
        conn.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(sqlite_store, "MIGRATIONS", [*sqlite_store.MIGRATIONS, broken_v2])
    monkeypatch.setattr(sqlite_store, "SCHEMA_VERSION", 2)
    with pytest.raises(PersistenceException, match="no_such_table"):
        make_adapter()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "region" not in [c[1] for c in conn.execute("PRAGMA table_info(user_attributes)")]


# --- broken, busy and read-only files ----------------------------------------------------------

def test_a_corrupt_file_is_reported_as_a_persistence_error(make_adapter, path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database, just garbage " * 200)
    with pytest.raises(PersistenceException, match="not a database") as caught:
        make_adapter()
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_a_directory_where_the_file_should_be_is_reported_as_a_persistence_error(make_adapter, path):
    path.mkdir(parents=True)
    with pytest.raises(PersistenceException, match="Is a directory"):
        make_adapter()


def test_a_parent_folder_that_cannot_be_created_is_reported_as_a_persistence_error(tmp_path):
    (tmp_path / "var").write_text("a file, not a folder")
    with pytest.raises(PersistenceException) as caught:
        SQLitePersistenceAdapter(str(tmp_path / "var" / "progress.sqlite3"))
    assert isinstance(caught.value.__cause__, OSError)


@pytest.mark.parametrize("stored", ['{"streak": 1', '[1, 2]', "null"], ids=["truncated", "list", "null"])
def test_a_corrupt_row_is_reported_not_read_as_empty(make_adapter, path, stored):
    adapter = make_adapter()
    adapter.save_attributes(request_for(ALICE), {"streak": 1})
    with raw(path) as conn:
        conn.execute("UPDATE user_attributes SET data = ?", (stored,))
    with pytest.raises(PersistenceException):
        adapter.get_attributes(request_for(ALICE))


def test_a_locked_database_fails_the_save_and_keeps_the_previous_row(make_adapter, path):
    adapter = make_adapter(timeout=0.05)
    adapter.save_attributes(request_for(ALICE), {"streak": 1})
    other = raw(path)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(PersistenceException, match="locked") as caught:
            adapter.save_attributes(request_for(ALICE), {"streak": 2})
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert adapter.get_attributes(request_for(ALICE)) == {"streak": 1}  # WAL: readers are not blocked
    finally:
        other.execute("ROLLBACK")
        other.close()
    adapter.save_attributes(request_for(ALICE), {"streak": 2})  # and the adapter recovers
    assert adapter.get_attributes(request_for(ALICE)) == {"streak": 2}


def test_a_database_locked_exclusively_at_start_up_is_reported_as_a_persistence_error(make_adapter, path):
    make_adapter().close()
    other = raw(path)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")  # in WAL, only this shuts out readers too
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(PersistenceException, match="locked"):
            make_adapter(timeout=0.05)
    finally:
        other.close()
    assert make_adapter().get_attributes(request_for(ALICE)) == {}


def test_a_read_only_database_fails_saves_with_a_persistence_error(make_adapter, path):
    make_adapter().save_attributes(request_for(ALICE), {"streak": 1})  # stays open: keeps -wal/-shm around

    class ReadOnly(SQLitePersistenceAdapter):
        def _open(self):
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)

    read_only = ReadOnly(str(path))
    try:
        assert read_only.get_attributes(request_for(ALICE)) == {"streak": 1}
        with pytest.raises(PersistenceException, match="readonly") as caught:
            read_only.save_attributes(request_for(ALICE), {"streak": 2})
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        with pytest.raises(PersistenceException, match="readonly"):
            read_only.delete_attributes(request_for(ALICE))
    finally:
        read_only.close()
    assert make_adapter().get_attributes(request_for(ALICE)) == {"streak": 1}


def test_a_write_failing_inside_the_transaction_keeps_the_previous_row(make_adapter, path):
    adapter = make_adapter()
    adapter.save_attributes(request_for(ALICE), {"streak": 1})
    with raw(path) as conn:  # the upsert itself fails mid-write, as a full disk would
        conn.execute("CREATE TRIGGER fail_updates AFTER UPDATE ON user_attributes "
                     "BEGIN SELECT RAISE(FAIL, 'disk full, pretend'); END")
    with pytest.raises(PersistenceException, match="disk full, pretend"):
        adapter.save_attributes(request_for(ALICE), {"streak": 2})
    assert adapter.get_attributes(request_for(ALICE)) == {"streak": 1}
    with raw(path) as conn:
        conn.execute("DROP TRIGGER fail_updates")
    adapter.save_attributes(request_for(ALICE), {"streak": 2})
    assert adapter.get_attributes(request_for(ALICE)) == {"streak": 2}


# --- concurrency ------------------------------------------------------------------------------

def test_concurrent_saves_from_many_threads_and_two_adapters_all_land(make_adapter):
    adapters = [make_adapter(), make_adapter()]  # two connections on one file, as two processes would have
    threads, writes = 8, 40
    start = threading.Barrier(threads)

    def worker(t):
        start.wait()
        for i in range(writes):
            adapters[(t + i) % 2].save_attributes(request_for(f"user-{t}-{i}"), {"t": t, "i": i})
            adapters[i % 2].save_attributes(request_for(f"user-{t}"), {"last": i})  # one hot row per thread

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker, t) for t in range(threads)]:
            future.result()  # re-raises any worker failure

    reader = make_adapter()
    for t in range(threads):
        assert reader.get_attributes(request_for(f"user-{t}")) == {"last": writes - 1}
        for i in range(writes):
            assert reader.get_attributes(request_for(f"user-{t}-{i}")) == {"t": t, "i": i}


# --- other processes reading the file (issue 22) ------------------------------------------------

def another_process(path, sql: str, first: str = "SELECT 1") -> str:
    """Runs ``first`` then ``sql`` in a separate process, as `sqlite3 FILE 'select ...'` does: POSIX locks are per
    process, so only another process can see whether the skill still holds its locks on the file."""
    import subprocess
    import sys

    script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0.2); c.execute(sys.argv[2])\n"
              "try: print(c.execute(sys.argv[3]).fetchall())\nexcept sqlite3.OperationalError as e: print(e)\nc.close()")
    return subprocess.run([sys.executable, "-c", script, str(path), first, sql], check=True, capture_output=True,
                          text=True, timeout=30).stdout


@pytest.mark.parametrize("reader_mode", ["PRAGMA locking_mode = NORMAL", "PRAGMA locking_mode = EXCLUSIVE"])
def test_a_reader_in_another_process_costs_no_save_made_after_it(make_adapter, path, reader_mode):
    """Before the fix the store's own file check opened and closed the database on every call, which dropped the
    process's POSIX locks: an outside reader then believed it was the last connection, checkpointed and deleted
    the -wal and -shm files, and every later save (emergencies too) went to deleted files: 1 of 7 rows kept.
    A reader in locking_mode EXCLUSIVE did the same."""
    adapter = make_adapter()
    adapter.save_attributes(request_for(ALICE), {"step": "rest"})
    another_process(path, "SELECT count(*) FROM user_attributes", first=reader_mode)
    people = [f"amzn1.ask.account.READER{n}" for n in range(6)]
    for person in people:
        adapter.save_attributes(request_for(person), {"last_emergency": {"tier": 1}})
    counted = another_process(path, "SELECT count(*) FROM user_attributes")
    assert counted.strip() == "[(7,)]", counted


def test_a_worker_opening_a_new_file_another_worker_is_creating_gets_the_store(make_adapter, path):
    """gunicorn starts its workers at once and each opens the store; the first to open a new file holds it while it
    turns on WAL mode and creates the table. Before the fix, one in 14 fresh starts left a worker with "database is
    locked": it ran without a store for 30 s, telling people their progress could not be reached. The first worker
    is played here by a connection that holds the new file's write lock for a moment."""
    path.parent.mkdir(parents=True)
    first = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    first.execute("BEGIN IMMEDIATE")
    first.execute("CREATE TABLE being_created (x)")
    threading.Timer(3 * SQLITE_BUSY_TIMEOUT, first.execute, ("COMMIT",)).start()
    try:
        adapter = make_adapter(timeout=SQLITE_BUSY_TIMEOUT)  # as open_store opens it
    finally:
        threading.Timer(4 * SQLITE_BUSY_TIMEOUT, first.close).start()
    adapter.save_attributes(request_for(ALICE), {"step": "rest"})
    assert adapter.get_attributes(request_for(ALICE)) == {"step": "rest"}


def test_opening_the_file_clears_old_copies_of_an_erased_row_from_the_wal(make_adapter, path):
    """A deletion whose WAL truncation a reader held off, then the process killed before it was retried: the erased
    row's old copies stayed in the WAL after the restart (issue 22, finding 9)."""
    adapter = make_adapter()
    for n in range(3):
        adapter.save_attributes(request_for(ALICE), {"last_emergency": {"tier": 1}, "turn": n})
    reader = raw(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM user_attributes").fetchone()  # holds a snapshot: the WAL can't be cut
    with pytest.raises(PersistenceException):
        adapter.delete_attributes(request_for(ALICE))  # "not yet erased": a reader holds older copies
    reader.execute("COMMIT")
    reader.close()
    # (the process is killed here: nothing retries the truncation) ... and the skill starts again
    make_adapter()
    on_disk = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert key(ALICE).encode() not in on_disk and b"last_emergency" not in on_disk
