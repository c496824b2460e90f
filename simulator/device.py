"""A simulated Alexa device: turns what a person says into requests and plays back the answers.

It behaves towards the skill as Alexa does, as far as this skill can tell:

- "open back spasm coach" starts a session with a LaunchRequest; "tell back spasm coach ..." starts
  one with an IntentRequest; anything else said in a session is resolved against the model.
- The session stays open only while the skill's response has ``shouldEndSession: false``; session
  attributes are carried from each response into the next request; a new session gets a new id.
- Silence: the first time, the reprompt is spoken; the second, the session ends with a
  SessionEndedRequest (EXCEEDED_MAX_REPROMPTS). "exit" ends it with USER_INITIATED; "stop" and
  "cancel" are intents the skill answers, as on a real device.
- Connections.SendRequest AskFor (voice permission consent) waits for ``consent(accept)``, which
  sends the Connections.Response (ACCEPTED or DENIED) and grants the scope in the fake Alexa API.
- Time passes only on ``wait()``: timers and reminders held by the fake API fire (ANNOUNCE is
  spoken, LAUNCH_TASK relaunches the skill with its task), and AudioPlayer playback advances,
  sending PlaybackStarted / PlaybackNearlyFinished / PlaybackFinished to the skill.
- AudioPlayer.Play fetches the stream first (``fetch``, see simulator/streams.py): one that can't be
  had is reported with PlaybackFailed. AudioPlayer.Stop is reported with PlaybackStopped and the offset.
  While a session is open (the person is talking to Alexa) the track holds still, as a device's does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import timedelta

from simulator.envelopes import EnvelopeFactory, Identity, Player, Session
from simulator.speech import announced_key, directive_summary, output_text, plain_card
from simulator.transport import PromptKeys

# Said in a session, these end it from Alexa's side (USER_INITIATED), not through an intent.
EXIT_WORDS = {"exit", "quit", "alexa exit", "alexa quit", "goodbye alexa"}
# Long-form audio whose length the simulator cannot measure plays for this long.
DEFAULT_AUDIO_SECONDS = 180
# PlaybackNearlyFinished is sent this long before the end of a stream.
NEARLY_FINISHED_SECONDS = 10


@dataclass
class Exchange:
    """One thing that happened: a request and the skill's answer, or a note from the device."""

    label: str  # what the person did, e.g. 'said "yes"', '(silence)', '(timer fired)'
    request: dict | None = None
    response: dict | None = None
    speech: str = ""
    reprompt: str = ""
    card: str = ""
    directives: str = ""
    note: str = ""  # e.g. "(reprompt)", "⏰ announcement", "session ended"
    # What was said, by prompt key (when the skill shows its keys): for a reprompt spoken on silence, the
    # reprompt's keys; for an alert, the key of the words it announces.
    keys: PromptKeys = PromptKeys(shown=False)
    explanation: list[str] = field(default_factory=list)
    progressive: list[str] = field(default_factory=list)

    @property
    def request_type(self) -> str | None:
        return (self.request or {}).get("request", {}).get("type")

    @property
    def intent(self) -> str | None:
        return ((self.request or {}).get("request", {}).get("intent") or {}).get("name")

    @property
    def ends_session(self) -> bool | None:
        response = (self.response or {}).get("response") or {}
        return response.get("shouldEndSession")


@dataclass
class Stream:
    token: str
    url: str
    offset_ms: int = 0
    duration_ms: int = DEFAULT_AUDIO_SECONDS * 1000
    nearly_sent: bool = False


