"""What a hostile or odd request can make the skill send back or write to its log (issue 22, finding 10),
through the real app and a real SQLite file: no session attributes echoed by the request types that don't use
the session, no traceback flood from deep nesting, a context without System answered, and log lines that
copy a request's own text bounded and escaped."""

from __future__ import annotations

import json
import logging

import pytest

from envelopes import envelope, intent, launch
from said import keys_of

# About 120 KB once encoded (under the body limit of 128 KB): each "é" becomes six bytes of JSON.
BULKY = {"junk": "é" * 20_000, "guide": {"step": "not ours to echo"}}


def _request(kind: str, **fields) -> dict:
    return envelope({"type": kind, "requestId": f"amzn1.echo-api.request.{kind}", "locale": "en-US",
                     "timestamp": "2026-11-29T08:00:00Z", **fields}, session_attributes=BULKY)


SESSIONLESS_REQUESTS = {
    "CanFulfillIntentRequest": {"intent": {"name": "StartGuideIntent", "slots": {}}},
    "AlexaSkillEvent.SkillDisabled": {},
    "AlexaSkillEvent.SkillEnabled": {},
    "PlaybackController.PlayCommandIssued": {},
    "PlaybackController.NextCommandIssued": {},
    "AudioPlayer.PlaybackStarted": {"token": "x", "offsetInMilliseconds": 0},
    "Display.ElementSelected": {"token": "x"},
    "Messaging.MessageReceived": {"message": {}},
}


@pytest.mark.parametrize("kind", list(SESSIONLESS_REQUESTS))
def test_request_types_that_do_not_use_the_session_echo_none_of_it(shared_client, kind):
    """Before the fix each of these sent the request's attributes back whole (376 KB measured from outside)."""
    response = shared_client.post("/alexa", json=_request(kind, **SESSIONLESS_REQUESTS[kind]))
    assert response.status_code == 200
    assert not response.get_json().get("sessionAttributes")
    assert len(response.get_data()) < 1024


def test_a_turn_echoes_only_the_skills_own_session_attributes(shared_client, new_user_id):
    response = shared_client.post("/alexa", json=launch(user_id=new_user_id(), session_attributes={"junk": "é" * 20_000}))
    assert set(response.get_json()["sessionAttributes"]) == {"guide"}
    assert len(response.get_data()) < 24 * 1024


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [100, 600, 900])
def test_deeply_nested_attributes_get_a_400_and_no_traceback_flood(shared_client, caplog, depth):
    """600 levels passed json.loads and broke ask-sdk's deserialiser with a RecursionError: a 160 KB traceback
    in the log per request."""
    caplog.set_level(logging.INFO)
    body = json.dumps(launch()).replace('"attributes": {}', f'"attributes": {_nested(depth)}')
    assert _nested(depth) in body
    response = shared_client.post("/alexa", data=body, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]
    assert len(caplog.text) < 2000 and "Traceback" not in caplog.text


def test_a_conversation_nests_well_inside_the_limit(shared_client, new_user_id):
    """The limit refuses no real envelope: the skill's own record, echoed back in a request, nests less than half
    as deep, and such a request is answered."""
    from envelopes import Conversation
    from skill.web.endpoint import MAX_NESTING, nesting_depth

    convo = Conversation(shared_client, user_id=new_user_id())
    convo.launch()
    for answer in ["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"] * 3:
        convo.say(answer)
    request = intent("AMAZON.NextIntent", session_attributes=convo.attributes, new_session=False,
                     session_id=convo.session_id, user_id=convo.user_id)
    assert convo.attributes["guide"]["episode"] and nesting_depth(request) <= MAX_NESTING // 2
    assert shared_client.post("/alexa", json=request).status_code == 200


def test_a_context_without_system_is_answered_from_the_session(shared_client, new_user_id):
    """``"context": {}`` with a session passed the endpoint's checks and failed in ask-sdk with AttributeError."""
    for request in (launch(user_id=new_user_id()),
                    intent("DescribeSymptomIntent", {"description": "i can't feel my legs"}, user_id=new_user_id())):
        request["context"] = {"AudioPlayer": {"playerActivity": "IDLE"}}
        response = shared_client.post("/alexa", json=request)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert keys_of(response).say[0] in ("steps.stop_activity.say", "emergency.say")


def test_what_a_log_line_copies_from_a_request_is_bounded_and_escaped(shared_client, caplog):
    """A 60 KB request id, an intent name and request types with newlines were copied into the log raw: one
    request could write 60 KB, or a line of its own choosing."""
    caplog.set_level(logging.INFO)
    forged = "\n2026-11-29 08:00:00,000 ERROR skill.web.endpoint FORGED"
    requests = [intent("NoSuchIntent" + forged + "x" * 20_000), _request("Display.ElementSelected" + forged),
                _request("System.ExceptionEncountered", error={"type": "INVALID_RESPONSE", "message": forged * 500},
                         cause={"requestId": "x"})]
    for request in requests:
        request["request"]["requestId"] = "amzn1.echo-api.request." + "r" * 60_000 + forged
        shared_client.post("/alexa", json=request)
    lines = caplog.text.splitlines()
    assert lines and all(len(line) < 700 for line in lines), max(map(len, lines))
    assert not any(line.startswith("2026-11-29") or "FORGED" in line.split("\\n")[0] for line in lines)
