"""The journal: a record the skill answered on without waiting for the store (an emergency, "see a doctor
today") is in a file flushed to the disk before the answer goes, and is written into the store at the next
start if the process died first (kill -9, the OOM killer, a power cut) with the store still busy.

Why a journal rather than "in the store before the answer": the store can be locked by another process for
as long as it likes (a backup, a ``sqlite3`` shell in ``BEGIN EXCLUSIVE``), and a red flag is answered now.
A file of its own, which no one else ever locks, costs a few milliseconds to write and fsync, file and folder
(a median of 0.4 to 8 ms on this project's build machine, with the disk idle or busy; ``pytest -s -k
milliseconds tests/test_storage_journal.py`` prints it), whatever the store is doing.

The folder (``<the SQLite file>.pending``) holds, for each process that journals:

- ``<owner>.lock``: ``flock``-ed by the process for as long as it lives; the kernel drops the lock when the
  process dies, however it dies, so an owner whose lock can be taken is gone;
- ``<owner>.<user key>.<nanoseconds>.json``: one record, written to a temporary name, fsynced, then renamed,
  so an entry is whole or absent. It names the person by user key (sha256 of the Alexa id), never by id.

Several processes (gunicorn workers) share the folder without coordinating: each writes only its own entries,
and at start a process adopts the entries of owners that are gone by renaming them as its own (a rename is
atomic, so two workers starting together never both adopt one). An entry is removed once its record, a newer
one of the same person's, or the person's deletion has reached the store; deleting a person's data removes
their entries at once, whoever wrote them.

A journal that cannot be written (a read-only or full disk, a folder that cannot be made) is logged and the
answer is given all the same: the record is then kept in memory and retried, as it was before the journal.
A folder deleted while serving is made again, and the entries still waiting are written into it again.

Not used with DynamoDB (skill/storage/__init__.py): on Lambda no disk outlives the container, and a server
whose disk does last would still only replay into a table every other instance shares after it restarts.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
ENTRY_SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"  # a file being written, under its final name plus this until it is whole


@dataclass(frozen=True)
class Entry:
    """One journaled record: where it is, whose it is (user key), and the record itself."""

    path: str
    user_key: str
    attributes: dict
    written_ns: int


class Journal:
    """One folder of entries, shared by every process of the skill that stores on the same file."""

    def __init__(self, folder: str):
        self.folder = os.fspath(folder)
        self._lock = threading.Lock()
        self._pid = None  # the process the owner lock below belongs to (a forked child needs its own)
        self._owner = None
        self._owner_fd = None
        self._last_ns = 0

    # --- writing and retiring -------------------------------------------------------------

    def keep(self, user_key: str, attributes: dict) -> Entry | None:
        """Write ``attributes`` for ``user_key`` to the disk; None (logged) when the journal cannot be written."""
        with self._lock:  # strictly increasing: two entries never share a name, nor newest() a tie
            written_ns = self._last_ns = max(time.time_ns(), self._last_ns + 1)
        try:
            owner = self._own()
            path = os.path.join(self.folder, f"{owner}.{user_key}.{written_ns}{ENTRY_SUFFIX}")
            entry = Entry(path, user_key, attributes, written_ns)
            self._write(entry)
            return entry
        except OSError as e:
            log.error("the journal %s could not be written; the record is kept in memory only: %s", self.folder, e)
            return None

    def rewrite_if_missing(self, entries) -> None:
        """Write again the entries whose files are gone (their folder was deleted while they waited)."""
        for entry in entries:
            if not os.path.exists(entry.path):
                try:
                    self._own()
                    self._write(entry)
                    log.warning("a journal entry was gone (its folder deleted?) and is written again")
                except OSError as e:
                    log.error("the journal %s could not be written again: %s", self.folder, e)

    def forget(self, entries) -> None:
        """The store has these records (or newer ones): their entries go."""
        for entry in entries:
            _unlink(entry.path)

    def erase(self, user_key: str) -> None:
        """The person asked for their data to be deleted: every entry of theirs goes, whoever wrote it."""
        for name in self._names():
            if _entry_key(name) == user_key:
                _unlink(os.path.join(self.folder, name))

    def newest(self, user_key: str) -> dict | None:
        """The newest journaled record of ``user_key``, any process's: one still waiting for the store."""
        entries = [e for e in map(self._read, [n for n in self._names() if _entry_key(n) == user_key]) if e]
        return max(entries, key=lambda e: e.written_ns).attributes if entries else None

    # --- at start ---------------------------------------------------------------------------

    def adopt(self) -> list[Entry]:
        """The entries of processes that are gone, renamed as this process's own: they are its to write now."""
        try:
            names = self._names()
            owner = self._own() if any(n.endswith(ENTRY_SUFFIX) for n in names) else None
        except OSError as e:
            log.error("the journal %s could not be read at start: %s", self.folder, e)
            return []
        gone = {n[: -len(LOCK_SUFFIX)] for n in names if n.endswith(LOCK_SUFFIX) and n != f"{owner}{LOCK_SUFFIX}"
                and self._owner_is_gone(n)}
        live = {n[: -len(LOCK_SUFFIX)] for n in names if n.endswith(LOCK_SUFFIX)} - gone | {owner}
        adopted = []
        for name in names:
            if name.split(".", 1)[0] in live:
                continue
            if name.endswith(f"{ENTRY_SUFFIX}{PARTIAL_SUFFIX}"):
                _unlink(os.path.join(self.folder, name))  # its owner died while writing it: never whole
            if not name.endswith(ENTRY_SUFFIX):
                continue
            mine = os.path.join(self.folder, f"{owner}.{name.split('.', 1)[1]}")
            try:
                os.rename(os.path.join(self.folder, name), mine)
            except OSError:
                continue  # another process adopted it first
            entry = self._read(os.path.basename(mine))
            if entry is None:
                log.error("a journal entry could not be read and is left aside: %s", mine)
                _set_aside(mine)
            else:
                adopted.append(entry)
        for owner_gone in gone:
            _unlink(os.path.join(self.folder, f"{owner_gone}{LOCK_SUFFIX}"))
        return adopted

    # --- the files ----------------------------------------------------------------------------

    def _own(self) -> str:
        """This process's owner name, its lock taken (again, if the folder was deleted under it)."""
        with self._lock:
            lock_path = None if self._owner is None else os.path.join(self.folder, f"{self._owner}{LOCK_SUFFIX}")
            if self._pid == os.getpid() and lock_path is not None and _same_file(lock_path, self._owner_fd):
                return self._owner
            if self._pid != os.getpid():
                # A new process (or a forked child, which shares the parent's lock): a name of its own.
                self._owner, self._owner_fd = f"{os.getpid()}-{secrets.token_hex(4)}", None
                lock_path = os.path.join(self.folder, f"{self._owner}{LOCK_SUFFIX}")
            elif self._owner_fd is not None:
                os.close(self._owner_fd)  # the lock file was deleted with its folder: a new one
                self._owner_fd = None
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            # Locked under another name, then renamed: a lock file under its own name is always held, so a
            # process starting meanwhile never takes it for the file of one that is gone.
            fd = os.open(f"{lock_path}{PARTIAL_SUFFIX}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.rename(f"{lock_path}{PARTIAL_SUFFIX}", lock_path)
            except OSError:
                os.close(fd)
                raise
            self._owner_fd, self._pid = fd, os.getpid()
            return self._owner

    def _write(self, entry: Entry) -> None:
        data = json.dumps({"user_key": entry.user_key, "attributes": entry.attributes,
                           "written_ns": entry.written_ns}, separators=(",", ":")).encode()
        temporary = f"{entry.path}{PARTIAL_SUFFIX}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)  # on the disk, not only in the page cache: a power cut keeps it too
        finally:
            os.close(fd)
        os.rename(temporary, entry.path)
        folder = os.open(self.folder, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(folder)  # the rename itself
        finally:
            os.close(folder)

    def _read(self, name: str) -> Entry | None:
        if not name.endswith(ENTRY_SUFFIX):
            return None
        path = os.path.join(self.folder, name)
        try:
            with open(path, "rb") as f:
                raw = json.load(f)
            entry = Entry(path, raw["user_key"], raw["attributes"], int(raw["written_ns"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return entry if isinstance(entry.attributes, dict) and entry.user_key == _entry_key(name) else None

    def _names(self) -> list[str]:
        try:
            return sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return []
        except OSError as e:  # (a read must not fail for it: the store is read next)
            log.error("the journal %s could not be listed: %s", self.folder, e)
            return []

    def _owner_is_gone(self, lock_name: str) -> bool:
        try:
            fd = os.open(os.path.join(self.folder, lock_name), os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True  # (released when fd closes below; the file is removed after the adoption)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                log.warning("could not tell whether the journal's owner %s is alive: %s", lock_name, e)
            return False
        finally:
            os.close(fd)


def _entry_key(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) == 4 and name.endswith(ENTRY_SUFFIX) else None


def _same_file(path: str, fd: int | None) -> bool:
    if fd is None:
        return False
    try:
        there, held = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        log.error("a journal entry could not be removed: %s", e)


def _set_aside(path: str) -> None:
    try:
        os.rename(path, f"{path}.unreadable")
    except OSError:
        pass
