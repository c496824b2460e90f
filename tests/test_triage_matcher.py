"""The red-flag matcher alone (skill/engine/triage.py + skill/content/red_flags.yaml): pure and fast.

Every tier-1 and tier-2 item of clinical.md, said at least three ways (including through each symptom
intent's frame), must come back with its id and tier; negated phrasings must not; uncertainty must;
ordinary back-spasm talk must not; a broken phrase file must not load.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from skill.alexa.carriers import default_carriers
from skill.engine.triage import (
    NEGATION_WINDOW,
    REQUIRED_IDS,
    RedFlagError,
    compile_pattern,
    default_red_flags,
    described_text,
    load_matcher_words,
    load_red_flags,
    matching_form,
)

ROOT = Path(__file__).resolve().parent.parent
RED_FLAGS_FILE = ROOT / "skill" / "content" / "red_flags.yaml"
EVAL_FILE = ROOT / "evaluation" / "sets" / "triage_phrases.tsv"
CARRIERS = default_carriers().meanings


@pytest.fixture(scope="module")
def red_flags():
    return default_red_flags()


# (utterance, expected id). An utterance given as (intent, captured) goes through that intent's frame,
# the way the handler rebuilds it from an AMAZON.SearchQuery slot.
TIER_1 = {
    "t1_saddle": ["i have numbness between my legs", "my bum is numb", "there is tingling around my genitals",
                  "i have pins and needles in my groin", ("CannotDoIntent", "feel anything down there"),
                  "it feels numb when i wipe", ("DescribeSymptomIntent", "no feeling in my bottom"),
                  "my inner thighs have gone numb", "numbness around my back passage"],
    "t1_bladder": ["i can't pee", ("CannotDoIntent", "pee"), "i wet myself", "i've peed myself",
                   "i'm leaking urine", "i have trouble peeing", ("CannotDoIntent", "control my bladder"),
                   "i don't know if my bladder is full", "i need to wee but nothing comes out",
                   "i haven't been able to pass urine all day"],
    "t1_bowel": ["i can't control my bowels", ("CannotDoIntent", "control my bowels"), "i soiled myself",
                 "i pooed myself", "i've lost control of my bowels", "i can't tell when i need to poo"],
    "t1_legs": ["i can't feel my legs", ("CannotDoIntent", "feel my legs"), ("LegsSymptomIntent", "are numb"),
                "my legs are numb", "my legs are weak", "both my legs are tingling", "my legs keep giving way",
                ("LegSymptomIntent", "is getting weaker"), "my leg is getting weaker", "i have dead legs",
                "jelly legs", "no feeling in my legs", "i can no longer feel my feet", "i can't move my legs",
                ("LegsSymptomIntent", "won't hold me up"), "i can't fill my legs"],
    "t1_foot_drop": ["my foot is slapping the ground", "i can't lift my foot", ("CannotDoIntent", "lift my foot"),
                     "i keep tripping over my foot", "i have foot drop", "my foot is dragging"],
    "t1_sexual": ["i can't get an erection", ("CannotDoIntent", "get an erection"), "no feeling in my penis",
                  "my vagina feels numb", "i have new problems with erections"],
    "t1_trauma": ["i fell down the stairs", "i was in a car accident", "i was hit hard in the back",
                  ("DescribeSymptomIntent", "a bad fall"), ("DescribeSymptomIntent", "fell"),
                  "it started after i fell off a ladder", "i got hit by a car"],
    "t1_chest": ["i have chest pain", "my chest hurts", "i have a tight chest", ("DescribeSymptomIntent", "chest pain"),
                 "there's a crushing feeling in my chest"],
    "t1_collapse": ["i fainted", "i passed out", "i feel faint", ("DescribeSymptomIntent", "faint"),
                    "i think i'm going to pass out", "i blacked out"],
    "t1_heart": ["my heart is racing", "i have a pounding heart", "my heart is beating really fast",
                 "i've got palpitations"],
    "t1_belly_pulse": ["i have a throbbing feeling in my belly", "there is a pulsing in my stomach",
                       "my tummy is pulsating", ("DescribeSymptomIntent", "a pulse in my abdomen")],
    "t1_belly_back": ["i've got a sharp pain in my tummy going through to my back", "sudden bad pain in my belly",
                      "my stomach hurts really bad and it goes through to my back", "there's a terrible pain in my tummy"],
}
TIER_2 = {
    "t2_fever": ["i have a fever", ("DescribeSymptomIntent", "a fever"), "i have chills", "i feel really unwell",
                 "i'm shivering", "i have a high temperature", ("DescribeSymptomIntent", "sick")],
    "t2_urinary": ["it burns when i pee", "there is blood in my pee", "pain when i wee",
                   "i have pain in my side and burning when i wee", "i think i have a kidney infection"],
    "t2_cancer": ["i had cancer", "i have a history of cancer", "i'm being treated for cancer",
                  ("DescribeSymptomIntent", "breast cancer"), "i had prostate cancer years ago"],
    "t2_weight_loss": ["i have been losing weight without trying", "i've lost a lot of weight",
                       "i'm losing weight for no reason", "my clothes are falling off me"],
    "t2_night_pain": ["the pain is worse at night", "the pain wakes me up at night", "resting doesn't ease it at all",
                      "it hurts even when i'm lying still", "lying down doesn't help", "i can't sleep for the pain",
                      "it's worse when i lie down at night"],
    "t2_osteoporosis": ["i have osteoporosis", "i have osteoporosis and i slipped", "i have brittle bones",
                        "i've been on steroids for years", "i take prednisolone"],
    "t2_immune": ["i have a weak immune system", "i'm on chemotherapy", "i inject drugs", "i'm hiv positive",
                  "i had a kidney transplant"],
    "t2_lump": ["there is a lump on my back", "there is a swelling on my spine", "my back has changed shape",
                "i found a bump on my spine"],
    "t2_upper_belly": ["i have severe pain in my upper stomach after eating", "my stomach hurts after i eat",
                       "i get bad pain under my ribs after i eat", "i have gallstones"],
    "t2_belly_spread": ["my tummy aches and it goes round to my back", "the pain goes from my stomach to my back",
                        "my stomach really hurts and it goes right through to my back", "my belly and my back both hurt"],
}
TIER_3 = {
    "t3_one_leg": ["i have sciatica", "pain down my leg", "tingling in one leg", ("LegSymptomIntent", "is numb"),
                   "shooting pain down my right leg"],
    "t3_long_lasting": ["it's been two weeks", "it's not getting better", "it's been weeks", "nothing helps"],
    "t3_cannot_cope": ["i can't cope", ("CannotDoIntent", "work"), "i can't do anything",
                       "it stops me doing anything"],
    "t3_numbness": ["i feel numb", ("DescribeSymptomIntent", "pins and needles"), "i have some tingling"],
}
NEGATED = [
    "no fever", "i don't have a fever", "i do not have any numbness", "there's no blood in my pee",
    "i haven't fallen", "no numbness and no tingling", "i have no fever", "i don't have any numbness",
    "i didn't fall", "no tingling anywhere", "i haven't wet myself", "i do not have chest pain",
    "i have no trouble peeing", "there's no numbness between my legs", "i've never had cancer",
    "i'm not on steroids", "i don't have osteoporosis", "my heart isn't racing", "i haven't passed out",
    "i don't feel faint", "no pins and needles", "neither numbness nor weakness", "without any fever",
    "i don't think i have a temperature", "i do not have any numbness or tingling in my legs",
    "no i haven't had an accident", "i have not lost any weight", "i haven't got chills",
    ("DescribeSymptomIntent", "no fever"), ("DescribeSymptomIntent", "no numbness at all"),
    "i don't think there is any blood in my pee", "i'm not sick", "my legs aren't weak",
]
UNCERTAIN = [  # clinical.md: "not sure" counts as yes for tier 1
    ("i'm not sure if i have numbness between my legs", "t1_saddle"),
    ("not sure whether my legs are numb", "t1_legs"),
    ("i don't know if i've wet myself", "t1_bladder"),
    ("i'm not sure if i can feel my legs properly", "t1_legs"),
    ("i can't tell if my bladder is full", "t1_bladder"),
    ("maybe some tingling down there", "t1_saddle"),
    ("i think my bum might be numb", "t1_saddle"),
    ("i'm not sure if i have a fever", "t2_fever"),
]
MIXED = [  # a negation, then a red flag in its own clause
    ("no fever but my legs are numb", "t1_legs"),
    ("i don't have a fever and i can't feel my legs", "t1_legs"),
    ("no fever, my legs are numb", "t1_legs"),
    ("no fever my legs are numb", "t1_legs"),
    ("no, i can't feel my legs", "t1_legs"),
    ("i haven't fallen but i have had cancer", "t2_cancer"),
    ("no chest pain however i wet myself", "t1_bladder"),
]
BENIGN = [
    "my back hurts", "i feel a bit better", "the heat helps", "my back is stiff", "i can walk a little",
    "i can feel my legs fine", "no numbness", "i have a cold pack on", "i can feel my legs", "my legs are fine",
    "i have a cold", "i fell asleep with the heat pad on", "i need to pee", "my legs are up on the chair",
    "i can't get comfortable", "i can't breathe that slowly", "the pain shot up my back",
    "it hit me out of nowhere", "i rolled my ankle last week", "i slipped a disc years ago",
    "there's a knot in my back", "my stomach muscles are weak", "i can't reach the ice pack",
    "it hurts when i bend over", "i'm lying on the floor", "my back went into spasm", "i took ibuprofen",
    "what temperature should the heat pack be", "my legs are tired", "i have a spasm in my back",
    ("CannotDoIntent", "walk very far"), ("LegsSymptomIntent", "are fine"),
    ("DescribeSymptomIntent", "a bit better"), "my lower back is really tight", "i'm worried",
]


def utterance_from_frame(intent: str, captured: str | None) -> str:
    """What the engine matches for a catch-all intent's captured words: its carrier meaning put back."""
    return described_text(CARRIERS.get(intent, ""), captured)


