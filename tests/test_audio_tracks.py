"""Which built tracks the skill can play: only those whose file is there, a real one before a preview,
and nothing at all (the spoken session instead) when the manifest is missing or damaged."""

from __future__ import annotations

import json

from skill.audio.tracks import load_built, track_url


def write(folder, entries, files):
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"tracks": entries}))
    for name in files:
        (folder / name).write_bytes(b"mp3")


def entry(track, locale, file, engine="gtts", seconds=306.8):
    return {"track": track, "locale": locale, "file": file, "duration_seconds": seconds, "engine": engine}


def test_only_tracks_whose_file_is_there_count_and_a_real_one_beats_a_preview(tmp_path):
    folder = tmp_path / "tracks"
    write(folder, [
        entry("breathing-5min", "en-US", "breathing-5min-en-us-aaa-preview.mp3", engine="espeak-ng"),
        entry("breathing-5min", "en-US", "breathing-5min-en-us-bbb.mp3"),
        entry("breathing-3min", "en-US", "breathing-3min-en-us-ccc.mp3"),  # listed, but no file
        entry("breathing-5min", "en-GB", "../outside.mp3"),  # never a path out of the folder
        {"track": "broken"},
    ], ["breathing-5min-en-us-aaa-preview.mp3", "breathing-5min-en-us-bbb.mp3"])
    built = load_built(folder)
    assert set(built) == {("breathing-5min", "en-US")}
    assert built[("breathing-5min", "en-US")].file == "breathing-5min-en-us-bbb.mp3"
    assert not built[("breathing-5min", "en-US")].preview


def test_a_missing_or_damaged_manifest_means_no_tracks(tmp_path):
    assert load_built(tmp_path / "nowhere") == {}
    (tmp_path / "manifest.json").write_text("{not json")
    assert load_built(tmp_path) == {}


def test_tracks_are_named_only_under_an_https_base(tmp_path):
    write(tmp_path, [entry("breathing-3min", "en-US", "breathing-3min-en-us-ccc.mp3")], ["breathing-3min-en-us-ccc.mp3"])
    track = load_built(tmp_path)[("breathing-3min", "en-US")]
    assert track_url("https://audio.example.com/tracks/", track) == \
        "https://audio.example.com/tracks/breathing-3min-en-us-ccc.mp3"
    assert track_url("http://127.0.0.1:5000/audio", track) is None


def test_with_the_files_in_s3_the_manifest_is_taken_at_its_word_and_previews_are_never_named(tmp_path):
    """On Lambda only manifest.json is packaged (serverless.yml); the upload sends real tracks only."""
    folder = tmp_path / "tracks"
    write(folder, [entry("breathing-3min", "en-US", "breathing-3min-en-us-ccc.mp3"),
                   entry("breathing-5min", "en-US", "breathing-5min-en-us-aaa-preview.mp3", engine="espeak-ng")], [])
    assert set(load_built(folder, files_here=False)) == {("breathing-3min", "en-US")}
    assert load_built(folder) == {}  # served from here, a file that isn't here is no track
