"""The carrier meanings: what each catch-all intent stands for (interaction_models/carriers.<language>.yaml).

Alexa cuts off the carrier phrase people open with ("i can't ...") and says only which intent matched;
the table gives each intent its meaning ("i cannot"), which the engine puts back in front of the words.
The table lives beside the interaction model because it describes the model's intents, and it is checked
against every model of its language when it is loaded (once per process), so an intent added to the model
without a meaning, or a meaning left behind for an intent that is gone, stops the skill from starting.

Pure Python (no ask_sdk), so the simulator and the evaluations read the same table as the handlers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from skill.engine.data_files import read_yaml
from skill.interaction_model import MODELS_DIR, load_model, model_locales

DESCRIPTION_SLOT = "description"
FREE_TEXT_TYPE = "AMAZON.SearchQuery"
# The language whose table the handlers use: every locale the skill answers today speaks English.
SKILL_LANGUAGE = "en"


class CarrierError(ValueError):
    """A carrier file is broken or disagrees with the interaction model; the message lists every problem."""


@dataclass(frozen=True)
class Carriers:
    free_text: dict  # intent -> meaning put in front of its {description} words ("" adds nothing)
    words_are_the_meaning: dict  # intent (no slot) -> the meaning that stands for its words

    @functools.cached_property
    def meanings(self) -> dict:
        """Every catch-all intent -> its meaning: the table the handlers read."""
        return {**self.free_text, **self.words_are_the_meaning}


def carriers_path(language: str, models_dir: Path = MODELS_DIR) -> Path:
    return models_dir / f"carriers.{language}.yaml"


def _section(raw: dict, name: str, problems: list[str]) -> dict:
    entries = raw.get(name)
    if not isinstance(entries, dict) or not entries:
        problems.append(f"{name}: must map intent names to meanings")
        return {}
    for intent, meaning in entries.items():
        if not isinstance(meaning, str):
            problems.append(f"{name}.{intent}: the meaning must be quoted words, not {meaning!r}")
    return {intent: meaning for intent, meaning in entries.items() if isinstance(meaning, str)}


def check_against_model(carriers: Carriers, model: dict) -> list[str]:
    """Every disagreement between the carrier table and ``model``; an empty list means they agree."""
    intents = {intent["name"]: {slot["name"]: slot["type"] for slot in intent.get("slots", [])}
               for intent in model["interactionModel"]["languageModel"]["intents"]}
    problems = []
    for intent in carriers.free_text:
        if intent not in intents:
            problems.append(f"free_text.{intent}: no such intent in the model")
        elif intents[intent].get(DESCRIPTION_SLOT) != FREE_TEXT_TYPE:
            problems.append(f"free_text.{intent}: the intent has no {{{DESCRIPTION_SLOT}}} slot of type "
                            f"{FREE_TEXT_TYPE} (an intent without a slot belongs under words_are_the_meaning)")
    for intent in carriers.words_are_the_meaning:
        if intent not in intents:
            problems.append(f"words_are_the_meaning.{intent}: no such intent in the model")
        elif intents[intent]:
            problems.append(f"words_are_the_meaning.{intent}: the intent has slots {sorted(intents[intent])} "
                            f"(one with a {{{DESCRIPTION_SLOT}}} slot belongs under free_text)")
    for intent, slots in intents.items():
        if DESCRIPTION_SLOT in slots and intent not in carriers.free_text:
            problems.append(f"{intent}: has a {{{DESCRIPTION_SLOT}}} slot but no meaning under free_text "
                            f"(write \"\" if the carrier adds nothing)")
    return problems


def load_carriers(language: str = SKILL_LANGUAGE, models_dir: Path = MODELS_DIR) -> Carriers:
    """Read carriers.<language>.yaml and check it against every model of that language; raise CarrierError
    listing every problem."""
    path = carriers_path(language, models_dir)
    try:
        raw = read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise CarrierError(f"{path.name}: cannot read: {exc}") from exc
    problems: list[str] = []
    if not isinstance(raw, dict):
        raw = {}
        problems.append("the file needs the sections free_text and words_are_the_meaning")
    unknown = set(raw) - {"free_text", "words_are_the_meaning"}
    if unknown:
        problems.append(f"unknown sections {sorted(unknown)}")
    carriers = Carriers(free_text=_section(raw, "free_text", problems),
                        words_are_the_meaning=_section(raw, "words_are_the_meaning", problems))
    for intent in sorted(set(carriers.free_text) & set(carriers.words_are_the_meaning)):
        problems.append(f"{intent}: listed in both sections")
    locales = [locale for locale in model_locales(models_dir) if locale.split("-")[0] == language]
    if not locales:
        problems.append(f"no interaction model for the language {language!r} in {models_dir.name}/")
    for locale in locales:
        model = load_model(locale, models_dir)
        problems += [f"{locale}.json: {problem}" for problem in check_against_model(carriers, model)]
    if problems:
        raise CarrierError(f"{path.name}:\n  " + "\n  ".join(problems))
    return carriers


@functools.cache
def default_carriers() -> Carriers:
    """The shipped table, loaded and checked once per process."""
    return load_carriers()