def say(item) -> str:
    return utterance_from_frame(*item) if isinstance(item, tuple) else item


def cases(table):
    return [(flag, item) for flag, items in table.items() for item in items]


def label(item) -> str:
    return f"{item[0]}:{item[1]}" if isinstance(item, tuple) else item


def report(failures: list[str], what: str) -> str:
    return f"{len(failures)} {what}:\n  " + "\n  ".join(failures)


def explained(red_flags, text: str) -> str:
    return "; ".join(f"{m.flag_id}{' negated by ' + m.cue if m.negated else ''} <- {m.phrase!r}"
                     for m in red_flags.explain(text)) or "nothing matched"


# ---------------------------------------------------------------------- coverage of clinical.md
def test_every_tier_1_and_2_item_has_three_or_more_phrasings_here():
    for table in (TIER_1, TIER_2):
        for flag, items in table.items():
            assert len(items) >= 3, flag
    assert set(TIER_1) | set(TIER_2) == set(REQUIRED_IDS)


def test_every_red_flag_phrasing_is_recognised_with_its_id_and_tier(red_flags):
    failures = []
    for flag, item in cases(TIER_1) + cases(TIER_2) + cases(TIER_3):
        match = red_flags.match(say(item))
        if match is None or (match.flag_id, match.tier) != (flag, int(flag[1])):
            failures.append(f"{flag}: {label(item)!r} -> {explained(red_flags, say(item))}")
    assert not failures, report(failures, "red-flag phrasings not recognised as their flag")


