"""Confirming a warning sign before acting on it, in the engine (issue 21).

- Correcting an alarm: "that was a mistake" while an emergency or "see a doctor today" stands gets one question
  about that sign ("Just to be sure: is it right that ...?"); a clear no withdraws it (kept in the record, with its
  time) and the guide resumes where the person was; yes, not sure or no answer twice: it stands.
- The second line: free words the phrase lists find no sign in, but which the sentence model puts close to one,
  get "Did you say ...?"; yes is that tier's answer, no carries on where the person was (the real model, loaded
  once for the module).
- Each tier-1 and tier-2 sign has a plain name (prompts ``signs.<flag>``), checked at start-up.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import yaml

from skill.engine import Event, Guide
from skill.engine.second_line import SecondLine
from skill.engine.content import CONTENT_DIR
from skill.engine.guide import load_content
from skill.engine.protocol import ContentError
from skill.engine.record import Record, iso
from test_engine import CONTENT, NOW, describe, emergency_turn, handle, keys, on_step, side_question

LATER = NOW + timedelta(minutes=30)


def relaunched_after_an_emergency(question: str = "screen_saddle") -> dict:
    """ "Yes" to a safety question, the session over, and the skill opened again: "have you got help?"."""
    state = handle(emergency_turn(question).state, "launch", LATER, opens_session=True).state
    assert side_question(state) == "confirm_help"
    return state


def urgent_at(step: str = "legs_1", words: str = "i have a fever") -> dict:
    turn = describe(on_step(step), words)
    assert turn.plan.triage == "urgent"
    return turn.state


# ---------------------------------------------------------------------------- correcting an alarm
@pytest.mark.parametrize("words", ["no that was a mistake", "i meant no", "i didn't say that", "that was my mum not me",
                                   "you misheard me", "oops wrong answer"])
def test_a_correction_after_an_emergency_gets_one_question_naming_the_sign(words):
    turn = describe(relaunched_after_an_emergency(), words, LATER)
    assert turn.plan.triage is None and not turn.plan.end_session
    assert turn.plan.question.key == "confirm.alarm_ask" and turn.plan.question.params == {"sign": "signs.t1_saddle"}
    assert turn.plan.reprompt.key == "confirm.alarm_reprompt"
    assert side_question(turn.state) == "confirm_alarm"
    assert turn.state["last_emergency"]["withdrawn_at"] is None  # nothing taken back on the correction alone


# Issue 21's blind set: each of these kinds got the alarm again. While an alarm stands (and no safety question is
# asked), words that deny a sign, any sign ("I never said I fell" after the numbness), say it was someone else's, or
# say the person misheard or got muddled dispute what the skill heard: the one confirming question.
CORRECTIONS_IN_OTHER_WORDS = [
    "no no that's wrong i don't have any numbness", "i never said i had a fall", "there's no fever at all",
    "i got muddled i haven't had any accident", "it was my brother who had the crash not me",
    "it was her sister who had the lump", "she said yes to her mum not to you", "sorry i misheard the question",
    "my answer should have been no", "no wait i got that the wrong way round",
    # test21d's kinds: heard wrong, a relative talked about, someone messing about, a slip of the tongue, the question
    # misheard.
    "you heard it wrong i said my thumb is numb not my bum", "sorry that was my husband talking about his own dad",
    "we were talking about my mum", "sorry my son was messing about", "you've got the wrong end of the stick",
    "it was a slip of the tongue", "i thought you asked something else", "no that's not what i said",
]
ALARMS_STANDING = {"an emergency": lambda: relaunched_after_an_emergency(), "see a doctor today": lambda: urgent_at()}


@pytest.mark.parametrize("alarm", ALARMS_STANDING)
def test_denying_a_sign_or_saying_it_was_someone_else_is_a_correction(alarm):
    state = ALARMS_STANDING[alarm]()
    failures = []
    for words in CORRECTIONS_IN_OTHER_WORDS:
        turn = describe(state, words, LATER)
        if turn.plan.triage is not None or turn.plan.question is None or \
                turn.plan.question.key != "confirm.alarm_ask":
            failures.append(f"{words!r}: triage {turn.plan.triage}, said {keys(turn.plan)}, asked {turn.plan.question}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("alarm", ALARMS_STANDING)
@pytest.mark.parametrize("words", ["no that's wrong i don't have numbness but i've wet myself",
                                   "i never said i fell but now i can't feel my legs",
                                   "somebody else is driving me and now i can't feel my legs"])
def test_a_new_sign_of_the_persons_own_in_a_correction_still_wins(alarm, words):
    turn = describe(ALARMS_STANDING[alarm](), words, LATER)
    assert keys(turn.plan)[:1] == ["emergency.say"] and turn.plan.end_session


def test_a_denial_at_a_safety_question_is_its_answer_not_a_correction():
    """ "See a doctor today" said mid-way through the safety questions: the ones after it still take a denial as no."""
    state = describe(handle(None, "launch").state, "i have a fever").state
    for words in ("there's no numbness down there", "no", "no"):
        state = describe(state, words, LATER).state
    assert state["step"] == "screen_injury"
    turn = describe(state, "no i never fell", LATER)
    assert turn.plan.question.key != "confirm.alarm_ask" and turn.state["step"] != "screen_injury"


@pytest.mark.parametrize("words", ["what number do i ring again", "who do i call"])
def test_the_number_asked_for_while_an_emergency_stands_is_that_answer_again(words):
    state = relaunched_after_an_emergency()
    turn = describe(state, words, LATER)
    assert keys(turn.plan) == ["emergency.reminder"] and turn.plan.question.key == "emergency.ask_got_help"
    # Said opening a session ("tell back spasm coach what number do I ring"): what a launch says then.
    opening = describe(emergency_turn("screen_saddle").state, words, LATER, opens_session=True)
    assert keys(opening.plan) == keys(handle(emergency_turn("screen_saddle").state, "launch", LATER,
                                             opens_session=True).plan)
    # Anywhere else it is the general answer ("call it if you have ...").
    assert keys(describe(on_step("legs_1"), words).plan)[:1] == ["questions.emergency_room"]


def test_a_clear_no_withdraws_the_emergency_and_resumes_where_the_person_was():
    asked = describe(relaunched_after_an_emergency("screen_saddle"), "no that was a mistake", LATER).state
    turn = handle(asked, "no", LATER)
    # The very question answered yes by mistake: now no, so the next safety question.
    assert keys(turn.plan)[0] == "confirm.withdrawn"
    assert turn.plan.question.key == "steps.screen_bladder.ask" and not turn.plan.end_session
    assert turn.state["last_emergency"]["withdrawn_at"] == iso(LATER)
    assert turn.state["last_emergency"]["flag"] == "t1_saddle"  # kept in the record, as withdrawn
    # It survives the record's round trip.
    again = Record.from_json(turn.state, LATER, CONTENT.known).to_json()
    assert again["last_emergency"] == turn.state["last_emergency"]
    # The next launch neither reminds nor asks about emergency services.
    relaunch = handle(turn.state, "launch", LATER + timedelta(hours=2), opens_session=True)
    assert not {"emergency.reminder", "emergency.ask_got_help", "emergency.since"} & set(keys(relaunch.plan))
    assert relaunch.plan.question.key != "emergency.ask_got_help"


def test_a_withdrawn_emergency_said_mid_guide_resumes_at_that_step():
    said = describe(on_step("legs_2"), "i have numbness between my legs").state
    asked = describe(handle(said, "launch", LATER, opens_session=True).state, "i didn't say that", LATER).state
    turn = handle(asked, "no", LATER)
    assert turn.state["step"] == "legs_2"
    assert keys(turn.plan) == ["confirm.withdrawn", "steps.legs_2.say"]
    assert turn.plan.question.key == "steps.legs_2.ask"


def test_taken_back_long_after_the_safety_questions_asks_them_first_then_resumes():
    said = describe(on_step("legs_2"), "i have numbness between my legs").state
    later = NOW + timedelta(hours=13)  # (the safety questions are asked again after 12 hours on any return)
    asked = describe(handle(said, "launch", later, opens_session=True).state, "i didn't say that", later).state
    turn = handle(asked, "no", later)
    assert turn.plan.question.key == "steps.screen_saddle.ask" and turn.state["return_step"] == "legs_2"


@pytest.mark.parametrize("answer", ["yes", "unsure"])
def test_yes_or_not_sure_to_the_confirming_question_and_the_emergency_stands(answer):
    asked = describe(relaunched_after_an_emergency(), "that was a mistake", LATER).state
    turn = handle(asked, answer, LATER)
    assert keys(turn.plan)[:2] == ["emergency.say", "emergency.reasons.t1_saddle"] and turn.plan.end_session
    assert turn.state["last_emergency"]["withdrawn_at"] is None
    relaunch = handle(turn.state, "launch", LATER + timedelta(hours=1), opens_session=True)
    assert "emergency.reminder" in keys(relaunch.plan)


def test_no_answer_twice_to_the_confirming_question_and_the_emergency_stands():
    asked = describe(relaunched_after_an_emergency(), "that was a mistake", LATER).state
    once = describe(asked, "i have to pick up the kids", LATER)
    assert keys(once.plan) == ["events.fallback"] and once.plan.question.key == "confirm.alarm_ask"
    twice = handle(once.state, "fallback", LATER)
    assert keys(twice.plan)[:1] == ["emergency.say"] and twice.state["last_emergency"]["withdrawn_at"] is None


@pytest.mark.parametrize("words", ["yes carry on from where we were", "can we just carry on", "let's carry on"])
def test_a_request_to_carry_on_is_no_correction(words):
    turn = describe(relaunched_after_an_emergency(), words, LATER)
    assert side_question(turn.state) != "confirm_alarm"
    assert turn.state["last_emergency"]["withdrawn_at"] is None


def test_yes_carry_on_is_no_clear_yes_to_have_you_got_help():
    turn = describe(relaunched_after_an_emergency(), "yes carry on from where we were", LATER)
    assert turn.state["last_emergency"]["acknowledged"] is False
    assert keys(turn.plan) == ["events.screening_needs_answer"]
    assert turn.plan.question.key == "emergency.ask_got_help" and not turn.plan.end_session
    assert handle(relaunched_after_an_emergency(), "yes", LATER).state["last_emergency"]["acknowledged"] is True


def test_a_red_flag_in_the_answer_to_the_confirming_question_wins():
    asked = describe(relaunched_after_an_emergency(), "that was a mistake", LATER).state
    turn = describe(asked, "no but i can't feel my legs", LATER)
    assert keys(turn.plan)[:2] == ["emergency.say", "emergency.reasons.t1_legs"]


def test_denying_the_sign_itself_is_a_clear_no():
    asked = describe(relaunched_after_an_emergency(), "that was a mistake", LATER).state
    turn = describe(asked, "no numbness down there at all", LATER)
    assert turn.state["last_emergency"]["withdrawn_at"] == iso(LATER)


def test_a_see_a_doctor_today_taken_back_resumes_and_is_no_longer_repeated():
    asked = describe(urgent_at("legs_1"), "that was a mistake", LATER)
    assert asked.plan.question.params == {"sign": "signs.t2_fever"} and not asked.plan.end_session
    turn = handle(asked.state, "no", LATER)
    assert turn.state["episode"]["urgent"]["withdrawn_at"] == iso(LATER)
    assert turn.state["step"] == "legs_1" and turn.plan.question.key == "steps.legs_1.ask"
    assert turn.state["return_step"] is None
    stop = handle(turn.state, "stop", LATER)
    assert "urgent.reminder" not in keys(stop.plan)
    relaunch = handle(stop.state, "launch", LATER + timedelta(hours=1), opens_session=True)
    assert "urgent.reminder" not in keys(relaunch.plan)


def test_weight_lost_on_purpose_takes_back_the_see_a_doctor_today():
    asked = describe(urgent_at("rest", "i have lost a lot of weight"), "i lost the weight on purpose", LATER)
    assert asked.plan.question.params == {"sign": "signs.t2_weight_loss"}
    turn = handle(asked.state, "no", LATER)
    assert turn.state["episode"]["urgent"]["withdrawn_at"] == iso(LATER)
    assert turn.plan.question.key == "steps.rest.ask"


def test_a_correction_is_only_heard_while_an_alarm_stands():
    turn = describe(on_step("legs_1"), "no that was a mistake")
    assert turn.plan.question.key != "confirm.alarm_ask"


# ---------------------------------------------------------------------------- the second line's question
# Words the phrase lists find nothing in and the model puts close to a sign (checked below, so a retuned model
# that stops guessing them fails here first, not in the conversation tests).
GUESSED = {"the car behind went into us": "t1_trauma", "there is a pain in my side": "t2_urinary"}
TRAUMA, SIDE = GUESSED


@pytest.fixture(scope="module")
def second_line() -> SecondLine:
    loaded = SecondLine(CONTENT.red_flags)
    loaded.load()
    return loaded


def test_the_words_used_here_are_guessed_by_the_model_and_missed_by_the_lists(second_line):
    for words, flag in GUESSED.items():
        assert CONTENT.red_flags.match(words) is None, words
        assert second_line.guess(words).flag_id == flag, words


@pytest.fixture
def guide(second_line) -> Guide:
    return Guide(CONTENT, second_line=second_line)


def guess_turn(guide: Guide, state: dict, words: str, now=NOW):
    return guide.handle(state, Event("describe", text=words), now)


def test_words_close_to_a_sign_get_did_you_say_and_yes_is_that_tiers_answer(guide):
    asked = guess_turn(guide, on_step("rest"), TRAUMA)
    assert asked.plan.triage is None and asked.plan.question.key == "confirm.sign_ask"
    assert asked.plan.question.params == {"sign": "signs.t1_trauma"}
    turn = guide.handle(asked.state, Event("yes"), NOW)
    assert keys(turn.plan)[:2] == ["emergency.say", "emergency.reasons.t1_trauma"] and turn.plan.end_session
    assert turn.state["last_emergency"]["flag"] == "t1_trauma"  # recorded as if the lists had heard it


def test_no_to_did_you_say_carries_on_with_the_question_the_person_was_on(guide):
    asked = guess_turn(guide, on_step("rest"), TRAUMA)
    turn = guide.handle(asked.state, Event("no"), NOW)
    assert keys(turn.plan) == ["confirm.misheard"] and turn.plan.question.key == "steps.rest.ask"
    assert turn.state["last_emergency"] is None and side_question(turn.state) is None


def test_at_a_side_question_no_asks_that_side_question_again(guide):
    offer = handle(on_step("legs_2", now=NOW - timedelta(hours=2)), "launch", opens_session=True).state
    assert side_question(offer) == "resume_offer"
    asked = guess_turn(guide, offer, TRAUMA)
    turn = guide.handle(asked.state, Event("no"), NOW)
    assert turn.plan.question.key == "events.resume_ask" and side_question(turn.state) == "resume_offer"


def test_at_a_safety_question_no_asks_the_safety_question_again(guide):
    state = on_step("screen_legs")
    state["episode"]["screened_at"] = None
    asked = guess_turn(guide, state, TRAUMA)
    turn = guide.handle(asked.state, Event("no"), NOW)
    assert turn.plan.question.key == "steps.screen_legs.ask"


def test_asked_on_opening_a_session_no_runs_the_coming_back_logic(guide):
    yesterday = on_step("legs_2", now=NOW - timedelta(hours=20))
    asked = guide.handle(yesterday, Event("describe", text=TRAUMA, opens_session=True), NOW)
    assert asked.plan.question.key == "confirm.sign_ask"
    turn = guide.handle(asked.state, Event("no"), NOW)
    # the coming-back logic of a later day: how the back is, before the safety question (then where they were)
    assert "events.welcome_back" in keys(turn.plan) and turn.plan.question.key == "events.how_is_back_ask"
    assert turn.state["step"] == "legs_2"


def test_not_sure_is_yes_and_no_answer_twice_is_settled_by_the_tier(guide):
    asked = guess_turn(guide, on_step("rest"), TRAUMA).state
    assert keys(guide.handle(asked, Event("unsure"), NOW).plan)[:1] == ["emergency.say"]
    once = guess_turn(guide, asked, "hmm well")
    assert keys(once.plan) == ["events.fallback"] and once.plan.question.key == "confirm.sign_ask"
    assert keys(guide.handle(once.state, Event("fallback"), NOW).plan)[:1] == ["emergency.say"]


def test_a_tier_two_guess_confirmed_is_see_a_doctor_today(guide):
    asked = guess_turn(guide, on_step("legs_1"), SIDE).state
    turn = guide.handle(asked, Event("yes"), NOW)
    assert turn.plan.triage == "urgent" and turn.state["episode"]["urgent"]["flag"] == "t2_urinary"


def test_no_answer_at_all_to_a_tier_one_guess_is_recorded_and_the_next_launch_reminds(guide):
    asked = guess_turn(guide, on_step("rest"), TRAUMA).state
    ended = guide.handle(asked, Event("session_ended"), NOW)
    assert ended.plan.silent and ended.state["last_emergency"]["flag"] == "t1_trauma"
    assert "emergency.reminder" in keys(guide.handle(ended.state, Event("launch", opens_session=True), LATER).plan)


def test_the_lists_decide_alone_when_they_match_and_answers_are_never_guessed_at(guide, second_line):
    turn = guess_turn(guide, on_step("rest"), "i can't feel my legs")
    assert keys(turn.plan)[:1] == ["emergency.say"]
    # Each of these the model alone would take for pain in the side; a question or an answer is not guessed at.
    for words in ("why is there a pain in my side", "is a pain in my side normal", "yes there is a pain in my side"):
        assert second_line.guess(words) is not None, words
        assert guess_turn(guide, on_step("rest"), words).plan.question.key != "confirm.sign_ask", words


def test_a_red_flag_in_the_answer_to_did_you_say_wins(guide):
    asked = guess_turn(guide, on_step("rest"), SIDE).state
    turn = guess_turn(guide, asked, "no but my legs have gone numb")
    assert keys(turn.plan)[:2] == ["emergency.say", "emergency.reasons.t1_legs"]


# ---------------------------------------------------------------------------- the signs' names
def test_every_tier_one_and_two_sign_has_a_plain_name():
    prompts = CONTENT.prompts_for("en-US")
    for flag in CONTENT.red_flags.ids():
        if CONTENT.red_flags.tier_of(flag) in (1, 2):
            assert prompts.get(f"signs.{flag}"), flag


def test_a_sign_without_a_name_is_refused_at_start_up(tmp_path):
    copy_dir = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy_dir)
    path = copy_dir / "prompts" / "en-US.yaml"
    tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    del tree["signs"]["t1_belly_back"]
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    with pytest.raises(ContentError, match=r"missing text for signs.t1_belly_back"):
        load_content(copy_dir)


def test_a_denial_away_from_the_alarms_question_is_no_correction():
    """ "A bit better, and no numbness", coming back the same day a "see a doctor today" stands: a report, not a
    dispute of the fever (denials dispute an alarm only at its own question)."""
    later = NOW + timedelta(hours=13)
    asked = handle(urgent_at(), "launch", later, opens_session=True)
    assert asked.plan.question.key == "events.how_is_back_ask"
    turn = describe(asked.state, "a bit better and there's no numbness", later)
    assert "events.pain_better" in keys(turn.plan) and turn.plan.question.key != "confirm.alarm_ask"
