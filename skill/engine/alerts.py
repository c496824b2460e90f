"""Alexa timers and reminders for the packs: what the guide asks the platform to keep time for.

The engine only plans (``StartTimer``, ``CreateReminders``, ``Cancel...``, ``AskPermission`` in
``Plan.effects``); the adapter carries the plan out and reports how it went with an ``effect_done``
event, answered here in a second pass. Alexa asks for permission by voice; its answer comes back as a
``permission`` event in a new request. A permission the person declined is not offered again for
``settings.timers.ask_again_after_days``, unless they ask for it in so many words.

Reminders follow the seed's schedule for the pack in use (every 2 hours on day one, every 4 with heat),
for the rest of the person's day in the device's time zone, never in the quiet hours
(``settings.reminders.quiet``), and say nothing medical ("Time for your next cold pack").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skill.engine import compress
from skill.engine.plan import (EFFECT_OUTCOMES, AskPermission, CancelReminders, CancelTimers, ClockTime,
                               CreateReminders, Event, StartTimer)
from skill.engine.record import PackTimer, iso, parse_time
from skill.engine.reply import Reply

UNKNOWN_ZONE = "unknown"  # Event.zone when the platform asked and could not find out
# "Alexa will ask for your permission": for a timer, and for reminders.
ASKING_PERMISSION = {"timer": "timers.asking_permission", "reminders": "reminders.asking_permission"}


# ---------------------------------------------------------------------------- the local time
def local_zone(reply: Reply) -> ZoneInfo | None:
    """The device's time zone. When nothing has said it yet, the plan asks the platform for it (it asks
    again with Event.zone set) and None is returned: answers that need it wait for that pass."""
    name = reply.event_zone or reply.record.alerts.zone
    if name is None:
        reply.plan.needs_zone = True
        return None
    if name == UNKNOWN_ZONE:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def quiet(reply: Reply, moment: datetime, zone: ZoneInfo) -> bool:
    start, end = reply.settings["reminders"]["quiet"]
    hour = moment.astimezone(zone).hour
    return hour >= start or hour < end


def next_times(reply: Reply) -> list[datetime]:
    """When the next packs are due for the rest of the person's day (none in the quiet hours); [] when
    the zone is unknown (no reminders at a guessed time) or no pack is in use."""
    use = compress.in_use(reply)
    zone = local_zone(reply)
    if use is None or zone is None:
        return []
    every = timedelta(hours=reply.settings["compress"][use.pack]["every_hours"])
    today = reply.now.astimezone(zone).date()
    times, moment = [], parse_time(use.at) + every
    while moment.astimezone(zone).date() == today and len(times) < reply.settings["reminders"]["most"]:
        if moment > reply.now and not quiet(reply, moment, zone):
            times.append(moment)
        moment += every
    return times


def reminders_offerable(reply: Reply) -> bool:
    """Reminders may be offered: there are packs still due today, none are set for them already, and
    the person has not declined the permission lately."""
    alerts = reply.record.alerts
    if declined_lately(reply, alerts.reminders_declined_at):
        return False
    times = next_times(reply)
    upcoming = [t for t in alerts.reminder_times if parse_time(t) and parse_time(t) > reply.now]
    return bool(times) and not (upcoming and alerts.reminders_pack == compress.in_use(reply).pack)


def declined_lately(reply: Reply, declined_at: str | None) -> bool:
    hours = reply.hours_since(declined_at)
    return hours is not None and hours < 24 * reply.settings["timers"]["ask_again_after_days"]


def times_param(reply: Reply) -> tuple:
    return tuple(ClockTime(t, reply.now) for t in next_times(reply))


# ---------------------------------------------------------------------------- planning
def plan_timer(reply: Reply, pack: str) -> None:
    """Ask the platform for a timer for ``pack``; what is said depends on how that goes (effect_done)."""
    minutes = reply.settings["compress"][pack]["minutes"]
    reply.plan.effects.append(StartTimer(pack, minutes, f"timers.announce_{pack}"))


def plan_reminders(reply: Reply) -> None:
    times = next_times(reply)
    use = compress.in_use(reply)
    if times and use is not None:
        cancel_reminders(reply)  # a new set replaces the old one (day two: heat; heat made it worse: cold)
        zone = reply.event_zone or reply.record.alerts.zone
        reply.plan.effects.append(CreateReminders(tuple(times), f"reminders.text_{use.pack}", zone))


def cancel_timers(reply: Reply) -> None:
    if reply.record.alerts.timer is not None:
        reply.plan.effects.append(CancelTimers())
        reply.record.alerts = replace(reply.record.alerts, timer=None)


def cancel_reminders(reply: Reply) -> None:
    alerts = reply.record.alerts
    if alerts.reminder_ids:
        reply.plan.effects.append(CancelReminders(alerts.reminder_ids))
    reply.record.alerts = replace(alerts, reminder_ids=(), reminder_times=(), reminders_pack=None)


def cancel_everything(reply: Reply) -> None:
    """The guide stopped for an emergency, or the person's data is deleted: no pack reminders after it."""
    cancel_timers(reply)
    cancel_reminders(reply)


