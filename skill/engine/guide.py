"""The guide engine: a pure function of (state, event, time, locale) to (new state, plan).

It knows the protocol and the person's record, nothing about Alexa or HTTP. Every turn ends with
either a question (the session stays open, with a reprompt) or nothing to ask (the session ends).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from skill.engine import state as records
from skill.engine.content import Content, Step, Transition, default_content
from skill.engine.plan import Breathing, Card, Event, Line, Plan, Turn


class Guide:
    def __init__(self, content: Content | None = None):
        self.content = content or default_content()
        self.protocol = self.content.protocol
        self.settings = self.protocol.settings

    # ------------------------------------------------------------------ entry point
    def handle(self, raw_state: dict | None, event: Event, now: datetime, locale: str | None = None) -> Turn:
        state = records.normalise(raw_state, now, self.protocol.steps)
        turn = _TurnBuilder(self, state, now, locale)
        turn.dispatch(event)
        state["last_seen"] = records.iso(now)
        return Turn(state=state, plan=turn.plan)


class _TurnBuilder:
    """Builds one turn. Methods mutate ``state`` (a private copy) and ``plan``."""

    def __init__(self, guide: Guide, state: dict, now: datetime, locale: str | None):
        self.guide = guide
        self.steps = guide.protocol.steps
        self.settings = guide.settings
        self.state = state
        self.now = now
        self.locale = locale
        self.plan = Plan()
        # The red flag behind a screening answer that leads to a triage outcome.
        self.outcome_flag: str | None = None

    # ------------------------------------------------------------------ helpers
    @property
    def step(self) -> Step | None:
        return self.steps.get(self.state["step"]) if self.state["step"] else None

    def say(self, key: str, **params) -> None:
        self.plan.lines.append(Line(key, params))

    def ask(self, key: str, reprompt_key: str | None = None, **params) -> None:
        self.plan.question = Line(key, params)
        self.plan.reprompt = Line(reprompt_key or key, params)
        self.plan.end_session = False

    def end(self) -> None:
        self.plan.question = None
        self.plan.reprompt = None
        self.plan.end_session = True

    def title(self, step_id: str | None) -> str:
        return f"titles.{step_id}" if step_id else "titles.rest"

    def hours_since(self, value: str | None) -> float | None:
        delta = records.since(value, self.now)
        return None if delta is None else delta.total_seconds() / 3600

    def emergency_active(self) -> bool:
        last = self.state["last_emergency"]
        if not last or last.get("acknowledged"):
            return False
        hours = self.hours_since(last.get("at"))
        return hours is not None and hours < self.settings["emergency_reminder_hours"]

    def screening_done(self) -> bool:
        screening = self.state["episode"]["screening"]
        return bool(screening) and screening.get("result") in ("clear", "urgent")

    def maybe_new_episode(self) -> bool:
        hours = self.hours_since(self.state["last_seen"])
        if self.state["step"] is not None and hours is not None and hours >= self.settings["episode_gap_hours"]:
            records.start_new_episode(self.state, self.now)
            return True
        return False

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, event: Event) -> None:
        kind = event.kind
        if kind == "session_ended":
            self.plan = Plan(end_session=True)
            return
        if kind == "red_flag":
            # Before anything else, whatever was going on: a warning sign is answered this turn.
            return self.on_red_flag(event.target)
        if kind == "launch":
            return self.on_launch()
        if kind == "start":
            return self.on_start()
        pending = self.state["pending"]
        if pending:
            handled = getattr(self, f"pending_{pending}")(event)
            if handled:
                return
            self.state["pending"] = None
        if kind in ("stop", "cancel"):
            return self.on_stop()
        if kind == "delete_data":
            self.state["pending"] = "confirm_delete"
            return self.ask("events.delete_ask", "events.delete_reprompt")
        step = self.step
        if kind == "symptom" and (step is None or step.kind == "end"):
            self.say("events.symptom_unmatched")
            return self.on_start()
        if step is None or step.kind == "end" or (step.kind == "outcome" and step.tier == 1):
            # Nothing under way (a one-shot "yes", or after the guide ended): answer as a launch would.
            return self.on_launch()
        getattr(self, f"on_{kind}")(event)

    # ------------------------------------------------------------------ opening a session
    def on_launch(self) -> None:
        if self.emergency_active():
            return self.remind_emergency()
        if self.maybe_new_episode() or self.state["step"] is None:
            return self.start_guide(welcome_back=bool(self.state["past_episodes"]))
        step = self.step
        if step is None or step.kind == "end" or (step.kind == "outcome" and step.tier == 1):
            # The guide ended, or the emergency was acknowledged or is over a day old: offer to begin again.
            self.state["pending"] = "restart_offer"
            self.say("events.welcome_back")
            return self.ask("events.done_ask", "events.done_reprompt")
        self.state["pending"] = "resume_offer"
        self.say("events.welcome_back")
        self.add_two_weeks_notice()
        self.add_next_compress()
        self.ask("events.resume_ask", "events.resume_reprompt", title=self.title(self.state["step"]))

    def on_start(self) -> None:
        self.state["pending"] = None
        if self.emergency_active():
            return self.remind_emergency()
        if not self.maybe_new_episode():
            self.add_two_weeks_notice()
        self.start_guide()

    def start_guide(self, welcome_back: bool = False) -> None:
        self.state.update(trail=[], pending=None, paused=False)
        if welcome_back:
            self.say("events.welcome_back")
        self.go(self.guide.protocol.start, push=False)

    def remind_emergency(self) -> None:
        self.state["pending"] = "confirm_help"
        self.say("emergency.reminder")
        self.ask("emergency.ask_got_help", "emergency.ask_got_help_reprompt")
        self.plan.triage = "emergency"

    # ------------------------------------------------------------------ side questions
    def pending_confirm_help(self, event: Event) -> bool:
        # Self-care resumes only after a clear yes; nothing else gets past this question.
        if event.kind == "yes":
            self.state["last_emergency"]["acknowledged"] = True
            self.state["pending"] = None
            self.say("emergency.got_help")
            self.state["trail"] = []
            self.go("rest", push=False)
        elif event.kind in ("no", "unsure"):
            self.state["pending"] = None
            self.emergency(self.state["last_emergency"].get("reason"))
        elif event.kind in ("stop", "cancel", "pause"):
            self.say("emergency.reminder")
            self.end()
        elif event.kind == "delete_data":
            return False  # a person may always have their data deleted
        elif event.kind == "help":
            self.say("help.offer")
            self.ask("emergency.ask_got_help", "emergency.ask_got_help_reprompt")
        else:
            self.remind_emergency()
        return True

    def pending_resume_offer(self, event: Event) -> bool:
        if event.kind in ("yes", "next", "resume"):
            self.state["pending"] = None
            self.state["paused"] = False
            self.render_step(self.step)
            return True
        if event.kind == "no":
            self.say("events.restart")
            self.start_guide()
            return True
        return self._side_question_basics(event, "events.resume_ask", "events.resume_reprompt",
                                          title=self.title(self.state["step"]))

    def pending_restart_offer(self, event: Event) -> bool:
        if event.kind in ("yes", "next", "start_over"):
            self.maybe_new_episode()
            self.start_guide()
            return True
        if event.kind == "no":
            self.state["pending"] = None
            self.say("steps.goodbye.say")
            self.end()
            return True
        return self._side_question_basics(event, "events.done_ask", "events.done_reprompt")

    def pending_confirm_delete(self, event: Event) -> bool:
        if event.kind == "yes":
            self.plan.forget_user = True
            self.state.clear()
            self.state.update(records.fresh_state(self.now))
            self.say("events.deleted")
            self.end()
            return True
        if event.kind in ("no", "cancel", "stop"):
            self.state["pending"] = None
            self.say("events.delete_kept")
            if event.kind == "stop":
                self.on_stop()
            else:
                self.restate()
            return True
        if event.kind == "help":
            self.say("help.offer")
        elif event.kind != "repeat":
            self.say("events.fallback")
        self.ask("events.delete_ask", "events.delete_reprompt")
        return True

    def _side_question_basics(self, event: Event, ask_key: str, reprompt_key: str, **params) -> bool:
        """Help, repeat and fallback re-ask the side question; anything else leaves it."""
        preface = {"help": "help.offer", "fallback": "events.fallback"}
        if event.kind in ("help", "repeat", "fallback", "unsure", "better", "worse"):
            if event.kind in preface:
                self.say(preface[event.kind])
            self.ask(ask_key, reprompt_key, **params)
            return True
        return False

    # ------------------------------------------------------------------ answers
    def on_yes(self, event: Event) -> None:
        self.answer("yes")

    def on_no(self, event: Event) -> None:
        self.answer("no")

    def on_unsure(self, event: Event) -> None:
        self.answer("unsure")

    def on_better(self, event: Event) -> None:
        self.answer("better")

    def on_worse(self, event: Event) -> None:
        self.answer("worse")

    def answer(self, answer: str) -> None:
        step = self.step
        transition = step.on.get(answer)
        if transition is not None:
            if step.kind == "screening":
                self.outcome_flag = step.flag
            return self.follow(transition)
        if step.kind == "screening":
            self.say("events.screening_needs_answer")
            return self.restate()
        if answer == "better":
            self.state["episode"]["pain_eased"] = True
            self.say("events.pain_better")
        elif answer == "worse":
            self.say("events.pain_worse")
        else:
            self.say("events.fallback")
        self.restate()

    def follow(self, transition: Transition) -> None:
        self.record(transition.record)
        if transition.go == "wait":
            self.say("events.wait")
            return self.ask("events.wait_ask", "events.wait_reprompt")
        self.go(transition.go)

    def record(self, name: str | None) -> None:
        episode = self.state["episode"]
        if name in ("cold_compress", "heat_compress"):
            episode["compress_log"] = (episode["compress_log"] + [{"pack": name.split("_")[0],
                                                                   "at": records.iso(self.now)}])[-50:]
        elif name == "pain_eased":
            episode["pain_eased"] = True
        elif name == "screening_clear":
            episode["screening"] = {"result": "clear", "at": records.iso(self.now)}

    # ------------------------------------------------------------------ navigation
    def on_next(self, event: Event) -> None:
        step = self.step
        if step.kind == "screening":
            self.say("events.screening_needs_answer")
            return self.restate()
        self.go(step.next)

    def on_back(self, event: Event) -> None:
        if not self.state["trail"]:
            self.say("events.back_at_start")
            return self.restate()
        previous = self.state["trail"].pop()
        self.go(previous, push=False)

    def on_repeat(self, event: Event) -> None:
        self.render_step(self.step)

    def on_start_over(self, event: Event) -> None:
        self.say("events.restart")
        self.start_guide()

    def on_jump(self, event: Event) -> None:
        target = self.guide.protocol.jump_targets.get(event.target or "")
        if target is None:
            self.say("events.unknown_step")
            return self.restate()
        if target != self.guide.protocol.start and not self.screening_done():
            self.state["requested_step"] = target
            if self.step.kind == "screening":
                self.say("events.screening_finish_first")
                return self.restate()
            self.say("events.screening_first")
            return self.go("screen_saddle")
        self.go(target)

    def on_pause(self, event: Event) -> None:
        self.state["paused"] = True
        self.say("events.paused", title=self.title(self.state["step"]))
        self.end()

    def on_resume(self, event: Event) -> None:
        self.state["paused"] = False
        self.render_step(self.step)

    def on_help(self, event: Event) -> None:
        step = self.step
        self.say("help.screening" if step.kind == "screening" else "help.question")
        self.restate()

    def on_stop(self) -> None:
        self.state["pending"] = None
        self.say("events.stop")
        self.end()

    def on_fallback(self, event: Event) -> None:
        self.say("events.fallback")
        self.restate()

    def on_heat_worse(self, event: Event) -> None:
        self.state["heat_intolerant"] = True
        self.say("events.heat_worse")
        step = self.step
        if step.pack == "heat":
            # The advice on screen is now wrong for this person: move to the cold-only step.
            return self.go("compress", push=False)
        self.restate()

    # ------------------------------------------------------------------ moving and speaking
    def restate(self) -> None:
        """Ask the current question again (after help, fallback and the like)."""
        step = self.step
        if step.kind == "outcome" and step.tier == 1:
            return self.remind_emergency()
        if step.kind == "outcome":
            return self.ask("urgent.ask", "urgent.reprompt")
        self.ask(f"steps.{step.id}.ask", f"steps.{step.id}.reprompt")

    def go(self, target: str, push: bool = True) -> None:
        """Move to ``target``, following routers and pass-through steps, and speak what is there."""
        if push and self.state["step"] and self.steps[self.state["step"]].kind in ("info", "screening", "outcome"):
            self.state["trail"] = (self.state["trail"] + [self.state["step"]])[-self.settings["trail_limit"]:]
        for _ in range(len(self.steps)):  # bounded: routers and pass-throughs cannot loop forever
            step = self.steps[target]
            if step.kind == "router":
                target = self.route(step)
                continue
            if step.then:
                self.speak_step(step)
                target = step.then
                continue
            break
        self.state["step"] = step.id
        self.render_step(step, arriving=True)

    def route(self, step: Step) -> str:
        for condition, target in step.route:
            if condition == "always" or self.condition(condition):
                if target in ("requested_step", "return_step"):
                    target, self.state[target] = self.state[target], None
                return target
        raise AssertionError("routers end with an 'always' rule")  # checked at load time

    def condition(self, name: str) -> bool:
        episode = self.state["episode"]
        if name == "heat_intolerant":
            return bool(self.state["heat_intolerant"])
        if name == "later_episode":
            return episode["number"] > 1
        if name == "cold_phase":
            hours = self.hours_since(episode["started"])
            return hours is not None and hours < self.settings["compress"]["cold_phase_hours"]
        if name == "recently_screened":
            screening = episode["screening"]
            hours = self.hours_since(screening["at"]) if screening and screening["result"] == "clear" else None
            return hours is not None and hours < self.settings["rescreen_after_hours"]
        if name == "return_step":
            return self.state["return_step"] is not None
        if name == "requested_step":
            # Only a place a person can ask for by name; a forged record cannot route elsewhere.
            return self.state["requested_step"] in self.guide.protocol.jump_targets.values()
        raise AssertionError(name)

    def pack_params(self, step: Step) -> dict:
        if not step.pack:
            return {}
        pack = self.settings["compress"][step.pack]
        return {"minutes": pack["minutes"], "every_hours": pack["every_hours"]}

    def speak_step(self, step: Step) -> None:
        """The step's advice, without its question."""
        if step.id == "breathing":
            self.say("steps.breathing.say")
            cfg = self.settings["breathing"]
            self.plan.lines.append(Breathing(cfg["breaths"], cfg["inhale_seconds"], cfg["exhale_seconds"]))
            self.say("steps.breathing.outro")
            return
        key = f"steps.{step.id}.say"
        if self.guide.content.prompts_for(self.locale).get(key) is not None:
            self.say(key, **self.pack_params(step))
        for name in step.include:
            getattr(self, f"add_{name}")()

    def render_step(self, step: Step, arriving: bool = False) -> None:
        if step.kind == "outcome":
            flag = self.outcome_flag or (self.state["last_emergency"] or {}).get("reason")
            return self.emergency(flag) if step.tier == 1 else self.urgent(flag)
        if step.kind == "end":
            return self.finish(step)
        if not arriving:
            self.state["pending"] = None
        self.speak_step(step)
        self.ask(f"steps.{step.id}.ask", f"steps.{step.id}.reprompt")

    def finish(self, step: Step) -> None:
        self.state["step"] = step.id
        self.state["requested_step"] = None
        if step.id == "summary":
            self.state["episode"]["finished"] = True
            self.say("steps.summary.say")
            for name in step.include:
                getattr(self, f"add_{name}")()
            self.say("steps.summary.rest")
            self.say("steps.summary.warning")
            self.say("steps.summary.close")
            self.plan.card = Card(title=Line("steps.summary.card_title"), lines=list(self.plan.lines[1:]))
        else:
            self.say(f"steps.{step.id}.say")
        self.end()

    # ------------------------------------------------------------------ triage outcomes
    def on_red_flag(self, flag: str | None) -> None:
        red_flags = self.guide.content.red_flags
        tier = red_flags.tier_of(flag) if flag in red_flags.ids() else None
        self.state["pending"] = None
        if tier == 1:
            return self.emergency(flag)
        if tier == 2:
            return self.remind_emergency() if self.emergency_active() else self.urgent(flag)
        if tier == 3:
            self.say(f"routine.{flag}")
        else:
            self.say("events.symptom_unmatched")
        step = self.step
        if step is None or step.kind == "end":
            return self.on_start()
        if step.kind == "outcome" and step.tier == 1:
            return self.on_launch()
        self.restate()

    def on_symptom(self, event: Event) -> None:
        self.say("events.symptom_unmatched")
        self.restate()

    def triage_answer(self, outcome: str, flag: str | None) -> None:
        """The words and card for a triage outcome ("emergency" or "urgent"): the advice, then why."""
        self.state["episode"]["screening"] = {"result": outcome, "at": records.iso(self.now)}
        self.plan.lines = [Line(f"{outcome}.say")]
        reason_key = f"{outcome}.reasons.{flag}"
        if flag and self.guide.content.prompts_for(self.locale).get(reason_key) is not None:
            self.say(reason_key)
        self.plan.card = Card(title=Line(f"{outcome}.card_title"), lines=list(self.plan.lines))
        self.plan.triage = outcome

    def emergency(self, flag: str | None) -> None:
        """Tier 1: the guide stops; the very next words say what to do now."""
        self.state.update(step="emergency", pending=None, requested_step=None, return_step=None)
        self.state["last_emergency"] = {"tier": 1, "reason": flag, "at": records.iso(self.now),
                                        "acknowledged": False}
        self.triage_answer("emergency", flag)
        self.end()

    def urgent(self, flag: str | None) -> None:
        """Tier 2: see a doctor today, then offer the comfort steps while they arrange it."""
        current = self.step
        if current is not None and current.kind == "info":
            self.state["return_step"] = current.id  # the comfort steps carry on from here
        self.state.update(step="urgent", pending=None)
        self.triage_answer("urgent", flag)
        self.ask("urgent.ask", "urgent.reprompt")

    def add_two_weeks_notice(self) -> None:
        hours = self.hours_since(self.state["episode"]["started"])
        if hours is not None and hours >= 24 * self.settings["see_doctor_after_days"]:
            self.say("events.two_weeks")

    # ------------------------------------------------------------------ compress timing
    def next_compress(self) -> tuple[str, timedelta] | None:
        log = self.state["episode"]["compress_log"]
        if not log:
            return None
        last = log[-1]
        at = records.parse_time(last.get("at"))
        pack = last.get("pack")
        if at is None or pack not in self.settings["compress"]:
            return None
        if pack == "heat" and self.state["heat_intolerant"]:
            pack = "cold"
        due = at + timedelta(hours=self.settings["compress"][pack]["every_hours"])
        return pack, due - self.now

    def add_next_compress(self) -> None:
        upcoming = self.next_compress()
        if upcoming is None:
            return
        pack, remaining = upcoming
        minutes = int(remaining.total_seconds() // 60)
        if minutes <= 0:
            self.say("next_compress.due_now", pack=f"packs.{pack}")
        else:
            self.say("next_compress.due_later", pack=f"packs.{pack}", due=_duration(minutes))

    def add_compress_plan(self) -> None:
        step = self.steps[self.route(self.steps["compress"])]
        self.say(f"compress_plan.{step.pack}", **self.pack_params(step))


def _duration(minutes: int) -> Line:
    if minutes < 55:
        return Line("durations.minutes", {"n": max(5, round(minutes / 5) * 5)})
    if minutes < 90:
        return Line("durations.one_hour")
    return Line("durations.hours", {"n": round(minutes / 60)})
