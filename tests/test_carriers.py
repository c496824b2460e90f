"""The carrier meanings (interaction_models/carriers.en.yaml): loaded, refused when they disagree with the model, and
heard: the openers people use reach the free-words reader through the model (the simulator's resolver, as Alexa)."""

from __future__ import annotations

import json
import shutil

import pytest

from simulator.resolver import default_resolver
from skill.alexa.carriers import CarrierError, carriers_path, default_carriers, load_carriers
from skill.engine.triage import described_text
from skill.interaction_model import MODELS_DIR


@pytest.fixture
def models_dir(tmp_path):
    """A copy of the shipped model and carrier file, to break."""
    shutil.copy(MODELS_DIR / "en-US.json", tmp_path / "en-US.json")
    shutil.copy(carriers_path("en"), carriers_path("en", tmp_path))
    return tmp_path


def edit_model(models_dir, change):
    path = models_dir / "en-US.json"
    model = json.loads(path.read_text())
    change({intent["name"]: intent for intent in model["interactionModel"]["languageModel"]["intents"]},
           model["interactionModel"]["languageModel"]["intents"])
    path.write_text(json.dumps(model))


def edit_carriers(models_dir, old, new):
    path = carriers_path("en", models_dir)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def refusal(models_dir, language="en") -> str:
    with pytest.raises(CarrierError) as info:
        load_carriers(language, models_dir)
    return str(info.value)


def test_the_shipped_table_gives_each_catch_all_its_meaning():
    carriers = default_carriers()
    assert carriers.meanings["CannotDoIntent"] == "i cannot"
    assert carriers.meanings["DescribeSymptomIntent"] == ""  # no carrier, said so on purpose
    assert carriers.meanings["PainOnlyIntent"] == "it is only the pain"
    assert carriers.meanings["YesAndIntent"] == "yes"  # quoted: not YAML's true
    assert len(carriers.meanings) == len(carriers.free_text) + len(carriers.words_are_the_meaning) == 182


def test_a_copy_of_the_shipped_files_loads(models_dir):
    assert load_carriers("en", models_dir) == default_carriers()


CANNOT = '  CannotDoIntent: "i cannot"\n'
BROKEN_TABLES = [  # (edits of the carrier file, what the refusal says)
    ([(CANNOT, CANNOT + '  GoneIntent: "gone"\n')], "free_text.GoneIntent: no such intent in the model"),
    ([(CANNOT, "")], "CannotDoIntent: has a {description} slot but no meaning"),
    ([(CANNOT, ""), ("words_are_the_meaning:\n", "words_are_the_meaning:\n" + CANNOT)],
     "words_are_the_meaning.CannotDoIntent: the intent has slots ['description']"),
    ([('  YesAndIntent: "yes"', "  YesAndIntent: yes")],
     "free_text.YesAndIntent: the meaning must be quoted words, not True"),
]


@pytest.mark.parametrize("edits, problem", BROKEN_TABLES,
                         ids=["intent-not-in-model", "no-meaning", "slot-under-words", "unquoted-yes"])
def test_a_carrier_table_that_disagrees_with_the_model_is_refused(models_dir, edits, problem):
    for old, new in edits:
        edit_carriers(models_dir, old, new)
    assert problem in refusal(models_dir)


def _new_free_text_intent(_, intents):
    intents.append({"name": "NewCarrierIntent", "slots": [{"name": "description", "type": "AMAZON.SearchQuery"}],
                    "samples": ["new {description}"]})


def _description_slot_dropped(intents, _):
    intents["CannotDoIntent"]["slots"] = []


@pytest.mark.parametrize("change, problem", [
    (_new_free_text_intent, "NewCarrierIntent: has a {description} slot but no meaning"),
    (_description_slot_dropped, "free_text.CannotDoIntent: the intent has no {description} slot"),
], ids=["new-intent-without-meaning", "slot-dropped"])
def test_a_model_that_disagrees_with_the_carrier_table_is_refused(models_dir, change, problem):
    edit_model(models_dir, change)
    assert problem in refusal(models_dir)


def test_a_missing_or_unreadable_file_is_refused(models_dir):
    carriers_path("en", models_dir).write_text("free_text: [\n")
    assert "cannot read" in refusal(models_dir)
    carriers_path("en", models_dir).unlink()
    assert "cannot read" in refusal(models_dir)


def test_a_language_without_a_model_is_refused(models_dir):
    shutil.copy(carriers_path("en", models_dir), carriers_path("de", models_dir))
    assert "no interaction model for the language 'de'" in refusal(models_dir, "de")


# Openers people use that once matched no sample, so Alexa sent AMAZON.FallbackIntent with no words ("sorry, I
# didn't catch that"), a tier-1 sign among them (issue 21's first blind set). Each now reaches the free-words
# reader as it was said (phrase, the intent, what the engine reads once the carrier's meaning is put back).
OPENERS = [
    ("now my bottom has gone numb", "NowIntent", "now my bottom has gone numb"),
    ("also my legs feel weak", "AlsoIntent", "also my legs feel weak"),
    ("oops i said the wrong thing", "FillerIntent", "i said the wrong thing"),
    ("thanks but my legs are numb", "FillerIntent", "but my legs are numb"),
    ("you misheard me", "YouIntent", "you misheard me"),
    ("let's just get on with it", "LetsIntent", "let's just get on with it"),
    ("at what stage should i worry", "WhenIntent", "when should i worry"),
    ("woke up three times with it", "WokeIntent", "i woke up three times with it"),
    ("couldn't sleep for the pain", "CouldNotIntent", "i could not sleep for the pain"),
    ("buzz me in fifteen minutes", "RemindIntent", "remind me in fifteen minutes"),
    ("time me for fifteen minutes", "TimeItIntent", "time it for fifteen minutes"),
    ("shouldn't i be using heat", "ShouldNotIIntent", "shouldn't i be using heat"),
    ("back's a bit easier", "BackIsIntent", "my back is a bit easier"),
    ("pause it a minute the phone's ringing", "PauseWordIntent", "pause it a minute the phone's ringing"),
    ("ibuprofen is that ok", "IbuprofenIntent", "ibuprofen is that ok"),
    ("sudden pain in my tummy", "SuddenIntent", "sudden pain in my tummy"),
    ("poo came out on its own", "PooIntent", "poo came out on its own"),
    ("at night it's much worse", "AtIntent", "at night it's much worse"),
    ("help i can't move my legs", "CannotDoIntent", "i cannot move my legs"),
]
# Said whole, they are a built-in's or a named intent's words.
WHOLE = [("thank you goodbye", "AMAZON.StopIntent"), ("cheers bye", "AMAZON.StopIntent"),
         ("pause it a second", "AMAZON.PauseIntent"), ("play it again", "AMAZON.RepeatIntent"),
         ("about the same", "PainSameIntent")]


@pytest.mark.parametrize("phrase, intent, read", OPENERS, ids=[phrase for phrase, _, _ in OPENERS])
def test_an_opener_people_use_reaches_the_reader_as_it_was_said(phrase, intent, read):
    resolution = default_resolver().resolve(phrase)
    assert resolution.intent == intent
    assert described_text(default_carriers().meanings[intent], resolution.slots["description"]["value"]) == read


@pytest.mark.parametrize("phrase, intent", WHOLE, ids=[phrase for phrase, _ in WHOLE])
def test_a_whole_phrase_people_use_reaches_its_intent(phrase, intent):
    assert default_resolver().resolve(phrase).intent == intent
