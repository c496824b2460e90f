"""The guide engine: a pure function of (record, event, time, locale) to (new record, plan).

It knows the protocol and the person's record, nothing about Alexa or HTTP. Every turn ends with
either a question (the session stays open, with a reprompt) or nothing to ask (the session ends).

How one event is answered: the rows of ``ANSWERING``, in order (each row says why it is where it is):
the session ending, the platform's reports (effects, permissions, the player), a clarifying question
that stands until answered, the player's controls, the episode logic for every request that opens a
session, free words (``hear``: a red flag first, then the rows of ``HEARING``), launches, a side
question's own table (``side_questions.SIDE_QUESTIONS``), stop / cancel / "delete my data", and
finally ``EVENTS``: what the event does on the current step, by the step's answers in protocol.yaml.

One utterance, from the request to the words, each hop a named table:
    "i can't feel my legs", said at "ready for the next step?"
    1. ``POST /alexa`` (skill/web/endpoint.py): the request is verified and handed to the ask-sdk skill.
    2. skill/alexa/handlers.py ``request_handlers``: the first handler that can handle it wins. Alexa
       resolved ``CannotDoIntent`` with the free words "feel my legs"; ``SymptomHandler`` puts the
       carrier phrase's meaning ("i cannot", ``CARRIERS``) back in front: ``Event("describe", ...)``.
    3. skill/alexa/turns.py ``run_turn``: the record from the store, the device, then ``Guide.handle``.
    4. Here: ``Guide.handle`` reads the record (record.py), and ``GuideTurn.answer_event`` tries the rows
       of ``ANSWERING``: the row for free words calls ``hear``; ``outcomes.find`` matches the words
       against red_flags.yaml (triage.py): a tier-1 sign, so ``outcomes.emergency`` plans the lines
       ``emergency.say`` and ``emergency.reasons.<flag>``, a card, and cancels the pack timers
       (``alerts.cancel_everything``). (A plain "yes" would reach the last row instead: ``EVENTS["yes"]``,
       ``GuideTurn.answer``, the step's ``answers.yes`` in protocol.yaml, its ``RECORDS`` fact, and
       ``go`` to the next step, whose ``steps.<id>.say`` and ``.ask`` are planned.)
    5. Back in ``run_turn``: the effects are carried out (skill/alexa/effects.py), the new record saved,
       and skill/render.py turns each prompt key into words from prompts/<locale>.yaml, with the
       locale's emergency number (locales.yaml), into the response's SSML and card.

Modules depend downward only (tests/test_engine_imports.py): this module and ``rules`` at the top;
``side_questions``, ``outcomes``, ``alerts``, ``playback``, ``compress`` below, each taking the
``Reply`` of reply.py and moving through the guide only by its ``Navigation``; content.py, protocol.py,
triage.py, understanding.py, record.py and plan.py at the bottom, importing no code above them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable
from typing import Protocol as Interface

from skill.engine import alerts, compress, outcomes, playback, side_questions
from skill.engine.content import CONTENT_DIR, Content, read_content
from skill.engine.outcomes import Finding
from skill.engine.plan import Card, Event, Line, Plan, TurnResult
from skill.engine.protocol import EngineNames, Step, Transition
from skill.engine.record import PAIN_REPORTS, Record, iso
from skill.engine.reply import Reply
from skill.engine.rules import CONDITIONS, INCLUDES, RECORDS
from skill.engine.understanding import PACK_HARM, Reading

# What the engine's code gives a meaning to, for the content check (content.py imports none of it).
ENGINE_NAMES = EngineNames(
    conditions=frozenset(CONDITIONS),
    records=frozenset(RECORDS),
    includes=frozenset(INCLUDES),
    side_questions=frozenset(side_questions.SIDE_QUESTIONS),
    clarify_prompts=side_questions.clarify_prompt_keys,
)


def load_content(directory: Path = CONTENT_DIR) -> Content:
    """The content files in ``directory``, checked against this engine."""
    return read_content(directory, ENGINE_NAMES)


@functools.cache
def default_content() -> Content:
    """The shipped content, loaded and checked once per process."""
    return load_content()


# Events that mean the same thing whatever step the person is on, so a request that opens a session
# with one of them is taken at its word ("Alexa, tell back spasm coach go to breathing"). Anything
# else needs the step it answers, and a new session has none: it is answered as a launch.
SELF_CONTAINED = frozenset({"jump", "stop", "cancel", "pause", "start_over", "delete_data", "effect_done",
                            "permission", "unsupported"})
# Events that work the same everywhere, even before an emergency reminder.
ANYWHERE = frozenset({"stop", "cancel", "delete_data"})
# What free words that are only a remark hear before the question again (understanding's kinds).
HEARD_REMARKS = {"symptom": "events.symptom_unmatched", "pain_remark": "events.pain_remark", "remark": "events.remark"}
# Requests in free words that mean what an intent means ("can you pause it" is "Alexa, pause"): answered as that event.
REQUESTS_AS_EVENTS = ("repeat", "help", "next", "pause", "stop")
# A request that is the very yes a question offers: the fact its "yes" records (protocol.yaml).
REQUESTS_THAT_SAY_YES = {"timer": "timer_wanted", "reminder": "reminders_wanted"}
# What a question without fixed words (questions.yaml `answer`, understanding.COMPUTED_ANSWERS) is answered with:
# which pack, how long and how often today, by the plan's own rule; for the general question, what comes next too.
COMPUTED_ANSWERS = {"todays_plan": lambda turn: compress.todays_plan(turn, with_next=True),
                    "todays_pack": lambda turn: compress.todays_plan(turn)}
# Questions whose general answer would contradict an emergency or "see a doctor today" that stands: the alarm
# again is their answer then.
ANSWERED_BY_A_STANDING_ALARM = frozenset({"see_doctor"})
# What a session opened with a pain report hears before the welcome back.
OPENING_REMARKS = {"better": "events.pain_better", "worse": "events.pain_worse", "heat_worse": "events.heat_worse"}


class SignGuesser(Interface):
    """The second line behind the phrase lists (skill/engine/second_line.py's ``SecondLine``): a sentence
    model's guess at the warning sign free words describe (a ``SignGuess``: its ``flag_id``), or None: not close
    to any, or the model not loaded yet, so a red flag never waits on it. Only asked when the lists found none."""

    def guess(self, text: str): ...


class Guide:
    def __init__(self, content: Content | None = None, second_line: SignGuesser | None = None):
        self.content = content or default_content()
        # The model behind the red-flag phrase lists (second_line.SecondLine), or None: the lists alone.
        self.second_line = second_line

    def handle(self, raw_record: dict | None, event: Event, now: datetime, locale: str | None = None) -> TurnResult:
        record = Record.from_json(raw_record, now, self.content.known)
        side_questions.drop_if_stale(record)
        turn = GuideTurn(self.content, record, now, event, locale, self.second_line)
        alerts.remember_zone(turn)
        turn.answer_event(event)
        if not turn.answered_as_player:
            playback.stop_if_sounding(turn, event)
        # (``record``, not ``turn.record``: after "delete my data" the turn holds a fresh one, and the caller
        # erases what is stored.)
        record.last_seen = iso(now)
        return TurnResult(state=record.to_json(), plan=turn.plan)


class GuideTurn(Reply):
    """The guide's side of one turn: it walks the protocol (``Navigation``, which the helper modules see
    as ``reply.nav``) on top of the turn's state and plan (``Reply``), and answers the event through
    the tables below (``ANSWERING``, ``HEARING``, ``EVENTS``)."""

    def __init__(self, content: Content, record: Record, now: datetime, event: Event, locale: str | None,
                 second_line: SignGuesser | None = None):
        super().__init__(content, record, now, event, locale)
        self.nav = self
        self.second_line = second_line

    def ask_side_question(self, name: str, flag: str | None = None) -> None:
        side_questions.ask(self, name, flag)

    # ------------------------------------------------------------------ one event
    def answer_event(self, event: Event) -> None:
        """The first row of ``ANSWERING`` whose condition holds answers the event; a row that hands an event
        back (rewritten, or as it was) lets the rows after it answer."""
        for _, applies, answer in ANSWERING:
            if applies(self, event):
                handed_back = answer(self, event)
                if not isinstance(handed_back, Event):
                    return
                event = handed_back
        raise AssertionError("the last row of ANSWERING answers every event")

    def hear(self, event: Event) -> None:
        """Free words: a red flag first (answered this turn, whatever else was going on), then what
        ``understanding`` reads in them, answered by the first row of ``HEARING`` that fits. Where the
        phrase lists find no sign, the second line may guess one (``Heard.guess``)."""
        text = outcomes.described_text(event)
        finding = outcomes.find(self, event)
        confirming = side_questions.sign_asked_about(self.record)  # "did you say ...?" and the like, pending
        alarm = outcomes.standing_alarm(self) if confirming is None else None
        if finding is not None and finding.tier in (1, 2):
            understanding = self.content.understanding
            # The alarm's own sign said with a correction, or any sign said to be another person's ("it was my
            # dad who had the accident, not me"): a new sign of the person's own still wins.
            taking_it_back = alarm is not None and (
                finding.flag == alarm.flag and understanding.corrects(text, alarm.flag)
                or understanding.says_it_was_someone_else(text))
            if not taking_it_back:
                return outcomes.triage(self, finding)
            finding = None  # "that was my husband, not me, he has cancer": the sign being taken back is asked about
        if finding is not None:
            self.say(f"routine.{finding.flag}")  # tier 3: the advice, then the words are read on
        step = self.step
        sign = confirming or (step.flag if step is not None and step.kind == "screening" else None)
        reading = self.content.understanding.read(
            text, sign, self.content.red_flags, correcting=alarm.flag if alarm is not None else None,
            at_the_alarm=alarm is not None and self.at_the_alarm())
        self.plan.heard = reading.kind
        on_a_question = step is not None and self.record.side_question is None
        guess = None
        if finding is None and confirming is None and self.second_line is not None \
                and reading.kind in GUESSED_READINGS:
            guess = self.second_line.guess(text)
        heard = Heard(event, finding, reading, step, on_a_question, guess)
        for _, applies, answer in HEARING:
            if applies(self, heard):
                return answer(self, heard)
        raise AssertionError("the last row of HEARING answers everything")

    def at_the_alarm(self) -> bool:
        """On the emergency or "see a doctor today" answer's own question ("have you spoken to emergency services?",
        "would you like some comfort steps?"), not moved on from it."""
        question = self.record.side_question
        if question is not None:
            return question.name == "confirm_help"
        return self.step is not None and self.step.kind == "outcome"

    def as_event(self, heard: Heard, kind: str) -> None:
        """The words meant what an intent would have: answer them as that event."""
        return self.answer_event(replace(heard.event, kind=kind, text="", carrier="", flag=None))

    def answer_as_player(self, event: Event) -> Event | None:
        """ "Alexa, pause" and the like while the breathing track is on the device: the player's answer."""
        if playback.control(self, event):
            self.answered_as_player = True
            return None
        return event

    def answer_question(self, question_id: str) -> None:
        question = self.content.understanding.question(question_id)
        if question is None:  # none the skill can answer: about the care, or about something else
            return self.say("events.question_off_topic" if question_id == "off_topic" else "events.question_other")
        if question.id in ANSWERED_BY_A_STANDING_ALARM:
            # "Should I see a doctor?" while "call 911" or "see a doctor today" stands: the alarm is the answer, not
            # the general "if you're not better after about two weeks", which would contradict it.
            if self.emergency_active():
                return self.say("emergency.reminder")
            if self.urgent_standing():
                return self.say("urgent.reminder")
        if question.answer is not None:
            return self.plan.lines.extend(COMPUTED_ANSWERS[question.answer](self))
        self.say(f"questions.{question.id}")

    def session_ended(self) -> None:
        question = self.record.side_question
        if question is not None and question.name == "clarify_red_flag":
            # No answer to "do your legs feel weak or numb?" counts as yes: the next launch reminds.
            outcomes.emergency(self, question.flag)
        elif question is not None and question.name == "confirm_sign":
            # No answer to "did you say ...?" after its reprompt: as "not sure" to that sign, by its tier (recorded
            # silently; the next launch reminds, and "that was a mistake" can take it back).
            outcomes.triage(self, Finding(question.flag, self.content.red_flags.tier_of(question.flag)))
        self.plan = Plan(end_session=True)

    # ------------------------------------------------------------------ opening a session
    def launch(self, requested: str | None = None, report: str | None = None) -> None:
        """ "Open back spasm coach", and every other way into a new session. ``report``: how the back is, when the
        request that opened the session said it ("tell back spasm coach my back is better")."""
        if self.emergency_active():
            return outcomes.remind_emergency(self)
        if self.maybe_new_episode() or self.record.step is None:
            self.remember_requested(requested)
            if self.record.past_episodes:
                self.say("events.welcome_back")
            return self.start_guide()
        if self.record.step == self.protocol.roles["emergency"]:
            # Over a day since an emergency answer (or acknowledged): don't pretend the guide was finished.
            self.say("emergency.since")
            return side_questions.ask(self, "start_again_offer")
        if self.step is not None and self.step.pack == compress.IN_USE and self.step.next:
            # A question about the pack just put on ("a timer for it?") belongs to that moment: coming
            # back, the guide carries on after it: at the step the person was on before that pack, if the pack
            # came first on coming back (return_step), else at the step after it.
            self.record.step = self.record.return_step or self.step.next
            self.record.return_step = None
        elif self.step is not None and self.step.pack in compress.packs(self) and not self.step.plan:
            # Left waiting for the pack ("put it on when you can"): coming back, ask whether it is on now.
            self.record.step = compress.todays_step(self).id
        self.say("events.welcome_back")
        after_track = playback.since_last_time(self)  # "well done for finishing the breathing"
        self.say_two_weeks_notice()
        self.say_urgent_reminder()
        if self.coming_back_later():
            # A later day: how the back is first, then one combined safety question, then the care (resume_care).
            if report is None:
                return side_questions.ask(self, "how_is_back")
            return side_questions.pain_reported(self, report)
        moved_on = compress.plan_moved_on(self)
        if moved_on:
            self.say_plan_moved_on()
        elif compress.time_left(self) is not None:
            self.plan.lines.append(compress.time_left(self))
        elif alerts.pack_still_on(self):
            alerts.say_off_time(self)  # on, with no timer: when it comes off
        else:
            line = compress.next_due(self)
            if line is not None:
                self.plan.lines.append(line)
        if self.nothing_under_way():
            # "We finished the guide" only when it was; after a goodbye, just offer to start again.
            return side_questions.ask(self, "restart_offer" if self.record.episode.finished else "start_again_offer")
        resume_at = compress.todays_step(self).id if moved_on else self.record.step
        if self.step.kind == "screening":
            return side_questions.ask(self, "resume_offer")  # the safety questions, where they were left
        if after_track == "failed" and self.step.id == self.protocol.roles["breathing"] and not moved_on \
                and CONDITIONS["recently_screened"](self):
            return self.render_step(self.step)  # the track did not play: breathe together in speech now
        if not CONDITIONS["recently_screened"](self):
            # Long enough since the safety questions for things to have changed: ask them again first,
            # then carry on where the person was.
            self.record.return_step, self.record.trail = resume_at, []
            return self.go(self.protocol.roles["screening_start"], push=False)
        self.say("events.report_signs")
        if moved_on:
            self.record.step, self.record.trail = resume_at, []
            return side_questions.ask(self, "plan_moved_on")
        if compress.due_before_the_step(self):
            return self.ask_for_the_pack()  # "It's time for your next cold pack. Is the cold pack on now?"
        side_questions.ask(self, "resume_offer")

    def coming_back_later(self) -> bool:
        """Long enough since the safety questions (rescreen_after_hours) for things to have changed, in the same
        episode, with the questions once answered in it: the kinder return (how is the back, then one combined
        question). Left mid-way through the questions, or never through them, they are asked in full."""
        step = self.step
        mid_screening = step is not None and step.kind == "screening"
        return not CONDITIONS["recently_screened"](self) and self.screening_done() and not mid_screening

    def ask_for_the_pack(self, plan_said: bool = False) -> None:
        """ "Is the cold pack on now?": today's pack step, the step the person was on kept to come back to. With
        none of today's packs on yet, no "it's time for your next..." line leads in: today's plan does (unless it
        was just said, ``plan_said``)."""
        if compress.next_due(self) is None and not plan_said:
            self.plan.lines.extend(compress.todays_plan(self))
        self.record.return_step, self.record.trail = self.record.step, []
        self.record.step = compress.todays_step(self).id
        self.restate()

    def resume_care(self) -> None:
        """After a return's safety question: the care of the day. The plan said again if it has moved on; today's
        pack when it is due (then the step the person was on), else that step; after a finished guide, an
        urgent answer or a goodbye, today's pack."""
        step = self.step
        if step is None or step.pack is None:
            self.record.return_step = None  # (left at a pack asked for on coming back: the step behind it stays)
        self.record.trail, self.record.side_question = [], None
        moved_on = compress.plan_moved_on(self)
        if moved_on:
            self.say_plan_moved_on()
        requested, self.record.requested_step = self.record.requested_step, None
        if requested is not None:  # "go to breathing", said before the safety question
            return self.go(requested, push=False)
        if compress.pack_is_the_care(self):
            if not moved_on:
                self.plan.lines.extend(compress.todays_plan(self))
            self.record.step = compress.todays_step(self).id
            return self.restate()
        if compress.due_before_the_step(self):
            line = compress.next_due(self)
            if line is not None:
                self.plan.lines.append(line)
            return self.ask_for_the_pack(plan_said=moved_on)
        self.render_step(step)

    def say_plan_moved_on(self) -> None:
        """Day two, or heat made it worse: today's pack, never yesterday's."""
        self.say("compress_plan.changed")
        self.plan.lines.extend(compress.todays_plan(self))

    def open_with(self, event: Event) -> None:
        """A request that opened a session with an answer meant for some step ("yes", "next", or an
        utterance Alexa could not resolve): answer as a launch, keeping what the words said."""
        if event.kind == "heat_worse":
            self.record.heat_intolerant = True
        if not self.emergency_active() and event.kind in OPENING_REMARKS:  # else the reminder comes first
            if self.coming_back_later() and event.kind in PAIN_REPORTS:
                return self.launch(report=event.kind)  # the answer to "how is your back?", given before it is asked
            self.say(OPENING_REMARKS[event.kind])
        self.launch()

    def begin(self) -> None:
        """ "My back is spasming": the guide from the start (screening skipped if recent)."""
        self.record.side_question = None
        if self.emergency_active():
            return outcomes.remind_emergency(self)
        if not self.maybe_new_episode():
            self.say_two_weeks_notice()
        self.start_guide()

    def start_guide(self) -> None:
        """From the top; a detour's way back is forgotten (a place asked for by name is kept)."""
        self.record.trail, self.record.side_question, self.record.paused = [], None, False
        self.record.return_step = None
        self.go(self.protocol.start, push=False)

    def breathing_target(self) -> str:
        """The jump target of the breathing step (content.check_roles makes sure there is one)."""
        step = self.protocol.roles["breathing"]
        return next(name for name, target in self.protocol.jump_targets.items() if target == step)

    def remember_requested(self, name: str | None) -> None:
        target = self.protocol.jump_targets.get(name or "")
        if target is not None and target != self.protocol.start:
            self.record.requested_step = target

    def say_two_weeks_notice(self) -> None:
        hours = self.hours_since(self.record.episode.started)
        if hours is not None and hours >= 24 * self.settings["see_doctor_after_days"]:
            self.say("events.two_weeks")

    def carry_on(self) -> None:
        """After a remark or advice: back to where the person was (the question pending, a side question
        included), or into the guide."""
        if self.opening:
            return self.launch()
        question = self.record.side_question
        if question is not None:
            return side_questions.ask(self, question.name, question.flag)
        if self.nothing_under_way():
            return self.begin() if self.step is None or self.step.kind == "end" else self.launch()
        self.restate()

    # ------------------------------------------------------------------ everywhere
    def stop(self) -> None:
        """Save the place and end kindly; an emergency or a "see a doctor today" that stands is said again."""
        self.record.side_question = None
        if self.emergency_active():
            self.say("emergency.reminder")
            return self.end()
        self.say_urgent_reminder()
        self.say("events.stop")
        self.end()

    def forget_everything(self) -> None:
        self.plan.forget_user = True
        alerts.cancel_everything(self)
        self.record = Record.fresh(self.now)
        self.say("events.deleted")
        self.end()

    # ------------------------------------------------------------------ moving and speaking
    def restate(self) -> None:
        """Ask the current question again (after help, fallback and the like)."""
        step = self.step
        if step.kind == "outcome" and step.tier == 1:
            if self.emergency_active():
                return outcomes.remind_emergency(self)
            return side_questions.ask(self, "start_again_offer")  # a lapsed or acknowledged emergency
        if step.kind == "end":
            return side_questions.ask(self, "restart_offer")  # the guide is over: offer to go again
        if step.kind == "outcome":
            return self.ask("urgent.ask", "urgent.reprompt")
        self.ask(f"steps.{step.id}.ask", f"steps.{step.id}.reprompt", **self.ask_params(step))

    def ask_params(self, step: Step) -> dict:
        """A question about the pack in use ("a 15-minute timer for the cold pack?") names it."""
        return compress.pack_params(self, step) if step.pack == compress.IN_USE else {}

    def go(self, target: str, push: bool = True, flag: str | None = None) -> None:
        """Move to ``target``, following routers and pass-through steps, and speak what is there.
        ``flag`` is the red flag behind a safety answer that leads to a triage outcome."""
        current = self.step
        if push and current is not None and (current.is_question or current.kind == "outcome"):
            self.record.trail = (self.record.trail + [current.id])[-self.settings["trail_limit"]:]
        for _ in range(len(self.protocol.steps)):  # bounded: routers and pass-throughs cannot loop
            step = self.protocol.steps[target]
            if step.kind == "router":
                target = self.route(step)
                continue
            if step.then:
                if step.record:
                    RECORDS[step.record](self)
                self.speak_step(step)
                target = step.then
                continue
            break
        self.record.step = step.id
        self.render_step(step, flag=flag)

    def route(self, step: Step, consume: bool = True) -> str:
        """The target of the router's first rule that holds; a remembered place is used up."""
        for condition, target in step.route:
            if not CONDITIONS[condition](self):
                continue
            if target == "requested_step":
                place = self.record.requested_step
                if consume:
                    self.record.requested_step = None
                return place
            if target == "return_step":
                place = self.record.return_step
                if consume:
                    self.record.return_step = None
                return place
            return target
        raise AssertionError("routers end with an 'always' rule")  # checked at load time

    def speak_step(self, step: Step) -> None:
        """The step's advice, without its question."""
        if step.kind in ("info", "end"):
            self.say(f"steps.{step.id}.say", **compress.pack_params(self, step))
            compress.told(self, step)
        for name in step.include:
            INCLUDES[name](self, step)

    def render_step(self, step: Step, flag: str | None = None) -> None:
        if step.kind == "outcome":
            if step.tier == 1:
                return outcomes.emergency(self, flag or (self.record.last_emergency.flag
                                                         if self.record.last_emergency else None))
            return outcomes.urgent(self, flag)
        if step.kind == "end":
            return self.finish(step)
        # The step's own question is the one asked now: no side question stays standing behind it (one left
        # from a session that timed out would take the answer to this one, a safety question included).
        self.record.side_question = None
        self.speak_step(step)
        if playback.plays(self.plan):
            return self.end()  # Alexa plays the track once the session has ended
        self.ask(f"steps.{step.id}.ask", f"steps.{step.id}.reprompt", **self.ask_params(step))

    def finish(self, step: Step) -> None:
        self.record.step = step.id
        self.record.requested_step = None
        if step.id == self.protocol.roles["summary"]:
            return self.summary(step)
        if step.id == self.protocol.roles["goodbye"]:
            self.say_urgent_reminder()
        self.speak_step(step)
        self.end()

    def summary(self, step: Step) -> None:
        """The plan to keep: today's compress plan and what changes next, when the next pack is due,
        rest, the warning signs and how to come back. The card carries the same, without the opening."""
        self.record.episode = replace(self.record.episode, finished=True)
        base = f"steps.{step.id}"
        body = [Line("urgent.reminder")] if self.urgent_standing() else []
        body += compress.todays_plan(self, with_next=True)
        due = compress.next_due(self)
        if due is not None:
            body.append(due)
        body += [Line(f"{base}.rest"), Line(f"{base}.warning"), Line(f"{base}.close")]
        self.say(f"{base}.say")
        self.plan.lines.extend(body)
        self.plan.card = Card(title=Line(f"{base}.card_title"), lines=body)
        self.end()

    # ------------------------------------------------------------------ the events, on a step
    def answer(self, event: Event) -> None:
        step = self.step
        transition = step.on.get(event.kind)
        if transition is None and event.kind == "unsure" and step.kind == "info":
            transition = step.on.get("no")  # "not sure" to "is the pack on?", "has it eased?": not yet
        if event.kind == "worse":
            self.say("events.pain_worse")  # what helps now and when to get help, wherever it is said
        if transition is not None:
            return self.follow(step, transition)
        if step.kind == "screening" and event.kind != "worse":
            self.say("events.screening_needs_answer")
        elif event.kind == "better":
            RECORDS["pain_eased"](self)
            self.say("events.pain_better")
        elif event.kind != "worse":
            self.say("events.fallback")
        self.restate()

    def follow(self, step: Step, transition: Transition) -> None:
        if transition.record:
            RECORDS[transition.record](self)
        if transition.go == "wait":
            self.say("events.wait")
            return self.ask("events.wait_ask", "events.wait_reprompt")
        self.go(transition.go, flag=step.flag)

    def next(self, event: Event) -> None:
        step = self.step
        if step.kind == "screening":
            self.say("events.screening_needs_answer")
            return self.restate()
        self.go(step.next)

    def back(self, event: Event) -> None:
        if not self.record.trail:
            self.say("events.back_at_start")
            return self.restate()
        self.go(self.record.trail.pop(), push=False)

    def repeat(self, event: Event) -> None:
        self.render_step(self.step)

    def start_over(self, event: Event) -> None:
        self.say("events.restart")
        self.record.requested_step = None
        self.start_guide()

    def jump(self, event: Event) -> None:
        target = self.protocol.jump_targets.get(event.target or "")
        if target is None:
            self.say("events.unknown_step")
            return self.restate()
        if target != self.protocol.start and self.step.kind == "screening":
            # Mid-way through the safety questions (even with yesterday's answers on record): finish them.
            self.record.requested_step = target
            self.say("events.screening_finish_first")
            return self.restate()
        if target != self.protocol.start and not self.screening_done():
            self.record.requested_step = target
            return self.go(self.protocol.roles["screening_start"])
        self.go(target)

    def pause(self, event: Event) -> None:
        self.record.paused = True
        self.say("events.paused", title=f"titles.{self.record.step}")
        self.end()

    def resume(self, event: Event) -> None:
        self.record.paused = False
        self.render_step(self.step)

    def help(self, event: Event) -> None:
        self.say("help.screening" if self.step.kind == "screening" else "help.question")
        self.restate()

    def fallback(self, event: Event) -> None:
        self.say("events.fallback")
        self.restate()

    def unsupported(self, event: Event) -> None:
        """ "Loop", "shuffle" with no track playing: said so, and the question again."""
        self.say("events.unsupported")
        self.restate()

    def heat_worse(self, event: Event) -> None:
        self.record.heat_intolerant = True
        if self.record.alerts.timer is not None and self.record.alerts.timer.pack == "heat":
            alerts.cancel_timers(self)  # the heat comes off now
        if self.record.alerts.reminders_pack == "heat":
            alerts.cancel_reminders(self)  # "time for your next moist heat" no longer: cold from now on
        self.say("events.heat_worse")
        if self.step.pack == "heat":  # (not the in_use steps after it: the pack is on by then)
            # The advice just given is now wrong for this person: on to the cold-only step.
            return self.go(self.protocol.roles["compress"], push=False)
        self.plan.lines.extend(compress.todays_plan(self))
        self.restate()


