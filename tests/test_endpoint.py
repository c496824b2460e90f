"""POST /alexa against malformed and hostile input, store failures and logging."""

from __future__ import annotations

import json
import sqlite3

import pytest
from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.utils import is_intent_name

from envelopes import USER_ID, Conversation, envelope, exception_encountered, intent, launch, session_ended, speech
from skill.alexa.skill import build_skill
from skill.app import create_app
from skill.render import plain
from skill.storage.sqlite import SQLitePersistenceAdapter
from skill.web import endpoint


def test_healthz_answers_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


HOSTILE_BODIES = {
    "empty": b"",
    "not json": b"hello",
    "not utf-8": b"\xff\xfe{",
    "json array": b"[]",
    "json string": b'"LaunchRequest"',
    "null": b"null",
    "deeply nested": b"[" * 50_000 + b"]" * 50_000,
    "no request": json.dumps({"version": "1.0", "context": {"System": {}}}).encode(),
    "request not an object": json.dumps({"version": "1.0", "request": "x", "context": {"System": {}}}).encode(),
    "no request type": json.dumps({"version": "1.0", "request": {"requestId": "r", "timestamp": "t"},
                                   "context": {"System": {}}}).encode(),
    "no version": json.dumps({k: v for k, v in launch().items() if k != "version"}).encode(),
    "no context or session": json.dumps({"version": "1.0", "request": launch()["request"]}).encode(),
    "intent request without intent": json.dumps(envelope({"type": "IntentRequest"})).encode(),
    "intent not an object": json.dumps(envelope({"type": "IntentRequest", "intent": "yes"})).encode(),
    "unknown request type": json.dumps(envelope({"type": "Foo.Bar"})).encode(),
    "bad timestamp": json.dumps(envelope({"type": "LaunchRequest", "timestamp": "yesterday"})).encode(),
    "slots as a list": json.dumps(envelope({"type": "IntentRequest",
                                            "intent": {"name": "GoToStepIntent", "slots": [1, 2]}})).encode(),
    "session attributes not an object": json.dumps(
        {**launch(), "session": {"new": False, "sessionId": "s", "attributes": "zzz",
                                 "user": {"userId": "u"}, "application": {"applicationId": "a"}}}).encode(),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_malformed_or_hostile_body_gets_a_400_with_a_json_error(client, name):
    res = client.post("/alexa", data=HOSTILE_BODIES[name], content_type="application/json")
    assert res.status_code == 400, res.get_data(as_text=True)[:200]
    assert isinstance(res.get_json()["error"], str)


def test_oversized_body_is_refused_before_it_is_read(client):
    res = client.post("/alexa", data=b"{" + b" " * (200 * 1024) + b"}", content_type="application/json")
    assert res.status_code == 413
    assert res.get_json() == {"error": "body too large"}


DAMAGED_STATES = [
    {"version": 1, "step": "nonexistent", "trail": 5},
    {"version": 1, "step": "rest", "trail": 5, "episode": {"compress_log": "x", "started": 3}},
    {"version": 1, "step": "rest", "pending": "confirm_help", "last_emergency": "yes"},
    {"version": 1, "step": 42, "episode": {"screening": {"result": "clear", "at": None}}, "past_episodes": [1]},
    {"version": 99, "step": "rest"},
    "not a dict",
    None,
]


@pytest.mark.parametrize("state", DAMAGED_STATES, ids=range(len(DAMAGED_STATES)))
@pytest.mark.parametrize("intent_name", ["AMAZON.YesIntent", "AMAZON.HelpIntent", "AMAZON.PreviousIntent"])
def test_damaged_session_state_still_gets_a_spoken_answer(client, state, intent_name):
    env = intent(intent_name, session_attributes={"guide": state}, new_session=False)
    res = client.post("/alexa", json=env)
    assert res.status_code == 200
    assert plain(speech(res.get_json()))


class _Explodes(AbstractRequestHandler):
    """A handler that fails, standing in for any bug in a handler."""

    def can_handle(self, handler_input):
        return is_intent_name("AMAZON.YesIntent")(handler_input)

    def handle(self, handler_input):
        raise RuntimeError("boom")


def test_a_failing_handler_still_answers_in_speech_with_the_emergency_number(tmp_path):
    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "db.sqlite3")})
    store = SQLitePersistenceAdapter(str(tmp_path / "other.sqlite3"))
    # Swap in a skill with a failing handler first in line; everything else is the real skill.
    app.extensions[endpoint.EXTENSION_KEY]._skill = build_skill(store, extra_handlers=[_Explodes()])
    body = app.test_client().post("/alexa", json=intent("AMAZON.YesIntent")).get_json()
    text = plain(speech(body))
    assert "went wrong" in text and "nine one one" in text
    assert body["response"]["shouldEndSession"] is False and body["response"]["reprompt"]


def test_session_ended_and_system_exception_requests_get_an_empty_answer(client):
    for env in (session_ended("ERROR"), exception_encountered()):
        res = client.post("/alexa", json=env)
        assert res.status_code == 200
        assert "outputSpeech" not in res.get_json()["response"]


# --------------------------------------------------------------------------- a failing store

def _progress(client) -> Conversation:
    convo = Conversation(client)
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    convo.say("AMAZON.YesIntent")  # on the cold pack step
    return convo


def test_a_failed_save_is_told_to_the_user_and_recovered_at_session_end(client, db_path):
    convo = _progress(client)
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TRIGGER no_updates BEFORE UPDATE ON user_attributes "
                   "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    body = convo.say("AMAZON.YesIntent")  # pack on -> first leg position, not saved
    assert "couldn't save your progress" in plain(speech(body))
    assert body["sessionAttributes"]["guide"]["step"] == "legs_1"  # the session still knows
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TRIGGER no_updates")
    convo.end()  # the session-end save catches up
    assert "leg positions" in plain(speech(convo.launch()))


def test_an_unreadable_store_does_not_overwrite_saved_progress(client, db_path):
    convo = _progress(client)
    convo.end()
    with sqlite3.connect(db_path) as db:
        db.execute("ALTER TABLE user_attributes RENAME TO hidden")
    first = plain(speech(convo.launch()))
    assert "couldn't reach your saved progress" in first and "stop what you're doing" in first.lower()
    convo.end()
    with sqlite3.connect(db_path) as db:
        db.execute("ALTER TABLE hidden RENAME TO user_attributes")
    assert "the cold pack" in plain(speech(convo.launch()))


def test_logs_carry_request_id_and_hashed_user_but_no_raw_id_or_symptom(client, caplog):
    caplog.set_level("INFO")
    convo = Conversation(client)
    convo.launch()
    env = intent("AMAZON.YesIntent", session_attributes=convo.attributes, new_session=False,
                 session_id=convo.session_id)
    client.post("/alexa", json=env)
    text = caplog.text
    assert env["request"]["requestId"] in text
    assert USER_ID not in text
    for word in ("numb", "tingling", "bladder", "peeing", "fever", "emergency", "yesintent", "nointent"):
        assert word not in text.lower()
    assert "IntentRequest/answer" in text
