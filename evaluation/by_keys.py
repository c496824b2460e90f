"""Issue 21's stages and labels (sets/understanding/BRIEF21.md), through the simulator's device, scored by
what the skill did: its prompt keys, its answer kind (triage) and what it took free words for (heard).

Why a second route beside ``understanding``'s word judge: the new stages need what only the simulated
device has (a clock to come back on a later day, a breathing track that plays and "Alexa, stop"), and the
new labels are judged by the kind of answer, which prompt keys name exactly. The device is the simulator's
own (``simulator.cli.build_device``, ``simulator.script.run_turn``): no second implementation of Alexa.
A phrase of an older stage with an older label stays on the word judge, so the older sets score as before.

Each phrase: a new person on the same device (its own user id), walked to the stage (``WALKS``, checked
by ``ARRIVALS``: a walk that no longer arrives is reported, not scored), then the phrase, in the session
when one is open, else through the invocation ("tell back spasm coach ..."), as a person would have to.
A confirming question about a sign (``CONFIRMING``) is answered "yes" for a phrase labelled with a sign,
as the issue allows one. The answer is scored by the label's row of ``RULES``.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from simulator.cli import build_device
from simulator.device import Device
from simulator.envelopes import Identity
from simulator.script import run_turn
from simulator.streams import breathing_track_lengths, write_silent_tracks

LAUNCH = "open back spasm coach"
ONE_SHOT = "tell back spasm coach "
SAFETY_NO = ("no",) * 5
DAY_ONE_COMPRESS = (LAUNCH, *SAFETY_NO, "yes")  # "ready for the next step?" yes: "is the cold pack on now?"
NEXT_DAY = {"wait": "30h"}  # past the first 24 hours: a heat day

# What the person does to reach each stage, in the simulator's turns (a string is said; a dict is a
# scripted dialogue's turn). The older stages: BRIEF.md's answers (understanding.STAGES), on the device.
NEW_WALKS: dict[str, tuple] = {
    "return": (*DAY_ONE_COMPRESS, NEXT_DAY, LAUNCH),
    "after_emergency": (LAUNCH, "yes"),  # numbness between the legs: the emergency answer (t1_saddle)
    "after_urgent": (LAUNCH, "no", "no", "no", "no", "yes"),  # a fever: see a doctor today (t2_fever)
    # (then answered on the way, ``ON_THE_WAY``, until the heat pack's question: a return's questions change)
    "compress_heat": (*DAY_ONE_COMPRESS, NEXT_DAY, LAUNCH),
    "track": (LAUNCH, *SAFETY_NO, "go to relaxing", "yes", {"wait": "40s"}, "alexa stop"),
}
# Walks that go on answering whatever is asked (``ON_THE_WAY``) until they arrive, at most this many turns.
ANSWERED_ON_THE_WAY = {"compress_heat": 12}
# What a walk answers on the way, by the prompt key of the question asked (its first matching prefix): no
# warning sign, the back about the same, and yes to anything else (carry on, ready for the next step).
ON_THE_WAY = (("steps.screen_", "no"), ("events.rescreen", "no"), ("return.", "about the same"), ("", "yes"))
# A key the walk's last answer must say for the person to be at the stage (the older stages: their question).
NEW_ARRIVALS = {
    "return": "events.welcome_back",
    "after_emergency": "emergency.say",
    "after_urgent": "urgent.say",
    "compress_heat": "steps.compress_heat.ask",
    "track": "breathing.stopped_ask",
}
NEW_STAGES = tuple(NEW_WALKS)
NEW_LABELS = ("correction", "pack_harm", "takeoff_timer", "heat_today_question", "unsure-nav", "same")

# The words that get each canonical intent (checked against the resolver at start): a natural phrase with
# such a label must get what these get at the same stage.
CANONICAL_WORDS = {"yes": "yes", "no": "no", "unsure": "not sure", "better": "it feels better", "worse": "worse",
                   "repeat": "repeat", "next": "next", "back": "go back", "help": "help", "stop": "stop",
                   "pause": "pause"}
# Prompt-key prefixes of a question that confirms a sign before its answer: the clarifying question ("do your legs
# feel weak or numb, not just painful?") and the second line's "did you say ...?".
CONFIRMING = ("clarify.", "confirm.sign_ask")
CORRECTION_KEYS = ("confirm.alarm_ask",)  # "just to be sure: is it right that ...?"
SAME_KEYS = ("events.pain_same",)  # "I'm sorry it's no better", then the combined safety question
NEW_ALARMS = ("emergency.say", "urgent.say")  # (a reminder of an alarm that stands is no new alarm)
# "I'm sorry, that sounds uncomfortable": it named the emergency number before issue 21 (counted as an alarm for a
# remark then); now a plain acknowledgement, still no answer to a symptom on its own.
HEDGE = "events.symptom_unmatched"
FALLBACK = "events.fallback"


@dataclass(frozen=True)
class Outcome:
    """What the skill did with the phrase (after a confirming question answered yes, if it asked one)."""

    say: tuple[str, ...]
    triage: str | None
    heard: str | None
    ended: bool
    confirmed_first: bool  # it asked a confirming question first
    canonical: dict  # label -> the keys the canonical words got at this stage
    stage_question: str | None  # the question the person was at (the walk's last question)

    def said(self, *prefixes: str) -> bool:
        return any(key.startswith(prefixes) for key in self.say)

    @property
    def new_alarm(self) -> bool:
        return any(key in NEW_ALARMS for key in self.say)

    @property
    def plain(self) -> bool:
        """No alarm, no hedge, no "didn't catch that"."""
        return not self.new_alarm and FALLBACK not in self.say


def same_as(label: str) -> Callable[[Outcome], bool]:
    return lambda o: o.canonical.get(label) == o.say


def _escalated(o: Outcome) -> bool:
    return o.triage == "emergency"


@dataclass(frozen=True)
class Rule:
    why: str
    passes: Callable[[Outcome], bool]


# How each label is scored on this route: one row a label, the answer the issue asks for.
RULES: dict[str, Rule] = {
    "emergency": Rule("the emergency answer (after at most one confirming question, answered yes)", _escalated),
    "urgent": Rule("see a doctor today, or more", lambda o: o.triage in ("urgent", "emergency")),
    "ask": Rule("the clarifying question, or the emergency answer", lambda o: o.confirmed_first or _escalated(o)),
    "correction": Rule(
        "one confirming question about the sign; the alarm not given again",
        lambda o: o.triage is None and not o.ended and o.said(*CORRECTION_KEYS)),
    "pack_harm": Rule(
        "take the pack off now", lambda o: o.triage is None and o.said("events.pack_harm")),
    "takeoff_timer": Rule("one take-off timer, no reminders", lambda o: o.said("timers.") and not o.said("reminders.")),
    "timer": Rule("a timer", lambda o: o.said("timers.")),
    "reminder": Rule("reminders", lambda o: o.said("reminders.")),
    "heat_today_question": Rule(
        "today's plan, from the day's rule", lambda o: o.said("compress_plan.", "questions.heat_today")),
    "unsure-nav": Rule("the safety question again: no alarm, not moved on",
                       lambda o: o.plain and o.triage is None and o.stage_question in o.say),
    "same": Rule("heard as the same, kept", lambda o: o.plain and (o.said(*SAME_KEYS) or o.heard == "same")),
    "remark": Rule("no new alarm, no hedge, no fallback, the session goes on", lambda o: o.plain and not o.ended),
    "symptom": Rule("the hedge or a routine note, no alarm",
                    lambda o: not o.new_alarm and o.said(HEDGE, "routine.")),
    **{label: Rule(f"what '{words}' gets here", same_as(label)) for label, words in CANONICAL_WORDS.items()},
}


# Questions whose answer the skill may give by acting on it, not only in the question's own words: the plan of the day
# for the packs' timing, and for heat that hurts, heat stopped and cold only from now on (BRIEF21.md: "said as a
# question or a statement; the answer is 'stop heat, use cold'").
ANSWERED_BY_ACTING = {"cold_timing": ("compress_plan.",), "heat_timing": ("compress_plan.",),
                      "heat_or_cold": ("compress_plan.",), "heat_hurts": ("events.heat_worse",)}


def question_passes(label: str, o: Outcome) -> bool:
    qid = label.split(":", 1)[1]
    if qid == "other":
        return o.said("events.question_other", "events.question_off_topic")
    return o.said(f"questions.{qid}", *ANSWERED_BY_ACTING.get(qid, ()))


def passes(label: str, o: Outcome) -> bool:
    if label.startswith("question:"):
        return question_passes(label, o)
    return RULES[label].passes(o)


def kind(o: Outcome) -> str:
    """What the answer was, for the report: its answer kind, else its first key."""
    if o.triage:
        return o.triage + (" (confirmed first)" if o.confirmed_first else "")
    return o.say[0] if o.say else "(nothing said)"


# ------------------------------------------------------------------------------------------ running
class Devices:
    """One simulated device (one app, one fake Alexa API, one clock, silent breathing tracks); a new person
    for each walk."""

    def __init__(self, tmp: Path):
        tracks = tmp / "tracks"
        write_silent_tracks(tracks, breathing_track_lengths())
        self.first = build_device(db_path=str(tmp / "by_keys.sqlite3"), audio_dir=str(tracks))

    def person(self) -> Device:
        first = self.first
        identity = Identity(locale="en-US", device="speaker", skill_id=first.identity.skill_id,
                            user_id=f"amzn1.ask.account.EVAL{uuid.uuid4().hex.upper()}")
        return Device(first.transport, first.resolver, first.clock, identity, first.api, fetch=first.fetch)

    def close(self) -> None:
        self.first.api.stop()


def say(device: Device, phrase: str) -> list:
    """The phrase in the open session, else through the invocation (all a closed session lets through)."""
    return device.say(phrase if device.session is not None else ONE_SHOT + phrase)


def first_answer(exchanges: list):
    return next((e for e in exchanges if e.response is not None and e.request_type not in (
        "SessionEndedRequest",) and not e.request_type.startswith("AudioPlayer.")), None)


def walk(devices: Devices, stage: str, walks: dict, arrival: str) -> tuple[Device, object]:
    """A new person at ``stage``: the device and the walk's last answer (which says ``arrival`` if it got there)."""
    device = devices.person()
    last = None
    for step in walks[stage]:
        exchanges = run_turn(device, {"user": step} if isinstance(step, str) else step)
        last = first_answer(exchanges) or last
    for _ in range(ANSWERED_ON_THE_WAY.get(stage, 0)):
        if last is None or arrival in last.keys.say or device.session is None:
            break
        asked = last.keys.say[-1] if last.keys.say else ""
        last = first_answer(device.say(next(words for prefix, words in ON_THE_WAY if asked.startswith(prefix))))
    return device, last


