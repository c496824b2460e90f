"""Scripted dialogues: a YAML file of what the person says and what Alexa should answer.

    name: first session, no warning signs
    locale: en-US            # optional
    device: speaker          # speaker | show | no-audio
    tracks: silent           # optional: the skill has silent breathing tracks of the real lengths to play
                             # (else whatever the app lists: none in the tests, `make audio`'s by hand)
    time_zone: America/New_York   # optional: the device's time zone (the settings API's answer)
    start: 2026-03-02T09:00       # optional: the clock's start, in that zone (else: now), for answers
                                  # that depend on the time of day (reminders, quiet hours)
    turns:
      - user: alexa, tell back spasm coach my back is spasming
        expect:
          say: [steps.stop_activity.say, steps.screen_saddle.ask]   # prompt keys said, in this order
          say_exactly: [steps.stop_activity.say, steps.screening_intro.say, steps.screen_saddle.ask]
                                                # these keys and no others, in this order
          not_say: emergency.say                # a prompt key that must NOT be said (a list: none of them)
          reprompt_keys: steps.screen_saddle.reprompt   # the reprompt's keys, in order
          card_keys: [emergency.card_title]     # the card's keys, in order
          triage: none                          # the answer kind: emergency | urgent | none
          heard: remark                         # what free words were taken for (answer, question, remark...)
          intent: StartGuideIntent              # what the utterance resolved to
          ends_session: false
          directive: Connections.SendRequest    # a directive type present in the response
          timer: true                           # the fake Alexa API holds a timer for this user
          reminders: 3                          # ... and this many reminders
      - silence: true          # the person says nothing (reprompt, then the session ends)
      - wait: 15m              # time passes: timers fire, audio plays
      - consent: accept        # answer a permission request: accept | deny
      - button: pause          # a play/pause/next/previous button press

Expectations name prompt keys (skill/content/prompts/<locale>.yaml), never words, so rewording a prompt
breaks no dialogue. ``say`` and the other key lists are checked as "contains these, in this order":
other keys may come before, between and after them (a nested key, such as a time of day's
``clock.at``, follows its line's). ``say_exactly`` is for a turn where anything more would be wrong
(a remark gets an acknowledgement and the question again, nothing else). A reprompt spoken on silence says the reprompt's keys; an alert
(a timer's announcement, a reminder) says the key of its words. The keys come from the skill's
X-Prompt-Keys header, which only an app configured with EXPOSE_PROMPT_KEYS sends (the simulator's
in-process skill, ``make run``).

For trying things out by hand, the words can be checked too: ``speech`` (a substring, case-insensitive;
a list: all of them), ``not_speech``, ``speech_regex``, ``reprompt`` and ``card``; the committed
dialogues (tests/dialogues) use keys only, and words only for what no prompt holds: the digits of a time of
day ("6:30") and the breathing's pause marks ("[pause 4s]").

Each turn's expectations are checked against the first exchange the turn produced; ``expect_any``
checks against every exchange of the turn (e.g. after a wait). A mismatch is reported with the turn
number and what was actually said; ``replay`` returns the number of mismatches.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from simulator.clock import parse_duration
from simulator.streams import breathing_track_lengths, write_silent_tracks

TURN_KINDS = ("user", "silence", "wait", "consent", "button")
EXPECT_KEYS = {"say", "say_exactly", "not_say", "reprompt_keys", "card_keys", "triage", "heard",
               "speech", "speech_regex", "not_speech", "reprompt", "intent", "ends_session", "card", "directive",
               "timer", "reminders", "request_type", "note"}
# Prompt-key expectations: the expectation -> the PromptKeys field it reads.
KEY_LISTS = {"say": "say", "reprompt_keys": "reprompt", "card_keys": "card"}
KINDS = ("triage", "heard")


class ScriptError(ValueError):
    """The dialogue file itself is malformed."""


@dataclass
class Dialogue:
    name: str
    turns: list[dict]
    locale: str = "en-US"
    device: str = "speaker"
    time_zone: str | None = None
    start: str | None = None
    tracks: str | None = None  # "silent": see ``audio_dir``


@dataclass
class Mismatch:
    turn: int
    what: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return f"turn {self.turn}: {self.what}: expected {self.expected!r}, got {self.actual!r}"


@dataclass
class ReplayResult:
    dialogue: Dialogue
    exchanges: list = field(default_factory=list)  # (turn number, Exchange)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def load_dialogue(path: str | Path) -> Dialogue:
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, dict) or not isinstance(raw.get("turns"), list) or not raw["turns"]:
        raise ScriptError(f"{path}: needs a non-empty 'turns' list")
    for n, turn in enumerate(raw["turns"], 1):
        if not isinstance(turn, dict) or sum(k in turn for k in TURN_KINDS) != 1:
            raise ScriptError(f"{path}: turn {n} needs exactly one of {', '.join(TURN_KINDS)}")
        for key in ("expect", "expect_any"):
            unknown = set(turn.get(key) or {}) - EXPECT_KEYS
            if unknown:
                raise ScriptError(f"{path}: turn {n}: unknown expectation {sorted(unknown)}")
        if "wait" in turn:
            parse_duration(str(turn["wait"]))  # fails early on a bad duration
    if raw.get("tracks") is not None and raw["tracks"] not in TRACK_MAKERS:
        raise ScriptError(f"{path}: tracks must be one of {', '.join(TRACK_MAKERS)}")
    zone, start = raw.get("time_zone"), raw.get("start")
    try:
        ZoneInfo(zone) if zone else None
        datetime.fromisoformat(str(start)) if start else None
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise ScriptError(f"{path}: bad time_zone or start: {exc}") from None
    return Dialogue(name=raw.get("name") or Path(path).stem, turns=raw["turns"],
                    locale=raw.get("locale", "en-US"), device=raw.get("device", "speaker"),
                    time_zone=zone, start=str(start) if start else None, tracks=raw.get("tracks"))


# How a dialogue's ``tracks`` are made: the folder of tracks the device's skill is given.
TRACK_MAKERS = {"silent": lambda folder: write_silent_tracks(folder, breathing_track_lengths())}


def audio_dir(dialogue: Dialogue) -> str | None:
    """The tracks folder the dialogue asks for (made in a fresh temporary folder), or None: the app's own."""
    if dialogue.tracks is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="back-spasm-tracks-"))
    TRACK_MAKERS[dialogue.tracks](folder)
    return str(folder)


