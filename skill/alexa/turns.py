"""One turn of the conversation: request → engine event → engine → saved state → Alexa response.

Handlers stay a line long by calling :func:`run_turn`. State lives in two places: the session
attributes (Alexa echoes them back, so the session works even when the store is down) and the
persistence adapter (so "open back spasm coach" tomorrow picks up where the person was).
"""

from __future__ import annotations

import functools
import logging
import threading
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ask_sdk_model import Response
from ask_sdk_model.ui import SimpleCard

from skill.engine import Event, Guide, Line, Plan, TurnResult
from skill.engine.alerts import UNKNOWN_ZONE
from skill.alexa import effects
from skill.render import LocalClock, Renderer, Rendered
from skill.storage import envelope_user_id

log = logging.getLogger(__name__)

# The key under which the guide's record lives, in session and persistent attributes alike.
STATE_KEY = "guide"
# Requests the player sends on its own (its reports and the device's buttons), outside any session.
PLAYER_REQUESTS = ("AudioPlayer.", "PlaybackController.")
# Set in the session when its saved progress could not be read: the whole session then keeps its record
# in the session only, so a record begun from scratch never replaces the saved one (not even at session end).
UNREAD_KEY = "progress_unread"
# What the response said by prompt key, and its answer kind, for tests and the simulator: skill/web/endpoint.py
# puts a dict here when the app is configured with EXPOSE_PROMPT_KEYS (and sends it in a header). Unset, as in
# production: nothing is kept.
SHOWN_KEYS: ContextVar[dict | None] = ContextVar("shown_prompt_keys", default=None)


@dataclass
class Coach:
    """What every handler needs: the engine and the renderer, built once per skill."""

    guide: Guide
    renderer: Renderer
    store: object = None  # the persistence adapter, for saves that must not wait (see save_state)
    library: object = None  # the breathing tracks (skill.audio.tracks.AudioLibrary); None: spoken only


def user_id(handler_input) -> str | None:
    """The Alexa userId: context.System.user first (always sent), then session.user."""
    return envelope_user_id(handler_input.request_envelope)


