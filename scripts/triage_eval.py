#!/usr/bin/env python3
"""How well the skill recognises red flags: eval/triage_phrases.tsv sent through the endpoint.

    .venv/bin/python scripts/triage_eval.py                    # in process, Flask test client
    .venv/bin/python scripts/triage_eval.py --url http://127.0.0.1:5000/alexa   # a running skill
    .venv/bin/python scripts/triage_eval.py --direct           # the matcher alone, no endpoint
    .venv/bin/python scripts/triage_eval.py [--direct] path/to/phrases.tsv

Each phrase is routed the way Alexa would (see eval/README.md): an exact sample of another intent goes
to that intent; "<carrier> <red flag value>" to SymptomIntent with the value resolved; otherwise the
longest carrier prefix among the symptom intents' samples, the rest as the slot; with no carrier,
DescribeSymptomIntent with the whole phrase (listed in the output). Through the endpoint, the person is
first put mid-guide (launch, then "no" to the five screening questions), and the answer is classified
from its speech: the emergency line -> tier 1, the see-a-doctor-today line -> tier 2, else 0. Tier 3
counts as 0 (the guide carries on either way). Exit status 0 unless the evaluation could not run.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

DEFAULT_FILE = ROOT / "eval" / "triage_phrases.tsv"
SYMPTOM_INTENT = "SymptomIntent"
SYMPTOM_SLOT = "symptom"
DESCRIPTION_SLOT = "description"
FALLBACK_INTENT = "DescribeSymptomIntent"
TIERS = (0, 1, 2)


@dataclass
class Route:
    intent: str
    slots: dict = field(default_factory=dict)  # name -> raw value, or a whole slot object
    note: str = ""  # "no carrier", "exact sample", "resolved t1_legs"
    captured: str | None = None
    flag: str | None = None  # the RED_FLAG id entity resolution would give


def spoken(text: str) -> str:
    """Lowercase words and apostrophes, single spaces: how sample text and phrases are compared."""
    text = text.lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


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
    """Picks intent and slots for a phrase from the interaction model's samples."""

    def __init__(self, model: dict, frames: dict):
        lm = model["interactionModel"]["languageModel"]
        self.exact: dict[str, str] = {}
        self.carriers: list[tuple[str, str, str]] = []  # (prefix, intent, slot)
        self.symptom_samples: list[tuple[str, str]] = []  # (prefix, suffix)
        for intent in lm["intents"]:
            name = intent["name"]
            for sample in intent.get("samples", []):
                slots = re.findall(r"\{(\w+)\}", sample)
                if not slots:
                    self.exact.setdefault(spoken(sample), name)
                elif name == SYMPTOM_INTENT:
                    before, _, after = sample.partition("{" + SYMPTOM_SLOT + "}")
                    self.symptom_samples.append((spoken(before), spoken(after)))
                elif name in frames and sample.endswith("{" + DESCRIPTION_SLOT + "}"):
                    self.carriers.append((spoken(sample[: -len("{" + DESCRIPTION_SLOT + "}")]), name, DESCRIPTION_SLOT))
        self.carriers.sort(key=lambda c: len(c[0]), reverse=True)
        self.values: dict[str, tuple[str, str]] = {}  # spoken synonym -> (id, canonical name)
        for slot_type in lm.get("types", []):
            if slot_type["name"] != "RED_FLAG":
                continue
            for value in slot_type["values"]:
                for phrase in [value["name"]["value"], *value["name"].get("synonyms", [])]:
                    self.values[spoken(phrase)] = (value["id"], value["name"]["value"])

    def route(self, phrase: str) -> Route:
        said = spoken(phrase)
        if said in self.exact:
            return Route(self.exact[said], note="exact sample")
        for before, after in self.symptom_samples:
            if said.startswith(before) and said.endswith(after):
                middle = said[len(before): len(said) - len(after) if after else None].strip()
                if middle in self.values:
                    flag, name = self.values[middle]
                    return Route(SYMPTOM_INTENT, {SYMPTOM_SLOT: middle}, note=f"resolved {flag}",
                                 captured=middle, flag=flag)
        for prefix, intent, slot in self.carriers:
            if said.startswith(prefix + " ") and said[len(prefix):].strip():
                captured = said[len(prefix):].strip()
                return Route(intent, {slot: captured}, note=f"carrier {prefix!r}", captured=captured)
        return Route(FALLBACK_INTENT, {DESCRIPTION_SLOT: said}, note="no carrier", captured=said)


