"""The skill manifest (skill-package/skill.json) agrees with certification policy and the interaction model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skill.interaction_model import load_model

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "skill-package" / "skill.json"

# Wording certification expects in a health skill's description (alexa-platform.md, "Certification and policy").
DISCLAIMER_PHRASES = (
    "not a substitute for professional medical advice",
    "if you think you may have a medical emergency, dial your local emergency number",
)
REQUIRED_PERMISSIONS = {"alexa::alerts:timers:skill:readwrite", "alexa::alerts:reminders:skill:readwrite"}
MAX_EXAMPLE_PHRASES = 3


@pytest.fixture(scope="module")
def manifest() -> dict:
    with MANIFEST_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)["manifest"]


@pytest.fixture(scope="module")
def language_model() -> dict:
    return load_model("en-US")["interactionModel"]["languageModel"]


def locales_of(manifest) -> dict:
    return manifest["publishingInformation"]["locales"]


def norm(text: str) -> str:
    """Lower case, curly apostrophes straightened, trailing punctuation and extra spaces dropped."""
    text = text.replace("\u2019", "'").lower()
    return " ".join(text.split()).rstrip(".?!")


def start_samples(language_model) -> set[str]:
    intents = {intent["name"]: intent for intent in language_model["intents"]}
    return {norm(s) for s in intents["StartGuideIntent"]["samples"]}


def utterance_of(phrase: str, invocation: str) -> str | None:
    """The part of an example phrase after the launch words, "" for a plain open, None if malformed."""
    text = norm(phrase)
    if text == f"alexa, open {invocation}":
        return ""
    for prefix in (f"alexa, tell {invocation} ", f"alexa, ask {invocation} to "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return None


# --- the file -------------------------------------------------------------------------------------


def test_manifest_is_valid_json_in_the_ask_cli_v2_layout():
    document = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert set(document) == {"manifest"}
    assert document["manifest"]["manifestVersion"] == "1.0"


def test_skill_package_holds_no_edited_copy_of_the_interaction_model():
    # interaction_models/<locale>.json is the one source. The deploy step copies it to
    # skill-package/interactionModels/custom/; such a copy must never be edited (or go stale) there.
    for copy in (ROOT / "skill-package").glob("interactionModels/**/*.json"):
        canonical = ROOT / "interaction_models" / copy.name
        assert canonical.exists(), f"{copy}: no canonical model {canonical.name} in interaction_models/"
        assert copy.read_bytes() == canonical.read_bytes(), f"{copy} differs from {canonical}: edit the canonical one"


# --- publishing information ----------------------------------------------------------------------


def test_every_locale_description_carries_the_health_disclaimer(manifest):
    assert locales_of(manifest)
    for locale, info in locales_of(manifest).items():
        description = " ".join(info["description"].lower().split())
        for phrase in DISCLAIMER_PHRASES:
            assert phrase in description, f"{locale}: description lacks {phrase!r}"
        # Alexa cannot dial: the description must not let anyone think it can.
        assert re.search(r"alexa (cannot|can't|can not) call", description), locale


def test_every_locale_has_a_name_summary_and_keywords(manifest):
    for locale, info in locales_of(manifest).items():
        assert info["name"] == "Back Spasm Coach", locale
        assert 0 < len(info["summary"]) <= 160, locale
        assert 0 < len(info["description"]) <= 4000, locale
        assert info["keywords"] and all(isinstance(k, str) and k for k in info["keywords"]), locale


def test_example_phrases_are_at_most_three_and_the_first_opens_the_skill(manifest, language_model):
    invocation = language_model["invocationName"]
    for locale, info in locales_of(manifest).items():
        phrases = info["examplePhrases"]
        assert 1 <= len(phrases) <= MAX_EXAMPLE_PHRASES, locale
        assert utterance_of(phrases[0], invocation) is not None, f"{locale}: {phrases[0]!r}"


def test_each_example_phrase_is_a_plain_open_or_a_start_guide_sample(manifest, language_model):
    invocation = language_model["invocationName"]
    samples = start_samples(language_model)
    for locale, info in locales_of(manifest).items():
        for phrase in info["examplePhrases"]:
            utterance = utterance_of(phrase, invocation)
            assert utterance is not None, f"{locale}: {phrase!r} does not use the invocation name {invocation!r}"
            assert utterance == "" or utterance in samples, f"{locale}: {phrase!r} is not a StartGuideIntent sample"


def test_example_phrases_use_the_models_invocation_name(manifest, language_model):
    invocation = language_model["invocationName"]
    assert invocation == "back spasm coach"
    for info in locales_of(manifest).values():
        for phrase in info["examplePhrases"]:
            assert f" {invocation}" in norm(phrase), phrase


def test_distribution_and_category(manifest):
    publishing = manifest["publishingInformation"]
    assert publishing["category"] == "HEALTH_AND_FITNESS"
    assert publishing["isAvailableWorldwide"] is False
    assert set(publishing["distributionCountries"]) == {"US", "CA", "GB", "AU", "IN"}


# --- privacy and compliance ----------------------------------------------------------------------


def test_privacy_and_compliance_answers(manifest):
    privacy = manifest["privacyAndCompliance"]
    assert privacy["containsAds"] is False
    assert privacy["isExportCompliant"] is True
    assert privacy["isChildDirected"] is False
    assert privacy["allowsPurchases"] is False
    # Progress (including safety-question outcomes) is kept per person under a hashed user id:
    # pseudonymous health data is still personal information, so the honest answer is yes.
    assert privacy["usesPersonalInfo"] is True


def test_collecting_personal_info_comes_with_a_privacy_policy_for_every_locale(manifest):
    privacy = manifest["privacyAndCompliance"]
    if not privacy["usesPersonalInfo"]:
        return
    for locale in locales_of(manifest):
        url = privacy["locales"][locale]["privacyPolicyUrl"]
        assert url.startswith("https://"), locale


# --- apis, permissions, events -------------------------------------------------------------------


# What a skill with the AudioPlayer interface must answer (certification sends each of these).
PLAYBACK_INTENTS = {"AMAZON.PauseIntent", "AMAZON.ResumeIntent", "AMAZON.CancelIntent", "AMAZON.StopIntent",
                    "AMAZON.LoopOffIntent", "AMAZON.LoopOnIntent", "AMAZON.NextIntent", "AMAZON.PreviousIntent",
                    "AMAZON.RepeatIntent", "AMAZON.ShuffleOffIntent", "AMAZON.ShuffleOnIntent", "AMAZON.StartOverIntent"}


def test_custom_endpoint_declares_the_audio_player_and_the_model_has_its_intents(manifest):
    custom = manifest["apis"]["custom"]
    assert custom["endpoint"] == {"uri": "https://example.invalid/alexa", "sslCertificateType": "Wildcard"}
    assert custom["interfaces"] == [{"type": "AUDIO_PLAYER"}]  # the breathing track
    from skill.interaction_model import load_model, model_intent_names

    assert PLAYBACK_INTENTS - model_intent_names(load_model("en-US")) == set()


def test_timer_and_reminder_permissions_are_declared(manifest):
    names = {permission["name"] for permission in manifest["permissions"]}
    assert REQUIRED_PERMISSIONS <= names


def test_skill_disabled_event_is_subscribed_at_the_skill_endpoint(manifest):
    events = manifest["events"]
    assert {"eventName": "SKILL_DISABLED"} in events["subscriptions"]
    assert events["endpoint"] == manifest["apis"]["custom"]["endpoint"]


# --- one source: the manifest, its tasks and the models agree -------------------------------------------

def test_the_deploy_step_copies_exactly_the_validated_models_into_the_ask_cli_layout(tmp_path):
    import shutil

    from skill.interaction_model import model_locales
    from skill.skill_package import export_to_skill_package

    package = tmp_path / "skill-package"
    shutil.copytree(ROOT / "skill-package", package)
    stale = package / "interactionModels" / "custom" / "en-GB.json"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("{}")  # a model no longer in interaction_models/ must not be deployed
    copied = export_to_skill_package(package)
    assert sorted(p.name for p in (package / "interactionModels" / "custom").iterdir()) == \
        [f"{locale}.json" for locale in model_locales()]
    for copy in copied:
        assert copy.read_bytes() == (ROOT / "interaction_models" / copy.name).read_bytes()


def test_a_model_that_does_not_validate_is_not_copied(tmp_path):
    from skill.skill_package import export_to_skill_package

    models = tmp_path / "models"
    models.mkdir()
    (models / "en-US.json").write_text(json.dumps({"interactionModel": {"languageModel": {
        "invocationName": "alexa skill", "intents": []}}}))
    with pytest.raises(ValueError, match="en-US"):
        export_to_skill_package(tmp_path / "package", models)
    assert not (tmp_path / "package").exists()


def test_every_manifest_locale_has_a_model_and_every_model_a_listing(manifest):
    from skill.interaction_model import model_locales

    assert sorted(manifest["publishingInformation"]["locales"]) == model_locales()


def test_every_task_the_manifest_declares_has_its_definition_and_no_other_is_shipped(manifest):
    declared = {f"{task['name']}.{task['version']}.json" for task in manifest["apis"]["custom"].get("tasks", [])}
    shipped = {path.name for path in (ROOT / "skill-package" / "tasks").glob("*.json")}
    assert declared == shipped
