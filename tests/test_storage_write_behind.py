"""The write-behind queue (skill/storage/write_behind.py) is what the skill really talks to (``open_store``
wraps every backend in it), so it owes the skill the same contract as the stores it wraps: here over a
real SQLite file, with nothing of the project faked. How it behaves when that store is locked, refuses
or is damaged is in tests/test_faults.py."""

from __future__ import annotations

import pytest

from skill.storage.sqlite import SQLitePersistenceAdapter
from skill.storage.write_behind import WriteBehindStore
from storage_contract import ALICE, BOB, PersistenceAdapterContract, closed_after, request_for


@pytest.fixture
def make_adapter(tmp_path):
    path = str(tmp_path / "progress.sqlite3")
    yield from closed_after(lambda: WriteBehindStore(SQLitePersistenceAdapter(path)))


class TestWriteBehindOverSQLiteHonoursTheContract(PersistenceAdapterContract):
    pass  # make_adapter comes from the module fixture above


def test_saves_and_deletions_reach_the_file(make_adapter, tmp_path):
    """The contract's reads may be answered from the queue; here the file itself is read, by another adapter."""
    store = make_adapter()
    store.save_attributes(request_for(ALICE), {"streak": 5})
    store.save_attributes(request_for(BOB), {"streak": 6})
    store.delete_attributes(request_for(BOB))
    assert store.flush(timeout=5)
    reader = SQLitePersistenceAdapter(str(tmp_path / "progress.sqlite3"))
    try:
        assert reader.get_attributes(request_for(ALICE)) == {"streak": 5}
        assert reader.get_attributes(request_for(BOB)) == {}
    finally:
        reader.close()
