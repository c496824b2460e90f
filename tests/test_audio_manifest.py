"""The breathing audio manifest: clinical.md's pace and length, cues as plain as the prompts, and a
recipe hash that changes exactly when something heard changes."""

from __future__ import annotations

import pytest
import yaml

from skill.audio.manifest import MANIFEST, ManifestError, load_manifest
from skill.engine import default_content

CONTENT = default_content()
BREATHING = CONTENT.protocol.settings["breathing"]


def load(path=MANIFEST):
    return load_manifest(path, breathing=BREATHING, locales=CONTENT.locales)


def test_the_project_manifest_paces_six_breaths_a_minute_for_three_to_ten_minutes_in_every_locale():
    manifest = load()
    assert 60 / (manifest.inhale_seconds + manifest.exhale_seconds) == 6
    assert sorted(t.minutes for t in manifest.tracks.values()) == [3, 5, 10]
    assert set(manifest.voices) >= set(CONTENT.locales)


def broken(tmp_path, change) -> str:
    raw = yaml.safe_load(MANIFEST.read_text())
    change(raw)
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ManifestError) as caught:
        load(path)
    return str(caught.value)


def test_a_damaged_manifest_is_refused_with_every_problem_named(tmp_path):
    def damage(raw):
        raw["pace"]["inhale_seconds"] = 7
        raw["cues"]["middle"] = "Now hold your breath for seven seconds."
        raw["tracks"]["breathing-5min"]["intro"] = ["settle", "no_such_cue"]
        raw["tracks"]["breathing-10min"]["minutes"] = 30
        del raw["voices"]["en-GB"]

    problems = broken(tmp_path, damage)
    for expected in ("differs from protocol.yaml", "hold their breath", "no cue 'no_such_cue'", "30 minutes",
                     "no voice for locale en-GB"):
        assert expected in problems, problems


def test_the_recipe_hash_changes_when_a_cue_heard_in_it_changes(tmp_path):
    manifest = load()
    track = manifest.tracks["breathing-5min"]
    same = load()
    assert manifest.recipe_hash(track, "en-US") == same.recipe_hash(same.tracks["breathing-5min"], "en-US")
    assert manifest.recipe_hash(track, "en-US") != manifest.recipe_hash(track, "en-GB")  # another voice
    raw = yaml.safe_load(MANIFEST.read_text())
    raw["cues"]["close"] = "Well done."
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(raw))
    changed = load(path)
    assert changed.recipe_hash(changed.tracks["breathing-5min"], "en-US") != manifest.recipe_hash(track, "en-US")


def test_every_track_the_guide_plays_is_a_recipe_of_that_many_minutes():
    """protocol.yaml's settings.breathing.tracks name tracks the build makes (else a length would never play)."""
    recipes = load_manifest(MANIFEST).tracks
    wanted = default_content().protocol.settings["breathing"]["tracks"]
    wrong = {minutes: name for minutes, name in wanted.items()
             if name not in recipes or recipes[name].minutes != minutes}
    assert not wrong and default_content().protocol.settings["breathing"]["default_minutes"] in wanted, wrong


def test_every_track_says_halfway_how_to_reach_the_skill_in_the_words_said_before_it():
    """Issue 21: while the track plays only "Alexa, ..." reaches the skill; the line said before the track
    (breathing.reach_me) is repeated by the track halfway, word for word."""
    manifest = load()
    assert all("reach_me" in track.middle for track in manifest.tracks.values())
    assert manifest.cues["reach_me"] == CONTENT.prompts_for("en-US").text("breathing.reach_me")
