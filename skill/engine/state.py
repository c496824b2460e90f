"""The per-user record the engine reads and returns: small, versioned, JSON-serialisable.

Nothing else about a user is kept. Times are ISO-8601 strings in UTC.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

STATE_VERSION = 1
# Past episodes kept for "heat first next time"; older ones are dropped.
PAST_EPISODES_KEPT = 10


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def new_episode(now: datetime, number: int) -> dict:
    return {
        "number": number,
        "started": iso(now),
        "compress_log": [],  # [{"pack": "cold"|"heat", "at": iso}]
        "screening": None,  # {"result": "clear"|"urgent"|"emergency", "at": iso}
        "pain_eased": False,
        "finished": False,
    }


def fresh_state(now: datetime) -> dict:
    return {
        "version": STATE_VERSION,
        "step": None,  # the step the person is on (a question step), None before the first turn
        "trail": [],  # earlier steps, for "go back"
        "pending": None,  # a short side question: resume_offer, restart_offer, confirm_delete, confirm_help
        "requested_step": None,  # where to go once screening is done
        "paused": False,
        "heat_intolerant": False,  # heat made the pain worse: cold only, remembered across episodes
        "episode": new_episode(now, 1),
        "past_episodes": [],  # [{"number", "started"}]
        "last_emergency": None,  # {"tier": 1, "reason": step id, "at": iso, "acknowledged": bool}
        "last_seen": iso(now),
    }


def normalise(raw: dict | None, now: datetime) -> dict:
    """A state the engine can trust: a copy of ``raw`` if it is usable, else a fresh one.

    Unknown or damaged records start fresh rather than crash a person mid-spasm; the only loss is
    where they were in the guide.
    """
    if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
        return fresh_state(now)
    state = copy.deepcopy(raw)
    template = fresh_state(now)
    for key, value in template.items():
        if key not in state or (isinstance(value, (dict, list)) and not isinstance(state[key], type(value))
                                and state[key] is not None):
            state[key] = value
    if not isinstance(state.get("episode"), dict):
        state["episode"] = template["episode"]
    for key, value in template["episode"].items():
        state["episode"].setdefault(key, value)
    return state


def start_new_episode(state: dict, now: datetime) -> None:
    old = state["episode"]
    state["past_episodes"] = (state["past_episodes"] + [{"number": old["number"], "started": old["started"]}])[
        -PAST_EPISODES_KEPT:
    ]
    state["episode"] = new_episode(now, old["number"] + 1)
    state.update(step=None, trail=[], pending=None, requested_step=None, paused=False)


def since(value: str | None, now: datetime) -> timedelta | None:
    moment = parse_time(value)
    return None if moment is None else now - moment
