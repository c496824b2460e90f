"""The Alexa interaction model (interaction_models/<locale>.json): loading and a static validator.

Pure Python on purpose (no ask_sdk, no flask), so tests and the simulator can use it cheaply.
``validate_model`` checks the rules the Alexa developer console and certification enforce, plus the
project's own sample hygiene; it returns readable problems, and an empty list means the model is valid.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "interaction_models"
SKILL_PACKAGE = MODELS_DIR.parent / "skill-package"

REQUIRED_BUILTINS = (
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent",
)
FORBIDDEN_INVOCATION_WORDS = frozenset(
    "alexa echo computer amazon skill app launch ask tell open load begin enable start".split()
)
MAX_SAMPLE_LENGTH = 200

_SLOT_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SAMPLE_TEXT = re.compile(r"[a-z' .]*")


def load_model(locale: str = "en-US", models_dir: Path = MODELS_DIR) -> dict:
    """The interaction model for ``locale``, as the parsed JSON document."""
    with open(models_dir / f"{locale}.json", encoding="utf-8") as fh:
        return json.load(fh)


def model_intent_names(model: dict) -> set[str]:
    """Names of all intents in the model, built-ins included."""
    return {intent["name"] for intent in model["interactionModel"]["languageModel"]["intents"]}


def _normalise(sample: str) -> str:
    return " ".join(sample.lower().split())


def validate_model(model: dict) -> list[str]:
    """Every problem found in ``model``; an empty list means it is valid."""
    lm = model.get("interactionModel", {}).get("languageModel") if isinstance(model, dict) else None
    if not isinstance(lm, dict):
        return ["missing interactionModel.languageModel"]
    problems = _check_invocation_name(lm.get("invocationName"))
    intents = lm.get("intents")
    if not isinstance(intents, list) or not intents:
        return problems + ["languageModel.intents must be a non-empty list"]
    type_list = lm.get("types", [])
    if not isinstance(type_list, list):
        problems.append("languageModel.types must be a list")
        type_list = []
    types = {t.get("name"): t for t in type_list if isinstance(t, dict)}

    seen_names: set[str] = set()
    sample_owner: dict[str, str] = {}
    used_types: set[str] = set()
    for intent in intents:
        name = intent.get("name") if isinstance(intent, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"intent without a name: {intent!r}")
            continue
        if name in seen_names:
            problems.append(f"{name}: intent defined twice")
        seen_names.add(name)
        samples = intent.get("samples")
        if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
            problems.append(f"{name}: 'samples' must be a list of strings")
            continue
        slots = _check_slots(name, intent.get("slots", []), problems)
        used_types.update(slots.values())
        used_slots: set[str] = set()
        for sample in samples:
            key = _normalise(sample)
            owner = sample_owner.get(key)
            if owner == name:
                problems.append(f"{name}: duplicate sample {sample!r}")
            elif owner:
                problems.append(f"{name}: sample {sample!r} is also used by {owner}")
            else:
                sample_owner[key] = name
            refs = _SLOT_REF.findall(sample)
            used_slots.update(refs)
            problems += _check_sample_text(name, sample)
            for ref in refs:
                if ref not in slots:
                    problems.append(f"{name}: sample {sample!r} uses undeclared slot {{{ref}}}")
                elif slots[ref] == "AMAZON.SearchQuery" and not _SLOT_REF.sub(" ", sample).strip():
                    problems.append(f"{name}: AMAZON.SearchQuery slot {{{ref}}} needs a carrier phrase in {sample!r}")
        for slot in sorted(set(slots) - used_slots):
            problems.append(f"{name}: slot {{{slot}}} is declared but no sample uses it")

    for type_name in sorted(t for t in used_types if not t.startswith("AMAZON.")):
        problems += _check_type(type_name, types.get(type_name))
    for required in REQUIRED_BUILTINS:
        if required not in seen_names:
            problems.append(f"required built-in intent {required} is missing")
    return problems


def _check_invocation_name(name) -> list[str]:
    if not isinstance(name, str) or not name:
        return ["invocationName is missing"]
    problems = []
    words = name.split()
    if not re.fullmatch(r"[a-z ]+", name):
        problems.append(f"invocation name {name!r} may contain only lowercase letters and spaces")
    if len(words) < 2:
        problems.append(f"invocation name {name!r} must have at least two words")
    for word in words:
        if word.lower() in FORBIDDEN_INVOCATION_WORDS:
            problems.append(f"invocation name {name!r} contains the launch or wake word {word!r}")
    if words and (words[0].lower() in ("the", "a") or words[-1].lower() in ("the", "a")):
        problems.append(f"invocation name {name!r} must not start or end with 'the' or 'a'")
    return problems


def _check_slots(intent_name: str, slots, problems: list[str]) -> dict[str, str]:
    """The intent's declared slots as {name: type}; malformed declarations are reported."""
    declared: dict[str, str] = {}
    if not isinstance(slots, list):
        problems.append(f"{intent_name}: 'slots' must be a list")
        return declared
    for slot in slots:
        if not (isinstance(slot, dict) and isinstance(slot.get("name"), str) and isinstance(slot.get("type"), str)
                and slot["name"] and slot["type"]):
            problems.append(f"{intent_name}: slot {slot!r} needs a name and a type")
        elif slot["name"] in declared:
            problems.append(f"{intent_name}: slot {{{slot['name']}}} declared twice")
        else:
            declared[slot["name"]] = slot["type"]
    return declared


