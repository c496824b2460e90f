"""Alexa timers for the packs, through the simulator: its fake Alexa API on loopback over HTTPS (which
validates every payload against Amazon's documented schema), its voice consent and its clock."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from simulator.cli import build_device
from simulator.fake_api import TIMERS_SCOPE

TAKE_OFF_AT = re.compile(r"take the cold pack off at \d{1,2}(:\d\d)? (AM|PM)", re.IGNORECASE)


@pytest.fixture
def device(tmp_path):
    dev = build_device(db_path=str(tmp_path / "timers.sqlite3"))
    yield dev
    dev.api.stop()


def at_the_timer_offer(device) -> str:
    """Through the safety questions and rest to "the cold pack is on": the timer offer."""
    device.say("open back spasm coach")
    for _ in range(5):
        device.say("no")
    device.say("yes")
    return device.say("yes")[0].speech


def eventually(condition, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def timers(device) -> list[dict]:
    return device.api.timers(device.identity.user_id, active_only=True)


def answer_permission(device, status: str):
    """Alexa's Connections.Response to the pending AskFor, with any answer (the device sends only two)."""
    directive, device.pending_consent = device.pending_consent, None
    device._new_session()
    env = device.envelopes.connections_response(
        "AskFor", {"permissionScope": TIMERS_SCOPE, "status": status}, directive.get("token", ""), device.session)
    return device._send(env, f"(consent {status.lower()})")


def test_yes_asks_permission_by_voice_then_one_timer_announces_when_the_pack_comes_off(device):
    assert "15-minute timer for the cold pack" in at_the_timer_offer(device)
    asked = device.say("yes")[0]
    assert "Connections.SendRequest AskFor" in asked.directives and "permission" in asked.speech
    granted = device.consent(True)[0]
    assert "timer is running" in granted.speech and granted.ends_session is False
    (timer,) = timers(device)
    assert timer["duration"] == "PT15M" and timer["timerLabel"] == "cold pack"
    assert "Time to take the cold pack off." not in [e.speech for e in device.wait(timedelta(minutes=14))]
    assert "Time to take the cold pack off." in [e.speech for e in device.wait(timedelta(minutes=2))]


def test_asking_again_or_a_retried_request_never_makes_a_second_timer(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    assert "timer is running" in device.say("yes")[0].speech
    assert "15-minute timer" in device.say("go back")[0].speech  # back to the offer
    again = device.say("yes")[0]
    assert "timer is running" in again.speech
    assert len(timers(device)) == 1


@pytest.mark.parametrize("answer", ["DENIED", "NOT_ANSWERED"])
def test_no_permission_gives_the_clock_time_and_is_not_asked_again_for_a_week(device, answer):
    at_the_timer_offer(device)
    device.say("yes")
    refused = answer_permission(device, answer)
    assert TAKE_OFF_AT.search(refused.speech) and refused.ends_session is False
    assert timers(device) == []
    # Later the same day, the next pack: no offer, no permission request, the time instead.
    device.say("stop")
    device.wait(timedelta(hours=2))
    device.say("open back spasm coach")
    device.say("go to the cold pack")
    next_pack = device.say("yes")[0]
    assert TAKE_OFF_AT.search(next_pack.speech) and "timer" not in next_pack.speech.lower()
    assert device.pending_consent is None


@pytest.mark.parametrize("status", [429, 500, 504])
def test_a_failing_timer_service_is_said_and_the_clock_time_given(device, status):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.api.fail_next(status, path="/v1/alerts/timers")
    failed = device.say("yes")[0]
    assert "couldn't set the timer" in failed.speech and TAKE_OFF_AT.search(failed.speech)
    assert failed.ends_session is False and timers(device) == []


def test_a_permission_withdrawn_since_is_asked_for_once_more(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.api.fail_next(401, path="/v1/alerts/timers")
    asked = device.say("yes")[0]
    assert "Connections.SendRequest AskFor" in asked.directives


def test_a_red_flag_while_the_timer_runs_is_answered_first_and_the_timer_cancelled(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.say("yes")
    assert len(timers(device)) == 1
    flagged = device.say("my legs have gone numb")[0]
    assert "nine one one" in flagged.speech.lower()
    assert eventually(lambda: timers(device) == [])  # (cancelled after the answer, off its thread)
    assert [e.speech for e in device.wait(timedelta(minutes=20))] == []  # no "take the pack off" later


def test_delete_my_data_cancels_the_timers_too(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.say("yes")
    device.say("delete my data")
    assert "deleted" in device.say("yes")[0].speech.lower()
    assert timers(device) == []


def test_the_next_pack_gets_its_timer_when_asked_for(device):
    """Before, "set a timer" for the second pack of the day looped on "once your pack is on"."""
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.say("no")
    device.say("stop")
    device.wait(timedelta(hours=2))
    assert "time for your next cold pack" in device.say("open back spasm coach")[0].speech.lower()
    assert "timer is running" in device.say("set a timer for my ice pack")[0].speech
    assert len(timers(device)) == 1


def test_stopping_at_the_offer_still_says_when_the_pack_comes_off_on_coming_back(device):
    at_the_timer_offer(device)
    device.say("stop")
    device.wait(timedelta(minutes=1))
    back = device.say("open back spasm coach")[0].speech
    assert TAKE_OFF_AT.search(back) and "leg positions" in back


def test_asking_for_a_timer_after_declining_asks_for_the_permission_again(device):
    at_the_timer_offer(device)
    device.say("yes")
    device.consent(False)
    asked = device.say("can you set a timer after all")[0]
    assert "Connections.SendRequest AskFor" in asked.directives and "couldn't" not in asked.speech


def test_where_am_i_time_left_on_coming_back_and_when_asked_then_cancelled(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.say("yes")
    device.say("stop")
    device.wait(timedelta(minutes=9))
    assert "cold pack timer has about 6 minutes left" in device.say("open back spasm coach")[0].speech
    device.wait(timedelta(seconds=5))
    assert "about 6 minutes left" in device.say("how long is left on the timer")[0].speech
    assert "cancelled the timer" in device.say("cancel the timer")[0].speech
    assert timers(device) == []
    assert "no timer running" in device.say("is the timer still going")[0].speech
