"""The names protocol.yaml may use, and what each one means: router conditions, facts a step
records, and lines a step includes. Plain tables, so a reader (and "find usages") can go from a
name in the protocol to the code it runs; the content loader checks the protocol against their keys.

Each function takes the turn being built (``skill.engine.reply.Reply``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from skill.engine import alerts, compress, playback
from skill.engine.protocol import Step
from skill.engine.reply import Reply


# ---------------------------------------------------------------------------- router conditions
def _cold_phase(reply: Reply) -> bool:
    """The seed's first day: cold for the first 24 hours of an episode. The moment it ends is the one the
    words say ("cold until about 6 PM tomorrow"), from the same function."""
    return reply.now < compress.cold_phase_end(reply).at


def _recently_screened(reply: Reply) -> bool:
    hours = reply.hours_since(reply.record.episode.screened_at)
    return hours is not None and hours < reply.settings["rescreen_after_hours"]


def _requested_step(reply: Reply) -> bool:
    # Only a place a person can ask for by name; a forged record cannot route elsewhere.
    return reply.record.requested_step in reply.protocol.jump_targets.values()


CONDITIONS: dict[str, Callable[[Reply], bool]] = {
    # Not after the person declined the permission lately (Amazon: not again for 7 days).
    "timer_offerable": lambda reply: not alerts.declined_lately(reply, reply.record.alerts.declined_at),
    "reminders_offerable": alerts.reminders_offerable,
    "heat_intolerant": lambda reply: reply.record.heat_intolerant,
    "later_episode": lambda reply: reply.record.episode.number > 1,
    "cold_phase": _cold_phase,
    "recently_screened": _recently_screened,
    # A "see a doctor today" sign in the last day: its question is not asked again, and it is repeated.
    "urgent_reported": lambda reply: reply.urgent_standing(),
    "not_screened": lambda reply: not reply.screening_done(),
    "requested_step": _requested_step,
    "return_step": lambda reply: reply.record.return_step is not None,
    "always": lambda reply: True,
}


# ---------------------------------------------------------------------------- facts a step records
def _compress_used(pack: str) -> Callable[[Reply], None]:
    def record(reply: Reply) -> None:
        reply.record.episode = reply.record.episode.with_compress(pack, reply.now)

    return record


def _pain_eased(reply: Reply) -> None:
    reply.record.episode = replace(reply.record.episode, pain_eased=True)


def _screened(reply: Reply) -> None:
    reply.record.episode = replace(reply.record.episode, screened_at=reply.now_iso)


def _timer_wanted(reply: Reply) -> None:
    """ "Yes" to the timer: the platform is asked to start one for the pack in use."""
    use = compress.in_use(reply)
    if use is not None:
        alerts.plan_timer(reply, use.pack)


RECORDS: dict[str, Callable[[Reply], None]] = {
    "timer_wanted": _timer_wanted,
    "reminders_wanted": alerts.plan_reminders,  # "yes" to the reminders for the next packs
    "cold_compress": _compress_used("cold"),
    "heat_compress": _compress_used("heat"),
    "pain_eased": _pain_eased,
    "screened": _screened,
}


# ---------------------------------------------------------------------------- lines a step includes
def _next_compress(reply: Reply, step: Step) -> None:
    line = compress.next_due(reply)
    if line is not None:
        reply.plan.lines.append(line)


INCLUDES: dict[str, Callable[[Reply, Step], None]] = {
    "pack_off_time": lambda reply, step: alerts.say_off_time(reply),
    "reminder_times": lambda reply, step: reply.say("reminders.times", times=alerts.times_param(reply)),
    "next_compress": _next_compress,
    "paced_breathing": playback.breathe,  # the track where the device can play it, else spoken
}
