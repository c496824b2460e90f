"""Fuzzed request bodies against POST /alexa (issue 22): no 5xx, whatever arrives.

    .venv/bin/python -m bench.fuzz [--bodies 10000] [--seed 22]
    make fuzz

Hypothesis draws each body: most are real envelopes of every kind the skill answers (the simulator's builders:
launches, each intent with and without its slots, session ends, skill events, the player's requests, permission
answers, CanFulfill, a type nobody sends) with up to five fields replaced by any JSON value, removed, or joined
by new ones; the rest are bytes, truncated JSON or JSON that is no envelope. Each goes to the real app
(``create_app``, verification off, its own SQLite file) through Flask's test client, and its answer must be a
200 with a response Alexa would take (under 24 KB, no session attributes but the skill's own) or a 400/413
with a JSON error, never a 5xx. The Alexa API endpoint a body names is kept on loopback (a refused port), so
nothing leaves the machine.

Prints the bodies sent by answer status and any problem found (hypothesis shrinks it to a small body first).
Exit status 1 on any problem.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections import Counter

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from simulator.conversation import (NO_ALEXA_API, envelope, exception_encountered, intent, launch, session_ended,
                                    skill_disabled)

MAX_RESPONSE_BYTES = 24 * 1024
OWN_SESSION_KEYS = {"guide", "progress_unread", "device_zone"}


def _request(kind: str, **fields) -> dict:
    return envelope({"type": kind, "requestId": "amzn1.echo-api.request.fuzz", "locale": "en-US",
                     "timestamp": "2026-11-29T08:00:00Z", **fields})


def base_envelopes() -> list[dict]:
    """One real envelope of each kind the skill answers, and a few it doesn't."""
    from skill.alexa.handlers import handled_intent_names

    bases = [launch(), session_ended(), session_ended("ERROR"), skill_disabled(), exception_encountered(),
             launch(session_attributes={"guide": {"version": 2, "step": "rest"}}, new_session=False)]
    for name in sorted(handled_intent_names()):
        bases.append(intent(name))
        bases.append(intent(name, {"description": "i can't feel my legs", "symptom": "numb legs", "step": "rest",
                                   "minutes": "5"}, new_session=False))
    bases += [_request("CanFulfillIntentRequest", intent={"name": "StartGuideIntent", "slots": {}}),
              _request("AudioPlayer.PlaybackStopped", token="breathing", offsetInMilliseconds=1000),
              _request("PlaybackController.PauseCommandIssued"),
              _request("Connections.Response", name="AskFor", status={"code": "200", "message": "OK"},
                       payload={"status": "ACCEPTED"}, token="permission:timers"),
              _request("Display.ElementSelected", token="x"), _request("Messaging.MessageReceived", message={})]
    return bases


BASES = base_envelopes()

scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=40) | st.sampled_from(["", " ", "\ud800", "\n\r\t", "x" * 5000, "IntentRequest",
                                                     "LaunchRequest", "AMAZON.YesIntent", "en-US", "ja-JP",
                                                     "2026-11-29T08:00:00Z", "2026-13-45T99:99:99", "-1", "1e999"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def paths(value, prefix=()) -> list[tuple]:
    """Every path to a value inside ``value`` (dict keys and list indices)."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


def at(value, path):
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated_envelope(draw) -> dict:
    env = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 5))):
        path = draw(st.sampled_from(paths(env) or [()]))
        if not path:
            break
        parent, key = at(env, path[:-1]), path[-1]
        operation = draw(st.sampled_from(["replace", "remove", "add"]))
        if operation == "replace":
            parent[key] = draw(json_values)
        elif operation == "remove":
            del parent[key]
        elif isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=12))] = draw(json_values)
    system = (env.get("context") or {}).get("System") if isinstance(env.get("context"), dict) else None
    if isinstance(system, dict) and "apiEndpoint" in system:
        system["apiEndpoint"] = NO_ALEXA_API  # kept on loopback: a fuzzed body never reaches another host
    return env


def as_body(env) -> bytes:
    return json.dumps(env).encode()


bodies = st.one_of(
    mutated_envelope().map(as_body),  # (weighted: one_of draws each branch alike, so the envelope comes thrice)
    mutated_envelope().map(as_body),
    mutated_envelope().map(as_body),
    st.binary(max_size=300),
    st.tuples(mutated_envelope().map(as_body), st.integers(0, 4000)).map(lambda pair: pair[0][:pair[1]]),
    json_values.map(lambda value: json.dumps(value).encode()),
)


def answer_problem(status: int, data: bytes) -> str | None:
    """What is wrong with an answer, or None."""
    if status >= 500:
        return f"HTTP {status}"
    try:
        body = json.loads(data)
    except ValueError:
        return f"HTTP {status} without a JSON body"
    if status in (400, 413):
        return None if isinstance(body, dict) and body.get("error") else f"HTTP {status} without an error"
    if status != 200:
        return f"HTTP {status}"
    if not isinstance(body, dict) or not isinstance(body.get("response"), dict):
        return "a 200 without a response"
    if len(data) > MAX_RESPONSE_BYTES:
        return f"a {len(data)}-byte response"
    stray = set(body.get("sessionAttributes") or {}) - OWN_SESSION_KEYS
    return f"session attributes echoed: {sorted(stray)[:3]}" if stray else None


def fuzz(bodies_to_send: int, run_seed: int = 22) -> tuple[Counter, list[str], float]:
    """Send ``bodies_to_send`` fuzzed bodies; (answers by status, problems, seconds)."""
    import logging

    from skill.app import create_app

    logging.disable(logging.CRITICAL)  # 10,000 bodies' log lines are not the point here
    statuses: Counter = Counter()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": f"{tmp}/fuzz.sqlite3"})
        client = app.test_client()

        @seed(run_seed)
        @settings(max_examples=bodies_to_send, deadline=None, database=None, derandomize=False,
                  phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
        @given(bodies)
        def one_body(body: bytes) -> None:
            response = client.post("/alexa", data=body, content_type="application/json")
            statuses[response.status_code] += 1
            problem = answer_problem(response.status_code, response.get_data())
            if problem:
                problems.append(f"{problem}: {body[:300]!r}")
                raise AssertionError(problem)

        started = time.monotonic()
        try:
            one_body()
        except AssertionError:
            pass  # (shrunk to its smallest example: the last problem recorded)
        finally:
            logging.disable(logging.NOTSET)
        return statuses, problems, time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args(argv)
    statuses, problems, took = fuzz(args.bodies, args.seed)
    sent = sum(statuses.values())
    print(f"{sent} fuzzed bodies in {took:.0f} s: " + ", ".join(f"{n} x HTTP {s}" for s, n in sorted(statuses.items()))
          + f"; 5xx: {sum(n for s, n in statuses.items() if s >= 500)}")
    for problem in problems[-3:]:
        print("problem:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
