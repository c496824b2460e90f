"""Alexa timers for the packs, through the simulator: its fake Alexa API on loopback over HTTPS (which
validates every payload against Amazon's documented schema), its voice consent and its clock."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from said import in_order, words
from simulator.cli import build_device
from simulator.fake_api import TIMERS_SCOPE

# "Take the cold pack off at 3:40 PM": the time of day, not a timer.
TAKE_OFF_AT = ["timers.take_off", "timers.name_cold", "clock.at"]
# Everything that speaks of a timer.
TIMER_KEYS = {"steps.pack_timer.ask", "timers.set", "timers.failed", "timers.asking_permission", "timers.declined",
              "timers.left", "timers.left_one", "timers.cancelled", "timers.none_running", "timers.when_pack_on"}


@pytest.fixture
def device(tmp_path):
    dev = build_device(db_path=str(tmp_path / "timers.sqlite3"))
    yield dev
    dev.api.stop()


def at_the_timer_offer(device) -> tuple[str, ...]:
    """Through the safety questions and rest to "the cold pack is on": the timer offer (its keys)."""
    device.say("open back spasm coach")
    for _ in range(5):
        device.say("no")
    device.say("yes")
    return said(device, "yes")


def said(device, words_said: str) -> tuple[str, ...]:
    """The prompt keys of the skill's answer to ``words_said``."""
    return device.say(words_said)[0].keys.say


def announced(exchanges) -> list[str]:
    return [key for e in exchanges for key in e.keys.say]


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
    assert in_order(["steps.pack_timer.ask", "timers.name_cold"], at_the_timer_offer(device))
    asked = device.say("yes")[0]
    assert "Connections.SendRequest AskFor" in asked.directives and "timers.asking_permission" in asked.keys.say
    granted = device.consent(True)[0]
    assert "timers.set" in granted.keys.say and granted.ends_session is False
    (timer,) = timers(device)
    assert timer["duration"] == "PT15M" and timer["timerLabel"] == words("timers.label_cold")
    assert "timers.announce_cold" not in announced(device.wait(timedelta(minutes=14)))
    assert "timers.announce_cold" in announced(device.wait(timedelta(minutes=2)))


def test_asking_again_or_a_retried_request_never_makes_a_second_timer(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    assert "timers.set" in said(device, "yes")
    assert "steps.pack_timer.ask" in said(device, "go back")  # back to the offer
    assert "timers.set" in said(device, "yes")
    assert len(timers(device)) == 1


@pytest.mark.parametrize("answer", ["DENIED", "NOT_ANSWERED"])
def test_no_permission_gives_the_clock_time_and_is_not_asked_again_for_a_week(device, answer):
    at_the_timer_offer(device)
    device.say("yes")
    refused = answer_permission(device, answer)
    assert in_order(TAKE_OFF_AT, refused.keys.say) and refused.ends_session is False
    assert timers(device) == []
    # Later the same day, the next pack: no offer, no permission request, the time instead.
    device.say("stop")
    device.wait(timedelta(hours=2))
    device.say("open back spasm coach")
    device.say("go to the cold pack")
    next_pack = device.say("yes")[0]
    assert in_order(TAKE_OFF_AT, next_pack.keys.say) and not TIMER_KEYS & set(next_pack.keys.say)
    assert device.pending_consent is None


@pytest.mark.parametrize("status", [429, 500, 504])
def test_a_failing_timer_service_is_said_and_the_clock_time_given(device, status):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.api.fail_next(status, path="/v1/alerts/timers")
    failed = device.say("yes")[0]
    assert in_order(["timers.failed", *TAKE_OFF_AT], failed.keys.say)
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
    assert "emergency.say" in flagged.keys.say and flagged.keys.triage == "emergency"
    assert eventually(lambda: timers(device) == [])  # (cancelled after the answer, off its thread)
    assert [e.speech for e in device.wait(timedelta(minutes=20))] == []  # no "take the pack off" later


def test_delete_my_data_cancels_the_timers_too(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.say("yes")
    device.say("delete my data")
    assert said(device, "yes") == ("events.deleted",)
    assert timers(device) == []


def test_the_next_pack_gets_its_timer_when_asked_for(device):
    """Before, "set a timer" for the second pack of the day looped on "once your pack is on"."""
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.say("no")
    device.say("stop")
    device.wait(timedelta(hours=2))
    assert in_order(["next_compress.due_now", "packs.cold"], said(device, "open back spasm coach"))
    assert "timers.set" in said(device, "set a timer for my ice pack")
    assert len(timers(device)) == 1


def test_stopping_at_the_offer_still_says_when_the_pack_comes_off_on_coming_back(device):
    at_the_timer_offer(device)
    device.say("stop")
    device.wait(timedelta(minutes=1))
    back = said(device, "open back spasm coach")
    assert in_order(TAKE_OFF_AT, back) and "titles.legs_1" in back


def test_asking_for_a_timer_after_declining_asks_for_the_permission_again(device):
    at_the_timer_offer(device)
    device.say("yes")
    device.consent(False)
    asked = device.say("can you set a timer after all")[0]
    assert "Connections.SendRequest AskFor" in asked.directives and "timers.failed" not in asked.keys.say


def test_where_am_i_time_left_on_coming_back_and_when_asked_then_cancelled(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_the_timer_offer(device)
    device.say("yes")
    device.say("stop")
    device.wait(timedelta(minutes=9))
    back = device.say("open back spasm coach")[0]
    assert in_order(["timers.left", "timers.name_cold"], back.keys.say) and re.search(r"\b6\b", back.speech)
    device.wait(timedelta(seconds=5))
    asked = device.say("how long is left on the timer")[0]
    assert "timers.left" in asked.keys.say and re.search(r"\b6\b", asked.speech)  # (a number, not a word)
    assert "timers.cancelled" in said(device, "cancel the timer")
    assert timers(device) == []
    assert "timers.none_running" in said(device, "is the timer still going")
