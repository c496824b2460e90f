"""Guided breathing as long-form audio: the track the breathing step plays where the device can play it.

The breathing step (protocol.yaml ``include: [paced_breathing]``) plays a track from
``settings.breathing.tracks`` when the event says the device can play it (``Event.tracks``: a device with a
player, and the track built for its locale); otherwise, or for a while after a track failed to play, the
breathing is spoken (a ``Breathing`` line, about a minute). Playing ends the session: Alexa plays the track
once the speech is done, and the person lies still.

The player reports back with ``playback`` events carrying the stream's token, which names the track, the
step and when it began: started, stopped (at an offset), finished (the guide then goes on from the step
after, and the next launch says so), failed (the next launch says so and breathes in speech instead).

While the track is on the device, "Alexa, pause / resume / stop / next / start over" reach the skill with
the player's token: ``control`` answers them as a player would, except that "Alexa, pause / stop / cancel"
keep the session open with "Has anything changed?" (side question ``track_stopped``): the person was told
before the track, and by the track halfway, "If anything changes, say: Alexa, stop, and tell me", and once
the track is stopped their words reach the skill only in a session. Anything else said to the skill while
the track plays stops it, a red flag first of all: the guide's answer is not talked over by the track.
"""

from __future__ import annotations

from dataclasses import replace
from skill.engine.plan import SILENT_EVENTS, Breathing, Event, Line, PlayAudio, StopAudio
from skill.engine.protocol import Step
from skill.engine.record import Playback, parse_time
from skill.engine.reply import Reply

# The player is sounding the stream, or holding it where it stopped.
SOUNDING = frozenset({"PLAYING", "BUFFER_UNDERRUN"})
HELD = frozenset({"PAUSED", "STOPPED"})
TOKEN_SEPARATOR = "|"
# "Alexa, pause / stop / cancel" while the track sounds: it stops, and the skill asks what has changed.
STOPPING = frozenset({"pause", "stop", "cancel"})


# ---------------------------------------------------------------------------- tokens
def make_token(track: str, step: str, started: str) -> str:
    return TOKEN_SEPARATOR.join((track, step, started))


def is_ours(token: str) -> bool:
    """A token this skill made (the player reports another skill's stream with its own)."""
    parts = (token or "").split(TOKEN_SEPARATOR)
    return len(parts) == 3 and all(parts) and parse_time(parts[2]) is not None


def on_device(reply: Reply, event: Event) -> str | None:
    """ "sounding" or "held" when the device's player has this skill's track, else None. A player that
    says it is stopped while the record has no report of a stop is sounding: Alexa holds the track while
    the person speaks to it ("Alexa, pause"), and may say so in the request."""
    if not is_ours(event.player_token):
        return None
    if event.player in SOUNDING:
        return "sounding"
    if event.player not in HELD:
        return None
    playback = reply.record.playback
    if playback is not None and playback.token == event.player_token and playback.state in ("starting", "playing"):
        return "sounding"
    return "held"


# ---------------------------------------------------------------------------- which track
def settings(reply: Reply) -> dict:
    return reply.settings["breathing"]


def track_for(reply: Reply) -> tuple[str, int]:
    """The track of the length last asked for (the nearest there is), else the default: (name, minutes)."""
    tracks = settings(reply)["tracks"]
    asked = reply.record.breathing_minutes or settings(reply)["default_minutes"]
    minutes = min(tracks, key=lambda length: (abs(length - asked), length))
    return tracks[minutes], minutes


def failed_lately(reply: Reply) -> bool:
    hours = reply.hours_since(reply.record.audio_failed_at)
    return hours is not None and hours < settings(reply)["spoken_after_failure_hours"]


def plays(plan) -> bool:
    return any(isinstance(effect, PlayAudio) for effect in plan.effects)


