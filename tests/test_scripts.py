"""The developer commands the README and the closing notes rely on still run and still tell the truth.

Each runs here as the README gives it, ``python -m`` from the checkout, so it uses the checkout's code.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from said import words

ROOT = Path(__file__).resolve().parent.parent


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_transcript_walks_from_the_one_shot_to_the_summary():
    result = run_module("simulator.transcript")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("User: Alexa, tell back spasm coach my back is spasming")
    assert words("events.welcome_back") in out and words("steps.summary.say") in out


def test_triage_eval_reports_recall_and_false_alarms_through_the_endpoint(tmp_path):
    phrases = tmp_path / "phrases.tsv"
    phrases.write_text("# phrase\ttier\ni can't feel my legs\t1\ni have a fever\t2\ni have no fever\t0\n"
                       "my back is sore\t0\nmy nose is itchy\t1\n")  # the last one is a deliberate miss
    result = run_module("evaluation.triage", str(phrases))
    assert result.returncode == 0, result.stderr
    assert "Tier 1 recall: 1/2 = 50.0%" in result.stdout
    assert "Tier 2 recall: 1/1 = 100.0%" in result.stdout
    assert "False-alarm rate: 0/2 = 0.0%" in result.stdout
    assert "my nose is itchy" in result.stdout.split("Misses")[1]


def test_benchmark_walk_through_still_reaches_the_summary(client):
    """The benchmark's turn mix must stay a complete walk-through as the guide changes."""
    bench = runpy.run_path(str(ROOT / "bench" / "bench_endpoint.py"), run_name="bench_endpoint")
    timed = bench["TimedClient"](client, None)
    assert bench["run_walk_throughs"](timed, len(bench["WALK_THROUGH"]), "SCRIPTTEST-") == 1


def test_clarify_eval_scores_remarks_and_answers_and_counts_the_unsafe_ones(tmp_path):
    lines = tmp_path / "clarify.tsv"
    lines.write_text("# section, text, label\n"
                     "A\ti can't lift my legs\task\n"
                     "A\tmy legs are numb\temergency\n"
                     "A\tmy back is sore\tnone\n"
                     "A\tmy nose is itchy\temergency\n"  # a deliberate miss: unsafe
                     "B\tno it's just the pain\tpain_only\n"
                     "B\tthey feel a bit weak\tescalate\n")
    result = run_module("evaluation.clarify", str(lines))
    assert result.returncode == 0, result.stderr
    assert "A. remarks mid-guide: 4 lines, 3 as labelled" in result.stdout
    assert "B. answers to 'do your legs feel weak or numb?': 2 lines, 2 as labelled" in result.stdout
    assert "Unsafe (a sign or an ambiguity answered without emergency words or a question): 1" in result.stdout
    assert "my nose is itchy" in result.stdout


def test_understanding_eval_scores_each_stage_and_lists_the_misses(tmp_path):
    lines = tmp_path / "understanding.tsv"
    lines.write_text("saddle\tnah\tno\n"
                     "rest\tmy legs have gone numb\temergency\n"
                     "bladder\tthe dog is licking my face\tremark\n"
                     "rest\tmy nose is itchy\temergency\n")  # a deliberate miss
    result = run_module("evaluation.understanding", "--misses", str(lines))
    assert result.returncode == 0, result.stderr
    assert "tier-1 recall (emergency): 1/2 = 50%" in result.stdout
    assert "all: 3/4 = 75%" in result.stdout
    assert "by stage: saddle 1/1 = 100%, bladder 1/1 = 100%, rest 1/2 = 50%" in result.stdout
    assert "miss line 4 [rest] 'my nose is itchy': expected emergency" in result.stdout


def test_understanding_eval_walks_the_device_to_issue_21s_stages_and_scores_them_by_prompt_keys(tmp_path):
    lines = tmp_path / "issue21.tsv"
    lines.write_text("track\tmy legs have gone numb\temergency\n"  # after "Alexa, stop" over the track
                     "after_urgent\tstop\tstop\n"
                     "compress_heat\ttell me when to take the heat pack off\ttakeoff_timer\n"
                     "saddle\tnah\tno\n"  # an older stage and label: the word judge, as before
                     "track\tthat was lovely\temergency\n")  # a deliberate miss
    result = run_module("evaluation.understanding", "--misses", str(lines))
    assert result.returncode == 0, result.stderr
    assert "all: 1/1 = 100%" in result.stdout  # (the word judge's line)
    assert "scored by prompt keys: 4 phrases" in result.stdout and "NOT SCORED" not in result.stdout
    assert "tier-1 recall (emergency): 1/2 = 50%" in result.stdout
    assert "by stage: after_urgent 1/1 = 100%, compress_heat 1/1 = 100%, track 1/2 = 50%" in result.stdout
    assert "miss line 5 [track] 'that was lovely': expected emergency" in result.stdout


def test_every_issue_21_stage_has_a_walk_and_an_arrival_and_every_label_a_scoring_rule():
    check = ("from evaluation import by_keys as b\n"  # (the evaluation runs from the checkout, as the README says)
             "assert set(b.NEW_WALKS) == set(b.NEW_ARRIVALS) == set(b.NEW_STAGES)\n"
             "assert set(b.NEW_LABELS) <= set(b.RULES), set(b.NEW_LABELS) - set(b.RULES)\n")
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # every case, each serving the skill in its own process, some twice
def test_fault_injection_runs_every_case_against_a_served_skill_and_every_check_passes():
    """The command the faults note relies on: each case's turns and stored records are printed, and its
    checks (answers within a second, red flags with the emergency number, nothing lost) all pass."""
    result = subprocess.run([sys.executable, "-m", "simulator.faults", "--lock-seconds", "2"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    from simulator.faults import CASES

    for case in CASES:
        assert f"== {case}" in out
        assert any(line.split()[:1] == [case] for line in out.splitlines()), f"{case} has no row in the table"
    assert "FAIL" not in out and "not run" not in out and out.rstrip().endswith("every check passed")
    assert out.count("stored after") >= 4  # what was stored is shown, not only the verdicts
