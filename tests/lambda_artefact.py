"""The Lambda artefact for tests/test_deploy.py, packaged once, in the background, from the start of the run.

Packaging (scripts/lambda_check.py: the Serverless Framework, pip for Lambda's platform, bytecode, then the
artefact tried as Lambda would) takes half a minute, and most of it is waiting on node and pip. So when any
selected test uses ``lambda_artefact``, the check starts as soon as the tests are collected, those tests run
last, and everything else runs meanwhile. Nothing is skipped: a deselected run (``-m "not slow"``) starts
nothing, and a check that fails fails the tests that use it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = "lambda_artefact"
_RUN = pytest.StashKey[dict]()


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what they will
def pytest_collection_modifyitems(config, items):
    users = [item for item in items if FIXTURE in getattr(item, "fixturenames", ())]
    if not users or config.option.collectonly:
        return
    items[:] = [item for item in items if item not in users] + users
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "lambda_check.py"), "--json"],
                               stdout=out, stderr=err, text=True, start_new_session=True)
    config.stash[_RUN] = {"process": process, "out": out, "err": err}


def pytest_unconfigure(config):
    run = config.stash.get(_RUN, None)
    if run is not None and run["process"].poll() is None:  # the run stopped before the deploy tests (-x)
        os.killpg(run["process"].pid, signal.SIGKILL)  # with the Serverless Framework and pip it started
        run["process"].wait()


@pytest.fixture(scope="session")
def lambda_artefact(pytestconfig) -> dict:
    """What scripts/lambda_check.py --json found about the packaged artefact."""
    run = pytestconfig.stash[_RUN]
    returncode = run["process"].wait(timeout=900)
    run["out"].seek(0)
    run["err"].seek(0)
    out, err = run["out"].read(), run["err"].read()
    assert returncode == 0, out[-2000:] + err[-2000:]
    return json.loads(out.strip().splitlines()[-1])
