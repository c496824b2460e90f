"""The per-user record the engine reads and returns: its schema, in one place.

A record is small, versioned and JSON-serialisable; nothing else about a person is kept. Each part is
a dataclass with ``from_json`` (which trusts nothing: session attributes come back from the client and
stored records outlive code versions, so every field is kept only if it has the right shape, and a
damaged record costs the person at most their place in the guide, never a crash mid-spasm) and
``to_json``. A new field is added to its dataclass, its ``from_json`` and its ``to_json``; a change of
meaning adds a step to ``MIGRATIONS``.

Times are ISO-8601 strings in UTC, kept as strings so a record round-trips byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, ClassVar

SCHEMA_VERSION = 2
# Past episodes kept for "heat first next time"; older ones are dropped.
PAST_EPISODES_KEPT = 10
# Compress uses kept per episode (a week of two-hourly packs is far less).
COMPRESS_LOG_KEPT = 50
PACKS = ("cold", "heat")
# How the back is, as a person says on coming back ("a bit easier this morning", "no change", "seized up again").
PAIN_REPORTS = ("better", "same", "worse")
# Reports kept per episode (one a day or so: two weeks' worth, and some).
PAIN_REPORTS_KEPT = 20


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# A stored moment after this is damage, not history: the engine adds hours and days to stored times,
# and near the end of the calendar (year 9999) that overflows.
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=timezone.utc)


def parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return moment if moment < LATEST_MOMENT else None


def since(value: str | None, now: datetime) -> timedelta | None:
    moment = parse_time(value)
    return None if moment is None else now - moment


# ---------------------------------------------------------------------------- field checks
def _time(value, default: str | None) -> str | None:
    return value if parse_time(value) else default


def _flag(value) -> bool:
    return value if isinstance(value, bool) else False


def _count(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else default


def _name(value, known) -> str | None:
    return value if isinstance(value, str) and value in known else None


def _dicts(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------- the parts
@dataclass(frozen=True)
class _SaidAt:
    """One of ``KNOWN`` (the first field) that the person said, and when (``at``)."""

    KNOWN: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_json(cls, raw: dict):
        what = fields(cls)[0].name
        value, at = _name(raw.get(what), cls.KNOWN), _time(raw.get("at"), None)
        return cls(value, at) if value and at else None

    def to_json(self) -> dict:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True)
class CompressUse(_SaidAt):
    """A cold pack or heat the person said was on, and when."""

    KNOWN: ClassVar[tuple[str, ...]] = PACKS
    pack: str
    at: str


@dataclass(frozen=True)
class PainReport(_SaidAt):
    """How the person said the back was when they came back, and when: kept for the day (and the episode)."""

    KNOWN: ClassVar[tuple[str, ...]] = PAIN_REPORTS
    pain: str
    at: str


@dataclass(frozen=True)
class Urgent:
    """A "see a doctor today" sign reported in this episode: which red flag, and when."""

    flag: str | None
    at: str
    # The step the person was on when it was said: taken back, the guide resumes there.
    step: str | None = None
    # When the person took it back ("that was a mistake", then a clear no to the sign): kept, no longer standing.
    withdrawn_at: str | None = None

    @classmethod
    def from_json(cls, raw, flags, steps=frozenset()):
        if not isinstance(raw, dict) or not _time(raw.get("at"), None):
            return None
        return cls(flag=_name(raw.get("flag"), flags), at=raw["at"], step=_name(raw.get("step"), steps),
                   withdrawn_at=_time(raw.get("withdrawn_at"), None), **cls._more(raw))

    @classmethod
    def _more(cls, raw: dict) -> dict:
        return {}

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def to_json(self) -> dict:
        return {"flag": self.flag, "at": self.at, "step": self.step, "withdrawn_at": self.withdrawn_at}


@dataclass(frozen=True)
class Emergency(Urgent):
    """A tier-1 answer: the guide stays stopped until the person says they have got help."""

    acknowledged: bool = False

    @classmethod
    def _more(cls, raw: dict) -> dict:
        return {"acknowledged": _flag(raw.get("acknowledged"))}

    def to_json(self) -> dict:
        return {**super().to_json(), "acknowledged": self.acknowledged}


@dataclass(frozen=True)
class Episode:
    """One back spasm: from its first turn until a long enough gap starts a new one."""

    number: int
    started: str
    compress_log: tuple[CompressUse, ...] = ()
    # The compress plan (protocol.yaml `plan`) the person was last told: when today's differs, it moved on.
    compress_plan: str | None = None
    # When the person answered every safety question (None: not yet, in this episode).
    screened_at: str | None = None
    urgent: Urgent | None = None
    pain_eased: bool = False
    finished: bool = False
    pain_reports: tuple[PainReport, ...] = ()

    @classmethod
    def new(cls, now: datetime, number: int = 1) -> Episode:
        return cls(number=number, started=iso(now))

    @classmethod
    def from_json(cls, raw, now: datetime, flags, plans, steps=frozenset()) -> Episode:
        if not isinstance(raw, dict):
            return cls.new(now)
        uses = [CompressUse.from_json(item) for item in _dicts(raw.get("compress_log"))]
        return cls(
            number=_count(raw.get("number"), 1),
            started=_time(raw.get("started"), iso(now)),
            compress_log=tuple(use for use in uses if use)[-COMPRESS_LOG_KEPT:],
            compress_plan=_name(raw.get("compress_plan"), plans),
            screened_at=_time(raw.get("screened_at"), None),
            urgent=Urgent.from_json(raw.get("urgent"), flags, steps),
            pain_eased=_flag(raw.get("pain_eased")),
            finished=_flag(raw.get("finished")),
            pain_reports=tuple(r for r in map(PainReport.from_json, _dicts(raw.get("pain_reports"))) if r)[
                -PAIN_REPORTS_KEPT:],
        )

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "started": self.started,
            "compress_log": [use.to_json() for use in self.compress_log],
            "compress_plan": self.compress_plan,
            "screened_at": self.screened_at,
            "urgent": self.urgent.to_json() if self.urgent else None,
            "pain_eased": self.pain_eased,
            "finished": self.finished,
            "pain_reports": [report.to_json() for report in self.pain_reports],
        }

    def with_pain_report(self, pain: str, now: datetime) -> Episode:
        reports = (*self.pain_reports, PainReport(pain, iso(now)))[-PAIN_REPORTS_KEPT:]
        return replace(self, pain_reports=reports)

    def with_compress(self, pack: str, now: datetime) -> Episode:
        log = (*self.compress_log, CompressUse(pack, iso(now)))[-COMPRESS_LOG_KEPT:]
        return replace(self, compress_log=log)


@dataclass(frozen=True)
class PastEpisode:
    number: int
    started: str

    @classmethod
    def from_json(cls, raw: dict) -> PastEpisode | None:
        started = _time(raw.get("started"), None)
        return cls(_count(raw.get("number"), 1), started) if started else None

    def to_json(self) -> dict:
        return {"number": self.number, "started": self.started}


@dataclass(frozen=True)
class PackTimer:
    """An Alexa timer running for a pack: the platform's id for it, and when it was set."""

    pack: str
    timer_id: str
    at: str
    minutes: int

    @classmethod
    def from_json(cls, raw) -> PackTimer | None:
        if not isinstance(raw, dict) or raw.get("pack") not in PACKS or not _time(raw.get("at"), None):
            return None
        timer_id = raw.get("timer_id")
        if not isinstance(timer_id, str) or not timer_id or len(timer_id) > 200:
            return None
        return cls(raw["pack"], timer_id, raw["at"], _count(raw.get("minutes"), 15))

    def to_json(self) -> dict:
        return {"pack": self.pack, "timer_id": self.timer_id, "at": self.at, "minutes": self.minutes}


