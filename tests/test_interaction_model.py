"""The en-US interaction model: the real model obeys every rule, and the validator catches broken copies."""

from __future__ import annotations

import copy
import re

import pytest

from skill.alexa.carriers import default_carriers
from skill.engine.triage import default_red_flags, matching_form
from skill.interaction_model import (
    REQUIRED_BUILTINS,
    load_model,
    model_intent_names,
    validate_model,
)

STEP_IDS = {
    "rest", "compress", "legs", "relax", "breathing", "exercises", "medicines",
    "therapy", "injections", "get_help", "summary", "stop_activity",
}
# Free-text intents: intent -> the carrier meaning its handler hands the engine. The carrier file
# (interaction_models/carriers.en.yaml) is the source; the tests below check it against every sample of the model.
CARRIERS = default_carriers().meanings
# These have no slot: their words are their meaning ("it's just the pain", "not really", "okay", "thanks").
WORDS_ARE_THE_MEANING = set(default_carriers().words_are_the_meaning)
SYMPTOM_CATCH_ALLS = {name: meaning for name, meaning in CARRIERS.items() if name not in WORDS_ARE_THE_MEANING}
CUSTOM_INTENT_MINIMUMS = {
    "StartGuideIntent": 40,
    "GoToStepIntent": 8,
    "BreathingSessionIntent": 20,
    "PainBetterIntent": 12,
    "PainWorseIntent": 12,
    "HeatWorseIntent": 10,
    "DeleteDataIntent": 8,
    "NotSureIntent": 8,
    # Red flags volunteered at any moment (skill/engine/triage.py): a RED_FLAG slot, and catch-alls
    # whose AMAZON.SearchQuery slot follows carrier phrases that the handler puts back as a frame.
    "SymptomIntent": 15,
    "DescribeSymptomIntent": 8,
    "CannotDoIntent": 7,
    "LegsSymptomIntent": 4,
    "LegSymptomIntent": 3,
    # The answer to "do your legs feel weak or numb?" that carries on ("it's just the pain").
    "PainOnlyIntent": 10,
    "SoftNoIntent": 8,
    "OkayIntent": 8,
    "ThanksIntent": 8,
    "MomentIntent": 8,
    "CancelTimerIntent": 10,  # the pack's Alexa timer: "cancel the timer", "how long is left?"
    "TimeLeftIntent": 10,
    "CancelRemindersIntent": 10,
    "RemindMeIntent": 8,
    "NextPackIntent": 10,
    "PainSameIntent": 8,  # "about the same", "pretty much how it was"
    # Free words behind the carrier phrases people open with (carriers.en.yaml).
    **{name: 1 for name in SYMPTOM_CATCH_ALLS if name not in ("DescribeSymptomIntent", "CannotDoIntent",
                                                              "LegsSymptomIntent", "LegSymptomIntent")},
}
BUILTINS = {
    "AMAZON.HelpIntent", "AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.FallbackIntent",
    "AMAZON.YesIntent", "AMAZON.NoIntent", "AMAZON.NextIntent", "AMAZON.PreviousIntent",
    "AMAZON.RepeatIntent", "AMAZON.StartOverIntent", "AMAZON.PauseIntent", "AMAZON.ResumeIntent",
    "AMAZON.NavigateHomeIntent",
    # The AudioPlayer interface (the breathing track): certification sends these too.
    "AMAZON.LoopOnIntent", "AMAZON.LoopOffIntent", "AMAZON.ShuffleOnIntent", "AMAZON.ShuffleOffIntent",
}


@pytest.fixture(scope="module")
def model():
    return load_model()


def lm_of(model):
    return model["interactionModel"]["languageModel"]


def intents_of(model):
    return {intent["name"]: intent for intent in lm_of(model)["intents"]}


def all_samples(model):
    return [(intent["name"], s) for intent in lm_of(model)["intents"] for s in intent["samples"]]


def norm(sample):
    return " ".join(sample.lower().split())


# --- the real model ------------------------------------------------------------------------------

def test_real_model_passes_the_validator(model):
    assert validate_model(model) == []


def test_load_model_defaults_to_en_us(model):
    assert load_model("en-US") == model


def test_invocation_name(model):
    assert lm_of(model)["invocationName"] == "back spasm coach"


