"""Where a user's progress lives: every backend is an ask-sdk persistence adapter.

The skill only ever calls the three methods of
``ask_sdk_core.attributes_manager.AbstractPersistenceAdapter`` — get, save, delete — and
only ever catches ``ask_sdk_core.exceptions.PersistenceException`` from them, so backends are
interchangeable and share one contract test suite (``tests/storage_contract.py``).
"""

from __future__ import annotations


import logging

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

log = logging.getLogger(__name__)


class UnavailableStore(AbstractPersistenceAdapter):
    """Stands in for a store that could not be opened (a damaged file, a folder that can't be written):
    every call fails with PersistenceException, which the skill already answers ("I couldn't reach your
    saved progress"), keeping the session's record in the session. So the skill still answers and
    triages with its store down; the damaged file is left exactly as it was, for recovery."""

    def __init__(self, problem: str):
        self.problem = problem

    def _fail(self, *_):
        raise PersistenceException(f"store unavailable: {self.problem}")

    get_attributes = save_attributes = delete_attributes = _fail


def open_store(config):
    """The persistence adapter for ``config`` (SQLite at ``DB_PATH``; opened, migrated, ready), or, when
    it cannot be opened, an ``UnavailableStore``: the skill starts degraded rather than not at all."""
    # Imported here so that choosing another backend never needs sqlite3 at import time.
    from skill.storage.sqlite import SQLitePersistenceAdapter

    try:
        return SQLitePersistenceAdapter(config["DB_PATH"])
    except PersistenceException as exc:
        log.error("store unavailable, answering without saved progress (the file is left as it is): %s", exc)
        return UnavailableStore(str(exc))


def store_problem(store) -> str | None:
    """What is wrong with ``store``, or None when it opened."""
    return getattr(store, "problem", None) if isinstance(store, UnavailableStore) else None