@dataclass(frozen=True)
class Alerts:
    """What the skill asked Alexa to keep time for, and what the person said about permission."""

    timer: PackTimer | None = None
    # What waits for the person's answer to a permission request: "timer" or "reminders", for a pack.
    waiting_for: str | None = None
    waiting_pack: str | None = None
    asked_at: str | None = None
    # When the person declined (or did not answer) the permission: not offered again for a while.
    declined_at: str | None = None
    reminders_declined_at: str | None = None
    # The reminders set for the next packs: their ids (to cancel them), times (UTC) and pack.
    reminder_ids: tuple[str, ...] = ()
    reminder_times: tuple[str, ...] = ()
    reminders_pack: str | None = None
    # The device's IANA time zone, once the platform has said it (for times of day and the quiet hours).
    zone: str | None = None

    @classmethod
    def from_json(cls, raw) -> Alerts:
        if not isinstance(raw, dict):
            return cls()

        def strings(value, limit=12):
            ok = isinstance(value, list) and all(isinstance(v, str) and 0 < len(v) <= 200 for v in value)
            return tuple(value[:limit]) if ok else ()

        zone = raw.get("zone") if isinstance(raw.get("zone"), str) and len(raw["zone"]) <= 64 else None
        return cls(
            timer=PackTimer.from_json(raw.get("timer")),
            waiting_for=raw.get("waiting_for") if raw.get("waiting_for") in ("timer", "reminders") else None,
            waiting_pack=raw.get("waiting_pack") if raw.get("waiting_pack") in PACKS else None,
            asked_at=_time(raw.get("asked_at"), None),
            declined_at=_time(raw.get("declined_at"), None),
            reminders_declined_at=_time(raw.get("reminders_declined_at"), None),
            reminder_ids=strings(raw.get("reminder_ids")),
            reminder_times=tuple(t for t in strings(raw.get("reminder_times")) if _time(t, None)),
            reminders_pack=raw.get("reminders_pack") if raw.get("reminders_pack") in PACKS else None,
            zone=zone,
        )

    def to_json(self) -> dict:
        return {"timer": self.timer.to_json() if self.timer else None, "waiting_for": self.waiting_for,
                "waiting_pack": self.waiting_pack, "asked_at": self.asked_at, "declined_at": self.declined_at,
                "reminders_declined_at": self.reminders_declined_at, "reminder_ids": list(self.reminder_ids),
                "reminder_times": list(self.reminder_times), "reminders_pack": self.reminders_pack,
                "zone": self.zone}


