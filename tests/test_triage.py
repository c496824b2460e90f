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
from said import keys_of
from skill.alexa.skill import build_skill
from skill.app import create_app
from skill.engine import Line, default_content
from skill.render import Renderer, plain
from skill.web import endpoint

NOW = datetime.now(timezone.utc)
CONTENT = default_content()
RENDER = Renderer(CONTENT)

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


def words(key: str, locale: str = "en-US", spoken: bool = True) -> str:
    """A prompt as the person hears it (or reads it on a card), lowercased for comparison."""
    return plain(RENDER.text(Line(key), locale, spoken)).lower()


def said(body) -> str:
    return plain(speech(body)).lower()


def card(body) -> dict:
    return body["response"].get("card") or {}


def reach(client, user_id: str, *intents: str) -> dict:
    """Session attributes after launching and saying ``intents``, as Alexa carries them to the next request."""
    convo = Conversation(client, user_id=user_id)
    convo.launch()
    body = None
    for name in intents:
        body = convo.say(name)
    # A request that ended the session (pause) still returns the record it saved.
    return convo.attributes if convo.in_session else body["sessionAttributes"]


# Five safety questions "no", rest "yes", the cold pack is on "yes", no timer, another leg position "yes".
TO_LEGS_2 = ["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"] * 2 + ["AMAZON.NoIntent", "AMAZON.YesIntent"]
# Where a sign can be volunteered: the intents that lead there, and the question the person was asked.
STATES = {
    "screening": (["AMAZON.NoIntent"], "steps.screen_bladder.ask"),
    "compress": (["AMAZON.NoIntent"] * 5 + ["AMAZON.YesIntent"], "steps.compress_cold.ask"),
    "breathing": (TO_LEGS_2 + ["AMAZON.YesIntent"] * 4, "steps.breathing.ask"),
    "paused": (TO_LEGS_2 + ["AMAZON.PauseIntent"], "steps.legs_2.ask"),
    "side question": (TO_LEGS_2 + ["DeleteDataIntent"], "events.delete_ask"),
}


def reach_every_state(client, new_user_id) -> dict[str, dict]:
    return {name: reach(client, new_user_id(), *intents) for name, (intents, _) in STATES.items()}


def cases(table):
    return [(item, phrase) for item, phrases in table.items() for phrase in phrases]


def post_in_session(client, phrase, attributes, user_id, locale="en-US"):
    env = symptom_env(phrase, session_attributes=attributes, new_session=False, locale=locale, user_id=user_id)
    res = client.post("/alexa", data=json.dumps(env), content_type="application/json")
    assert res.status_code == 200
    return res


def send_in_session(client, phrase, attributes, user_id, locale="en-US"):
    return post_in_session(client, phrase, attributes, user_id, locale).get_json()


def report(failures: list[str], what: str) -> str:
    return f"{len(failures)} {what}:\n  " + "\n  ".join(failures)


def test_a_tier_one_sign_in_any_state_gets_the_emergency_answer_in_one_turn(shared_client, new_user_id):
    reached = reach_every_state(shared_client, new_user_id)
    number = CONTENT.locale("en-US").written["emergency_number"]
    failures = []
    for state, attributes in reached.items():
        for item, phrase in cases(TIER_1):
            body = send_in_session(shared_client, phrase, attributes, new_user_id())
            ok = (said(body).startswith(words("emergency.say")) and body["response"]["shouldEndSession"] is True
                  and card(body).get("title", "").lower() == words("emergency.card_title", spoken=False)
                  and number in card(body).get("content", ""))
            if not ok:
                failures.append(f"{state} / {item} / {phrase!r}: said {said(body)[:80]!r}, card {card(body)}")
    assert not failures, report(failures, "tier-1 signs not answered as an emergency")


