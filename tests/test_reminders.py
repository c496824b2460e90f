"""Alexa reminders for the next packs, through the simulator's fake Alexa API (which validates each
payload against Amazon's schema), its voice consent and its clock, in the device's time zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from simulator.cli import build_device
from simulator.fake_api import REMINDERS_SCOPE, TIMERS_SCOPE
from test_timers import eventually

ZONE = ZoneInfo("America/New_York")
TIMES = re.compile(r"\d{1,2}(:\d\d)? (AM|PM)")


@pytest.fixture
def device(tmp_path):
    dev = build_device(db_path=str(tmp_path / "reminders.sqlite3"))
    dev.api.device_time_zone = ZONE
    dev.api.grant(dev.identity.user_id, TIMERS_SCOPE)
    yield dev
    dev.api.stop()


def at_local(device, hour: int, minute: int = 0) -> None:
    """Let time pass until the device's clock reads hour:minute (today or tomorrow)."""
    now = device.clock.now().astimezone(ZONE)
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    device.clock.set(target)


def at_the_reminder_offer(device) -> str:
    device.say("open back spasm coach")
    for _ in range(5):
        device.say("no")
    device.say("yes")  # rest
    device.say("yes")  # the cold pack is on
    return device.say("yes")[0].speech  # the timer: set; then the reminders are offered


def reminders(device) -> list[dict]:
    return device.api.reminders(device.identity.user_id)


def local_times(device) -> list[datetime]:
    return [datetime.fromisoformat(r["trigger"]["scheduledTime"]) for r in reminders(device)]


def test_the_next_packs_are_restated_and_reminded_in_local_time_never_at_night(device):
    at_local(device, 14, 0)
    offer = at_the_reminder_offer(device)
    assert "shall i remind you then" in offer.lower()
    assert "4 PM, 6 PM and 8 PM" in offer and "10 PM" not in offer, offer  # 10 PM is in the quiet hours
    asked = device.say("yes")[0]
    assert "Connections.SendRequest AskFor" in asked.directives and "permission" in asked.speech
    granted = device.consent(True)[0]
    assert "I'll remind you at 4 PM, 6 PM and 8 PM" in granted.speech
    assert [t.strftime("%H:%M") for t in local_times(device)] == ["16:00", "18:00", "20:00"]
    assert {r["trigger"]["timeZoneId"] for r in reminders(device)} == {"America/New_York"}
    texts = {c["text"] for r in reminders(device) for c in r["alertInfo"]["spokenInfo"]["content"]}
    assert texts == {"Time for your next cold pack."}  # nothing medical
    fired = [e.speech for e in device.wait(timedelta(hours=2, minutes=1))]
    assert "Time for your next cold pack." in fired


def test_declined_reminders_leave_the_times_said_and_are_not_offered_again_for_a_week(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    declined = device.consent(False)[0]
    assert "no reminders" in declined.speech.lower() and TIMES.search(declined.speech)
    assert reminders(device) == []
    device.say("stop")
    device.wait(timedelta(hours=2))
    device.say("open back spasm coach")
    device.say("go to the cold pack")
    device.say("yes")  # on
    after_timer = device.say("yes")[0].speech.lower()
    assert "timer is running" in after_timer and "reminders" not in after_timer


def test_the_set_follows_the_plan_day_two_heat_then_heat_that_makes_it_worse_cancels_it(device):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("no")  # no reminders on day one
    device.say("stop")
    device.clock.set(device.clock.now() + timedelta(hours=24, minutes=30))  # the next morning: moist heat
    assert "moved on" in device.say("open back spasm coach")[0].speech
    for _ in range(5):
        device.say("no")  # the safety questions again, after a night
    assert "timer for the heat" in device.say("yes")[0].speech  # the heat is on: a timer?
    offer = device.say("yes")[0].speech
    assert "when your next heat pack is due" in offer and "1:30 PM, 5:30 PM and 9:30 PM" in offer
    assert "remind you" in device.say("yes")[0].speech
    assert {c["text"] for r in reminders(device) for c in r["alertInfo"]["spokenInfo"]["content"]} == {
        "Time for your next heat pack."}
    device.say("the heat is making it worse")
    assert reminders(device) == [] and device.api.timers(device.identity.user_id, active_only=True) == []


def test_cancel_my_reminders_deletes_them(device):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    assert len(reminders(device)) >= 3
    assert "cancelled your reminders" in device.say("cancel my reminders")[0].speech
    assert reminders(device) == []


def test_a_red_flag_cancels_the_reminders_and_the_timer(device):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    flagged = device.say("my legs have gone numb")[0]
    assert "nine one one" in flagged.speech.lower()
    assert eventually(lambda: reminders(device) == [] and not device.api.timers(device.identity.user_id,
                                                                               active_only=True))


@pytest.mark.parametrize("status", [429, 500, 504])
def test_a_reminder_service_failing_part_way_leaves_no_reminder_and_is_said(device, status):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.api.fail_next(status, path="/v1/alerts/reminders", after=2)  # the third one fails
    failed = device.say("yes")[0]
    assert "couldn't set the reminders" in failed.speech and failed.ends_session is False
    assert reminders(device) == []  # all or nothing: the two made are deleted again


def test_asking_again_replaces_the_set_and_cancel_then_leaves_none(device):
    """Before the fix, a second "remind me" added a second set; "cancel my reminders" and a red flag
    removed only the newer one, and the older kept saying "time for your next cold pack"."""
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    first = len(reminders(device))
    assert "remind you" in device.say("remind me about my cold packs")[0].speech
    assert len(reminders(device)) == first
    device.say("cancel my reminders")
    assert reminders(device) == []


def test_the_features_own_words_are_understood(device):
    """Tester's words: "remind me" alone, "when is my next pack due", "stop reminding me"."""
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("no")  # not now
    assert "I'll remind you" in device.say("remind me")[0].speech
    assert re.search(r"next cold pack is due at \d", device.say("when is my next pack due")[0].speech)
    assert "cancelled your reminders" in device.say("stop reminding me")[0].speech
    assert reminders(device) == []
