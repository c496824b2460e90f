"""What free words mean, once they are known not to be a red flag.

People answer "nah", "yeah a bit", ask "how long do I keep the ice on?", report "I'm in agony", ask for a
timer, or just talk ("I can't find the heat pack"). The platform hands such words over as text (a
catch-all intent); the guide first asks the red-flag matcher (``outcomes.find``), and only when there is
no emergency or urgent sign asks ``Understanding.read``, which tries, in this fixed order:

0. ``correction``, only while an emergency or "see a doctor today" answer stands (``correcting``): the person
   takes it back ("no, that was a mistake", "I meant no", "that was my mum, not me"). Before the answers, so
   its "no" is not taken for "not yet" to "have you spoken to emergency services?".
0b. ``pack_harm``: harm from a pack ("the ice is burning my skin", "my skin's gone numb under the ice"), in
   any words, even a question or a yes: take it off now (at a safety question, a yes or not sure to the sign
   is read as that answer instead).
1. ``request`` "help": help with the question itself ("what do you mean?", "why are you asking?"), so
   "I'm not sure what you mean" is not taken for "not sure".
2. ``answer``: yes, no, not sure or a bare "okay" to the question being asked. "A bit", "kind of", "I think
   so" are yes. At a safety question, denying that question's own sign is no ("no numbness down there")
   and denying another answers nothing ("i have no fever", said to the question about the legs); a "no"
   that also says "not sure" is not sure (the safe side); "no, it's much worse" is a pain report. Words
   that ask a question answer nothing, unless they pass on someone's answer ("he says no"). "The pack is on"
   is yes to any question but a safety question, where it answers nothing; a yes that asks to carry on
   ("yes, carry on from where we were") is, at a safety question, a bare "okay" (a yes or a no is asked for).
3. ``request``: a moment ("hold on"), a timer, a reminder, hearing it again, the next step ("just carry on
   where we were"), a pause ("can you pause it") or the end ("that's enough for today, goodbye") ("can you set a
   timer" is a request, not a question).
4. ``pain`` "heat_worse": heat that hurts, reported rather than supposed ("the heat's making it worse,
   should I stop?" but not "what if heat makes it worse?"), so it is acted on (cold only from now on).
5. ``question``: a question about the care, answered from questions.yaml (``value`` is its id). Some
   statements ask the same ("I don't have an ice pack").
6. ``answer`` "unsure": not sure anywhere in words that ask nothing ("honestly, I can't tell").
7. ``remark``: warmth, sweat or cold under a pack ("i'm all sweaty under the heat pad"), the pack's.
   ``symptom``: a complaint about another part of the body ("my stomach hurts"): the careful line. Before
   pain reports, so "the back of my head's really sore" is not taken for the back getting worse.
8. ``pain``: no better, worse, better (``value``: same, worse, better).
9. ``question`` "other" or "off_topic": a question the skill has no answer to, about the care (a doctor
   or pharmacist can answer it) or about something else ("what's your name?").
10. ``pain_remark``: the spasm itself, in passing ("it really hurts"): sympathy.
11. ``remark``: anything else that was said: a short acknowledgement, no emergency words.
12. ``nothing``: no words at all ("didn't catch that").

The phrase lists are data (``skill/content/understanding.yaml``, ``questions.yaml``), in the red-flag list's
syntax and on its normalised text, so partner speech ("she's in agony") reads the same as first person.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from skill.engine.data_files import read_yaml
from skill.engine.phrases import PhraseBook, PhraseError
from skill.engine.record import PAIN_REPORTS
from skill.engine.triage import UNLESS_CUE, MatcherWords, RedFlags, _word_lists, load_matcher_words, matching_form

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

ANSWER_ORDER = ("unsure", "no", "okay", "yes")
# "cancel the timer" and "how long is left on the timer" before "timer": each names one.
REQUEST_ORDER = ("help", "moment", "cancel_timer", "time_left", "timer", "cancel_reminders", "next_due", "reminder",
                 "repeat", "next", "pause", "stop")
# Read on its own, before the answers, and never in a question ("what's the best way to lie while the ice is on").
PACK_ON = "pack_on"
# Read before anything else: harm from a pack is answered whatever else the words say.
PACK_HARM = "pack_harm"
PAIN_ORDER = ("heat_worse", "same", "worse", "better")
# Answers a question can have without fixed words: the guide speaks them from the record.
COMPUTED_ANSWERS = frozenset({"todays_plan", "todays_pack"})
OTHER_QUESTION = "other"
# "...so i can take it off": a reminder asked for with these words is the pack's take-off timer.
TAKING_THE_PACK_OFF = "taking_the_pack_off"
CORRECTION = "correction"
# "Not me", "it was someone else": the sign named is another person's (read only while an alarm stands).
SOMEONE_ELSES = "someone_elses_sign"
# "What number do I ring again?": while an emergency answer stands, that answer again (guide.HEARING).
ASKS_FOR_THE_NUMBER = "asks_for_the_number"
# The matcher's cues (triage.RedFlags.explain) that set a sign aside without the person denying it: long ago, an
# animal's, explained ("sweaty under the heat pad") or a relative's ("my mum had cancer"). Said while an alarm
# stands, those are remarks (tests/test_engine.py BENIGN_WORDS), unless the words say it was someone else's.
NOT_A_DENIAL = frozenset({"past", "animal", UNLESS_CUE, "someone else"})
OFF_TOPIC = "off_topic"
# understanding.yaml's lists kept per red flag, and the prefix each is filed under in the phrase book
# ("denial:t1_legs"): everyday no's to a safety question, yes's, what undoes a yes, and what takes one sign back.
PER_SIGN_LISTS = {"denials": "denial", "affirmations": "affirm", "affirmations_undone": "undo_affirm",
                  "corrections_of_a_sign": "correct"}


@dataclass(frozen=True)
class Reading:
    kind: str  # correction | pack_harm | answer | request | question | pain | symptom | pain_remark | remark | nothing
    value: str | None = None


@dataclass(frozen=True)
class Question:
    id: str
    source_file: str
    quote: str
    answer: str | None  # None: the prompt questions.<id>; else one of COMPUTED_ANSWERS
    asked: tuple  # tuple of tuples of phrase-list names, each inner tuple all required
    stated: tuple


class UnderstandingError(ValueError):
    """understanding.yaml or questions.yaml is broken; the message lists every problem."""


class Understanding:
    def __init__(self, book: PhraseBook, questions: list[Question], denials: tuple = (), corrected_signs: tuple = ()):
        self.book = book
        self.questions = questions
        self.denials = denials  # red flags with everyday ways to say "no" to their safety question
        self.corrected_signs = corrected_signs  # red flags with words that take them back (corrections_of_a_sign)

    def question_ids(self) -> tuple:
        return tuple(q.id for q in self.questions)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def read(self, text: str, pending_sign: str | None = None, red_flags: RedFlags | None = None,
             correcting: str | None = None, at_the_alarm: bool = False) -> Reading:
        """``correcting``: the red flag of an alarm that stands, which the words may take back; ``at_the_alarm``: the
        person is at that alarm's own question ("have you spoken to emergency services?", "would you like some
        comfort steps?"), where denying a sign disputes it (elsewhere, "better, and no numbness" is a report)."""
        words = matching_form(text)
        if not words.strip(" ."):
            return Reading("nothing")
        if correcting is not None and (self.corrects(text, correcting)
                                       or at_the_alarm and self.denies_a_sign(text, correcting, red_flags)):
            # (At a safety question, denying a sign is the answer no to it, never a correction.)
            return Reading("correction")
        if self.book.said(PACK_HARM, words) and (
                pending_sign is None or self.answer(words, pending_sign, red_flags) not in ("yes", "unsure")):
            # "The ice is burning my skin": take it off now, never a yes to "is the cold pack on?". At a safety
            # question, a yes or not sure to the sign still wins (the safe side); a "no" is asked for again.
            return Reading(PACK_HARM)
        asked = self.book.said("question_starts", words)
        if self.book.said("help", words):
            return Reading("request", "help")  # about the question itself: "i'm not sure what you mean"
        if not asked and self.book.said(PACK_ON, words):
            return Reading("request", PACK_ON)  # "the ice pack is on now": more than a yes
        answer = self.answer(words, pending_sign, red_flags)
        if asked and not self.book.said("reported_answer", words):
            answer = None  # a question answers nothing, unless someone's answer is passed on in it
        if answer is not None:
            return Reading("answer", answer)
        request = self.book.first_said(REQUEST_ORDER, words)
        if request == "reminder" and self.book.said(TAKING_THE_PACK_OFF, words):
            request = "timer"  # "ping me in a quarter hour to take the pack off": the one take-off timer
        if request is not None:
            return Reading("request", request)
        if self.book.said("heat_worse", words) and "if" not in words.split():
            return Reading("pain", "heat_worse")  # reported, not supposed: acted on (cold only from now on)
        question = self.find_question(words, asked)
        if question is not None:
            return Reading("question", question)
        if not asked and "unsure" in words.split():
            return Reading("answer", "unsure")  # "i honestly can't tell, it all just hurts": not sure
        if self.book.said("pack_remarks", words):
            return Reading("remark")  # "i'm all sweaty under the heat pad": the pack's, no complaint
        if self.book.said("symptoms", words):
            return Reading("symptom")  # another part of the body, before any word about the pain
        pain = self.pain_in(words)
        if pain is not None:
            return Reading("pain", pain)
        if asked:
            # One the skill has no answer to: about something else ("what's the weather?"), or else
            # about the body or the care, which a doctor or pharmacist can answer.
            return Reading("question", OFF_TOPIC if self.book.said("off_topic", words) else OTHER_QUESTION)
        if self.book.said("pain_remarks", words):
            return Reading("pain_remark")
        return Reading("remark")

    def pain_report(self, text: str) -> str | None:
        """How the back is, in words that may also read as an answer ("no change" is the same, not a no): for
        "how is your back today?"."""
        found = self.pain_in(matching_form(text))
        return found if found in PAIN_REPORTS else None

    def pain_in(self, words: str) -> str | None:
        """The pain report in ``words`` (``PAIN_ORDER``), where "still sore, but I can stand up straight now" is
        better: a change for the better said beside "still ..." is the news (issue 21's blind set); worse wins over
        both."""
        found = self.book.first_said(PAIN_ORDER, words)
        if found == "same" and self.book.said("worse", words):
            return "worse"  # "it's getting worse, not better": the "not better" is no news beside it
        if found == "same" and self.book.said("better", words):
            return "better"
        return found

    def asks_to_carry_on(self, text: str) -> bool:
        """ "Yes, carry on from where we were": the words ask for the guide (whatever else they answer)."""
        return self.book.said("carry_on_request", matching_form(text))

    def asks_for_the_number(self, text: str) -> bool:
        """ "What number do I ring again?", "who do I call?"."""
        return self.book.said(ASKS_FOR_THE_NUMBER, matching_form(text))

    def corrects(self, text: str, flag: str) -> bool:
        """The words take back the warning sign ``flag`` just answered ("that was a mistake", "i meant no", and for
        lost weight "i am on a diet"), or a sign the person thinks was heard: while an alarm stands, "i lost the weight
        deliberately" or "i sleep like a log" disputes what the skill heard, whichever sign it was (issue 21's third
        blind set: a fever's alarm, each taken for a remark or a new sign); the confirming question names the
        alarm's own sign, and only a clear no to it withdraws it."""
        words = matching_form(text)
        return self.book.said(CORRECTION, words) or self.says_it_was_someone_else(text) or any(
            self.book.said(f"correct:{sign}", words) for sign in (flag, *self.corrected_signs))

    def says_it_was_someone_else(self, text: str) -> bool:
        """ "It was my dad who had the accident, not me": the sign in the words is another person's."""
        return self.book.said(SOMEONE_ELSES, matching_form(text))

    def denies_a_sign(self, text: str, alarm: str, red_flags: RedFlags | None) -> bool:
        """The words deny a warning sign ("i don't have any numbness", "i never said i fell", "there's no fever at
        all"), or say no to ``alarm``'s or another sign's safety question in everyday words (understanding.yaml
        ``denials``: "it just came on when i bent over", "i'm peeing normally"). Said while an alarm stands and no
        safety question is asked, that disputes what the skill heard, whichever sign the person thinks it heard: a
        correction (issue 21's blind sets: each got the alarm again). Read only at the alarm's own question
        (``read``'s ``at_the_alarm``)."""
        if red_flags is None:
            return False
        words = matching_form(text)
        mentions = red_flags.explain(words)
        if self.book.mentioned(f"denial:{alarm}", words):
            return True
        # "I'm peeing normally", after numbness's alarm: the sign the person thinks was heard, disputed; unless the
        # words name a sign as well ("my legs are fine, it's down below that's gone numb" is no correction).
        if any(self.book.mentioned(f"denial:{sign}", words) for sign in self.denials if sign != "any") and \
                not any(not m.negated for m in mentions):
            return True
        return any(m.negated and m.cue not in NOT_A_DENIAL for m in mentions)

    def answer(self, words: str, pending_sign: str | None, red_flags: RedFlags | None) -> str | None:
        # Signs named only to deny them ("no numbness down there"): the answer no to the question about
        # that sign, and no answer at all to any other question ("i have no fever", said to the question
        # about the legs, leaves the legs unanswered).
        # A sign explained by other words is not denied: "i feel hot under the heat pad" is no answer to "do you have
        # a fever?".
        denied = {m.flag_id for m in (red_flags.explain(words) if red_flags is not None else [])
                  if m.negated and m.cue != UNLESS_CUE}
        # Denials carry their own negation ("no, nothing new"): a "no" before one does not cancel it.
        denied |= {flag for flag in self.denials if flag != "any" and self.book.mentioned(f"denial:{flag}", words)}
        if pending_sign is not None and self.book.said(f"affirm:{pending_sign}", words) and \
                not self.book.said(f"undo_affirm:{pending_sign}", words):
            # "i tripped on the rug", said to the question about a fall: yes, the safe side; not when the words say the
            # sign itself never happened ("i slipped but grabbed the counter": no fall).
            return "yes"
        if pending_sign is not None and "any" in self.denials and self.book.mentioned("denial:any", words):
            denied.add(pending_sign)  # "no, it all feels normal", said to any safety question
        if denied:
            return "no" if pending_sign in denied else None
        found = self.book.first_said(ANSWER_ORDER, words)
        if found in ("yes", None):
            pack_is_on = self.book.said("pack_is_on", words)
            if pending_sign is not None and (
                    pack_is_on or found == "yes" and self.book.said("carry_on_request", words)):
                # "I've got the pack on", "yes, carry on": no answer about the sign (a remark; a yes to the wrong
                # question, which the guide meets by asking for a yes or a no).
                return None if found is None else "okay"
            if found is None and pack_is_on:
                return "yes"  # "the ice is on": yes to "is the cold pack on now?"
        if found == "no" and self.book.said("worse", words) and not self.book.said("symptoms", words):
            # "no, it's much worse": a pain report, read as one ("no, but my neck's killing me" is still a no: the
            # neck's, not the back's)
            return None
        if found == "no" and "unsure" in words.split():
            return "unsure"  # "no ... not sure": not sure counts as yes where it matters
        return found

    def find_question(self, words: str, asked: bool) -> str | None:
        for question in self.questions:
            ways = question.asked + question.stated if asked else question.stated
            if any(all(self.book.mentioned(name, words) for name in way) for way in ways):
                return question.id
        return None