def test_negated_phrasings_do_not_escalate(red_flags):
    failures = [f"{label(item)!r} -> {explained(red_flags, say(item))}"
                for item in NEGATED if red_flags.match(say(item)) is not None]
    assert not failures, report(failures, "negated phrasings taken as red flags")


def test_at_least_twenty_negated_phrasings():
    assert len(NEGATED) >= 20


def test_uncertainty_is_not_negation(red_flags):
    failures = [f"{text!r} (want {flag}) -> {explained(red_flags, text)}" for text, flag in UNCERTAIN
                if getattr(red_flags.match(text), "flag_id", None) != flag]
    assert not failures, report(failures, "uncertain phrasings not taken as their red flag")


def test_a_negated_clause_does_not_hide_a_red_flag_after_it(red_flags):
    failures = [f"{text!r} (want {flag}) -> {explained(red_flags, text)}" for text, flag in MIXED
                if getattr(red_flags.match(text), "flag_id", None) != flag]
    assert not failures, report(failures, "red flags hidden by an earlier negated clause")


def test_ordinary_back_spasm_talk_is_not_a_red_flag(red_flags):
    failures = [f"{label(item)!r} -> {explained(red_flags, say(item))}"
                for item in BENIGN if red_flags.match(say(item)) is not None]
    assert not failures, report(failures, "ordinary phrases taken as red flags")


def test_some_ordinary_talk_gets_routine_advice_only(red_flags):
    routine = [("i feel a faint tingling in my lower back", "t3_numbness"), ("my leg hurts", "t3_one_leg"),
               ("i can't go to work", "t3_cannot_cope")]
    failures = [f"{text!r} (want {flag}) -> {explained(red_flags, text)}" for text, flag in routine
                if (getattr(red_flags.match(text), "flag_id", None), getattr(red_flags.match(text), "tier", None))
                != (flag, 3)]
    assert not failures, report(failures, "phrases not given routine advice")