def test_fallback_sensitivity_is_low(model):
    assert lm_of(model)["modelConfiguration"] == {"fallbackIntentSensitivity": {"level": "LOW"}}


def test_model_has_exactly_the_expected_intents(model):
    assert model_intent_names(model) == set(CUSTOM_INTENT_MINIMUMS) | BUILTINS


def test_every_custom_intent_has_enough_samples(model):
    short = {name: f"{len(intents_of(model)[name]['samples'])} < {minimum}"
             for name, minimum in CUSTOM_INTENT_MINIMUMS.items() if len(intents_of(model)[name]["samples"]) < minimum}
    assert not short, short


def test_start_guide_samples(model):
    samples = intents_of(model)["StartGuideIntent"]["samples"]
    assert len(samples) >= 30
    for wanted in ("my back is spasming", "my back is cramping", "i threw my back out", "my back seized up",
                   "my back went out", "i pulled my back", "i have a back spasm", "help my back",
                   "my lower back is killing me", "start the guide", "help me with my back spasm"):
        assert wanted in samples


def test_start_guide_samples_read_naturally_in_a_one_shot(model):
    # "Alexa, tell back spasm coach <sample>": the sample must not repeat a launch phrase or the name.
    for sample in intents_of(model)["StartGuideIntent"]["samples"]:
        assert sample.split()[0] not in {"alexa", "ask", "tell", "open", "launch", "to"}, sample
        assert "back spasm coach" not in sample


def test_samples_are_lowercase_words_apostrophes_periods_and_slots(model):
    for intent, sample in all_samples(model):
        text = re.sub(r"\{[a-zA-Z_]+\}", "", sample)
        if sample == "{symptom}" and intent == "SymptomIntent":
            continue  # a custom slot may stand alone (never an AMAZON.SearchQuery: see below)
        assert re.fullmatch(r"[a-z' .]+", text), (intent, sample)
        assert sample == sample.strip() and "  " not in sample, (intent, sample)
        assert len(sample) <= 200


def test_samples_have_no_numerals(model):
    assert not [s for _, s in all_samples(model) if re.search(r"\d", s)]


def test_no_duplicate_samples_within_or_across_intents(model):
    owners = {}
    for intent, sample in all_samples(model):
        key = norm(sample)
        assert key not in owners, f"{sample!r} in {intent} and {owners[key]}"
        owners[key] = intent


def test_every_slot_reference_is_declared_and_every_slot_used(model):
    for intent in lm_of(model)["intents"]:
        declared = {slot["name"]: slot["type"] for slot in intent.get("slots", [])}
        used = {ref for s in intent["samples"] for ref in re.findall(r"\{(\w+)\}", s)}
        assert used == set(declared), intent["name"]
        assert all(declared.values())


def test_go_to_step_uses_the_step_name_slot(model):
    intent = intents_of(model)["GoToStepIntent"]
    assert intent["slots"] == [{"name": "step", "type": "STEP_NAME"}]
    for wanted in ("go to {step}", "go to the {step}", "skip to {step}", "take me to the {step}",
                   "jump to {step}", "tell me about {step}", "i want {step}", "let's do the {step}"):
        assert wanted in intent["samples"]


