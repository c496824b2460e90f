"""POST /alexa against malformed and hostile input, store failures and logging."""

from __future__ import annotations

import json
import sqlite3

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.utils import is_intent_name

from envelopes import Conversation, envelope, exception_encountered, intent, launch, session_ended, speech
from said import keys_of
from skill.alexa.skill import build_skill
from skill.app import create_app
from skill.engine import Line, default_content
from skill.render import Renderer, plain
from skill.storage.sqlite import SQLitePersistenceAdapter
from skill.web import endpoint


def test_healthz_answers_ok(shared_client):
    assert shared_client.get("/healthz").get_json() == {"status": "ok"}


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


def test_every_malformed_or_hostile_body_gets_a_400_with_a_json_error(shared_client):
    failures = []
    for name, data in HOSTILE_BODIES.items():
        res = shared_client.post("/alexa", data=data, content_type="application/json")
        error = (res.get_json(silent=True) or {}).get("error") if res.is_json else None
        if res.status_code != 400 or not isinstance(error, str):
            failures.append(f"{name}: {res.status_code} {res.get_data(as_text=True)[:120]!r}")
    assert not failures, failures


def test_oversized_body_is_refused_before_it_is_read(shared_client):
    res = shared_client.post("/alexa", data=b"{" + b" " * (200 * 1024) + b"}", content_type="application/json")
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


def test_damaged_session_state_still_gets_a_real_answer_and_a_question(shared_client, new_user_id):
    """Not the apology of a crashed handler: the guide answers, asks, and listens."""
    apology = plain(Renderer(default_content()).text(Line("events.error"), "en-US"))
    failures = []
    for n, state in enumerate(DAMAGED_STATES):
        for intent_name in ("AMAZON.YesIntent", "AMAZON.HelpIntent", "AMAZON.PreviousIntent"):
            env = intent(intent_name, session_attributes={"guide": state}, new_session=False, user_id=new_user_id())
            res = shared_client.post("/alexa", json=env)
            body = res.get_json(silent=True) or {}
            text = plain(speech(body))
            if res.status_code != 200 or not text or apology in text or \
                    body["response"].get("shouldEndSession") is not False:
                failures.append(f"state {n} {state!r:.60} + {intent_name}: {res.status_code} {text[:80]!r}")
    assert not failures, f"{len(failures)} damaged states without a real answer:\n  " + "\n  ".join(failures)


class _Explodes(AbstractRequestHandler):
    """A handler that fails, standing in for any bug in a handler."""

    def can_handle(self, handler_input):
        return is_intent_name("AMAZON.YesIntent")(handler_input)

    def handle(self, handler_input):
        raise RuntimeError("boom")


def test_a_failing_handler_still_answers_in_speech_with_the_emergency_number(tmp_path):
    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "db.sqlite3"), "EXPOSE_PROMPT_KEYS": True})
    store = SQLitePersistenceAdapter(str(tmp_path / "other.sqlite3"))
    # Swap in a skill with a failing handler first in line; everything else is the real skill.
    app.extensions[endpoint.EXTENSION_KEY]._skill = build_skill(store, extra_handlers=[_Explodes()])
    response = app.test_client().post("/alexa", json=intent("AMAZON.YesIntent"))
    assert keys_of(response).say == ("events.error", "events.error_ask")  # "...call nine one one now"
    body = response.get_json()
    assert body["response"]["shouldEndSession"] is False and body["response"]["reprompt"]


def test_a_launch_without_context_from_an_older_device_is_answered(shared_client, new_user_id):
    """Older devices send envelopes without `context`; the endpoint's own check accepts them, and ask-sdk-core
    needs one (it read context.system and failed with AttributeError: a 400 before this was fixed)."""
    for request in (launch(user_id=new_user_id()),
                    intent("DescribeSymptomIntent", {"description": "i can't feel my legs"}, user_id=new_user_id())):
        request.pop("context")
        response = shared_client.post("/alexa", json=request)
        assert response.status_code == 200, response.get_data(as_text=True)
        said = keys_of(response).say
        assert said[0] in ("steps.stop_activity.say", "emergency.say"), said


def test_a_user_id_with_a_lone_surrogate_is_answered_without_a_traceback(shared_client, caplog):
    """JSON may carry "\\ud800"; hashing it for the log raised UnicodeEncodeError before the fix."""
    body = json.dumps(launch(user_id="amzn1.ask.account.SURROGATE")).replace(".SURROGATE", ".\\ud800SURROGATE")
    response = shared_client.post("/alexa", data=body, content_type="application/json")
    assert response.status_code == 200
    assert keys_of(response).say[0] == "steps.stop_activity.say"
    assert "Traceback" not in caplog.text and "UnicodeEncodeError" not in caplog.text


def test_unknown_session_attributes_are_not_echoed_back(shared_client, new_user_id):
    """Alexa echoes session attributes on every turn: a 30 KB stranger's key came back (over 24 KB) before the fix."""
    response = shared_client.post("/alexa", json=launch(user_id=new_user_id(), session_attributes={"junk": "x" * 30000}))
    assert response.status_code == 200
    assert set(response.get_json().get("sessionAttributes") or {}) <= {"guide"}
    assert len(response.get_data()) < 24_000


