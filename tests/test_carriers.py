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
    assert len(carriers.meanings) == len(carriers.free_text) + len(carriers.words_are_the_meaning) == 108


def test_a_copy_of_the_shipped_files_loads(models_dir):
    assert load_carriers("en", models_dir) == default_carriers()


def test_a_meaning_for_an_intent_the_model_lacks_is_refused(models_dir):
    edit_carriers(models_dir, '  CannotDoIntent: "i cannot"\n', '  CannotDoIntent: "i cannot"\n  GoneIntent: "gone"\n')
    assert "free_text.GoneIntent: no such intent in the model" in refusal(models_dir)


def test_an_intent_with_free_text_and_no_meaning_is_refused(models_dir):
    edit_carriers(models_dir, '  CannotDoIntent: "i cannot"\n', "")
    assert "CannotDoIntent: has a {description} slot but no meaning" in refusal(models_dir)


def test_a_new_model_intent_with_free_text_needs_a_meaning(models_dir):
    def add(_, intents):
        intents.append({"name": "NewCarrierIntent", "slots": [{"name": "description", "type": "AMAZON.SearchQuery"}],
                        "samples": ["new {description}"]})
    edit_model(models_dir, add)
    assert "NewCarrierIntent: has a {description} slot but no meaning" in refusal(models_dir)


def test_a_free_text_meaning_needs_the_description_slot(models_dir):
    def drop_slot(intents, _):
        intents["CannotDoIntent"]["slots"] = []
    edit_model(models_dir, drop_slot)
    assert "free_text.CannotDoIntent: the intent has no {description} slot" in refusal(models_dir)


def test_an_intent_whose_words_are_the_meaning_has_no_slot(models_dir):
    edit_carriers(models_dir, '  CannotDoIntent: "i cannot"\n', "")
    edit_carriers(models_dir, "words_are_the_meaning:\n", 'words_are_the_meaning:\n  CannotDoIntent: "i cannot"\n')
    assert "words_are_the_meaning.CannotDoIntent: the intent has slots ['description']" in refusal(models_dir)


def test_an_unquoted_yes_is_refused(models_dir):
    edit_carriers(models_dir, '  YesAndIntent: "yes"', "  YesAndIntent: yes")
    assert "free_text.YesAndIntent: the meaning must be quoted words, not True" in refusal(models_dir)


def test_a_missing_or_unreadable_file_is_refused(models_dir):
    carriers_path("en", models_dir).write_text("free_text: [\n")
    assert "cannot read" in refusal(models_dir)
    carriers_path("en", models_dir).unlink()
    assert "cannot read" in refusal(models_dir)


def test_a_language_without_a_model_is_refused(models_dir):
    shutil.copy(carriers_path("en", models_dir), carriers_path("de", models_dir))
    assert "no interaction model for the language 'de'" in refusal(models_dir, "de")