# ---------------------------------------------------------------------- how matching decides
def test_most_severe_wins_then_earliest(red_flags):
    assert red_flags.match("i have a fever and i can't pee").flag_id == "t1_bladder"
    assert red_flags.match("i have sciatica and a fever").flag_id == "t2_fever"
    assert red_flags.match("i wet myself and i can't feel my legs").flag_id == "t1_bladder"
    assert red_flags.match("i can't feel my legs and i wet myself").flag_id == "t1_legs"


def test_match_reports_the_pattern_and_the_words(red_flags):
    match = red_flags.match("Help, I can't feel my legs!")
    assert match.flag_id == "t1_legs" and match.tier == 1
    assert match.text == "cannot feel my legs"
    assert match.phrase in red_flags.phrases_of("t1_legs")
    assert not match.negated


def test_explain_shows_negated_matches_and_their_cue(red_flags):
    found = red_flags.explain("no numbness but my legs are weak")
    negated = [m for m in found if m.negated]
    assert negated and negated[0].cue == "no" and negated[0].flag_id == "t3_numbness"
    assert any(m.flag_id == "t1_legs" and not m.negated for m in found)
    assert red_flags.explain("my back hurts") == []


def test_words_inside_the_phrase_never_negate_it(red_flags):
    for text in ("no feeling in my legs", "i can't pee", "i can't control my bladder", "nothing comes out when i pee",
                 "my legs won't hold me up", "i have no control over my bowels"):
        match = red_flags.match(text)
        assert match is not None and match.tier == 1, text


def test_negation_window_is_short_and_stays_in_its_clause(red_flags):
    assert NEGATION_WINDOW == 4
    # A cue far before the phrase (more than four words that count) does not reach it.
    assert red_flags.match("no i was lying there wondering why it started and i wet myself").flag_id == "t1_bladder"
    assert red_flags.match("never mind that old stuff today my legs are numb").flag_id == "t1_legs"
    for text in ("no numbness but tingling in my legs", "i don't have a fever, my legs are numb",
                 "no fever however my legs are numb", "no fever though i can't feel my legs",
                 "nothing like that except my legs are numb"):
        assert red_flags.match(text).flag_id == "t1_legs", text


def test_a_list_after_a_negation_stays_negated(red_flags):
    assert red_flags.match("i don't have numbness or tingling or weakness in my legs") is None
    assert red_flags.match("no fever or chills") is None


def test_i_dont_think_keeps_its_negation_over_a_new_subject(red_flags):
    assert red_flags.match("i don't think my legs are numb") is None
    assert red_flags.match("i don't feel like my legs are weak") is None


def test_after_two_weeks_tier_3_but_a_red_flag_still_wins(red_flags):
    assert red_flags.match("it's been two weeks").tier == 3
    assert red_flags.match("it's been two weeks and now i can't pee").flag_id == "t1_bladder"


# ---------------------------------------------------------------------- matching_form
NORMALISED = [
    ("I can't feel my legs", "i cannot feel my legs"),
    ("i cannot pee", "i cannot pee"),
    ("i can not pee", "i cannot pee"),
    ("I cant pee", "i cannot pee"),
    ("I won't", "i will not"),
    ("I don't have a fever", "i do not have a fever"),
    ("I haven't fallen", "i have not fallen"),
    ("I'm sore", "i am sore"),
    ("It's been two weeks", "it has been two weeks"),  # "'s been" is "has been"
    ("My heart's racing", "my heart is racing"),
    ("I’m not sure if I have numbness", "i am unsure i have numbness"),
    ("I don't know if my bladder is full", "i unsure my bladder is full"),
    ("not really sure", "unsure"),
    ("I can't tell whether I'm numb", "i unsure i am numb"),
    ("I have no idea if it's numb", "i have unsure it is numb"),
    ("I'm unable to move my legs", "i cannot move my legs"),
    ("I'm not able to pee", "i cannot pee"),
    ("I haven't been able to pee", "i cannot pee"),
    ("I can no longer feel my feet", "i cannot feel my feet"),
    ("i can barely move", "i cannot move"),
    ("No fever, but my legs are numb!", "no fever . but my legs are numb"),
    ("numb... really numb", "numb . really numb"),
    ("long-term steroids", "long term steroids"),
    ("I have H.I.V.", "i have hiv"),
    ("temperature 38.5", "temperature 38.5"),
    ("", ""),
    ("  ,, ", ""),
]


def test_matching_form_puts_every_phrasing_into_one_form():
    failures = [f"{text!r} -> {matching_form(text)!r}, want {expected!r}" for text, expected in NORMALISED
                if matching_form(text) != expected]
    assert not failures, report(failures, "texts normalised wrongly")