def test_a_session_end_for_someone_never_seen_stores_nothing(client, db_path):
    client.post("/alexa", json=session_ended(user_id="amzn1.ask.account.NEVERSEEN"))
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM user_attributes").fetchone() == (0,)


def _request(kind: str, **fields) -> dict:
    return envelope({"type": kind, "requestId": f"amzn1.echo-api.request.{kind}", "locale": "en-US",
                     "timestamp": "2026-11-29T08:00:00Z", **fields})


def test_can_fulfill_answers_yes_only_for_what_the_guide_is_for(shared_client):
    """Name-free interaction: a real answer, not a DispatchException traceback (as before the fix)."""
    def can_fulfill(name, slots=None):
        body = shared_client.post("/alexa", json=_request("CanFulfillIntentRequest",
                                                           intent={"name": name, "slots": slots or {}})).get_json()
        return body["response"]["canFulfillIntent"]

    assert can_fulfill("StartGuideIntent")["canFulfill"] == "YES"
    symptom = can_fulfill("SymptomIntent", {"symptom": {"name": "symptom", "value": "numb legs"}})
    assert symptom["canFulfill"] == "YES" and symptom["slots"]["symptom"]["canFulfill"] == "YES"
    assert can_fulfill("AMAZON.YesIntent")["canFulfill"] == "NO"


def test_request_types_the_skill_does_not_use_get_an_empty_answer_and_no_traceback(shared_client, caplog):
    caplog.set_level("INFO")
    for request in (_request("Display.ElementSelected", token="x"), _request("Messaging.MessageReceived", message={})):
        response = shared_client.post("/alexa", json=request)
        assert response.status_code == 200 and "outputSpeech" not in response.get_json()["response"]
    assert [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []


def test_session_ended_and_system_exception_requests_get_an_empty_answer(shared_client):
    for env in (session_ended("ERROR"), exception_encountered()):
        res = shared_client.post("/alexa", json=env)
        assert res.status_code == 200
        assert "outputSpeech" not in res.get_json()["response"]


# --------------------------------------------------------------------------- a failing store

# The two tests below break their own SQLite file on purpose, so they keep an app of their own.
def _progress(client) -> Conversation:
    convo = Conversation(client)
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    convo.say("AMAZON.YesIntent")  # on the cold pack step
    return convo


def test_a_corrupt_database_file_starts_the_skill_degraded_and_is_kept_for_recovery(tmp_path):
    """Random bytes at SKILL_DB made create_app raise (nothing listened, red flags included) before the fix."""
    path = tmp_path / "damaged.sqlite3"
    damage = bytes(range(256)) * 64
    path.write_bytes(damage)
    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(path), "EXPOSE_PROMPT_KEYS": True})
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "degraded"
    convo = Conversation(client, user_id="amzn1.ask.account.DEGRADED")
    convo.launch()
    assert "steps.stop_activity.say" in convo.keys.say
    convo.say("DescribeSymptomIntent", {"description": "i can't feel my legs"})
    assert "emergency.say" in convo.keys.say
    assert path.read_bytes() == damage  # never overwritten


def test_a_failed_save_is_told_to_the_user_and_recovered_at_session_end(client, db_path):
    convo = _progress(client)
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TRIGGER no_updates BEFORE UPDATE ON user_attributes "
                   "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    body = convo.say("AMAZON.YesIntent")  # pack on -> the timer offer, not saved
    assert "events.save_failed" in convo.keys.say
    assert body["sessionAttributes"]["guide"]["step"] == "pack_timer"  # the session still knows
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TRIGGER no_updates")
    convo.end()  # the session-end save catches up
    convo.launch()
    assert "titles.legs_1" in convo.keys.say


def test_an_emergency_that_could_not_be_saved_is_written_when_the_store_answers_again(client, db_path):
    """The emergency answer ends the session, so no session-end save follows: before the fix the next launch
    said "welcome back" instead of the emergency reminder."""
    convo = _progress(client)
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TRIGGER no_updates BEFORE UPDATE ON user_attributes "
                   "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    convo.say("DescribeSymptomIntent", {"description": "i can't feel my legs"})
    assert "emergency.say" in convo.keys.say
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TRIGGER no_updates")
    convo.launch()  # a new session: the store answers again
    assert "emergency.reminder" in convo.keys.say and "events.welcome_back" not in convo.keys.say
    assert client.application.extensions["skill_store"].flush(timeout=5)  # (written behind the answer)
    with sqlite3.connect(db_path) as db:  # and the record is on disk now
        (data,) = db.execute("SELECT data FROM user_attributes").fetchone()
    assert json.loads(data)["guide"]["last_emergency"] is not None


