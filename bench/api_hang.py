"""Red flags and turns with the Alexa API hung, against the production server (issue 22, finding 12).

    .venv/bin/python -m bench.api_hang [--people 16 64] [--seconds 20] [--checkout PATH] [--out FILE]
    make api-hang

An Alexa API stand-in on loopback that takes every call and never answers (simulator/hung_api.py, HTTPS with a
certificate the server trusts, so each call runs to the skill's own timeout), and the skill under gunicorn with
`make serve`'s configuration (bench/served.py). For each crowd size, that many people talk at once, each
walking the guide to the turns that call the API (the time of day for "take the pack off at ...", then the
pack's timer), a new person after each walk, a second between turns (``--think``); meanwhile one more person says a red flag ("I can't feel my
legs", a new session) every quarter second. Printed for each crowd: the red flags' latency (p50, p99, max)
and whether each was the emergency answer; every turn's latency, and that of the turns that call the API.

``--checkout`` serves another checkout (e.g. a worktree of an older commit) for a before-and-after. Exit
status 1 when a red flag was not answered as an emergency, or its p99 reached 1 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.served import PROJECT_ROOT, GunicornSkill, TimedTransport, dump, percentile
from simulator.conversation import Conversation
from simulator.hung_api import HungAlexaApi
from simulator.transport import TransportError

RED_FLAG_GOAL = 1.0  # seconds, the red flag's p99 (issue 22)
RED_FLAG_EVERY = 0.25
# Seconds a person waits between an answer and their next turn: speaking a turn to Alexa takes longer, so this
# is many more turns a second than the same people would make; --think 0 floods the server instead.
THINK = 1.0
# A walk to the turns that call the Alexa API: the safety questions, rest, the cold pack, then the pack is on
# (its end said as a time of day: the device's zone), then yes to the timer.
WALK = ["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"] * 3
CALLS_API = {6, 7}  # the walk's turns (0-based, after the launch) that call the API


class ApiConversation(Conversation):
    """A conversation whose envelopes name ``api`` as the Alexa API endpoint."""

    def __init__(self, transport, api: str, **kw):
        super().__init__(transport, **kw)
        self.api = api

    def _kw(self) -> dict:
        return {**super()._kw(), "api_endpoint": self.api}


@dataclass
class Figures:
    red_flags: list[float] = field(default_factory=list)
    red_flags_wrong: int = 0
    turns: list[float] = field(default_factory=list)
    api_turns: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def table_row(self, people: int, api_calls: int) -> dict:
        return {"people": people, "red_flags": len(self.red_flags), "not_emergency": self.red_flags_wrong,
                "red_flag_p50": percentile(self.red_flags, .5), "red_flag_p99": percentile(self.red_flags, .99),
                "red_flag_max": max(self.red_flags, default=float("nan")), "turns": len(self.turns),
                "turn_p50": percentile(self.turns, .5), "turn_p99": percentile(self.turns, .99),
                "turn_max": max(self.turns, default=float("nan")), "api_turns": len(self.api_turns),
                "api_turn_p99": percentile(self.api_turns, .99), "errors": self.errors, "api_calls": api_calls}


def person(url: str, api: str, name: str, stop: threading.Event, figures: Figures, think: float) -> None:
    walks = 0
    while not stop.is_set():
        transport = TimedTransport(url)
        convo = ApiConversation(transport, api, user_id=f"amzn1.ask.account.HANG{name}W{walks}")
        walks += 1
        for index, intent in enumerate([None, *WALK]):
            if stop.wait(think):
                return
            try:
                convo.launch() if intent is None else convo.say(intent)
            except TransportError:
                with figures.lock:
                    figures.errors += 1
                break
            with figures.lock:
                figures.turns.append(transport.last)
                if index - 1 in CALLS_API:
                    figures.api_turns.append(transport.last)


def red_flags(url: str, api: str, stop: threading.Event, figures: Figures) -> None:
    n = 0
    while not stop.wait(RED_FLAG_EVERY):
        transport = TimedTransport(url)
        convo = ApiConversation(transport, api, user_id=f"amzn1.ask.account.HANGREDFLAG{n}")
        n += 1
        try:
            convo.say("DescribeSymptomIntent", {"description": "i can't feel my legs"})
            emergency = convo.keys.triage == "emergency"
        except TransportError:
            emergency = False
        with figures.lock:
            figures.red_flags.append(transport.last)
            figures.red_flags_wrong += not emergency


def run(people: int, seconds: float, skill: GunicornSkill, api: HungAlexaApi, think: float) -> dict:
    figures, stop = Figures(), threading.Event()
    calls_before = api.calls
    threads = [threading.Thread(target=person, args=(skill.url, api.url, f"{people}P{i}", stop, figures, think), daemon=True)
               for i in range(people)]
    threads.append(threading.Thread(target=red_flags, args=(skill.url, api.url, stop, figures), daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return figures.table_row(people, api.calls - calls_before)


def print_table(rows: list[dict], label: str) -> None:
    print(f"\nAlexa API hung ({label}): seconds; red flags every {RED_FLAG_EVERY} s beside the crowd")
    print(f"{'people':>6} {'red flags':>9} {'not 911':>7} {'rf p50':>7} {'rf p99':>7} {'rf max':>7} "
          f"{'turns':>6} {'turn p50':>8} {'turn p99':>8} {'turn max':>8} {'API turns':>9} {'API p99':>7} "
          f"{'errors':>6} {'API calls':>9}")
    for r in rows:
        print(f"{r['people']:>6} {r['red_flags']:>9} {r['not_emergency']:>7} {r['red_flag_p50']:>7.3f} "
              f"{r['red_flag_p99']:>7.3f} {r['red_flag_max']:>7.3f} {r['turns']:>6} {r['turn_p50']:>8.3f} "
              f"{r['turn_p99']:>8.3f} {r['turn_max']:>8.3f} {r['api_turns']:>9} {r['api_turn_p99']:>7.3f} "
              f"{r['errors']:>6} {r['api_calls']:>9}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=THINK,
                        help="seconds each person waits between an answer and their next turn (0: a flood)")
    parser.add_argument("--checkout", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    rows = []
    with HungAlexaApi(trust_requests=False) as api, tempfile.TemporaryDirectory(prefix="api-hang-") as tmp:
        for people in args.people:
            workdir = Path(tmp) / str(people)
            workdir.mkdir()
            # A fresh server per crowd: each starts with its breakers closed, as after a deploy.
            with GunicornSkill(workdir, args.checkout, env={"REQUESTS_CA_BUNDLE": api.ca_file}) as skill:
                rows.append(run(people, args.seconds, skill, api, args.think))
    print_table(rows, f"{args.checkout}, {args.think} s between a person's turns")
    dump(args.out, rows)
    failed = [r for r in rows if r["not_emergency"] or not r["red_flag_p99"] < RED_FLAG_GOAL]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
