#!/usr/bin/env python
"""A flood of forged certificate URLs at a skill that has just started: are Amazon's own requests answered?

    .venv/bin/python bench/cert_flood.py [--seconds 10] [--attackers 24]        (or: make cert-flood)

Everything on loopback, with real sockets (issue 22, finding 2):

* the skill: ``create_app`` with verification on, served by werkzeug's threaded server on a free port, as
  just started: no certificate cached, no URL proven;
* "s3.amazonaws.com": an HTTP server on loopback that every ``https://s3.amazonaws.com/`` fetch of the
  verifier reaches (its opener's only handler). It serves Amazon's chain, from a local PKI
  (bench/bench_endpoint.py), at ``/echo.api/echo-api-cert-12.pem``, and for any other path either hangs
  (reads the request, never answers: scenario "hang") or answers 404 at once ("404");
* forged requests: ``--attackers`` threads sending as fast as they can, each naming a new URL on that host:
  half made-up names, half Amazon's own file name with another number (echo-api-cert-13 to -99), all from
  the same address as the genuine requests;
* genuine requests: 4 threads, each a signed LaunchRequest naming Amazon's URL every 50 ms, starting once
  the flood has filled everything it can (0.3 s in).

Printed per scenario: genuine requests answered and their latency, how often Amazon's URL was fetched,
forged requests sent and refused, the fetches they caused at the host (a second), and the most fetches
hanging at once. Exit status 1 when a genuine request is refused, Amazon's URL is fetched more than once,
or forged URLs cause more fetches than ``forged_fetch_bound`` allows.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import itertools
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_endpoint import make_pki, percentile, signer  # noqa: E402 - the benchmark's local PKI and signer

from simulator.conversation import APPLICATION_ID, launch  # noqa: E402
from simulator.local_servers import serve_http_on_loopback  # noqa: E402
from skill.app import create_app  # noqa: E402
from skill.web import verification  # noqa: E402

AMAZON_PATH = "/echo.api/echo-api-cert-12.pem"
AMAZON_URL = f"https://s3.amazonaws.com{AMAZON_PATH}"
GENUINE_THREADS, GENUINE_EVERY = 4, 0.05
#: Amazon's own file names (echo-api-cert.pem, -1 to -99): each fetched at most once a failure memory.
AMAZON_NAMES = 100
FAILURE_MEMORY = 10.0  # seconds: the default SKILL_CERT_FAILURE_MEMORY


def forged_fetch_bound(seconds: float) -> int:
    """The most fetches forged URLs can cause in ``seconds`` (before the change: ~190 a second against a
    host answering 404): each of Amazon's file names once a failure memory, and the other lane's allowance
    for the process (a burst, then one every so often)."""
    return (AMAZON_NAMES * math.ceil(seconds / FAILURE_MEMORY) + verification.UNPROVEN_FETCH_BURST
            + int(seconds / verification.UNPROVEN_FETCH_EVERY))


class LoopbackS3:
    """The certificate host on loopback: Amazon's chain at AMAZON_PATH; any other path hangs or is a 404."""

    def __init__(self, chain: bytes, hang: bool):
        self.fetches: dict[str, int] = {}
        self.hanging = self.most_hanging = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with host.lock:
                    host.fetches[self.path] = host.fetches.get(self.path, 0) + 1
                if self.path == AMAZON_PATH:
                    return self.answer(200, chain)
                if not hang:
                    return self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>")
                with host.lock:
                    host.hanging += 1
                    host.most_hanging = max(host.most_hanging, host.hanging)
                host.release.wait(60)  # never answers while the flood lasts
                with host.lock:
                    host.hanging -= 1
                self.close_connection = True

            def answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server, _ = serve_http_on_loopback(Handler)
        port = self.server.server_address[1]

        class ToLoopback(urllib.request.HTTPHandler):
            """https://s3.amazonaws.com/... goes to the loopback host (plain HTTP; nothing else is reachable)."""

            def https_open(self, req):
                return self.do_open(lambda _host, **kw: http.client.HTTPConnection("127.0.0.1", port, **kw), req)

        self.opener = urllib.request.OpenerDirector()
        for handler in (ToLoopback(), urllib.request.HTTPErrorProcessor(), urllib.request.HTTPDefaultErrorHandler(),
                        urllib.request.UnknownHandler()):
            self.opener.add_handler(handler)

    def close(self):
        self.release.set()
        self.server.shutdown()


