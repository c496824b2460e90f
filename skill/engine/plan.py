"""What the engine hands to a renderer: events in, plans out. No wording, no SSML, no Alexa.

A plan names prompt keys (``steps.rest.say``) with parameters; the renderer looks the words up
for the request's locale. The Alexa renderer, the simulator and the audio build share the keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Everything a person can do, whatever the platform. Handlers translate intents into these.
EVENT_KINDS = frozenset(
    {
        "launch",  # "open back spasm coach"
        "start",  # "my back is spasming" (one-shot or in session)
        "yes",
        "no",
        "unsure",  # "not sure" — counts as yes for tier-1 screening questions
        "better",  # "the pain has eased"
        "worse",  # "it hurts more"
        "heat_worse",  # "heat makes it worse"
        "next",
        "back",
        "repeat",
        "start_over",
        "jump",  # with a target: a name from protocol.yaml's jump_targets
        "pause",
        "resume",
        "help",
        "stop",
        "cancel",
        "fallback",
        "delete_data",
        # The person described something ("I can't feel my legs"): ``text`` is what they said,
        # ``carrier`` the meaning of the carrier phrase the platform cut off it, ``flag`` a
        # red_flags.yaml id the platform already resolved. The engine decides whether it is a red flag.
        "describe",
        "session_ended",
        # What became of an effect the platform carried out for the last plan (``target``: an
        # EFFECT_OUTCOMES name, ``text``: the platform's id for what it made, e.g. the timer's).
        "effect_done",
        # The answer to a permission request (``target``: accepted | denied | not_answered).
        "permission",
        # "Start a breathing session", "a five minute breathing session" (``minutes``, when said).
        "breathe",
        # A player option this skill has no use for ("loop", "shuffle"): said so, nothing changes.
        "unsupported",
        # What the device's player reports about the breathing track (``target``: a PLAYBACK_REPORTS
        # name; ``player_token`` and ``offset_ms``: the stream's token, and where in the track it was).
        "playback",
    }
)

# What the platform reports back about a StartTimer: made; refused for want of permission; or failed
# (rate-limited, the service down, the device offline): the engine decides what is said about each.
EFFECT_OUTCOMES = frozenset({"timer_set", "timer_needs_permission", "timer_failed",
                             "reminders_set", "reminders_need_permission", "reminders_failed"})
PERMISSION_ANSWERS = frozenset({"accepted", "denied", "not_answered"})
# Events Alexa takes no speech in answer to: the engine's plan for them is silent.
SILENT_EVENTS = frozenset({"session_ended", "playback"})
PLAYBACK_REPORTS = frozenset({"started", "stopped", "nearly_finished", "finished", "failed"})
# What the device's player is doing (context.AudioPlayer.playerActivity), as far as the engine cares.
PLAYER_ACTIVITIES = frozenset({"IDLE", "PLAYING", "PAUSED", "STOPPED", "FINISHED", "BUFFER_UNDERRUN"})


@dataclass(frozen=True)
class Event:
    kind: str
    target: str | None = None  # jump: the name of a place ("breathing")
    text: str = ""  # describe: what the person said
    carrier: str = ""  # describe: the meaning of the words the platform cut off ("i cannot", "my legs")
    flag: str | None = None  # describe: a red flag the platform resolved by name
    detail: str = ""  # effect_done: the platform's id(s) for what it made (a timer id; reminder ids, space-separated)
    # The device's IANA time zone when the platform knows it ("unknown" when it asked and could not
    # find out). The engine asks for it (Plan.needs_zone) only for answers that depend on the local time.
    zone: str | None = None
    # The request opened a session (a launch, a one-shot, or an utterance Alexa could not resolve):
    # whatever it says, the engine first runs the same coming-back logic as a launch.
    opens_session: bool = False
    # breathe: the length asked for, in minutes ("a five minute breathing session").
    minutes: int | None = None
    # The breathing tracks this device can be played now (by the names in protocol.yaml's
    # settings.breathing.tracks): none on a device without a player, or where no track is built.
    tracks: frozenset = frozenset()
    # The device's player (context.AudioPlayer): its activity and the token and offset of its stream.
    # A playback event's own token and offset are these too.
    player: str | None = None
    player_token: str = ""
    offset_ms: int = 0

    def __post_init__(self):
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")


# ---------------------------------------------------------------------------- effects
# Things the platform does for the person besides speaking, planned by the engine and carried out by
# the adapter (skill/alexa/effects.py) after the turn: the engine stays free of any API.
@dataclass(frozen=True)
class StartTimer:
    """A timer for the pack that is on: ``minutes`` long; when it ends, Alexa says ``announce``."""

    pack: str  # cold | heat: its label is the prompt packs.<pack>
    minutes: int
    announce: str  # prompt key of what Alexa says when it ends


@dataclass(frozen=True)
class CancelTimers:
    """Stop the timers this skill set (the guide stopped for an emergency, or the person asked)."""


@dataclass(frozen=True)
class CreateReminders:
    """Reminders at ``times`` (UTC), each saying the prompt ``text``; they replace any set before."""

    times: tuple
    text: str
    zone: str  # the device's IANA zone: reminders are set at these times of day there


@dataclass(frozen=True)
class CancelReminders:
    """Delete the reminders this skill set (``ids``)."""

    ids: tuple


@dataclass(frozen=True)
class AskPermission:
    """Ask Alexa to ask the person, by voice, for permission (``scope``: timers | reminders)."""

    scope: str


@dataclass(frozen=True)
class PlayAudio:
    """Play the breathing ``track`` on the device's player from ``offset_ms``; ``token`` names the track
    and the person's place, and comes back with every report the player makes about it."""

    track: str
    token: str
    offset_ms: int = 0