# What became of the breathing track the skill last asked the player for.
PLAYBACK_STATES = ("starting", "playing", "stopped", "finished", "failed")
TOKEN_MOST = 200


@dataclass(frozen=True)
class Playback:
    """The breathing track last played: its name, the stream's token (which names the track, the step and
    when it began), how far it got and when the player last said so."""

    track: str
    token: str
    step: str  # the guide's step the track belongs to: when it finishes, the guide goes on from there
    state: str
    offset_ms: int
    at: str

    @classmethod
    def from_json(cls, raw, steps) -> Playback | None:
        if not isinstance(raw, dict) or raw.get("state") not in PLAYBACK_STATES or not _time(raw.get("at"), None):
            return None
        track, token, step = raw.get("track"), raw.get("token"), _name(raw.get("step"), steps)
        offset = raw.get("offset_ms")
        if not all(isinstance(v, str) and 0 < len(v) <= TOKEN_MOST for v in (track, token)) or step is None:
            return None
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 24 * 3600 * 1000:
            offset = 0
        return cls(track, token, step, raw["state"], offset, raw["at"])

    def to_json(self) -> dict:
        return {"track": self.track, "token": self.token, "step": self.step, "state": self.state,
                "offset_ms": self.offset_ms, "at": self.at}


@dataclass(frozen=True)
class SideQuestion:
    """A short question outside the protocol's steps ("shall we carry on?"), and what it is about."""

    name: str
    flag: str | None = None  # the red flag a clarifying or confirming question is about
    asked_again: bool = False  # asked once more after an answer that was no answer ("did you say ...?")
    # The side question a confirming question cut in on ("shall we carry on?"): asked again after a no.
    interrupted: SideQuestion | None = None
    # Asked in answer to the request that opened the session: after a no, the coming-back logic runs as it would have.
    on_opening: bool = False

    @classmethod
    def from_json(cls, raw, names, flags, nested: bool = True) -> SideQuestion | None:
        if not isinstance(raw, dict) or _name(raw.get("name"), names) is None:
            return None
        # (one level deep: a confirming question never cuts in on another)
        interrupted = cls.from_json(raw.get("interrupted"), names, flags, nested=False) if nested else None
        return cls(name=raw["name"], flag=_name(raw.get("flag"), flags), asked_again=_flag(raw.get("asked_again")),
                   interrupted=interrupted, on_opening=_flag(raw.get("on_opening")))

    def to_json(self) -> dict:
        return {"name": self.name, "flag": self.flag, "asked_again": self.asked_again,
                "interrupted": self.interrupted.to_json() if self.interrupted else None, "on_opening": self.on_opening}