@dataclass
class Tally:
    genuine_ms: list[float] = field(default_factory=list)
    genuine_refused: int = 0
    forged_sent: int = 0
    forged_refused: int = 0
    forged_held_over_1s: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def post(port: int, body: bytes, headers: dict) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/alexa", body, {"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def flood(port: int, sign_for, seconds: float, attackers: int) -> tuple[Tally, float]:
    tally = Tally()
    names = itertools.count()
    stop_at = time.monotonic() + seconds

    def forged_url() -> str:
        n = next(names)
        if n % 2:
            return f"https://s3.amazonaws.com/echo.api/made-up-{n}.pem"
        return f"https://s3.amazonaws.com/echo.api/echo-api-cert-{13 + (n // 2) % 87}.pem"

    def attacker():
        while time.monotonic() < stop_at:
            body = json.dumps(launch()).encode()
            started = time.monotonic()
            status = post(port, body, sign_for(forged_url())(body))
            with tally.lock:
                tally.forged_sent += 1
                tally.forged_refused += status == 400
                tally.forged_held_over_1s += time.monotonic() - started > 1.0

    def genuine():
        sign = sign_for(AMAZON_URL)
        while time.monotonic() < stop_at:
            body = json.dumps(launch()).encode()
            headers = sign(body)
            started = time.monotonic()
            status = post(port, body, headers)
            took = (time.monotonic() - started) * 1000
            with tally.lock:
                if status == 200:
                    tally.genuine_ms.append(took)
                else:
                    tally.genuine_refused += 1
            time.sleep(GENUINE_EVERY)

    threads = [threading.Thread(target=attacker, daemon=True) for _ in range(attackers)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the flood holds everything it can before Amazon's first request
    started = time.monotonic()
    genuine_threads = [threading.Thread(target=genuine, daemon=True) for _ in range(GENUINE_THREADS)]
    for thread in genuine_threads:
        thread.start()
    for thread in threads + genuine_threads:
        thread.join()
    return tally, time.monotonic() - started + 0.3


def scenario(name: str, hang: bool, pki, seconds: float, attackers: int, tmp: Path) -> dict:
    verification.clear_certificate_cache()  # a fresh start: nothing cached, nothing proven
    host = LoopbackS3(pki.chain_pem, hang=hang)
    app = create_app({"VERIFY_REQUESTS": True, "SKILL_ID": APPLICATION_ID, "DB_PATH": str(tmp / f"{name}.sqlite3"),
                      "CERT_OPENER": host.opener, "CERT_TRUST_ROOTS": [pki.root_pem], "SECOND_LINE": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tally, elapsed = flood(server.server_port, lambda url: signer(pki, url), seconds, attackers)
    finally:
        server.shutdown()
        host.close()
    forged_fetches = sum(n for path, n in host.fetches.items() if path != AMAZON_PATH)
    ms = tally.genuine_ms or [float("nan")]
    return {"scenario": name, "genuine_sent": len(tally.genuine_ms) + tally.genuine_refused,
            "genuine_answered": len(tally.genuine_ms), "genuine_p50_ms": percentile(ms, 0.5),
            "genuine_p99_ms": percentile(ms, 0.99), "amazon_url_fetches": host.fetches.get(AMAZON_PATH, 0),
            "forged_sent": tally.forged_sent, "forged_refused": tally.forged_refused,
            "forged_held_over_1s": tally.forged_held_over_1s, "forged_fetches": forged_fetches,
            "forged_fetches_per_second": forged_fetches / elapsed, "forged_fetch_bound": forged_fetch_bound(elapsed),
            "most_hanging_at_once": host.most_hanging}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each flood lasts (default 10)")
    parser.add_argument("--attackers", type=int, default=24, help="threads sending forged requests (default 24)")
    args = parser.parse_args(argv)
    if not 0.5 <= args.seconds <= 120 or not 1 <= args.attackers <= 256:
        parser.error("--seconds must be 0.5..120 and --attackers 1..256")
    logging.basicConfig(level=logging.WARNING, stream=open(os.devnull, "w"), force=True)  # noqa: SIM115
    warnings.filterwarnings("ignore", message="Properties that return a na.ve datetime object")
    pki = make_pki()
    with tempfile.TemporaryDirectory(prefix="bsc-flood-") as tmp:
        rows = [scenario(name, hang, pki, args.seconds, args.attackers, Path(tmp))
                for name, hang in (("hang", True), ("404", False))]
    print(f"{'host':<6} {'genuine answered':>17} {'p50 ms':>7} {'p99 ms':>7} {'Amazon URL fetched':>19} "
          f"{'forged sent':>12} {'refused':>8} {'held >1 s':>10} {'forged fetches':>15} {'bound':>6} {'/s':>6} "
          f"{'hanging max':>12}")
    failures = []
    for r in rows:
        print(f"{r['scenario']:<6} {r['genuine_answered']:>8} of {r['genuine_sent']:<6} {r['genuine_p50_ms']:>7.1f} "
              f"{r['genuine_p99_ms']:>7.1f} {r['amazon_url_fetches']:>19} {r['forged_sent']:>12} "
              f"{r['forged_refused']:>8} {r['forged_held_over_1s']:>10} {r['forged_fetches']:>15} "
              f"{r['forged_fetch_bound']:>6} {r['forged_fetches_per_second']:>6.1f} {r['most_hanging_at_once']:>12}")
        if r["genuine_answered"] != r["genuine_sent"] or not r["genuine_sent"]:
            failures.append(f"{r['scenario']}: {r['genuine_sent'] - r['genuine_answered']} genuine requests refused")
        if r["amazon_url_fetches"] != 1:
            failures.append(f"{r['scenario']}: Amazon's URL fetched {r['amazon_url_fetches']} times, not once")
        if r["forged_fetches"] > r["forged_fetch_bound"]:
            failures.append(f"{r['scenario']}: {r['forged_fetches']} forged fetches, over {r['forged_fetch_bound']}")
    print(f"({args.attackers} attackers and {GENUINE_THREADS} genuine callers from one loopback address, "
          f"{args.seconds:g} s a scenario, the default certificate fetch timeout)")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
