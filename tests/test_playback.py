"""The engine's side of the breathing track (skill/engine/playback.py), where the simulator's device can't
reach: what Alexa may report that the simulated device doesn't, and records from another stream."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from skill.engine import Event, Guide
from skill.engine.plan import PlayAudio, StopAudio

GUIDE = Guide()
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
TRACKS = frozenset({"breathing-3min", "breathing-5min", "breathing-10min"})


def playing() -> tuple[dict, str]:
    """A record whose breathing track has started: (the record, the stream's token)."""
    state = None
    for kind in ("launch", "no", "no", "no", "no", "no"):
        state = GUIDE.handle(state, Event(kind, tracks=TRACKS), NOW).state
    turn = GUIDE.handle(state, Event("jump", target="breathing", tracks=TRACKS), NOW)
    (play,) = [e for e in turn.plan.effects if isinstance(e, PlayAudio)]
    started = Event("playback", target="started", player_token=play.token, player="PLAYING", tracks=TRACKS,
                    opens_session=True)
    return GUIDE.handle(turn.state, started, NOW + timedelta(seconds=2)).state, play.token


def while_playing(state, token, kind, player="PLAYING", **kw):
    return GUIDE.handle(state, Event(kind, player=player, player_token=token, offset_ms=30_000, tracks=TRACKS,
                                     opens_session=True, **kw), NOW + timedelta(seconds=30))


def test_alexa_may_say_the_player_is_stopped_while_the_person_speaks_and_pause_still_stops_the_track():
    state, token = playing()
    turn = while_playing(state, token, "pause", player="STOPPED")
    assert turn.plan.effects == [StopAudio()]
    assert turn.plan.question.key == "breathing.stopped_ask"  # not the guide's "paused" words


def test_a_red_flag_while_the_player_holds_the_track_stops_it_so_it_cannot_start_again():
    state, token = playing()
    for player in ("PLAYING", "STOPPED", "PAUSED", "BUFFER_UNDERRUN"):
        turn = while_playing(state, token, "describe", player=player, text="my legs are numb")
        assert turn.plan.triage == "emergency" and StopAudio() in turn.plan.effects, player


def test_a_report_about_another_stream_changes_nothing():
    state, token = playing()
    other = token.replace("breathing-3min", "breathing-5min")
    turn = GUIDE.handle(state, Event("playback", target="finished", player_token=other, offset_ms=300_000,
                                     tracks=TRACKS, opens_session=True), NOW + timedelta(minutes=5))
    assert turn.state["playback"] == state["playback"] and turn.state["step"] == "breathing"


def test_another_skills_audio_is_left_alone():
    state, _ = playing()
    turn = while_playing(state, "spotify:track:42", "pause")
    assert not any(isinstance(e, (PlayAudio, StopAudio)) for e in turn.plan.effects)


def test_resume_plays_a_held_track_even_when_the_record_missed_the_players_stop_report():
    state, token = playing()
    turn = while_playing(state, token, "resume", player="STOPPED")
    (play,) = turn.plan.effects
    assert isinstance(play, PlayAudio) and play.offset_ms == 30_000
