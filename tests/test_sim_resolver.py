"""The simulator's resolver: invocation phrases, intent resolution and slots, against the real model."""

from __future__ import annotations

import json
import re

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from envelopes import envelope
from simulator.resolver import (BUILTIN_PHRASES, DEFAULT_SKILL_ID, FALLBACK_INTENT, Invocation, Resolution,
                                Resolver, Score, Turn, parse_invocation, resolve_turn)
from skill.alexa.carriers import default_carriers
from skill.engine.triage import default_red_flags, described_text
from skill.interaction_model import load_model

MODEL = load_model()
CARRIERS = default_carriers().meanings
LM = MODEL["interactionModel"]["languageModel"]
INVOCATION = LM["invocationName"]
TYPES = {t["name"]: t for t in LM["types"]}
SKILL_ID = "amzn1.ask.skill.TEST"

# Samples of the real model that, filled with the first value of their slot type (or "something" for
# AMAZON.SearchQuery), resolve to another intent: (intent, sample) -> why. It may only shrink.
KNOWN_AMBIGUOUS: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver(MODEL, skill_id=SKILL_ID)


def er(slot: dict) -> dict:
    return slot["resolutions"]["resolutionsPerAuthority"][0]


def er_id(slot: dict) -> str:
    return er(slot)["values"][0]["value"]["id"]


def intent_slot_types(intent: dict) -> dict[str, str]:
    return {s["name"]: s["type"] for s in intent.get("slots", []) or []}


def report(failures: list[str], what: str) -> str:
    return f"{len(failures)} {what}:\n  " + "\n  ".join(failures)


def fill(sample: str, slot_types: dict[str, str]) -> str:
    def value(m):
        slot_type = slot_types[m.group(1)]
        if slot_type == "AMAZON.SearchQuery":
            return "something"
        if slot_type == "AMAZON.NUMBER":
            return "five"
        return TYPES[slot_type]["values"][0]["name"]["value"]
    return re.sub(r"\{(\w+)\}", value, sample)


ALL_SAMPLES = [(i["name"], s, fill(s, intent_slot_types(i))) for i in LM["intents"] for s in i.get("samples", [])]


# ------------------------------------------------------------------------------------ invocation
LAUNCH_PHRASES = [
    ("open back spasm coach", "open back spasm coach"),
    ("Alexa, open Back Spasm Coach.", "open back spasm coach"),
    ("alexa start back spasm coach", "start back spasm coach"),
    ("ALEXA... LAUNCH back-spasm coach!", "launch back spasm coach"),
    ("begin back spasm coach", "begin back spasm coach"),
    ("load back spasm coach", "load back spasm coach"),
    ("play back spasm coach", "play back spasm coach"),
    ("resume back spasm coach", "resume back spasm coach"),
    ("run back spasm coach", "run back spasm coach"),
    ("use back spasm coach", "use back spasm coach"),
    ("Alexa, talk to back spasm coach", "talk to back spasm coach"),
    ("alexa, ask back spasm coach", "ask back spasm coach"),
    ("tell back spasm coach.", "tell back spasm coach"),
    ("open back spasm coach, please", "open back spasm coach please"),
]


def test_launch_phrases_open_the_skill():
    failures = [f"{text!r} -> {parse_invocation(text, INVOCATION)}" for text, matched in LAUNCH_PHRASES
                if parse_invocation(text, INVOCATION) != Invocation("launch", None, matched)]
    assert not failures, report(failures, "launch phrases misread")


