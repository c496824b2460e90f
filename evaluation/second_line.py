"""The second line behind the red-flag phrase lists (skill/engine/second_line.py), against the lists alone, in one run:

    .venv/bin/python -m evaluation.second_line               # or: make eval-second-line
    .venv/bin/python -m evaluation.second_line --no-package  # without packaging the Lambda zip (about 30 s)
    .venv/bin/python -m evaluation.second_line --misses      # every phrase behind the figures

On the development phrases only (evaluation/sets/second_line_dev.tsv, triage_phrases.tsv, understanding/dev*.tsv;
never a test set): the signs the lists miss that the second line guesses (a guess is one confirming question,
so a guess of the wrong flag is counted apart), and its false confirmations (a guess on a phrase that is no
sign). Then the thresholds around the shipped one, the time a guess takes (p50, p99), the cold start
(importing skill.app and create_app, with and without the model, interleaved runs, medians), the time the
model takes to be ready in its thread, wordllama's own loader for comparison, and the Lambda zip's size.

The lists here are red_flags.yaml's phrases alone (RedFlags.match on the words), as the skill reads free words
before any question's own answers. Tier 3 counts as no sign, as in evaluation/triage.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from evaluation import SETS
from skill.engine.second_line import DEFAULT_MARGIN, DEFAULT_THRESHOLD, SecondLine, model_folder
from skill.engine.triage import default_red_flags

ROOT = Path(__file__).resolve().parent.parent
OWN_SET = SETS / "second_line_dev.tsv"
TRIAGE_SET = SETS / "triage_phrases.tsv"
# The understanding development sets; their labels for the words themselves. "yes", "no" and "unsure" answer a
# question: the words alone name no sign, and no remark either, so they are left out.
UNDERSTANDING_DEV = sorted((SETS / "understanding").glob("dev*.tsv"))
LABEL_TIERS = {"emergency": 1, "urgent": 2}
ANSWER_LABELS = {"yes", "unsure"}
SWEEP = (0.50, 0.55, 0.58, 0.60, 0.62, 0.65, 0.68, 0.70, 0.75)
MARGINS = (-1.0, 0.0, 0.03, 0.05, 0.08, 0.10, 0.15)  # (-1: no margin, the similarity alone)
COLD_START_RUNS = 7


@dataclass(frozen=True)
class Phrase:
    text: str
    tier: int  # 0 no sign, 1 or 2
    note: str  # the flag, the kind of remark, or the stage
    source: str


def _rows(path: Path):
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield line.split("\t")


def read_sets() -> dict[str, list[Phrase]]:
    """Every development phrase, by set. The test sets (test*.tsv) are never read."""
    sets = {OWN_SET.name: [Phrase(p, int(t), n, OWN_SET.name) for p, t, n in _rows(OWN_SET)],
            TRIAGE_SET.name: [Phrase(cells[0], int(cells[1]) if cells[1] in "12" else 0, "", TRIAGE_SET.name)
                              for cells in _rows(TRIAGE_SET)]}
    for path in UNDERSTANDING_DEV:
        assert not path.name.startswith("test"), path
        sets[path.name] = [Phrase(phrase, LABEL_TIERS.get(label, 0), f"{stage}: {label}", path.name)
                           for stage, phrase, label in _rows(path) if label not in ANSWER_LABELS]
    return sets


@dataclass
class Reading:
    phrase: Phrase
    lists_tier: int  # what the lists alone answer: 0, 1 or 2
    guess: object  # SignGuess or None, at the shipped threshold and margin
    closest: object  # SignGuess or None: the nearest flag whatever its similarity, when the lists leave it
    ordinary: float  # the similarity of the nearest no_sign_example


def read(second_line: SecondLine, phrase: Phrase) -> Reading:
    found = second_line.red_flags.match(phrase.text)
    lists_tier = found.tier if found is not None and found.tier in (1, 2) else 0
    closest, ordinary = None, 0.0
    if lists_tier == 0 and not second_line.red_flags.explain(phrase.text):
        closest, ordinary = second_line.weigh(phrase.text)
        if closest is not None and second_line.red_flags.set_aside(closest.flag_id, phrase.text):
            closest = None
    guess = second_line.guess(phrase.text) if lists_tier == 0 else None
    return Reading(phrase, lists_tier, guess, closest, ordinary)


def figures(readings: list[Reading], threshold: float | None = None, margin: float = DEFAULT_MARGIN) -> dict:
    """Signs, what the lists caught, what the second line adds, and its false confirmations (at the shipped
    threshold and margin, or at ``threshold`` and ``margin``)."""
    def guessed(r: Reading):
        if threshold is None:
            return r.guess
        return r.closest if SecondLine.close_enough(None, r.closest, r.ordinary, threshold, margin) else None

    signs = [r for r in readings if r.phrase.tier]
    remarks = [r for r in readings if not r.phrase.tier]
    missed = [r for r in signs if not r.lists_tier]
    caught = [r for r in missed if guessed(r)]
    return {"signs": len(signs), "lists": len(signs) - len(missed), "missed": len(missed), "caught": len(caught),
            "right_tier": sum(guessed(r).tier == r.phrase.tier for r in caught),
            "remarks": len(remarks), "list_alarms": sum(bool(r.lists_tier) for r in remarks),
            "false_confirmations": sum(bool(guessed(r)) for r in remarks)}


def latency(second_line: SecondLine, readings: list[Reading], rounds: int = 5) -> dict:
    """Milliseconds per utterance, lists alone (RedFlags.match) and the second line's guess on top: on every
    phrase, and on those it compares with the examples (the lists read nothing in them)."""
    lists, guesses, compared = [], [], []
    red_flags = second_line.red_flags
    for n in range(rounds):
        for reading in readings:
            text = reading.phrase.text + " " * (n + 1)  # (past the per-utterance caches, as each new turn is)
            started = time.perf_counter()
            red_flags.match(text)
            middle = time.perf_counter()
            second_line.guess(text)
            guesses.append((time.perf_counter() - middle) * 1000)
            lists.append((middle - started) * 1000)
            if reading.closest is not None:
                compared.append(guesses[-1])

    def summary(values):
        values = sorted(values)
        return {"p50": values[len(values) // 2], "p99": values[int(len(values) * 0.99)], "max": values[-1]}
    return {"lists": summary(lists), "second_line": summary(guesses), "compared": summary(compared),
            "compared_phrases": len(compared) // rounds}


# Runs in a fresh Python: import the app factory and build the app, as a Lambda container's cold start does.
COLD_START = r"""
import json, sys, time
from simulator.conversation import launch
envelope = json.dumps(launch())
started = time.perf_counter()
from skill.app import create_app
app = create_app({"VERIFY_REQUESTS": False})
built = time.perf_counter()
assert app.test_client().post("/alexa", data=envelope, content_type="application/json").status_code == 200
answered = time.perf_counter()
line = app.extensions.get("second_line")
while line is not None and not line.ready and line.load_error is None and time.perf_counter() - built < 30:
    time.sleep(0.002)
