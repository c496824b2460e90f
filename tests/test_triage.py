"""Red flags through POST /alexa: screening, volunteered at any moment, three tiers, any locale.

Each phrase is sent the way Alexa would route it: after a carrier phrase of one of the symptom
intents ("i can't ...", "my legs ...", "i have ..."), or as the symptom slot's raw value.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.exceptions import PersistenceException

from envelopes import Conversation, intent, launch, speech
from skill.alexa.skill import build_skill
from skill.alexa.turns import STATE_KEY
from skill.app import create_app
from skill.engine.state import fresh_state, iso
from skill.render import plain
from skill.web import endpoint

NOW = datetime.now(timezone.utc)
EMERGENCY = "this needs help now. call nine one one"
URGENT = "please see a doctor today"

# Every tier-1 and tier-2 item of clinical.md, three or more ways a person might say it.
TIER_1 = {
    "saddle numbness": ["i have numbness between my legs", "i feel numb around my bottom",
                        "there is tingling around my genitals", "i can't feel my bum"],
    "bladder": ["i can't pee", "i wet myself", "i have trouble peeing", "i'm leaking urine"],
    "bowel": ["i can't control my bowels", "i have lost control of my bowels", "i pooed myself"],
    "both legs": ["i can't feel my legs", "my legs are numb", "my legs are weak", "both my legs are tingling"],
    "leg getting weaker": ["my leg is getting weaker", "one of my legs keeps getting weaker",
                           "my leg is weaker than before"],
    "foot drop": ["my foot is slapping the ground", "i can't lift my foot", "i have foot drop"],
    "erections or genital sensation": ["i can't get an erection", "i have no feeling in my genitals",
                                       "i have new problems with erections"],
    "serious fall or blow": ["i fell down the stairs", "i was in a car accident", "i was hit hard in the back"],
    "chest pain": ["i have chest pain", "my chest hurts", "i have a tight chest"],
    "fainting": ["i fainted", "i passed out", "i feel faint"],
    "racing heart": ["my heart is racing", "i have a pounding heart", "my heart is beating really fast"],
    "pulsating belly": ["i have a throbbing feeling in my belly", "there is a pulsing in my stomach",
                        "my tummy is pulsating"],
}
TIER_2 = {
    "fever or unwell": ["i have a fever", "i have chills", "i feel really unwell"],
    "kidney signs": ["it burns when i pee", "there is blood in my pee", "i have pain in my side and burning when i wee"],
    "cancer history": ["i had cancer", "i have a history of cancer", "i'm being treated for cancer"],
    "weight loss": ["i have been losing weight without trying", "i've lost a lot of weight without trying",
                    "i am losing weight for no reason"],
    "night pain": ["the pain is worse at night", "the pain wakes me up at night", "resting doesn't ease it at all"],
    "osteoporosis fall": ["i have osteoporosis and i slipped", "i take steroids and had a small fall", "i have brittle bones"],
    "immune": ["i have a weak immune system", "i'm on chemotherapy", "i inject drugs"],
    "lump": ["there is a lump on my back", "there is a swelling on my spine", "my back has changed shape"],
    "upper belly after meals": ["i have severe pain in my upper stomach after eating",
                                "my upper belly hurts badly after meals", "i get bad pain under my ribs after i eat"],
}
NEGATED = ["i have no fever", "i don't have any numbness", "there is no blood in my pee", "i can feel my legs",
           "i didn't fall", "no tingling anywhere", "i haven't wet myself", "i do not have chest pain",
           "my legs are fine", "i have no trouble peeing"]

CARRIERS = [  # (prefix, intent, frame kept by the intent) — longest first, as Alexa would match
    ("both my legs ", "LegsSymptomIntent"), ("my legs ", "LegsSymptomIntent"), ("one of my legs ", "LegSymptomIntent"),
    ("my leg ", "LegSymptomIntent"), ("i can't ", "CannotDoIntent"), ("i cannot ", "CannotDoIntent"),
    ("i have ", "DescribeSymptomIntent"), ("there is ", "DescribeSymptomIntent"), ("i feel ", "DescribeSymptomIntent"),
]


def symptom_env(phrase: str, **kw) -> dict:
    for prefix, name in CARRIERS:
        if phrase.startswith(prefix):
            return intent(name, {"description": phrase[len(prefix):]}, **kw)
    return intent("SymptomIntent", {"symptom": phrase}, **kw)  # the slot's raw value, unresolved


def state_at(step: str, **extra) -> dict:
    state = fresh_state(NOW)
    state["step"] = step
    if not step.startswith("screen_"):
        state["episode"]["screening"] = {"result": "clear", "at": iso(NOW)}
    state.update(extra)
    return state


STATES = {
    "screening": lambda: state_at("screen_bladder"),
    "compress": lambda: state_at("compress_cold"),
    "breathing": lambda: state_at("breathing"),
    "paused": lambda: state_at("legs_2", paused=True),
    "side question": lambda: state_at("legs_2", pending="confirm_delete"),
}


def cases(table):
    return [(item, phrase) for item, phrases in table.items() for phrase in phrases]


def said(body) -> str:
    return plain(speech(body)).lower()


def send_in_session(client, phrase, state, locale="en-US"):
    env = symptom_env(phrase, session_attributes={STATE_KEY: state}, new_session=False, locale=locale)
    res = client.post("/alexa", data=json.dumps(env), content_type="application/json")
    assert res.status_code == 200
    return res.get_json()


@pytest.mark.parametrize("state_name", sorted(STATES))
@pytest.mark.parametrize("item, phrase", cases(TIER_1))
def test_tier_one_sign_gets_the_emergency_answer_in_one_turn(client, state_name, item, phrase):
    body = send_in_session(client, phrase, STATES[state_name]())
    assert said(body).startswith(EMERGENCY), said(body)
    assert body["response"]["shouldEndSession"] is True
    assert "911" in body["response"]["card"]["content"]
    assert body["sessionAttributes"][STATE_KEY]["step"] == "emergency"


@pytest.mark.parametrize("state_name", sorted(STATES))
@pytest.mark.parametrize("item, phrase", cases(TIER_2))
def test_tier_two_sign_says_see_a_doctor_today_and_offers_comfort_steps(client, state_name, item, phrase):
    body = send_in_session(client, phrase, STATES[state_name]())
    assert said(body).startswith(URGENT), said(body)
    assert body["response"]["shouldEndSession"] is False
    assert body["response"]["card"]["title"] == "See a doctor today"


@pytest.mark.parametrize("phrase", [p for _, p in cases(TIER_1)] + [p for _, p in cases(TIER_2)][::3])
def test_red_flag_on_relaunch_one_shot_is_answered_before_the_welcome_back(client, phrase):
    convo = Conversation(client)
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    convo.say("AMAZON.YesIntent")
    convo.end()
    # "Alexa, tell back spasm coach <phrase>": a new session that opens with the symptom.
    env = symptom_env(phrase, new_session=True)
    body = client.post("/alexa", json=env).get_json()
    text = said(body)
    assert text.startswith(EMERGENCY) or text.startswith(URGENT), text
    assert "welcome back" not in text


@pytest.mark.parametrize("state_name", ["screening", "compress", "breathing"])
@pytest.mark.parametrize("phrase", NEGATED)
def test_negated_signs_do_not_escalate_and_the_question_is_restated(client, state_name, phrase):
    body = send_in_session(client, phrase, STATES[state_name]())
    text = said(body)
    assert EMERGENCY not in text and URGENT not in text, text
    assert body["response"]["shouldEndSession"] is False
    assert text.endswith("?")


def test_tier_two_mid_guide_then_yes_carries_on_where_they_were(client):
    body = send_in_session(client, "i have a fever", state_at("legs_2"))
    state = body["sessionAttributes"][STATE_KEY]
    env = intent("AMAZON.YesIntent", session_attributes={STATE_KEY: state}, new_session=False)
    after = client.post("/alexa", json=env).get_json()
    assert "footstool" in said(after)


def test_tier_three_sign_gets_see_a_doctor_advice_and_the_guide_carries_on(client):
    body = send_in_session(client, "i have shooting pain down one leg", state_at("legs_2"))
    text = said(body)
    assert "see a doctor" in text and EMERGENCY not in text and URGENT not in text
    assert text.endswith("would you like another position?")


def test_tier_one_ends_the_guide_and_a_relaunch_reminds_until_help_is_confirmed(client):
    convo = Conversation(client)
    convo.launch()
    convo.say("AMAZON.NoIntent")
    convo.say_env(lambda **kw: symptom_env("i can't feel my legs", **kw), "i can't feel my legs")
    assert convo.session_id is None
    reminder = said(convo.launch())
    assert "call nine one one" in reminder and "spoken to emergency services" in reminder
    assert said(convo.say("AMAZON.YesIntent")).startswith("good. i'm glad you've got help")


@pytest.mark.parametrize("locale, number, urgent", [
    ("en-US", "nine one one", "see a doctor today"), ("en-CA", "nine one one", "see a doctor today"),
    ("en-GB", "nine nine nine", "call one one one, or your gp, today"), ("en-AU", "triple zero", "see a doctor today"),
    ("en-IN", "one one two", "see a doctor today"),
])
def test_emergency_and_urgent_numbers_follow_the_request_locale(client, locale, number, urgent):
    emergency = said(send_in_session(client, "i can't feel my legs", state_at("rest"), locale=locale))
    assert f"call {number}" in emergency
    assert said(send_in_session(client, "i have a fever", state_at("rest"), locale=locale)).startswith(
        f"please {urgent}")


@pytest.mark.parametrize("locale, written", [("en-US", "911"), ("en-GB", "999"), ("en-AU", "000"), ("en-IN", "112")])
def test_emergency_card_shows_the_number_in_digits(client, locale, written):
    body = send_in_session(client, "i wet myself", state_at("rest"), locale=locale)
    assert f"Call {written}" in body["response"]["card"]["content"]


class _BrokenStore(AbstractPersistenceAdapter):
    """A store that fails on every call, like a database that is down."""

    calls = 0

    def get_attributes(self, request_envelope):
        _BrokenStore.calls += 1
        raise PersistenceException("store is down")

    save_attributes = delete_attributes = get_attributes


def test_with_the_store_down_a_tier_one_phrase_still_gets_the_tier_one_answer():
    app = create_app({"VERIFY_REQUESTS": False, "STORE": _BrokenStore()})
    client = app.test_client()
    before = _BrokenStore.calls
    for env in (symptom_env("i can't feel my legs"), symptom_env("i wet myself", new_session=False,
                                                                 session_attributes={})):
        body = client.post("/alexa", json=env).get_json()
        assert said(body).startswith(EMERGENCY)
    assert _BrokenStore.calls > before  # the store really was asked, and failed
    launch_body = client.post("/alexa", json=launch()).get_json()
    assert "stop what you're doing" in said(launch_body)


class _Explodes(AbstractRequestHandler):
    def can_handle(self, handler_input):
        return True

    def handle(self, handler_input):
        raise RuntimeError("a bug anywhere in a handler")


def test_a_failing_handler_never_swallows_a_red_flag(tmp_path):
    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "db.sqlite3")})
    from skill.storage.sqlite import SQLitePersistenceAdapter

    app.extensions[endpoint.EXTENSION_KEY]._skill = build_skill(
        SQLitePersistenceAdapter(str(tmp_path / "other.sqlite3")), extra_handlers=[_Explodes()])
    client = app.test_client()
    assert said(client.post("/alexa", json=symptom_env("my legs are numb")).get_json()).startswith(EMERGENCY)
    assert said(client.post("/alexa", json=symptom_env("i have a fever")).get_json()).startswith(URGENT)
    generic = said(client.post("/alexa", json=intent("AMAZON.YesIntent")).get_json())
    assert "went wrong" in generic and "nine one one" in generic


# ------------------------------------------------------------------ screening rules

def _screened(client) -> Conversation:
    convo = Conversation(client, now=NOW)
    convo.say("StartGuideIntent")
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    convo.end()
    return convo


def test_at_most_five_questions_before_the_guide_begins(client):
    convo = Conversation(client)
    convo.say("StartGuideIntent")
    questions = 1
    while "rest is important" not in said(convo.last):
        convo.say("AMAZON.NoIntent")
        questions += 1
    assert questions - 1 <= 5


def test_no_rescreen_within_twelve_hours_but_told_how_to_report_a_warning_sign(client):
    convo = _screened(client)
    convo.advance(hours=3)
    text = said(convo.say("StartGuideIntent"))
    assert "stop what you're doing" in text and "tell me at any time" in text
    assert "numbness or tingling between your legs, around" not in text  # not the question itself
    assert text.endswith("ready for the next step?")


def test_rescreened_after_twelve_hours(client):
    convo = _screened(client)
    convo.advance(hours=13)
    assert said(convo.say("StartGuideIntent")).endswith("around your bottom?")


def test_an_episode_older_than_two_weeks_is_told_to_see_a_doctor(client):
    convo = Conversation(client, now=NOW - timedelta(days=15))
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    # Came back every couple of days: still the same episode, now over two weeks old.
    for _ in range(8):
        convo.end()
        convo.advance(days=2)
        convo.launch()
    assert "more than two weeks" in said(convo.last)