# What each event does on a step (stop, cancel, "delete my data", launches and descriptions are
# answered before a step is consulted: see GuideTurn.answer_event).
EVENTS: dict[str, Callable[[GuideTurn, Event], None]] = {
    "yes": GuideTurn.answer,
    "no": GuideTurn.answer,
    "unsure": GuideTurn.answer,
    "better": GuideTurn.answer,
    "worse": GuideTurn.answer,
    "next": GuideTurn.next,
    "back": GuideTurn.back,
    "repeat": GuideTurn.repeat,
    "start_over": GuideTurn.start_over,
    "jump": GuideTurn.jump,
    "pause": GuideTurn.pause,
    "resume": GuideTurn.resume,
    "help": GuideTurn.help,
    "fallback": GuideTurn.fallback,
    "heat_worse": GuideTurn.heat_worse,
    "unsupported": GuideTurn.unsupported,
}


# ---------------------------------------------------------------------------- how an event is answered
# Rows of (why, when, answer), tried in order: the first row whose ``when`` holds answers the event, unless
# its answer hands an event back (as it was, or rewritten), for the rows after it to answer.
Condition = Callable[[GuideTurn, Event], bool]
Answer = Callable[[GuideTurn, Event], "Event | None"]


def kind_is(*kinds: str) -> Condition:
    return lambda turn, event: event.kind in kinds


