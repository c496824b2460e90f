"""Real Alexa request envelopes, shaped like Amazon's request reference, for tests.

``Conversation`` carries session attributes from one response into the next request, the way
Alexa does, and starts a new session after one ends.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

APPLICATION_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
USER_ID = "amzn1.ask.account.TESTUSER"
DEVICE_ID = "amzn1.ask.device.TESTDEVICE"


def _timestamp(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    request: dict,
    *,
    session_attributes: dict | None = None,
    new_session: bool = True,
    session_id: str | None = None,
    user_id: str = USER_ID,
    application_id: str = APPLICATION_ID,
    locale: str = "en-US",
    now: datetime | None = None,
    api_endpoint: str = "https://api.amazonalexa.com",
    with_session: bool = True,
) -> dict:
    request = {"requestId": f"amzn1.echo-api.request.{uuid.uuid4()}", "timestamp": _timestamp(now), "locale": locale, **request}
    env = {
        "version": "1.0",
        "context": {
            "System": {
                "application": {"applicationId": application_id},
                "user": {"userId": user_id},
                "device": {"deviceId": DEVICE_ID, "supportedInterfaces": {}},
                "apiEndpoint": api_endpoint,
                "apiAccessToken": "test-access-token",
            }
        },
        "request": request,
    }
    if with_session:
        env["session"] = {
            "new": new_session,
            "sessionId": session_id or f"amzn1.echo-api.session.{uuid.uuid4()}",
            "application": {"applicationId": application_id},
            "user": {"userId": user_id},
            "attributes": session_attributes or {},
        }
    return env


def launch(**kw) -> dict:
    return envelope({"type": "LaunchRequest"}, **kw)


def intent(name: str, slots: dict | None = None, **kw) -> dict:
    slot_objs = {}
    for slot_name, value in (slots or {}).items():
        # A dict is a whole slot object (e.g. from resolved_slot); a string is an unresolved value.
        slot_objs[slot_name] = value if isinstance(value, dict) else {
            "name": slot_name, "value": value, "confirmationStatus": "NONE"}
    body = {"type": "IntentRequest", "dialogState": "COMPLETED",
            "intent": {"name": name, "confirmationStatus": "NONE", "slots": slot_objs}}
    return envelope(body, **kw)


def resolved_slot(name: str, spoken: str, value_id: str, value_name: str) -> dict:
    """A custom slot as Alexa sends it after entity resolution matched a value."""
    return {
        "name": name,
        "value": spoken,
        "confirmationStatus": "NONE",
        "resolutions": {"resolutionsPerAuthority": [{
            "authority": "amzn1.er-authority.echo-sdk.TEST.STEP_NAME",
            "status": {"code": "ER_SUCCESS_MATCH"},
            "values": [{"value": {"name": value_name, "id": value_id}}],
        }]},
    }


def session_ended(reason: str = "USER_INITIATED", **kw) -> dict:
    return envelope({"type": "SessionEndedRequest", "reason": reason}, **kw)


def skill_disabled(**kw) -> dict:
    kw.setdefault("with_session", False)
    return envelope({"type": "AlexaSkillEvent.SkillDisabled", "eventCreationTime": _timestamp(kw.get("now"))}, **kw)


def exception_encountered(**kw) -> dict:
    kw.setdefault("with_session", False)
    return envelope({"type": "System.ExceptionEncountered",
                     "error": {"type": "INVALID_RESPONSE", "message": "test"},
                     "cause": {"requestId": "amzn1.echo-api.request.previous"}}, **kw)


class Conversation:
    """Talks to the skill through the Flask test client the way Alexa would."""

    def __init__(self, client, *, user_id: str = USER_ID, locale: str = "en-US", now: datetime | None = None):
        self.client = client
        self.user_id = user_id
        self.locale = locale
        self.now = now
        self.session_id: str | None = None
        self.attributes: dict = {}
        self.transcript: list[tuple[str, str]] = []
        self.last: dict | None = None

    @property
    def in_session(self) -> bool:
        return self.session_id is not None

    def advance(self, **delta) -> None:
        """Move the conversation's clock forward (for relaunch-after-a-gap tests)."""
        self.now = (self.now or datetime.now(timezone.utc)) + timedelta(**delta)

    def _send(self, env: dict, label: str) -> dict:
        res = self.client.post("/alexa", data=json.dumps(env), content_type="application/json")
        assert res.status_code == 200, (res.status_code, res.get_data(as_text=True))
        body = res.get_json()
        self.last = body
        response = body.get("response", {})
        speech = (response.get("outputSpeech") or {}).get("ssml", "")
        self.transcript.append((label, speech))
        if response.get("shouldEndSession") is not False and env["request"]["type"] != "SessionEndedRequest":
            self.session_id = None
            self.attributes = {}
            return body
        self.attributes = body.get("sessionAttributes") or {}
        return body

    def _kw(self) -> dict:
        new = self.session_id is None
        if new:
            self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
            self.attributes = {}
        return dict(session_attributes=self.attributes, new_session=new, session_id=self.session_id,
                    user_id=self.user_id, locale=self.locale, now=self.now)

    def launch(self) -> dict:
        self.session_id = None
        return self._send(launch(**self._kw()), "open back spasm coach")

    def say(self, intent_name: str, slots: dict | None = None, label: str | None = None) -> dict:
        return self._send(intent(intent_name, slots, **self._kw()), label or intent_name)

    def say_env(self, env_builder, label: str) -> dict:
        return self._send(env_builder(**self._kw()), label)

    def end(self, reason: str = "USER_INITIATED") -> dict:
        if self.session_id is None:
            self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
        res = self._send(session_ended(reason, **self._kw()), f"(session ended: {reason})")
        self.session_id = None
        self.attributes = {}
        return res


def speech(body: dict) -> str:
    return ((body.get("response") or {}).get("outputSpeech") or {}).get("ssml", "")


def reprompt(body: dict) -> str:
    return (((body.get("response") or {}).get("reprompt") or {}).get("outputSpeech") or {}).get("ssml", "")
