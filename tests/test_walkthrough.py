"""Whole conversations through POST /alexa, as a person on the floor would have them.

What is said is checked by prompt key (the app shows them: tests/conftest.py), so rewording a prompt breaks
none of these; the words themselves are tests/test_wording_smoke.py's.
"""

from __future__ import annotations

import sqlite3

import pytest

from envelopes import Conversation, reprompt, skill_disabled
from simulator.transport import PromptKeys

YES, NO, NOT_SURE = "AMAZON.YesIntent", "AMAZON.NoIntent", "NotSureIntent"
SCREENING_CLEAR = [NO] * 5
QUESTION = "steps.screen_saddle.ask"  # the first safety question
# Every seed step of the walk-through, in order: the cold pack, the four leg positions, relaxing, breathing,
# the check-in, the three exercises, medicines, muscle relaxants, therapy, injections, when to get help, the plan.
STEPS = ["compress_cold", "legs_1", "legs_2", "legs_3", "legs_4", "relax", "breathing", "pain_check",
         "exercise_1", "exercise_2", "exercise_3", "medicines", "relaxants", "therapy", "injections", "get_help",
         "summary"]


def said(convo: Conversation, intent: str | None = None, slots: dict | None = None, **kw) -> tuple[str, ...]:
    """The prompt keys said in answer to ``intent`` (None: a launch)."""
    convo.launch() if intent is None else convo.say(intent, slots, **kw)
    return convo.keys.say


def ends(body: dict) -> bool:
    return body["response"].get("shouldEndSession") is True


@pytest.fixture
def convo(client):
    return Conversation(client)


def walk_to_summary(convo: Conversation) -> list[tuple[dict, PromptKeys]]:
    """Answer yes to everything after a clear screening, until the guide ends: each answer and its keys."""
    answers = []
    for _ in range(40):
        again = "steps.breathing.ask" in convo.keys.say  # "another round of breathing?"
        said(convo, NO if again else YES)  # yes to more breathing would breathe again
        answers.append((convo.last, convo.keys))
        if ends(convo.last):
            return answers
    raise AssertionError("the guide never reached its summary")


def test_one_shot_start_says_stop_what_you_are_doing_before_any_question(convo):
    first = said(convo, "StartGuideIntent", label="my back is spasming")
    assert first[0] == "steps.stop_activity.say" and first[-1] == QUESTION, first


def test_launch_of_a_new_user_also_starts_with_stop_what_you_are_doing(convo):
    first = said(convo)
    assert first[0] == "steps.stop_activity.say" and first[-1] == QUESTION, first


def test_full_walk_through_from_launch_to_summary(convo):
    convo.launch()
    answers = [said(convo, NO) for _ in range(5)]
    assert "steps.rest.say" in answers[-1]
    walked = walk_to_summary(convo)
    heard = [key for _, keys in walked for key in keys.say]
    # Every seed step is heard, in order.
    positions = [heard.index(f"steps.{step}.say") for step in STEPS]
    assert positions == sorted(positions), list(zip(STEPS, positions))
    summary, keys = walked[-1]
    assert ends(summary)
    assert {"steps.summary.warning", "steps.summary.close"} <= set(keys.say)  # the emergency number, coming back
    plan = ("compress_plan.cold_today", "next_compress.due_later", "packs.cold", "durations.hours")  # "in about 2 hours"
    assert [key for key in keys.say if key in plan] == list(plan)
    assert summary["response"]["card"]["type"] == "Simple" and "steps.summary.warning" in keys.card


def test_every_question_turn_keeps_the_session_open_with_a_reprompt(convo):
    convo.launch()
    turns = []
    for _ in range(5):
        convo.say(NO)
        turns.append((convo.last, convo.keys))
    for body, keys in turns + walk_to_summary(convo)[:-1]:
        assert body["response"]["shouldEndSession"] is False and reprompt(body)
        assert keys.reprompt[0].endswith("reprompt"), keys.reprompt  # a question's own reprompt, never a statement