# ------------------------------------------------------------------------------------------- loading
def _read(path: Path) -> dict:
    return read_yaml(path) or {}


def _flat(text: str) -> str:
    """For finding a quote in its source: one line, straight quotes."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def load_understanding(directory: Path = CONTENT_DIR, matcher_words: MatcherWords | None = None) -> Understanding:
    """``matcher_words``: the red-flag list's (by default read from the directory's red_flags.yaml), since these
    phrases are read on the same normalised text with the same negation rules."""
    raw = _read(directory / "understanding.yaml")
    raw_questions = _read(directory / "questions.yaml")
    problems: list[str] = []
    lists: dict[str, list[str]] = {}
    for section, order in (("answers", ANSWER_ORDER), ("pain", PAIN_ORDER), ("requests", REQUEST_ORDER)):
        entries = raw.get(section) or {}
        missing = set(order) - set(entries)
        if missing or set(entries) - set(order):
            problems.append(f"understanding.yaml {section}: needs exactly {list(order)}")
        for name in order:
            lists[name] = list(entries.get(name) or [])
    lists[PACK_ON] = list(raw.get(PACK_ON) or [])
    denials = raw.get("denials") or {}
    for section, prefix in PER_SIGN_LISTS.items():
        for flag, phrases in (raw.get(section) or {}).items():
            lists[f"{prefix}:{flag}"] = list(phrases or [])
    for name in ("question_starts", "symptoms", "pain_remarks", "reported_answer", "off_topic", "pack_is_on",
                 "carry_on_request", TAKING_THE_PACK_OFF, PACK_HARM, "pack_remarks", CORRECTION, SOMEONE_ELSES, ASKS_FOR_THE_NUMBER):
        lists[name] = list(raw.get(name) or [])
        if not lists[name]:
            problems.append(f"understanding.yaml: {name} must be a non-empty list")
    merged = dict(raw.get("words") or {})
    overlap = set(merged) & set(raw_questions.get("words") or {})
    merged.update(raw_questions.get("words") or {})
    words = _word_lists({"words": merged}, problems)  # checked as red_flags.yaml's are
    questions, seen = [], set()
    sources = {path.name: _flat(path.read_text(encoding="utf-8")) for path in (directory / "sources").glob("*")}
    for n, entry in enumerate(raw_questions.get("questions") or [], 1):
        qid = entry.get("id") if isinstance(entry, dict) else None
        where = f"questions.yaml {qid or f'entry {n}'}"
        if not isinstance(qid, str) or qid in seen or qid in (OTHER_QUESTION, OFF_TOPIC):
            problems.append(f"{where}: needs a unique id (not {OTHER_QUESTION!r} or {OFF_TOPIC!r})")
            continue
        seen.add(qid)
        source = entry.get("source") or {}
        file, quote = source.get("file"), source.get("quote")
        if not file or not quote:
            problems.append(f"{where}: every answer needs its source (file and quote)")
        elif file not in sources:
            problems.append(f"{where}: source file {file!r} is not in skill/content/sources/")
        elif _flat(quote) not in sources[file]:
            problems.append(f"{where}: the quote is not in {file}, word for word")
        answer = entry.get("answer")
        if answer is not None and answer not in COMPUTED_ANSWERS:
            problems.append(f"{where}: answer must be one of {sorted(COMPUTED_ANSWERS)}")
        ways = {}
        for key in ("match", "statements"):
            names = []
            for i, way in enumerate(entry.get(key) or []):
                group = []
                for j, phrase in enumerate(way):
                    name = f"question:{qid}:{key}:{i}:{j}"
                    lists[name] = [phrase]
                    group.append(name)
                names.append(tuple(group))
            ways[key] = tuple(names)
        if not ways["match"]:
            problems.append(f"{where}: needs at least one way to recognise it (match)")
        questions.append(Question(qid, file or "", quote or "", answer, ways["match"], ways["statements"]))
    if overlap:
        problems.append(f"word lists defined twice: {sorted(overlap)}")
    try:
        book = PhraseBook(lists, words, matcher_words or load_matcher_words(directory / "red_flags.yaml"))
    except PhraseError as exc:
        problems.append(str(exc))
    if problems:
        raise UnderstandingError("\n  ".join(["understanding:"] + problems))
    return Understanding(book, questions, tuple(denials), tuple(raw.get("corrections_of_a_sign") or {}))