def _always(turn: GuideTurn, event: Event) -> bool:
    return True


def _clarifying(turn: GuideTurn, event: Event) -> bool:
    question = turn.record.side_question
    return question is not None and question.name == "clarify_red_flag"


def _answer_clarifying(turn: GuideTurn, event: Event) -> None:
    side_questions.handle(turn, event)  # (its table escalates anything but a clear "only the pain")


def _breathing_as_a_place(turn: GuideTurn, event: Event) -> Event:
    """The length asked for is kept for the breathing step, which is gone to like any other place (the
    safety questions first)."""
    turn.record.breathing_minutes = event.minutes or turn.record.breathing_minutes
    return replace(event, kind="jump", target=turn.breathing_target())


def _opening(turn: GuideTurn, event: Event) -> bool:
    return turn.opening


def _new_episode_if_lapsed(turn: GuideTurn, event: Event) -> Event:
    turn.maybe_new_episode()
    return event


def _opening_with_words_for_a_step(turn: GuideTurn, event: Event) -> bool:
    return turn.opening and event.kind not in SELF_CONTAINED


def _opening_to_a_reminder_or_a_new_episode(turn: GuideTurn, event: Event) -> bool:
    return turn.opening and event.kind not in ANYWHERE and (turn.emergency_active() or turn.record.step is None)


