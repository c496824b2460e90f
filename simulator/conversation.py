"""Conversations at the level of intents: request envelopes by name, and a caller that keeps a session.

Where ``Device`` hears words and resolves them, this module is for callers that already know the
request they want: tests, the benchmark, the scripts. Everything is built by ``EnvelopeFactory``, so
the envelopes are the simulator's own (Amazon's shape; ask-sdk-model reads them), for a fixed
identity with no audio player or screen.

The one-call builders (``launch``, ``intent``, ``envelope``...) make a single envelope, stamped with
the real time unless ``now`` is given. ``Conversation`` talks to the skill the way Alexa does: it
carries the session attributes of each answer into the next request and starts a new session after
one has ended; ``keys`` is what its last answer said, by prompt key (from an app that shows them).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from simulator.envelopes import EnvelopeFactory, Identity, Session, new_id
from simulator.transport import InProcessTransport, PromptKeys

APPLICATION_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
USER_ID = "amzn1.ask.account.TESTUSER"
DEVICE_ID = "amzn1.ask.device.TESTDEVICE"
ACCESS_TOKEN = "test-access-token"
# Where these envelopes say the Alexa APIs are: a loopback port nothing listens on, so a skill under test
# that calls an API (a timer, the device's time zone) gets "connection refused" at once and never reaches
# the internet. Tests of the APIs themselves use the simulator's fake (simulator.fake_api).
NO_ALEXA_API = "https://127.0.0.1:9"


def factory(*, user_id: str = USER_ID, application_id: str = APPLICATION_ID, locale: str = "en-US",
            now: datetime | None = None, api_endpoint: str = NO_ALEXA_API) -> EnvelopeFactory:
    """An EnvelopeFactory for one voice-only device, its clock fixed at ``now`` (else the real time)."""
    identity = Identity(skill_id=application_id, user_id=user_id, device_id=DEVICE_ID, locale=locale,
                        device="no-audio", api_endpoint=api_endpoint, api_access_token=ACCESS_TOKEN)
    return EnvelopeFactory(identity, lambda: now or datetime.now(timezone.utc))


def _parts(*, session_attributes: dict | None = None, new_session: bool = True, session_id: str | None = None,
           with_session: bool = True, **identity) -> tuple[EnvelopeFactory, Session | None]:
    session = None
    if with_session:
        session = Session(session_id=session_id or new_id("session"), new=new_session,
                          attributes=session_attributes or {})
    return factory(**identity), session


def envelope(request: dict, **kw) -> dict:
    """Any request in an envelope; its own keys win over the generated id, timestamp and locale.

    Keywords: ``session_attributes``, ``new_session``, ``session_id``, ``with_session`` (False: no
    ``session``, as for skill events) and the identity's ``user_id``, ``application_id``, ``locale``,
    ``now``, ``api_endpoint``.
    """
    made, session = _parts(**kw)
    return made.envelope(request, session)


def launch(**kw) -> dict:
    made, session = _parts(**kw)
    return made.launch(session)


def slot(name: str, value) -> dict:
    """A slot object: a dict is already one (e.g. from ``resolved_slot``), a string is an unresolved value."""
    return value if isinstance(value, dict) else {"name": name, "value": value, "confirmationStatus": "NONE"}


def intent(name: str, slots: dict | None = None, **kw) -> dict:
    made, session = _parts(**kw)
    return made.intent(name, {slot_name: slot(slot_name, value) for slot_name, value in (slots or {}).items()},
                       session)


def resolved_slot(name: str, spoken: str, value_id: str, value_name: str, slot_type: str = "STEP_NAME") -> dict:
    """A custom slot as Alexa sends it after entity resolution matched a value."""
    return {
        "name": name,
        "value": spoken,
        "confirmationStatus": "NONE",
        "resolutions": {"resolutionsPerAuthority": [{
            "authority": f"amzn1.er-authority.echo-sdk.TEST.{slot_type}",
            "status": {"code": "ER_SUCCESS_MATCH"},
            "values": [{"value": {"name": value_name, "id": value_id}}],
        }]},
    }


def session_ended(reason: str = "USER_INITIATED", **kw) -> dict:
    made, session = _parts(**kw)
    return made.session_ended(reason, session)


def skill_disabled(**kw) -> dict:
    kw.setdefault("with_session", False)
    made, session = _parts(**kw)
    return made.skill_event("SkillDisabled", session)


def exception_encountered(**kw) -> dict:
    kw.setdefault("with_session", False)
    made, session = _parts(**kw)
    return made.exception_encountered({"type": "INVALID_RESPONSE", "message": "test"},
                                      "amzn1.echo-api.request.previous", session)


class Conversation:
    """Talks to the skill the way Alexa would, one intent at a time.

    ``client`` is a Flask test client (or anything with its ``post``), or a simulator transport
    (anything with ``post(envelope) -> Answer``, e.g. ``HttpTransport`` for a running skill).
    """

    def __init__(self, client, *, user_id: str = USER_ID, locale: str = "en-US", now: datetime | None = None):
        self.transport = client if hasattr(client, "send") else InProcessTransport(client=client)
        self.user_id = user_id
        self.locale = locale
        self.now = now
        self.session: Session | None = None
        self.transcript: list[tuple[str, str]] = []
        self.last: dict | None = None
        self.keys = PromptKeys(shown=False)  # what the last answer said, by prompt key

    @property
    def in_session(self) -> bool:
        return self.session is not None

    @property
    def session_id(self) -> str | None:
        return self.session.session_id if self.session else None

    @property
    def attributes(self) -> dict:
        return self.session.attributes if self.session else {}

    def advance(self, **delta) -> None:
        """Move the conversation's clock forward (for relaunch-after-a-gap tests)."""
        self.now = (self.now or datetime.now(timezone.utc)) + timedelta(**delta)

    def _send(self, env: dict, label: str) -> dict:
        answer = self.transport.post(env)
        body, self.keys = answer.body, answer.keys
        self.last = body
        response = body.get("response", {})
        self.transcript.append((label, speech(body)))
        if response.get("shouldEndSession") is not False and env["request"]["type"] != "SessionEndedRequest":
            self.session = None
        elif self.session is not None:
            self.session.new = False
            self.session.attributes = body.get("sessionAttributes") or {}
        return body

    def _kw(self) -> dict:
        """The session and identity for the next request, opening a session if none is open."""
        if self.session is None:
            self.session = Session()
        return dict(session_attributes=self.session.attributes, new_session=self.session.new,
                    session_id=self.session.session_id, user_id=self.user_id, locale=self.locale, now=self.now)

    def launch(self) -> dict:
        self.session = None
        return self._send(launch(**self._kw()), "open back spasm coach")

    def say(self, intent_name: str, slots: dict | None = None, label: str | None = None) -> dict:
        return self._send(intent(intent_name, slots, **self._kw()), label or intent_name)

    def say_env(self, env_builder, label: str) -> dict:
        return self._send(env_builder(**self._kw()), label)

    def end(self, reason: str = "USER_INITIATED") -> dict:
        res = self._send(session_ended(reason, **self._kw()), f"(session ended: {reason})")
        self.session = None
        return res


def speech(body: dict) -> str:
    """The SSML of a response envelope's outputSpeech, "" if none."""
    return ((body.get("response") or {}).get("outputSpeech") or {}).get("ssml", "")


def reprompt(body: dict) -> str:
    """The SSML of a response envelope's reprompt, "" if none."""
    return (((body.get("response") or {}).get("reprompt") or {}).get("outputSpeech") or {}).get("ssml", "")