ONE_SHOT_PHRASES = [
    ("ask back spasm coach to go to the breathing", "go to the breathing", "ask back spasm coach to"),
    ("Alexa, ask Back Spasm Coach to skip to physio.", "skip to physio", "ask back spasm coach to"),
    ("alexa ask back spasm coach that my back is spasming", "my back is spasming", "ask back spasm coach that"),
    ("Alexa, ask back spasm coach about the breathing?", "the breathing", "ask back spasm coach about"),
    ("ask back spasm coach for the summary", "the summary", "ask back spasm coach for"),
    ("ask back spasm coach if i have numbness", "i have numbness", "ask back spasm coach if"),
    ("ask back spasm coach whether it's worse", "it's worse", "ask back spasm coach whether"),
    ("ask back spasm coach what can i say", "what can i say", "ask back spasm coach"),
    ("tell back spasm coach to go back", "go back", "tell back spasm coach to"),
    ("Alexa, tell back spasm coach that my legs are numb!", "my legs are numb", "tell back spasm coach that"),
    ("tell back spasm coach my back is spasming", "my back is spasming", "tell back spasm coach"),
    ("alexa, open back spasm coach and go to the breathing", "go to the breathing", "open back spasm coach and"),
    ("start back spasm coach and tell me about the summary", "tell me about the summary",
     "start back spasm coach and"),
]


def test_one_shot_phrases_pass_the_rest_to_the_skill():
    failures = [f"{text!r} -> {parse_invocation(text, INVOCATION)}" for text, remainder, matched in ONE_SHOT_PHRASES
                if parse_invocation(text, INVOCATION) != Invocation("one_shot", remainder, matched)]
    assert not failures, report(failures, "one-shot phrases misread")


NOT_FOR_THE_SKILL = [
    "what's the weather",
    "Alexa, what's the weather?",
    "",
    "alexa",
    "open the pod bay doors",
    "open back spasm",
    "back spasm coach my back hurts",
    "tell me about the breathing",
    "ask my back spasm coach to go back",
    "go to the breathing",
]


def test_text_not_addressing_the_skill_is_not_taken_for_it():
    failures = [f"{text!r} -> {parse_invocation(text, INVOCATION)}" for text in NOT_FOR_THE_SKILL
                if parse_invocation(text, INVOCATION) is not None]
    assert not failures, report(failures, "texts taken as addressing the skill")


def test_invocation_name_is_normalised_too():
    assert parse_invocation("open back spasm coach", "Back  Spasm Coach") == \
        Invocation("launch", None, "open back spasm coach")


# ------------------------------------------------------------------------------------ turns
def test_turn_launch(resolver):
    turn = resolver.resolve_turn("Alexa, open back spasm coach", in_session=False)
    assert isinstance(turn, Turn)
    assert (turn.request_type, turn.resolution, turn.invocation.kind) == ("LaunchRequest", None, "launch")
    assert not turn.not_for_skill


def test_turn_one_shot_resolves_the_remainder(resolver):
    turn = resolver.resolve_turn("tell back spasm coach my back is spasming", in_session=False)
    assert turn.request_type == "IntentRequest"
    assert turn.invocation == Invocation("one_shot", "my back is spasming", "tell back spasm coach")
    assert turn.resolution.intent == "StartGuideIntent"
    assert turn.resolution.sample == "my back is spasming"


def test_turn_one_shot_with_slot(resolver):
    turn = resolver.resolve_turn("Alexa, ask back spasm coach to skip to physio", in_session=False)
    assert turn.resolution.intent == "GoToStepIntent"
    assert er_id(turn.resolution.slots["step"]) == "therapy"


def test_turn_out_of_session_not_for_the_skill(resolver):
    turn = resolver.resolve_turn("what's the weather", in_session=False)
    assert turn.request_type is None and turn.resolution is None and turn.invocation is None
    assert turn.not_for_skill
    assert resolver.resolve_turn("go to the breathing", in_session=False).not_for_skill


def test_turn_in_session_is_an_intent_request(resolver):
    turn = resolver.resolve_turn("Alexa, go to the breathing", in_session=True)
    assert turn.request_type == "IntentRequest" and turn.invocation is None
    assert turn.resolution.intent == "GoToStepIntent"
    assert turn.resolution.slots["step"]["value"] == "breathing"
    assert resolver.resolve_turn("purple monkey dishwasher", in_session=True).resolution.intent == FALLBACK_INTENT


