"""Whole conversations through POST /alexa, as a person on the floor would have them."""

from __future__ import annotations

import sqlite3

import pytest

from envelopes import Conversation, reprompt, skill_disabled, speech
from skill.render import plain

YES, NO, NOT_SURE = "AMAZON.YesIntent", "AMAZON.NoIntent", "NotSureIntent"
SCREENING_CLEAR = [NO] * 5


def said(body: dict) -> str:
    return plain(speech(body)).lower()


def ends(body: dict) -> bool:
    return body["response"].get("shouldEndSession") is True


@pytest.fixture
def convo(client):
    return Conversation(client)


def walk_to_summary(convo: Conversation) -> list[dict]:
    """Answer yes to everything after a clear screening, until the guide ends."""
    bodies = []
    for _ in range(40):
        again = "another round of breathing" in said(convo.last)
        body = convo.say(NO if again else YES)  # yes to more breathing would breathe again
        bodies.append(body)
        if ends(body):
            return bodies
    raise AssertionError("the guide never reached its summary")


def test_one_shot_start_says_stop_what_you_are_doing_before_any_question(convo):
    first = said(convo.say("StartGuideIntent", label="my back is spasming"))
    stop_at = first.index("stop what you're doing")
    assert stop_at < first.index("?"), first
    assert "rub or massage" in first


def test_launch_of_a_new_user_also_starts_with_stop_what_you_are_doing(convo):
    first = said(convo.launch())
    assert first.index("stop what you're doing") < first.index("?")


def test_full_walk_through_from_launch_to_summary(convo):
    convo.launch()
    answers = [convo.say(NO) for _ in range(5)]
    assert "rest" in said(answers[-1]) and "bending or twisting" in said(answers[-1])
    bodies = walk_to_summary(convo)
    heard = " ".join(said(b) for b in bodies)
    # Every seed step is heard, in order.
    order = ["cold pack", "knees so they are higher than your hips", "footstool", "pillows", "chair",
             "take your mind off the pain", "breathe", "has the pain eased", "lifting your knees",
             "raise your arms", "to your chest", "doctor or pharmacist", "muscle relaxant",
             "physical therapist", "cortisone", "two weeks", "here's your plan"]
    positions = [heard.index(phrase) for phrase in order]
    assert positions == sorted(positions), list(zip(order, positions))
    summary = bodies[-1]
    assert ends(summary)
    assert "nine one one" in said(summary) and "alexa, open back spasm coach" in said(summary)
    assert "cold pack" in said(summary) and "due in about 2 hours" in said(summary)
    card = summary["response"]["card"]
    assert card["type"] == "Simple" and "911" in card["content"]


def test_every_question_turn_keeps_the_session_open_with_a_reprompt(convo):
    convo.launch()
    for body in [convo.say(NO) for _ in range(5)] + walk_to_summary(convo)[:-1]:
        assert body["response"]["shouldEndSession"] is False
        assert plain(reprompt(body)).endswith("?") or "say next" in plain(reprompt(body)).lower()