def run_turn(device, turn: dict) -> list:
    if "user" in turn:
        return device.say(str(turn["user"]))
    if "silence" in turn:
        return device.silence()
    if "wait" in turn:
        return device.wait(parse_duration(str(turn["wait"])))
    if "consent" in turn:
        return device.consent(str(turn["consent"]).lower() in ("accept", "accepted", "yes", "true"))
    return device.button(str(turn["button"]))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def in_order(wanted: list, said: list) -> bool:
    """Whether every key of ``wanted`` was said, in that order (others may come between)."""
    remaining = iter(said)
    return all(key in remaining for key in wanted)


def check_keys(expect: dict, exchanges: list, number: int) -> list[Mismatch]:
    """Mismatches between the prompt-key expectations and the keys the exchanges said."""
    wanted = [key for key in (*KEY_LISTS, "say_exactly", "not_say", *KINDS) if key in expect]
    if not wanted:
        return []
    if any(e.response is not None and not e.keys.shown for e in exchanges):
        return [Mismatch(number, ", ".join(wanted), "prompt keys", "an answer without its keys (is the skill "
                                                                     "configured with EXPOSE_PROMPT_KEYS?)")]
    problems = []
    for name, field_name in KEY_LISTS.items():
        said = [key for e in exchanges for key in getattr(e.keys, field_name)]
        if name in expect and not in_order([str(k) for k in _as_list(expect[name])], said):
            problems.append(Mismatch(number, f"{name} (in order)", expect[name], said))
    said = [key for e in exchanges for key in e.keys.say]
    if "say_exactly" in expect and [str(k) for k in _as_list(expect["say_exactly"])] != said:
        problems.append(Mismatch(number, "say_exactly", expect["say_exactly"], said))
    for key in _as_list(expect.get("not_say", [])):
        if key in said:
            problems.append(Mismatch(number, "not_say", key, said))
    for kind in KINDS:
        if kind in expect:
            seen = [getattr(e.keys, kind) or "none" for e in exchanges if e.response is not None]
            if str(expect[kind]) not in seen:
                problems.append(Mismatch(number, kind, expect[kind], seen))
    return problems


