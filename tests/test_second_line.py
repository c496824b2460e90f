"""The second line behind the red-flag phrase lists (skill/engine/second_line.py): the model loads offline from
the installed wordllama package, in the background; it guesses a sign the lists miss, and nothing for a remark,
a denial, or before it has loaded; red_flags.yaml's ``examples`` are checked at load time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from skill.engine.second_line import SecondLine, StaticEmbedder, model_folder
from skill.engine.triage import RedFlagError, default_red_flags, load_red_flags

RED_FLAGS_FILE = Path(__file__).resolve().parent.parent / "skill" / "content" / "red_flags.yaml"


@pytest.fixture(scope="module")
def second_line() -> SecondLine:
    loaded = SecondLine()
    loaded.load()
    return loaded


def test_the_model_loads_offline_from_the_installed_package(monkeypatch, second_line):
    # No network and no model hub: the files come from the wheel's own folder.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("socket.socket.connect", lambda *a, **k: pytest.fail("the second line used the network"))
    embedder = StaticEmbedder.from_files(model_folder())
    assert embedder.table.shape == (32000, 256)
    assert second_line.ready


def test_the_vectors_are_wordllamas_own():
    wordllama = pytest.importorskip("wordllama")
    reference = wordllama.WordLlama.load(cache_dir=str(model_folder()), disable_download=True)
    texts = ["pain in my tummy going right through to my back", "i wet myself"]
    ours = StaticEmbedder.from_files().embed(texts)
    theirs = reference.embed(texts, norm=True)
    assert abs(ours - theirs).max() < 1e-4


@pytest.mark.parametrize("said, flag", [
    ("pain in my side", "t2_urinary"),
    ("the pain is so bad i cannot sleep", "t2_night_pain"),
])
def test_it_guesses_a_sign_the_lists_miss(second_line, said, flag):
    assert default_red_flags().match(said) is None  # (else the lists decide alone)
    guess = second_line.guess(said)
    assert guess is not None and guess.flag_id == flag and guess.tier == 2


@pytest.mark.parametrize("said", [
    "the heat pad is making me sweaty",
    "i have a sore neck",
    "ok what is next",
    "i am trying to lose weight",  # t2_weight_loss's own `unless` words
    "no pain in my side",  # negated words are not compared
])
def test_no_guess_for_a_remark_or_a_denial(second_line, said):
    assert second_line.guess(said) is None


def test_no_guess_where_the_lists_decided(second_line):
    # "my mum had cancer": the lists found t2_cancer and set it aside as someone else's.
    assert second_line.guess("my mum had cancer") is None


def test_nothing_before_loading_and_loading_does_not_block():
    fresh = SecondLine()
    assert not fresh.ready and fresh.guess("pain in my side") is None
    started = time.perf_counter()
    fresh.start_loading()
    assert time.perf_counter() - started < 0.05
    deadline = time.monotonic() + 30
    while not fresh.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fresh.ready and fresh.guess("pain in my side") is not None


def test_a_guess_takes_well_under_five_milliseconds(second_line):
    said = "honestly my tummy has been aching and now it seems to go right round into my back"
    second_line.guess(said)
    started = time.perf_counter()
    for _ in range(50):
        second_line.guess(said)
    assert (time.perf_counter() - started) / 50 < 0.005


def _changed(tmp_path, change) -> Path:
    raw = yaml.safe_load(RED_FLAGS_FILE.read_text())
    change({flag["id"]: flag for flag in raw["flags"]})
    path = tmp_path / "red_flags.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_every_tier_1_and_2_flag_has_examples():
    red_flags = default_red_flags()
    for flag_id in red_flags.ids():
        assert bool(red_flags.examples_of(flag_id)) == (red_flags.tier_of(flag_id) in (1, 2)), flag_id


@pytest.mark.parametrize("change, problem", [
    (lambda flags: flags["t1_saddle"].update(examples=["my bum has gone numb", "numb down below"]),
     "t1_saddle: needs at least 3 examples"),
    (lambda flags: flags["t2_lump"].pop("examples"), "t2_lump: needs at least 3 examples"),
    (lambda flags: flags["t3_one_leg"].update(examples=["a", "b", "c"]),
     "t3_one_leg: only a tier-1 or tier-2 flag has examples"),
    (lambda flags: flags["t1_chest"]["examples"].append(flags["t1_chest"]["examples"][0]),
     "t1_chest: example 'my chest hurts' listed twice"),
    (lambda flags: flags["t1_chest"]["examples"].append(3), "t1_chest: examples must be a list of sentences"),
])
def test_examples_are_checked(tmp_path, change, problem):
    with pytest.raises(RedFlagError, match=problem):
        load_red_flags(_changed(tmp_path, change))
