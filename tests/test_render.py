"""The renderer's own words come from the content: list joining and the clock (prompts, locales.yaml)."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from skill.engine import ContentError, load_content
from skill.engine.content import CONTENT_DIR, Prompts
from skill.engine.plan import Breathing, Card, ClockTime, Line, Plan
from skill.render import LocalClock, Renderer

CONTENT = load_content()
UTC = LocalClock(zone=lambda: timezone.utc)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def own_words(tree) -> None:
    """The words these tests read, written here: rewording the shipped prompts changes none of these tests
    (scripts/reword_prompts.py), which are about how the renderer puts the words together."""
    tree["reminders"]["set"] = "Okay, I'll remind you {times}."
    tree["clock"].update(at="at {time}", am="{time} AM", pm="{time} PM")
    tree["lists"] = {"two": "{first} and {second}", "more": "{first}, {others}"}


def content_with(change=None):
    """The content with the en-US prompts given ``own_words``, then edited by ``change`` (of the raw tree)."""
    tree = yaml.safe_load((CONTENT_DIR / "prompts" / "en-US.yaml").read_text(encoding="utf-8"))
    own_words(tree)
    if change is not None:
        change(tree)
    return dataclasses.replace(CONTENT, prompts={**CONTENT.prompts, "en-US": Prompts("en-US", tree)})


def with_prompts(change=None) -> Renderer:
    return Renderer(content_with(change))


def with_clock_hours(hours: int) -> Renderer:
    content = content_with()
    locales = {name: dataclasses.replace(info, clock_hours=hours) for name, info in content.locales.items()}
    return Renderer(dataclasses.replace(content, locales=locales))


def times(*hours: float) -> tuple[ClockTime, ...]:
    return tuple(ClockTime(NOW.replace(hour=0) + timedelta(hours=h), NOW) for h in hours)


def said(renderer: Renderer, moments) -> str:
    return renderer.text(Line("reminders.set", {"times": moments}), "en-US", clock=UTC)


def test_times_are_joined_with_the_prompts_words():
    renderer = with_prompts()
    assert said(renderer, times(16)) == "Okay, I'll remind you at 4 PM."
    assert said(renderer, times(16, 18)) == "Okay, I'll remind you at 4 PM and 6 PM."
    assert said(renderer, times(16, 18, 20)) == "Okay, I'll remind you at 4 PM, 6 PM and 8 PM."
    assert said(renderer, times(9.5, 16, 18, 20)) == "Okay, I'll remind you at 9:30 AM, 4 PM, 6 PM and 8 PM."


def test_reworded_list_words_are_what_is_said():
    def reword(tree):
        tree["lists"] = {"two": "{first} plus {second}", "more": "{first}; {others}"}
    assert said(with_prompts(reword), times(16, 18, 20)) == "Okay, I'll remind you at 4 PM; 6 PM plus 8 PM."


def test_the_am_and_pm_words_come_from_the_prompts():
    def reword(tree):
        tree["clock"].update(am="{time} in the morning", pm="{time} in the afternoon")
    assert said(with_prompts(reword), times(9.5, 16)) == \
        "Okay, I'll remind you at 9:30 in the morning and 4 in the afternoon."


@pytest.mark.parametrize("hour, twelve, twenty_four", [
    (0, "12 AM", "0:00"), (9.5, "9:30 AM", "9:30"), (12, "12 PM", "12:00"), (15 + 40 / 60, "3:40 PM", "15:40"),
])
def test_a_locale_says_the_time_on_its_own_clock(hour, twelve, twenty_four):
    assert said(with_prompts(), times(hour)) == f"Okay, I'll remind you at {twelve}."
    assert said(with_clock_hours(24), times(hour)) == f"Okay, I'll remind you at {twenty_four}."


def test_every_shipped_locale_has_a_12_hour_clock():
    assert {info.clock_hours for info in CONTENT.locales.values()} == {12}


@pytest.mark.parametrize("value", [None, 13, "12-hour"])
def test_a_locale_without_a_12_or_24_hour_clock_stops_the_skill_from_starting(tmp_path, value):
    directory = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, directory)
    path = directory / "locales.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if value is None:
        del raw["locales"]["en-GB"]["clock_hours"]
    else:
        raw["locales"]["en-GB"]["clock_hours"] = value
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ContentError, match=f"locales.yaml en-GB: clock_hours must be 12 or 24, not {value!r}"):
        load_content(directory)


def test_the_renderer_names_the_keys_it_used_in_the_order_said():
    """Lines, then notices, then the question; a nested Line or prompt key after its line's; each breathing key
    once; the reprompt's and the card's apart."""
    now = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    plan = Plan(lines=[Line("steps.screening_clear.say"), Breathing(3, 4, 6),
                       Line("next_compress.due_at", {"pack": "packs.cold", "when": ClockTime(now, now)})],
                question=Line("events.resume_ask", {"title": Line("titles.legs_1")}),
                reprompt=Line("events.resume_reprompt"), end_session=False,
                card=Card(Line("emergency.card_title"), [Line("emergency.say")]))
    rendered = Renderer(CONTENT).render(plan, "en-US", notices=(Line("events.save_failed"),))
    assert rendered.keys == ("steps.screening_clear.say", "breathing.first_in", "breathing.first_out",
                             "breathing.in", "breathing.out", "next_compress.due_at", "packs.cold",
                             "clock.in_a_minute", "events.save_failed", "events.resume_ask", "titles.legs_1")
    assert rendered.reprompt_keys == ("events.resume_reprompt",)
    assert rendered.card_keys == ("emergency.card_title", "emergency.say")


# ---------------------------------------------------------------------------- a moment said with its day
def with_day(hours_from_now: float, zone) -> tuple[str, ...]:
    """The keys said for "until {cold_ends}" (compress_plan.cold_today), the first day ending in ``hours_from_now``."""
    moment = ClockTime(NOW + timedelta(hours=hours_from_now), NOW, with_day=True)
    line = Line("compress_plan.cold_today", {"cold_ends": moment, "minutes": 15, "every_hours": 2})
    rendered = Renderer(CONTENT).render(Plan(lines=[line]), "en-US", clock=LocalClock(zone=lambda: zone))
    return rendered.keys


@pytest.mark.parametrize("hours, day", [(9, "clock.today"), (14.99, "clock.today"), (15, "clock.tomorrow"),
                                        (23, "clock.tomorrow")])
def test_the_end_of_the_first_day_is_said_with_its_day_on_the_device_clock(hours, day):
    # 9 AM UTC is midnight in 15 hours: "about 6 PM today" before, "about 9 AM tomorrow" after.
    assert with_day(hours, timezone.utc) == ("compress_plan.cold_today", day)


def test_the_day_follows_the_device_zone_not_utc():
    chicago = timezone(timedelta(hours=-6))  # 3 AM there: midnight is 21 hours away
    assert with_day(18, chicago) == ("compress_plan.cold_today", "clock.today")
    assert with_day(22, chicago) == ("compress_plan.cold_today", "clock.tomorrow")


def test_where_the_zone_is_unknown_the_end_of_the_first_day_is_counted_from_now():
    assert with_day(20, None) == ("compress_plan.cold_today", "clock.hours_from_now")
    assert with_day(0.8, None) == ("compress_plan.cold_today", "clock.an_hour_from_now")