def check(expect: dict, exchanges: list, device, number: int) -> list[Mismatch]:
    """Mismatches between ``expect`` and what the exchanges show."""
    problems: list[Mismatch] = check_keys(expect, exchanges, number)
    spoken = " ".join(e.speech for e in exchanges).lower()
    reprompts = " ".join(e.reprompt for e in exchanges).lower()
    for text in _as_list(expect.get("speech", [])):
        if str(text).lower() not in spoken:
            problems.append(Mismatch(number, "speech", text, spoken))
    for text in _as_list(expect.get("not_speech", [])):
        if str(text).lower() in spoken:
            problems.append(Mismatch(number, "not_speech", text, spoken))
    for pattern in _as_list(expect.get("speech_regex", [])):
        if not re.search(str(pattern), spoken, re.IGNORECASE):
            problems.append(Mismatch(number, "speech_regex", pattern, spoken))
    for text in _as_list(expect.get("reprompt", [])):
        if str(text).lower() not in reprompts:
            problems.append(Mismatch(number, "reprompt", text, reprompts))
    for key in ("intent", "request_type"):  # an Exchange property of the same name
        if key in expect:
            seen = [getattr(e, key) for e in exchanges if getattr(e, key)]
            if expect[key] not in seen:
                problems.append(Mismatch(number, key, expect[key], seen))
    if "ends_session" in expect:
        actual = next((e.ends_session is not False for e in exchanges if e.response is not None), None)
        if actual is not bool(expect["ends_session"]):
            problems.append(Mismatch(number, "ends_session", expect["ends_session"], actual))
    for key, attr in (("card", "card"), ("directive", "directives"), ("note", "note")):
        if key in expect:  # a substring of what the exchanges show, case-insensitive
            shown = " ".join(getattr(e, attr) for e in exchanges)
            if str(expect[key]).lower() not in shown.lower():
                problems.append(Mismatch(number, key, expect[key], shown))
    if "reminders" in expect:
        held = len(device.api.reminders(device.identity.user_id)) if device.api is not None else 0
        if held != int(expect["reminders"]):
            problems.append(Mismatch(number, "reminders", expect["reminders"], held))
    if "timer" in expect:
        has = bool(device.api is not None and device.api.timers(device.identity.user_id, active_only=True))
        if has is not bool(expect["timer"]):
            problems.append(Mismatch(number, "timer", expect["timer"], has))
    return problems


def replay(dialogue: Dialogue, device) -> ReplayResult:
    result = ReplayResult(dialogue=dialogue)
    zone = ZoneInfo(dialogue.time_zone) if dialogue.time_zone else timezone.utc
    if dialogue.time_zone and device.api is not None:
        device.api.device_time_zone = zone
    if dialogue.start:
        start = datetime.fromisoformat(dialogue.start)
        device.clock.set(start if start.tzinfo else start.replace(tzinfo=zone))
    for number, turn in enumerate(dialogue.turns, 1):
        exchanges = run_turn(device, turn)
        result.exchanges += [(number, e) for e in exchanges]
        if turn.get("expect"):
            result.mismatches += check(turn["expect"], exchanges[:1], device, number)
        if turn.get("expect_any"):
            result.mismatches += check(turn["expect_any"], exchanges, device, number)
    return result
