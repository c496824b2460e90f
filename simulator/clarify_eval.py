"""How well the skill tells pain from weakness: eval/clarify_heldout.tsv through the endpoint.

    .venv/bin/python -m simulator.clarify_eval [path/to/set.tsv]

The set (see eval/README.md) has two sections, written before any tuning:
  A<TAB>remark<TAB>ask|emergency|none   said mid-guide: should the skill ask "do your legs feel weak or
                                        numb?", answer with the emergency advice, or neither?
  B<TAB>answer<TAB>pain_only|escalate    said in answer to that question
Each line is resolved against the interaction model by the simulator's resolver, as Alexa would; a line
that matches no sample is sent as DescribeSymptomIntent with the whole line (as triage_eval does). The
person is first put mid-guide (launch, "no" to the five screening questions); for section B the skill is
first asked "i can't lift my legs". The answer is classified from its speech. Exit status 0 unless the
evaluation could not run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from simulator.conversation import Conversation, slot, speech
from simulator.triage_eval import Router, clarifying_questions, markers

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "eval" / "clarify_heldout.tsv"
LABELS = {"A": ("ask", "emergency", "none"), "B": ("pain_only", "escalate")}


def read_set(path: Path) -> list[tuple[int, str, str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in LABELS or parts[2] not in LABELS[parts[0]]:
            raise ValueError(f"{path.name} line {n}: expected 'A|B<TAB>text<TAB>label', got {line!r}")
        rows.append((n, parts[0], parts[1].strip(), parts[2]))
    return rows


def classify(said: str, emergency: str, asked: tuple) -> str:
    if emergency in said:
        return "emergency"
    if any(question in said for question in asked):
        return "ask"
    return "none"


def run(client, router: Router, section: str, text: str, emergency: str, asked: tuple) -> str:
    from skill.render import plain

    convo = Conversation(client, user_id=f"amzn1.ask.account.EVAL{uuid.uuid4().hex.upper()}")
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    if section == "B":
        convo.say("CannotDoIntent", {"description": slot("description", "lift my legs")})
    route = router.route(text)
    got = classify(plain(speech(convo.say(route.intent, route.slots or None))).lower(), emergency, asked)
    if section == "B":  # the question was asked: emergency advice escalates, anything else carried on
        return "escalate" if got in ("emergency", "ask") else "pain_only"
    return got


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    args = parser.parse_args(argv)
    try:
        from skill.alexa.carriers import default_carriers
        from skill.app import create_app
        from skill.interaction_model import load_model

        rows = read_set(Path(args.file))
        router = Router(load_model("en-US"), default_carriers().meanings)
        emergency, _ = markers()
        asked = clarifying_questions()
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(Path(tmp) / "eval.sqlite3")})
            logging.disable(logging.WARNING)
            client = app.test_client()
            results = [(n, section, text, label, run(client, router, section, text, emergency, asked))
                       for n, section, text, label in rows]
    except Exception as exc:  # could not run: say why, exit non-zero
        print(f"clarify_eval: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    for section, title in (("A", "A. remarks mid-guide"), ("B", "B. answers to 'do your legs feel weak or numb?'")):
        mine = [r for r in results if r[1] == section]
        confusion = Counter((r[3], r[4]) for r in mine)
        labels = LABELS[section]
        print(f"{title}: {len(mine)} lines, {sum(r[3] == r[4] for r in mine)} as labelled")
        print("  expected \\ answered " + "".join(f"{label:>12}" for label in labels))
        for expected in labels:
            print(f"  {expected:>20} " + "".join(f"{confusion[(expected, got)]:>12}" for got in labels))
        for n, _, text, label, got in mine:
            if label != got:
                print(f"  line {n}: {text!r}: expected {label}, answered {got}")
        print()
    unsafe = [r for r in results if (r[3], r[4]) in (("emergency", "none"), ("escalate", "pain_only"),
                                                     ("ask", "none"))]
    print(f"Unsafe (a sign or an ambiguity answered without emergency words or a question): {len(unsafe)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
