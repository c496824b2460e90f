"""Silent MP3 files of any length, made in pure Python (simulator/streams.py makes them, for the simulator's
scripted dialogues too)."""

from __future__ import annotations

from simulator.streams import silent_mp3

__all__ = ["silent_mp3"]
