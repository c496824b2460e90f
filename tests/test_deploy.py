"""The Lambda artefact, made and tried offline (scripts/lambda_check.py): `sls package` with no AWS account,
the zip unpacked, and each entry point invoked in a Python that sees only the artefact, as Lambda would."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def results(lambda_artefact):
    """One artefact for every test here, packaged and checked while the rest of the suite runs
    (tests/lambda_artefact.py)."""
    return lambda_artefact


@pytest.mark.slow
def test_the_packaged_artefact_answers_a_launch_through_both_entry_points_and_refuses_an_unsigned_request(results):
    web, unsigned, native = results["web_verification_off"], results["web_unsigned"], results["native"]
    assert web["status"] == 200 and "<speak>" in web["speech"]  # HTTP API event -> serverless-wsgi -> Flask
    assert unsigned["status"] == 400  # verification on, no signature: refused before any handler
    assert native["status"] == 200 and "<speak>" in native["speech"]  # the Alexa Skills Kit trigger
    for entry in (web, unsigned, native):
        assert entry["heavy_modules"] == []  # no boto3, gTTS or pydub at start-up on SQLite
        assert entry["import_seconds"] < 10 and entry["first_request_seconds"] < 2
    for entry in (web, native):  # the second line loads from the artefact alone, in its thread, and guesses
        assert entry["second_line"]["ready"] and entry["second_line"]["guess"] == "t2_urinary", entry["second_line"]
    assert results["native_other_skill_refused"]  # no signature there, but the skill id is still checked
    assert results["zip_bytes"] < 50e6  # Lambda's limit for a direct upload
    template = results["template"]  # what the deploy would create, as `sls package` wrote it
    assert template["data_actions"] == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    assert template["data_resources"] == [{"Fn::GetAtt": ["ProgressTable", "Arn"]}]  # that table, nothing else
    assert max(template["timeouts"]) < 8  # Alexa waits about 8 s
    assert template["ttl"] == {"AttributeName": "expires_at", "Enabled": True} and template["billing"] == "PAY_PER_REQUEST"
    assert template["routes"] == ["POST /alexa"] and len(template["alexa_trigger_skill_ids"]) == 1


@pytest.mark.slow
def test_the_artefact_holds_no_build_time_module_and_no_developer_folder_and_lacks_nothing_it_imports(results):
    """serverless.yml's patterns leave out the audio build, its recipe loader, the upload and the models' export
    (lambda_check.build_time_modules: what `make` runs as commands, and what only they import)."""
    found = results["contents"]
    assert found["skill_modules"] > 20  # the skill itself is there
    assert found["build_time_modules"] == [], found
    assert found["developer_folders"] == [], found
    assert found["missing_imports"] == [], found  # left out, yet the skill imports it


def test_the_build_time_modules_are_the_audio_build_and_upload_and_the_model_export():
    """What the artefact check looks for, found from the Makefile and the imports: so it can't find nothing.
    (skill.interaction_model is not one: the carrier check loads the models with it at start-up.)"""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from lambda_check import build_time_modules
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert build_time_modules() == {"skill.audio.build", "skill.audio.manifest", "skill.audio.upload",
                                    "skill.skill_package"}