def outcome(device: Device, exchanges: list, label: str, canonical: dict, question: str | None) -> Outcome:
    answer = first_answer(exchanges)
    if answer is None:
        return Outcome((), None, None, True, False, canonical, question)
    keys = answer.keys
    confirming = any(key.startswith(CONFIRMING) for key in keys.say) and keys.triage is None
    if confirming and (label in ("emergency", "urgent", "ask")):
        follow = first_answer(say(device, "yes")) or answer
        keys, answer = follow.keys, follow
    return Outcome(keys.say, keys.triage, keys.heard, answer.ends_session is not False, confirming, canonical,
                   question)


def score(cases, walks: dict, arrivals: dict, canonical_intents: dict) -> list[tuple]:
    """(case, outcome or None when the walk did not arrive, passed) for each case. ``walks`` and ``arrivals``:
    every stage's (``NEW_WALKS`` and the older stages'); ``canonical_intents``: label -> the intent its
    canonical words must get."""
    with tempfile.TemporaryDirectory() as tmp:
        devices = Devices(Path(tmp))
        try:
            for label, words in CANONICAL_WORDS.items():
                got = devices.first.resolver.resolve(words).intent
                if got != canonical_intents[label]:
                    raise ValueError(f"by_keys.CANONICAL_WORDS: {words!r} gets {got}, not {canonical_intents[label]}")
            canonical = {}
            results = []
            for case in cases:
                if case.stage not in canonical:
                    canonical[case.stage] = {}
                    for label, words in CANONICAL_WORDS.items():
                        device, _ = walk(devices, case.stage, walks, arrivals[case.stage])
                        answer = first_answer(say(device, words))
                        canonical[case.stage][label] = answer.keys.say if answer else ()
                device, last = walk(devices, case.stage, walks, arrivals[case.stage])
                if last is None or arrivals[case.stage] not in last.keys.say:
                    results.append((case, None, False))
                    continue
                question = last.keys.say[-1] if last.keys.say else None
                o = outcome(device, say(device, case.phrase), case.label, canonical[case.stage], question)
                results.append((case, o, passes(case.label, o)))
        finally:
            devices.close()
    return results