class Device:
    def __init__(self, transport, resolver, clock, identity: Identity | None = None, api=None,
                 audio_length=None, fetch=None):
        self.transport = transport
        self.resolver = resolver
        self.clock = clock
        self.identity = identity or Identity()
        self.api = api  # a FakeAlexaApi, or None
        if api is not None:
            self.identity.api_endpoint = api.url
            self.identity.api_access_token = api.register_user(self.identity.user_id)
        self.envelopes = EnvelopeFactory(self.identity, clock.now)
        self.session: Session | None = None
        self.reprompt: str = ""
        self.reprompt_keys: tuple[str, ...] = ()
        self.silences = 0
        self.pending_consent: dict | None = None  # the AskFor directive waiting for an answer
        self.player = Player()
        self.stream: Stream | None = None
        self.queue: list[Stream] = []
        # How long a stream plays: a callable(url) -> seconds or None (e.g. measured from the file).
        self.audio_length = audio_length
        # How the device gets a stream: a callable(url) -> simulator.streams.Fetched (its length, or why
        # it can't be played). None: every stream plays, for ``audio_length`` or DEFAULT_AUDIO_SECONDS.
        self.fetch = fetch
        # AudioPlayer events due to be sent to the skill: (event, the player as it reports it, error).
        self._pending_audio: list[tuple[str, Player, dict | None]] = []

    # ------------------------------------------------------------------ what a person does
    def say(self, text: str) -> list[Exchange]:
        words = " ".join(text.lower().replace(",", " ").split())
        if self.session is not None and words in EXIT_WORDS:
            return [self._end_session("USER_INITIATED", f'said "{text}"')]
        owns_audio = self.stream is not None and self.player.activity in ("PLAYING", "PAUSED", "STOPPED")
        turn = self.resolver.resolve_turn(text, in_session=self.session is not None, owns_audio=owns_audio)
        if turn.request_type is None:
            return [Exchange(label=f'said "{text}"', note="(Alexa would not send this to the skill: "
                                                          "start with \"open back spasm coach\")")]
        if turn.request_type == "LaunchRequest":
            self._new_session()
            env = self.envelopes.launch(self.session, player=self.player)
        else:
            if self.session is None:  # a one-shot starts its own session
                self._new_session()
            res = turn.resolution
            env = self.envelopes.intent(res.intent, res.slots, self.session, player=self.player)
        exchange = self._send(env, f'said "{text}"')
        exchange.explanation = list(getattr(turn.resolution, "explanation", None) or []) if turn.resolution else []
        if turn.invocation is not None:
            exchange.explanation.insert(0, f"invocation: {turn.invocation.kind} ({turn.invocation.matched!r})")
        return [exchange] + self._audio_events()

    def silence(self) -> list[Exchange]:
        if self.session is None:
            return [Exchange(label="(silence)", note="(no session is open)")]
        self.silences += 1
        if self.silences == 1 and self.reprompt:
            return [Exchange(label="(silence)", speech=self.reprompt, note="(reprompt)",
                             keys=PromptKeys(say=self.reprompt_keys))]
        return [self._end_session("EXCEEDED_MAX_REPROMPTS", "(silence)")]

    def consent(self, accept: bool) -> list[Exchange]:
        directive = self.pending_consent
        if directive is None:
            return [Exchange(label="(consent)", note="(no permission request is waiting)")]
        self.pending_consent = None
        payload = directive.get("payload") or {}
        scopes = [p.get("permissionScope") for p in payload.get("permissionScopes", [])]
        status = "ACCEPTED" if accept else "DENIED"
        if accept and self.api is not None:
            for scope in scopes:
                self.api.grant(self.identity.user_id, scope)
        self._new_session()
        env = self.envelopes.connections_response(
            directive.get("name", "AskFor"), {"permissionScope": scopes[0] if scopes else None, "status": status},
            directive.get("token", ""), self.session)
        return [self._send(env, f"(consent {status.lower()})")] + self._audio_events()

    def button(self, command: str) -> list[Exchange]:
        """A play/pause/next/previous button press on the device (PlaybackController)."""
        command = command.capitalize()
        if command == "Pause" and self.stream is not None:
            self.player.activity = "PAUSED"
        env = self.envelopes.playback_controller(command, self._sync_player())
        return [self._send(env, f"(button {command.lower()})", session_request=False)] + self._audio_events()

    def wait(self, delta: timedelta) -> list[Exchange]:
        """Let time pass: alerts fire and audio plays, in the order they happen."""
        exchanges: list[Exchange] = []
        end = self.clock.now() + delta
        if self.session is not None and delta.total_seconds() > 8:
            # Nobody answered within the microphone's few seconds.
            exchanges += self.silence()
            if self.session is not None:
                exchanges += self.silence()
        for _ in range(10_000):  # bounded: each pass moves time forward or stops
            step_to = min([end] + [t for t in (self._next_audio_event_time(),) if t is not None])
            if step_to > self.clock.now():
                self._advance_audio(step_to - self.clock.now())
                self.clock.set(step_to)
            exchanges += self._fire_alerts()
            exchanges += self._audio_events()
            if self.clock.now() >= end:
                break
        return exchanges

    # ------------------------------------------------------------------ sessions and sending
    def _new_session(self) -> None:
        self.session = Session()
        self.reprompt = ""
        self.silences = 0
        if self.api is not None:
            self.api.set_in_session(self.identity.user_id, True)

    def _close_session(self) -> None:
        self.session = None
        self.reprompt = ""
        self.silences = 0
        if self.api is not None:
            self.api.set_in_session(self.identity.user_id, False)

    def _end_session(self, reason: str, label: str) -> Exchange:
        env = self.envelopes.session_ended(reason, self.session)
        exchange = self._send(env, label)
        exchange.note = f"(session ended: {reason})"
        self._close_session()
        return exchange

    def _send(self, env: dict, label: str, session_request: bool = True) -> Exchange:
        progressive_before = len(self.api.progressive(self.identity.user_id)) if self.api is not None else 0
        answer = self.transport.post(env)
        body = answer.body
        response = body.get("response") or {}
        exchange = Exchange(label=label, request=copy.deepcopy(env), response=body,
                            speech=output_text(response.get("outputSpeech")),
                            reprompt=output_text((response.get("reprompt") or {}).get("outputSpeech")),
                            card=plain_card(response.get("card")),
                            directives=directive_summary(response.get("directives")), keys=answer.keys)
        if self.api is not None:
            exchange.progressive = [p.get("speech", "") if isinstance(p, dict) else str(p)
                                    for p in self.api.progressive(self.identity.user_id)[progressive_before:]]
        request_type = env["request"]["type"]
        if request_type == "SessionEndedRequest" or not session_request:
            self._play_directives(response.get("directives") or [])
            return exchange
        if self.session is not None:
            self.session.new = False
            self.session.attributes = body.get("sessionAttributes") or {}
        self.silences = 0
        self.reprompt = exchange.reprompt
        self.reprompt_keys = exchange.keys.reprompt
        directives = response.get("directives") or []
        self._play_directives(directives)
        asks_consent = any(d.get("type") == "Connections.SendRequest" for d in directives)
        if response.get("shouldEndSession") is False and not asks_consent:
            return exchange
        # Ended by the skill (no SessionEndedRequest follows), by a consent request, or by playing audio.
        if asks_consent:
            exchange.note = "(waiting for consent: type :consent accept or :consent deny)"
        self._close_session()
        return exchange

    # ------------------------------------------------------------------ directives
    def _play_directives(self, directives: list[dict]) -> None:
        for d in directives:
            kind = d.get("type")
            if kind == "Connections.SendRequest" and d.get("name") == "AskFor":
                self.pending_consent = d
            elif kind == "AudioPlayer.Play":
                stream = (d.get("audioItem") or {}).get("stream") or {}
                seconds, error = self._get(stream.get("url", ""))
                item = Stream(token=stream.get("token", ""), url=stream.get("url", ""),
                              offset_ms=int(stream.get("offsetInMilliseconds") or 0),
                              duration_ms=int(seconds * 1000))
                if error is not None:
                    self._stop_stream()
                    self._pending_audio.append(("PlaybackFailed", Player(item.token, item.offset_ms, "STOPPED"),
                                                {"type": error, "message": f"could not play {item.url}"}))
                    continue
                behavior = d.get("playBehavior", "REPLACE_ALL")
                if behavior == "ENQUEUE" and self.stream is not None:
                    self.queue.append(item)
                else:
                    if behavior == "REPLACE_ENQUEUED" and self.stream is not None:
                        self.queue = [item]
                        continue
                    self.queue = []
                    self._stop_stream()
                    self._start(item)
            elif kind == "AudioPlayer.Stop":
                self._stop_stream()
            elif kind == "AudioPlayer.ClearQueue":
                self.queue = []
                if d.get("clearBehavior") == "CLEAR_ALL":
                    self._stop_stream()

    def _get(self, url: str) -> tuple[float, str | None]:
        """The stream's length in seconds and, when it can't be played, the player's error type."""
        if self.fetch is not None:
            fetched = self.fetch(url)
            return fetched.seconds or 0.0, fetched.error
        seconds = self.audio_length(url) if self.audio_length else None
        return seconds or DEFAULT_AUDIO_SECONDS, None

    def _start(self, stream: Stream) -> None:
        self.stream = stream
        self.player = Player(token=stream.token, offset_ms=stream.offset_ms, activity="PLAYING")
        self._pending_audio.append(("PlaybackStarted", None, None))  # sent once the current exchange is done

    def _stop_stream(self) -> None:
        """Stop what is playing (or paused by a button), reporting where it stopped."""
        if self.stream is not None and self.player.activity in ("PLAYING", "PAUSED", "BUFFER_UNDERRUN"):
            self.player.activity = "STOPPED"
            self._pending_audio.append(("PlaybackStopped", None, None))

    def _sync_player(self) -> Player:
        if self.stream is not None:
            self.player.offset_ms = self.stream.offset_ms
        return self.player

    def _next_audio_event_time(self):
        if self.stream is None or self.player.activity != "PLAYING" or self.session is not None:
            return None
        remaining = self.stream.duration_ms - self.stream.offset_ms
        nearly = remaining - NEARLY_FINISHED_SECONDS * 1000
        ms = nearly if (not self.stream.nearly_sent and nearly > 0) else remaining
        return self.clock.now() + timedelta(milliseconds=max(ms, 0))

    def _advance_audio(self, delta: timedelta) -> None:
        if self.stream is None or self.player.activity != "PLAYING" or self.session is not None:
            return  # (while the person talks to Alexa, the track holds still)
        self.stream.offset_ms = min(self.stream.duration_ms, self.stream.offset_ms + int(delta.total_seconds() * 1000))
        remaining = self.stream.duration_ms - self.stream.offset_ms
        pending = self._pending_audio
        if not self.stream.nearly_sent and remaining <= NEARLY_FINISHED_SECONDS * 1000:
            self.stream.nearly_sent = True
            pending.append(("PlaybackNearlyFinished", None, None))
        if remaining <= 0:
            pending.append(("PlaybackFinished", None, None))

    def _audio_events(self) -> list[Exchange]:
        exchanges = []
        for _ in range(20):
            pending = self._pending_audio
            if not pending:
                break
            event, player, error = pending.pop(0)
            env = self.envelopes.audio_player(event, player or self._sync_player(), error)
            exchanges.append(self._send(env, f"(audio: {event})", session_request=False))
            if event == "PlaybackFinished":
                self.player.activity = "FINISHED"
                if self.queue:
                    self._start(self.queue.pop(0))
                else:
                    self.stream = None
        return exchanges

    # ------------------------------------------------------------------ alerts
    def _fire_alerts(self) -> list[Exchange]:
        if self.api is None:
            return []
        exchanges = []
        for alert in self.api.due(self.clock.now()):
            if alert.user_id != self.identity.user_id:
                continue
            if alert.operation == "LAUNCH_TASK":
                self._new_session()
                env = self.envelopes.launch(self.session, task=alert.task, player=self.player)
                exchanges.append(self._send(env, f"({alert.kind} fired: launches the skill)"))
            else:
                text = alert.text or (f"Your {alert.label} timer is done." if alert.label else "Timer done.")
                key = announced_key(alert.text or "", self.identity.locale)
                exchanges.append(Exchange(label=f"({alert.kind} fired)", speech=text, note=f"({alert.kind})",
                                          keys=PromptKeys(say=(key,) if key else ())))
        return exchanges
