"""SQLite persistence adapter: one row of JSON attributes per (hashed) Alexa user.

Every failure leaves as ``PersistenceException`` (cause chained): the skill catches that one
type to tell the user their progress could not be saved, so nothing else may escape.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from contextlib import contextmanager, suppress

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException


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

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_UPSERT = (
    "INSERT INTO user_attributes (user_key, data, data_version, created_at, updated_at)"
    f" VALUES (?, ?, ?, {_NOW}, {_NOW})"
    " ON CONFLICT (user_key) DO UPDATE SET"
    " data = excluded.data, data_version = excluded.data_version, updated_at = excluded.updated_at"
)


def user_key(request_envelope) -> str:
    """sha256 of the Alexa userId: context.System.user first (always sent), then session.user."""
    system = getattr(getattr(request_envelope, "context", None), "system", None)
    for owner in (system, getattr(request_envelope, "session", None)):
        user_id = getattr(getattr(owner, "user", None), "user_id", None)
        if user_id:
            return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()
    raise PersistenceException("The request carries no user id, so there is nowhere to keep attributes")


class SQLitePersistenceAdapter(AbstractPersistenceAdapter):
    """ask-sdk persistence adapter over one SQLite file (WAL mode).

    Threads: one connection per adapter behind a lock. Flask's dev server starts a thread per
    request, so thread-local connections would pile up (one per dead thread, closed only by GC),
    and a connection per call would checkpoint and delete the WAL on every close. Statements are
    single-row primary-key lookups taking well under a millisecond, so serialising them costs
    nothing at Alexa request rates, and the lock keeps two threads' transactions from interleaving
    on the shared connection. Processes (or other adapters) each have their own connection and
    are coordinated by SQLite's file locks plus the busy timeout.
    """

    def __init__(self, path: str, timeout: float = 2.0):
        self.path = os.fspath(path)
        # Short on purpose: Alexa gives the whole request ~8 s; better "could not save" than silence.
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn = None
        self._pid = None
        self._inode = None  # (device, inode) of the file the connection opened: a deleted file is noticed
        try:
            with self._lock, self._errors("open"):
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                self._migrate(self._connection())
        except PersistenceException:
            self.close()  # e.g. a too-new schema: don't leave the connection to the GC
            raise

    def get_attributes(self, request_envelope) -> dict:
        key = user_key(request_envelope)
        with self._lock, self._errors("read attributes from"):
            row = self._connection().execute("SELECT data FROM user_attributes WHERE user_key = ?", (key,)).fetchone()
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
        with self._lock, self._errors("save attributes to"):
            conn = self._connection()
            with self._transaction(conn):
                conn.execute(_UPSERT, (key, data, SCHEMA_VERSION))

    def delete_attributes(self, request_envelope) -> None:
        key = user_key(request_envelope)
        with self._lock, self._errors("delete attributes from"):
            conn = self._connection()
            # A single statement outside BEGIN is its own atomic transaction. secure_delete (set at open)
            # zeroes the row where it stood; older copies of it live on in the WAL until a checkpoint, so
            # the WAL is copied back and truncated now: erased means erased from every file.
            conn.execute("DELETE FROM user_attributes WHERE user_key = ?", (key,))
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.warning("a reader kept the WAL from being truncated after a deletion; it will be at the next")

    def close(self) -> None:
        with self._lock, self._errors("close"):
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def _connection(self):
        # SQLite forbids carrying a connection across fork(): a forked worker opens its own.
        replaced = self._conn is not None and self._current_inode() != self._inode
        if replaced:
            # Deleted or swapped under us: the open connection would go on writing to the unlinked file,
            # and everything saved from now on would vanish at the next restart. Start a new file.
            log.error("the database file %s was deleted or replaced while open; starting a new one", self.path)
            with suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        if self._conn is None or self._pid != os.getpid():
            self._conn, self._pid, self._inode = self._open(), os.getpid(), self._current_inode()
            if replaced:
                self._migrate(self._conn)
        return self._conn

    def _current_inode(self):
        """One stat() per store access: far cheaper than the query it guards."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _open(self):
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False: self._lock guards it.
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent in the file; readers never block the writer
            # In WAL, NORMAL survives an app crash and only risks the last commits on power loss, without an fsync per save.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA secure_delete = ON")  # deleted or replaced rows are overwritten, not just freed
        except BaseException:
            conn.close()
            raise
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

    @contextmanager
    def _errors(self, action):
        try:
            yield
        except (sqlite3.Error, OSError) as e:
            # Start the next call on a fresh connection: this one may be wedged (I/O error, replaced file).
            conn, self._conn = self._conn, None
            if conn is not None:
                with suppress(sqlite3.Error):
                    conn.close()
            raise PersistenceException(f"Could not {action} the SQLite database {self.path}: {e}") from e