def test_matching_form_is_idempotent_on_every_eval_phrase():
    for line in EVAL_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            once = matching_form(line.split("\t")[0])
            assert matching_form(once) == once, line


# ---------------------------------------------------------------------- frames
def test_the_symptom_catch_alls_and_the_pain_only_answer_keep_their_meanings():
    assert {name: CARRIERS[name] for name in ("DescribeSymptomIntent", "CannotDoIntent", "LegsSymptomIntent",
                                              "LegSymptomIntent", "PainOnlyIntent")} == {
        "DescribeSymptomIntent": "", "CannotDoIntent": "i cannot", "LegsSymptomIntent": "my legs",
        "LegSymptomIntent": "my leg", "PainOnlyIntent": "it is only the pain"}


FRAMED = [
    ("CannotDoIntent", "feel my legs", "i cannot feel my legs"),
    ("CannotDoIntent", "  pee ", "i cannot pee"),
    ("CannotDoIntent", "i can't feel my legs", "i can't feel my legs"),  # already framed: not doubled
    ("LegsSymptomIntent", "are numb", "my legs are numb"),
    ("LegSymptomIntent", "is getting weaker", "my leg is getting weaker"),
    ("LegSymptomIntent", "my leg is numb", "my leg is numb"),
    ("DescribeSymptomIntent", "a fever", "a fever"),
    ("SymptomIntent", "i can't feel my legs", "i can't feel my legs"),  # no frame
    ("CannotDoIntent", None, "i cannot"),
    ("DescribeSymptomIntent", None, ""),
]


def test_a_frame_puts_back_what_the_carrier_phrase_meant():
    failures = [f"{intent} {captured!r} -> {utterance_from_frame(intent, captured)!r}, want {expected!r}"
                for intent, captured, expected in FRAMED if utterance_from_frame(intent, captured) != expected]
    assert not failures, report(failures, "frames put back wrongly")


def test_nothing_said_matches_nothing(red_flags):
    for text in ("", "   ", None, "i cannot", "my legs", "my leg", "..."):
        assert red_flags.match(text) is None


# ---------------------------------------------------------------------- the shipped file
def test_shipped_file_has_every_clinical_item_with_a_consistent_tier(red_flags):
    assert set(REQUIRED_IDS) <= set(red_flags.ids())
    for flag in red_flags.ids():
        assert red_flags.tier_of(flag) == int(flag[1])
        assert red_flags.label_of(flag)
        assert red_flags.phrases_of(flag)
    assert [f for f in red_flags.ids() if f.startswith("t3_")]


def test_default_red_flags_is_loaded_once():
    assert default_red_flags() is default_red_flags()