def test_breathing_is_paced_in_about_4_and_out_about_6_seconds(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    keys = said(convo, "GoToStepIntent", {"step": "breathing"})
    ssml = convo.last["response"]["outputSpeech"]["ssml"]
    assert ssml.count('<break time="4s"/>') >= 5 and ssml.count('<break time="6s"/>') >= 5
    assert keys[0] == "steps.breathing.say"  # "don't hold your breath"


def test_stop_mid_guide_then_relaunch_resumes_at_the_same_step(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.say(YES)  # rest -> cold pack
    convo.say(YES)  # pack on -> "shall I set a timer?"; coming back, the guide carries on after it
    stopped = said(convo, "AMAZON.StopIntent")
    assert ends(convo.last) and "events.stop" in stopped  # "I've saved your place"
    convo.end()
    welcome = said(convo)
    assert welcome[0] == "events.welcome_back" and "titles.legs_1" in welcome
    assert "timers.take_off" in welcome  # still on, with no timer
    assert "steps.legs_1.say" in said(convo, YES)


@pytest.mark.parametrize("reason", ["USER_INITIATED", "EXCEEDED_MAX_REPROMPTS", "ERROR"])
def test_session_ending_for_any_reason_keeps_progress(convo, reason):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.say(YES)
    convo.end(reason)
    assert "titles.compress_cold" in said(convo)  # "shall we carry on with the cold pack?"


def test_heat_makes_it_worse_is_remembered_next_session(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.advance(hours=30)  # past day one: the guide now offers moist heat
    assert "steps.compress_heat.say" in said(convo, YES)
    switched = said(convo, "HeatWorseIntent", label="heat makes it worse")
    assert switched[:2] == ("events.heat_worse", "steps.compress_cold_only.say"), switched
    convo.end()
    convo.advance(hours=2)
    convo.launch()
    convo.say("AMAZON.StartOverIntent")
    [convo.say(NO) for _ in range(5)]
    advice = said(convo, YES)
    assert "steps.compress_cold_only.say" in advice
    assert not {"steps.compress_heat.say", "steps.compress_heat_first.say", "packs.heat"} & set(advice)


def test_a_later_episode_starts_with_heat_first(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.say(YES)
    convo.end()
    convo.advance(days=10)
    relaunch = said(convo)
    assert "steps.stop_activity.say" in relaunch and "events.resume_ask" not in relaunch  # a fresh start
    [convo.say(NO) for _ in range(5)]
    assert "steps.compress_heat_first.say" in said(convo, YES)  # "you've had spasms before..."


def test_first_day_cold_then_heat_from_the_second_day(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    assert "steps.compress_cold.say" in said(convo, YES)
    convo.advance(hours=25)
    assert "steps.compress_heat.say" in said(convo, "GoToStepIntent", {"step": "compress"})


def test_a_yes_to_a_tier_one_question_gives_the_emergency_answer_and_ends(convo):
    convo.launch()
    keys = said(convo, YES)
    assert keys[0] == "emergency.say" and convo.keys.triage == "emergency", keys  # first, before any reason
    assert ends(convo.last)
    assert convo.keys.card[:2] == ("emergency.card_title", "emergency.say")


@pytest.mark.parametrize("question", range(4))
def test_not_sure_counts_as_yes_on_every_tier_one_question(convo, question):
    convo.launch()
    [convo.say(NO) for _ in range(question)]
    assert "emergency.say" in said(convo, NOT_SURE, label="not sure")


def test_relaunch_after_an_emergency_reminds_first_and_resumes_only_after_getting_help(convo):
    convo.launch()
    convo.say(YES)
    assert said(convo) == ("emergency.reminder", "emergency.ask_got_help")
    assert "emergency.say" in said(convo, NO)  # still no help: the advice again, and end
    convo.launch()
    assert said(convo, "AMAZON.NextIntent") == ("emergency.reminder", "emergency.ask_got_help")  # nothing skips it
    resumed = said(convo, YES)
    assert resumed[0] == "emergency.got_help" and "steps.rest.say" in resumed


def test_emergency_reminder_stops_after_a_day(convo):
    convo.launch()
    convo.say(YES)
    convo.advance(hours=25)
    after = said(convo)
    assert "emergency.ask_got_help" not in after  # no longer holds the guide
    assert "emergency.since" in after and "events.done_ask" not in after  # not "we finished"


def test_fever_answer_sends_to_a_doctor_today_then_offers_comfort_steps(convo):
    convo.launch()
    [convo.say(NO) for _ in range(4)]
    urgent = said(convo, YES)
    assert "urgent.say" in urgent and convo.keys.triage == "urgent" and not ends(convo.last)
    assert convo.keys.card[0] == "urgent.card_title"
    assert "steps.rest.say" in said(convo, YES)


def test_another_locale_gets_the_same_answers(client):
    """The UK's numbers are tests/test_wording_smoke.py's; the answers are the same prompts."""
    convo = Conversation(client, locale="en-GB")
    convo.launch()
    assert said(convo, YES)[0] == "emergency.say"
    convo = Conversation(client, locale="en-GB", user_id="amzn1.ask.account.UK2")
    convo.launch()
    [convo.say(NO) for _ in range(4)]
    assert "urgent.say" in said(convo, YES)


def test_delete_my_data_asks_first_and_then_forgets(convo, db_path):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    assert said(convo, "DeleteDataIntent") == ("events.delete_ask",)
    assert said(convo, NO) == ("events.delete_kept", "steps.rest.ask")
    convo.say("DeleteDataIntent")
    assert said(convo, YES) == ("events.deleted",)
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM user_attributes").fetchone()[0] == 0
    assert said(convo)[0] == "steps.stop_activity.say"  # a new start, nothing remembered


def test_disabling_the_skill_deletes_the_users_data(client, convo, db_path):
    convo.launch()
    convo.say(NO)
    res = client.post("/alexa", json=skill_disabled())
    assert res.status_code == 200
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM user_attributes").fetchone()[0] == 0


def test_finished_guide_offers_to_go_again_on_relaunch(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    walk_to_summary(convo)
    again = said(convo)
    assert "events.done_ask" in again
    assert "steps.goodbye.say" not in again
    convo.say(NO)
    assert ends(convo.last)
