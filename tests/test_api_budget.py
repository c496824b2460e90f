"""A slow Alexa API must not hold the request threads a red flag needs (issue 22, finding 12). Against a stand-in
that takes every call and never answers (simulator/hung_api.py: HTTPS on loopback), through ask-sdk's own
service clients and the skill's BoundedApiClient, and through the production server (gunicorn, `make serve`'s
configuration) with people talking at once."""

from __future__ import annotations

import threading
import time

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.services import ApiConfiguration
from ask_sdk_model.services.timer_management import TimerManagementServiceClient

from simulator.hung_api import HungAlexaApi
from skill.alexa import effects


@pytest.fixture(scope="module")
def hung_api():
    with HungAlexaApi() as api:  # (trusted by requests in this process while it runs)
        yield api


def timers_client(api_client, hung_api) -> TimerManagementServiceClient:
    return TimerManagementServiceClient(ApiConfiguration(serializer=DefaultSerializer(), api_client=api_client,
                                                         authorization_value="token", api_endpoint=hung_api.url))


def timed_calls(client, n: int) -> tuple[float, list[str]]:
    """How long ``n`` calls took in all, and how each ended (the exception's class)."""
    started, ended = time.monotonic(), []
    for _ in range(n):
        try:
            client.get_timers()
            ended.append("answered")
        except Exception as exc:  # noqa: BLE001 - how it failed is the point
            ended.append(type(exc).__name__)
    return time.monotonic() - started, ended


def in_a_turn(target, *args):
    """Run ``target`` in a thread of its own, as a request's turn: its own context, its own API budget."""
    result = {}

    def turn():
        with effects.api_turn():
            result["value"] = target(*args)

    thread = threading.Thread(target=turn)
    thread.start()
    thread.join(timeout=30)
    return result["value"]


def test_a_turns_calls_share_one_budget_then_the_breaker_skips_them(hung_api):
    """Before: each call ran to its own 2.5 s, so a turn of four calls took 10 s and the next turn as long."""
    api_client = effects.BoundedApiClient()
    client = timers_client(api_client, hung_api)
    calls_before = hung_api.calls
    took, ended = in_a_turn(timed_calls, client, 4)
    made = hung_api.calls - calls_before
    assert took < effects.API_TURN_BUDGET + 0.5, (took, ended)
    assert "answered" not in ended and made < 4  # the rest of the turn: skipped

    # Three failures in a row have opened the breaker: the next turn's calls are skipped at once, none made.
    took, ended = in_a_turn(timed_calls, client, 3)
    assert took < 0.2 and hung_api.calls - calls_before == made, (took, ended)


def test_a_process_lets_only_some_request_threads_wait_on_the_api(hung_api):
    """The other threads stay free: a turn that finds every API caller waiting skips its call at once."""
    api_client = effects.BoundedApiClient(callers=2)
    client = timers_client(api_client, hung_api)
    calls_before = hung_api.calls
    results: list[tuple[float, list[str]]] = []
    turns = [threading.Thread(target=lambda: results.append(in_a_turn(timed_calls, client, 1))) for _ in range(6)]
    for turn in turns:
        turn.start()
    for turn in turns:
        turn.join(timeout=30)
    quick = [took for took, _ in results if took < 0.2]
    assert len(results) == 6 and len(quick) == 4 and hung_api.calls - calls_before == 2, results


def test_calls_off_a_request_thread_wait_for_no_caller_slot(hung_api):
    """A red flag's cancellations run in a thread of their own: no turn to hold up, no slot taken from one."""
    api_client = effects.BoundedApiClient(callers=1)
    client = timers_client(api_client, hung_api)
    started = time.monotonic()
    took, ended = timed_calls(client, 1)  # (this thread has no turn budget)
    assert ended == ["ServiceException"] and took <= effects.API_TIMEOUT + 0.5
    assert time.monotonic() - started >= 1.0  # it did wait on the API, with no slot needed


@pytest.mark.slow
@pytest.mark.parametrize("people", [16])
def test_red_flags_do_not_queue_behind_turns_waiting_on_a_hung_api(tmp_path, hung_api, people):
    """gunicorn with `make serve`'s configuration, people walking to the turns that call the hung API, and red
    flags beside them (bench/api_hang.py for 16 and 64 people and longer). Before: turns 5-30 s, red flags up
    to 6 s at 16 people and 14 s at 64."""
    from bench.api_hang import run
    from bench.served import GunicornSkill

    with GunicornSkill(tmp_path, env={"REQUESTS_CA_BUNDLE": hung_api.ca_file}) as skill:
        row = run(people, 6.0, skill, hung_api, think=0.5)
    assert row["red_flags"] >= 10 and row["not_emergency"] == 0 and row["errors"] == 0, row
    assert row["red_flag_p99"] < 1.0, row
    assert row["turn_max"] < effects.API_TURN_BUDGET + 1.5, row
    assert row["api_turns"] > 0, row


def test_half_of_the_servers_threads_may_wait_on_the_alexa_api_whatever_their_number():
    """The callers' limit keeps threads free for red flags only if it follows SKILL_THREADS: fixed at 4, a server
    run with 4 threads could have every one of them waiting on a hung API."""
    from skill.alexa.effects import api_callers

    assert [api_callers(threads) for threads in (1, 2, 4, 8, 16)] == [1, 1, 2, 4, 8]
