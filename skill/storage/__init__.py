"""Where a user's progress lives: every backend is an ask-sdk persistence adapter.

The skill only ever calls the three methods of
``ask_sdk_core.attributes_manager.AbstractPersistenceAdapter`` — get, save, delete — and
only ever catches ``ask_sdk_core.exceptions.PersistenceException`` from them, so backends are
interchangeable and share one contract test suite (``tests/storage_contract.py``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.config import STORE_BACKENDS

log = logging.getLogger(__name__)


class StoreBusy(PersistenceException):
    """The store is held by someone else (a lock, throttling): the same call will work a little later."""


class NotYetErased(PersistenceException):
    """The person's record is deleted, but copies of it remain in the store's files (SQLite's WAL, held by a
    reader): the deletion is not done, and is tried again, until they are gone too. Not ``StoreBusy``: other
    people's writes need not wait behind it."""


class KnownUser:
    """Stands in for a request envelope when only the person's user key is known (a journaled record written
    at start): ``user_key`` takes it as it is, so every adapter finds the person as from their request."""

    def __init__(self, key: str):
        self.key = key


def envelope_user_id(request_envelope) -> str | None:
    """The Alexa userId: context.System.user first (always sent), then session.user."""
    system = getattr(getattr(request_envelope, "context", None), "system", None)
    for owner in (system, getattr(request_envelope, "session", None)):
        user_id = getattr(getattr(owner, "user", None), "user_id", None)
        if user_id:
            return user_id
    return None


def user_key(request_envelope) -> str:
    """sha256 of the Alexa userId (raw ids are never stored). surrogatepass: JSON may carry a lone
    surrogate ("\\ud800"), which plain UTF-8 refuses to encode."""
    if isinstance(request_envelope, KnownUser):
        return request_envelope.key
    user_id = envelope_user_id(request_envelope)
    if user_id is None:
        raise PersistenceException("The request carries no user id, so there is nowhere to keep attributes")
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()


class UnavailableStore(AbstractPersistenceAdapter):
    """Stands in for a store that could not be opened (a damaged file, a read-only or missing folder):
    every call fails with PersistenceException, which the skill already answers ("I couldn't reach your
    saved progress"), keeping the session's record in the session. So the skill still answers and
    triages with its store down; the damaged file is left exactly as it was, for recovery.

    With ``reopen``, the store is tried again at most every ``retry_every`` seconds, so a store that was
    only out of reach (a file system mounted read-only, a volume not yet attached) is used as soon as it
    can be, with no restart; a damaged file is only looked at, never written, until it is replaced."""

    def __init__(self, problem: str, reopen=None, retry_every: float = 30.0, clock=time.monotonic):
        self._problem = f"could not be opened: {problem}"
        self._reopen = reopen
        self._retry_every = retry_every
        self._clock = clock
        self._next_try = clock() + retry_every
        self._lock = threading.Lock()
        self._opened = None

    def _store(self):
        with self._lock:
            if self._opened is None and self._reopen is not None and self._clock() >= self._next_try:
                self._next_try = self._clock() + self._retry_every
                try:
                    self._opened = self._reopen()
                except PersistenceException as exc:
                    self._problem = f"could not be opened: {exc}"
                else:
                    log.warning("the store could be opened after all; saved progress is kept again")
            if self._opened is None:
                raise PersistenceException(f"store unavailable: {self._problem}")
            return self._opened

    @property
    def problem(self) -> str | None:
        opened = self._opened
        return self._problem if opened is None else getattr(opened, "problem", None)

    def get_attributes(self, request_envelope):
        return self._store().get_attributes(request_envelope)

    def save_attributes(self, request_envelope, attributes):
        self._store().save_attributes(request_envelope, attributes)

    def delete_attributes(self, request_envelope):
        self._store().delete_attributes(request_envelope)


# How long SQLite waits for another connection's lock before a call fails as busy. Short: a turn's read
# must not eat Alexa's 8 seconds, and the write-behind writer retries busy writes by itself.
SQLITE_BUSY_TIMEOUT = 0.25


# The journal of records answered on before the store took them: a folder beside the SQLite file.
JOURNAL_SUFFIX = ".pending"
# Seconds an answer that must not wait (a red flag) gives a store without a journal (DynamoDB) to take its record.
URGENT_PATIENCE_WITHOUT_JOURNAL = 0.3


def open_store(config):
    """The store for ``config`` behind a write-behind queue: SQLite at ``DB_PATH`` (opened, migrated,
    ready), or DynamoDB (``STORE_BACKEND`` "dynamodb"). When it cannot be opened, an ``UnavailableStore``
    takes its place: the skill starts degraded rather than not at all."""
    from skill.storage.journal import Journal
    from skill.storage.write_behind import WriteBehindStore

    backend = config.get("STORE_BACKEND", "sqlite")
    if backend not in STORE_BACKENDS:
        raise ValueError(f"SKILL_STORE must be one of {', '.join(STORE_BACKENDS)}, not {backend!r}")

    def open_sqlite():
        # Imported here so that choosing another backend never needs sqlite3 at import time.
        from skill.storage.sqlite import SQLitePersistenceAdapter

        return SQLitePersistenceAdapter(config["DB_PATH"], timeout=SQLITE_BUSY_TIMEOUT)

    def open_dynamodb():
        # Imported only when configured: boto3 costs start-up time a SQLite skill needn't pay, and ask-sdk's
        # DynamoDB module builds a boto3 resource as it is imported (skill/storage/dynamodb.py).
        os.environ.setdefault("AWS_DEFAULT_REGION", config["AWS_REGION"])
        from skill.storage.dynamodb import DynamoDbStore

        store = DynamoDbStore(config["DYNAMODB_TABLE"], config["AWS_REGION"], config.get("DYNAMODB_ENDPOINT"),
                              ttl_days=config.get("STORE_TTL_DAYS", 180))
        store.check_reachable()  # no credentials, no network or no table: degraded from the start, not "ok"
        return store

    opener = open_dynamodb if backend == "dynamodb" else open_sqlite
    try:
        store = opener()
    except PersistenceException as exc:
        log.error("store unavailable, answering without saved progress (the file is left as it is): %s", exc)
        store = UnavailableStore(str(exc), reopen=opener, retry_every=config.get("STORE_RETRY_SECONDS", 30.0))
    if backend == "dynamodb":
        # No disk outlives a Lambda container (skill/storage/journal.py): an answer that does not wait on the
        # store gives DynamoDB a moment to take the record instead (a put is ~10 ms; bounded by its timeouts).
        return WriteBehindStore(store, urgent_patience=URGENT_PATIENCE_WITHOUT_JOURNAL)
    # The journal lives beside the file, on the disk that keeps the store: it lasts exactly as long as the store.
    writer = WriteBehindStore(store, journal=Journal(f"{config['DB_PATH']}{JOURNAL_SUFFIX}"))
    writer.replay_journal()
    return writer


def store_problem(store) -> str | None:
    """What is wrong with ``store`` (it could not be opened, its file turned out damaged, writes are
    waiting for it), or None when it is well."""
    return getattr(store, "problem", None)