# ---------------------------------------------------------------------------- the breathing step
def breathe(reply: Reply, step: Step) -> None:
    """The breathing step's session: the track where the device can play it, else spoken."""
    track, minutes = track_for(reply)
    if track not in reply.event_tracks or failed_lately(reply):
        if reply.record.breathing_minutes and reply.record.breathing_minutes > 1 and not failed_lately(reply):
            reply.say("breathing.spoken_instead")  # a longer session was asked for: this device has a minute
        return speak(reply, step)
    # The track opens with its own settling words: the step's spoken introduction is not said twice.
    reply.plan.lines = [line for line in reply.plan.lines if getattr(line, "key", None) != f"steps.{step.id}.say"]
    offset = held_offset(reply, track, step.id)
    if offset:
        reply.say("breathing.audio_resume")
        reply.say("breathing.reach_me")  # (while it plays, only "Alexa, ..." reaches the skill: said each time)
        return play(reply, track, step.id, offset)
    asked = reply.record.breathing_minutes
    reply.say("breathing.audio_start" if asked in (None, minutes) else "breathing.audio_nearest", minutes=minutes)
    reply.say("breathing.reach_me")
    play(reply, track, step.id)


def held_offset(reply: Reply, track: str, step: str) -> int:
    """Where this step's track stopped, if it stopped part way lately: the device's player says so with
    every request (the freshest word: the session's copy of the record may predate the player's report),
    else the record. 0: from the start."""
    event = reply.device_event
    if event is not None and is_ours(event.player_token) and token_parts(event.player_token) == (track, step) \
            and event.player in SOUNDING | HELD and event.offset_ms > 0 and resumable(reply, event.player_token):
        return event.offset_ms
    held = reply.record.playback
    if held is not None and (held.track, held.step) == (track, step) and held.state == "stopped" \
            and within_resume_window(reply, held):
        return held.offset_ms
    return 0


def resumable(reply: Reply, token: str) -> bool:
    """The track of ``token`` stopped recently enough to go on from where it stopped: when the record's
    report of it says, else counted from when it began."""
    playback = reply.record.playback
    if playback is not None and playback.token == token:
        return within_resume_window(reply, playback)
    hours = reply.hours_since(token.split(TOKEN_SEPARATOR)[2])
    return hours is not None and hours < settings(reply)["resume_within_hours"]


def speak(reply: Reply, step: Step) -> None:
    """The breathing as speech with timed pauses (SSML breaks), then its closing words."""
    pace = settings(reply)
    reply.plan.lines.append(Breathing(pace["breaths"], pace["inhale_seconds"], pace["exhale_seconds"]))
    reply.plan.lines.append(Line(f"steps.{step.id}.outro"))


def play(reply: Reply, track: str, step: str, offset_ms: int = 0) -> None:
    token = make_token(track, step, reply.now_iso)
    reply.plan.effects.append(PlayAudio(track, token, offset_ms))
    reply.record.playback = Playback(track, token, step, "starting", offset_ms, reply.now_iso)


def within_resume_window(reply: Reply, playback: Playback) -> bool:
    hours = reply.hours_since(playback.at)
    return hours is not None and hours < settings(reply)["resume_within_hours"]


# ---------------------------------------------------------------------------- the player's reports
REPORTED_STATES = {"started": "playing", "stopped": "stopped", "finished": "finished", "failed": "failed"}


def report(reply: Reply, event: Event) -> None:
    """What the player said about the track: kept in the record; nothing is said (Alexa takes no speech
    in answer to a player's report). A report about another stream than the one recorded changes nothing."""
    playback = reply.record.playback
    if playback is None or event.player_token != playback.token or event.target not in REPORTED_STATES:
        return  # (nearly_finished: there is nothing to queue after a breathing session)
    state = REPORTED_STATES[event.target]
    reply.record.playback = replace(playback, state=state, offset_ms=max(event.offset_ms, 0), at=reply.now_iso)
    if state == "failed":
        reply.record.audio_failed_at = reply.now_iso
    elif state == "finished" and reply.record.step == playback.step:
        # Done: the guide goes on from the step after the breathing (the next launch carries on there).
        step = reply.protocol.steps[playback.step]
        reply.record.trail = (reply.record.trail + [step.id])[-reply.settings["trail_limit"]:]
        reply.record.step = step.next