def _launch_keeping_the_place_asked_for(turn: GuideTurn, event: Event) -> None:
    turn.launch(requested=event.target if event.kind == "jump" else None)


def _opening_on_a_plan_that_moved_on(turn: GuideTurn, event: Event) -> bool:
    return turn.opening and event.kind == "jump" and compress.plan_moved_on(turn)


def _say_plan_moved_on(turn: GuideTurn, event: Event) -> Event:
    turn.say_plan_moved_on()
    return event


def _side_question_pending(turn: GuideTurn, event: Event) -> bool:
    return turn.record.side_question is not None


def _answer_side_question(turn: GuideTurn, event: Event) -> Event | None:
    return None if side_questions.handle(turn, event) else event


def _nothing_under_way(turn: GuideTurn, event: Event) -> bool:
    # (a place asked for by name after the guide has finished is gone to)
    finished = turn.step is not None and turn.step.kind == "end"
    return turn.nothing_under_way() and not (event.kind == "jump" and finished)


def _on_the_step(turn: GuideTurn, event: Event) -> None:
    EVENTS[event.kind](turn, event)


ANSWERING: tuple[tuple[str, Condition, Answer], ...] = (
    ("the session ended: nothing is said (an unanswered clarifying question counts as an emergency)",
     kind_is("session_ended"), lambda turn, event: turn.session_ended()),
    ("how the timer or reminders the last plan asked for went", kind_is("effect_done"), alerts.effect_done),
    ("Alexa's answer to a permission request", kind_is("permission"), alerts.permission),
    ("what the player reports about the breathing track", kind_is("playback"), playback.report),
    ("\"do your legs feel weak or numb?\" stands until answered, whatever is said", _clarifying, _answer_clarifying),
    ("\"Alexa, pause\" and the like while the breathing track is on the device", _always, GuideTurn.answer_as_player),
    ("\"a five minute breathing session\": a place like any other", kind_is("breathe"), _breathing_as_a_place),
    ("every way into a session: after a long gap, this is a new spasm", _opening, _new_episode_if_lapsed),
    ("free words: a red flag first, then what they mean (HEARING)", kind_is("describe"), GuideTurn.hear),
    ("\"open back spasm coach\": the coming-back logic", kind_is("launch"), lambda turn, event: turn.launch()),
    ("\"my back is spasming\": the guide from the start", kind_is("start"), lambda turn, event: turn.begin()),
    ("a session opened with words meant for some step (\"yes\", \"next\"): a launch, keeping what they said",
     _opening_with_words_for_a_step, GuideTurn.open_with),
    ("opening: an emergency reminder comes first; a new episode starts with the safety questions",
     _opening_to_a_reminder_or_a_new_episode, _launch_keeping_the_place_asked_for),
    ("opening with a place asked for by name, the plan having moved on: today's pack is said first",
     _opening_on_a_plan_that_moved_on, _say_plan_moved_on),
    ("a side question answers, or lets the event go on (side_questions.SIDE_QUESTIONS)",
     _side_question_pending, _answer_side_question),
    ("stop and cancel work the same everywhere: the place saved, a kind goodbye",
     kind_is("stop", "cancel"), lambda turn, event: turn.stop()),
    ("\"delete my data\": asked to confirm first", kind_is("delete_data"),
     lambda turn, event: side_questions.ask(turn, "confirm_delete")),
    ("nothing under way (a one-shot \"yes\", a finished guide): answered as a launch",
     _nothing_under_way, lambda turn, event: turn.launch()),
    ("on a step: EVENTS says what the event does there", _always, _on_the_step),
)