def test_a_tier_two_sign_in_any_state_says_see_a_doctor_today(shared_client, new_user_id):
    reached = reach_every_state(shared_client, new_user_id)
    failures = []
    for state, attributes in reached.items():
        for item, phrase in cases(TIER_2):
            body = send_in_session(shared_client, phrase, attributes, new_user_id())
            ok = (said(body).startswith(words("urgent.say")) and body["response"]["shouldEndSession"] is False
                  and card(body).get("title", "").lower() == words("urgent.card_title", spoken=False))
            # Outside screening the comfort steps are offered while they arrange it. (What follows the advice
            # during screening is left to the screening tests.)
            if state != "screening" and not said(body).endswith(words("urgent.ask")):
                ok = False
            if not ok:
                failures.append(f"{state} / {item} / {phrase!r}: said {said(body)[:100]!r}, card {card(body)}")
    assert not failures, report(failures, "tier-2 signs not answered with see a doctor today")


RELAUNCH_PHRASES = [(1, p) for _, p in cases(TIER_1)] + [(2, p) for _, p in cases(TIER_2)][::3]


def test_a_red_flag_in_a_relaunch_one_shot_is_answered_before_the_welcome_back(shared_client, new_user_id):
    failures = []
    for tier, phrase in RELAUNCH_PHRASES:
        user = new_user_id()
        convo = Conversation(shared_client, user_id=user)
        convo.launch()
        for _ in range(5):
            convo.say("AMAZON.NoIntent")
        convo.say("AMAZON.YesIntent")
        convo.end()
        # "Alexa, tell back spasm coach <phrase>": a new session that opens with the symptom.
        text = said(shared_client.post("/alexa", json=symptom_env(phrase, new_session=True, user_id=user)).get_json())
        answer = words("emergency.say" if tier == 1 else "urgent.say")
        if not text.startswith(answer) or words("events.welcome_back") in text:
            failures.append(f"tier {tier} {phrase!r}: said {text[:100]!r}")
    assert not failures, report(failures, "one-shot red flags on coming back not answered first")


# Said at the bladder question, these deny its own sign: the answer no, and on to the next question.
DENY_BLADDER = {"i haven't wet myself", "i have no trouble peeing"}


def test_negated_signs_do_not_escalate_and_the_question_is_restated(shared_client, new_user_id):
    """A denied sign is no alarm. It answers "no" to the safety question about that very sign, and
    nothing else: any other question is asked again."""
    reached = reach_every_state(shared_client, new_user_id)
    failures = []
    for state in ("screening", "compress", "breathing"):
        for phrase in NEGATED:
            answered = state == "screening" and phrase in DENY_BLADDER
            question = words("steps.screen_legs.ask" if answered else STATES[state][1])
            body = send_in_session(shared_client, phrase, reached[state], new_user_id())
            text = said(body)
            if (words("emergency.say") in text or words("urgent.say") in text or card(body)
                    or body["response"]["shouldEndSession"] is not False or not text.endswith(question)):
                failures.append(f"{state} / {phrase!r}: said {text!r}")
    assert not failures, report(failures, "negated signs that escalate or lose the question")


def test_tier_two_mid_guide_then_yes_carries_on_where_they_were(shared_client, new_user_id):
    user = new_user_id()
    body = send_in_session(shared_client, "i have a fever", reach(shared_client, user, *TO_LEGS_2), user)
    env = intent("AMAZON.YesIntent", session_attributes=body["sessionAttributes"], new_session=False, user_id=user)
    after = shared_client.post("/alexa", json=env)
    assert "steps.legs_2.say" in keys_of(after).say


def test_tier_three_sign_gets_see_a_doctor_advice_and_the_guide_carries_on(shared_client, new_user_id):
    user = new_user_id()
    keys = keys_of(post_in_session(shared_client, "i have shooting pain down one leg",
                                   reach(shared_client, user, *TO_LEGS_2), user))
    assert "routine.t3_one_leg" in keys.say and keys.triage is None  # "see a doctor", neither of the others
    assert keys.say[-1] == "steps.legs_2.ask"


def test_tier_one_ends_the_guide_and_a_relaunch_reminds_until_help_is_confirmed(shared_client, new_user_id):
    convo = Conversation(shared_client, user_id=new_user_id())
    convo.launch()
    convo.say("AMAZON.NoIntent")
    convo.say_env(lambda **kw: symptom_env("i can't feel my legs", **kw), "i can't feel my legs")
    assert convo.session_id is None
    convo.launch()
    assert convo.keys.say == ("emergency.reminder", "emergency.ask_got_help")
    convo.say("AMAZON.YesIntent")
    assert convo.keys.say[0] == "emergency.got_help"


