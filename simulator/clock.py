"""Simulated UTC clock and duration parsing for the skill simulator.

The simulator never sleeps: timers and reminders fire when the clock is moved
(``:wait 15m`` in the CLI), so every time the simulator and the fake Alexa API
look at comes from one ``SimClock``.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

__all__ = [
    "SimClock",
    "parse_duration",
    "parse_iso8601_duration",
    "format_iso8601_duration",
]


def _as_utc(dt: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if not isinstance(dt, datetime):
        raise TypeError(f"expected a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class SimClock:
    """A clock that only moves when told to. Thread-safe; always aware UTC."""

    def __init__(self, start: datetime | None = None):
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        self._now = _as_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (never backwards: use ``set`` for that)."""
        if not isinstance(delta, timedelta):
            raise TypeError(f"expected a timedelta, got {type(delta).__name__}")
        if delta < timedelta(0):
            raise ValueError("the clock cannot be advanced by a negative duration")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, dt: datetime) -> datetime:
        with self._lock:
            self._now = _as_utc(dt)
            return self._now

    def __repr__(self) -> str:
        return f"SimClock({self.now().isoformat()})"


# ISO-8601 durations as Amazon uses them (PT15M, PT1H30M, P1DT2H, PT1.5S).
# Years, months and weeks have no fixed length and are refused.
_ISO_RE = re.compile(
    r"P(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?",
    re.IGNORECASE,
)

# The CLI's short form: 15m, 1h30m, 90s, 2d, "1h 30m".
_SHORT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_SHORT_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_iso8601_duration(text: str) -> timedelta:
    """Strict ISO-8601 duration (``PT15M``); raises ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string, got {type(text).__name__}")
    match = _ISO_RE.fullmatch(text.strip())
    if not match or not any(match.group(k) for k in "dhms"):
        raise ValueError(f"not an ISO-8601 duration: {text!r}")
    seconds = float(match.group("s").replace(",", ".")) if match.group("s") else 0.0
    return timedelta(
        days=int(match.group("d") or 0),
        hours=int(match.group("h") or 0),
        minutes=int(match.group("m") or 0),
        seconds=seconds,
    )


def parse_duration(text: str) -> timedelta:
    """``15m``, ``1h30m``, ``90s``, ``2d``, ``1h 30m`` or ISO-8601 ``PT15M``.

    A bare number is refused: ``:wait 15`` is ambiguous.
    """
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if stripped[:1] in ("P", "p"):
        return parse_iso8601_duration(stripped)
    compact = re.sub(r"\s+", "", stripped)
    if not compact or not re.fullmatch(r"(?:\d+(?:\.\d+)?[dhms])+", compact, re.IGNORECASE):
        raise ValueError(f"not a duration: {text!r} (try 15m, 1h30m, 90s, 2d or PT15M)")
    total = timedelta(0)
    for number, unit in _SHORT_RE.findall(compact):
        total += timedelta(**{_SHORT_UNITS[unit.lower()]: float(number)})
    return total


def format_iso8601_duration(delta: timedelta) -> str:
    """``timedelta(minutes=3, seconds=3)`` -> ``PT3M3S``; days are folded into hours."""
    if delta < timedelta(0):
        raise ValueError("negative durations have no ISO-8601 form here")
    micros = delta // timedelta(microseconds=1)
    seconds, micros = divmod(micros, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if micros:
        out += f"{seconds}.{micros:06d}".rstrip("0") + "S"
    elif seconds or out == "PT":
        out += f"{seconds}S"
    return out