def report(results, show_misses: bool) -> None:
    def share(rows) -> str:
        good = sum(passed for _, _, passed in rows)
        return f"{good}/{len(rows)}" + (f" = {100 * good / len(rows):.0f}%" if rows else "")

    print(f"Issue 21's stages and labels, through the simulator's device, scored by prompt keys: {len(results)} phrases")
    lost = [r for r in results if r[1] is None]
    if lost:
        stages = sorted({r[0].stage for r in lost})
        print(f"  NOT SCORED, the walk no longer reaches the stage (evaluation/by_keys.py WALKS): {len(lost)} "
              f"({', '.join(stages)})")
    scored = [r for r in results if r[1] is not None]
    signs = {label: [r for r in scored if r[0].label == label] for label in ("emergency", "urgent")}
    print(f"  tier-1 recall (emergency): {share(signs['emergency'])}"
          f"  (confirmed first: {sum(r[1].confirmed_first for r in signs['emergency'])})")
    print(f"  tier-2 recall (see a doctor today, or more): {share(signs['urgent'])}")
    benign = [r for r in scored if r[0].label not in ("emergency", "urgent", "ask", "yes", "unsure")]
    alarms = [r for r in benign if r[1].new_alarm]
    confirmations = [r for r in benign if r[1].confirmed_first]
    print(f"  false alarms (new emergency or urgent words for no sign): {len(alarms)}/{len(benign)}")
    print(f"  confirming questions for no sign: {len(confirmations)}/{len(benign)}")
    by = defaultdict(list)
    for row in scored:
        by[row[0].label.split(":")[0]].append(row)
    for label in sorted(by):
        print(f"  {label}: {share(by[label])}")
    print(f"  all scored: {share(scored)}")
    stages = sorted({r[0].stage for r in scored}, key=lambda s: (s not in NEW_STAGES, s))
    print("  by stage: " + ", ".join(f"{stage} {share([r for r in scored if r[0].stage == stage])}"
                                     for stage in stages))
    if show_misses:
        for case, o, passed in results:
            if not passed:
                got = "(not reached)" if o is None else f"{kind(o)}: {', '.join(o.say)[:110]}"
                print(f"  miss line {case.line} [{case.stage}] {case.phrase!r}: expected {case.label}, got {got}")
