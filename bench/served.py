"""The skill under the production web server, for the load and latency commands: gunicorn with `make serve`'s
configuration (skill/web/gunicorn_conf.py: a process per core, 8 threads each) on a free loopback port, its own
SQLite file, verification off (these commands measure the skill, not the signature check), and the prompt keys
shown (skill/web/endpoint.py) so an answer's kind can be checked. ``checkout`` serves another checkout of the
project (an older commit, for a before-and-after) with this Python."""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import uuid
from pathlib import Path

from simulator.faults import ServedSkill
from simulator.local_servers import free_port, start_dynalite, wait_until_answering
from simulator.transport import Answer, HttpTransport, TransportError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class GunicornSkill(ServedSkill):
    def __init__(self, workdir: Path, checkout: Path = PROJECT_ROOT, env: dict | None = None):
        workdir = Path(workdir)
        super().__init__(db_path=workdir / "load.sqlite3", log_path=workdir / "gunicorn.log")
        self.checkout, self.extra_env = Path(checkout), env or {}
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alexa"

    def start(self, wait: float = 60) -> "GunicornSkill":
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "SKILL_DB": str(self.db_path),
               "SKILL_VERIFY_REQUESTS": "0", "SKILL_EXPOSE_PROMPT_KEYS": "1", "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": str(self.checkout), **self.extra_env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:skill.web.gunicorn_conf", "skill.app:create_app()"],
                cwd=self.checkout, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(self.health, self.process, "gunicorn", wait, self.log_path, pause=0.2)
        except RuntimeError:
            self.stop()
            raise
        return self

    def __enter__(self) -> "GunicornSkill":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()  # (SIGTERM: each worker writes what it still has queued)


class TimedTransport(HttpTransport):
    """POSTs an envelope; ``last`` is how long the answer took (seconds), ``status`` its HTTP status (0: none)."""

    def __init__(self, url: str, timeout: float = 30.0):
        super().__init__(url, timeout)
        self.last, self.status = 0.0, 0

    def post(self, envelope: dict) -> Answer:
        started = time.monotonic()
        self.status = 0
        try:
            answer = super().post(envelope)
            self.status = 200
            return answer
        except TransportError as exc:
            cause = exc.__cause__
            self.status = cause.code if isinstance(cause, urllib.error.HTTPError) else 0
            raise
        finally:
            self.last = time.monotonic() - started


DYNAMODB_REGION = "us-east-1"


@contextlib.contextmanager
def dynalite_store():
    """A DynamoDB-compatible server (dynalite, in memory, on loopback: installed by scripts/bootstrap) with an
    empty table as serverless.yml declares it; yields the environment that points the skill at it (with
    throw-away credentials: botocore signs every call, and no real ones may be used)."""
    import boto3

    process, endpoint = start_dynalite()
    try:
        table = f"load-{uuid.uuid4().hex[:12]}"
        credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": ""}
        client = boto3.client("dynamodb", region_name=DYNAMODB_REGION, endpoint_url=endpoint,
                              aws_access_key_id="test", aws_secret_access_key="test")
        client.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield {"SKILL_STORE": "dynamodb", "SKILL_DYNAMODB_TABLE": table, "SKILL_DYNAMODB_ENDPOINT": endpoint,
               "AWS_REGION": DYNAMODB_REGION, **credentials}
    finally:
        process.terminate()
        process.wait(timeout=5)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (nan when there are none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def dump(path: str | None, figures) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2))