# ---------------------------------------------------------------------------- outcomes and answers
def effect_done(reply: Reply, event: Event) -> None:
    """The platform tried what the last plan asked: say how it went, then the question again."""
    use = compress.in_use(reply)
    if use is None or reply.emergency_active():
        return reply.nav.launch()
    if event.target not in EFFECT_OUTCOMES:
        return carry_on(reply)  # nothing the engine asked for: the question again
    alerts = reply.record.alerts
    kind, _, outcome = event.target.partition("_")  # timer_set, reminders_need_permission...
    if event.target == "timer_set":
        minutes = reply.settings["compress"][use.pack]["minutes"]
        timer = PackTimer(use.pack, event.detail, reply.now_iso, minutes)
        reply.record.alerts = replace(alerts, timer=timer, waiting_for=None, asked_at=None)
        reply.say("timers.set", minutes=minutes, pack=f"timers.name_{use.pack}")
    elif event.target == "reminders_set":
        times = times_param(reply)
        reply.record.alerts = replace(alerts, reminder_ids=tuple(event.detail.split()), waiting_for=None,
                                      reminder_times=tuple(iso(t.at) for t in times),
                                      reminders_pack=use.pack, asked_at=None)
        reply.say("reminders.set", times=times)
    elif outcome.startswith("need") and (kind == "reminders" or not declined_lately(reply, alerts.declined_at)):
        # Alexa asks by voice; its answer comes back as a permission event, in a new request.
        reply.record.alerts = replace(alerts, waiting_for=kind, waiting_pack=use.pack, asked_at=reply.now_iso)
        reply.say(ASKING_PERMISSION[kind])
        reply.plan.effects.append(AskPermission("timers" if kind == "timer" else "reminders"))
        return reply.end()
    elif kind == "timer":
        reply.say("timers.failed")
        say_off_time(reply)
    else:
        reply.say("reminders.failed")
    carry_on(reply)


def permission(reply: Reply, event: Event) -> None:
    """Alexa's answer to a permission request: the timer or reminders if granted (and still wanted); if
    not, the time in words, and the offer is not made again for a week."""
    alerts = reply.record.alerts
    waiting, pack, asked = alerts.waiting_for, alerts.waiting_pack, reply.hours_since(alerts.asked_at)
    reply.record.alerts = replace(alerts, waiting_for=None, waiting_pack=None, asked_at=None)
    if waiting is None or pack is None or asked is None or reply.emergency_active():
        return reply.nav.launch()
    if event.target == "accepted":
        if asked * 60 <= reply.settings["timers"]["answer_within_minutes"]:
            plan_timer(reply, pack) if waiting == "timer" else plan_reminders(reply)
        return carry_on(reply)
    if waiting == "timer":
        reply.record.alerts = replace(reply.record.alerts, declined_at=reply.now_iso)
        reply.say("timers.declined")
        say_off_time(reply)
    else:
        reply.record.alerts = replace(reply.record.alerts, reminders_declined_at=reply.now_iso)
        reply.say("reminders.declined", times=times_param(reply))
    carry_on(reply)


