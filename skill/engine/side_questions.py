"""Short questions outside the protocol's steps: "shall we carry on?", "delete everything?", "have you
got help?", "do your legs feel weak or numb?", and the two confirming questions about a warning sign named in
plain words (prompts ``signs.<flag>``): "Did you say your tummy hurts and it goes through to your back?" (the
second line's guess) and "Just to be sure: is it right that ...?" (an alarm being taken back).

Each is a row of ``SIDE_QUESTIONS``: its words, and a table of what each event does while it is
asked. ``otherwise`` says what any other event does: ``None`` lets the question go and the event is
handled as usual ("go to breathing" at "shall we carry on?" just goes there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from skill.engine import compress, outcomes
from skill.engine.plan import Event
from skill.engine.outcomes import Finding
from skill.engine.record import Record, SideQuestion
from skill.engine.reply import Reply
from skill.engine.rules import CONDITIONS

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
    # A yes or no about the sign it names: free words are read as an answer about that sign ("no numbness
    # down there" is no), and the second line makes no guess in them.
    asks_about_its_sign: bool = False


def ask(reply: Reply, name: str, flag: str | None = None, asked_again: bool = False,
        interrupted: SideQuestion | None = None, on_opening: bool = False) -> None:
    """Put side question ``name`` to the person (after whatever has been said this turn)."""
    spec = SIDE_QUESTIONS[name]
    reply.record.side_question = SideQuestion(name, flag, asked_again, interrupted, on_opening)
    question, reprompt = spec.keys(flag)
    reply.ask(question, reprompt, **spec.params(reply))


def sign_asked_about(record: Record) -> str | None:
    """The red flag a pending confirming question names, if one is pending."""
    question = record.side_question
    return question.flag if question is not None and SIDE_QUESTIONS[question.name].asks_about_its_sign else None


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
        ask(reply, current.name, current.flag, current.asked_again, current.interrupted, current.on_opening)

    return action


def _once_more_then(settle: Action) -> Action:
    """No answer to a confirming question: "sorry, I didn't catch that" and the question once more; the
    second time, ``settle``."""

    def action(reply: Reply, event: Event) -> None:
        current = reply.record.side_question
        if current.asked_again:
            return settle(reply, event)
        reply.say("events.fallback")
        ask(reply, current.name, current.flag, True, current.interrupted, current.on_opening)

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
    reply.record.last_emergency = replace(reply.record.last_emergency, acknowledged=True)
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


# ---------------------------------------------------------------------------- confirming a sign
def _named_sign(reply: Reply) -> dict:
    """The sign the confirming question is about, in the person's words (prompts ``signs.<flag>``)."""
    return {"sign": f"signs.{reply.record.side_question.flag}"}


def _sign_said(reply: Reply, event: Event) -> None:
    """Yes to "did you say ...?": that tier's answer, as if the phrase lists had heard the sign."""
    flag = reply.record.side_question.flag
    outcomes.triage(reply, Finding(flag, reply.content.red_flags.tier_of(flag)))


def _sign_not_said(reply: Reply, event: Event) -> None:
    """No to "did you say ...?": the skill misheard; back to the question the person was on (asked on opening a
    session: the coming-back logic, an emergency reminder or the safety questions again included)."""
    question = reply.record.side_question
    reply.record.side_question = question.interrupted
    reply.say("confirm.misheard")
    if question.on_opening:
        return reply.nav.launch()
    reply.nav.carry_on()  # (the question cut in on, if any: carry_on asks it again)


def _alarm_stands(reply: Reply, event: Event) -> None:
    """Yes or not sure to "just to be sure: is it right that ...?": the alarm stands, its answer again."""
    flag = reply.record.side_question.flag
    reply.record.side_question = None
    if reply.emergency_active():
        return outcomes.emergency(reply, flag)
    outcomes.urgent(reply, flag)