# ---------------------------------------------------------------------------- how free words are answered
@dataclass(frozen=True)
class Heard:
    """Free words that are no emergency, as ``understanding`` read them, and where they were said."""

    event: Event
    finding: Finding | None  # a tier-3 red flag, its advice already said
    reading: Reading
    step: Step | None
    on_a_question: bool  # the step's own question is pending (no side question)
    guess: object | None = None  # the second line's SignGuess: a sign the lists missed, to be confirmed

    def means(self, kind: str, *values: str) -> bool:
        return self.reading.kind == kind and (not values or self.reading.value in values)


HeardCondition = Callable[[GuideTurn, Heard], bool]
HeardAnswer = Callable[[GuideTurn, Heard], None]


def as_event(kind: str | None = None) -> HeardAnswer:
    """Answered as the event the words meant (``kind``, else the value they were read as)."""
    return lambda turn, heard: turn.as_event(heard, kind or heard.reading.value)


def then_carry_on(act: HeardAnswer) -> HeardAnswer:
    """``act``, then back to where the person was (the question again)."""

    def answer(turn: GuideTurn, heard: Heard) -> None:
        act(turn, heard)
        turn.carry_on()

    return answer


def _heard_over_the_track(turn: GuideTurn, heard: Heard) -> bool:
    remark_or_question = heard.reading.kind in HEARD_REMARKS or heard.reading.kind in ("question", PACK_HARM)
    return heard.finding is None and remark_or_question and playback.keeps_playing(turn, heard.event)