@dataclass(frozen=True)
class StopAudio:
    """Stop the breathing track (the player reports where it stopped)."""


@dataclass(frozen=True)
class ClockTime:
    """A moment to be said as a time of day in the device's time zone ("3:40 PM"), or, where that zone is
    unknown, as a time from now ("in 15 minutes"). A line parameter."""

    at: datetime
    now: datetime  # the turn's time: "in about 15 minutes" is counted from it
    # Said with its day, for a moment up to a day away ("about 6 PM tomorrow"; where the zone is unknown,
    # "about 20 hours from now"): the words around it carry "until" or "from".
    with_day: bool = False


@dataclass(frozen=True)
class Line:
    """One piece of speech: a prompt key and the values for its placeholders."""

    key: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Breathing:
    """A paced breathing session: the renderer turns it into speech with timed pauses."""

    breaths: int
    inhale_seconds: int
    exhale_seconds: int


@dataclass
class Card:
    title: Line
    lines: list[Line]


@dataclass
class Plan:
    lines: list[Line | Breathing] = field(default_factory=list)
    question: Line | None = None
    reprompt: Line | None = None
    end_session: bool = True
    card: Card | None = None
    # The person confirmed "delete my data": the caller must erase their stored state.
    forget_user: bool = False
    # A triage outcome reached this turn: "emergency" (tier 1) or "urgent" (tier 2).
    triage: str | None = None
    # What free words were read as (understanding's kinds: answer, question, remark...), for the log.
    heard: str | None = None
    # Effects for the adapter to carry out (StartTimer, CreateReminders, Cancel..., AskPermission), in
    # order. After a StartTimer or CreateReminders the adapter reports the outcome with an ``effect_done``
    # event and says that plan instead.
    effects: list = field(default_factory=list)
    # This answer depends on the device's local time and the event did not say it: the adapter looks the
    # zone up and asks again with Event.zone set (never for a red flag: triage needs no clock).
    needs_zone: bool = False

    @property
    def silent(self) -> bool:
        return not self.lines and self.question is None


@dataclass
class TurnResult:
    """What ``Guide.handle`` gives back: the person's new record and the plan for the adapter."""

    state: dict
    plan: Plan