class _BrokenStore(AbstractPersistenceAdapter):
    """A store that fails on every call, like a database that is down."""

    calls = 0

    def get_attributes(self, request_envelope):
        _BrokenStore.calls += 1
        raise PersistenceException("store is down")

    save_attributes = delete_attributes = get_attributes


def test_with_the_store_down_a_tier_one_phrase_still_gets_the_tier_one_answer():
    app = create_app({"VERIFY_REQUESTS": False, "STORE": _BrokenStore(), "EXPOSE_PROMPT_KEYS": True})
    client = app.test_client()
    before = _BrokenStore.calls
    for env in (symptom_env("i can't feel my legs"), symptom_env("i wet myself", new_session=False,
                                                                 session_attributes={})):
        assert keys_of(client.post("/alexa", json=env)).say[0] == "emergency.say"
    assert _BrokenStore.calls > before  # the store really was asked, and failed
    assert "steps.stop_activity.say" in keys_of(client.post("/alexa", json=launch())).say


class _Explodes(AbstractRequestHandler):
    def can_handle(self, handler_input):
        return True

    def handle(self, handler_input):
        raise RuntimeError("a bug anywhere in a handler")


def test_a_failing_handler_never_swallows_a_red_flag(tmp_path):
    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "db.sqlite3"), "EXPOSE_PROMPT_KEYS": True})
    from skill.storage.sqlite import SQLitePersistenceAdapter

    app.extensions[endpoint.EXTENSION_KEY]._skill = build_skill(
        SQLitePersistenceAdapter(str(tmp_path / "other.sqlite3")), extra_handlers=[_Explodes()])
    client = app.test_client()
    assert keys_of(client.post("/alexa", json=symptom_env("my legs are numb"))).say[0] == "emergency.say"
    assert keys_of(client.post("/alexa", json=symptom_env("i have a fever"))).say[0] == "urgent.say"
    generic = keys_of(client.post("/alexa", json=intent("AMAZON.YesIntent")))
    assert generic.say == ("events.error", "events.error_ask")  # "...call nine one one now"


# ------------------------------------------------------------------ screening rules

def _screened(client, user_id: str) -> Conversation:
    convo = Conversation(client, user_id=user_id, now=NOW)
    convo.say("StartGuideIntent")
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    convo.end()
    return convo


def test_at_most_five_questions_before_the_guide_begins(shared_client, new_user_id):
    convo = Conversation(shared_client, user_id=new_user_id())
    convo.say("StartGuideIntent")
    questions = 1
    while "steps.rest.say" not in convo.keys.say:
        convo.say("AMAZON.NoIntent")
        questions += 1
    assert questions - 1 <= 5


def test_no_rescreen_within_twelve_hours_but_told_how_to_report_a_warning_sign(shared_client, new_user_id):
    convo = _screened(shared_client, new_user_id())
    convo.advance(hours=3)
    convo.say("StartGuideIntent")
    keys = convo.keys.say
    assert keys[:2] == ("steps.stop_activity.say", "steps.screening_skipped.say"), keys  # "tell me at any time"
    assert "steps.screen_saddle.ask" not in keys  # not the question itself
    assert keys[-1] == "steps.rest.ask"


def test_rescreened_after_twelve_hours(shared_client, new_user_id):
    convo = _screened(shared_client, new_user_id())
    convo.advance(hours=13)
    convo.say("StartGuideIntent")
    assert convo.keys.say[-1] == "steps.screen_saddle.ask"


def test_an_episode_older_than_two_weeks_is_told_to_see_a_doctor(shared_client, new_user_id):
    convo = Conversation(shared_client, user_id=new_user_id(), now=NOW - timedelta(days=15))
    convo.launch()
    for _ in range(5):
        convo.say("AMAZON.NoIntent")
    # Came back every couple of days: still the same episode, now over two weeks old.
    for _ in range(8):
        convo.end()
        convo.advance(days=2)
        convo.launch()
    assert "events.two_weeks" in convo.keys.say


