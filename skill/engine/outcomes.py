"""Triage outcomes: what the skill does when a person describes something, or answers a safety
question with yes.

- tier 1, emergency: the guide stops; the very next words say to call the emergency number now.
- tier 1 but ambiguous ("I can't lift my legs" may be pain or weakness): one clarifying question.
- tier 2, urgent: see a doctor today; the emergency questions are finished first if they were not
  answered yet, then comfort steps.
- tier 3, routine: when to see a doctor or pharmacist; the guide carries on (``Reply.hear`` says it).

An emergency or urgent answer can be taken back ("that was a mistake"): ``standing_alarm`` is the one a
correction is about, and after a clear no to one confirming question (side_questions.py) ``withdraw`` keeps
it in the record as withdrawn, with its time, and says where the guide resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from skill.engine import alerts
from skill.engine.plan import Card, Event, Line
from skill.engine.record import Emergency, Urgent
from skill.engine.reply import Reply
from skill.engine.rules import CONDITIONS
from skill.engine.triage import described_text as _joined
from skill.engine.triage import spoken_for_someone_else


@dataclass(frozen=True)
class Finding:
    flag: str
    tier: int
    ambiguous: bool = False


def described_text(event: Event) -> str:
    """What the person said, with the carrier phrase's meaning put back in front."""
    return _joined(event.carrier, event.text)


def find(reply: Reply, event: Event) -> Finding | None:
    """The red flag in what the person described: one the platform resolved by name, else the matcher's."""
    red_flags = reply.content.red_flags
    if event.flag in red_flags.ids():
        return Finding(event.flag, red_flags.tier_of(event.flag))
    text = described_text(event)
    match = red_flags.match(text)
    if match is None:
        return None
    # A partner's "he can't move his legs" gets no clarifying question: "do your legs feel weak?" would be
    # answered by the speaker, about their own legs. What someone else is seen not to do is taken at its word.
    return Finding(match.flag_id, match.tier, match.ambiguous and not spoken_for_someone_else(text))


def triage(reply: Reply, finding: Finding) -> None:
    """A red flag the person described, at any moment: answered this turn, whatever was going on."""
    reply.record.side_question = None
    if finding.tier == 1:
        if finding.ambiguous:
            return reply.nav.ask_side_question("clarify_red_flag", finding.flag)
        return emergency(reply, finding.flag)
    return remind_emergency(reply) if reply.emergency_active() else urgent(reply, finding.flag)


def emergency(reply: Reply, flag: str | None) -> None:
    """Tier 1: the guide stops; the very next words say what to do now, then why."""
    record = reply.record
    record.step = reply.protocol.roles["emergency"]
    record.side_question = None
    record.requested_step = record.return_step = None
    record.last_emergency = Emergency(flag, reply.now_iso, step=where_the_person_was(reply))
    _triage_answer(reply, "emergency", flag)
    alerts.cancel_everything(reply)  # "time to take the pack off" has no place while help is on its way
    reply.end()


def urgent(reply: Reply, flag: str | None) -> None:
    """Tier 2: see a doctor today. Safety first: the emergency questions are finished before any
    comfort step; then comfort steps, carrying on where the person was."""
    record = reply.record
    record.episode = replace(record.episode, urgent=Urgent(flag, reply.now_iso, step=where_the_person_was(reply)))
    _triage_answer(reply, "urgent", flag)
    current = reply.step
    if current is not None and current.kind == "info" and current.is_question:
        record.return_step = current.id  # the comfort steps carry on from here
    if current is not None and current.kind == "screening" and current.tier == 2:
        # Said at the last question, the one about this very sign: the emergency ones were all "no".
        record.episode = replace(record.episode, screened_at=reply.now_iso)
    if not CONDITIONS["recently_screened"](reply):
        # Not asked in this episode, or long enough ago for things to have changed.
        if current is not None and current.kind == "screening" and current.tier == 1:
            reply.say("urgent.screening_first")
            return reply.nav.restate()
        # Nothing under way (a one-shot): the guide from its start, so "stop what you're doing" comes too.
        start = reply.protocol.start if reply.nothing_under_way() else reply.protocol.roles["screening_start"]
        return reply.nav.go(start, push=False)
    record.step = reply.protocol.roles["urgent"]
    record.side_question = None
    reply.ask("urgent.ask", "urgent.reprompt")


def where_the_person_was(reply: Reply) -> str | None:
    """The step the person was on before this turn's warning sign: on a triage answer already (a yes to
    "is it right that ...?", a second sign), the step the standing one took them from."""
    step = reply.protocol.steps.get(reply.began_on or "")
    if step is None or step.kind != "outcome":
        return step.id if step is not None else None
    alarm = reply.record.last_emergency if step.tier == 1 else reply.record.episode.urgent
    return alarm.step if alarm is not None else None


def standing_alarm(reply: Reply) -> Urgent | None:
    """The emergency or "see a doctor today" answer a correction ("that was a mistake") would take back: the
    emergency while it stands, else the urgent one; None when neither stands or its sign is unknown."""
    if reply.emergency_active():
        alarm = reply.record.last_emergency
    elif reply.urgent_standing():
        alarm = reply.record.episode.urgent
    else:
        return None
    return alarm if alarm.flag is not None else None  # (no sign to name in the confirming question)


def withdraw(reply: Reply) -> Urgent:
    """The standing alarm taken back: kept in the record as withdrawn, with its time. Returns it."""
    alarm = standing_alarm(reply)
    withdrawn = replace(alarm, withdrawn_at=reply.now_iso)
    if isinstance(alarm, Emergency):
        reply.record.last_emergency = withdrawn
    else:
        reply.record.episode = replace(reply.record.episode, urgent=withdrawn)
    return withdrawn


def remind_emergency(reply: Reply) -> None:
    """An emergency answer stands: remind, and ask whether they have got help."""
    reply.say("emergency.reminder")
    reply.nav.ask_side_question("confirm_help")
    reply.plan.triage = "emergency"


@dataclass(frozen=True)
class OutcomeWords:
    """The prompt keys of a triage outcome: what to do now, its card's title, and the section of the reasons
    (one per red flag)."""

    say: str
    card_title: str
    reasons: str


TRIAGE_WORDS = {
    "emergency": OutcomeWords("emergency.say", "emergency.card_title", "emergency.reasons"),
    "urgent": OutcomeWords("urgent.say", "urgent.card_title", "urgent.reasons"),
}


def _triage_answer(reply: Reply, outcome: str, flag: str | None) -> None:
    """The words and card for "emergency" or "urgent": the advice, then why (every flag has a reason)."""
    words = TRIAGE_WORDS[outcome]
    lines = [Line(words.say)]
    if flag is not None:
        lines.append(Line(f"{words.reasons}.{flag}"))
    reply.plan.lines.extend(lines)
    reply.plan.card = Card(title=Line(words.card_title), lines=lines)
    reply.plan.triage = outcome
