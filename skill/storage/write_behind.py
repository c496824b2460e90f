"""Write-behind: no turn waits on the store for long, and nothing a turn asked to save is dropped.

``WriteBehindStore`` wraps any persistence adapter. Saves and deletions are queued, one per person
(a newer one replaces an older one still waiting), and carried out by one writer thread that retries
until the store takes them. A turn waits a moment (``patience``) for its own write, so that the usual
case (a write takes a millisecond) and a store that refuses outright (a full disk, a read-only file)
are known to the turn; a store that is merely busy (another process holds the lock) is not waited
for: the write is done when the lock is released. Until then, reads in this process see the queued
record, so the person's next turn carries on from it.

Why not just a longer busy timeout: Alexa gives a whole request ~8 s, and a red flag must be
answered whatever the store is doing. Why not a thread per write: writes to one SQLite file are
serialised by the file anyway, and one writer keeps each person's writes in order.

Per process, and in memory: a record still queued when the process is killed is lost (at a normal
exit, ``flush`` gets a few seconds to write it), except what a turn answered on without waiting
(``save_soon``: an emergency, "see a doctor today"): with a ``journal`` (skill/storage/journal.py) it is
on the disk before the answer goes, removed from there once the store has it, and written at the next
start (``replay_journal``) if the process died first. ``capacity`` bounds the memory a store that never
comes back can take: past it, saves fail at once and the person is told.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.storage import KnownUser, StoreBusy, user_key

log = logging.getLogger(__name__)

SAVE, DELETE = "save", "delete"


@dataclass(eq=False)
class _Write:
    """One person's latest save or deletion, waiting for the store."""

    kind: str  # SAVE or DELETE
    envelope: object  # the request it came with: the wrapped adapter finds the person in it
    attributes: dict | None  # a private copy (SAVE only)
    attempted: threading.Event = field(default_factory=threading.Event)  # tried at least once, or superseded
    done: bool = False  # reached the store, or superseded by a newer write for the same person
    error: PersistenceException | None = None  # why the last attempt failed
    journaled: list = field(default_factory=list)  # its journal entries, and those of the writes it superseded
    erase_first: bool = False  # it superseded a deletion not yet done: the deletion is carried out first


