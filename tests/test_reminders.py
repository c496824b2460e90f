"""Alexa reminders for the next packs, through the simulator's fake Alexa API (which validates each
payload against Amazon's schema), its voice consent and its clock, in the device's time zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from said import in_order, words
from simulator.cli import build_device
from simulator.fake_api import REMINDERS_SCOPE, TIMERS_SCOPE
from test_timers import announced, eventually, said

ZONE = ZoneInfo("America/New_York")


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


def at_the_reminder_offer(device):
    device.say("open back spasm coach")
    for _ in range(5):
        device.say("no")
    device.say("yes")  # rest
    device.say("yes")  # the cold pack is on
    return device.say("yes")[0]  # the timer: set; then the reminders are offered


def hours(speech: str) -> list[str]:
    """The hours of the times of day said, in order ("4 PM, 6 PM and 8 PM" -> 4, 6, 8): numbers, not words."""
    return re.findall(r"\b(\d{1,2})(?::\d\d)?\b", speech)


def texts(device) -> set[str]:
    return {c["text"] for r in reminders(device) for c in r["alertInfo"]["spokenInfo"]["content"]}


def reminders(device) -> list[dict]:
    return device.api.reminders(device.identity.user_id)


def local_times(device) -> list[datetime]:
    return [datetime.fromisoformat(r["trigger"]["scheduledTime"]) for r in reminders(device)]


def test_the_next_packs_are_restated_and_reminded_in_local_time_never_at_night(device):
    at_local(device, 14, 0)
    offer = at_the_reminder_offer(device)
    assert in_order(["reminders.times", "clock.at", "steps.reminders_offer.ask"], offer.keys.say)
    assert hours(offer.speech)[-3:] == ["4", "6", "8"], offer.speech  # not 10 PM: it is in the quiet hours
    asked = device.say("yes")[0]
    assert "Connections.SendRequest AskFor" in asked.directives and "reminders.asking_permission" in asked.keys.say
    granted = device.consent(True)[0]
    assert in_order(["reminders.set", "clock.at"], granted.keys.say) and hours(granted.speech)[:3] == ["4", "6", "8"]
    assert [t.strftime("%H:%M") for t in local_times(device)] == ["16:00", "18:00", "20:00"]
    assert {r["trigger"]["timeZoneId"] for r in reminders(device)} == {"America/New_York"}
    assert texts(device) == {words("reminders.text_cold")}  # nothing medical
    assert "reminders.text_cold" in announced(device.wait(timedelta(hours=2, minutes=1)))


def test_declined_reminders_leave_the_times_said_and_are_not_offered_again_for_a_week(device):
    device.api.grant(device.identity.user_id, TIMERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    declined = device.consent(False)[0]
    assert in_order(["reminders.declined", "clock.at"], declined.keys.say)
    assert reminders(device) == []
    device.say("stop")
    device.wait(timedelta(hours=2))
    device.say("open back spasm coach")
    device.say("go to the cold pack")
    device.say("yes")  # on
    after_timer = said(device, "yes")
    assert "timers.set" in after_timer and not any(key.startswith("reminders.") or "reminders_offer" in key
                                                   for key in after_timer)


def test_the_set_follows_the_plan_day_two_heat_then_heat_that_makes_it_worse_cancels_it(device):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("no")  # no reminders on day one
    device.say("stop")
    device.clock.set(device.clock.now() + timedelta(hours=24, minutes=30))  # the next morning: moist heat
    assert "events.how_is_back_ask" in said(device, "open back spasm coach")
    device.say("it's about the same")
    assert "compress_plan.changed" in said(device, "no")  # one safety question after a night, then the day's pack
    assert in_order(["steps.pack_timer.ask", "timers.name_heat"], said(device, "yes"))  # the heat is on: a timer?
    offer = device.say("yes")[0]
    assert in_order(["steps.reminders_offer.say", "timers.name_heat"], offer.keys.say)
    assert re.findall(r"\b\d{1,2}:\d\d\b", offer.speech)[-3:] == ["1:30", "5:30", "9:30"], offer.speech
    assert "reminders.set" in said(device, "yes")
    assert texts(device) == {words("reminders.text_heat")}
    device.say("the heat is making it worse")
    assert reminders(device) == [] and device.api.timers(device.identity.user_id, active_only=True) == []


def test_cancel_my_reminders_deletes_them(device):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    assert len(reminders(device)) >= 3
    assert "reminders.cancelled" in said(device, "cancel my reminders")
    assert reminders(device) == []


def test_a_red_flag_cancels_the_reminders_and_the_timer(device):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    flagged = device.say("my legs have gone numb")[0]
    assert "emergency.say" in flagged.keys.say and flagged.keys.triage == "emergency"
    assert eventually(lambda: reminders(device) == [] and not device.api.timers(device.identity.user_id,
                                                                               active_only=True))


@pytest.mark.parametrize("status", [429, 500, 504])
def test_a_reminder_service_failing_part_way_leaves_no_reminder_and_is_said(device, status):
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.api.fail_next(status, path="/v1/alerts/reminders", after=2)  # the third one fails
    failed = device.say("yes")[0]
    assert "reminders.failed" in failed.keys.say and failed.ends_session is False
    assert reminders(device) == []  # all or nothing: the two made are deleted again


def test_asking_again_replaces_the_set_and_cancel_then_leaves_none(device):
    """Before the fix, a second "remind me" added a second set; "cancel my reminders" and a red flag
    removed only the newer one, and the older kept saying "time for your next cold pack"."""
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("yes")
    first = len(reminders(device))
    assert "reminders.set" in said(device, "remind me about my cold packs")
    assert len(reminders(device)) == first
    device.say("cancel my reminders")
    assert reminders(device) == []


def test_the_features_own_words_are_understood(device):
    """Tester's words: "remind me" alone, "when is my next pack due", "stop reminding me"."""
    device.api.grant(device.identity.user_id, REMINDERS_SCOPE)
    at_local(device, 9, 0)
    at_the_reminder_offer(device)
    device.say("no")  # not now
    assert "reminders.set" in said(device, "remind me")
    assert in_order(["next_compress.due_at", "packs.cold", "clock.at"], said(device, "when is my next pack due"))
    assert "reminders.cancelled" in said(device, "stop reminding me")
    assert reminders(device) == []