def _check_sample_text(intent_name: str, sample: str) -> list[str]:
    problems = []
    text = _SLOT_REF.sub(" ", sample)
    if not sample.strip():
        problems.append(f"{intent_name}: empty sample")
    if len(sample) > MAX_SAMPLE_LENGTH:
        problems.append(f"{intent_name}: sample longer than {MAX_SAMPLE_LENGTH} characters: {sample[:40]!r}...")
    if any(ch.isdigit() for ch in text):
        problems.append(f"{intent_name}: sample {sample!r} has a numeral (spell numbers out)")
    bad = sorted({ch for ch in text if not ch.isdigit() and not _SAMPLE_TEXT.fullmatch(ch)})
    if bad:
        problems.append(f"{intent_name}: sample {sample!r} has characters other than lowercase letters, "
                        f"spaces, apostrophes, periods and {{slot}} references: {''.join(bad)!r}")
    return problems


def _check_type(type_name: str, slot_type) -> list[str]:
    if slot_type is None:
        return [f"slot type {type_name} is used but not defined in 'types'"]
    values = slot_type.get("values")
    if not isinstance(values, list) or not values:
        return [f"slot type {type_name} has no values"]
    problems = []
    ids: set = set()
    phrases: dict[str, object] = {}
    for value in values:
        name = value.get("name", {}) if isinstance(value, dict) else {}
        value_id = value.get("id") if isinstance(value, dict) else None
        if not isinstance(name, dict) or not name.get("value"):
            problems.append(f"slot type {type_name}: value without name.value: {value!r}")
            continue
        if not value_id:
            problems.append(f"slot type {type_name}: value {name['value']!r} has no id")
        elif value_id in ids:
            problems.append(f"slot type {type_name}: id {value_id!r} used twice")
        ids.add(value_id)
        for phrase in [name["value"], *name.get("synonyms", [])]:
            key = _normalise(phrase)
            if key in phrases and phrases[key] != value_id:
                problems.append(f"slot type {type_name}: {phrase!r} belongs to both {phrases[key]!r} and {value_id!r}")
            phrases.setdefault(key, value_id)
    return problems


# ---------------------------------------------------------------------------- the ASK CLI's copy
def model_locales(models_dir: Path = MODELS_DIR) -> list[str]:
    return sorted(path.stem for path in models_dir.glob("*.json"))


def export_to_skill_package(package: Path = SKILL_PACKAGE, models_dir: Path = MODELS_DIR) -> list[Path]:
    """Copy every model, validated, to where the ASK CLI deploys it from
    (``skill-package/interactionModels/custom/<locale>.json``): interaction_models/ stays the one source, and
    the copy is never edited (or committed). Raises ValueError naming every problem, copying nothing."""
    problems = []
    for locale in model_locales(models_dir):
        model = json.loads((models_dir / f"{locale}.json").read_text(encoding="utf-8"))
        problems += [f"{locale}: {problem}" for problem in validate_model(model)]
    if problems:
        raise ValueError("the interaction models are not valid:\n  " + "\n  ".join(problems))
    target = package / "interactionModels" / "custom"
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.json"):
        stale.unlink()
    copied = []
    for locale in model_locales(models_dir):
        copy = target / f"{locale}.json"
        copy.write_bytes((models_dir / f"{locale}.json").read_bytes())
        copied.append(copy)
    return copied


if __name__ == "__main__":  # `make skill-package`: before `ask deploy`
    for path in export_to_skill_package():
        print(f"wrote {path.relative_to(SKILL_PACKAGE.parent)}")