def test_a_partner_describing_legs_that_wont_move_gets_the_emergency_answer_not_a_question_about_their_own_legs():
    """ "Do your legs feel weak or numb?" would be answered by the speaker, about the speaker's legs."""
    from datetime import datetime, timezone

    from skill.engine import Event, Guide

    guide, now = Guide(), datetime(2026, 11, 29, 9, tzinfo=timezone.utc)
    for words, expected in [("he can't move his legs", "emergency"), ("my wife's legs won't move", "emergency"),
                            ("my husband says he can't lift his legs", "emergency"),
                            ("i can't move my legs", None)]:  # the person themselves: one clarifying question
        plan = guide.handle(None, Event("describe", text=words), now).plan
        assert plan.triage == expected, words
        if expected is None:
            assert plan.question is not None and plan.question.key.startswith("clarify."), words


def test_a_word_saying_how_suddenly_or_how_much_does_not_hide_a_red_flag():
    """Found trying the breathing track: "my legs just went weak" was answered "Okay"."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    missed = [words for words, flag in [
        ("my legs just went weak", "t1_legs"), ("both legs suddenly went dead", "t1_legs"),
        ("my legs have really gone weak", "t1_legs"), ("my legs are just so weak", "t1_legs"),
        ("both my legs just went numb", "t1_legs"), ("my bottom has just gone numb", "t1_saddle"),
    ] if (red_flags.match(words) is None or red_flags.match(words).flag_id != flag
          or red_flags.match(words).tier != 1)]
    assert not missed, missed


def test_a_fall_placed_long_ago_is_history_not_a_red_flag_but_a_recent_one_still_is():
    """Found trying the breathing track: "i had a fall years ago" got the emergency answer (and a day of
    emergency reminders)."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    history = ["i had a fall years ago", "i fell off my bike when i was a kid", "i had a bad fall a while ago",
               "my back has been bad since a car accident ten years ago"]
    recent = ["i had a fall this morning", "i fell down the stairs last week", "i had a fall years ago . i fell again today"]
    wrong = [words for words in history if red_flags.match(words) is not None]
    wrong += [words for words in recent if getattr(red_flags.match(words), "flag_id", None) != "t1_trauma"]
    assert not wrong, wrong


def test_what_an_animal_did_is_no_red_flag_but_the_same_words_about_the_person_are():
    """Found trying the breathing track: "the dog peed on the floor" got the emergency answer."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    wrong = [w for w in ("the dog peed on the floor", "my dog just peed on the floor", "the cat wet the bed")
             if red_flags.match(w) is not None]
    wrong += [w for w in ("i peed on the floor", "the dog knocked me over and now i cannot feel my legs")
              if red_flags.match(w) is None or red_flags.match(w).tier != 1]
    assert not wrong, wrong


def test_someone_elses_history_a_clear_result_and_weight_lost_on_purpose_are_no_sign_but_the_persons_own_are():
    """Found trying the skill as a person (issue 21): "my mum had cancer", "cancer runs in my family" and "i'm
    trying to lose weight" got "please see a doctor today". clinical.md: not signs. A partner speaking for the
    person still is."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    no_sign = ["my mum had cancer", "my dad died of cancer", "my sister has leukaemia", "cancer runs in my family",
               "my screening for cancer was all clear", "i am trying to lose weight", "i lost some weight on purpose"]
    signs = {"my husband had cancer": "t2_cancer", "she had breast cancer": "t2_cancer", "i had cancer": "t2_cancer",
             "i had cancer but my screening was all clear": "t2_cancer",
             "i've lost a lot of weight without trying": "t2_weight_loss",
             "my mum can't feel her legs": "t1_legs"}  # (a relative speaking for the person in pain)
    wrong = [words for words in no_sign if red_flags.match(words) is not None]
    wrong += [words for words, flag in signs.items() if getattr(red_flags.match(words), "flag_id", None) != flag]
    assert not wrong, wrong


