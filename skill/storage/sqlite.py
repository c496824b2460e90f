"""SQLite persistence adapter: one row of JSON attributes per (hashed) Alexa user.

Every failure leaves as ``PersistenceException`` (cause chained): the skill catches that one
type to tell the user their progress could not be saved, so nothing else may escape.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager, suppress

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.storage import NotYetErased, StoreBusy, user_key


log = logging.getLogger(__name__)

def _create_v1(conn):
    conn.execute(
        "CREATE TABLE user_attributes ("
        " user_key TEXT PRIMARY KEY,"  # sha256 hex of the Alexa userId: raw ids are never stored
        " data TEXT NOT NULL,"  # the attributes as a JSON object
        " data_version INTEGER NOT NULL,"  # SCHEMA_VERSION the row was written under
        " created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL)"
    )


# MIGRATIONS[n] takes a file from schema version n to n + 1 (0 = brand-new file); the version
# lives in PRAGMA user_version, which is transactional. Schema version 2 = append one function.
MIGRATIONS = [_create_v1]
SCHEMA_VERSION = len(MIGRATIONS)

_SQLITE_HEADER = b"SQLite format 3\x00"

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_UPSERT = (
    "INSERT INTO user_attributes (user_key, data, data_version, created_at, updated_at)"
    f" VALUES (?, ?, ?, {_NOW}, {_NOW})"
    " ON CONFLICT (user_key) DO UPDATE SET"
    " data = excluded.data, data_version = excluded.data_version, updated_at = excluded.updated_at"
)


class SQLitePersistenceAdapter(AbstractPersistenceAdapter):
    """ask-sdk persistence adapter over one SQLite file (WAL mode).

    Threads: a small pool of connections, each used by one call at a time. No lock is held while a
    statement runs, so a call that waits on SQLite's busy timeout (another process holds the write
    lock) never makes another thread's call wait behind it, and in WAL mode reads go on while the
    file is locked for writing. Connections are kept open between calls (closing the last one would
    checkpoint and delete the WAL every time) and a thread-per-request server leaves no connection
    per dead thread behind. Processes (or other adapters) are coordinated by SQLite's file locks
    plus the busy timeout.
    """

    IDLE_CONNECTIONS = 4  # kept open between calls; more are opened under load and closed after

    def __init__(self, path: str, timeout: float = 2.0):
        self.path = os.fspath(path)
        # Short on purpose: Alexa gives the whole request ~8 s; better "could not save" than silence.
        self.timeout = timeout
        self._lock = threading.Lock()  # guards the pool and the file's identity; never held during a statement
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._inode = None  # (device, inode) of the file the pool opened: a deleted file is noticed
        self._generation = 0  # bumped when the file is replaced: connections of older generations are closed
        self._damaged = None  # (device, inode) of a file found damaged: left alone until it is replaced
        self._quarantined: list[sqlite3.Connection] = []  # connections to it, never closed (see _retire)
        self.problem: str | None = None  # what is wrong with the file, for /healthz
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            with self._connection("open"):
                pass  # opens the file and brings its schema up to date
        except OSError as e:
            raise PersistenceException(f"Could not open the SQLite database {self.path}: {e}") from e
        except PersistenceException:
            self.close()  # e.g. a too-new schema: don't leave connections to the GC
            raise

    def get_attributes(self, request_envelope) -> dict:
        key = user_key(request_envelope)
        with self._connection("read attributes from") as conn:
            row = conn.execute("SELECT data FROM user_attributes WHERE user_key = ?", (key,)).fetchone()
        if row is None:
            return {}
        try:
            data = json.loads(row[0])
        except (TypeError, ValueError) as e:
            raise PersistenceException(f"Stored attributes in {self.path} are not valid JSON") from e
        if not isinstance(data, dict):  # never hand the skill a corrupt row as if it were empty
            raise PersistenceException(f"Stored attributes in {self.path} are not a JSON object")
        return data

    def save_attributes(self, request_envelope, attributes) -> None:
        key = user_key(request_envelope)
        if not isinstance(attributes, dict):
            raise PersistenceException(f"Attributes must be a dict, not {type(attributes).__name__}")
        try:  # serialise before touching the database, so a bad value never costs the stored one
            data = json.dumps(attributes, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError) as e:
            raise PersistenceException(f"Attributes cannot be stored as JSON: {e}") from e
        with self._connection("save attributes to") as conn, self._transaction(conn):
            conn.execute(_UPSERT, (key, data, SCHEMA_VERSION))

    def delete_attributes(self, request_envelope) -> None:
        key = user_key(request_envelope)
        with self._connection("delete attributes from") as conn:
            # A single statement outside BEGIN is its own atomic transaction. secure_delete (set at open)
            # zeroes the row where it stood; older copies of it live on in the WAL until a checkpoint, so
            # the WAL is copied back and truncated now: erased means erased from every file.
            conn.execute("DELETE FROM user_attributes WHERE user_key = ?", (key,))
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            # A reader's transaction still needs the WAL's older pages, copies of the record among them: the
            # deletion is not done (nor said to be) until they are gone; the write-behind queue tries again.
            raise NotYetErased(f"a reader of {self.path} keeps older copies of the record in its WAL")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1  # connections in use are closed when they come back
        for conn in idle:
            with suppress(sqlite3.Error):
                conn.close()

    @contextmanager
    def _connection(self, action):
        """A connection of the pool for one call; every failure leaves as PersistenceException."""
        conn = None
        try:
            with self._lock:
                generation = self._check_file()
                if self._idle:
                    conn = self._idle.pop()
            if conn is None:
                conn = self._open()
                self._migrate(conn)  # one PRAGMA read when the schema is current
            yield conn
        except (sqlite3.Error, OSError) as e:
            if _is_damage(e):
                with self._lock:
                    self._quarantine(str(e))
            self._retire(conn)  # never reuse a connection that failed: it may be wedged (I/O error)
            if _is_busy(e):
                raise StoreBusy(f"Could not {action} the SQLite database {self.path}: {e}") from e
            raise PersistenceException(f"Could not {action} the SQLite database {self.path}: {e}") from e
        except BaseException:
            self._retire(conn)
            raise
        else:
            with self._lock:
                keep = generation == self._generation and len(self._idle) < self.IDLE_CONNECTIONS
                if keep:
                    self._idle.append(conn)
            if not keep:
                self._retire(conn)

    def _retire(self, conn):
        if conn is None:
            return
        with self._lock:
            if self._damaged is not None:
                # Closing the last connection checkpoints the WAL into the file: not into a damaged one.
                self._quarantined.append(conn)
                return
        with suppress(sqlite3.Error):
            conn.close()

    def _check_file(self) -> int:
        """Called under the lock before each call: drops connections that must not be used any more."""
        if self._pid != os.getpid():
            # SQLite forbids carrying a connection across fork(): a forked worker opens its own (and leaves
            # the parent's alone: closing them here could release the parent's locks).
            self._idle, self._pid = [], os.getpid()
            self._generation += 1
        current = self._current_inode()
        if self._damaged is not None and current == self._damaged:
            raise sqlite3.DatabaseError(self.problem)  # until the file is replaced (restored from a backup)
        if self._inode is not None and current != self._inode:
            # Deleted or swapped under us: open connections would go on writing to the unlinked file, and
            # everything saved from now on would vanish at the next restart. Start a new file (or use the
            # one put in its place).
            log.error("the database file %s was deleted or replaced while open; going on with a new one", self.path)
            idle, self._idle = self._idle, []
            self._generation += 1
            self._damaged = self.problem = None
            for conn in idle:
                with suppress(sqlite3.Error):
                    conn.close()
            current = None
        if current is None:
            # The file is (re)created by the connection about to open; remember the new one's identity then.
            self._inode = None
        elif not self._looks_like_a_database():
            # Overwritten in place: open connections would go on reading their caches and the WAL as if
            # nothing had happened, and a checkpoint would write over what is left.
            self._quarantine("not a database: it does not start with SQLite's header")
            raise sqlite3.DatabaseError(self.problem)
        return self._generation

    def _quarantine(self, reason: str):
        """The file is damaged: from now on no call touches it, until it is replaced. Called under the lock."""
        if self._damaged is not None:
            return
        self._damaged = self._current_inode()
        self._quarantined.extend(self._idle)
        self._idle = []
        self._generation += 1
        self.problem = f"the database file is damaged ({reason})"
        if self._inode is not None:  # it turned bad while in use: keep it as it is now, before anything else can
            copy = f"{self.path}.damaged-{time.strftime('%Y%m%dT%H%M%S')}"
            try:
                for suffix in ("", "-wal"):
                    if os.path.exists(self.path + suffix):
                        shutil.copy2(self.path + suffix, copy + suffix)
                self.problem += f"; a copy is kept at {copy}"
            except OSError as e:
                self.problem += f"; it could not be copied aside: {e}"
        # ERROR when it went bad in use; at opening (and each later attempt to reopen it) the caller says so.
        log.log(logging.ERROR if self._inode is not None else logging.INFO,
                "%s: %s; answering without saved progress until it is replaced", self.path, self.problem)

    def _looks_like_a_database(self) -> bool:
        """The file starts with SQLite's header, or is still empty: one 16-byte read per store access."""
        with open(self.path, "rb") as f:
            head = f.read(len(_SQLITE_HEADER))
        return head in (_SQLITE_HEADER, b"")

    def _current_inode(self):
        """One stat() per store access: far cheaper than the query it guards."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _open(self):
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False: the pool hands a
        # connection to one call at a time, whichever thread makes it.
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent in the file; readers never block the writer
            # In WAL, NORMAL survives an app crash and only risks the last commits on power loss, without an fsync per save.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA secure_delete = ON")  # deleted or replaced rows are overwritten, not just freed
        except BaseException:
            conn.close()
            raise
        with self._lock:
            if self._inode is None:
                self._inode = self._current_inode()
        return conn

    def _migrate(self, conn):
        if self._schema_version(conn) == SCHEMA_VERSION:
            return  # the usual case: no write lock taken at start-up
        with self._transaction(conn):
            version = self._schema_version(conn)  # re-read under the lock: another process may have migrated
            for step in MIGRATIONS[version:]:
                step(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _schema_version(self, conn) -> int:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise PersistenceException(
                f"{self.path} has schema version {version}, newer than this code understands ({SCHEMA_VERSION}):"
                " it was written by a newer release of the skill; upgrade the skill rather than overwrite the file")
        return version

    @contextmanager
    def _transaction(self, conn):
        # IMMEDIATE takes the write lock up front, so contention fails here, before anything is written.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):  # keep the original error, not the rollback's
                    conn.execute("ROLLBACK")
            raise


def _is_busy(error) -> bool:
    """Another connection holds the lock: trying again later will work."""
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        isinstance(error, sqlite3.OperationalError) and "locked" in str(error))


def _is_damage(error) -> bool:
    """The file is not (or no longer) a sound database."""
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or (
        isinstance(error, sqlite3.DatabaseError) and ("malformed" in str(error) or "not a database" in str(error)))
