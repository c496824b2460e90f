"""Wording smoke tests: the only tests that read the skill's English.

Every other test checks what the skill said by prompt key (tests/said.py, the dialogues' ``say:``), so a
clinician can reword any prompt and run ``make test``. These few read the words, where the words themselves
are the point: the emergency number, spoken in words and written in digits, in every locale; no medicine
dose in any prompt; no typo of the seed article in any prompt; every prompt well-formed in SSML; and the
words clinical.md asks for (what each safety question asks about, the cautions with medicines, reasons that
say what a sign "can mean", never what it is).
``scripts/reword_prompts.py`` rewords every prompt in a scratch copy and runs the suite: only tests of this
file may fail there (and which do is in its output).
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from envelopes import Conversation, intent
from said import keys_of
from skill.engine import default_content
from skill.engine.plan import Line
from skill.render import Renderer, plain
from test_content import ALL_PROMPTS, CLINICAL_QUESTIONS, PROMPT_FILES, SAMPLE_PARAMS

CONTENT = default_content()
RENDER = Renderer(CONTENT)
# Every prompt of every prompts file a locale speaks: (locale, key, its spoken text with sample values).
EVERY_PROMPT = [(locale, key, RENDER.text(Line(key, SAMPLE_PARAMS), locale))
                for locale in sorted(CONTENT.locales) for key in CONTENT.prompts_for(locale).keys()]

# The numbers themselves, per clinical.md (not read back from locales.yaml): spoken, written, and the words
# of the tier-2 advice that differ by locale.
LOCALE_NUMBERS = {
    "en-US": ("nine one one", "911", "see a doctor today"),
    "en-CA": ("nine one one", "911", "see a doctor today"),
    "en-GB": ("nine nine nine", "999", "call one one one, or your gp, today"),
    "en-AU": ("triple zero", "000", "see a doctor today"),
    "en-IN": ("one one two", "112", "see a doctor today"),
}
# A number or amount with a unit of medicine, a "take two", a dosing schedule: never in what the skill says.
_COUNT = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|half|a half|a couple of|a few)"
_NUMBER = rf"(?:{_COUNT}|a|an|double|extra)"
_UNIT = r"(?:mg|milligrams?|mcg|micrograms?|ml|millilit(?:re|er)s?|tablets?|pills?|capsules?|caplets?|doses?)"
DOSE = re.compile(
    rf"\b{_NUMBER}\s*-?\s*{_UNIT}\b"  # "400 mg", "200mg", "two tablets", "a double dose"
    rf"|\btake\s+(?:up\s+to\s+|at\s+most\s+)?{_COUNT}\b"  # "take two", "take up to 3"
    rf"|\b{_COUNT}\s+times\s+a\s+day\s+(?:with|after)\s+(?:food|meals)\b",  # dosing schedules
    re.IGNORECASE,
)
# The seed article's typos ("Trratment", "a warm water bowel", "the flower" for "the floor").
SEED_TYPOS = ("trratment", "water bowel", "the flower")


def test_the_emergency_number_is_spoken_in_words_and_written_in_digits_in_every_locale(shared_client, new_user_id):
    failures = []
    for locale, (number, written, urgent) in LOCALE_NUMBERS.items():
        convo = Conversation(shared_client, user_id=new_user_id(), locale=locale)
        convo.launch()
        for _ in range(5):
            convo.say("AMAZON.NoIntent")  # on rest
        env = intent("CannotDoIntent", {"description": "feel my legs"}, session_attributes=convo.attributes,
                     new_session=False, locale=locale, user_id=convo.user_id)
        emergency = shared_client.post("/alexa", json=env)
        speech = plain(emergency.get_json()["response"]["outputSpeech"]["ssml"]).lower()
        card = emergency.get_json()["response"]["card"]["content"]
        if keys_of(emergency).say[0] != "emergency.say" or number not in speech or written not in card \
                or re.search(r"\d", speech):
            failures.append(f"{locale} emergency: said {speech[:80]!r}, card {card[:80]!r}")
        convo.say("DescribeSymptomIntent", {"description": "a fever"})
        see_doctor = plain(convo.last["response"]["outputSpeech"]["ssml"]).lower()
        if convo.keys.say[0] != "urgent.say" or urgent not in see_doctor:
            failures.append(f"{locale} urgent: said {see_doctor[:80]!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dose", ["Take two tablets.", "400 mg of ibuprofen", "200mg", "one dose",
                                  "take 2 every four hours", "two capsules", "a double dose", "3 pills",
                                  "three times a day with food", "500 milligrams"])
def test_the_dose_pattern_catches_doses(dose):
    assert DOSE.search(dose)


@pytest.mark.parametrize("fine", ["Do this ten times, three or four times a day.",
                                  "don't drive after taking one", "hold for ten seconds",
                                  "about 15 minutes, every 2 hours"])
def test_the_dose_pattern_leaves_exercise_counts_and_timings_alone(fine):
    assert not DOSE.search(fine)


def test_no_prompt_states_a_dose_or_a_seed_typo():
    found = [(locale, key, text) for locale, key, text in EVERY_PROMPT
             if DOSE.search(text) or any(typo in text.lower() for typo in SEED_TYPOS)]
    assert not found


def test_every_prompt_is_well_formed_ssml_in_every_locale():
    broken = []
    for locale, key, _ in EVERY_PROMPT:
        ssml = f"<speak>{RENDER.speech([Line(key, SAMPLE_PARAMS)], locale)}</speak>"
        try:
            ElementTree.fromstring(ssml)
        except ElementTree.ParseError as exc:
            broken.append(f"{locale}:{key}: {exc}: {ssml[:80]}")
    assert not broken


# ---------------------------------------------------------------------------- the words clinical.md asks for

def test_every_screening_question_asks_about_what_clinical_md_names():
    prompts = CONTENT.prompts_for("en-US")
    for step_id, _, phrases in CLINICAL_QUESTIONS:
        ask = prompts.text(f"steps.{step_id}.ask").lower()
        missing = [phrase for phrase in phrases if phrase not in ask]
        assert not missing, f"{step_id} does not ask about {missing}: {ask!r}"


def test_pain_medicines_are_named_only_with_a_doctor_or_pharmacist():
    named = [(name, key, text) for name, key, text in ALL_PROMPTS if re.search(r"ibuprofen|naproxen", text, re.I)]
    assert named, "the medicines step names the seed's examples"
    for name, key, text in named:
        assert "doctor or pharmacist" in text.lower(), f"{name}:{key}"


def test_muscle_relaxants_come_with_the_drowsiness_and_driving_warning():
    text = CONTENT.prompts_for("en-US").text("steps.relaxants.say").lower()
    assert "doctor" in text and "drowsy" in text and "don't drive" in text



def test_triage_reasons_say_what_a_sign_can_mean_or_what_needs_checking():
    # clinical.md: "The skill never diagnoses". Reasons hedge ("can mean"); the injury reason, which names
    # no cause, says what needs checking instead.
    for name in PROMPT_FILES:
        prompts = CONTENT.prompts[name]
        for key in prompts.keys("emergency.reasons.") + prompts.keys("urgent.reasons."):
            text = prompts.text(key).lower()
            assert re.search(r"can mean|can be a sign|needs? check|should be checked|should check", text), \
                f"{name}:{key}: {text!r}"
            assert not re.search(r"\b(?:is|are) (?:caused by|due to)\b", text), f"{name}:{key}"