def test_weight_lost_on_purpose_said_anywhere_and_another_persons_history_per_clause_are_no_sign():
    """Issue 21: "i'm on a diet and lost weight" still alarmed (the "and" ended the clause the diet was read in),
    and "my dad had cancer" hid the person's own cancer said after it. A mention that says the weight loss was
    not meant, a denied diet, and the person's own history in its own clause still count."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    no_sign = ["i'm on a diet and lost weight", "i'm on a diet and i've lost weight", "i've lost weight but i'm on a diet",
               "i lost a bit of weight but i have been trying to", "my cousin had leukaemia",
               "my niece has lymphoma", "leukaemia killed my grandad"]
    signs = {"my dad had cancer and i've had cancer too": "t2_cancer",
             "i'm on a diet but i lost weight without trying": "t2_weight_loss",
             "i am not on a diet and i lost weight": "t2_weight_loss",
             "i lost weight without trying to lose weight": "t2_weight_loss",
             "my mum had cancer and i cannot feel my legs": "t1_legs"}
    wrong = [words for words in no_sign if red_flags.match(words) is not None]
    wrong += [words for words, flag in signs.items() if getattr(red_flags.match(words), "flag_id", None) != flag]
    assert not wrong, wrong


def test_warmth_sweat_or_cold_under_a_pack_is_no_fever_and_numb_skin_under_it_no_numbness_sign():
    """Issue 21 (clinical.md, "What is not a sign"): a pack's warmth or cold is the pack's. A fever said in its
    own clause, and numbness between the legs or in both legs, still count whatever the pack."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    no_sign = ["i feel hot under the heat pad", "i am shivering from the ice pack", "the ice is making me shiver",
               "i'm all sweaty under the heat pad", "my skin's gone numb under the ice", "my back is numb from the ice",
               "there's no feeling in my skin"]
    signs = {"i have a fever and the ice is on": "t2_fever", "i'm shivering": "t2_fever",
             "i'm numb between my legs and the ice is on": "t1_saddle", "my legs are numb under the ice": "t1_legs",
             "my bum is numb from the ice": "t1_saddle"}
    wrong = [words for words in no_sign if red_flags.match(words) is not None]
    wrong += [words for words, flag in signs.items() if getattr(red_flags.match(words), "flag_id", None) != flag]
    assert not wrong, wrong


def misread(red_flags, signs: dict[str, str], no_sign: list[str]) -> list[str]:
    """The words the lists read as another sign than ``signs`` says, and the ``no_sign`` words they read as one."""
    wrong = [words for words, flag in signs.items() if getattr(red_flags.match(words), "flag_id", None) != flag]
    return wrong + [words for words in no_sign if red_flags.match(words) is not None]


