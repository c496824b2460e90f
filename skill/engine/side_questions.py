"""Short questions outside the protocol's steps: "shall we carry on?", "delete everything?", "have you
got help?", "do your legs feel weak or numb?".

Each is a row of ``SIDE_QUESTIONS``: its words, and a table of what each event does while it is
asked. ``otherwise`` says what any other event does: ``None`` lets the question go and the event is
handled as usual ("go to breathing" at "shall we carry on?" just goes there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from skill.engine import compress, outcomes
from skill.engine.plan import Event
from skill.engine.record import Emergency, Record, SideQuestion
from skill.engine.reply import Reply

Action = Callable[[Reply, Event], None]


@dataclass(frozen=True)
class SideQuestionSpec:
    # The prompt keys of the question and its reprompt; a clarifying question has words per red flag.
    keys: Callable[[str | None], tuple[str, str]]
    answers: Mapping[str, Action]
    otherwise: Action | None = None
    params: Callable[[Reply], dict] = field(default=lambda reply: {})
    # What the question is about must still be there (records come back from clients and old versions).
    still_makes_sense: Callable[[Record, SideQuestion], bool] = field(default=lambda record, question: True)


def ask(reply: Reply, name: str, flag: str | None = None) -> None:
    """Put side question ``name`` to the person (after whatever has been said this turn)."""
    spec = SIDE_QUESTIONS[name]
    reply.record.side_question = SideQuestion(name, flag)
    question, reprompt = spec.keys(flag)
    reply.ask(question, reprompt, **spec.params(reply))


def clarify_prompt_keys(flag: str) -> tuple[str, ...]:
    """The prompt keys the clarifying question about red flag ``flag`` uses (for the content check)."""
    question, reprompt = SIDE_QUESTIONS["clarify_red_flag"].keys(flag)
    return question, reprompt, f"clarify.{flag}.pain_only", f"clarify.{flag}.help"


def drop_if_stale(record: Record) -> None:
    """Forget a side question whose subject is gone (a damaged or forged record)."""
    question = record.side_question
    if question is not None and not SIDE_QUESTIONS[question.name].still_makes_sense(record, question):
        record.side_question = None


def handle(reply: Reply, event: Event) -> bool:
    """Answer the side question the person is on; False when the event is not for it."""
    current = reply.record.side_question
    spec = SIDE_QUESTIONS[current.name]
    action = spec.answers.get(event.kind, spec.otherwise)
    if action is None:
        reply.record.side_question = None
        return False
    action(reply, event)
    return True


# ---------------------------------------------------------------------------- shared actions
def _again(preface: str | None = None) -> Action:
    """Say ``preface`` (if any), then ask the same side question again."""

    def action(reply: Reply, event: Event) -> None:
        if preface:
            reply.say(preface)
        current = reply.record.side_question
        ask(reply, current.name, current.flag)

    return action


# Help, repeat, "didn't catch that" and pain reports keep the question; a pain report is never brushed off.
KEEP_ASKING: dict[str, Action] = {
    "help": _again("help.offer"),
    "repeat": _again(),
    "back": _again(),
    "fallback": _again("events.fallback"),
    "unsure": _again(),
    "better": _again("events.pain_better"),
    "worse": _again("events.pain_worse"),
}


# ---------------------------------------------------------------------------- resume / restart
def _resume(reply: Reply, event: Event) -> None:
    reply.record.side_question = None
    reply.record.paused = False
    reply.nav.render_step(reply.step)


def _offer_start_again(reply: Reply, event: Event) -> None:
    ask(reply, "start_again_offer")


def _begin_again(reply: Reply, event: Event) -> None:
    reply.maybe_new_episode()
    reply.nav.start_guide()


def _goodbye(reply: Reply, event: Event) -> None:
    reply.record.side_question = None
    reply.nav.finish(reply.protocol.role("goodbye"))


# ---------------------------------------------------------------------------- delete my data
def _delete(reply: Reply, event: Event) -> None:
    reply.nav.forget_everything()


def _keep(reply: Reply, event: Event) -> None:
    reply.record.side_question = None
    reply.say("events.delete_kept")
    if reply.step is None:  # asked before the guide began ("tell back spasm coach to delete my data")
        return reply.end()
    reply.nav.restate()


def _keep_and_stop(reply: Reply, event: Event) -> None:
    reply.record.side_question = None
    reply.nav.stop()  # "I've saved your place" says it is all kept


# ---------------------------------------------------------------------------- after an emergency
def _got_help(reply: Reply, event: Event) -> None:
    # Self-care resumes only after a clear yes; nothing else gets past this question.
    emergency = reply.record.last_emergency
    reply.record.last_emergency = Emergency(emergency.flag, emergency.at, acknowledged=True)
    reply.record.side_question = None
    reply.record.trail = []
    reply.say("emergency.got_help")
    reply.nav.go(reply.protocol.roles["comfort_start"], push=False)


def _not_yet_helped(reply: Reply, event: Event) -> None:
    outcomes.emergency(reply, reply.record.last_emergency.flag)


def _remind_and_end(reply: Reply, event: Event) -> None:
    reply.say("emergency.reminder")
    reply.end()


def _remind(reply: Reply, event: Event) -> None:
    outcomes.remind_emergency(reply)


# ---------------------------------------------------------------------------- clarifying a red flag
def _escalate(reply: Reply, event: Event) -> None:
    """Anything but a clear "only the pain" escalates: weakness, not sure, or no answer at all."""
    outcomes.emergency(reply, reply.record.side_question.flag)


def _clarify_help(reply: Reply, event: Event) -> None:
    question = reply.record.side_question
    reply.say(f"clarify.{question.flag}.help")
    ask(reply, question.name, question.flag)


def _only_pain(reply: Reply, event: Event) -> None:
    flag = reply.record.side_question.flag
    reply.record.side_question = None
    reply.say(f"clarify.{flag}.pain_only")
    reply.nav.carry_on()


def _clarify_described(reply: Reply, event: Event) -> None:
    flag = reply.record.side_question.flag
    if reply.content.red_flags.means_pain_only(flag, outcomes.described_text(event)):
        return _only_pain(reply, event)
    finding = outcomes.find(reply, event)
    outcomes.emergency(reply, finding.flag if finding and finding.tier == 1 else flag)


# ---------------------------------------------------------------------------- a kinder return (a later day)
def pain_reported(reply: Reply, pain: str) -> None:
    """ "A bit easier this morning": kept for the day, heard, then the one combined safety question."""
    reply.record.episode = reply.record.episode.with_pain_report(pain, reply.now)
    reply.say(PAIN_HEARD[pain])
    safety_question_on_return(reply)


def safety_question_on_return(reply: Reply) -> None:
    """The combined question; after a "see a doctor today" sign in this episode, each question again (the fever
    one included, which the combined question leaves out)."""
    if reply.record.episode.urgent is not None:
        return _the_specific_questions(reply, None)
    ask(reply, "rescreen")


def _report(pain: str) -> Action:
    return lambda reply, event: pain_reported(reply, pain)


def _heat_hurt(reply: Reply, event: Event) -> None:
    reply.record.heat_intolerant = True  # cold only from now on (the plan moves on when the care resumes)
    reply.say("events.heat_worse")
    pain_reported(reply, "worse")


def _no_report(reply: Reply, event: Event) -> None:
    """Anything but a report ("fine", "let's carry on", "go to breathing"): the safety question still comes first;
    a place asked for by name is gone to after it."""
    if event.kind == "jump" and event.target in reply.protocol.jump_targets:
        reply.record.requested_step = reply.protocol.jump_targets[event.target]
    safety_question_on_return(reply)


def _clear_since(reply: Reply, event: Event) -> None:
    reply.record.episode = replace(reply.record.episode, screened_at=reply.now_iso)
    reply.nav.resume_care()


def _the_specific_questions(reply: Reply, event: Event | None) -> None:
    """Yes or not sure to the combined question: each safety question on its own, then back where the person was."""
    step = reply.step
    reply.record.side_question = None
    reply.record.trail = []
    if compress.past_the_packs(reply):
        reply.record.return_step = reply.record.step
    elif step is None or step.pack is None:
        reply.record.return_step = None  # (left at a pack asked for on coming back: the step kept behind it stays)
    if reply.record.requested_step is None and (compress.pack_is_the_care(reply) or compress.due_before_the_step(reply)):
        # After the questions, today's pack (protocol.yaml after_screening: a place asked for comes first), then
        # after the pack (after_pack) the step the person was on.
        reply.record.requested_step = reply.protocol.roles["compress"]
    reply.nav.go(reply.protocol.roles["screening_start"], push=False)


# What a report on coming back hears before the safety question.
PAIN_HEARD = {"better": "events.pain_better", "same": "events.pain_same", "worse": "events.pain_worse"}


def _fixed(question: str, reprompt: str) -> Callable[[str | None], tuple[str, str]]:
    return lambda flag: (question, reprompt)


def _stop(reply: Reply, event: Event) -> None:
    reply.nav.stop()


# Yes: carry on at the saved step ({title}); no: ask before starting again; pause: end kindly.
CARRY_ON = {**KEEP_ASKING, "yes": _resume, "next": _resume, "resume": _resume, "no": _offer_start_again,
            "pause": _stop}
# Yes: the guide from the top; no: a kind goodbye; pause: end kindly.
START_AGAIN = {**KEEP_ASKING, "yes": _begin_again, "next": _begin_again, "start_over": _begin_again, "no": _goodbye,
               "pause": _stop, "resume": _offer_start_again}


def _about_the_saved_step(ask_key: str, reprompt_key: str) -> SideQuestionSpec:
    return SideQuestionSpec(keys=_fixed(ask_key, reprompt_key), answers=CARRY_ON,
                            params=lambda reply: {"title": f"titles.{reply.record.step}"},
                            still_makes_sense=lambda record, question: record.step is not None)


SIDE_QUESTIONS: dict[str, SideQuestionSpec] = {
    # "Welcome back. Shall we carry on with leg positions?"
    "resume_offer": _about_the_saved_step("events.resume_ask", "events.resume_reprompt"),
    # Heat made it worse since: "Your plan has moved on. ... Shall we start with the cold pack?"
    "plan_moved_on": _about_the_saved_step("events.moved_on_ask", "events.moved_on_reprompt"),
    # "No" to carrying on, or a day after an emergency: "Would you like to start again from the beginning?"
    "start_again_offer": SideQuestionSpec(keys=_fixed("events.start_again_ask", "events.start_again_reprompt"),
                                          answers=START_AGAIN),
    # "Last time we finished the guide. Would you like to go through it again?"
    "restart_offer": SideQuestionSpec(keys=_fixed("events.done_ask", "events.done_reprompt"), answers=START_AGAIN),
    # "Do you want me to delete everything I've saved for you?"
    "confirm_delete": SideQuestionSpec(
        keys=_fixed("events.delete_ask", "events.delete_reprompt"),
        # Only a yes deletes; saying "delete my data" again just asks again.
        answers={**KEEP_ASKING, "yes": _delete, "delete_data": _again(), "no": _keep, "cancel": _keep, "back": _keep,
                 "stop": _keep_and_stop, "pause": _keep_and_stop},
        otherwise=_again("events.fallback"),
    ),
    # After an emergency answer: "Have you spoken to emergency services or a doctor?"
    "confirm_help": SideQuestionSpec(
        keys=_fixed("emergency.ask_got_help", "emergency.ask_got_help_reprompt"),
        answers={"yes": _got_help, "no": _not_yet_helped, "unsure": _not_yet_helped,
                 "stop": _remind_and_end, "cancel": _remind_and_end, "pause": _remind_and_end,
                 "help": _again("help.offer"), "repeat": _again(),
                 "delete_data": None},  # a person may always have their data deleted
        otherwise=_remind,
        still_makes_sense=lambda record, question: record.last_emergency is not None,
    ),
    # A later day: "Welcome back. How is your back today? Better, the same, or worse?" A red flag in the report is
    # heard first (guide.hear), and wins over it.
    "how_is_back": SideQuestionSpec(
        keys=_fixed("events.how_is_back_ask", "events.how_is_back_reprompt"),
        # (Words Alexa could not make out are let go: the question is a kindness, never a gate.)
        answers={"better": _report("better"), "worse": _report("worse"), "heat_worse": _heat_hurt,
                 "help": _again("help.offer"), "repeat": _again(),
                 "stop": _stop, "cancel": _stop, "pause": _stop, "delete_data": None, "start_over": None},
        otherwise=_no_report,
    ),
    # Then one question for the emergency signs that can come on since: no, the care; yes or not sure, each question.
    "rescreen": SideQuestionSpec(
        keys=_fixed("events.rescreen_ask", "events.rescreen_reprompt"),
        answers={**KEEP_ASKING, "no": _clear_since, "yes": _the_specific_questions,
                 "unsure": _the_specific_questions, "jump": _again("events.screening_finish_first"),
                 "stop": _stop, "cancel": _stop, "pause": _stop, "delete_data": None, "start_over": None},
        otherwise=_again("events.screening_needs_answer"),
    ),
    # "I can't lift my legs": pain, or weakness? One question; only a clear "just the pain" avoids 911.
    "clarify_red_flag": SideQuestionSpec(
        keys=lambda flag: (f"clarify.{flag}.ask", f"clarify.{flag}.reprompt"),
        answers={"yes": _escalate, "unsure": _escalate, "no": _only_pain, "describe": _clarify_described,
                 "help": _clarify_help, "repeat": _again(), "worse": _again("events.pain_worse"),
                 "better": _again()},
        otherwise=_escalate,
        still_makes_sense=lambda record, question: question.flag is not None,
    ),
}
