"""One turn being answered: the person's record (this turn's own copy), the clock, the plan being built
with say / ask / end, and what the record says about where the person stands.

Every module that helps answer a turn (``side_questions``, ``outcomes``, ``compress``, ``alerts``,
``playback``, ``rules``) takes a ``Reply`` and imports nothing above this module. Where such a helper has
to move the person through the guide ("go to the breathing", "ask the question again"), it asks the
``Navigation`` the guide implements (``reply.nav``): the helpers depend downward only, and the guide is
the one module that knows how the protocol is walked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol as Interface

from skill.engine.content import Content
from skill.engine.plan import Event, Line, Plan
from skill.engine.protocol import Step, Transition
from skill.engine.record import Record, iso, since


class Navigation(Interface):
    """How the guide walks the protocol: what a helper module may ask of it (``skill.engine.guide``)."""

    def go(self, target: str, push: bool = True, flag: str | None = None) -> None:
        """Move to step ``target`` (through routers and pass-through steps) and speak what is there."""

    def route(self, step: Step, consume: bool = True) -> str:
        """The target a router step picks now."""

    def render_step(self, step: Step, flag: str | None = None) -> None:
        """Speak the step the person is on, with its question."""

    def restate(self) -> None:
        """Ask the current question again."""

    def carry_on(self) -> None:
        """After a remark or advice: back to the question pending, or into the guide."""

    def follow(self, step: Step, transition: Transition) -> None:
        """Answer ``step`` by one of its transitions (its record, then where it goes)."""

    def launch(self, requested: str | None = None) -> None:
        """The coming-back logic of a session's first request."""

    def resume_care(self) -> None:
        """After a later day's safety question: the care of the day (today's pack when due), then the step."""

    def start_guide(self) -> None:
        """The guide from its start."""

    def finish(self, step: Step) -> None:
        """An end step: its words, and the session ends."""

    def stop(self) -> None:
        """Save the place and end kindly."""

    def forget_everything(self) -> None:
        """ "Delete my data", confirmed."""

    def ask_side_question(self, name: str, flag: str | None = None) -> None:
        """Put one of ``side_questions.SIDE_QUESTIONS`` to the person."""


class Reply:
    """One turn being built: its methods read and change ``record`` and add to ``plan``; nothing else."""

    def __init__(self, content: Content, record: Record, now: datetime, event: Event, locale: str | None):
        self.content = content
        self.protocol = content.protocol
        self.settings = content.protocol.settings
        self.record = record
        self.now = now
        self.now_iso = iso(now)
        self.locale = locale
        self.opening = event.opens_session  # this request opened a session
        self.event_zone = event.zone  # the device's time zone, when the event says it
        self.event_tracks = event.tracks  # the breathing tracks the device can be played
        self.device_event = event  # what the device's player holds (playback.held_offset)
        self.answered_as_player = False  # "Alexa, pause" and the like, answered by playback.control
        # The step the person was on when this turn began (None in an episode the turn began): where a warning
        # sign answered this turn took them from, and where the guide resumes if they take it back.
        self.began_on = record.step
        self.plan = Plan()
        self.nav: Navigation = None  # set by the guide that answers this turn

    # ------------------------------------------------------------------ building the plan
    def say(self, key: str, **params) -> None:
        self.plan.lines.append(Line(key, params))

    def ask(self, key: str, reprompt_key: str, **params) -> None:
        self.plan.question = Line(key, params)
        self.plan.reprompt = Line(reprompt_key, params)
        self.plan.end_session = False

    def end(self) -> None:
        self.plan.question = None
        self.plan.reprompt = None
        self.plan.end_session = True

    # ------------------------------------------------------------------ what the record says
    @property
    def step(self) -> Step | None:
        return self.protocol.steps.get(self.record.step) if self.record.step else None

    def hours_since(self, value: str | None) -> float | None:
        delta = since(value, self.now)
        return None if delta is None else delta.total_seconds() / 3600

    def emergency_active(self) -> bool:
        last = self.record.last_emergency
        if last is None or last.acknowledged or last.withdrawn:
            return False
        return self.within_reminder_window(last.at)

    def urgent_standing(self) -> bool:
        urgent = self.record.episode.urgent
        return urgent is not None and not urgent.withdrawn and self.within_reminder_window(urgent.at)

    def within_reminder_window(self, moment: str) -> bool:
        """Recent enough for an emergency or a "see a doctor today" to be said again (a day)."""
        hours = self.hours_since(moment)
        return hours is not None and hours < self.settings["emergency_reminder_hours"]

    def screening_done(self) -> bool:
        """Every emergency question answered "no" in this episode."""
        return self.record.episode.screened_at is not None

    def nothing_under_way(self) -> bool:
        """No question is waiting for an answer: before the first turn, after the guide ended, or
        after an emergency answer (which ends the guide)."""
        step = self.step
        return step is None or step.kind == "end" or (step.kind == "outcome" and step.tier == 1)

    def episode_lapsed(self) -> bool:
        hours = self.hours_since(self.record.last_seen)
        return self.record.step is not None and hours is not None and hours >= self.settings["episode_gap_hours"]

    def maybe_new_episode(self) -> bool:
        if self.episode_lapsed():
            self.record.start_new_episode(self.now)
            self.began_on = None
            return True
        return False

    def say_urgent_reminder(self) -> None:
        if self.urgent_standing():
            self.say("urgent.reminder")