def test_the_signs_the_first_blind_set_missed_are_read_in_everyday_words_but_their_ordinary_neighbours_are_not():
    """Issue 21, test21's misses, by kind: night pain told as waking again and again, a wave that threw the person
    down, wiping without feeling it ("could hardly", and a recogniser's "fealing in my but"), "passed motion" for
    a stool, and belly pain come on "all of a sudden" said after the belly words (tier 1, not belly_spread). Waking
    up with it once, "got smashed" at the pub and loose motions stay no sign."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    signs = {"it woke me at three and again at five": "t2_night_pain",
             "woke up every hour last night with it": "t2_night_pain",
             "every night i wake up with it throbbing": "t2_night_pain",
             "the pain woke me twice last night": "t2_night_pain", "i wake up every night with it": "t2_night_pain",
             "i got smashed by a wave at the beach this morning": "t1_trauma",
             "a big wave dumped me on the sand": "t1_trauma", "i got knocked flat by a wave": "t1_trauma",
             "when i wiped just now i could hardly feel the paper": "t1_saddle",
             "i could barely feel the tissue when i wiped": "t1_saddle", "there's no fealing in my but": "t1_saddle",
             "my fingers are numb and so is my bum": "t1_saddle",
             "i passed motion in bed without knowing": "t1_bowel", "motion came out in my sleep": "t1_bowel",
             "my tummy has started really hurting all of a sudden right through to my back": "t1_belly_back",
             "my stomach started hurting out of nowhere and it goes through to my back": "t1_belly_back",
             "i slipped and fell": "t1_trauma",
             # and from test21's other misses: a leak told in the present, both legs "a bit odd", a child's jump
             "i dribble a bit when i cough": "t1_bladder", "kind of they both feel a bit odd": "t1_legs",
             "they both feel weak": "t1_legs", "my son jumped on my back playing horsey": "t1_trauma"}
    no_sign = ["the dog jumped on the sofa", "i jumped when the phone rang", "i sat on my back step",
               "when i lie on my tummy it hurts out of nowhere",
               "poor sleep from a snoring partner", "i woke up with it this morning", "last night i woke up with it",
               "the baby woke me at five", "i got smashed at the pub last night",
               "i have loose motions since yesterday but i'm making it to the toilet",
               "i slipped but grabbed the counter didn't hit anything"]
    wrong = misread(red_flags, signs, no_sign)
    assert not wrong, wrong


def test_someone_elses_fever_stones_or_accident_the_packs_shiver_and_a_new_diet_are_no_sign_but_the_persons_own_are():
    """Issue 21, test21's false alarms, by kind: another person's fever, kidney stones or accident (a relative who is
    not speaking for the person), "this thing is making me shiver" said at the pack, weight lost on a new diet, and
    tingling named in a hand (no "where is it?"). The person's own sign in its own clause still counts."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    no_sign = ["my daughter's got a temperature but i'm fine", "my son has had a fever all week",
               "my grandad used to get kidney stones", "it was my dad who had the accident not me",
               "this thing is making me shiver", "bit better and i've dropped two kilos on this new diet too",
               "i've lost half a stone on my new eating plan", "my hand's gone tingly from lying on it that's all",
               "i have pins and needles in my arm"]
    signs = {"my son has a cold and i've got a temperature": "t2_fever",
             "my grandad had kidney stones and it burns when i pee": "t2_urinary",
             "my dad had an accident and i fell down the stairs": "t1_trauma",
             "my son fell on me": "t1_trauma",  # the relative's blow is the person's
             "i'm on a new diet but i've lost weight without trying": "t2_weight_loss",
             "this thing is making me shiver and i've got a temperature": "t2_fever",
             "my husband has a temperature": "t2_fever",  # a partner speaking for the person
             "my mum thinks i'm feverish": "t2_fever", "my dad says i have a temperature": "t2_fever",  # passed on
             "i have pins and needles": "t3_numbness"}
    wrong = [words for words in no_sign if red_flags.match(words) is not None]
    wrong += [words for words, flag in signs.items() if getattr(red_flags.match(words), "flag_id", None) != flag]
    assert not wrong, wrong