def _answer_over_the_track(turn: GuideTurn, heard: Heard) -> None:
    if heard.reading.kind == "question":
        turn.answer_question(heard.reading.value)
    elif heard.reading.kind == PACK_HARM:
        _pack_off_now(turn)
    else:
        turn.say(HEARD_REMARKS[heard.reading.kind])
    turn.answered_as_player = True
    turn.end()


def _take_the_pack_off(turn: GuideTurn, heard: Heard) -> None:
    """Harm from a pack ("the ice is burning my skin"): take it off now, then a thicker cloth. A question about
    the pack ("is it on?", "a timer for it?") no longer stands: the guide goes on to what comes after it. (Said
    opening a session, the coming-back logic follows instead: a reminder, the safety questions again.)"""
    _pack_off_now(turn)
    step = turn.step
    if heard.on_a_question and not turn.opening and step.pack is not None and step.next:
        return turn.go(step.next)
    turn.carry_on()


def _pack_off_now(turn: GuideTurn) -> None:
    """Take it off now; a timer still running for that pack is cancelled, or it would ring "time to take it off"
    a quarter of an hour after the person did."""
    turn.say("events.pack_harm")
    if compress.time_left(turn) is not None:
        alerts.cancel_timers(turn)
        turn.say("timers.cancelled")


