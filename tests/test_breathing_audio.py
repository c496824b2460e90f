"""The breathing track through the simulator: a device with a player fetches the skill's own files from its
``/audio`` route, plays them on the simulated clock and sends the player's reports (simulator/device.py).
The tracks are silent MP3s of the real lengths (tests/silent_mp3.py), listed in a manifest as the build
writes it. What is checked is what a person would notice: which track plays and from where, that the
session ends while it plays, what is said when they come back, and that a red flag stops it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import player_request_problems, response_problems
from simulator.cli import build_device
from simulator.streams import write_silent_tracks
from skill.engine import Line, default_content
from skill.render import Renderer

LENGTHS = {"breathing-3min": 180, "breathing-5min": 300, "breathing-10min": 600}
RENDERER = Renderer(default_content())


def words(key: str, **params) -> str:
    """What the skill says for a prompt key (so rewording a prompt doesn't break these tests)."""
    return RENDERER.text(Line(key, params), "en-US")


def make_tracks(folder) -> None:
    write_silent_tracks(folder, LENGTHS)


@pytest.fixture
def tracks(tmp_path):
    folder = tmp_path / "tracks"
    folder.mkdir()
    make_tracks(folder)
    return folder


def new_device(tmp_path, tracks, kind="speaker"):
    return build_device(db_path=str(tmp_path / "audio.sqlite3"), audio_dir=str(tracks), device=kind)


@pytest.fixture
def device(tmp_path, tracks):
    dev = new_device(tmp_path, tracks)
    yield dev
    dev.api.stop()


def plays(exchange) -> dict | None:
    """The stream of the AudioPlayer.Play directive in this answer, if any."""
    for d in ((exchange.response or {}).get("response") or {}).get("directives") or []:
        if d.get("type") == "AudioPlayer.Play":
            return d["audioItem"]["stream"]
    return None


def directive_types(exchange) -> list[str]:
    return [d.get("type") for d in ((exchange.response or {}).get("response") or {}).get("directives") or []]


def requests(exchanges) -> list[str]:
    return [e.request_type for e in exchanges]


@pytest.fixture(autouse=True)
def every_answer_within_alexas_rules(monkeypatch):
    """Every response any test here gets, checked against Alexa's rules (the Play directive's included)."""
    from simulator.device import Device

    problems, send = [], Device._send

    def checked(self, env, label, session_request=True):
        exchange = send(self, env, label, session_request)
        found = response_problems(exchange.response or {})
        if env["request"]["type"].startswith(("AudioPlayer.", "PlaybackController.")):
            found += player_request_problems(exchange.response or {})
        elif plays(exchange) and (exchange.response or {}).get("response", {}).get("shouldEndSession") is not True:
            found.append("AudioPlayer.Play without shouldEndSession true")  # (a Stop may come with a question)
        problems.extend(f"{label}: {p}" for p in found)
        return exchange

    monkeypatch.setattr(Device, "_send", checked)
    yield
    assert not problems, problems


def screened(device) -> None:
    """Through the safety questions, all answered no."""
    device.say("open back spasm coach")
    for _ in range(5):
        device.say("no")


def start_track(device):
    """ "Yes" to "would you like a short guided breathing session now?": the answer and what followed."""
    screened(device)
    device.say("go to relaxing")
    return device.say("yes")


# ---------------------------------------------------------------------------- playing, finishing
def test_yes_at_the_breathing_step_plays_the_three_minute_track_and_the_next_launch_carries_on(device):
    answer, *after = start_track(device)
    stream = plays(answer)
    assert stream is not None and "breathing-3min" in stream["url"] and stream["offsetInMilliseconds"] == 0
    assert stream["url"].startswith("https://")
    assert words("breathing.audio_start", minutes=3) in answer.speech
    assert answer.ends_session is True and device.session is None  # the person lies still while it plays
    assert requests(after) == ["AudioPlayer.PlaybackStarted"]
    assert requests(device.wait(timedelta(minutes=2))) == []
    assert requests(device.wait(timedelta(minutes=2))) == ["AudioPlayer.PlaybackNearlyFinished",
                                                           "AudioPlayer.PlaybackFinished"]
    back = device.say("open back spasm coach")[0]
    assert "breathing.audio_done" in back.keys.say
    assert "titles.pain_check" in back.keys.say  # the guide carries on after the breathing
    assert "steps.pain_check.say" in device.say("yes")[0].keys.say
    device.say("stop")
    assert "breathing.audio_done" not in device.say("open back spasm coach")[0].keys.say  # said once


def test_a_five_minute_session_asked_for_by_name_comes_after_the_safety_questions(device):
    first = device.say("alexa tell back spasm coach to start a five minute breathing session")[0]
    assert plays(first) is None and first.ends_session is False  # the safety questions first
    for _ in range(4):
        device.say("no")
    answer = device.say("no")[0]
    stream = plays(answer)
    assert stream is not None and "breathing-5min" in stream["url"]
    assert words("breathing.audio_start", minutes=5) in answer.speech
    events = device.wait(timedelta(minutes=5, seconds=5))
    assert requests(events)[-1] == "AudioPlayer.PlaybackFinished"
    assert events[-1].request["request"]["offsetInMilliseconds"] == 300_000


# ---------------------------------------------------------------------------- pause and resume
def test_pause_then_resume_an_hour_later_goes_on_from_where_it_stopped(device):
    start_track(device)
    device.wait(timedelta(seconds=60))
    paused = device.say("alexa pause")
    assert requests(paused) == ["IntentRequest", "AudioPlayer.PlaybackStopped"]
    assert directive_types(paused[0]) == ["AudioPlayer.Stop"]
    assert paused[0].keys.say == ("breathing.stopped_ask",) and paused[0].ends_session is False
    stopped_at = paused[1].request["request"]["offsetInMilliseconds"]
    assert stopped_at == 60_000
    # Nothing said: the reprompt, the session ends, and nothing plays while paused.
    assert requests(device.wait(timedelta(hours=1))) == [None, "SessionEndedRequest"]
    resumed = device.say("alexa resume")
    stream = plays(resumed[0])
    assert stream is not None and "breathing-3min" in stream["url"] and stream["offsetInMilliseconds"] == stopped_at
    assert requests(resumed)[-1] == "AudioPlayer.PlaybackStarted"
    # The rest of the track: two minutes, not three.
    assert requests(device.wait(timedelta(seconds=119)))[-1:] == ["AudioPlayer.PlaybackNearlyFinished"]
    assert requests(device.wait(timedelta(seconds=2))) == ["AudioPlayer.PlaybackFinished"]


def test_resume_the_next_day_is_a_welcome_back_asking_how_the_back_is_not_the_track(device):
    start_track(device)
    device.wait(timedelta(seconds=90))
    device.say("alexa pause")
    device.wait(timedelta(hours=13))
    answer = device.say("alexa resume")[0]
    assert plays(answer) is None and answer.ends_session is False
    assert {"events.welcome_back", "events.how_is_back_ask"} <= set(answer.keys.say)


def test_the_pause_and_play_buttons_stop_the_track_and_go_on_from_the_same_place(device):
    start_track(device)
    device.wait(timedelta(seconds=45))
    paused = device.button("pause")
    assert requests(paused) == ["PlaybackController.PauseCommandIssued", "AudioPlayer.PlaybackStopped"]
    assert directive_types(paused[0]) == ["AudioPlayer.Stop"]
    assert "outputSpeech" not in paused[0].response["response"]  # Alexa takes no speech for a button
    played = device.button("play")
    stream = plays(played[0])
    assert stream is not None and stream["offsetInMilliseconds"] == 45_000
    device.wait(timedelta(minutes=3))
    for button in ("play", "next", "pause"):  # after the end, nothing held: no answer, and nothing changes
        assert directive_types(device.button(button)[0]) == []
    assert "breathing.audio_done" in device.say("open back spasm coach")[0].keys.say


# ---------------------------------------------------------------------------- failures and fallbacks
def test_a_stream_that_fails_is_told_on_the_next_launch_and_the_breathing_is_spoken_instead(device, tracks):
    screened(device)
    device.say("go to relaxing")
    for track in tracks.glob("breathing-3min-*.mp3"):
        track.unlink()  # gone from the server after the skill listed it
    answer, *after = device.say("yes")
    assert plays(answer) is not None
    assert requests(after) == ["AudioPlayer.PlaybackFailed"]
    back = device.say("open back spasm coach")[0]
    assert "breathing.audio_failed" in back.keys.say
    assert "[pause 4s]" in back.speech and plays(back) is None  # the paced breathing, in speech
    assert back.ends_session is False and "steps.breathing.ask" in back.keys.say  # "another round?"
    again = device.say("yes")[0]  # another round: spoken again, no second try at the failing track today
    assert "[pause 4s]" in again.speech and plays(again) is None


def test_a_device_without_a_player_hears_the_breathing_spoken(tmp_path, tracks):
    dev = new_device(tmp_path, tracks, kind="no-audio")
    try:
        start = start_track(dev)[0]
    finally:
        dev.api.stop()
    assert plays(start) is None and "[pause 4s]" in start.speech and start.ends_session is False


def test_no_built_track_means_the_breathing_is_spoken(tmp_path):
    empty = tmp_path / "no-tracks"
    empty.mkdir()
    dev = new_device(tmp_path, empty)
    try:
        start = start_track(dev)[0]
        dev.say("alexa tell back spasm coach to start a ten minute breathing session")
        longer = dev.say("yes")[0] if dev.session is not None else None
    finally:
        dev.api.stop()
    assert plays(start) is None and "[pause 4s]" in start.speech
    assert longer is None or plays(longer) is None


# ---------------------------------------------------------------------------- red flags and words while it plays
def test_a_red_flag_during_playback_is_answered_at_once_and_the_track_stops(device):
    start_track(device)
    device.wait(timedelta(seconds=30))
    answer, *after = device.say("alexa tell back spasm coach my legs are numb")
    assert "emergency.say" in answer.keys.say
    assert directive_types(answer) == ["AudioPlayer.Stop"]
    assert requests(after) == ["AudioPlayer.PlaybackStopped"]
    assert requests(device.wait(timedelta(minutes=10))) == []  # the track does not come back
    assert "emergency.reminder" in device.say("open back spasm coach")[0].keys.say


# Said while the track plays: (what reaches the skill, the directives it answers with, whether it speaks).
WHILE_PLAYING = {
    # (stopped, and "has anything changed?": the session stays open for what made them stop it)
    "alexa pause": ("AMAZON.PauseIntent", ["AudioPlayer.Stop"], True),
    "alexa stop": ("AMAZON.PauseIntent", ["AudioPlayer.Stop"], True),  # (what Alexa sends over a skill's audio)
    "alexa cancel": ("AMAZON.CancelIntent", ["AudioPlayer.Stop"], True),
    "alexa resume": ("AMAZON.ResumeIntent", [], False),
    "alexa start over": ("AMAZON.StartOverIntent", ["AudioPlayer.Play"], False),
    "alexa repeat": ("AMAZON.RepeatIntent", ["AudioPlayer.Play"], False),
    "alexa previous": ("AMAZON.PreviousIntent", ["AudioPlayer.Play"], False),
    "alexa next": ("AMAZON.NextIntent", ["AudioPlayer.Stop"], True),
    "alexa loop on": ("AMAZON.LoopOnIntent", [], True),
    "alexa loop off": ("AMAZON.LoopOffIntent", [], True),
    "alexa shuffle": ("AMAZON.ShuffleOnIntent", [], True),
    "alexa shuffle off": ("AMAZON.ShuffleOffIntent", [], True),
    "alexa tell back spasm coach help": ("AMAZON.HelpIntent", [], True),
    "alexa open back spasm coach": (None, ["AudioPlayer.Stop"], True),
    "alexa tell back spasm coach how long do i keep the ice on": (None, [], True),  # answered, plays on
}


def test_every_playback_intent_certification_sends_gets_a_player_answer_while_the_track_plays(tmp_path, tracks):
    failures = []
    for n, (said, (intent, directives, speaks)) in enumerate(WHILE_PLAYING.items()):
        dev = build_device(db_path=str(tmp_path / f"each-{n}.sqlite3"), audio_dir=str(tracks))
        try:
            start_track(dev)
            dev.wait(timedelta(seconds=20))
            answer = dev.say(said)[0]
        finally:
            dev.api.stop()
        problems = []
        if intent is not None and answer.intent != intent:
            problems.append(f"reached the skill as {answer.intent}")
        if directive_types(answer) != directives:
            problems.append(f"directives {directive_types(answer)}")
        if bool(answer.speech) != speaks:
            problems.append(f"speech {answer.speech!r}")
        if "emergency.say" in answer.keys.say:
            problems.append("emergency words")
        if directives and directives[0] == "AudioPlayer.Play" and plays(answer)["offsetInMilliseconds"] != 0:
            problems.append("does not start the track again")
        if problems:
            failures.append(f"{said!r}: {'; '.join(problems)}")
    assert not failures, f"{len(failures)} answers wrong while the track plays:\n  " + "\n  ".join(failures)


def test_next_while_the_track_plays_moves_on_to_the_pain_check(device):
    start_track(device)
    device.wait(timedelta(seconds=20))
    answer = device.say("alexa next")[0]
    assert "steps.pain_check.say" in answer.keys.say and answer.ends_session is False


def test_after_an_emergency_answer_resume_gives_the_reminder_not_the_track(device):
    start_track(device)
    device.wait(timedelta(seconds=60))
    device.say("alexa tell back spasm coach my legs are going numb")
    answer = device.say("alexa resume")[0]
    assert plays(answer) is None
    assert "emergency.reminder" in answer.keys.say


def test_a_remark_while_the_track_plays_is_heard_and_the_track_plays_on(device):
    start_track(device)
    device.wait(timedelta(seconds=60))
    answer, *after = device.say("alexa tell back spasm coach my legs feel nice and heavy now")
    assert answer.speech and directive_types(answer) == [] and answer.ends_session is True
    assert "emergency.say" not in answer.keys.say and "events.welcome_back" not in answer.keys.say
    assert requests(after) == []
    # The two minutes left, as before the remark.
    assert requests(device.wait(timedelta(seconds=121)))[-1] == "AudioPlayer.PlaybackFinished"


def test_a_question_while_the_track_plays_is_answered_and_the_track_plays_on(device):
    start_track(device)
    device.wait(timedelta(seconds=60))
    answer, *after = device.say("alexa ask back spasm coach how long do i keep the ice on")
    assert answer.speech and "events.question_other" not in answer.keys.say  # an answer, not "I can't say"
    assert directive_types(answer) == [] and "events.welcome_back" not in answer.keys.say
    assert requests(device.wait(timedelta(seconds=121)))[-1] == "AudioPlayer.PlaybackFinished"


def test_opening_the_guide_mid_track_then_carrying_on_goes_on_from_where_it_stopped(device):
    start_track(device)
    device.wait(timedelta(seconds=70))
    opened = device.say("alexa open back spasm coach")[0]
    assert directive_types(opened) == ["AudioPlayer.Stop"] and opened.ends_session is False
    answer = device.say("yes")[0]
    stream = plays(answer)
    assert stream is not None and stream["offsetInMilliseconds"] == 70_000
    assert "breathing.audio_resume" in answer.keys.say


def test_a_breathing_session_asked_for_after_the_guide_has_finished_plays(device):
    screened(device)
    device.say("go to summary")
    answer = device.say("alexa tell back spasm coach to start a breathing session")[0]
    assert plays(answer) is not None


def test_a_length_there_is_no_track_for_gets_the_nearest_and_says_so(device):
    screened(device)
    answer = device.say("a one minute breathing session")[0]
    stream = plays(answer)
    assert stream is not None and "breathing-3min" in stream["url"]
    assert words("breathing.audio_nearest", minutes=3) in answer.speech


def test_resume_said_in_the_session_alexa_stop_opened_plays_on_from_where_it_stopped(device):
    start_track(device)
    device.wait(timedelta(seconds=50))
    assert "breathing.stopped_ask" in device.say("alexa stop")[0].keys.say
    answer = device.say("resume")[0]
    stream = plays(answer)
    assert stream is not None and stream["offsetInMilliseconds"] == 50_000 and answer.ends_session is True
    assert "breathing.reach_me" in answer.keys.say


def test_stop_said_in_the_session_alexa_stop_opened_ends_kindly_and_the_track_waits(device):
    start_track(device)
    device.wait(timedelta(seconds=50))
    device.say("alexa stop")
    answer = device.say("stop")[0]
    assert "events.stop" in answer.keys.say and answer.ends_session is True and plays(answer) is None