def test_the_signs_the_third_blind_set_missed_are_read_in_everyday_words_but_their_ordinary_neighbours_are_not():
    """Issue 21, test21c's misses, by kind: a feeling named as one ("a pins and needles feeling down there"), wetting
    told as little accidents or not making it in time, stinging when passing water, both thighs gone numb, rest that
    makes no difference, night said before how bad it is, waking "again and again" without a subject, up half the
    night with it, a partner's "she's been poorly, off her food and sweaty", the belly itself in agony going through
    to the back. The pack named as the cause in a clause of its own ("... but it's just the ice pack") is no fever,
    unless a fever is named; the ice keeping them awake is no night pain."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    signs = {"kind of a pins and needles feeling down there": "t1_saddle",
             "a tingly sensation in my bum": "t1_saddle",
             "i've had a couple of little accidents i couldn't stop": "t1_bladder",
             "i didn't make it to the loo in time": "t1_bladder",
             "the pain's round my side and it stings like mad when i pass water": "t2_urinary",
             "it burns a bit when i go to the toilet": "t2_urinary",
             "yes and my bum and the tops of my thighs have gone numb": "t1_legs",
             "my thighs have gone numb": "t1_legs",
             "lying down makes no difference at all it hurts just the same": "t2_night_pain",
             "resting doesn't make any difference": "t2_night_pain",
             "it hurts just as much lying down": "t2_night_pain",
             "it eases off in the day but at night it's unbearable and keeps waking me": "t2_night_pain",
             "it's been waking me up": "t2_night_pain",
             "it is been waking me every night": "t2_night_pain",  # a carrier's "it is" before the captured "been"
             "bit better but i was up half the night with it": "t2_night_pain",
             "awake most of the night with the pain": "t2_night_pain",
             "same as yesterday but she's been proper poorly off her food and sweaty": "t2_fever",
             "he's been really unwell": "t2_fever",
             "my belly's suddenly in agony and it's going right through to my back": "t1_belly_back",
             "my stomach is in agony": "t1_belly_back",
             "my tummy suddenly really hurts and it goes right through to my back": "t1_belly_back",
             "a numb sort of feeling round my bottom": "t1_saddle", "i keep having accidents": "t1_bladder",
             "i've been having little leaks": "t1_bladder", "it's worse lying down at night": "t2_night_pain",
             "nights are the worst": "t2_night_pain", "it doesn't matter how i lie it still hurts": "t2_night_pain",
             "suddenly my tummy is so bad": "t1_belly_back",
             "i have a fever but it's just the ice pack": "t2_fever",
             "it's probably the ice pack but i've got a temperature": "t2_fever"}
    no_sign = ["i feel shivery but it's just the ice pack", "i'm shivering, that's from the ice",
               "the ice kept me awake", "i was up half the night with the baby", "he's been fine",
               "it's been better today", "the heat pad made no difference", "i had a car accident years ago",
               "i can't get comfortable", "i'm lying in bed at night"]
    wrong = misread(red_flags, signs, no_sign)
    assert not wrong, wrong


def test_the_signs_the_fourth_blind_set_missed_are_read_in_everyday_words_but_their_ordinary_neighbours_are_not():
    """Issue 21, test21d's misses, by kind: numbness said to be "there, only around" the area; the inner thighs
    feeling "sort of fizzy"; a touch on the bottom asked about and not felt; "both" after the legs; a foot that has
    "started flapping"; belly pain gone round to the back and then called terrible in its own clause; a recogniser's
    "pea" with a colour; night "way worse"; awake in the small hours with it every night; a cough with heat. An
    infection placed long ago is history, shivering or warmth "because" the pack is on is the pack's, and a fever disowned in its own clause
    ("my husband's feverish with the flu not me") is someone else's, a partner's too."""
    from skill.engine import default_content

    red_flags = default_content().red_flags
    signs = {"numbness is there only around the back passage": "t1_saddle",
             "my inner thighs feel kind of fizzy": "t1_saddle",
             "she asked if i could feel her hand on my bottom and i couldn't": "t1_saddle",
             "my legs both went numb": "t1_legs",
             "my right foot has started flopping when i walk": "t1_foot_drop",
             "my stomach pain has gone round to my back and it's agony": "t1_belly_back",
             "my tummy ache has gone through to my back": "t2_belly_spread",
             "my pea looks a bit red": "t2_urinary",
             "at night it's much worse": "t2_night_pain",
             "by three in the morning i'm awake with the pain": "t2_night_pain",
             "i'm wide awake with it every night": "t2_night_pain",
             "she's coughing and feverish": "t2_fever",
             "i had a uti last week": "t2_urinary",
             "i'm shivering because the ice pack is on and i've got a temperature": "t2_fever",
             "he's feverish": "t2_fever", "i've got a fever not a cold": "t2_fever"}
    no_sign = ["i had a uti last year but it's cleared up", "i had kidney stones years ago",
               "i'm only shivering because the ice pack's been on", "i'm warm because the heat pad is on",
               "my legs both feel fine", "at night it's way better", "i'm coughing a bit",
               "i can feel my hand on my bum", "the frozen peas are pink", "my foot has started to feel better",
               "my husband's feverish with the flu not me"]
    wrong = misread(red_flags, signs, no_sign)
    assert not wrong, wrong