def test_turn_in_session_launch_phrase_still_launches(resolver):
    assert resolver.resolve_turn("open back spasm coach", in_session=True).request_type == "LaunchRequest"


def test_module_level_resolve_turn_uses_the_en_us_model():
    turn = resolve_turn("tell back spasm coach my back seized up", in_session=False)
    assert turn.resolution.intent == "StartGuideIntent"


# ------------------------------------------------------------------------------------ samples
def test_exact_sample(resolver):
    res = resolver.resolve("My back seized up!")
    assert isinstance(res, Resolution)
    assert (res.intent, res.slots, res.sample) == ("StartGuideIntent", {}, "my back seized up")
    assert isinstance(res.score, Score) and res.score.exact


STEP_SLOTS = [
    ("go to the breathing", "breathing", "breathing", "breathing"),
    ("take me to the leg positions", "leg positions", "legs", "leg positions"),
    ("skip to physio", "physio", "therapy", "therapy"),
    ("jump to the cold pack", "cold pack", "compress", "heat or cold"),
    ("go to the when to see a doctor step", "when to see a doctor", "get_help", "getting help"),
]


def test_step_slot_is_filled_and_resolved_to_its_step(resolver):
    failures = []
    for text, value, value_id, canonical in STEP_SLOTS:
        res = resolver.resolve(text)
        slot = res.slots.get("step") or {}
        wanted = {"authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.STEP_NAME",
                  "status": {"code": "ER_SUCCESS_MATCH"}, "values": [{"value": {"name": canonical, "id": value_id}}]}
        if res.intent != "GoToStepIntent" or slot.get("value") != value or "resolutions" not in slot \
                or er(slot) != wanted:
            failures.append(f"{text!r} -> {res.intent} {slot}")
    assert not failures, report(failures, "step names not resolved")


def test_slot_json_shape_exactly(resolver):
    assert resolver.resolve("skip to physio").slots == {"step": {
        "name": "step",
        "value": "physio",
        "confirmationStatus": "NONE",
        "source": "USER",
        "resolutions": {"resolutionsPerAuthority": [{
            "authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.STEP_NAME",
            "status": {"code": "ER_SUCCESS_MATCH"},
            "values": [{"value": {"name": "therapy", "id": "therapy"}}],
        }]},
    }}


def test_default_skill_id_in_authority():
    slot = Resolver(MODEL).resolve("skip to physio").slots["step"]
    assert er(slot)["authority"] == f"amzn1.er-authority.echo-sdk.{DEFAULT_SKILL_ID}.STEP_NAME"


def test_custom_slot_takes_the_longest_value(resolver):
    # "heat" and "heat pack" are both STEP_NAME phrases; "go to {step}" can take "the breathing" (a
    # synonym) but "go to the {step}" has more literal words and wins with "breathing".
    assert resolver.resolve("go to heat pack").slots["step"]["value"] == "heat pack"
    assert resolver.resolve("go to the breathing").sample == "go to the {step}"


RED_FLAG_SLOTS = [
    ("i've got numbness between my legs", "numbness between my legs", "t1_saddle"),
    ("I'm having tingling between my legs.", "tingling between my legs", "t1_saddle"),
    ("i think i have chest pain", "chest pain", "t1_chest"),
    ("i've noticed a fever", "a fever", "t2_fever"),
    ("chest pain", "chest pain", "t1_chest"),
]


def test_red_flag_slot_is_filled_and_resolved_to_its_flag(resolver):
    failures = []
    for text, value, flag in RED_FLAG_SLOTS:
        res = resolver.resolve(text)
        slot = res.slots.get("symptom") or {}
        ok = (res.intent == "SymptomIntent" and slot.get("value") == value and "resolutions" in slot
              and er(slot)["status"] == {"code": "ER_SUCCESS_MATCH"} and er_id(slot) == flag
              and er(slot)["authority"].endswith(".RED_FLAG"))
        if not ok:
            failures.append(f"{text!r} -> {res.intent} {slot}")
    assert not failures, report(failures, "red flags not resolved")