class WriteBehindStore(AbstractPersistenceAdapter):
    def __init__(self, store, patience: float = 0.3, retry_every: tuple[float, float] = (0.05, 1.0),
                 capacity: int = 2000, idle_exit: float = 30.0, journal=None, urgent_patience: float = 0.0):
        self.store = store
        self.patience = patience  # how long a turn waits for its own write
        self.journal = journal  # where save_soon's records are kept on the disk until the store has them
        self.urgent_patience = urgent_patience  # how long save_soon waits for the store (without a journal)
        self.retry_every = retry_every  # first and longest pause between attempts while the store fails
        self.capacity = capacity
        self.idle_exit = idle_exit  # the writer thread ends after this long with nothing to do
        self._reset()
        ref = weakref.ref(self)
        atexit.register(lambda: (s := ref()) and s._flush_at_exit())

    def _reset(self):
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._queue: dict[str, _Write] = {}  # by user key, oldest first
        self._writer: threading.Thread | None = None
        self._fresh = False  # a write was queued since the writer last paused
        self._failing_since: float | None = None
        self._last_error: PersistenceException | None = None

    # --- the adapter contract ---------------------------------------------------------------

    def get_attributes(self, request_envelope) -> dict:
        key = user_key(request_envelope)
        with self._lock():
            waiting = self._queue.get(key)
            if waiting is not None:  # newer than what the store holds
                return _copy(waiting.attributes) if waiting.kind == SAVE else {}
        journaled = self.journal.newest(key) if self.journal is not None else None
        if journaled is not None:  # another worker's, still waiting for the store: newer than what it holds
            return journaled
        return self.store.get_attributes(request_envelope)

    def save_attributes(self, request_envelope, attributes) -> None:
        self._wait_for(self._queue_save(request_envelope, attributes))

    def save_soon(self, request_envelope, attributes) -> None:
        """Queue a save without waiting on the store: for an answer that must not wait (a red flag). With a
        journal, the record is on the disk when this returns (a few ms, whatever the store is doing); without
        one, the store is given ``urgent_patience`` to take it. A refusal is not learnt here; the record is
        retried like any other."""
        write = self._queue_save(request_envelope, attributes, journal=True)
        if self.urgent_patience > 0:
            write.attempted.wait(self.urgent_patience)

    def _queue_save(self, request_envelope, attributes, journal: bool = False) -> _Write:
        if not isinstance(attributes, dict):
            raise PersistenceException(f"Attributes must be a dict, not {type(attributes).__name__}")
        try:  # a private copy, checked now: a value the store could never take is refused at once
            copy = _copy(attributes)
        except (TypeError, ValueError, RecursionError) as e:
            raise PersistenceException(f"Attributes cannot be stored as JSON: {e}") from e
        key = user_key(request_envelope)
        write = _Write(SAVE, request_envelope, copy)
        if journal and self.journal is not None:
            entry = self.journal.keep(key, copy)  # None when it can't be written: logged, the answer goes on
            write.journaled = [entry] if entry is not None else []
        return self._enqueue(key, write)

    def replay_journal(self) -> int:
        """At start: queue the journaled records of processes that died before the store took them (the newest
        per person); how many. They stay in the journal until written."""
        if self.journal is None:
            return 0
        by_person: dict[str, list] = {}
        for entry in self.journal.adopt():
            by_person.setdefault(entry.user_key, []).append(entry)
        for key, entries in by_person.items():
            newest = max(entries, key=lambda e: e.written_ns)
            write = _Write(SAVE, KnownUser(key), newest.attributes, journaled=entries)
            try:
                self._enqueue(key, write)
            except PersistenceException as e:  # full: they stay in the journal, for the next start
                log.error("a journaled record could not be queued: %s", e)
        if by_person:
            log.warning("%d record(s) journaled by a process that stopped before the store took them are written"
                        " now", len(by_person))
        return len(by_person)

    def _wait_for(self, write: _Write) -> None:
        write.attempted.wait(self.patience)
        if write.error is not None and not isinstance(write.error, StoreBusy):
            # Refused (not just busy): say so, so the person hears it; the write stays queued all the same.
            raise PersistenceException(f"not saved yet, will retry: {write.error}") from write.error

    def delete_attributes(self, request_envelope) -> None:
        key = user_key(request_envelope)
        write = self._enqueue(key, _Write(DELETE, request_envelope, None))
        if self.journal is not None:
            self.journal.erase(key)  # now: a crash must not bring back what the person asked to be deleted
        write.attempted.wait(self.patience)
        if not write.done:
            # "Your data is deleted" is only said once it is; the deletion stays queued and happens anyway.
            raise PersistenceException(f"not deleted yet, will retry: {write.error or 'the store is slow'}")

    # --- for operators and tests ------------------------------------------------------------

    @property
    def problem(self) -> str | None:
        """Why the store is not keeping up, or None: for /healthz."""
        inner = getattr(self.store, "problem", None)
        with self._lock():
            waiting, error = len(self._queue), self._last_error
        if waiting and error is not None:
            return f"{waiting} record(s) waiting to be written: {inner or error}"
        return inner

    def waiting(self) -> int:
        with self._lock():
            return len(self._queue)

    def flush(self, timeout: float, while_busy_only: bool = False) -> bool:
        """Wait until every queued write has reached the store; False if ``timeout`` ran out first, or (with
        ``while_busy_only``) as soon as the store refuses outright rather than being busy."""
        deadline = time.monotonic() + timeout
        with self._lock():
            if self._queue:
                self._start_writer()
            while self._queue:
                left = deadline - time.monotonic()
                refusing = self._last_error is not None and not isinstance(self._last_error, StoreBusy)
                if left <= 0 or (while_busy_only and refusing):
                    log.error("%d record(s) not written: %s", len(self._queue),
                              self._last_error or f"the store did not answer within {timeout:.1f} s")
                    return False
                self._cond.wait(min(left, 0.1) if while_busy_only else left)
        return True

    def _flush_at_exit(self):
        # A few seconds for a store that is only busy; a store that refuses outright won't change its mind.
        self.flush(timeout=5.0, while_busy_only=True)

    def close(self) -> None:
        self.flush(timeout=5.0)
        closer = getattr(self.store, "close", None)
        if closer is not None:
            closer()

    # --- the writer -------------------------------------------------------------------------

    def _lock(self):
        if self._pid != os.getpid():
            # A forked worker: the parent writes what it queued; the child starts with a fresh lock and queue.
            self._reset()
        return self._cond

    def _enqueue(self, key: str, write: _Write) -> _Write:
        with self._lock():
            older = self._queue.pop(key, None)
            if older is None and len(self._queue) >= self.capacity:
                raise PersistenceException(f"{len(self._queue)} records are already waiting for the store")
            if older is not None:  # superseded: its turn stops waiting, the newer record is the one written
                older.done = True
                older.attempted.set()
                # A deletion is never dropped for a newer save: "deleted" may be unsaid, but the old copies go.
                write.erase_first = write.kind == SAVE and (older.kind == DELETE or older.erase_first)
                write.journaled = older.journaled + write.journaled  # kept on the disk until the newer is written
            self._queue[key] = write  # (re-)inserted last: one person's writes stay in order
            self._fresh = True
            self._start_writer()
            self._cond.notify_all()
        return write

    def _start_writer(self):
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(target=self._write_all, name="store-writer", daemon=True)
            self._writer.start()

    def _write_all(self):
        pause = self.retry_every[0]
        while True:
            with self._cond:
                if not self._queue:
                    self._cond.wait(self.idle_exit)
                    if not self._queue:
                        self._writer = None
                        return
                batch = list(self._queue.items())
            failed = False
            for key, write in batch:
                try:
                    if write.kind == DELETE or write.erase_first:
                        self.store.delete_attributes(write.envelope)
                        write.erase_first = False
                    if write.kind == SAVE:
                        self.store.save_attributes(write.envelope, write.attributes)
                    error = None
                except PersistenceException as e:
                    error = e
                except Exception as e:  # noqa: BLE001 - a backend's bug must not kill the writer
                    error = PersistenceException(f"{type(e).__name__}: {e}")
                if error is None:
                    self._retire_journaled(key, write)  # before the write is done: flush() means "and tidied"
                self._attempted(key, write, error)
                if error is None:
                    continue
                failed = True
                if isinstance(error, StoreBusy):
                    break  # busy for everyone: don't queue up behind the lock once per record
            if failed and self.journal is not None:
                # Still waiting: if their entries vanished (the folder was deleted), they are written again.
                for _, write in batch:
                    if not write.done:
                        self.journal.rewrite_if_missing(write.journaled)
            if failed:
                with self._cond:  # a new write ends the pause: the store may well take it now
                    self._fresh = False
                    self._cond.wait_for(lambda: self._fresh, timeout=pause)
                pause = min(pause * 2, self.retry_every[1])
            else:
                pause = self.retry_every[0]

    def _retire_journaled(self, key: str, write: _Write):
        """The store has this record: its entries go from the journal (after a deletion, all the person's)."""
        if self.journal is None:
            return
        if write.kind == DELETE:
            self.journal.erase(key)
        else:
            self.journal.forget(write.journaled)

    def _attempted(self, key: str, write: _Write, error: PersistenceException | None):
        with self._cond:
            if error is None:
                write.done = True
                if self._queue.get(key) is write:
                    del self._queue[key]
                if self._failing_since is not None:
                    log.warning("the store answers again after %.1f s; %d record(s) still waiting",
                                time.monotonic() - self._failing_since, len(self._queue))
                    self._failing_since = self._last_error = None
                self._cond.notify_all()
            else:
                write.error = error
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                    log.warning("the store refused a write; it is kept and retried: %s", error)
                self._last_error = error
            write.attempted.set()


def _copy(attributes: dict) -> dict:
    return json.loads(json.dumps(attributes, allow_nan=False))
