"""Request envelopes shaped like Amazon's request reference (request-and-response-json-reference).

Every envelope carries what a real device sends: ``context.System`` with the application, user,
device and its supported interfaces, ``apiEndpoint`` and ``apiAccessToken`` (pointing at the fake
Alexa API), and, for devices with a player, ``context.AudioPlayer``. Timestamps come from the
simulated clock, request ids are fresh. Requests that Alexa sends outside a session (AudioPlayer,
PlaybackController, skill events) carry no ``session``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

DEFAULT_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-00000000b5c0"

# What each simulated device says it supports (context.System.device.supportedInterfaces).
DEVICE_PROFILES = {
    # An Echo or Echo Dot: voice only, with a music player.
    "speaker": {"AudioPlayer": {}},
    # An Echo Show: a screen with APL, and a player.
    "show": {"AudioPlayer": {}, "Alexa.Presentation.APL": {"runtime": {"maxVersion": "2024.1"}}},
    # A device or group that cannot play long-form audio.
    "no-audio": {},
}


def timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(kind: str) -> str:
    return f"amzn1.echo-api.{kind}.{uuid.uuid4()}"


@dataclass
class Session:
    """An Alexa session as the device keeps it: id, whether it is new, the attributes it echoes."""

    session_id: str = field(default_factory=lambda: new_id("session"))
    new: bool = True
    attributes: dict = field(default_factory=dict)


@dataclass
class Player:
    """The device's audio player, reported in context.AudioPlayer."""

    token: str | None = None
    offset_ms: int = 0
    activity: str = "IDLE"  # IDLE | PLAYING | PAUSED | FINISHED | STOPPED | BUFFER_UNDERRUN


@dataclass
class Identity:
    skill_id: str = DEFAULT_SKILL_ID
    user_id: str = "amzn1.ask.account.SIMULATED-USER"
    device_id: str = "amzn1.ask.device.SIMULATED-DEVICE"
    locale: str = "en-US"
    device: str = "speaker"
    api_endpoint: str = "https://api.amazonalexa.com"
    api_access_token: str = "simulated-token"

    @property
    def interfaces(self) -> dict:
        return DEVICE_PROFILES[self.device]


class EnvelopeFactory:
    def __init__(self, identity: Identity, now):
        self.identity = identity
        self.now = now  # a callable returning the simulated time

    def _context(self, player: Player | None) -> dict:
        ident = self.identity
        system = {
            "application": {"applicationId": ident.skill_id},
            "user": {"userId": ident.user_id},
            "device": {"deviceId": ident.device_id, "supportedInterfaces": ident.interfaces},
            "apiEndpoint": ident.api_endpoint,
            "apiAccessToken": ident.api_access_token,
        }
        context = {"System": system}
        if "AudioPlayer" in ident.interfaces:
            player = player or Player()
            audio = {"playerActivity": player.activity}
            if player.token:
                audio.update(token=player.token, offsetInMilliseconds=player.offset_ms)
            context["AudioPlayer"] = audio
        if "Alexa.Presentation.APL" in ident.interfaces:
            context["Viewport"] = {"experiences": [{"canRotate": False, "canResize": False}], "shape": "RECTANGLE",
                                   "pixelWidth": 1280, "pixelHeight": 800, "dpi": 160, "currentPixelWidth": 1280,
                                   "currentPixelHeight": 800, "touch": ["SINGLE"]}
        return context

    def envelope(self, request: dict, session: Session | None = None, player: Player | None = None) -> dict:
        body = {"requestId": new_id("request"), "timestamp": timestamp(self.now()), "locale": self.identity.locale}
        body.update(request)
        env = {"version": "1.0", "context": self._context(player), "request": body}
        if session is not None:
            env["session"] = {
                "new": session.new,
                "sessionId": session.session_id,
                "application": {"applicationId": self.identity.skill_id},
                "attributes": dict(session.attributes),
                "user": {"userId": self.identity.user_id},
            }
        return env

    # ---------------------------------------------------------------- request kinds
    def launch(self, session: Session, task: dict | None = None, player: Player | None = None) -> dict:
        request = {"type": "LaunchRequest"}
        if task is not None:  # a LAUNCH_TASK timer or another skill's task
            request["task"] = task
        return self.envelope(request, session, player)

    def intent(self, name: str, slots: dict, session: Session, player: Player | None = None) -> dict:
        request = {"type": "IntentRequest", "dialogState": "COMPLETED",
                   "intent": {"name": name, "confirmationStatus": "NONE", "slots": slots}}
        return self.envelope(request, session, player)

    def session_ended(self, reason: str, session: Session, error: dict | None = None) -> dict:
        request = {"type": "SessionEndedRequest", "reason": reason}
        if error:
            request["error"] = error
        return self.envelope(request, session)

    def connections_response(self, name: str, payload: dict, token: str, session: Session,
                             code: str = "200", message: str = "OK") -> dict:
        """The answer to a Connections.SendRequest. For AskFor (voice permission consent) Alexa sends
        ``status.code`` "200" whatever the person answered; the answer is ``payload.status``
        (ACCEPTED, DENIED or NOT_ANSWERED) with ``payload.permissionScope``. Another code means the
        request itself failed."""
        request = {"type": "Connections.Response", "name": name, "status": {"code": code, "message": message},
                   "payload": payload, "token": token}
        return self.envelope(request, session)

    def skill_event(self, kind: str, session: Session | None = None) -> dict:
        """AlexaSkillEvent.SkillEnabled | SkillDisabled | ...: Alexa sends these outside any session."""
        request = {"type": f"AlexaSkillEvent.{kind}", "eventCreationTime": timestamp(self.now())}
        return self.envelope(request, session)

    def exception_encountered(self, error: dict, cause_request_id: str, session: Session | None = None) -> dict:
        """System.ExceptionEncountered: Alexa reporting that the skill's last response was unusable."""
        request = {"type": "System.ExceptionEncountered", "error": error, "cause": {"requestId": cause_request_id}}
        return self.envelope(request, session)

    def audio_player(self, event: str, player: Player, error: dict | None = None) -> dict:
        """AudioPlayer.PlaybackStarted | PlaybackNearlyFinished | PlaybackFinished | PlaybackStopped | PlaybackFailed."""
        request = {"type": f"AudioPlayer.{event}", "token": player.token, "offsetInMilliseconds": player.offset_ms}
        if error:
            request["error"] = error
            request["currentPlaybackState"] = {"token": player.token, "offsetInMilliseconds": player.offset_ms,
                                               "playerActivity": player.activity}
        return self.envelope(request, None, player)

    def playback_controller(self, command: str, player: Player) -> dict:
        """PlaybackController.PlayCommandIssued | PauseCommandIssued | NextCommandIssued | PreviousCommandIssued."""
        return self.envelope({"type": f"PlaybackController.{command}CommandIssued"}, None, player)