CAPTURED = [
    ("i can't feel my legs", "CannotDoIntent", "feel my legs"),
    ("my legs are numb", "LegsSymptomIntent", "are numb"),
    ("my left leg is tingling", "LegSymptomIntent", "is tingling"),
    ("i have a headache", "DescribeSymptomIntent", "a headache"),
    ("i'm unable to stand up straight", "CannotDoIntent", "stand up straight"),
]


def test_search_query_captures_what_follows_the_carrier(resolver):
    failures = []
    for text, intent, description in CAPTURED:
        res = resolver.resolve(text)
        wanted = {"description": {"name": "description", "value": description, "confirmationStatus": "NONE",
                                  "source": "USER"}}
        if res.intent != intent or res.slots != wanted:
            failures.append(f"{text!r} -> {res.intent} {res.slots}")
    assert not failures, report(failures, "free text not captured")


COMMON_UTTERANCES = [
    ("yes", "AMAZON.YesIntent"),
    ("Yeah.", "AMAZON.YesIntent"),
    ("no", "AMAZON.NoIntent"),
    ("help", "AMAZON.HelpIntent"),
    ("stop", "AMAZON.StopIntent"),
    ("cancel", "AMAZON.CancelIntent"),
    ("go back", "AMAZON.PreviousIntent"),
    ("start over", "AMAZON.StartOverIntent"),
    ("next", "AMAZON.NextIntent"),
    ("say that again", "AMAZON.RepeatIntent"),
    ("go home", "AMAZON.NavigateHomeIntent"),
    ("i'm not sure", "NotSureIntent"),
    ("I\u2019m NOT sure!", "NotSureIntent"),
]


def test_common_utterances_reach_their_intent_without_slots(resolver):
    failures = [f"{text!r} -> {resolver.resolve(text).intent} {resolver.resolve(text).slots}"
                for text, intent in COMMON_UTTERANCES
                if (resolver.resolve(text).intent, resolver.resolve(text).slots) != (intent, {})]
    assert not failures, report(failures, "common utterances misresolved")


# Built-in phrases the real model gives to its own intent on purpose: "okay" acknowledges as often as
# it agrees, so OkayIntent hands the engine the word (at a safety question it is no answer).
TAKEN_ON_PURPOSE = {"ok": "OkayIntent", "okay": "OkayIntent"}


def test_every_builtin_phrase_reaches_its_intent(resolver):
    # The real model declares every built-in intent in the table and takes none of these phrases,
    # except the ones it takes on purpose.
    failures = [f"{phrase!r} -> {resolver.resolve(phrase).intent}, not {TAKEN_ON_PURPOSE.get(phrase, intent)}"
                for intent, phrases in BUILTIN_PHRASES.items() for phrase in phrases
                if resolver.resolve(phrase).intent != TAKEN_ON_PURPOSE.get(phrase, intent)]
    assert not failures, report(failures, "built-in phrases misresolved")


def test_builtin_phrase_yields_to_a_model_sample():
    model = {"interactionModel": {"languageModel": {"invocationName": "test skill", "intents": [
        {"name": "SkipIntent", "samples": ["skip"]},
        {"name": "AMAZON.NextIntent", "samples": ["next one"]},
        {"name": "AMAZON.YesIntent", "samples": ["yes"]},
    ], "types": []}}}
    r = Resolver(model)
    assert r.resolve("skip").intent == "SkipIntent"
    assert r.resolve("next").intent == "AMAZON.NextIntent"
    assert r.resolve("next one").intent == "AMAZON.NextIntent"
    yes = r.resolve("yes")
    assert (yes.intent, yes.sample) == ("AMAZON.YesIntent", "yes")
    assert "sample" in yes.explanation[1] and "built-in" not in yes.explanation[1]
    # Built-in intents the model does not declare are never produced.
    assert r.resolve("stop").intent == FALLBACK_INTENT