def test_step_name_ids_are_exactly_the_engine_steps(model):
    (step_type,) = [t for t in lm_of(model)["types"] if t["name"] == "STEP_NAME"]
    ids = [value["id"] for value in step_type["values"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == STEP_IDS


STEP_SYNONYMS = {
    "rest": ["resting", "rest step"],
    "compress": ["heat or cold", "cold pack", "ice", "ice pack", "heat", "heat pack", "hot compress",
                 "cold compress", "compress", "heating pad"],
    "legs": ["leg positions", "leg elevation", "positions", "elevating my legs", "raising my legs"],
    "relax": ["relaxation", "relaxing"],
    "breathing": ["the breathing", "guided breathing", "breathing exercise", "breathe"],
    "exercises": ["exercise", "stretches", "stretching"],
    "medicines": ["medicine", "medication", "pain medicine", "pain killers", "painkillers", "muscle relaxants"],
    "therapy": ["physical therapy", "physio", "physiotherapy", "chiropractor", "physical therapist"],
    "injections": ["injection", "cortisone", "cortisone injection", "shots"],
    "get_help": ["when to get help", "getting help", "when to see a doctor", "see a doctor"],
    "summary": ["the summary", "recap", "sum up"],
    "stop_activity": ["first step", "the beginning", "the start"],
}


def test_every_step_name_has_its_synonyms(model):
    (step_type,) = [t for t in lm_of(model)["types"] if t["name"] == "STEP_NAME"]
    spoken = {v["id"]: {v["name"]["value"], *v["name"].get("synonyms", [])} for v in step_type["values"]}
    missing = {step_id: sorted(set(phrases) - spoken.get(step_id, set()))
               for step_id, phrases in STEP_SYNONYMS.items() if not set(phrases) <= spoken.get(step_id, set())}
    assert not missing, missing


def test_symptom_intent_uses_the_red_flag_slot(model):
    intent = intents_of(model)["SymptomIntent"]
    assert intent["slots"] == [{"name": "symptom", "type": "RED_FLAG"}]
    for wanted in ("{symptom}", "i've got {symptom}", "i'm having {symptom}", "i am having {symptom}",
                   "i think i have {symptom}", "there's {symptom}", "i noticed {symptom}", "i also have {symptom}",
                   "i'm getting {symptom}", "i'm experiencing {symptom}", "help i have {symptom}"):
        assert wanted in intent["samples"]


def test_symptom_catch_alls_put_a_carrier_before_the_search_query(model):
    failures = []
    for name, frame in sorted(SYMPTOM_CATCH_ALLS.items()):
        intent = intents_of(model)[name]
        if intent["slots"] != [{"name": "description", "type": "AMAZON.SearchQuery"}]:
            failures.append(f"{name}: slots {intent['slots']}")
        for sample in intent["samples"]:
            carrier = sample[: -len(" {description}")]
            if not sample.endswith(" {description}") or sample.count("{") != 1 or not carrier.strip():
                failures.append(f"{name}: {sample!r} has no carrier phrase before the free text")
            # The frame must say what every carrier of the intent says ("i can't" / "i'm unable to" -> "i cannot").
            elif frame == "my legs" and not carrier.endswith(("legs", "both of them")):
                failures.append(f"{name}: {sample!r} does not say legs")
            elif frame == "my leg" and not (carrier.endswith("leg") or carrier.endswith("legs") and "one of" in carrier):
                failures.append(f"{name}: {sample!r} does not say one leg")
    assert not failures, failures


def test_every_free_text_intent_has_a_meaning_and_every_carrier_agrees_with_it(model):
    """Alexa cuts the carrier off, so each free-text intent hands the engine one meaning for all its
    carriers. A carrier saying "not" or "unsure" where the meaning doesn't would turn "i don't have a
    fever" into "i have a fever": every carrier must negate (or doubt) exactly as its meaning does."""
    free_text = {intent["name"] for intent in intents_of(model).values()
                 if any(slot["type"] == "AMAZON.SearchQuery" for slot in intent.get("slots", []))}
    assert free_text == set(SYMPTOM_CATCH_ALLS)
    matcher_words = default_red_flags().matcher_words
    # Words a carrier may not drop: they end a negation's reach ("no but i can't feel my legs") or carry
    # the strength of a pain report ("it's really bad").
    kept = matcher_words.clause_breaks | {"really", "very", "so", "too", "much", "more", "less", "even", "still",
                                          "worse", "better", "bit", "little"}

    def dropped(carrier: str, meaning: str) -> set:
        return (set(matching_form(carrier).split()) & kept) - set(matching_form(meaning).split())

    def polarity(words: str) -> tuple[bool, bool]:
        tokens = set(matching_form(words).split())
        return bool(tokens & (matcher_words.negation_cues | {"cannot", "nah", "nope"})), "unsure" in tokens

    failures = []
    for name, meaning in SYMPTOM_CATCH_ALLS.items():
        wanted = polarity(meaning)
        for sample in intents_of(model)[name]["samples"]:
            said = polarity(sample.replace("{description}", ""))
            lost = dropped(sample.replace("{description}", ""), meaning)
            if lost:
                failures.append(f"{name}: {sample!r} would drop {sorted(lost)} (its meaning is {meaning!r})")
            elif said != wanted:
                failures.append(f"{name}: {sample!r} (negated, unsure) is {said}, its meaning {meaning!r} {wanted}")
    assert not failures, failures


CATCH_ALL_CARRIERS = {
    "DescribeSymptomIntent": ["i have {description}", "there is {description}", "i feel {description}",
                              "i'm feeling {description}", "i am feeling {description}", "i've been {description}",
                              "i just {description}", "i think i {description}"],
    "CannotDoIntent": ["i can't {description}", "i cannot {description}", "i can not {description}",
                       "i'm unable to {description}", "i am unable to {description}",
                       "i am not able to {description}", "i'm not able to {description}"],
    "LegsSymptomIntent": ["my legs {description}", "both my legs {description}", "both of my legs {description}",
                          "both legs {description}"],
    "LegSymptomIntent": ["my leg {description}", "one of my legs {description}", "one leg {description}"],
}


def test_symptom_catch_alls_have_their_carriers(model):
    missing = {name: sorted(set(wanted) - set(intents_of(model)[name]["samples"]))
               for name, wanted in CATCH_ALL_CARRIERS.items() if not set(wanted) <= set(intents_of(model)[name]["samples"])}
    assert not missing, missing


def test_red_flag_slot_type_values_are_plain_phrases(model):
    (slot_type,) = [t for t in lm_of(model)["types"] if t["name"] == "RED_FLAG"]
    ids = [value["id"] for value in slot_type["values"]]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"t[123]_[a-z_]+", i) for i in ids)
    for value in slot_type["values"]:
        for phrase in [value["name"]["value"], *value["name"]["synonyms"]]:
            assert re.fullmatch(r"[a-z' ]+", phrase), phrase
        assert 5 <= len(value["name"]["synonyms"]) <= 15, value["id"]