# ---------------------------------------------------------------------- answering
def direct_tier(route: Route, red_flags, frames) -> int:
    """The tier the matcher alone gives (3 kept here; scored as 0)."""
    if route.flag:
        return red_flags.tier_of(route.flag)
    if route.intent != SYMPTOM_INTENT and route.intent not in frames:
        return 0  # another intent: the matcher never sees it
    from skill.engine.triage import utterance_from_frame

    match = red_flags.match(utterance_from_frame(route.intent, route.captured))
    return match.tier if match else 0


class HttpClient:
    """Just enough of Flask's test client for envelopes.Conversation, over real HTTP."""

    def __init__(self, url: str):
        self.url = url

    def post(self, path, data=None, content_type="application/json", json=None):  # noqa: A002
        import json as json_lib

        body = data if data is not None else json_lib.dumps(json)
        request = urllib.request.Request(self.url, data=body.encode(), method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=15) as res:
                return _HttpResponse(res.status, res.read())
        except urllib.error.HTTPError as exc:
            return _HttpResponse(exc.code, exc.read())


class _HttpResponse:
    def __init__(self, status: int, raw: bytes):
        self.status_code = status
        self._raw = raw

    def get_data(self, as_text=False):
        return self._raw.decode("utf-8", "replace") if as_text else self._raw

    def get_json(self):
        return json.loads(self._raw)


def markers(locale: str = "en-US") -> tuple[str, str]:
    """The opening words of the emergency and the see-a-doctor-today answers, as spoken."""
    from skill.engine.content import default_content

    content = default_content()
    prompts = content.prompts_for(locale)
    spoken_values = content.locale(locale).spoken

    def first_sentence(key):
        text = prompts.text(key).format_map(_Blank(spoken_values))
        return " ".join(text.split(".")[0].split()).lower()

    return first_sentence("emergency.say"), first_sentence("urgent.say")


class _Blank(dict):
    def __missing__(self, key):
        return ""


def endpoint_tier(client, route: Route, emergency: str, urgent: str) -> tuple[int, str]:
    from envelopes import Conversation, speech
    from skill.render import plain

    convo = Conversation(client, user_id=f"amzn1.ask.account.EVAL{uuid.uuid4().hex.upper()}")
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    slots = {}
    for name, value in route.slots.items():
        if name == SYMPTOM_SLOT and route.flag:
            slots[name] = {"name": name, "value": value, "confirmationStatus": "NONE", "resolutions": {
                "resolutionsPerAuthority": [{
                    "authority": "amzn1.er-authority.echo-sdk.EVAL.RED_FLAG",
                    "status": {"code": "ER_SUCCESS_MATCH"},
                    "values": [{"value": {"name": value, "id": route.flag}}]}]}}
        else:
            slots[name] = value
    body = convo.say(route.intent, slots or None)
    said = plain(speech(body)).lower()
    if emergency in said:
        return 1, said
    if urgent in said:
        return 2, said
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
        print(f"  {len(no_carrier)} phrases matched no carrier and were sent as DescribeSymptomIntent with the whole "
              "phrase:")
        for phrase in no_carrier:
            print(f"    - {phrase}")
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
        from skill.engine.triage import SYMPTOM_FRAMES, default_red_flags
        from skill.interaction_model import load_model

        rows = read_phrases(Path(args.file))
        router = Router(load_model("en-US"), SYMPTOM_FRAMES)
        routes = [router.route(phrase) for _, phrase, _ in rows]
        if args.direct:
            red_flags = default_red_flags()
            results = [direct_tier(r, red_flags, SYMPTOM_FRAMES) for r in routes]
            report(rows, results, "direct", routes)
            return 0
        emergency, urgent = markers()
        with tempfile.TemporaryDirectory() as tmp:
            if args.url:
                client, mode = HttpClient(args.url), f"endpoint {args.url}"
            else:
                from skill.app import create_app

                app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(Path(tmp) / "eval.sqlite3")})
                logging.disable(logging.WARNING)  # one log line per request would drown the report
                client, mode = app.test_client(), "endpoint, in process"
            results = [endpoint_tier(client, r, emergency, urgent)[0] for r in routes]
        print(f"Answer markers: tier 1 = {emergency!r}, tier 2 = {urgent!r}")
        report(rows, results, mode, routes)
        return 0
    except Exception as exc:  # could not run: say why, exit non-zero
        print(f"triage_eval: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