def test_an_unreadable_store_does_not_overwrite_saved_progress(client, db_path):
    convo = _progress(client)
    convo.end()
    with sqlite3.connect(db_path) as db:
        db.execute("ALTER TABLE user_attributes RENAME TO hidden")
    convo.launch()
    assert {"events.load_failed", "steps.stop_activity.say"} <= set(convo.keys.say)
    convo.end()
    with sqlite3.connect(db_path) as db:
        db.execute("ALTER TABLE hidden RENAME TO user_attributes")
    convo.launch()
    assert "titles.compress_cold" in convo.keys.say  # "shall we carry on with the cold pack?"


def test_logs_carry_request_id_and_hashed_user_but_no_raw_id_or_symptom(shared_client, new_user_id, caplog):
    caplog.set_level("INFO")
    user = new_user_id()
    convo = Conversation(shared_client, user_id=user)
    convo.launch()
    env = intent("AMAZON.YesIntent", session_attributes=convo.attributes, new_session=False,
                 session_id=convo.session_id, user_id=user)
    shared_client.post("/alexa", json=env)
    text = caplog.text
    assert env["request"]["requestId"] in text
    assert user not in text and user.rsplit(".", 1)[-1] not in text
    for word in ("numb", "tingling", "bladder", "peeing", "fever", "emergency", "yesintent", "nointent"):
        assert word not in text.lower()
    assert "IntentRequest/said" in text


def test_no_log_line_names_an_intent_that_says_something_about_health(shared_client, caplog):
    """A stable user hash next to "NumbIntent" or "SymptomIntent" would be health data in the log."""
    from skill.alexa.handlers import handled_intent_names
    from skill.alexa.interceptors import NAMED_IN_LOGS

    caplog.set_level("INFO")
    for name in sorted(handled_intent_names() - NAMED_IN_LOGS - {"DeleteDataIntent"}):
        shared_client.post("/alexa", json=intent(name, user_id="amzn1.ask.account.LOGCHECK"))
    named = sorted({name for name in handled_intent_names() - NAMED_IN_LOGS if f"/{name}" in caplog.text})
    assert named == []


# --------------------------------------------------------------------------- the Alexa-limits check itself

def test_the_alexa_limits_check_flags_each_response_alexa_would_reject(alexa_problems):
    """conftest.py runs this check on every response the test clients see: it must be able to fail."""
    ok = {"response": {"outputSpeech": {"type": "SSML", "ssml": "<speak>Hi. <break time=\"4s\"/> Ready?</speak>"},
                       "reprompt": {"outputSpeech": {"type": "SSML", "ssml": "<speak>Ready?</speak>"}},
                       "shouldEndSession": False}}
    speak = {"type": "SSML", "ssml": "<speak>Bye.</speak>"}
    rejected = {
        "speech over 8000 characters": {"response": {"outputSpeech": {"ssml": f"<speak>{'a' * 8001}</speak>"},
                                                     "shouldEndSession": True}},
        "not SSML": {"response": {"outputSpeech": {"ssml": "<speak>unclosed"}, "shouldEndSession": True}},
        "root is not speak": {"response": {"outputSpeech": {"ssml": "<p>hi</p>"}, "shouldEndSession": True}},
        "a break over 10 s": {"response": {"outputSpeech": {"ssml": '<speak><break time="11s"/></speak>'},
                                           "shouldEndSession": True}},
        "a break without a time": {"response": {"outputSpeech": {"ssml": "<speak><break/></speak>"},
                                                "shouldEndSession": True}},
        "open without a reprompt": {"response": {"outputSpeech": speak, "shouldEndSession": False}},
        "a reprompt but ends": {"response": {"outputSpeech": speak, "reprompt": {"outputSpeech": speak},
                                             "shouldEndSession": True}},
        "over 24 KB": {"response": {"outputSpeech": speak, "shouldEndSession": True,
                                    "card": {"type": "Simple", "title": "t", "content": "x" * 25_000}}},
    }
    assert alexa_problems(ok) == []
    missed = [name for name, body in rejected.items() if not alexa_problems(body)]
    assert not missed, missed


def test_every_response_of_a_test_is_checked_against_the_alexa_limits(shared_client, module_app):
    shared_client.post("/alexa", json=launch())
    checked = module_app.config["CHECKED_RESPONSES"]
    assert len(checked) == 1 and checked[0][0]["response"]["outputSpeech"]


def test_prompt_keys_are_named_in_a_header_only_when_configured(tmp_path):
    """The keys travel beside the Alexa response, never in it, and only from an app made to show them."""
    hidden = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "hidden.sqlite3")})
    shown = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "shown.sqlite3"),
                        "EXPOSE_PROMPT_KEYS": True})
    plain_answer = hidden.test_client().post("/alexa", json=launch())
    answer = shown.test_client().post("/alexa", json=launch())
    assert endpoint.KEYS_HEADER not in plain_answer.headers
    keys = json.loads(answer.headers[endpoint.KEYS_HEADER])
    assert keys == {"say": ["steps.stop_activity.say", "steps.screening_intro.say", "steps.screen_saddle.ask"],
                    "reprompt": ["steps.screen_saddle.reprompt"], "card": [], "triage": None, "heard": None}
    assert answer.get_json()["response"] == plain_answer.get_json()["response"]
    assert "steps." not in answer.get_data(as_text=True)