def test_fallback(resolver):
    res = resolver.resolve("purple monkey dishwasher")
    assert (res.intent, res.slots, res.sample, res.score) == (FALLBACK_INTENT, {}, None, None)
    assert any("no sample" in line for line in res.explanation)
    assert resolver.resolve("").intent == FALLBACK_INTENT
    assert resolver.resolve("?!").intent == FALLBACK_INTENT


# ------------------------------------------------------------------------------------ lenient slots
def test_unknown_step_fills_the_slot_with_no_match(resolver):
    res = resolver.resolve("go to the kitchen")
    assert res.intent == "GoToStepIntent"
    slot = res.slots["step"]
    assert slot["value"] == "kitchen"
    assert er(slot) == {"authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.STEP_NAME",
                        "status": {"code": "ER_SUCCESS_NO_MATCH"}}
    assert not res.score.strict
    assert any("ER_SUCCESS_NO_MATCH" in line for line in res.explanation)


def test_unknown_red_flag_with_a_carrier_phrase(resolver):
    res = resolver.resolve("help i have a headache")
    assert res.intent == "SymptomIntent"
    assert res.slots["symptom"]["value"] == "a headache"
    assert er(res.slots["symptom"])["status"]["code"] == "ER_SUCCESS_NO_MATCH"


def test_lenient_filling_only_when_nothing_matches_strictly(resolver):
    # "i have ..." is a DescribeSymptomIntent sample; SymptomIntent's "help i have {symptom}" could
    # take "a headache" leniently but must not, since a strict match exists.
    assert resolver.resolve("i have a headache").intent == "DescribeSymptomIntent"
    # The bare "{symptom}" sample has no carrier phrase, so it never swallows arbitrary words.
    assert resolver.resolve("purple cat orange").intent == FALLBACK_INTENT


# ------------------------------------------------------------------------------------ unfilled slots and scoring
SYNTHETIC = {"interactionModel": {"languageModel": {"invocationName": "test skill", "intents": [
    {"name": "FindThingIntent", "slots": [{"name": "thing", "type": "THING"}],
     "samples": ["find {thing}"]},
    {"name": "FindThingWhenIntent", "slots": [{"name": "thing", "type": "THING"},
                                              {"name": "when", "type": "AMAZON.SearchQuery"}],
     "samples": ["find {thing} {when}", "look for {thing}"]},
    {"name": "FindQueryIntent", "slots": [{"name": "query", "type": "AMAZON.SearchQuery"}],
     "samples": ["find {query}"]},
    {"name": "SearchAIntent", "slots": [{"name": "q", "type": "AMAZON.SearchQuery"}],
     "samples": ["search {q}"]},
    {"name": "SearchBIntent", "slots": [{"name": "q", "type": "AMAZON.SearchQuery"}],
     "samples": ["search {q}", "search for {q}"]},
    {"name": "CountIntent", "slots": [{"name": "n", "type": "AMAZON.NUMBER"}],
     "samples": ["count {n} sheep", "go {n}", "go {n} now"]},
    {"name": "GoIntent", "slots": [{"name": "where", "type": "AMAZON.SearchQuery"}],
     "samples": ["go {where}", "go to {where}", "please {where}", "{where} please"]},
], "types": [{"name": "THING", "values": [
    {"id": "box", "name": {"value": "red box", "synonyms": ["crate"]}},
]}]}}}


def test_custom_slot_beats_search_query():
    r = Resolver(SYNTHETIC)
    res = r.resolve("find red box")
    assert res.intent == "FindThingIntent"
    assert "custom slot beats free text" in res.explanation[-1]
    assert r.resolve("find blue box").intent == "FindQueryIntent"


