#!/usr/bin/env python
"""Each configuration mistake, made through the way in it would be made, and the line it prints.

    .venv/bin/python scripts/config_mistakes.py [--only WORDS...]     (or: make config-mistakes)

Every row starts a real process from the checkout: `make run`, `flask run`, `make serve`, gunicorn with
skill/web/gunicorn_conf.py, or the Lambda module's import. A setting that cannot be used
must stop it before it serves, with one line naming the setting and no traceback; a store that cannot be
reached must not stop it, but show as "degraded" in /healthz. The DynamoDB rows use loopback only: a closed
port for "no network", and for "no table" a stand-in that answers every call as DynamoDB answers for a table
that does not exist (the same against dynalite: tests/test_storage_dynamodb.py).

Exit status 1 when a row does not behave so.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from simulator.local_servers import free_port, serve_http_on_loopback

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def entry_command(entry: str, port: int) -> list[str]:
    return {
        "make run": ["make", "--no-print-directory", "run"],
        "flask run": [PY, "-m", "flask", "--app", "skill.app", "run", "--host", "127.0.0.1", "--port", str(port),
                      "--no-reload"],
        "make serve": ["make", "--no-print-directory", "serve"],
        "gunicorn": [PY, "-m", "gunicorn", "-c", "python:skill.web.gunicorn_conf", "skill.app:create_app()"],
        "Lambda import": [PY, "-c", "import skill.aws_lambda"],
    }[entry]


@dataclass
class Mistake:
    what: str  # as a person would write it
    entry: str  # make run, flask run, make serve, gunicorn (-c skill/web/gunicorn_conf.py), Lambda import
    env: dict[str, str]
    setting: str  # the variable the line must name
    make_args: list[str] = field(default_factory=list)
    starts_degraded: bool = False  # not a refusal: the server starts, /healthz says degraded


DYNAMODB = {"SKILL_STORE": "dynamodb", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
MISTAKES = [
    Mistake("make run PORT=99999", "make run", {}, "PORT", make_args=["PORT=99999"]),
    Mistake("make run PORT=http", "make run", {}, "PORT", make_args=["PORT=http"]),
    Mistake("SKILL_CERT_FETCH_TIMEOUT=3s", "flask run", {"SKILL_CERT_FETCH_TIMEOUT": "3s"}, "SKILL_CERT_FETCH_TIMEOUT"),
    Mistake("SKILL_CERT_FETCH_TIMEOUT=0", "flask run", {"SKILL_CERT_FETCH_TIMEOUT": "0"}, "SKILL_CERT_FETCH_TIMEOUT"),
    Mistake("SKILL_STORE_RETRY_SECONDS=soon", "flask run", {"SKILL_STORE_RETRY_SECONDS": "soon"},
            "SKILL_STORE_RETRY_SECONDS"),
    Mistake("SKILL_STORE_TTL_DAYS=half-a-year", "Lambda import", {"SKILL_STORE_TTL_DAYS": "half-a-year"},
            "SKILL_STORE_TTL_DAYS"),
    Mistake("SKILL_STORE=foo", "flask run", {"SKILL_STORE": "foo"}, "SKILL_STORE"),
    Mistake("SKILL_VERIFY_REQUESTS=maybe", "flask run", {"SKILL_VERIFY_REQUESTS": "maybe"}, "SKILL_VERIFY_REQUESTS"),
    Mistake("WEB_CONCURRENCY=two", "make serve", {"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY"),
    Mistake("SKILL_THREADS=0", "make serve", {"SKILL_THREADS": "0"}, "SKILL_THREADS"),
    Mistake("SKILL_READ_TIMEOUT=5s", "gunicorn", {"SKILL_READ_TIMEOUT": "5s"}, "SKILL_READ_TIMEOUT"),
    Mistake("SKILL_ID in quotes", "flask run", {"SKILL_ID": "'amzn1.ask.skill.1234'"}, "SKILL_ID"),
    Mistake("SKILL_DYNAMODB_ENDPOINT=localhost:8000", "flask run", {**DYNAMODB,
            "SKILL_DYNAMODB_ENDPOINT": "localhost:8000"}, "SKILL_DYNAMODB_ENDPOINT"),
    Mistake("verification on, SKILL_ID unset", "make serve", {"SKILL_VERIFY_REQUESTS": "1", "SKILL_ID": ""},
            "SKILL_ID"),
    Mistake("verification on, SKILL_ID unset", "Lambda import", {"SKILL_VERIFY_REQUESTS": "1", "SKILL_ID": ""},
            "SKILL_ID"),
    Mistake("DynamoDB without credentials", "flask run",
            {"SKILL_STORE": "dynamodb", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_EC2_METADATA_DISABLED": "true"}, "store", starts_degraded=True),
    Mistake("DynamoDB without network", "flask run", {**DYNAMODB, "SKILL_DYNAMODB_ENDPOINT": "CLOSED_PORT"},
            "store", starts_degraded=True),
    Mistake("DynamoDB without its table", "flask run", {**DYNAMODB, "SKILL_DYNAMODB_ENDPOINT": "NO_TABLE"},
            "store", starts_degraded=True),
]


@contextmanager
def dynamodb_without_tables():
    """An HTTP endpoint answering every DynamoDB call as DynamoDB does when the table does not exist."""
    payload = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                          "message": "Requested resource not found"}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server, url = serve_http_on_loopback(Handler)
    try:
        yield url
    finally:
        server.shutdown()


def health(port: int, process: subprocess.Popen, deadline: float) -> dict | None:
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as res:
                return json.load(res)
        except OSError:
            time.sleep(0.1)
    return None


def run(mistake: Mistake, no_table_endpoint: str, work: Path) -> dict:
    port = free_port()
    endpoints = {"CLOSED_PORT": f"http://127.0.0.1:{free_port()}", "NO_TABLE": no_table_endpoint}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SKILL_DB": str(work / f"{port}.sqlite3"), "PORT": str(port),
           "HOST": "127.0.0.1", "SKILL_VERIFY_REQUESTS": "0", "SKILL_SECOND_LINE": "0", "WEB_CONCURRENCY": "1"}
    env.pop("SKILL_ID", None)
    env.update({k: endpoints.get(v, v) for k, v in mistake.env.items()})
    command = entry_command(mistake.entry, port) + mistake.make_args
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    status = None
    if mistake.starts_degraded:
        status = health(port, process, started + 30)
        process.terminate()
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    seconds = time.monotonic() - started
    lines = [line for line in (out + err).splitlines() if line.strip()]
    if status is not None:
        line = json.dumps(status)
        ok = status.get("status") == "degraded"
    else:
        errors = [line for line in lines if line.startswith("configuration error:")]
        line = errors[0] if errors else (lines[-1] if lines else "(nothing)")
        ok = (process.returncode not in (0, None) and len(errors) == 1 and mistake.setting in line
              and not any("Traceback" in x for x in lines))
    exit_status = "runs" if mistake.starts_degraded else process.returncode
    return {"what": mistake.what, "entry": mistake.entry, "exit": exit_status, "seconds": round(seconds, 1),
            "line": line, "ok": ok, "output_lines": len(lines)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Each configuration mistake and the line it prints.")
    parser.add_argument("--only", nargs="+", metavar="WORDS", help="only the rows whose mistake contains one")
    args = parser.parse_args(argv)
    chosen = [m for m in MISTAKES if not args.only or any(words in m.what for words in args.only)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="config-mistakes-") as tmp, dynamodb_without_tables() as no_table:
        for mistake in chosen:
            rows.append(run(mistake, no_table, Path(tmp)))
    width = max(len(r["what"]) for r in rows)
    print(f"{'mistake':<{width}}  {'through':<13}  exit  {'s':>4}  what it prints")
    for r in rows:
        mark = "" if r["ok"] else "   <-- NOT AS IT SHOULD BE"
        print(f"{r['what']:<{width}}  {r['entry']:<13}  {str(r['exit']):>4}  {r['seconds']:>4}  {r['line']}{mark}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
