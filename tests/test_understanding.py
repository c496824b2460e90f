"""Free words that are no red flag: what the engine reads in them, and the questions file's sources.

The reading order is fixed (skill/engine/understanding.py): an answer to the question asked, a request,
a question about the care, a symptom of another body part, a pain report, a remark. The table below is
the issue's own examples plus the traps between the kinds; one test reports every wrong reading.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone

import pytest
import yaml

from skill.engine import Event, Guide
from skill.engine import load_content
from skill.engine.content import CONTENT_DIR
from skill.engine.understanding import Reading, UnderstandingError, load_understanding

CONTENT = load_content()
UNDERSTANDING = CONTENT.understanding
RED_FLAGS = CONTENT.red_flags

# (what was said, the red flag of the safety question being asked or None, what it must be read as)
READINGS = [
    # Natural answers. A partial yes ("a bit", "kind of") is yes: at a tier-1 question it escalates.
    ("nah", None, Reading("answer", "no")),
    ("not really", None, Reading("answer", "no")),
    ("no i don't", "t1_saddle", Reading("answer", "no")),
    ("nothing", "t1_saddle", Reading("answer", "no")),
    ("not at all", None, Reading("answer", "no")),
    ("yeah nah", "t1_saddle", Reading("answer", "no")),
    ("yes i do", None, Reading("answer", "yes")),
    ("yeah a bit", "t1_legs", Reading("answer", "yes")),
    ("kind of", "t1_saddle", Reading("answer", "yes")),
    ("a little bit i think", "t1_legs", Reading("answer", "yes")),
    ("i think so", None, Reading("answer", "yes")),
    ("dunno really maybe", "t1_saddle", Reading("answer", "unsure")),
    ("no i'm not sure", "t1_bladder", Reading("answer", "unsure")),  # a doubting no: the safe side
    # Denying the sign asked about is no; denying another sign answers nothing.
    ("no numbness down there", "t1_saddle", Reading("answer", "no")),
    ("i haven't wet myself", "t1_bladder", Reading("answer", "no")),
    ("i have no fever", "t1_legs", Reading("remark")),
    ("i didn't fall it just came on when i bent down", "t1_trauma", Reading("answer", "no")),
    ("well i tripped on the rug", "t1_trauma", Reading("answer", "yes")),  # a trip, to the fall question
    ("no it all feels normal", "t1_saddle", Reading("answer", "no")),
    # A partner passing the answer on, even inside a question put to the person.
    ("he says no", "t1_saddle", Reading("answer", "no")),
    ("honey can you move your legs he says yes he can", "t1_legs", Reading("answer", "yes")),
    ("i'm asking for my husband he's on the floor", None, Reading("remark")),
    # "Okay" acknowledges as often as it agrees: the guide decides what it means where (test below).
    ("okay", "t1_saddle", Reading("answer", "okay")),
    ("alright then", None, Reading("answer", "okay")),
    # Requests come before questions: "can you set a timer" asks for a timer.
    ("set a timer for fifteen minutes", None, Reading("request", "timer")),
    ("can you set a timer", None, Reading("request", "timer")),
    ("remind me in two hours", None, Reading("request", "reminder")),
    ("what was that", None, Reading("request", "repeat")),
    # Questions about the care.
    ("how long do i keep the ice on", None, Reading("question", "cold_timing")),
    ("how often should i use the heat", None, Reading("question", "heat_timing")),
    ("how long do i leave it on for", None, Reading("question", "pack_timing")),  # today's pack, from the record
    ("can i take ibuprofen", None, Reading("question", "medicines")),
    ("how much ibuprofen can i have", None, Reading("question", "medicines")),
    ("should i go to the er", None, Reading("question", "emergency_room")),
    ("heat or cold", None, Reading("question", "heat_or_cold")),
    ("what's the plan for tomorrow", None, Reading("question", "heat_or_cold")),
    # Today's pack, asked about today, or the other pack asked for than today's: the day's plan (issue 21).
    ("heat or cold today", None, Reading("question", "heat_today")),
    ("can i use a hot water bottle", None, Reading("question", "heat_today")),
    ("can i put the heat pad on yet", None, Reading("question", "heat_today")),
    ("should i still use ice", None, Reading("question", "heat_today")),
    ("should i still be icing it", None, Reading("question", "heat_today")),
    ("what's a moist heat pack", None, Reading("question", "moist_heat")),
    ("i don't have an ice pack", None, Reading("question", "no_ice_pack")),
    ("when can i exercise", None, Reading("question", "exercise")),
    ("would a hot bath be better", None, Reading("question", "bath")),
    ("what if the heat makes it hurt more", None, Reading("question", "heat_hurts")),
    # Heat hurting, reported, is acted on (cold only from now on), even when asked as a question.
    ("the heat is making it hurt more should i stop", None, Reading("pain", "heat_worse")),
    ("why did this happen", None, Reading("question", "causes")),
    ("is it ok to drink wine", None, Reading("question", "other")),
    # Another body part is a symptom, not the back getting worse.
    ("my stomach hurts", None, Reading("symptom")),
    ("the back of my head's really sore", None, Reading("symptom")),
    # Pain reports.
    ("a little better", None, Reading("pain", "better")),
    ("much worse", None, Reading("pain", "worse")),
    ("i'm in agony", None, Reading("pain", "worse")),
    ("the pain's unbearable", None, Reading("pain", "worse")),
    ("no it's worse much worse", None, Reading("pain", "worse")),
    ("it's no better", None, Reading("pain", "same")),
    ("pretty much unchanged", None, Reading("pain", "same")),
    ("bedder today thanks", None, Reading("pain", "better")),  # (a recogniser's slip, from test21b)
    # Issue 21, test21c: misspelt worse is worse; "worse, not better" is worse, not the same; "the heat seems to make
    # the spasm worse" is heat that hurts; "no but my neck's killing me" is a no (the neck's, not the back's).
    ("its aweful today wurse than yesterday", None, Reading("pain", "worse")),
    ("it's getting worse not better", None, Reading("pain", "worse")),
    ("i think i'm over the worst of it", None, Reading("pain", "better")),  # (test21b) but "the worst yet" is worse
    ("it's the worst it has been", None, Reading("pain", "worse")),
    ("my back is paining too much today", None, Reading("pain", "worse")),
    ("the heat seems to make the spasm worse actually", None, Reading("pain", "heat_worse")),
    ("no but my neck's killing me", "t1_saddle", Reading("answer", "no")),
    # ... and requests in any words: the take-off timer, a pause, the end.
    ("remind me in a quarter hour to take the pack off", None, Reading("request", "timer")),  # ("ping me": the carrier)
    ("kindly tell me when to remove the pack", None, Reading("request", "timer")),
    ("remind me about the next one in four hours", None, Reading("request", "reminder")),
    ("can you pause it", None, Reading("request", "pause")),
    ("stop it please i'm done", None, Reading("request", "stop")),
    ("that's enough for today goodbye", None, Reading("request", "stop")),
    ("the pain won't stop", None, Reading("pain_remark")),
    ("do i turn it off now", None, Reading("question", "other")),
    ("can you play that bit again", None, Reading("request", "repeat")),
    ("the heat is making it worse", None, Reading("pain", "heat_worse")),
    # Harm from a pack: before any answer ("yes burning my skin" is no yes to "is the cold pack on?"), but at a
    # safety question a yes or not sure to the sign still wins (the safe side); a pack's warmth is a remark.
    ("the ice is burning my skin", None, Reading("pack_harm")),
    ("yes burning my skin", None, Reading("pack_harm")),
    ("my skin's gone numb under the ice", None, Reading("pack_harm")),
    ("i can't feel my skin under the ice", None, Reading("pack_harm")),
    ("the ice is burning my skin", "t1_saddle", Reading("pack_harm")),
    ("no but the ice is burning my skin", "t1_saddle", Reading("pack_harm")),
    ("yes and the ice is burning my skin", "t1_saddle", Reading("answer", "yes")),
    ("not sure the ice is stinging", "t1_legs", Reading("answer", "unsure")),
    ("i'm all sweaty under the heat pad", None, Reading("remark")),
    ("i feel hot under the heat pad", "t2_fever", Reading("remark")),
    # Remarks: an acknowledgement, never emergency words.
    ("it really hurts", None, Reading("pain_remark")),
    ("i have to pick up the kids at three", None, Reading("remark")),
    ("i feel relaxed now", None, Reading("remark")),
    ("i have no numbness", None, Reading("remark")),
    ("the dog is licking my face", None, Reading("remark")),
    ("", None, Reading("nothing")),
]


def test_free_words_are_read_in_the_documented_order():
    wrong = []
    for text, sign, expected in READINGS:
        got = UNDERSTANDING.read(text, sign, RED_FLAGS)
        if got != expected:
            wrong.append(f"{text!r} (asked about {sign}): read as {got}, expected {expected}")
    assert not wrong, f"{len(wrong)} of {len(READINGS)} read wrongly:\n" + "\n".join(wrong)


def test_okay_is_no_answer_to_a_safety_question_but_yes_to_going_on():
    guide, now = Guide(CONTENT), datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
    okay = Event("describe", carrier="okay")
    screening = guide.handle(None, Event("launch"), now, "en-US").state
    turn = guide.handle(screening, okay, now, "en-US")
    assert turn.plan.triage is None and turn.state["step"] == "screen_saddle"
    assert "events.screening_needs_answer" in [line.key for line in turn.plan.lines]
    at_rest = screening
    for _ in range(5):
        at_rest = guide.handle(at_rest, Event("no"), now, "en-US").state
    assert at_rest["step"] == "rest"
    assert guide.handle(at_rest, okay, now, "en-US").state["step"] == "compress_cold"


# ---------------------------------------------------------------------------- the questions file
def copy_content(tmp_path):
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def edit_questions(directory, change) -> None:
    path = directory / "questions.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw["questions"])
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("breakage, message", [
    (lambda qs: qs[0].pop("source"), "every answer needs its source"),
    (lambda qs: qs[0]["source"].pop("quote"), "every answer needs its source"),
    (lambda qs: qs[0]["source"].update(quote="Heat cures every spasm in a day."), "quote is not in"),
    (lambda qs: qs[0]["source"].update(file="blog.txt"), "not in skill/content/sources/"),
    (lambda qs: qs.append({"id": "wine", "match": [["wine"]]}), "wine: every answer needs its source"),
])
def test_an_answer_without_its_source_stops_the_skill_from_starting(tmp_path, breakage, message):
    directory = copy_content(tmp_path)
    edit_questions(directory, breakage)
    with pytest.raises(UnderstandingError, match=message):
        load_understanding(directory)


def test_every_shipped_answer_quotes_its_source_word_for_word():
    """Checked here again without the loader: a clinician can follow each answer to its line."""
    def flat(text: str) -> str:
        return " ".join(text.replace("\u2019", "'").split())

    missing = []
    for question in UNDERSTANDING.questions:
        source = flat((CONTENT_DIR / "sources" / question.source_file).read_text(encoding="utf-8"))
        if len(question.quote.split()) < 4 or flat(question.quote) not in source:
            missing.append(f"{question.id}: {question.quote!r} not in {question.source_file}")
    assert not missing, missing


def test_the_issue_s_questions_each_have_an_answer():
    wanted = {"cold_timing", "heat_timing", "heat_or_cold", "moist_heat", "no_ice_pack", "medicines", "relaxants",
              "emergency_room", "see_doctor", "causes", "exercise", "bath", "therapy", "injections"}
    assert wanted <= set(UNDERSTANDING.question_ids())


DOSE = re.compile(r"\b(\d+|one|two|three|four)\s*(mg|milligrams?|tablets?|pills?|capsules?|doses?)\b|\bdose of\b", re.I)
DIAGNOSIS = re.compile(r"(?<!if )\byou (have|'ve got|probably have) (a|an) |\bit('s| is) (a|probably) (slipped|herniated|disc)", re.I)


def test_answers_are_short_and_never_a_dose_or_a_diagnosis():
    problems = []
    for name, prompts in CONTENT.prompts.items():
        for key in prompts.keys("questions"):
            text = prompts.text(key)
            if DOSE.search(text) or DIAGNOSIS.search(text):
                problems.append(f"{name}:{key}: {text!r}")
            if len(text.split()) > 35:
                problems.append(f"{name}:{key}: {len(text.split())} words (voice-flow.md: about 35 at most)")
    assert not problems, problems