def test_required_builtins_present(model):
    assert set(REQUIRED_BUILTINS) <= model_intent_names(model)
    assert intents_of(model)["AMAZON.FallbackIntent"]["samples"] == []


def test_model_intents_match_the_skill_handlers(model):
    from skill.alexa.handlers import handled_intent_names  # written by the lead; imported late on purpose

    handled = set(handled_intent_names())
    # NavigateHomeIntent must be in the model but never reaches the skill, so a handler is optional.
    assert model_intent_names(model) - handled <= {"AMAZON.NavigateHomeIntent"}
    assert handled - model_intent_names(model) == set()


# --- the validator catches broken copies ---------------------------------------------------------

def _intent(m, name):
    return intents_of(m)[name]


def _add_sample(name, sample):
    return lambda m: _intent(m, name)["samples"].append(sample)


def _set_invocation(name):
    return lambda m: lm_of(m).__setitem__("invocationName", name)


def _remove_intent(name):
    def mutate(m):
        lm_of(m)["intents"] = [i for i in lm_of(m)["intents"] if i["name"] != name]
    return mutate


def _add_intent(intent):
    return lambda m: lm_of(m)["intents"].append(intent)


def _step_type(m):
    return next(t for t in lm_of(m)["types"] if t["name"] == "STEP_NAME")


def _duplicate_step_id(m):
    _step_type(m)["values"][1]["id"] = "rest"


def _search_query_intent(*samples):
    return {"name": "ProbeSearchIntent", "slots": [{"name": "symptom", "type": "AMAZON.SearchQuery"}],
            "samples": list(samples)}


