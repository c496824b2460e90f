"""The guide engine: a pure function of (record, event, time, locale) to (new record, plan).

It knows the protocol and the person's record, nothing about Alexa or HTTP. Every turn ends with
either a question (the session stays open, with a reprompt) or nothing to ask (the session ends).

How one event is answered (``Reply.answer_event``), in order:
1. the session ended: nothing is said (an unanswered clarifying question counts as an emergency);
2. "do your legs feel weak or numb?" is being asked: it stands until answered, whatever is said;
3. a request that opens a session first runs the episode logic (a long gap means a new spasm);
4. free words ("i can't feel my legs", "nah", "how long do I keep the ice on"): a red flag first
   (``outcomes.triage``), answered this turn whatever else was going on; else what the words mean
   (``Reply.hear``, in ``understanding``'s order: an answer, a request, a question, a pain report, a
   symptom, a remark);
5. a launch, a "my back is spasming", or any other request that opens a session: the coming-back
   logic (``Reply.launch``: an emergency reminder first, the safety questions again after 12 hours,
   today's compress plan, else an offer to carry on);
6. a side question is being asked (``side_questions``): its table answers, or lets the event through;
7. stop, cancel and "delete my data" work the same everywhere;
8. nothing is under way (a one-shot "yes", a finished guide): answered as a launch;
9. otherwise ``EVENTS`` says what the event does on the current step.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Callable

from skill.engine import alerts, compress, outcomes, playback, side_questions
from skill.engine.content import Content, Step, Transition, default_content
from skill.engine.plan import Card, Event, Line, Plan, Turn
from skill.engine.record import Record, iso, since
from skill.engine.rules import CONDITIONS, INCLUDES, RECORDS

# Events that mean the same thing whatever step the person is on, so a request that opens a session
# with one of them is taken at its word ("Alexa, tell back spasm coach go to breathing"). Anything
# else needs the step it answers, and a new session has none: it is answered as a launch.
SELF_CONTAINED = frozenset({"jump", "stop", "cancel", "pause", "start_over", "delete_data", "effect_done",
                            "permission", "unsupported"})
# Events that work the same everywhere, even before an emergency reminder.
ANYWHERE = frozenset({"stop", "cancel", "delete_data"})
# What free words that are only a remark hear before the question again (understanding's kinds).
HEARD_REMARKS = {"symptom": "events.symptom_unmatched", "pain_remark": "events.pain_remark", "remark": "events.remark"}
# A request that is the very yes a question offers: the fact its "yes" records (protocol.yaml).
REQUESTS_THAT_SAY_YES = {"timer": "timer_wanted", "reminder": "reminders_wanted"}
# What a session opened with a pain report hears before the welcome back.
OPENING_REMARKS = {"better": "events.pain_better", "worse": "events.pain_worse", "heat_worse": "events.heat_worse"}


class Guide:
    def __init__(self, content: Content | None = None):
        self.content = content or default_content()

    def handle(self, raw_record: dict | None, event: Event, now: datetime, locale: str | None = None) -> Turn:
        record = Record.from_json(raw_record, now, self.content.known)
        side_questions.drop_if_stale(record)
        reply = Reply(self.content, record, now, locale, opening=event.opens_session)
        reply.event_zone = event.zone
        reply.event_tracks = event.tracks
        reply.device_event = event  # what the device's player holds (playback.held_offset)
        alerts.remember_zone(reply)
        reply.answer_event(event)
        if not reply.answered_as_player:
            playback.stop_if_sounding(reply, event)
        record.last_seen = iso(now)
        return Turn(state=record.to_json(), plan=reply.plan)


class Reply:
    """One turn being built: its methods change ``record`` (this turn's own copy) and add to ``plan``."""

    def __init__(self, content: Content, record: Record, now: datetime, locale: str | None, opening: bool):
        self.content = content
        self.protocol = content.protocol
        self.settings = content.protocol.settings
        self.record = record
        self.now = now
        self.now_iso = iso(now)
        self.locale = locale
        self.opening = opening  # this request opened a session
        self.event_zone: str | None = None  # the device's time zone, when the event says it
        self.event_tracks: frozenset = frozenset()  # the breathing tracks the device can be played
        self.answered_as_player = False  # "Alexa, pause" and the like, answered by playback.control
        self.device_event: Event | None = None
        self.plan = Plan()

    # ------------------------------------------------------------------ what we know
    @property
    def step(self) -> Step | None:
        return self.protocol.steps.get(self.record.step) if self.record.step else None

    def hours_since(self, value: str | None) -> float | None:
        delta = since(value, self.now)
        return None if delta is None else delta.total_seconds() / 3600

    def emergency_active(self) -> bool:
        last = self.record.last_emergency
        if last is None or last.acknowledged:
            return False
        return self.within_reminder_window(last.at)

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
            return True
        return False

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

    # ------------------------------------------------------------------ one event
    def answer_event(self, event: Event) -> None:
        if event.kind == "session_ended":
            return self.session_ended()
        if event.kind == "effect_done":
            return alerts.effect_done(self, event)
        if event.kind == "permission":
            return alerts.permission(self, event)
        if event.kind == "playback":
            return playback.report(self, event)
        question = self.record.side_question
        if question is not None and question.name == "clarify_red_flag":
            # "Do your legs feel weak or numb?" stands until answered: anything else escalates.
            side_questions.handle(self, event)
            return
        if playback.control(self, event):
            self.answered_as_player = True  # "Alexa, pause" while the breathing track plays
            return
        if event.kind == "breathe":
            # "A five minute breathing session": the length is kept for the breathing step, which is a
            # place like any other ("go to breathing"), the safety questions first.
            self.record.breathing_minutes = event.minutes or self.record.breathing_minutes
            event = replace(event, kind="jump", target=self.breathing_target())
        if self.opening:
            # The same episode logic for every way in: after a long gap, this is a new spasm.
            self.maybe_new_episode()
        if event.kind == "describe":
            return self.hear(event)
        if event.kind == "launch":
            return self.launch()
        if event.kind == "start":
            return self.begin()
        if self.opening and event.kind not in SELF_CONTAINED:
            return self.open_with(event)
        if self.opening and event.kind not in ANYWHERE and (self.emergency_active() or self.record.step is None):
            # An emergency reminder comes first; a new episode starts with the safety questions.
            return self.launch(requested=event.target if event.kind == "jump" else None)
        if self.opening and event.kind == "jump" and compress.plan_moved_on(self):
            self.say_plan_moved_on()
        if self.record.side_question is not None and side_questions.handle(self, event):
            return
        if event.kind in ("stop", "cancel"):
            return self.stop()
        if event.kind == "delete_data":
            return side_questions.ask(self, "confirm_delete")
        if self.nothing_under_way() and not (event.kind == "jump" and self.step is not None and self.step.kind == "end"):
            return self.launch()  # (a place asked for by name after the guide has finished is gone to)
        EVENTS[event.kind](self, event)

    def hear(self, event: Event) -> None:
        """Free words: a red flag first, then what ``understanding`` reads in them."""
        finding = outcomes.find(self, event)
        if finding is not None and finding.tier in (1, 2):
            return outcomes.triage(self, finding)
        if finding is not None:
            self.say(f"routine.{finding.flag}")  # tier 3: the advice, then the words are read on
        step = self.step
        sign = step.flag if step is not None and step.kind == "screening" else None
        reading = self.content.understanding.read(outcomes.described_text(event), sign, self.content.red_flags)
        self.plan.heard = reading.kind

        def as_event(kind: str) -> None:
            """The words meant what an intent would have: answer them as that event."""
            return self.answer_event(replace(event, kind=kind, text="", carrier="", flag=None))

        on_a_question = step is not None and self.record.side_question is None
        if finding is None and (reading.kind in HEARD_REMARKS or reading.kind == "question") \
                and playback.keeps_playing(self, event):
            # "My legs feel nice and heavy now", "how long do I keep the ice on?", while the breathing track
            # plays: heard or answered, and it plays on.
            if reading.kind == "question":
                self.answer_question(reading.value)
            else:
                self.say(HEARD_REMARKS[reading.kind])
            self.answered_as_player = True
            return self.end()
        if reading.kind == "answer" and reading.value == "okay":
            if on_a_question and step.kind == "screening" and not self.opening:
                self.say("events.screening_needs_answer")  # "okay" to "any numbness?" is no answer
                return self.restate()
            return as_event("yes")  # "okay" to "ready for the next step?" is yes
        if reading.kind == "answer" or reading.kind == "pain" and reading.value != "same":
            return as_event(reading.value)
        if reading.kind == "request" and reading.value in ("repeat", "help"):
            return as_event(reading.value)
        if reading.kind == "pain_remark" and on_a_question and "worse" in step.on and "better" not in step.on:
            return as_event("worse")  # "this one hurts", during an exercise that says "stop if it hurts more"
        if reading.kind == "nothing":
            return as_event("fallback")
        if reading.kind == "pain":  # "no better": no to "has the pain eased?", a remark anywhere else
            if on_a_question and "better" in step.on:
                return as_event("no")
            self.say("events.pain_same")
        elif reading.kind == "request" and reading.value == "moment":
            self.say("events.moment")
        elif reading.kind == "request" and reading.value in REQUESTS_THAT_SAY_YES and on_a_question \
                and step.on.get("yes") is not None and step.on["yes"].record == REQUESTS_THAT_SAY_YES[reading.value]:
            return as_event("yes")  # "set a timer" to "shall I set a timer?", "remind me" to "shall I remind you?"
        elif reading.kind == "request" and reading.value in ("timer", "time_left", "cancel_timer"):
            # (a timer being set: this plan stands until the platform's second pass words the outcome)
            alerts.timer_request(self, reading.value)
        elif reading.kind == "request" and reading.value == "pack_on" and self.screening_done() \
                and not self.emergency_active() and not alerts.pack_still_on(self):
            # "The ice pack is on now", said later than "is the pack on?": it is, and the timer is offered.
            if on_a_question and step.pack in compress.packs(self) and step.plan:
                return as_event("yes")  # the answer to "is the cold pack on now?"
            self.record.episode = self.record.episode.with_compress(compress.todays_step(self).pack, self.now)
            return self.go(self.protocol.roles["pack_on"])
        elif reading.kind == "request" and reading.value in ("reminder", "cancel_reminders", "next_due"):
            alerts.reminder_request(self, reading.value)
        elif reading.kind == "question":
            self.answer_question(reading.value)
        elif finding is None and (reading.kind == "symptom" or not self.opening):
            self.say(HEARD_REMARKS[reading.kind])  # (opening a session, the welcome acknowledges a remark)
        self.carry_on()

    def answer_question(self, question_id: str) -> None:
        question = self.content.understanding.question(question_id)
        if question is None:  # none the skill can answer: about the care, or about something else
            return self.say("events.question_off_topic" if question_id == "off_topic" else "events.question_other")
        if question.answer == "todays_plan":  # which pack, how long and how often: today's, and what comes next
            return self.plan.lines.extend(compress.todays_plan(self, with_next=True))
        self.say(f"questions.{question.id}")

    def session_ended(self) -> None:
        question = self.record.side_question
        if question is not None and question.name == "clarify_red_flag":
            # No answer to "do your legs feel weak or numb?" counts as yes: the next launch reminds.
            outcomes.emergency(self, question.flag)
        self.plan = Plan(end_session=True)

    # ------------------------------------------------------------------ opening a session
    def launch(self, requested: str | None = None) -> None:
        """ "Open back spasm coach", and every other way into a new session."""
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
            # back, the guide carries on after it.
            self.record.step = self.step.next
        elif self.step is not None and self.step.pack in compress.packs(self) and not self.step.plan:
            # Left waiting for the pack ("put it on when you can"): coming back, ask whether it is on now.
            self.record.step = compress.todays_step(self).id
        self.say("events.welcome_back")
        after_track = playback.since_last_time(self)  # "well done for finishing the breathing"
        self.say_two_weeks_notice()
        self.say_urgent_reminder()
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
        side_questions.ask(self, "resume_offer")

    def say_plan_moved_on(self) -> None:
        """Day two, or heat made it worse: today's pack, never yesterday's."""
        self.say("compress_plan.changed")
        self.plan.lines.extend(compress.todays_plan(self))

    def urgent_standing(self) -> bool:
        urgent = self.record.episode.urgent
        return urgent is not None and self.within_reminder_window(urgent.at)

    def within_reminder_window(self, moment: str) -> bool:
        """Recent enough for an emergency or a "see a doctor today" to be said again (a day)."""
        hours = self.hours_since(moment)
        return hours is not None and hours < self.settings["emergency_reminder_hours"]

    def open_with(self, event: Event) -> None:
        """A request that opened a session with an answer meant for some step ("yes", "next", or an
        utterance Alexa could not resolve): answer as a launch, keeping what the words said."""
        if event.kind == "heat_worse":
            self.record.heat_intolerant = True
        if not self.emergency_active() and event.kind in OPENING_REMARKS:  # else the reminder comes first
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

    def say_urgent_reminder(self) -> None:
        if self.urgent_standing():
            self.say("urgent.reminder")

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
# answered before a step is consulted: see Reply.answer_event).
EVENTS: dict[str, Callable[[Reply, Event], None]] = {
    "yes": Reply.answer,
    "no": Reply.answer,
    "unsure": Reply.answer,
    "better": Reply.answer,
    "worse": Reply.answer,
    "next": Reply.next,
    "back": Reply.back,
    "repeat": Reply.repeat,
    "start_over": Reply.start_over,
    "jump": Reply.jump,
    "pause": Reply.pause,
    "resume": Reply.resume,
    "help": Reply.help,
    "fallback": Reply.fallback,
    "heat_worse": Reply.heat_worse,
    "unsupported": Reply.unsupported,
}