@dataclass
class Record:
    """Where the person is in the guide and what the guide knows about this episode.

    Mutable on purpose: the engine works on its own copy for one turn, then writes it out.
    """

    last_seen: str
    episode: Episode
    step: str | None = None  # the question step the person is on; None before the first turn
    trail: list[str] = field(default_factory=list)  # earlier steps, for "go back"
    side_question: SideQuestion | None = None
    requested_step: str | None = None  # a place asked for by name, reached once screening is done
    return_step: str | None = None  # where the guide carries on after a detour (urgent, screening)
    paused: bool = False
    heat_intolerant: bool = False  # heat made the pain worse: cold only, remembered across episodes
    past_episodes: list[PastEpisode] = field(default_factory=list)
    last_emergency: Emergency | None = None
    alerts: Alerts = field(default_factory=Alerts)
    playback: Playback | None = None
    breathing_minutes: int | None = None  # the length of breathing session last asked for
    audio_failed_at: str | None = None  # a breathing track last failed to play then: spoken for a while

    @classmethod
    def fresh(cls, now: datetime) -> Record:
        return cls(last_seen=iso(now), episode=Episode.new(now))

    @classmethod
    def from_json(cls, raw, now: datetime, known: Known) -> Record:
        """A record the engine can trust, built field by field from ``raw`` (any older version too)."""
        raw = migrate(raw)
        if raw is None:
            return cls.fresh(now)

        def step_id(value):
            return _name(value, known.steps)

        record = cls(
            last_seen=_time(raw.get("last_seen"), iso(now)),
            episode=Episode.from_json(raw.get("episode"), now, known.flags, known.plans, known.steps),
            step=step_id(raw.get("step")),
            trail=[s for s in raw.get("trail") if step_id(s)] if isinstance(raw.get("trail"), list) else [],
            side_question=SideQuestion.from_json(raw.get("side_question"), known.side_questions, known.flags),
            requested_step=step_id(raw.get("requested_step")),
            return_step=step_id(raw.get("return_step")),
            paused=_flag(raw.get("paused")),
            heat_intolerant=_flag(raw.get("heat_intolerant")),
            past_episodes=[p for p in map(PastEpisode.from_json, _dicts(raw.get("past_episodes"))) if p][
                -PAST_EPISODES_KEPT:],
            last_emergency=Emergency.from_json(raw.get("last_emergency"), known.flags, known.steps),
            alerts=Alerts.from_json(raw.get("alerts")),
            playback=Playback.from_json(raw.get("playback"), known.steps),
            breathing_minutes=_count(raw.get("breathing_minutes"), None),
            audio_failed_at=_time(raw.get("audio_failed_at"), None),
        )
        return record

    def to_json(self) -> dict:
        return {
            "version": SCHEMA_VERSION,
            "step": self.step,
            "trail": list(self.trail),
            "side_question": self.side_question.to_json() if self.side_question else None,
            "requested_step": self.requested_step,
            "return_step": self.return_step,
            "paused": self.paused,
            "heat_intolerant": self.heat_intolerant,
            "episode": self.episode.to_json(),
            "past_episodes": [p.to_json() for p in self.past_episodes],
            "last_emergency": self.last_emergency.to_json() if self.last_emergency else None,
            "alerts": self.alerts.to_json(),
            "playback": self.playback.to_json() if self.playback else None,
            "breathing_minutes": self.breathing_minutes,
            "audio_failed_at": self.audio_failed_at,
            "last_seen": self.last_seen,
        }

    def start_new_episode(self, now: datetime) -> None:
        old = self.episode
        self.past_episodes = (self.past_episodes + [PastEpisode(old.number, old.started)])[-PAST_EPISODES_KEPT:]
        self.episode = Episode.new(now, old.number + 1)
        self.step, self.trail, self.side_question = None, [], None
        self.requested_step = self.return_step = None
        self.paused = False
        self.playback = None


@dataclass(frozen=True)
class Known:
    """The names a record may hold, from the loaded content: anything else is dropped on reading."""

    steps: frozenset
    flags: frozenset
    side_questions: frozenset
    plans: frozenset


# ---------------------------------------------------------------------------- migrations
def _v1_to_v2(raw: dict) -> dict:
    """Version 1 kept one screening result for the episode, and counted a "see a doctor today" answer as
    a finished screening: that let the emergency questions be skipped. Version 2 keeps the time the
    questions were all answered apart from the urgent sign, so a v1 "urgent" is asked the questions again."""
    out = dict(raw, version=2)
    episode = dict(raw.get("episode")) if isinstance(raw.get("episode"), dict) else None
    if episode is not None:
        screening = episode.pop("screening", None)
        if isinstance(screening, dict) and screening.get("result") == "clear":
            episode["screened_at"] = screening.get("at")
        elif isinstance(screening, dict) and screening.get("result") == "urgent":
            episode["urgent"] = {"flag": None, "at": screening.get("at")}
        out["episode"] = episode
    pending = out.pop("pending", None)
    out["side_question"] = {"name": pending} if isinstance(pending, str) else None
    emergency = raw.get("last_emergency")
    if isinstance(emergency, dict):
        out["last_emergency"] = {**emergency, "flag": emergency.get("reason")}
    return out


# version n -> the function that turns a version-n record into version n + 1.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


def migrate(raw) -> dict | None:
    """``raw`` brought up to SCHEMA_VERSION, or None when it is no record this code can read."""
    if not isinstance(raw, dict):
        return None
    version = raw.get("version")
    while isinstance(version, int) and not isinstance(version, bool) and version in MIGRATIONS:
        raw = MIGRATIONS[version](raw)
        version = raw.get("version")
    return raw if version == SCHEMA_VERSION else None