def test_fewer_search_query_tokens_win():
    res = Resolver(SYNTHETIC).resolve("find red box today")
    assert res.intent == "FindThingWhenIntent"
    assert res.slots["when"]["value"] == "today"
    assert "fewer words captured as free text" in res.explanation[-1]


def test_intent_order_then_sample_order():
    r = Resolver(SYNTHETIC)
    res = r.resolve("search cats")
    assert (res.intent, res.sample) == ("SearchAIntent", "search {q}")
    assert "earlier intent in the model" in res.explanation[-1]
    # More literal words come before intent order.
    assert r.resolve("search for cats").sample == "search for {q}"
    # "please please": both of GoIntent's "please" samples tie on everything but their order.
    assert r.resolve("please please").sample == "please {where}"


def test_more_literal_words_win():
    res = Resolver(SYNTHETIC).resolve("go to the shop")
    assert (res.intent, res.slots["where"]["value"]) == ("GoIntent", "the shop")
    assert res.sample == "go to {where}"


def test_builtin_slot_types_take_one_token():
    r = Resolver(SYNTHETIC)
    res = r.resolve("count 7 sheep")
    assert (res.intent, res.slots["n"]["value"]) == ("CountIntent", "7")
    assert r.resolve("count seven hundred sheep").intent == FALLBACK_INTENT
    # "go {n}" (AMAZON.NUMBER) and "go {where}" (free text) tie on literal words; SearchQuery loses.
    assert r.resolve("go 7").intent == "CountIntent"


def test_unfilled_slots_are_present_without_a_value():
    res = Resolver(SYNTHETIC).resolve("look for crate")
    assert res.intent == "FindThingWhenIntent"
    assert res.slots["when"] == {"name": "when", "confirmationStatus": "NONE"}
    assert res.slots["thing"]["value"] == "crate"
    assert er_id(res.slots["thing"]) == "box"
    assert any("slot when" in line and "not filled" in line for line in res.explanation)


# ------------------------------------------------------------------------------------ determinism and the model
def test_same_input_same_resolution(resolver):
    for text in ("skip to physio", "i can't feel my legs", "go to the kitchen", "purple monkey dishwasher"):
        first = resolver.resolve(text)
        assert resolver.resolve(text) == first
        assert resolver.resolve(text) == first
        assert Resolver(MODEL, skill_id=SKILL_ID).resolve(text) == first


def test_every_sample_resolves_to_its_own_intent(resolver):
    failures = []
    for intent, sample, text in ALL_SAMPLES:
        res = resolver.resolve(text)
        if (intent, sample) in KNOWN_AMBIGUOUS:
            if res.intent == intent:
                failures.append(f"{intent} {sample!r}: no longer ambiguous, remove it from KNOWN_AMBIGUOUS")
            continue
        empty = [name for name in re.findall(r"\{(\w+)\}", sample) if not (res.slots.get(name) or {}).get("value")]
        if res.intent != intent or not res.score.strict or empty:
            why = " / ".join(res.explanation)
            failures.append(f"{intent} {sample!r} ({text!r}) -> {res.intent}"
                            f"{', not strict' if res.score and not res.score.strict else ''}"
                            f"{f', empty slots {empty}' if empty else ''}: {why}")
    assert not failures, report(failures, "samples that do not resolve to their own intent")


def test_known_ambiguities_only_shrink():
    samples = {(i, s) for i, s, _ in ALL_SAMPLES}
    assert set(KNOWN_AMBIGUOUS) <= samples


