"""How well the skill recognises red flags: eval/triage_phrases.tsv sent through the endpoint.

    .venv/bin/python scripts/triage_eval.py                    # in process, Flask test client
    .venv/bin/python scripts/triage_eval.py --url http://127.0.0.1:5000/alexa   # a running skill
    .venv/bin/python scripts/triage_eval.py --direct           # the matcher alone, no endpoint
    .venv/bin/python scripts/triage_eval.py [--direct] path/to/phrases.tsv

Each phrase is resolved against the interaction model by the simulator's resolver, as Alexa would
(see eval/README.md and simulator/resolver.py). A phrase that matches no sample at all (the resolver's
AMAZON.FallbackIntent) is sent as DescribeSymptomIntent with the whole phrase: an assumption, listed in
the output, so the figures for those phrases are an upper bound. Through the endpoint, the person is
first put mid-guide (launch, then "no" to the five screening questions), and the answer is classified
from its speech: the emergency line -> tier 1, the see-a-doctor-today line -> tier 2, the clarifying
question ("do your legs feel weak or numb?", asked when pain alone could explain the words) -> "asked",
else 0. Tier 3 counts as 0 (the guide carries on either way). A clarifying question is reported apart:
for a tier-1 phrase it is a safe answer (anything but a clear "just the pain" escalates), and it is
never a false alarm. Exit status 0 unless the evaluation could not run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from simulator.conversation import Conversation, slot, speech
from simulator.resolver import FALLBACK_INTENT, Resolver
from simulator.transport import HttpTransport

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "eval" / "triage_phrases.tsv"
SYMPTOM_INTENT = "SymptomIntent"
SYMPTOM_SLOT = "symptom"
DESCRIPTION_SLOT = "description"
# Where a phrase that matches no sample is sent (the assumption described above).
NO_CARRIER_INTENT = "DescribeSymptomIntent"
TIERS = (0, 1, 2)
ASKED = -1  # the skill asked its clarifying question first


@dataclass
class Route:
    intent: str
    slots: dict = field(default_factory=dict)  # name -> slot object, as Alexa sends it
    note: str = ""  # "no carrier", or the sample that matched
    captured: str | None = None  # the symptom or description slot's words
    flag: str | None = None  # the RED_FLAG id entity resolution gave


# ---------------------------------------------------------------------- reading
def read_phrases(path: Path) -> list[tuple[int, str, int]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 2 or parts[1].strip() not in {"0", "1", "2", "3"}:
            raise ValueError(f"{path.name} line {n}: expected 'phrase<TAB>0|1|2|3', got {line!r}")
        rows.append((n, parts[0].strip(), int(parts[1])))
    if not rows:
        raise ValueError(f"{path.name}: no phrases")
    return rows


class Router:
    """Routes phrases with the simulator's resolver; ``frames`` are the symptom intents whose
    ``description`` slot carries what the person said, with their carrier meaning
    (interaction_models/carriers.en.yaml)."""

    def __init__(self, model: dict, frames: dict):
        self.resolver = Resolver(model)
        self.frames = frames

    def route(self, phrase: str) -> Route:
        """The intent and slots Alexa would send for ``phrase``; DescribeSymptomIntent if nothing matches."""
        resolution = self.resolver.resolve(phrase)
        if resolution.intent == FALLBACK_INTENT:
            said = resolution.utterance
            return Route(NO_CARRIER_INTENT, {DESCRIPTION_SLOT: slot(DESCRIPTION_SLOT, said)}, note="no carrier",
                         captured=said)
        route = Route(resolution.intent, resolution.slots, note=f"sample {resolution.sample!r}")
        if resolution.intent == SYMPTOM_INTENT:
            filled = resolution.slots.get(SYMPTOM_SLOT) or {}
            authority = ((filled.get("resolutions") or {}).get("resolutionsPerAuthority") or [{}])[0]
            if authority.get("status", {}).get("code") == "ER_SUCCESS_MATCH":
                route.flag = authority["values"][0]["value"]["id"]
            route.captured = filled.get("value")
        elif resolution.intent in self.frames:
            route.captured = (resolution.slots.get(DESCRIPTION_SLOT) or {}).get("value")
        return route


# ---------------------------------------------------------------------- answering
def direct_tier(route: Route, red_flags, frames) -> int:
    """The tier the matcher alone gives (3 kept here; scored as 0), or ASKED for an ambiguous tier 1."""
    if route.flag:
        return red_flags.tier_of(route.flag)
    if route.intent != SYMPTOM_INTENT and route.intent not in frames:
        return 0  # another intent: the matcher never sees it
    from skill.engine.triage import described_text

    match = red_flags.match(described_text(frames.get(route.intent, ""), route.captured))
    if match is None:
        return 0
    return ASKED if match.ambiguous else match.tier


def markers(locale: str = "en-US") -> tuple[str, str]:
    """The opening words of the emergency and the see-a-doctor-today answers, as spoken."""
    from skill.engine import default_content

    content = default_content()
    prompts = content.prompts_for(locale)
    spoken_values = content.locale(locale).spoken

    def first_sentence(key):
        text = prompts.text(key).format_map(_Blank(spoken_values))
        return " ".join(text.split(".")[0].split()).lower()

    return first_sentence("emergency.say"), first_sentence("urgent.say")


def clarifying_questions(locale: str = "en-US") -> tuple[str, ...]:
    """The clarifying questions' last sentences, as spoken."""
    from skill.engine import default_content

    content = default_content()
    prompts = content.prompts_for(locale)
    return tuple(prompts.text(f"clarify.{flag}.ask").split(".")[-1].strip(" ?").lower()
                 for flag in content.red_flags.ambiguous_ids())