def _okay_to_a_safety_question(turn: GuideTurn, heard: Heard) -> bool:
    return heard.means("answer", "okay") and heard.on_a_question and heard.step.kind == "screening" \
        and not turn.opening


def _needs_a_safety_answer(turn: GuideTurn, heard: Heard) -> None:
    turn.say("events.screening_needs_answer")
    turn.restate()


def _an_answer_or_a_change_in_pain(turn: GuideTurn, heard: Heard) -> bool:
    return heard.means("answer") or heard.means("pain") and heard.reading.value != "same"


def _it_hurts_during_an_exercise(turn: GuideTurn, heard: Heard) -> bool:
    on = heard.step.on if heard.on_a_question else {}
    return heard.means("pain_remark") and "worse" in on and "better" not in on


def _no_better_to_has_it_eased(turn: GuideTurn, heard: Heard) -> bool:
    return heard.means("pain") and heard.on_a_question and "better" in heard.step.on


def _a_moment_with_the_track_stopped(turn: GuideTurn, heard: Heard) -> bool:
    question = turn.record.side_question
    return heard.means("request", "moment") and question is not None and question.name == "track_stopped"


def _the_request_its_question_offers(turn: GuideTurn, heard: Heard) -> bool:
    if not heard.means("request", *REQUESTS_THAT_SAY_YES) or not heard.on_a_question:
        return False
    yes = heard.step.on.get("yes")
    return yes is not None and yes.record == REQUESTS_THAT_SAY_YES[heard.reading.value]


def _pack_newly_on(turn: GuideTurn, heard: Heard) -> bool:
    return heard.means("request", "pack_on") and turn.screening_done() and not turn.emergency_active() \
        and not alerts.pack_still_on(turn)


def _pack_on_to_is_the_pack_on(turn: GuideTurn, heard: Heard) -> bool:
    step = heard.step
    return _pack_newly_on(turn, heard) and heard.on_a_question and step.pack in compress.packs(turn) and bool(step.plan)


def _pack_put_on(turn: GuideTurn, heard: Heard) -> None:
    turn.record.episode = turn.record.episode.with_compress(compress.todays_step(turn).pack, turn.now)
    turn.go(turn.protocol.roles["pack_on"])


def _say_off_time_if_on(turn: GuideTurn, heard: Heard) -> None:
    if alerts.pack_still_on(turn) and not turn.emergency_active():
        alerts.say_off_time(turn)  # "take the cold pack off at 9:15"


def _a_report_to_how_is_your_back(turn: GuideTurn, heard: Heard) -> bool:
    report = turn.content.understanding.pain_report(outcomes.described_text(heard.event))
    if turn.opening:  # "tell back spasm coach it's about the same", a later day: the answer before the question
        return report is not None and not turn.emergency_active() and turn.coming_back_later()
    question = turn.record.side_question
    if question is None or question.name != "how_is_back":
        return False
    return report is not None or heard.reading.kind in ("remark", "pain_remark")


def _pain_reported(turn: GuideTurn, heard: Heard) -> None:
    """ "A bit easier", "no change": kept for the day; "pretty rough night", "it's not great": heard, and the
    safety question comes next all the same (how the back is was asked to be kind, not to hold the person up)."""
    report = turn.content.understanding.pain_report(outcomes.described_text(heard.event))
    if turn.opening:
        return turn.launch(report=report)
    if report is not None:
        return side_questions.pain_reported(turn, report)
    turn.say(HEARD_REMARKS[heard.reading.kind])
    side_questions.safety_question_on_return(turn)


def _a_remark(turn: GuideTurn, heard: Heard) -> bool:
    remark = heard.reading.kind in HEARD_REMARKS
    return remark and heard.finding is None and (heard.means("symptom") or not turn.opening)


# What free words may be, for the second line to look for a sign in them: a complaint about another part of the
# body, the pain in passing, anything else said. Never an answer, a request, a question ("could this be a
# tumour?" is no history of cancer) or a pain report ("it's much worse", which gets its own careful answer): on
# the development sets those were where its guesses went wrong.
GUESSED_READINGS = frozenset({"symptom", "pain_remark", "remark"})


def _confirm_the_correction(turn: GuideTurn, heard: Heard) -> None:
    """ "That was a mistake": one question about the sign before anything is taken back."""
    turn.ask_side_question("confirm_alarm", outcomes.standing_alarm(turn).flag)


def _yes_carry_on_to_have_you_got_help(turn: GuideTurn, heard: Heard) -> bool:
    question = turn.record.side_question
    return question is not None and question.name == "confirm_help" and heard.means("answer", "yes") and \
        turn.content.understanding.asks_to_carry_on(outcomes.described_text(heard.event))