def _alarm_withdrawn(reply: Reply, event: Event) -> None:
    """A clear no: the alarm is taken back (kept as withdrawn, with its time), and the guide resumes where
    the person was when it was raised. If they are elsewhere by now (comfort steps after "see a doctor
    today"), their question again."""
    reply.record.side_question = None
    alarm = outcomes.withdraw(reply)
    reply.say("confirm.withdrawn")
    here = reply.step
    if here is not None and here.kind != "outcome":
        return reply.nav.carry_on()
    place = reply.protocol.steps.get(alarm.step or "")
    if reply.record.return_step == alarm.step:
        reply.record.return_step = None  # (gone back there now)
    if place is None or place.kind == "end":
        return ask(reply, "start_again_offer")  # nothing was under way: the guide, if they want it
    reply.record.step = place.id
    if place.kind == "screening" and place.flag == alarm.flag:
        return reply.nav.follow(place, place.on["no"])  # the very question answered yes by mistake: no
    if place.kind != "screening" and not CONDITIONS["recently_screened"](reply):
        # Long enough since the safety questions for things to have changed (as on any return): them first.
        reply.record.return_step, reply.record.trail = place.id, []
        return reply.nav.go(reply.protocol.roles["screening_start"], push=False)
    reply.nav.go(place.id, push=False)


def _confirming(answers: dict[str, Action], otherwise: Action, keys: tuple[str, str]) -> SideQuestionSpec:
    return SideQuestionSpec(
        keys=_fixed(*keys), params=_named_sign, otherwise=otherwise, asks_about_its_sign=True,
        # Help, repeat and pain reports keep the question; "didn't catch that" asks it once more, then settles; stop,
        # cancel and pause end kindly (an alarm that stands is said again); "delete my data" is let through.
        answers={**KEEP_ASKING, "fallback": otherwise, "stop": _stop, "cancel": _stop, "pause": _stop,
                 "delete_data": None, **answers},
        still_makes_sense=lambda record, question: question.flag is not None)


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


# ---------------------------------------------------------------------------- the breathing track stopped
def _tell_me(reply: Reply, event: Event) -> None:
    """ "Yes" to "has anything changed?": what, in their words (a red flag in them is heard first)."""
    reply.ask("breathing.stopped_tell_me", "breathing.stopped_tell_me_reprompt")


def _resume_later(reply: Reply, event: Event) -> None:
    reply.record.side_question = None
    reply.say("breathing.stopped_fine")
    reply.end()


# Free words are heard before this table (a red flag first); yes: tell me what; no: the track waits for
# "Alexa, resume"; resume: the breathing step again, which plays the track on from where it stopped.
TRACK_STOPPED = {**KEEP_ASKING, "yes": _tell_me, "unsure": _tell_me, "no": _resume_later,
                 "resume": _resume, "stop": _stop, "cancel": _stop, "pause": _stop}


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
    # The second line (a sentence model) found free words close to a sign the phrase lists missed: "Did you say
    # your tummy hurts and it goes through to your back?" Yes: that tier's answer; no: the question again; not
    # sure, or no answer twice: as "not sure" to that sign's safety question, which escalates at tier 1 and 2 alike
    # (clinical.md; protocol.yaml's screening answers).
    "confirm_sign": _confirming({"yes": _sign_said, "unsure": _sign_said, "no": _sign_not_said},
                                otherwise=_once_more_then(_sign_said),
                                keys=("confirm.sign_ask", "confirm.sign_reprompt")),
    # "That was a mistake" while an emergency or "see a doctor today" stands: "Just to be sure: is it right that
    # ...?" Only a clear no takes it back; yes, not sure, or no answer twice: it stands.
    "confirm_alarm": _confirming({"yes": _alarm_stands, "unsure": _alarm_stands, "no": _alarm_withdrawn},
                                 otherwise=_once_more_then(_alarm_stands),
                                 keys=("confirm.alarm_ask", "confirm.alarm_reprompt")),
    # "Alexa, stop" over the breathing track: "I've stopped the breathing. Has anything changed?"
    "track_stopped": SideQuestionSpec(keys=_fixed("breathing.stopped_ask", "breathing.stopped_reprompt"),
                                      answers=TRACK_STOPPED,
                                      still_makes_sense=lambda record, question: record.step is not None),
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