def request_time(handler_input) -> datetime:
    """The request's own timestamp (verified to be within 150 s of now), else the clock."""
    stamp = getattr(handler_input.request_envelope.request, "timestamp", None)
    if isinstance(stamp, datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


def request_locale(handler_input) -> str | None:
    return getattr(handler_input.request_envelope.request, "locale", None)


# The request types that carry on a conversation in its session. The others (CanFulfillIntentRequest, the
# skill events, the player's reports and buttons, types this skill does not use) take nothing from a session
# and give none of it back, even when a request brings one: a client's 376 KB of attributes came back whole.
SESSION_REQUESTS = frozenset({"LaunchRequest", "IntentRequest", "Connections.Response", "SessionEndedRequest"})


def in_session(handler_input) -> bool:
    """Whether the request belongs to a session: the player's reports and buttons do not (Alexa sends them
    none, and ask-sdk refuses session attributes without one)."""
    envelope = handler_input.request_envelope
    return envelope.session is not None and getattr(envelope.request, "object_type", None) in SESSION_REQUESTS


def with_device(handler_input, coach: Coach, event: Event) -> tuple[Event, dict[str, str]]:
    """The event, with what the device can play and what its player is doing; and the URLs of the tracks
    it can play (track -> URL), for the directives."""
    envelope = handler_input.request_envelope
    system = getattr(envelope.context, "system", None)
    interfaces = getattr(getattr(system, "device", None), "supported_interfaces", None)
    if getattr(interfaces, "audio_player", None) is None:
        return event, {}  # a device without a player (or an older envelope): the breathing is spoken
    urls = playable_tracks(handler_input, coach)
    activity, token, offset = device_player(handler_input)
    return replace(event, tracks=frozenset(urls), player=activity, player_token=token, offset_ms=offset), urls


def device_player(handler_input) -> tuple[str | None, str, int]:
    """What the device's player is doing, the token of its stream and where in it (context.AudioPlayer;
    a player's report names its own stream in the request)."""
    envelope = handler_input.request_envelope
    player = getattr(envelope.context, "audio_player", None)
    request = envelope.request
    token = getattr(request, "token", None) or getattr(player, "token", None) or ""
    offset = getattr(request, "offset_in_milliseconds", None)
    if offset is None:
        offset = getattr(player, "offset_in_milliseconds", None)
    activity = getattr(getattr(player, "player_activity", None), "value", None)
    return activity, str(token)[:1024], offset if isinstance(offset, int) and offset >= 0 else 0


def playable_tracks(handler_input, coach: Coach) -> dict[str, str]:
    """track -> URL, for the request's locale (none without a library or an HTTPS base)."""
    if coach.library is None:
        return {}
    try:
        return coach.library.playable(request_locale(handler_input))
    except Exception:  # noqa: BLE001 - no tracks: the breathing is spoken
        log.warning("the breathing tracks could not be listed", exc_info=True)
        return {}


def load_state(handler_input) -> tuple[dict | None, bool]:
    """The person's record and whether the store answered.

    Within a session the session attributes are the freshest copy. At the start of a session the
    store is read; if it fails, the session goes on with a fresh record and the store is left alone.
    """
    manager = handler_input.attributes_manager
    session = handler_input.request_envelope.session
    if session is not None and not session.new:
        state = (manager.session_attributes or {}).get(STATE_KEY)
        if isinstance(state, dict):
            return state, not manager.session_attributes.get(UNREAD_KEY)
    try:
        return (manager.persistent_attributes or {}).get(STATE_KEY), True
    except Exception:  # noqa: BLE001 - any store failure: carry on without saved progress
        log.warning("could not load saved progress", exc_info=True)
        return None, False


def save_state(handler_input, state: dict, store=None) -> bool:
    """Keep ``state`` in the session and the store. With ``store`` offering ``save_soon`` (the write-behind
    queue), the save is queued without waiting even a moment: for an answer that must not wait."""
    manager = handler_input.attributes_manager
    if in_session(handler_input):
        manager.session_attributes[STATE_KEY] = state
    try:
        manager.persistent_attributes = {STATE_KEY: state}
        save_soon = getattr(store, "save_soon", None)
        if save_soon is not None:
            save_soon(handler_input.request_envelope, manager.persistent_attributes)
        else:
            manager.save_persistent_attributes()
        return True
    except Exception:  # noqa: BLE001 - reported to the user, never silently dropped
        log.error("could not save progress", exc_info=True)
        return False


def forget_user(handler_input) -> bool:
    manager = handler_input.attributes_manager
    if in_session(handler_input):
        manager.session_attributes.pop(STATE_KEY, None)
    try:
        manager.delete_persistent_attributes()
        return True
    except Exception:  # noqa: BLE001
        log.error("could not delete user data", exc_info=True)
        return False


def opens_session(handler_input) -> bool:
    session = handler_input.request_envelope.session
    return session is None or bool(session.new)


def run_turn(handler_input, coach: Coach, event: Event) -> Response:
    manager = handler_input.attributes_manager
    # (the session attributes are only ours by now: interceptors.SessionAttributesFilter)
    state, store_ok = load_state(handler_input)
    locale = request_locale(handler_input)
    event, urls = with_device(handler_input, coach, replace(event, opens_session=opens_session(handler_input)))
    turn, event, directives = plan_turn(handler_input, coach, state, event, request_time(handler_input), locale)
    directives = effects.player_directives(turn.plan.effects, urls,
                                           coach.renderer.text(Line("breathing.audio_title"), locale)) + directives
    if turn.plan.heard:
        # What kind of thing free words were taken for (a remark, a question...), never the words nor
        # any triage outcome (health data stays out of the logs): enough to see how often people are
        # understood only as a remark.
        log.info("free words heard as %s", turn.plan.heard)
    notices: list[Line] = []
    if turn.plan.forget_user:
        if not forget_user(handler_input):
            turn.plan.lines = [Line("events.delete_failed")]
    elif not store_ok and turn.plan.triage is None:
        # Don't overwrite progress we could not read: keep this session's record in the session only.
        # (An emergency or "see a doctor today" is saved all the same: the next launch must remind of it,
        # which matters more than where in the guide the person had got to.)
        if in_session(handler_input):
            manager.session_attributes.update({STATE_KEY: turn.state, UNREAD_KEY: True})
        if handler_input.request_envelope.session is None or handler_input.request_envelope.session.new:
            notices.append(Line("events.load_failed"))
    elif state is None and event.kind == "session_ended":
        pass  # a session ending for someone we have nothing for: nothing to keep, no row to write
    elif not save_state(handler_input, turn.state, store=coach.store if turn.plan.triage is not None else None):
        # Refused, not merely slow: the store keeps the record queued and writes it when it can, but the
        # person is told, since a restart before then would lose it.
        if not turn.plan.silent:
            notices.append(Line("events.save_failed"))
    rendered = coach.renderer.render(turn.plan, locale, tuple(notices), local_clock(handler_input, event, turn))
    return build_response(handler_input, rendered, directives, turn.plan)


def plan_turn(handler_input, coach: Coach, state, event: Event, now, locale) -> tuple[TurnResult, Event, list]:
    """The engine's turn, with what it asks of the platform carried out: the final turn, the event as
    last put to the engine (with the device's zone if it was needed) and the directives to send."""
    session = handler_input.request_envelope.session
    known_zone = (handler_input.attributes_manager.session_attributes or {}).get(effects.ZONE_KEY) if session else None
    event = replace(event, zone=known_zone)
    turn = coach.guide.handle(state, event, now, locale)
    if turn.plan.needs_zone and turn.plan.triage is None:
        # The answer depends on the local time (the quiet hours, "due at 3:40"): ask again, knowing it.
        event = replace(event, zone=effects.device_zone_name(handler_input) or UNKNOWN_ZONE)
        turn = coach.guide.handle(state, event, now, locale)
    wanted = effects.needs_outcome(turn.plan.effects)
    if wanted is not None:
        # What is said depends on how it went: the engine words the outcome in a second pass. What the
        # first pass planned besides (the old set of reminders to delete) is carried out first: that pass's
        # record no longer knows those ids.
        effects.carry_out_quiet(handler_input, [e for e in turn.plan.effects if e is not wanted])
        outcome, made = effects.carry_out(handler_input, wanted, lambda key: coach.renderer.text(Line(key), locale))
        done = replace(event, kind="effect_done", target=outcome, detail=made, text="", carrier="", flag=None)
        turn = coach.guide.handle(turn.state, done, now, locale)
    if turn.plan.triage is not None:
        # A red flag is answered first: the timers and reminders it cancels are cancelled after, off the
        # request's thread, so a slow Alexa API can't delay "call nine one one".
        threading.Thread(target=effects.carry_out_quiet, args=(handler_input, turn.plan.effects),
                         kwargs={"attempts": 3}, name="cancel-alerts", daemon=True).start()
        return turn, event, []
    return turn, event, effects.carry_out_quiet(handler_input, turn.plan.effects)


def local_clock(handler_input, event: Event, turn: TurnResult) -> LocalClock:
    """The device's zone for saying a time of day: as the event or the record knows it, else looked up,
    only if a time of day is said, and never for a red flag."""
    def zone():
        name = event.zone if event.zone != UNKNOWN_ZONE else None
        name = name or (turn.state.get("alerts") or {}).get("zone")
        if name is None and turn.plan.triage is None:
            name = effects.device_zone_name(handler_input)
        return effects.zone_info(name)

    return LocalClock(functools.cache(zone))


def show_keys(rendered: Rendered | None, plan: Plan | None) -> None:
    """Note the response's prompt keys and answer kind where SHOWN_KEYS asks for them (never in production)."""
    shown = SHOWN_KEYS.get()
    if shown is None:
        return
    shown.clear()
    if rendered is not None:
        shown.update(say=list(rendered.keys), reprompt=list(rendered.reprompt_keys), card=list(rendered.card_keys))
    if plan is not None:
        shown.update(triage=plan.triage, heard=plan.heard)


def build_response(handler_input, rendered: Rendered, directives=(), plan: Plan | None = None) -> Response:
    builder = handler_input.response_builder
    for directive in directives:
        builder.add_directive(directive)
    if not in_session(handler_input) and getattr(handler_input.request_envelope.request, "object_type", "")\
            .startswith(PLAYER_REQUESTS):
        show_keys(None, plan)
        return builder.response  # Alexa takes directives only, no speech, in answer to the player
    show_keys(rendered, plan)
    if rendered.speech:
        builder.speak(rendered.speech)
    if rendered.card_title:
        builder.set_card(SimpleCard(title=rendered.card_title, content=rendered.card_text))
    if rendered.reprompt and not rendered.end_session:
        builder.ask(rendered.reprompt)
    elif rendered.speech or directives and in_session(handler_input):
        builder.set_should_end_session(True)  # (a silent Play or Stop ends the session it was asked in)
    return builder.response


def red_flag_response(handler_input, coach: Coach, event: Event) -> Response | None:
    """The triage answer from the engine alone, for when the normal turn failed; None when what was
    described is no emergency or urgent sign (the spoken apology is the better answer then)."""
    locale = request_locale(handler_input)
    event, _ = with_device(handler_input, coach, replace(event, opens_session=opens_session(handler_input)))
    turn = coach.guide.handle(None, event, request_time(handler_input), locale)
    if turn.plan.triage is None:
        return None
    # (the breathing track, if it was playing, is stopped: player_directives needs no URL for that)
    return build_response(handler_input, coach.renderer.render(turn.plan, locale),
                          effects.player_directives(turn.plan.effects, {}, ""), turn.plan)


def error_response(handler_input, coach: Coach) -> Response:
    """Spoken apology with the emergency number; keeps the session so the person can retry."""
    plan = Plan(lines=[Line("events.error")], question=Line("events.error_ask"),
                reprompt=Line("events.error_ask"), end_session=False)
    return build_response(handler_input, coach.renderer.render(plan, request_locale(handler_input)), plan=plan)
