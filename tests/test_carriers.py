"""The carrier meanings (interaction_models/carriers.en.yaml): loaded, and refused when they disagree with the model."""

from __future__ import annotations

import json
import shutil

import pytest

from skill.alexa.carriers import CarrierError, carriers_path, default_carriers, load_carriers
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
    assert len(carriers.meanings) == len(carriers.free_text) + len(carriers.words_are_the_meaning) == 117


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