ready = time.perf_counter()
print(built - started, answered - started, (ready - started) if line is not None and line.ready else None)
"""
# wordllama's own loader, for comparison: its package imported (pydantic, requests, toml...) and the model loaded.
WORDLLAMA_LOAD = r"""
import time
started = time.perf_counter()
from wordllama import WordLlama
imported = time.perf_counter()
WordLlama.load(cache_dir=sys.argv[1], disable_download=True)
print(imported - started, time.perf_counter() - imported)
"""


def _python(code: str, env: dict, *args: str) -> list[float | None]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120, check=True)
    return [None if v == "None" else float(v) for v in done.stdout.split()]


def cold_start(runs: int = COLD_START_RUNS) -> dict:
    """Seconds to import skill.app and build the app, without and with the model (runs interleaved), medians;
    and the time until the model is ready in its thread."""
    with tempfile.TemporaryDirectory() as work:
        base = {**os.environ, "SKILL_STORE": "sqlite", "SKILL_DB": str(Path(work) / "s.sqlite3"),
                "SKILL_AUDIO_DIR": str(Path(work) / "no-tracks")}
        without, with_model, ready = [], [], []
        for _ in range(runs):
            without.append(_python(COLD_START, {**base, "SKILL_SECOND_LINE": "0"})[:2])
            *timings, until_ready = _python(COLD_START, {**base, "SKILL_SECOND_LINE": "1"})
            with_model.append(timings)
            ready.append(until_ready)
        wordllama = [_python("import sys\n" + WORDLLAMA_LOAD, base, str(model_folder())) for _ in range(3)]
    return {"without": statistics.median(w[0] for w in without), "with": statistics.median(w[0] for w in with_model),
            "without_answered": statistics.median(w[1] for w in without),
            "with_answered": statistics.median(w[1] for w in with_model),
            "ready": statistics.median(r for r in ready if r is not None),
            "wordllama_import": statistics.median(w[0] for w in wordllama),
            "wordllama_load": statistics.median(w[1] for w in wordllama)}


def zip_size() -> tuple[float, float]:
    """The Lambda artefact as `make package` makes it: MB zipped, and the MB of it the model's files take."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from lambda_package import package  # `make package`'s own steps
    import zipfile

    with tempfile.TemporaryDirectory() as out:
        path = package(Path(out))
        with zipfile.ZipFile(path) as archive:
            model = sum(i.compress_size for i in archive.infolist()
                        if i.filename.split("/")[0] == "wordllama")
        return path.stat().st_size / 1e6, model / 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the signs missed and the false confirmations")
    parser.add_argument("--no-package", action="store_true", help="skip packaging the Lambda zip")
    parser.add_argument("--runs", type=int, default=COLD_START_RUNS, help="cold starts of each kind")
    args = parser.parse_args(argv)

    second_line = SecondLine(default_red_flags())
    second_line.load()
    sets = read_sets()
    readings = {name: [read(second_line, p) for p in phrases] for name, phrases in sets.items()}
    everything = [r for rs in readings.values() for r in rs]

    print(f"The second line (threshold {DEFAULT_THRESHOLD}) behind the phrase lists, development phrases only")
    print(f"{'set':24} {'signs':>5} {'lists':>6} {'+second':>8} {'(tier ok)':>9} {'remarks':>8} {'list alarms':>11} "
          f"{'false conf.':>11}")
    for name, rs in [*readings.items(), ("all", everything)]:
        f = figures(rs)
        print(f"{name:24} {f['signs']:5} {f['lists']:6} {f['caught']:+8} {f['right_tier']:9} {f['remarks']:8} "
              f"{f['list_alarms']:11} {f['false_confirmations']:11}")

    own = [r for r in readings[OWN_SET.name] if not r.phrase.tier]
    kinds = sorted({r.phrase.note for r in own})
    print(f"{OWN_SET.name}'s remarks by kind, false confirmations: " + ", ".join(
        f"{kind} {sum(bool(r.guess) for r in own if r.phrase.note == kind)}/{sum(r.phrase.note == kind for r in own)}"
        for kind in kinds))

    print("\nThresholds and margins (all sets): signs the lists missed that get a guess (of the right tier) / false "
          "confirmations on remarks")
    for margin in MARGINS:
        cells = []
        for threshold in SWEEP:
            f = figures(everything, threshold, margin)
            shipped = abs(threshold - DEFAULT_THRESHOLD) < 1e-9 and abs(margin - DEFAULT_MARGIN) < 1e-9
            cells.append(f"{f['caught']:2}({f['right_tier']:2})/{f['false_confirmations']:<3}{'*' if shipped else ' '}")
        print(f"  margin {margin:.2f}: " + " ".join(cells))
    print("  (threshold " + ", ".join(f"{t:.2f}" for t in SWEEP) + f"; * shipped; of {figures(everything)['missed']} "
          f"signs missed and {len(everything) - figures(everything)['signs']} remarks)")

    if args.misses:
        print("\nSigns the lists missed, and what the second line made of them (similarity of the closest flag):")
        for r in everything:
            if r.phrase.tier and not r.lists_tier:
                c = r.closest
                print(f"  {'CAUGHT' if r.guess else 'missed'} {r.phrase.tier} {r.phrase.note:22} "
                      f"{(c.flag_id + f' {c.similarity:.2f}') if c else '-':24} {r.phrase.text}")
        print("\nRemarks the second line would confirm (false confirmations):")
        for r in everything:
            if not r.phrase.tier and r.guess:
                print(f"  {r.guess.flag_id} {r.guess.similarity:.2f} (no sign {r.ordinary:.2f})  {r.phrase.source}: {r.phrase.text}")

    timing = latency(second_line, everything)
    print(f"\nTime per utterance ({len(everything)} phrases x 5; budget 5 ms): lists alone p50 "
          f"{timing['lists']['p50']:.3f} ms, p99 {timing['lists']['p99']:.3f} ms; the second line on top p50 "
          f"{timing['second_line']['p50']:.3f} ms, p99 {timing['second_line']['p99']:.3f} ms; on the "
          f"{timing['compared_phrases']} it compares with the examples p50 {timing['compared']['p50']:.3f} ms, "
          f"p99 {timing['compared']['p99']:.3f} ms, max {timing['compared']['max']:.3f} ms")
    cold = cold_start(args.runs)
    print(f"Cold start, import skill.app + create_app, median of {args.runs} interleaved: lists alone "
          f"{cold['without'] * 1000:.0f} ms, with the second line {cold['with'] * 1000:.0f} ms "
          f"({(cold['with'] - cold['without']) * 1000:+.0f} ms; budget +150 ms); to the first answer (a launch) "
          f"{cold['without_answered'] * 1000:.0f} ms and {cold['with_answered'] * 1000:.0f} ms "
          f"({(cold['with_answered'] - cold['without_answered']) * 1000:+.0f} ms); the model ready "
          f"{cold['ready'] * 1000:.0f} ms after the start, in its thread (this loader: {second_line.load_seconds * 1000:.0f} ms)")
    print(f"For comparison, wordllama's own loader: import {cold['wordllama_import'] * 1000:.0f} ms + load "
          f"{cold['wordllama_load'] * 1000:.0f} ms")
    if not args.no_package:
        size, model = zip_size()
        print(f"Lambda zip: {size:.1f} MB (the model's files: {model:.1f} MB of it; limit 50 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