def since_last_time(reply: Reply) -> str | None:
    """Coming back after the track: well done for finishing it, or sorry it did not play (said once).
    Returns what was told: "finished", "failed" or None."""
    playback = reply.record.playback
    if playback is None or playback.state not in ("finished", "failed"):
        return None
    reply.say("breathing.audio_done" if playback.state == "finished" else "breathing.audio_failed")
    reply.record.playback = None
    return playback.state


# ---------------------------------------------------------------------------- the player's controls
def control(reply: Reply, event: Event) -> bool:
    """ "Alexa, pause" (and the like) while the track is on the device: answered as a player would. False
    when the event is not for the player (the guide answers it)."""
    where = on_device(reply, event)
    if not reply.opening or where is None or reply.emergency_active():
        return False  # (after an emergency answer, its reminder comes before any breathing)
    track, step = token_parts(event.player_token)
    if track not in reply.event_tracks or step not in reply.protocol.steps:
        return False  # a track no longer built, or a step no longer in the guide: the guide answers
    if where == "held":
        return event.kind == "resume" and resume(reply, event)
    if event.kind in STOPPING:
        # The player reports the offset: "resume" goes on from there. The person was told to say "Alexa, stop,
        # and tell me" if anything changes, and their next words reach the skill only in a session: it stays
        # open for them. (Alexa sends "stop" over a skill's track as a pause: the two are answered alike.)
        reply.plan.effects.append(StopAudio())
        reply.nav.ask_side_question("track_stopped")
        return True
    if event.kind == "resume":
        if event.player not in SOUNDING:  # held, though the record missed the player's report of it
            return resume(reply, event)
    elif event.kind in ("back", "repeat", "start_over"):
        play(reply, track, step)  # the one track, from its start
    elif event.kind == "next" and reply.protocol.steps[step].next:
        # Skip the rest: the guide goes on from the step after the breathing, in this session.
        reply.plan.effects.append(StopAudio())
        reply.record.step = step
        reply.nav.go(reply.protocol.steps[step].next)
        return True
    elif event.kind == "unsupported":
        reply.say("breathing.audio_unsupported")  # the track goes on once this is said
    elif event.kind in ("help", "fallback", "yes", "no", "unsure"):
        reply.say("breathing.audio_help")
    else:
        return False
    reply.end()
    return True


def resume(reply: Reply, event: Event) -> bool:
    """ "Alexa, resume": the track from where the player holds it. After a long break it is the guide's to
    answer (welcome back, and the safety questions again if it has been long enough)."""
    if not resumable(reply, event.player_token):
        return False
    track, step = token_parts(event.player_token)
    play(reply, track, step, max(event.offset_ms, 0))
    reply.end()
    return True


def token_parts(token: str) -> tuple[str, str]:
    """The track and the step a token of ours names (``is_ours`` has said it is one)."""
    track, step, _ = token.split(TOKEN_SEPARATOR)
    return track, step


def keeps_playing(reply: Reply, event: Event) -> bool:
    """Words for the guide that need no more than an acknowledgement (a remark), said while the track plays:
    the track goes on after it."""
    return reply.opening and on_device(reply, event) == "sounding" and not reply.emergency_active()


def stop_if_sounding(reply: Reply, event: Event) -> None:
    """Words for the guide while the track is on the device (a red flag above all): the track stops, so it
    neither talks over the answer nor starts again after it. (Stopping a track that was held already
    costs nothing: "Alexa, resume" still finds it where it was.)"""
    if not reply.opening or event.kind in SILENT_EVENTS or on_device(reply, event) is None:
        return  # (the player's own reports are no words for the guide)
    if not any(isinstance(effect, (PlayAudio, StopAudio)) for effect in reply.plan.effects):
        reply.plan.effects.insert(0, StopAudio())
