"""The behaviour every persistence backend owes the skill, as a reusable test base class.

A backend's test module subclasses ``PersistenceAdapterContract`` (name it ``Test...``) and
provides a ``make_adapter`` fixture: a zero-argument factory returning an adapter over the same
fresh, empty store each time it is called. Nothing here may know which backend it is testing.
"""

from __future__ import annotations

import json

import pytest
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from envelopes import launch

ALICE = "amzn1.ask.account.ALICE"
BOB = "amzn1.ask.account.BOB"

NESTED = {
    "name": "Zoë — 背中 🧘",
    "streak": 12,
    "pain_scores": [7, 5.5, 3, 0, -1],
    "done": True,
    "paused": False,
    "last_exercise": None,
    "history": [{"day": "2024-02-29", "sets": [{"reps": 10, "ok": True}]}, []],
    "empty": {},
}


def closed_after(open_adapter):
    """The body of a ``make_adapter`` fixture (``yield from``): a factory calling ``open_adapter``, and every
    adapter it made closed after the test."""
    opened = []

    def make(**kw):
        adapter = open_adapter(**kw)
        opened.append(adapter)
        return adapter

    yield make
    for adapter in opened:
        adapter.close()


def request_for(user_id: str | None) -> RequestEnvelope:
    """A real ask_sdk_model envelope for ``user_id``; ``None`` means the envelope names no user."""
    env = launch(user_id=user_id or "placeholder")
    if user_id is None:
        del env["context"]["System"]["user"]["userId"]
        del env["session"]["user"]["userId"]
    return DefaultSerializer().deserialize(json.dumps(env), RequestEnvelope)


class PersistenceAdapterContract:
    @pytest.fixture
    def adapter(self, make_adapter):
        return make_adapter()

    def test_unknown_user_has_no_saved_attributes(self, adapter):
        assert adapter.get_attributes(request_for(ALICE)) == {}

    def test_saved_attributes_round_trip_as_nested_json(self, adapter):
        adapter.save_attributes(request_for(ALICE), NESTED)
        loaded = adapter.get_attributes(request_for(ALICE))
        assert loaded == NESTED
        assert json.dumps(loaded, sort_keys=True) == json.dumps(NESTED, sort_keys=True)  # types too: 3 stays int, True stays bool

    def test_each_user_sees_only_their_own_attributes(self, adapter):
        adapter.save_attributes(request_for(ALICE), {"streak": 1})
        adapter.save_attributes(request_for(BOB), {"streak": 2})
        assert adapter.get_attributes(request_for(ALICE)) == {"streak": 1}
        assert adapter.get_attributes(request_for(BOB)) == {"streak": 2}

    def test_saving_again_replaces_the_previous_attributes(self, adapter):
        adapter.save_attributes(request_for(ALICE), {"streak": 1, "old_key": "x"})
        adapter.save_attributes(request_for(ALICE), {"streak": 2})
        assert adapter.get_attributes(request_for(ALICE)) == {"streak": 2}

    def test_deleting_a_user_removes_only_that_users_attributes(self, adapter):
        adapter.save_attributes(request_for(ALICE), {"streak": 1})
        adapter.save_attributes(request_for(BOB), {"streak": 2})
        adapter.delete_attributes(request_for(ALICE))
        assert adapter.get_attributes(request_for(ALICE)) == {}
        assert adapter.get_attributes(request_for(BOB)) == {"streak": 2}

    def test_deleting_a_user_with_nothing_saved_is_harmless(self, adapter):
        adapter.delete_attributes(request_for(ALICE))
        assert adapter.get_attributes(request_for(ALICE)) == {}

    def test_a_deleted_user_can_start_over(self, adapter):
        adapter.save_attributes(request_for(ALICE), {"streak": 9})
        adapter.delete_attributes(request_for(ALICE))
        adapter.save_attributes(request_for(ALICE), {"streak": 1})
        assert adapter.get_attributes(request_for(ALICE)) == {"streak": 1}

    @pytest.mark.parametrize("bad", [{"when": object()}, {"nested": [1, {"fn": print}]}], ids=["object", "nested-function"])
    def test_unstorable_attributes_are_refused_and_the_previous_value_kept(self, adapter, bad):
        adapter.save_attributes(request_for(ALICE), {"streak": 3})
        with pytest.raises(PersistenceException):
            adapter.save_attributes(request_for(ALICE), bad)
        assert adapter.get_attributes(request_for(ALICE)) == {"streak": 3}

    @pytest.mark.parametrize("call", ["get", "save", "delete"])
    def test_a_request_without_a_user_id_is_refused(self, adapter, call):
        nobody = request_for(None)
        with pytest.raises(PersistenceException):
            if call == "get":
                adapter.get_attributes(nobody)
            elif call == "save":
                adapter.save_attributes(nobody, {"streak": 1})
            else:
                adapter.delete_attributes(nobody)

    def test_the_returned_attributes_are_a_copy_not_the_stored_value(self, adapter):
        attributes = {"history": [1]}
        adapter.save_attributes(request_for(ALICE), attributes)
        attributes["history"].append(2)  # the caller keeps mutating its session dict
        loaded = adapter.get_attributes(request_for(ALICE))
        loaded["history"].append(3)
        assert adapter.get_attributes(request_for(ALICE)) == {"history": [1]}
