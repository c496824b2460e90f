"""Where a user's progress lives: every backend is an ask-sdk persistence adapter.

The skill only ever calls the three methods of
``ask_sdk_core.attributes_manager.AbstractPersistenceAdapter`` — get, save, delete —
so backends are interchangeable and share one contract test suite.
"""

from __future__ import annotations


def open_store(config):
    """The persistence adapter the config asks for (SQLite at ``DB_PATH`` by default)."""
    from skill.storage.sqlite import SQLitePersistenceAdapter

    return SQLitePersistenceAdapter(config["DB_PATH"])