def test_breathing_is_paced_in_about_4_and_out_about_6_seconds(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    body = convo.say("GoToStepIntent", {"step": "breathing"})
    ssml = speech(body)
    assert ssml.count('<break time="4s"/>') >= 5 and ssml.count('<break time="6s"/>') >= 5
    assert "hold your breath" in said(body)  # "don't hold your breath"


def test_stop_mid_guide_then_relaunch_resumes_at_the_same_step(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.say(YES)  # rest -> cold pack
    convo.say(YES)  # pack on -> "shall I set a timer?"; coming back, the guide carries on after it
    stopped = convo.say("AMAZON.StopIntent")
    assert ends(stopped) and "saved your place" in said(stopped)
    convo.end()
    welcome = convo.launch()
    assert "welcome back" in said(welcome) and "leg positions" in said(welcome)
    assert "take the cold pack off" in said(welcome)  # still on, with no timer
    resumed = convo.say(YES)
    assert "knees so they are higher than your hips" in said(resumed)


@pytest.mark.parametrize("reason", ["USER_INITIATED", "EXCEEDED_MAX_REPROMPTS", "ERROR"])
def test_session_ending_for_any_reason_keeps_progress(convo, reason):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.say(YES)
    convo.end(reason)
    assert "the cold pack" in said(convo.launch())


def test_heat_makes_it_worse_is_remembered_next_session(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.advance(hours=30)  # past day one: the guide now offers moist heat
    assert "moist heat" in said(convo.say(YES))
    switched = convo.say("HeatWorseIntent", label="heat makes it worse")
    assert "stop using heat" in said(switched) and "only cold" in said(switched)
    convo.end()
    convo.advance(hours=2)
    convo.launch()
    convo.say("AMAZON.StartOverIntent")
    [convo.say(NO) for _ in range(5)]
    advice = said(convo.say(YES))
    assert "use only cold" in advice and "moist heat" not in advice


def test_a_later_episode_starts_with_heat_first(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    convo.say(YES)
    convo.end()
    convo.advance(days=10)
    relaunch = said(convo.launch())
    assert "stop what you're doing" in relaunch  # a fresh start, not "shall we carry on"
    [convo.say(NO) for _ in range(5)]
    assert "you've had spasms before, try moist heat first" in said(convo.say(YES))


def test_first_day_cold_then_heat_from_the_second_day(convo):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    assert "today, use cold" in said(convo.say(YES))
    convo.advance(hours=25)
    assert "moist heat works best" in said(convo.say("GoToStepIntent", {"step": "compress"}))


def test_a_yes_to_a_tier_one_question_gives_the_emergency_answer_and_ends(convo):
    convo.launch()
    body = convo.say(YES)
    text = said(body)
    assert text.startswith("this needs help now. call nine one one")
    assert "can't make the call for you" in text and "don't drive yourself" in text
    assert ends(body)
    assert "911" in body["response"]["card"]["content"]


@pytest.mark.parametrize("question", range(4))
def test_not_sure_counts_as_yes_on_every_tier_one_question(convo, question):
    convo.launch()
    [convo.say(NO) for _ in range(question)]
    assert "call nine one one" in said(convo.say(NOT_SURE, label="not sure"))


def test_relaunch_after_an_emergency_reminds_first_and_resumes_only_after_getting_help(convo):
    convo.launch()
    convo.say(YES)
    reminder = said(convo.launch())
    assert "call nine one one" in reminder and "spoken to emergency services" in reminder
    assert "call nine one one" in said(convo.say(NO))  # still no help: the advice again, and end
    convo.launch()
    assert "call nine one one" in said(convo.say("AMAZON.NextIntent"))  # nothing skips the question
    resumed = said(convo.say(YES))
    assert "glad you've got help" in resumed and "rest" in resumed


def test_emergency_reminder_stops_after_a_day(convo):
    convo.launch()
    convo.say(YES)
    convo.advance(hours=25)
    after = said(convo.launch())
    assert "spoken to emergency services" not in after  # no longer holds the guide
    assert "last time, you told me something that needed emergency help" in after  # not "we finished"


def test_fever_answer_sends_to_a_doctor_today_then_offers_comfort_steps(convo):
    convo.launch()
    [convo.say(NO) for _ in range(4)]
    urgent = convo.say(YES)
    assert "see a doctor today" in said(urgent) and not ends(urgent)
    assert urgent["response"]["card"]["title"] == "See a doctor today"
    assert "rest is important" in said(convo.say(YES))


def test_uk_locale_uses_999_and_111(client):
    convo = Conversation(client, locale="en-GB")
    convo.launch()
    assert "nine nine nine" in said(convo.say(YES))
    convo = Conversation(client, locale="en-GB", user_id="amzn1.ask.account.UK2")
    convo.launch()
    [convo.say(NO) for _ in range(4)]
    assert "call one one one, or your gp, today" in said(convo.say(YES))


def test_delete_my_data_asks_first_and_then_forgets(convo, db_path):
    convo.launch()
    [convo.say(NO) for _ in range(5)]
    assert "delete everything" in said(convo.say("DeleteDataIntent"))
    kept = said(convo.say(NO))
    assert "kept everything" in kept and "ready for the next step" in kept
    convo.say("DeleteDataIntent")
    assert "deleted everything" in said(convo.say(YES))
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM user_attributes").fetchone()[0] == 0
    assert "stop what you're doing" in said(convo.launch())  # a new start, nothing remembered


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
    again = said(convo.launch())
    assert "finished the guide" in again
    assert "goodbye" not in again
    bye = convo.say(NO)
    assert ends(bye)
