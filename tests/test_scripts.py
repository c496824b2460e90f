"""The developer scripts the README and the closing notes rely on still run and still tell the truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_transcript_walks_from_the_one_shot_to_the_summary():
    result = run("scripts/transcript.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("User: Alexa, tell back spasm coach my back is spasming")
    assert "Welcome back." in out and "Here's your plan." in out


def test_triage_eval_reports_recall_and_false_alarms_through_the_endpoint(tmp_path):
    phrases = tmp_path / "phrases.tsv"
    phrases.write_text("# phrase\ttier\ni can't feel my legs\t1\ni have a fever\t2\ni have no fever\t0\n"
                       "my back is sore\t0\nmy nose is itchy\t1\n")  # the last one is a deliberate miss
    result = run("scripts/triage_eval.py", str(phrases))
    assert result.returncode == 0, result.stderr
    assert "Tier 1 recall: 1/2 = 50.0%" in result.stdout
    assert "Tier 2 recall: 1/1 = 100.0%" in result.stdout
    assert "False-alarm rate: 0/2 = 0.0%" in result.stdout
    assert "my nose is itchy" in result.stdout.split("Misses")[1]


def test_benchmark_walk_through_still_reaches_the_summary(client):
    """The benchmark's turn mix must stay a complete walk-through as the guide changes."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_endpoint

    timed = bench_endpoint.TimedClient(client, None)
    assert bench_endpoint.run_walk_throughs(timed, len(bench_endpoint.WALK_THROUGH), "SCRIPTTEST-") == 1