class _Blank(dict):
    def __missing__(self, key):
        return ""


def endpoint_tier(client, route: Route, emergency: str, urgent: str, asked: tuple = ()) -> tuple[int, str]:
    from skill.render import plain

    convo = Conversation(client, user_id=f"amzn1.ask.account.EVAL{uuid.uuid4().hex.upper()}")
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    body = convo.say(route.intent, route.slots or None)
    said = plain(speech(body)).lower()
    if emergency in said:
        return 1, said
    if urgent in said:
        return 2, said
    if any(question in said for question in asked):
        return ASKED, said
    return 0, said


# ---------------------------------------------------------------------- report
def report(rows, results, mode: str, routes) -> None:
    scored = [(n, phrase, expected, got) for (n, phrase, expected), got in zip(rows, results)]

    def score(tier):
        return 0 if tier == 3 else tier

    print(f"Red-flag triage evaluation ({mode}): {len(rows)} phrases\n")
    by_intent = Counter(r.intent for r in routes)
    print("Routing (the way Alexa would pick the intent):")
    for intent, count in by_intent.most_common():
        print(f"  {intent:24} {count}")
    no_carrier = [(row[1]) for row, r in zip(rows, routes) if r.note == "no carrier"]
    if no_carrier:
        print(f"  {len(no_carrier)} phrases matched no sample and were sent as {NO_CARRIER_INTENT} with the whole "
              "phrase:")
        for phrase in no_carrier:
            print(f"    - {phrase}")
    print()

    asked = [(n, p, e) for n, p, e, g in scored if g == ASKED]
    scored = [(n, p, e, g) for n, p, e, g in scored if g != ASKED]
    if asked:
        print(f"Asked the clarifying question first (pain or weakness?): {len(asked)} phrases, by expected tier "
              + ", ".join(f"{t}: {sum(1 for _, _, e in asked if score(e) == t)}" for t in TIERS)
              + ". Not counted below.")
        for n, phrase, expected in asked:
            print(f"  line {n}: {phrase!r}: expected {expected}")
        print()
    confusion = Counter((score(e), score(g)) for _, _, e, g in scored)
    print("Confusion (rows: expected, columns: answered; tier 3 counted as 0)")
    print("            " + "".join(f"{'answered ' + str(t):>12}" for t in TIERS))
    for e in TIERS:
        print(f"expected {e}  " + "".join(f"{confusion[(e, g)]:>12}" for g in TIERS))
    print()
    for tier in (1, 2):
        total = sum(confusion[(tier, g)] for g in TIERS)
        if not total:
            continue
        at_least = sum(confusion[(tier, g)] for g in TIERS if g and g <= tier)
        exact = confusion[(tier, tier)]
        print(f"Tier {tier} recall: {at_least}/{total} = {at_least / total:.1%} answered tier {tier} or more urgent"
              + (f" (exactly tier {tier}: {exact}/{total} = {exact / total:.1%})" if tier == 2 else ""))
    negatives = sum(confusion[(0, g)] for g in TIERS)
    alarms = confusion[(0, 1)] + confusion[(0, 2)]
    if negatives:
        print(f"False-alarm rate: {alarms}/{negatives} = {alarms / negatives:.1%} of no-red-flag phrases "
              "answered with tier 1 or 2")
    tier3 = [(e, g) for _, _, e, g in scored if e == 3]
    if mode == "direct" and tier3:
        hit = sum(1 for _, g in tier3 if g == 3)
        print(f"(not scored) tier-3 phrases matched as tier 3: {hit}/{len(tier3)}")
    print()
    misses = [(n, p, e, g) for n, p, e, g in scored if score(e) in (1, 2) and (score(g) == 0 or score(g) > score(e))]
    alarms_list = [(n, p, e, g) for n, p, e, g in scored if score(e) == 0 and score(g) in (1, 2)]
    over = [(n, p, e, g) for n, p, e, g in scored if score(e) == 2 and score(g) == 1]
    for title, items in (("Misses (a red flag answered less urgently than expected)", misses),
                         ("False alarms (no red flag, answered tier 1 or 2)", alarms_list),
                         ("Over-triage (tier 2 answered as tier 1; safe side, listed for review)", over)):
        print(f"{title}: {len(items)}")
        for n, phrase, expected, got in items:
            print(f"  line {n}: {phrase!r}: expected {expected}, answered {got}")
        print()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE), help="phrase file (phrase<TAB>tier)")
    parser.add_argument("--url", help="POST to a running skill (which must have request verification off)")
    parser.add_argument("--direct", action="store_true",
                        help="run phrases straight through the matcher, without the endpoint")
    args = parser.parse_args(argv)

    try:
        from skill.alexa.carriers import default_carriers
        from skill.engine.triage import default_red_flags
        from skill.interaction_model import load_model

        rows = read_phrases(Path(args.file))
        carriers = default_carriers().meanings
        router = Router(load_model("en-US"), carriers)
        routes = [router.route(phrase) for _, phrase, _ in rows]
        if args.direct:
            red_flags = default_red_flags()
            results = [direct_tier(r, red_flags, carriers) for r in routes]
            report(rows, results, "direct", routes)
            return 0
        emergency, urgent = markers()
        with tempfile.TemporaryDirectory() as tmp:
            if args.url:
                client, mode = HttpTransport(args.url, timeout=15), f"endpoint {args.url}"
            else:
                from skill.app import create_app

                app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(Path(tmp) / "eval.sqlite3")})
                logging.disable(logging.WARNING)  # one log line per request would drown the report
                client, mode = app.test_client(), "endpoint, in process"
            asked = clarifying_questions()
            results = [endpoint_tier(client, r, emergency, urgent, asked)[0] for r in routes]
        print(f"Answer markers: tier 1 = {emergency!r}, tier 2 = {urgent!r}")
        report(rows, results, mode, routes)
        return 0
    except Exception as exc:  # could not run: say why, exit non-zero
        print(f"triage_eval: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
