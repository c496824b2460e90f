"""Today's compress plan and when the next pack is due, from the record and the protocol.

The seed: cold for about 15 minutes every 2 hours during the first day, then moist heat for about
15 minutes every 4 hours until the spasms die down; heat first in later episodes; cold only once heat
has made the pain worse. Which of these applies *now* is decided in one place, the protocol's
compress router (role ``compress``), so the step a person is sent to, the summary and the
"welcome back" all agree, and the plan moves on with the day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from skill.engine import protocol  # (packs: the one list of compress kinds)
from skill.engine.plan import ClockTime, Line
from skill.engine.protocol import Step
from skill.engine.record import parse_time
from skill.engine.reply import Reply


def todays_step(reply: Reply) -> Step:
    """The compress step that fits this person now (cold today, moist heat, heat first, cold only)."""
    return reply.protocol.steps[reply.nav.route(reply.protocol.role("compress"), consume=False)]


def pack_params(reply: Reply, step: Step) -> dict:
    """{minutes} and {every_hours} of the step's own pack, and {<pack>_minutes}/{<pack>_every_hours}
    of every pack, for lines that speak of the next one ("then moist heat for ..."), and {cold_ends}: when the
    first day's cold ends ("until about 6 PM tomorrow").
    A step with ``pack: in_use`` (the timer offer after "the pack is on") speaks of the pack in use: its
    {minutes}, its name as {pack} and {when} it comes off."""
    timings = {name: reply.settings["compress"][name] for name in protocol.packs(reply.protocol)}
    params = {"cold_ends": cold_phase_end(reply)}
    for name, spec in timings.items():
        params[f"{name}_minutes"] = spec["minutes"]
        params[f"{name}_every_hours"] = spec["every_hours"]
    pack = step.pack
    if pack == IN_USE:
        use = in_use(reply)
        # (None put on yet, say in a damaged record: today's pack, with no time to take it off)
        pack = use.pack if use is not None else todays_step(reply).pack
        params["pack"] = f"timers.name_{pack}"
        if use is not None:
            params["when"] = ClockTime(parse_time(use.at) + minutes(reply, pack), reply.now)
    if pack:
        params.update(minutes=timings[pack]["minutes"], every_hours=timings[pack]["every_hours"])
    return params


def cold_phase_end(reply: Reply) -> ClockTime:
    """When the cold phase (rules.py's cold_phase: the episode's first hours) ends: the moment the plan's own
    rule moves on to heat, said with its day on the device's clock."""
    started = parse_time(reply.record.episode.started) or reply.now
    ends = started + timedelta(hours=reply.settings["compress"]["cold_phase_hours"])
    return ClockTime(ends, reply.now, with_day=True)


# protocol.yaml `pack: in_use`: the step is about whichever pack was put on last.
IN_USE = "in_use"


def in_use(reply: Reply):
    """The last pack put on in this episode (a CompressUse), or None."""
    log = reply.record.episode.compress_log
    return log[-1] if log else None


def minutes(reply: Reply, pack: str) -> timedelta:
    return timedelta(minutes=reply.settings["compress"][pack]["minutes"])


def todays_plan(reply: Reply, with_next: bool = False) -> list[Line]:
    """ "Use moist heat for about 15 minutes, every 4 hours, until the spasms die down." — and with
    ``with_next``, on day one what changes tomorrow. The person is then on record as told."""
    step = todays_step(reply)
    told(reply, step)
    params = pack_params(reply, step)
    names = (step.plan, step.plan_next) if with_next else (step.plan,)
    return [Line(f"compress_plan.{name}", params) for name in names if name]


def plan_moved_on(reply: Reply) -> bool:
    """Since the person was last told their compress plan, it changed: day two, or heat made it worse."""
    told = reply.record.episode.compress_plan
    return told is not None and told != todays_step(reply).plan


def told(reply: Reply, step: Step) -> None:
    """The person has now been told the plan ``step`` stands for."""
    if step.plan:
        reply.record.episode = replace(reply.record.episode, compress_plan=step.plan)


def next_due(reply: Reply) -> Line | None:
    """ "Your next moist heat is due in about 2 hours" — for today's pack, never yesterday's."""
    log = reply.record.episode.compress_log
    if not log:
        return None
    pack = todays_step(reply).pack
    last = log[-1]
    pack_line = f"packs.{pack}"
    if last.pack != pack:
        return None  # the plan moved on to another pack: its own line says what to do
    every = timedelta(hours=reply.settings["compress"][pack]["every_hours"])
    due = parse_time(last.at) + every
    minutes = int((due - reply.now).total_seconds() // 60)
    if minutes <= 0:
        return Line("next_compress.due_now", {"pack": pack_line})
    if reply.record.alerts.zone:  # "due at 3:40 PM" where the device's zone is known
        return Line("next_compress.due_at", {"pack": pack_line, "when": ClockTime(due, reply.now)})
    return Line("next_compress.due_later", {"pack": pack_line, "due": _duration(minutes)})


def due_now(reply: Reply) -> bool:
    """Today's pack is due: its interval has passed since the last one, or none was put on yet though the person
    has been told the plan (a person who went straight to the breathing has not met the packs yet)."""
    pack = todays_step(reply).pack
    uses = [use for use in reply.record.episode.compress_log if use.pack == pack]
    if not uses:
        return reply.record.episode.compress_plan is not None
    every = timedelta(hours=reply.settings["compress"][pack]["every_hours"])
    return parse_time(uses[-1].at) + every <= reply.now


def past_the_packs(reply: Reply) -> bool:
    """The person is on a step of the guide after the packs (legs, breathing, exercises...): an info step about
    no pack, other than rest, which comes before them."""
    step = reply.step
    return step is not None and step.kind == "info" and step.pack is None \
        and step.id != reply.protocol.roles["comfort_start"]


def pack_is_the_care(reply: Reply) -> bool:
    """Coming back at a pack, or with nothing under way (a finished guide, an urgent answer, a goodbye): the care
    of the day is today's pack."""
    step = reply.step
    return step is None or step.kind in ("end", "outcome") or step.pack is not None


def due_before_the_step(reply: Reply) -> bool:
    """Coming back, today's pack comes first (with its timer offer), then the step the person was on: it is due,
    and they were past the packs."""
    return past_the_packs(reply) and due_now(reply)


def _duration(minutes: int) -> Line:
    if minutes < 55:
        return Line("durations.minutes", {"n": max(5, round(minutes / 5) * 5)})
    if minutes < 90:
        return Line("durations.one_hour")
    return Line("durations.hours", {"n": round(minutes / 60)})


def packs(reply: Reply) -> list[str]:
    return protocol.packs(reply.protocol)


def time_left(reply: Reply) -> Line | None:
    """ "Your cold pack timer has about 6 minutes left", while the pack's Alexa timer runs (by the record)."""
    timer = reply.record.alerts.timer
    if timer is None:
        return None
    left = parse_time(timer.at) + timedelta(minutes=timer.minutes) - reply.now
    if left <= timedelta(0):
        return None
    n = max(1, round(left.total_seconds() / 60))
    name = f"timers.name_{timer.pack}"
    return Line("timers.left_one", {"pack": name}) if n == 1 else Line("timers.left", {"pack": name, "n": n})