def timer_request(reply: Reply, request: str) -> None:
    """ "How long is left?", "cancel the timer", "set a timer"."""
    left = compress.time_left(reply)
    if request == "cancel_timer" and left is not None:
        cancel_timers(reply)
        reply.say("timers.cancelled")
    elif left is not None:
        if not reply.opening:  # (opening a session, the welcome back says it)
            reply.plan.lines.append(left)  # "set a timer" while one runs: how long it has left
    elif request == "timer" and (pack_still_on(reply) or reply.screening_done()) and not reply.emergency_active():
        if not pack_still_on(reply):  # "set a timer for my ice pack": the next pack is on now
            pack = compress.todays_step(reply).pack
            reply.record.episode = reply.record.episode.with_compress(pack, reply.now)
        # Asked for in so many words: a permission declined earlier is asked for again.
        reply.record.alerts = replace(reply.record.alerts, declined_at=None)
        plan_timer(reply, compress.in_use(reply).pack)
    elif request == "timer":
        reply.say("timers.when_pack_on")
    else:
        reply.say("timers.none_running")


def reminder_request(reply: Reply, request: str) -> None:
    """ "Remind me", "cancel my reminders", "when is my next pack due?"."""
    alerts = reply.record.alerts
    if request == "next_due":  # "when is my next pack due?"
        line = compress.next_due(reply) or compress.time_left(reply)
        if line is None and compress.in_use(reply) is None:
            reply.say("reminders.when_pack_on")
        elif line is None:  # the plan moved on to another pack: today's plan, in words
            reply.plan.lines.extend(compress.todays_plan(reply))
        elif not reply.opening:  # (opening a session, the welcome back says it)
            reply.plan.lines.append(line)
        return
    if request == "cancel_reminders":
        reply.say("reminders.cancelled" if alerts.reminder_ids else "reminders.none_set")
        return cancel_reminders(reply)
    if compress.in_use(reply) is None or reply.emergency_active():
        reply.say("reminders.when_pack_on")
        return
    if not next_times(reply):
        if reply.plan.needs_zone:
            return  # asked again with the zone
        # No time zone for the device: no reminder at a guessed time of day.
        reply.say("reminders.none_today" if local_zone(reply) is not None else "reminders.failed")
        return
    reply.record.alerts = replace(alerts, reminders_declined_at=None)  # asked for in so many words
    plan_reminders(reply)


def pack_still_on(reply: Reply) -> bool:
    """The last pack went on less than its minutes ago (and isn't heat that made the pain worse)."""
    use = compress.in_use(reply)
    if use is None or (use.pack == "heat" and reply.record.heat_intolerant):
        return False
    return reply.now - parse_time(use.at) < compress.minutes(reply, use.pack)


def say_off_time(reply: Reply) -> None:
    """ "Take the cold pack off at 3:40 PM": when the pack in use comes off."""
    step = reply.step
    params = compress.pack_params(reply, replace(step, pack=compress.IN_USE)) if step is not None else {}
    if "when" in params:
        reply.say("timers.take_off", **params)


def remember_zone(reply: Reply) -> None:
    """Keep the zone the platform told, so later sessions need not ask."""
    zone = reply.event_zone
    if zone and zone != UNKNOWN_ZONE and zone != reply.record.alerts.zone:
        reply.record.alerts = replace(reply.record.alerts, zone=zone)


def carry_on(reply: Reply) -> None:
    if reply.step is not None and reply.step.is_question and reply.record.side_question is None:
        return reply.nav.render_step(reply.step)
    reply.nav.carry_on()
