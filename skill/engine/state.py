"""The per-user record the engine reads and returns: small, versioned, JSON-serialisable.

Nothing else about a user is kept. Times are ISO-8601 strings in UTC.
"""

from __future__ import annotations

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
        "return_step": None,  # where the comfort steps resume after a "see a doctor today"
        "paused": False,
        "heat_intolerant": False,  # heat made the pain worse: cold only, remembered across episodes
        "episode": new_episode(now, 1),
        "past_episodes": [],  # [{"number", "started"}]
        "last_emergency": None,  # {"tier": 1, "reason": step id, "at": iso, "acknowledged": bool}
        "last_seen": iso(now),
    }


PENDING_KINDS = frozenset({"resume_offer", "restart_offer", "confirm_delete", "confirm_help"})
SCREENING_RESULTS = frozenset({"clear", "urgent", "emergency"})


def _time(value, default: str | None) -> str | None:
    return value if isinstance(value, str) and parse_time(value) else default


def _flag(value) -> bool:
    return value if isinstance(value, bool) else False


def _count(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else default


def _episode(raw, now: datetime) -> dict:
    fresh = new_episode(now, 1)
    if not isinstance(raw, dict):
        return fresh
    log = raw.get("compress_log")
    screening = raw.get("screening")
    return {
        "number": _count(raw.get("number"), 1),
        "started": _time(raw.get("started"), fresh["started"]),
        "compress_log": [
            {"pack": e["pack"], "at": e["at"]} for e in (log if isinstance(log, list) else [])
            if isinstance(e, dict) and isinstance(e.get("pack"), str) and _time(e.get("at"), None)
        ],
        "screening": {"result": screening["result"], "at": screening["at"]}
        if isinstance(screening, dict) and screening.get("result") in SCREENING_RESULTS
        and _time(screening.get("at"), None) else None,
        "pain_eased": _flag(raw.get("pain_eased")),
        "finished": _flag(raw.get("finished")),
    }


def normalise(raw, now: datetime, step_ids) -> dict:
    """A state the engine can trust, built field by field from ``raw``.

    Session attributes come back from the client, and stored records outlive code versions, so
    nothing is taken on trust: each field is kept only if it has the right shape, and a damaged
    record costs the person at most their place in the guide, never a crash mid-spasm.
    """
    state = fresh_state(now)
    if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
        return state
    known = set(step_ids)

    def step_id(value):
        return value if isinstance(value, str) and value in known else None

    state["step"] = step_id(raw.get("step"))
    trail = raw.get("trail")
    state["trail"] = [s for s in trail if step_id(s)] if isinstance(trail, list) else []
    state["requested_step"] = step_id(raw.get("requested_step"))
    state["return_step"] = step_id(raw.get("return_step"))
    state["paused"] = _flag(raw.get("paused"))
    state["heat_intolerant"] = _flag(raw.get("heat_intolerant"))
    state["last_seen"] = _time(raw.get("last_seen"), state["last_seen"])
    state["episode"] = _episode(raw.get("episode"), now)
    past = raw.get("past_episodes")
    state["past_episodes"] = [
        {"number": _count(e.get("number"), 1), "started": e["started"]}
        for e in (past if isinstance(past, list) else [])
        if isinstance(e, dict) and _time(e.get("started"), None)
    ][-PAST_EPISODES_KEPT:]
    emergency = raw.get("last_emergency")
    if isinstance(emergency, dict) and _time(emergency.get("at"), None):
        state["last_emergency"] = {"tier": 1, "reason": step_id(emergency.get("reason")),
                                   "at": emergency["at"], "acknowledged": _flag(emergency.get("acknowledged"))}
    pending = raw.get("pending")
    if pending in PENDING_KINDS:
        # A side question only makes sense with what it is about.
        if pending == "confirm_help" and state["last_emergency"] is None:
            pending = None
        if pending == "resume_offer" and state["step"] is None:
            pending = None
        state["pending"] = pending
    return state


def start_new_episode(state: dict, now: datetime) -> None:
    old = state["episode"]
    state["past_episodes"] = (state["past_episodes"] + [{"number": old["number"], "started": old["started"]}])[
        -PAST_EPISODES_KEPT:
    ]
    state["episode"] = new_episode(now, old["number"] + 1)
    state.update(step=None, trail=[], pending=None, requested_step=None, return_step=None, paused=False)


def since(value: str | None, now: datetime) -> timedelta | None:
    moment = parse_time(value)
    return None if moment is None else now - moment