BROKEN = {
    "duplicate sample across intents": (_add_sample("PainWorseIntent", "my back is spasming"), "also used by"),
    "cross-intent duplicate differing in spaces": (_add_sample("NotSureIntent", "my  back is  spasming"),
                                                   "also used by"),
    "duplicate sample within an intent": (_add_sample("PainBetterIntent", "it feels better"), "duplicate sample"),
    "undeclared slot": (_add_sample("GoToStepIntent", "go to {place}"), "undeclared slot {place}"),
    "slot in an intent without slots": (_add_sample("StartGuideIntent", "my {part} hurts"), "undeclared slot"),
    "declared slot never used": (
        lambda m: _intent(m, "GoToStepIntent")["slots"].append({"name": "extra", "type": "STEP_NAME"}),
        "declared but no sample uses it"),
    "slot without a type": (lambda m: _intent(m, "GoToStepIntent")["slots"][0].pop("type"), "needs a name and a type"),
    "undefined custom slot type": (
        lambda m: _intent(m, "GoToStepIntent")["slots"][0].__setitem__("type", "STEP_NAMES"), "not defined"),
    "custom slot type with no values": (lambda m: _step_type(m).__setitem__("values", []), "has no values"),
    "duplicate slot value id": (_duplicate_step_id, "used twice"),
    "synonym shared by two values": (
        lambda m: _step_type(m)["values"][0]["name"]["synonyms"].append("recap"), "belongs to both"),
    "capitalised invocation name": (_set_invocation("Back Spasm"), "lowercase letters and spaces"),
    "wake word in invocation name": (_set_invocation("alexa back"), "wake word 'alexa'"),
    "launch word in invocation name": (_set_invocation("back spasm skill"), "'skill'"),
    "single-word invocation name": (_set_invocation("backspasm"), "at least two words"),
    "invocation name starting with the": (_set_invocation("the back coach"), "start or end"),
    "invocation name ending with a": (_set_invocation("back coach a"), "start or end"),
    "digit in invocation name": (_set_invocation("back coach two 2"), "lowercase letters and spaces"),
    "missing invocation name": (lambda m: lm_of(m).pop("invocationName"), "invocationName is missing"),
    "search query slot alone": (_add_intent(_search_query_intent("{symptom}")), "carrier phrase"),
    "search query slot alone among good samples": (
        _add_intent(_search_query_intent("i have {symptom}", "{symptom}")), "carrier phrase"),
    "numeral in a sample": (_add_sample("StartGuideIntent", "i have 2 spasms"), "numeral"),
    "uppercase in a sample": (_add_sample("StartGuideIntent", "My back aches"), "characters other than"),
    "punctuation in a sample": (_add_sample("StartGuideIntent", "my back aches!"), "characters other than"),
    "sample over two hundred characters": (_add_sample("StartGuideIntent", "my back " + "really " * 30 + "aches"),
                                           "longer than 200"),
    "empty sample": (_add_sample("StartGuideIntent", "   "), "empty sample"),
    "intent without samples": (lambda m: _intent(m, "NotSureIntent").pop("samples"), "'samples' must be a list"),
    "intent without a name": (_add_intent({"samples": ["hello there"]}), "intent without a name"),
    "intent defined twice": (_add_intent({"name": "NotSureIntent", "samples": []}), "defined twice"),
    "intents not a list": (lambda m: lm_of(m).__setitem__("intents", {}), "non-empty list"),
    "no language model": (lambda m: m["interactionModel"].pop("languageModel"), "languageModel"),
    **{f"missing {name}": (_remove_intent(name), f"{name} is missing") for name in REQUIRED_BUILTINS},
}


def test_validator_catches_every_kind_of_broken_copy(model):
    failures = []
    for name, (mutate, expected) in BROKEN.items():
        broken = copy.deepcopy(model)
        mutate(broken)
        problems = validate_model(broken)
        if not any(expected in p for p in problems):
            failures.append(f"{name}: wanted {expected!r}, got {problems}")
    assert not failures, f"{len(failures)} broken copies not caught:\n  " + "\n  ".join(failures)


VALID_VARIATIONS = {
    "search query with carrier phrase": _add_intent(_search_query_intent("i have {symptom}", "it feels like {symptom}")),
    "built-in slot type": _add_intent({"name": "CountIntent", "slots": [{"name": "count", "type": "AMAZON.NUMBER"}],
                                       "samples": ["i did {count} stretches"]}),
    "abbreviation periods": _add_sample("StartGuideIntent", "my back hurts a.s.a.p. please"),
    "other invocation": _set_invocation("lower back helper"),
}


def test_validator_accepts_valid_variations(model):
    failures = {}
    for name, mutate in VALID_VARIATIONS.items():
        variant = copy.deepcopy(model)
        mutate(variant)
        if validate_model(variant):
            failures[name] = validate_model(variant)
    assert not failures, failures


def test_validator_does_not_modify_the_model(model):
    before = copy.deepcopy(model)
    validate_model(model)
    assert model == before