def _the_number_asked_for_in_an_emergency(turn: GuideTurn, heard: Heard) -> bool:
    return heard.means("question") and turn.emergency_active() and \
        turn.content.understanding.asks_for_the_number(outcomes.described_text(heard.event))


def _no_answer_to_a_confirming_question(turn: GuideTurn, heard: Heard) -> bool:
    answers = heard.means("answer", "yes", "no", "unsure") or heard.means("request", "repeat", "help")
    return side_questions.sign_asked_about(turn.record) is not None and not answers


def _second_line_guessed(turn: GuideTurn, heard: Heard) -> bool:
    red_flags = turn.content.red_flags
    return heard.guess is not None and heard.guess.flag_id in red_flags.ids() and \
        red_flags.tier_of(heard.guess.flag_id) in (1, 2)


def _confirm_the_guess(turn: GuideTurn, heard: Heard) -> None:
    """ "Did you say ...?": the side question the person was on, if any, is asked again after a no."""
    side_questions.ask(turn, "confirm_sign", heard.guess.flag_id, interrupted=turn.record.side_question,
                       on_opening=turn.opening)


HEARING: tuple[tuple[str, HeardCondition, HeardAnswer], ...] = (
    ("\"that was a mistake\" while an emergency or \"see a doctor today\" stands: one confirming question about that "
     "sign", lambda turn, heard: heard.means("correction"), _confirm_the_correction),
    ("\"yes, carry on\" to \"have you spoken to emergency services?\" asks for the guide, and is no clear yes: the "
     "emergency stands, and a yes or a no is asked for", _yes_carry_on_to_have_you_got_help,
     then_carry_on(lambda turn, heard: turn.say("events.screening_needs_answer"))),
    ("free words that are no yes, no or not sure to a confirming question (\"did you say ...?\"): no answer, asked "
     "once more, then settled by the sign's tier", _no_answer_to_a_confirming_question, as_event("fallback")),
    ("free words the phrase lists found no sign in, but close to one (the second line): \"did you say ...?\"",
     _second_line_guessed, _confirm_the_guess),
    ("a remark, a question or harm from a pack while the breathing track plays: heard or answered, and it plays on",
     _heard_over_the_track, _answer_over_the_track),
    ("harm from a pack (\"the ice is burning my skin\"), anywhere, in place of any answer: take it off now",
     lambda turn, heard: heard.means(PACK_HARM), _take_the_pack_off),
    ("\"okay\" to a safety question is no answer", _okay_to_a_safety_question, _needs_a_safety_answer),
    ("\"a bit easier\", \"no change\", \"seized up again\" to \"how is your back today?\": kept for the day (a "
     "remark is heard), then the safety question",
     _a_report_to_how_is_your_back, _pain_reported),
    ("\"okay\" to anything else (\"ready for the next step?\") is yes",
     lambda turn, heard: heard.means("answer", "okay"), as_event("yes")),
    ("an answer (\"nah\", \"yeah a bit\"), or the pain better or worse: that event",
     _an_answer_or_a_change_in_pain, as_event()),
    ("\"what number do I ring again?\" while an emergency answer stands: that answer again (it names the number)",
     _the_number_asked_for_in_an_emergency, lambda turn, heard: outcomes.remind_emergency(turn)),
    ("\"say that again\", \"what do you mean?\", \"just carry on where we were\", \"can you pause it\", \"that's enough for "
     "today, goodbye\": what the intent would have done", lambda turn, heard: heard.means("request", *REQUESTS_AS_EVENTS),
     as_event()),
    ("\"hold on a sec\" once the breathing track is stopped: the track paused, as \"Alexa, pause\" would (its place kept)",
     _a_moment_with_the_track_stopped, as_event("pause")),
    ("\"this one hurts\", during an exercise that says stop if it hurts more", _it_hurts_during_an_exercise,
     as_event("worse")),
    ("nothing the skill can read", lambda turn, heard: heard.means("nothing"), as_event("fallback")),
    ("\"no better\" to \"has the pain eased?\" is no", _no_better_to_has_it_eased, as_event("no")),
    ("\"no better\" anywhere else: heard", lambda turn, heard: heard.means("pain"),
     then_carry_on(lambda turn, heard: turn.say("events.pain_same"))),
    ("\"give me a moment\"", lambda turn, heard: heard.means("request", "moment"),
     then_carry_on(lambda turn, heard: turn.say("events.moment"))),
    ("\"set a timer\" to \"shall I set a timer?\", \"remind me\" to \"shall I remind you?\": yes",
     _the_request_its_question_offers, as_event("yes")),
    ("a timer: set one, how long is left, cancel it (a timer being set: the plan stands until the platform's "
     "second pass words the outcome)", lambda turn, heard: heard.means("request", "timer", "time_left", "cancel_timer"),
     then_carry_on(lambda turn, heard: alerts.timer_request(turn, heard.reading.value))),
    ("\"the ice pack is on now\" to \"is the cold pack on now?\": yes", _pack_on_to_is_the_pack_on, as_event("yes")),
    ("\"the ice pack is on now\", said later than \"is the pack on?\": it is, and the timer is offered",
     _pack_newly_on, _pack_put_on),
    ("\"the ice pack is on now\" when it is on already, or before the safety questions are done: when it comes "
     "off, if it is on, and the question again", lambda turn, heard: heard.means("request", "pack_on"),
     then_carry_on(_say_off_time_if_on)),
    ("reminders: set them, cancel them, when the next pack is due",
     lambda turn, heard: heard.means("request", "reminder", "cancel_reminders", "next_due"),
     then_carry_on(lambda turn, heard: alerts.reminder_request(turn, heard.reading.value))),
    ("a question: its answer", lambda turn, heard: heard.means("question"),
     then_carry_on(lambda turn, heard: turn.answer_question(heard.reading.value))),
    ("a remark: heard (opening a session, the welcome acknowledges it)", _a_remark,
     then_carry_on(lambda turn, heard: turn.say(HEARD_REMARKS[heard.reading.kind]))),
    ("anything else: back to where the person was", lambda turn, heard: True, lambda turn, heard: turn.carry_on()),
)