def test_every_custom_value_in_every_custom_slot_sample(resolver):
    """Each value and synonym, in each sample with a custom slot, resolves to that intent and id. A bare
    red-flag phrase ("i can't feel my legs") may go to a free-text intent instead (its carrier is the
    longer match); then the engine must still read the same red flag, at the same tier or higher, from
    the carrier's meaning and the free text."""
    flags = default_red_flags()
    wrong = []
    for intent in LM["intents"]:
        slot_types = intent_slot_types(intent)
        for sample in intent.get("samples", []):
            refs = re.findall(r"\{(\w+)\}", sample)
            if len(refs) != 1 or slot_types[refs[0]].startswith("AMAZON."):
                continue
            for value in TYPES[slot_types[refs[0]]]["values"]:
                for phrase in [value["name"]["value"], *value["name"].get("synonyms", [])]:
                    res = resolver.resolve(sample.replace("{%s}" % refs[0], phrase))
                    slot = res.slots.get(refs[0]) or {}
                    got = (er(slot).get("values") or [{}])[0].get("value", {}).get("id") if "resolutions" in slot \
                        else None
                    if res.intent == intent["name"] and got == value["id"]:
                        continue
                    if sample == "{symptom}" and res.intent in CARRIERS:
                        text = described_text(CARRIERS[res.intent], res.slots["description"].get("value"))
                        found = flags.match(text)
                        if found is not None and found.tier <= flags.tier_of(value["id"]):
                            continue
                        got = found.flag_id if found else None
                    wrong.append((intent["name"], sample, phrase, res.intent, got))
    assert wrong == []


# ------------------------------------------------------------------------------------ explanation
def test_explanation_names_the_sample_and_the_slot(resolver):
    lines = resolver.resolve("take me to the leg positions").explanation
    text = "\n".join(lines)
    assert 'GoToStepIntent sample "take me to the {step}"' in text
    assert '"leg positions"' in text and 'id "legs"' in text and "ER_SUCCESS_MATCH" in text


def test_explanation_shows_search_query_and_runner_up(resolver):
    lines = resolver.resolve("i can't feel my legs").explanation
    text = "\n".join(lines)
    assert 'CannotDoIntent sample "i can\'t {description}"' in text
    assert 'free text captured "feel my legs"' in text
    assert 'runner-up: IStatementIntent sample "i {description}"' in text
    assert "more literal words" in text


def test_explanation_of_a_builtin_phrase(resolver):
    assert 'AMAZON.YesIntent built-in phrase "yes"' in "\n".join(resolver.resolve("yes").explanation)


# ------------------------------------------------------------------------------------ ask-sdk-model
def deserialise(intent_name: str, slots: dict) -> RequestEnvelope:
    env = envelope({"type": "IntentRequest", "dialogState": "COMPLETED",
                    "intent": {"name": intent_name, "confirmationStatus": "NONE", "slots": slots}})
    return DefaultSerializer().deserialize(json.dumps(env), RequestEnvelope)


DESERIALISED = [
    ("go to the breathing", "step", "breathing"),
    ("take me to the leg positions", "step", "legs"),
    ("skip to physio", "step", "therapy"),
    ("i've got numbness between my legs", "symptom", "t1_saddle"),
]


def test_slots_deserialise_with_ask_sdk_model(resolver):
    failures = []
    for text, slot_name, expected_id in DESERIALISED:
        res = resolver.resolve(text)
        slot = deserialise(res.intent, res.slots).request.intent.slots[slot_name]
        authority = slot.resolutions.resolutions_per_authority[0]
        if (slot.value, authority.status.code.value, authority.values[0].value.id) != \
                (res.slots[slot_name]["value"], "ER_SUCCESS_MATCH", expected_id):
            failures.append(f"{text!r}: {slot}")
    assert not failures, report(failures, "slots that do not survive ask-sdk-model")


def test_no_match_search_query_and_unfilled_deserialise(resolver):
    res = resolver.resolve("go to the kitchen")
    authority = deserialise(res.intent, res.slots).request.intent.slots["step"].resolutions \
        .resolutions_per_authority[0]
    assert authority.status.code.value == "ER_SUCCESS_NO_MATCH" and not authority.values
    res = resolver.resolve("i can't feel my legs")
    assert deserialise(res.intent, res.slots).request.intent.slots["description"].value == "feel my legs"
    res = Resolver(SYNTHETIC).resolve("look for crate")
    assert deserialise(res.intent, res.slots).request.intent.slots["when"].value is None
