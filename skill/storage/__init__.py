"""Where a user's progress lives: every backend is an ask-sdk persistence adapter.

The skill only ever calls the three methods of
``ask_sdk_core.attributes_manager.AbstractPersistenceAdapter`` — get, save, delete — and
only ever catches ``ask_sdk_core.exceptions.PersistenceException`` from them, so backends are
interchangeable and share one contract test suite (``tests/storage_contract.py``).
"""

from __future__ import annotations


def open_store(config):
    """The persistence adapter for ``config`` (SQLite at ``DB_PATH``; opened, migrated, ready)."""
    # Imported here so that choosing another backend never needs sqlite3 at import time.
    from skill.storage.sqlite import SQLitePersistenceAdapter

    return SQLitePersistenceAdapter(config["DB_PATH"])