def test_matching_is_well_under_a_millisecond(red_flags):
    phrases = [line.split("\t")[0] for line in EVAL_FILE.read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    long = " and ".join(["i have been lying here on the floor with my legs up on the chair"] * 4)
    red_flags.match(long)
    start = time.perf_counter()
    for text in phrases:
        red_flags.match(text)
    average = (time.perf_counter() - start) / len(phrases)
    start = time.perf_counter()
    for _ in range(20):
        red_flags.match(long)
    assert average < 0.001, f"{average * 1e6:.0f} us per utterance"
    assert (time.perf_counter() - start) / 20 < 0.005


# ---------------------------------------------------------------------- the interaction model's RED_FLAG values
def _red_flag_values():
    model = json.loads((ROOT / "interaction_models" / "en-US.json").read_text())
    (slot_type,) = [t for t in model["interactionModel"]["languageModel"]["types"] if t["name"] == "RED_FLAG"]
    return slot_type["values"]


def test_red_flag_slot_type_has_one_value_per_flag(red_flags):
    ids = [value["id"] for value in _red_flag_values()]
    assert sorted(ids) == sorted(red_flags.ids())


def test_every_red_flag_slot_synonym_matches_its_own_flag(red_flags):
    failures = []
    for value in _red_flag_values():
        synonyms = value["name"]["synonyms"]
        if not 5 <= len(synonyms) <= 15:
            failures.append(f"{value['id']}: {len(synonyms)} synonyms, want 5 to 15")
        for phrase in [value["name"]["value"], *synonyms]:
            match = red_flags.match(phrase)
            if set(phrase) & set("()[]|@^$"):
                failures.append(f"{value['id']}: pattern syntax in a slot value: {phrase!r}")
            elif match is None or (match.flag_id, match.tier) != (value["id"], red_flags.tier_of(value["id"])):
                failures.append(f"{value['id']}: {phrase!r} -> {explained(red_flags, phrase)}")
    assert not failures, report(failures, "RED_FLAG slot values the matcher does not give their own id")


# ---------------------------------------------------------------------- the loader refuses broken files


def _matcher_words_yaml(**changes) -> str:
    """The shipped file's ``matcher_words`` section, with ``changes`` (a list name -> its words, or None to drop it)."""
    section = {**yaml.safe_load(RED_FLAGS_FILE.read_text(encoding="utf-8"))["matcher_words"], **changes}
    return yaml.safe_dump({"matcher_words": {k: v for k, v in section.items() if v is not None}}, width=10_000)


def _file(tmp_path, flags_yaml: str, words_yaml: str = "", matcher_words_yaml: str | None = None) -> Path:
    required = "".join(
        f"  - id: {flag}\n    tier: {flag[1]}\n    label: x\n    phrases: [\"{flag[3:].replace('_', ' ')} sign\"]\n"
        f"    examples: [\"a {flag} sign\", \"some {flag} sign\", \"my {flag} sign\"]\n"
        for flag in REQUIRED_IDS)
    matcher_words_yaml = _matcher_words_yaml() if matcher_words_yaml is None else matcher_words_yaml
    path = tmp_path / "red_flags.yaml"
    no_signs = "no_sign_examples: [\"my back hurts\", \"my legs are fine\", \"the pack is cold\"]\n"
    path.write_text(f"version: 1\n{matcher_words_yaml}{words_yaml}{no_signs}flags:\n{required}{flags_yaml}")
    return path


def test_a_minimal_valid_file_loads(tmp_path):
    flags = load_red_flags(_file(tmp_path, "  - id: t3_extra\n    tier: 3\n    label: x\n    phrases: [\"extra sign\"]\n"))
    assert flags.match("an extra sign here").flag_id == "t3_extra"
    assert flags.match("no extra sign") is None


BROKEN_ENTRIES = [
    ("  - id: t1_extra\n    tier: 2\n    label: x\n    phrases: [\"extra sign\"]\n", "the id says tier 1 but tier is 2"),
    ("  - id: extra\n    tier: 2\n    label: x\n    phrases: [\"extra sign\"]\n", "id must look like"),
    ("  - id: t4_extra\n    tier: 4\n    label: x\n    phrases: [\"extra sign\"]\n", "id must look like"),
    ("  - id: t2_extra\n    tier: 5\n    label: x\n    phrases: [\"extra sign\"]\n", "tier must be 1, 2 or 3"),
    ("  - id: t1_chest\n    tier: 1\n    label: x\n    phrases: [\"chest thing\"]\n", "id used twice"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"(extra|other sign\"]\n", "unbalanced"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"extra|other) sign\"]\n", "unbalanced"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"[extra sign\"]\n", "unbalanced"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"(extra||other) sign\"]\n", "empty alternative"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"i have it\"]\n", "stop words only"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"[extra] [sign]\"]\n", "stop words only"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"i can't pee\"]\n", "not allowed"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"cant pee\"]\n", "not in normalised form"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"not sure pee\"]\n", "not in normalised form"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"Extra Sign\"]\n", "not allowed"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"@nolist sign\"]\n", "unknown word list"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: []\n", "non-empty list"),
    ("  - id: t2_extra\n    tier: 2\n    phrases: [\"extra sign\"]\n", "needs a label"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    phrases: [\"chest sign\"]\n", "also listed under t1_chest"),
    ("  - id: t2_extra\n    tier: 2\n    label: x\n    colour: red\n    phrases: [\"extra sign\"]\n", "unknown keys"),
]


def loader_problem(path: Path, wanted: str) -> str | None:
    """None if loading ``path`` is refused with ``wanted`` in the message, else what happened instead."""
    try:
        load_red_flags(path)
    except RedFlagError as exc:
        return None if wanted in str(exc) else f"refused, but without {wanted!r}: {exc}"
    return "loaded without complaint"


def test_loader_reports_each_kind_of_broken_entry(tmp_path):
    failures = []
    for n, (entry, problem) in enumerate(BROKEN_ENTRIES):
        (tmp_path / str(n)).mkdir()
        found = loader_problem(_file(tmp_path / str(n), entry), problem)
        if found:
            failures.append(f"{entry.strip()!r}: {found}")
    assert not failures, report(failures, "broken entries not reported")


def test_loader_reports_a_missing_clinical_item(tmp_path):
    failures = []
    for missing in ("t1_saddle", "t1_belly_pulse", "t2_fever", "t2_upper_belly"):
        (tmp_path / missing).mkdir()
        path = _file(tmp_path / missing, "")
        text = path.read_text()
        start = text.index(f"  - id: {missing}\n")
        end = text.find("  - id:", start + 1)
        path.write_text(text[:start] + (text[end:] if end != -1 else ""))
        found = loader_problem(path, f"{missing}: missing")
        if found:
            failures.append(f"{missing}: {found}")
    assert not failures, report(failures, "missing clinical items not reported")


def test_loader_reports_word_list_problems(tmp_path):
    words = "words:\n  place: [\"groin\", \"Groin Area\"]\n  spare: [\"unused\"]\n"
    entry = "  - id: t1_extra\n    tier: 1\n    label: x\n    phrases: [\"numb @place\"]\n"
    with pytest.raises(RedFlagError) as info:
        load_red_flags(_file(tmp_path, entry, words))
    assert "must be plain lowercase words" in str(info.value)
    assert "words.spare: never used" in str(info.value)


EXTRA_SIGN = "  - id: t3_extra\n    tier: 3\n    label: x\n    phrases: [\"extra sign\"]\n"


def test_the_matcher_words_come_from_the_file(tmp_path):
    shipped = load_red_flags(_file(tmp_path, EXTRA_SIGN))
    assert shipped.match("the dog extra sign") is None  # an animal did it
    (tmp_path / "cats").mkdir()
    cats_only = load_red_flags(_file(tmp_path / "cats", EXTRA_SIGN, matcher_words_yaml=_matcher_words_yaml(
        animals="cat cats")))
    assert cats_only.match("the dog extra sign").flag_id == "t3_extra"


BROKEN_MATCHER_WORDS = [
    ("", "'matcher_words:' must map each of negation_cues, clause_breaks"),
    (_matcher_words_yaml(animals=None), "matcher_words.animals: must be single words separated by spaces"),
    (_matcher_words_yaml(clause_breaks=""), "matcher_words.clause_breaks: must be single words separated by spaces"),
    (_matcher_words_yaml(hedges=["mostly", "probably"]), "matcher_words.hedges: must be single words separated"),
    (_matcher_words_yaml(subjects="my i Both"), "matcher_words.subjects: 'Both' must be one plain lowercase word"),
    (_matcher_words_yaml(animals="dog dog's"), "matcher_words.animals: \"dog's\" must be one plain lowercase word"),
    (_matcher_words_yaml(list_words="or nor or"), "matcher_words.list_words: 'or' listed twice"),
    (_matcher_words_yaml(pets="dog"), "matcher_words.pets: not a list the matcher uses"),
]


def test_loader_reports_each_kind_of_broken_matcher_word_list(tmp_path):
    failures = []
    for n, (section, problem) in enumerate(BROKEN_MATCHER_WORDS):
        (tmp_path / str(n)).mkdir()
        found = loader_problem(_file(tmp_path / str(n), EXTRA_SIGN, matcher_words_yaml=section), problem)
        if found:
            failures.append(f"{problem}: {found}")
        with pytest.raises(RedFlagError, match=re.escape(problem)):
            load_matcher_words(tmp_path / str(n) / "red_flags.yaml")
    assert not failures, report(failures, "broken matcher word lists not reported")


def test_loader_lists_every_problem_at_once(tmp_path):
    entries = ("  - id: t1_extra\n    tier: 2\n    label: x\n    phrases: [\"(a sign\"]\n"
               "  - id: t2_more\n    tier: 2\n    label: x\n    phrases: [\"i am\"]\n")
    with pytest.raises(RedFlagError) as info:
        load_red_flags(_file(tmp_path, entries))
    message = str(info.value)
    assert "tier 1 but tier is 2" in message and "unbalanced" in message and "stop words only" in message


UNREADABLE = [
    ("flags: {}\n", "top-level 'flags:' list"),
    ("- just a list\n", "top-level 'flags:' list"),
    ("flags: [\n", "cannot read"),
]


def test_loader_reports_an_unreadable_file(tmp_path):
    failures = []
    for n, (content, problem) in enumerate(UNREADABLE):
        path = tmp_path / f"red_flags_{n}.yaml"
        path.write_text(content)
        found = loader_problem(path, problem)
        if found:
            failures.append(f"{content!r}: {found}")
    assert not failures, report(failures, "unreadable files not reported")


def test_loader_reports_a_missing_file(tmp_path):
    with pytest.raises(RedFlagError):
        load_red_flags(tmp_path / "nope.yaml")


def test_red_flag_error_is_a_value_error():
    assert issubclass(RedFlagError, ValueError)


PATTERNS = [
    ("(peed|weed) myself", "i wet and peed myself", True),
    ("(pee|wee) myself", "i peed myself", False),  # whole words only
    ("numb [in] [my] groin", "numb groin", True),
    ("numb [in] [my] groin", "numb in my groin", True),
    ("heart ... racing", "my heart is really really racing", True),
    ("heart ... racing", "my heart is really really very much racing", False),
    ("heart ... racing", "my heart is not racing", False),
    ("heart ... racing", "my heart is fine but racing", False),
    ("^ faint", "faint and dizzy", True),
    ("^ faint", "a faint ache", False),
    ("fell $", "i fell", True),
    ("fell $", "i fell asleep", False),
    ("fell $", "i fell. it hurts", True),
    ("legs", "my legs", True),
    ("leg", "my legs", False),
]


def test_pattern_syntax_matches_whole_words_options_gaps_and_anchors():
    failures = [f"{pattern!r} on {text!r}: {'missed' if hit else 'matched'}" for pattern, text, hit in PATTERNS
                if bool(re.compile(compile_pattern(pattern)).search(matching_form(text) + " ")) is not hit]
    assert not failures, report(failures, "patterns that match the wrong texts")


# ---------------------------------------------------------------------- the evaluation script, direct mode
# The endpoint mode is run by tests/test_scripts.py.
def run_eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evaluation.triage", "--direct", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_eval_file_has_at_least_150_phrases_of_every_kind():
    rows = [line.split("\t") for line in EVAL_FILE.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    assert len(rows) >= 150
    assert {int(tier) for _, tier in rows} == {0, 1, 2, 3}


# Phrase -> (intent, captured text) the way Alexa would route it; expected tier for the report.
ROUTED = {
    "i can't fill my legs": ("CannotDoIntent", "fill my legs", 1),
    "both my legs are numb": ("LegsSymptomIntent", "are numb", 1),
    "one of my legs is getting weaker": ("LegSymptomIntent", "is getting weaker", 1),
    "i have a fever": ("DescribeSymptomIntent", "a fever", 2),
    "my back hurts": ("StartGuideIntent", None, 0),
    "i'm not sure": ("NotSureIntent", None, 0),
    "i've got chest pain": ("SymptomIntent", "chest pain", 1),
    "my bottom feels numb": ("MyIntent", "bottom feels numb", 1),
    "numbness down below since this morning": ("DescribeSymptomIntent", "numbness down below since this morning", 1),
}


def test_eval_direct_mode_routes_phrases_the_way_alexa_would_and_scores_them(tmp_path):
    phrases = tmp_path / "phrases.tsv"
    phrases.write_text("".join(f"{phrase}\t{tier}\n" for phrase, (_, _, tier) in ROUTED.items()))
    result = run_eval(str(phrases))
    assert result.returncode == 0, result.stderr
    routing = result.stdout.split("Routing")[1].split("Confusion")[0]
    counts = Counter(intent for intent, _, _ in ROUTED.values())
    failures = [f"{intent}: want {n}" for intent, n in counts.items() if not re.search(rf"{intent}\s+{n}\n", routing)]
    # Only the phrase without a carrier goes whole to DescribeSymptomIntent.
    no_carrier = [p for p, (_, captured, _) in ROUTED.items() if captured == p]
    if f"{len(no_carrier)} phrases matched no sample" not in routing or any(f"- {p}" not in routing
                                                                          for p in no_carrier):
        failures.append(f"the phrases without a carrier are not {no_carrier}")
    # Routed and framed as above, each answers its tier: the captured text reached the matcher.
    tiers = Counter(tier for _, _, tier in ROUTED.values())
    for line in (f"Tier 1 recall: {tiers[1]}/{tiers[1]}", f"Tier 2 recall: {tiers[2]}/{tiers[2]}",
                 f"False-alarm rate: 0/{tiers[0]}", "Misses (a red flag answered less urgently than expected): 0"):
        if line not in result.stdout:
            failures.append(f"report lacks {line!r}")
    assert not failures, report(failures, "routing or scoring problems") + "\n" + result.stdout


def test_eval_direct_mode_on_the_shipped_phrases_reports_tier_1_recall_of_95_percent_or_more():
    result = run_eval(str(EVAL_FILE))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Tier 1 recall" in out and "False-alarm rate" in out and "Confusion" in out
    recall = float(out.split("Tier 1 recall: ")[1].split("= ")[1].split("%")[0])
    assert recall >= 95.0, out


def test_eval_reports_a_bad_file_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tab here\n")
    result = run_eval(str(bad))
    assert result.returncode == 2 and "could not run" in result.stderr, result
