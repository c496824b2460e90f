"""Many people at once against the production server, and whether each kept their own place (issue 22).

    .venv/bin/python -m bench.load [--users 2000] [--connections 64] [--store sqlite|dynamodb] [--out FILE]
    make load

gunicorn with `make serve`'s configuration on loopback (bench/served.py), keeping progress in its own SQLite
file, or with ``--store dynamodb`` in a table of dynalite's (a DynamoDB-compatible server on loopback). Every user is in a session at
once: all launch, then each takes their next turn after everyone else has taken theirs (``--connections``
requests in flight), through a walk of their own length (0 to 8 answers into the guide), then "stop", then
opens the skill again in a new session. Each user's clock is their own, so the record's ``episode.started``
names its owner (a record begun afresh at the reopening names the reopening).

The state check: every answer that echoes a record echoes its user's own (else "crossed"), and the reopening
finds the user's own record at the step the same walk reaches when one user at a time takes it through the
app in this process (else "lost"). Printed: users, requests, errors (5xx apart), requests a
second, latency p50/p99/max, and the state check. Exit status 1 on any error, crossed or lost record.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import queue
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.served import GunicornSkill, TimedTransport, dump, dynalite_store, percentile
from simulator.conversation import Conversation
from simulator.transport import TransportError

ANSWERS = ["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"] * 3  # a walk takes the first k of these
CLOCK = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Users' clocks are 10 s apart; each reopens an hour and 5 s after its launch, a time no user launches at.
REOPEN_AFTER = timedelta(hours=1, seconds=5)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    number: int
    transport: TimedTransport
    convo: Conversation = None
    turns: list = field(default_factory=list)  # what is still to say: "launch", an intent, "stop", "reopen"
    started: str = ""  # the user's clock at the launch, and at the reopening: no other user's clock is either
    reopens: str = ""
    reopened_at: str | None = None  # the step the reopening found
    crossed: bool = False  # an answer echoed someone else's record

    @property
    def walk(self) -> int:
        return self.number % (len(ANSWERS) + 1)

    @classmethod
    def make(cls, number: int, transport) -> "User":
        now = CLOCK + timedelta(seconds=10 * number)
        user = cls(number, transport, started=stamp(now), reopens=stamp(now + REOPEN_AFTER))
        user.convo = Conversation(transport, user_id=f"amzn1.ask.account.LOAD{number:06d}", now=now)
        user.turns = ["launch", *ANSWERS[:user.walk], "stop", "reopen"]
        return user

    def record(self) -> dict:
        return (self.convo.last or {}).get("sessionAttributes", {}).get("guide") or {}

    def take_turn(self) -> bool:
        """Say the next thing; whether the walk is over."""
        turn = self.turns.pop(0)
        if turn == "launch":
            self.convo.launch()
        elif turn == "stop":
            self.convo.say("AMAZON.StopIntent")
        elif turn == "reopen":
            self.convo.advance(seconds=REOPEN_AFTER.total_seconds())
            self.convo.launch()
        else:
            self.convo.say(turn)
        started = (self.record().get("episode") or {}).get("started")
        self.crossed |= started is not None and started not in (self.started, self.reopens)
        if turn == "reopen" and started == self.started:
            self.reopened_at = self.record().get("step")
        return self.crossed or not self.turns

    def outcome(self, expected: dict[int, str]) -> str:
        if self.crossed:
            return "crossed"
        return "ok" if self.reopened_at == expected[self.walk] else "lost"


def expected_steps() -> dict[int, str]:
    """Where each walk's reopening finds the user, by walk length: the same walks, one user at a time, through
    the app in this process (its own SQLite file)."""
    from skill.app import create_app
    from simulator.transport import InProcessTransport

    logging.disable(logging.WARNING)  # (this process's app: its log lines are not the run's)
    with tempfile.TemporaryDirectory(prefix="load-expected-") as tmp:
        app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": f"{tmp}/expected.sqlite3", "EXPOSE_PROMPT_KEYS": True})
        expected = {}
        for number in range(len(ANSWERS) + 1):
            user = User.make(number, InProcessTransport(client=app.test_client()))
            while not user.take_turn():
                pass
            expected[user.walk] = user.reopened_at
    logging.disable(logging.NOTSET)
    return expected


@dataclass
class Totals:
    latencies: list = field(default_factory=list)
    errors: int = 0
    server_errors: int = 0
    outcomes: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def worker(ready: queue.Queue, totals: Totals, expected: dict[int, str]) -> None:
    while True:
        user = ready.get()
        if user is None:
            return
        try:
            over = user.take_turn()
            outcome = user.outcome(expected) if over else None
        except TransportError:
            outcome = "unfinished"
            with totals.lock:
                totals.errors += 1
                totals.server_errors += user.transport.status >= 500
        with totals.lock:
            totals.latencies.append(user.transport.last)
            if outcome is not None:
                totals.outcomes[outcome] = totals.outcomes.get(outcome, 0) + 1
        if outcome is None:
            ready.put(user)  # behind everyone else's next turn


def run(skill: GunicornSkill, users: int, connections: int) -> dict:
    totals, ready, expected = Totals(), queue.Queue(), expected_steps()
    for number in range(users):
        ready.put(User.make(number, TimedTransport(skill.url)))
    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(ready, totals, expected), daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    finished = 0
    while finished < users:
        time.sleep(0.05)
        with totals.lock:
            finished = sum(totals.outcomes.values())
    took = time.monotonic() - started
    for _ in threads:
        ready.put(None)
    requests = len(totals.latencies)
    return {"users": users, "connections": connections, "requests": requests, "errors": totals.errors,
            "server_errors": totals.server_errors, "seconds": took, "per_second": requests / took,
            "p50": percentile(totals.latencies, .5), "p99": percentile(totals.latencies, .99),
            "max": max(totals.latencies, default=float("nan")), "ok": totals.outcomes.get("ok", 0),
            "crossed": totals.outcomes.get("crossed", 0), "lost": totals.outcomes.get("lost", 0),
            "unfinished": totals.outcomes.get("unfinished", 0)}


def print_row(r: dict) -> None:
    print(f"\n{'store':>8} {'users':>6} {'in flight':>9} {'requests':>8} {'errors':>6} {'5xx':>4} {'req/s':>6} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7} {'kept':>6} {'crossed':>7} {'lost':>5} {'unfinished':>10}")
    print(f"{r.get('store', '-'):>8} {r['users']:>6} {r['connections']:>9} {r['requests']:>8} {r['errors']:>6} {r['server_errors']:>4} "
          f"{r['per_second']:>6.0f} {1000 * r['p50']:>7.1f} {1000 * r['p99']:>7.1f} {1000 * r['max']:>7.1f} "
          f"{r['ok']:>6} {r['crossed']:>7} {r['lost']:>5} {r['unfinished']:>10}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=64, help="requests in flight at once")
    parser.add_argument("--store", choices=["sqlite", "dynamodb"], default="sqlite",
                        help="the store the server keeps progress in (dynamodb: dynalite on loopback)")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if not 0 < args.users <= 20_000 or not 0 < args.connections <= 512:
        parser.error("--users 1..20000 and --connections 1..512: a bounded run")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="load-"))
        env = stack.enter_context(dynalite_store()) if args.store == "dynamodb" else {}
        skill = stack.enter_context(GunicornSkill(Path(tmp), env=env))
        row = {"store": args.store, **run(skill, args.users, args.connections)}
    print_row(row)
    dump(args.out, row)
    return 1 if row["errors"] or row["crossed"] or row["lost"] or row["unfinished"] else 0


if __name__ == "__main__":
    sys.exit(main())
