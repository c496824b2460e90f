"""Carries out what an engine plan asks of the platform besides speech: Alexa timers, the permission
request for them, the device's time zone for saying a time of day, and the breathing track's player
directives (AudioPlayer.Play and Stop, sent with the response: no API call). All through ask-sdk's service
clients (``handler_input.service_client_factory``), so the same code reaches Amazon's API in production
and the simulator's fake of it on loopback.

Nothing here is on the path of a red flag: a triage plan carries no StartTimer, and its time of day is
never looked up (see ``turns.run_turn``). Every failure becomes an outcome the engine words ("I couldn't set
the timer just now"), never an exception.

A slow or unreachable Alexa API must not hold the request threads a red flag needs (issue 22: with every
call running to its timeout, 16 people's turns took 5-15 s, and a red flag queued behind them 9 s).
``BoundedApiClient`` bounds what one turn and one process may spend on it:

- a turn's calls share ``API_TURN_BUDGET`` seconds in all, each call at most ``API_TIMEOUT``;
- at most ``API_CALLERS`` request threads of a process wait on the API at once: a turn that finds them all
  waiting skips its calls, so the process's other threads stay free for everyone else, red flags included;
- after ``BREAKER_FAILURES`` failures in a row (a timeout, no connection, a 5xx) the calls to that endpoint
  are skipped for ``BREAKER_COOLDOWN`` seconds, then one is tried again (a circuit breaker).

A skipped call fails at once, as a failed one does: the engine words the same spoken fallback.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from contextvars import ContextVar
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ask_sdk_core.api_client import DefaultApiClient
from ask_sdk_core.exceptions import ApiClientException
from ask_sdk_model.interfaces.audioplayer import (AudioItem, AudioItemMetadata, PlayBehavior, PlayDirective,
                                                  StopDirective, Stream)
from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.services import ServiceException
from ask_sdk_model.services.reminder_management import (
    AlertInfo,
    PushNotification,
    PushNotificationStatus,
    ReminderRequest,
    SpokenInfo,
    SpokenText,
    Trigger,
    TriggerType,
)
from ask_sdk_model.services.timer_management import (
    AnnounceOperation,
    CreationBehavior,
    DisplayExperience,
    NotificationConfig,
    TextToAnnounce,
    TimerRequest,
    TriggeringBehavior,
    Visibility,
)

from skill.engine.plan import (AskPermission, CancelReminders, CancelTimers, CreateReminders, PlayAudio,
                               StartTimer, StopAudio)

log = logging.getLogger(__name__)

# Seconds one call to an Alexa API may take, and all of one turn's calls together: the whole answer has about 8,
# and under load some of them go to waiting for a thread.
API_TIMEOUT = 2.5
API_TURN_BUDGET = 3.0
# Of that, the most a call waits for a connection (TCP and TLS), so a call that never gets an answer still ends
# within its share: a connection and a read timeout add up.
API_CONNECT_TIMEOUT = 1.0
# Request threads of one process that may wait on the Alexa API at once: half of those the server gives each
# process (SKILL_THREADS, 8 by default: skill/web/gunicorn_conf.py), so the other half are always free for turns
# that don't call it, red flags included.
API_CALLERS = 4
# Failures in a row that open the breaker, and the seconds its calls are then skipped for.
BREAKER_FAILURES = 3
BREAKER_COOLDOWN = 30.0
# The permission scopes the manifest declares, by the engine's names for them.
SCOPES = {"timers": "alexa::alerts:timers:skill:readwrite",
          "reminders": "alexa::alerts:reminders:skill:readwrite"}
# Session attribute under which the device's time zone is kept for the rest of the session.
ZONE_KEY = "device_zone"


def api_callers(threads: int) -> int:
    """How many of a process's ``threads`` may wait on the Alexa API at once (at least one)."""
    return max(1, threads // 2)


# When the current turn's API time runs out (time.monotonic()); None off a request's thread (the red flag's
# cancellations run in a thread of their own, with no turn to hold up).
_TURN_DEADLINE: ContextVar[float | None] = ContextVar("alexa_api_turn_deadline", default=None)
# The (connect, read) timeout of the call being made on this thread (BoundedApiClient.invoke sets it).
_CALL_TIMEOUT: ContextVar[tuple[float, float]] = ContextVar("alexa_api_call_timeout",
                                                            default=(API_CONNECT_TIMEOUT, API_TIMEOUT))


@contextlib.contextmanager
def api_turn(budget: float = API_TURN_BUDGET):
    """A request's turn: the API time its calls may spend from now (skill.ContextTolerantSkill.invoke). Ended
    with the turn, so nothing else this thread does later counts against it."""
    token = _TURN_DEADLINE.set(time.monotonic() + budget)
    try:
        yield
    finally:
        _TURN_DEADLINE.reset(token)


class ApiSkipped(ApiClientException):
    """A call not made: the turn's budget is spent, the process's API callers are all waiting, or the breaker
    is open. Handled like any failed call."""


class CircuitBreaker:
    """Closed: calls go through. ``failures`` failures in a row open it: calls are refused for ``cooldown``
    seconds, then one call is let through (half open): its success closes the breaker, its failure opens it
    again. Thread-safe; one per API endpoint and process."""

    def __init__(self, name: str, failures: int = BREAKER_FAILURES, cooldown: float = BREAKER_COOLDOWN):
        self.name, self.failures, self.cooldown = name, failures, cooldown
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._open_until: float | None = None
        self._trial = False

    def allow(self) -> bool:
        with self._lock:
            if self._open_until is None:
                return True
            if self._trial or time.monotonic() < self._open_until:
                return False
            self._trial = True  # the one call that tests whether the API is back
            return True

    def record(self, ok: bool) -> None:
        with self._lock:
            self._trial = False
            if ok:
                if self._open_until is not None:
                    log.warning("the Alexa API at %s answers again: calls resume", self.name)
                self._in_a_row, self._open_until = 0, None
                return
            self._in_a_row += 1
            if self._in_a_row >= self.failures:
                if self._open_until is None or time.monotonic() >= self._open_until:
                    log.warning("the Alexa API at %s failed %d times in a row: calls skipped for %.0f s",
                                self.name, self._in_a_row, self.cooldown)
                self._open_until = time.monotonic() + self.cooldown


class BoundedApiClient(DefaultApiClient):
    """ask-sdk's client (requests, HTTPS only), bounded as the module says: its own has no timeout at all."""

    def __init__(self, timeout: float = API_TIMEOUT, callers: int = API_CALLERS):
        super().__init__()
        self.timeout = timeout
        self._callers = threading.BoundedSemaphore(callers)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, url: str) -> CircuitBreaker:
        parts = urlsplit(url)
        endpoint = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            return self._breakers.setdefault(endpoint, CircuitBreaker(endpoint))

    def invoke(self, request):
        deadline = _TURN_DEADLINE.get()
        allowed = self.timeout if deadline is None else min(self.timeout, deadline - time.monotonic())
        if allowed <= 0.05:
            raise ApiSkipped("the turn's Alexa API time is spent")
        breaker = self.breaker(request.url or "")
        on_request_thread = deadline is not None
        if on_request_thread and not self._callers.acquire(blocking=False):
            raise ApiSkipped("every Alexa API caller of this process is waiting")
        try:
            if not breaker.allow():
                raise ApiSkipped("the Alexa API is failing: calls skipped for now")
            connect = min(API_CONNECT_TIMEOUT, allowed / 2)
            try:
                response = self._invoke_with(request, (connect, allowed - connect))
            except ApiClientException:
                breaker.record(ok=False)
                raise
            breaker.record(ok=response.status_code < 500)
            return response
        finally:
            if on_request_thread:
                self._callers.release()

    def _invoke_with(self, request, timeout):
        _CALL_TIMEOUT.set(timeout)
        return super().invoke(request)

    def _resolve_method(self, request):
        method = super()._resolve_method(request)
        timeout = _CALL_TIMEOUT.get()
        return lambda **kw: method(timeout=timeout, **kw)


def start_timer(handler_input, effect: StartTimer, text) -> tuple[str, str]:
    """Start the pack's timer: (an ``effect_done`` outcome, the timer's id). ``text(key)`` words a prompt
    in the request's locale. A timer already running under the same label (Alexa retried the request, or
    "yes" was said twice) is kept rather than made twice."""
    label = text(f"timers.label_{effect.pack}")
    try:
        client = handler_input.service_client_factory.get_timer_management_service()
        for timer in client.get_timers().timers or []:
            if timer.timer_label == label and getattr(timer.status, "value", timer.status) == "ON":
                return "timer_set", timer.id
        locale = handler_input.request_envelope.request.locale or "en-US"
        request = TimerRequest(
            duration=f"PT{effect.minutes}M",
            timer_label=label,
            creation_behavior=CreationBehavior(display_experience=DisplayExperience(visibility=Visibility.VISIBLE)),
            triggering_behavior=TriggeringBehavior(
                operation=AnnounceOperation(text_to_announce=[TextToAnnounce(locale=locale, text=text(effect.announce))]),
                notification_config=NotificationConfig(play_audible=True)))
        created = client.create_timer(request)
    except ServiceException as exc:
        if exc.status_code in (401, 403):
            return "timer_needs_permission", ""
        log.warning("the timer could not be set: HTTP %s", exc.status_code)
        return "timer_failed", ""
    except Exception as exc:  # noqa: BLE001 - no API client, a timeout, a malformed answer: no timer
        log.warning("the timer could not be set: %s", type(exc).__name__)
        return "timer_failed", ""
    return "timer_set", created.id or ""


def cancel_timers(handler_input) -> bool:
    """Delete every timer this skill set for the person (Alexa keeps other skills' timers apart)."""
    try:
        handler_input.service_client_factory.get_timer_management_service().delete_timers()
        return True
    except Exception as exc:  # noqa: BLE001 - the answer that asked for this has been given already
        log.warning("the timers could not be cancelled: %s", type(exc).__name__)
        return False


def permission_directive(effect: AskPermission) -> SendRequestDirective:
    """Alexa asks the person by voice for ``effect.scope`` and answers with a Connections.Response."""
    return SendRequestDirective(
        name="AskFor", token=f"permission:{effect.scope}",
        payload={"@type": "AskForPermissionsConsentRequest", "@version": "2",
                 "permissionScopes": [{"permissionScope": SCOPES[effect.scope], "consentLevel": "ACCOUNT"}]})


def device_zone_name(handler_input) -> str | None:
    """The device's IANA time zone (settings API), kept in the session once known; None when it can't be
    had (the engine then says times as minutes from now and sets no reminders)."""
    manager = handler_input.attributes_manager
    session = handler_input.request_envelope.session
    known = (manager.session_attributes or {}).get(ZONE_KEY) if session is not None else None
    if isinstance(known, str):
        return known
    try:
        device = handler_input.request_envelope.context.system.device.device_id
        name = handler_input.service_client_factory.get_ups_service().get_system_time_zone(device)
        ZoneInfo(name)
    except Exception as exc:  # noqa: BLE001 - no zone: no time of day
        log.info("the device's time zone is unknown: %s", type(exc).__name__)
        return None
    if session is not None:
        manager.session_attributes[ZONE_KEY] = name
    return name


def zone_info(name: str | None):
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def start_reminders(handler_input, effect: CreateReminders, text) -> tuple[str, str]:
    """Create a reminder at each of ``effect.times`` (the device's local time): (outcome, ids joined by
    spaces). All or nothing: a set cut short by a failure is deleted again, so no stray reminder stays."""
    zone = zone_info(effect.zone)
    if zone is None:
        return "reminders_failed", ""
    locale = handler_input.request_envelope.request.locale or "en-US"
    made: list[str] = []
    try:
        client = handler_input.service_client_factory.get_reminder_management_service()
        now = datetime.now(zone).replace(microsecond=0, tzinfo=None).isoformat()
        for moment in effect.times:
            local = moment.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None).isoformat()
            request = ReminderRequest(
                request_time=now,
                trigger=Trigger(object_type=TriggerType.SCHEDULED_ABSOLUTE, scheduled_time=local,
                                time_zone_id=effect.zone),
                alert_info=AlertInfo(spoken_info=SpokenInfo(content=[SpokenText(locale=locale, text=text(effect.text))])),
                push_notification=PushNotification(status=PushNotificationStatus.ENABLED))
            made.append(client.create_reminder(request).alert_token)
    except ServiceException as exc:
        delete_reminders(handler_input, made)
        if exc.status_code in (401, 403):
            return "reminders_need_permission", ""
        log.warning("the reminders could not be set: HTTP %s", exc.status_code)
        return "reminders_failed", ""
    except Exception as exc:  # noqa: BLE001
        delete_reminders(handler_input, made)
        log.warning("the reminders could not be set: %s", type(exc).__name__)
        return "reminders_failed", ""
    return "reminders_set", " ".join(made)


def delete_reminders(handler_input, ids) -> list[str]:
    """Delete the reminders ``ids``; the ids that could not be deleted (a 404 counts as deleted)."""
    left = []
    for alert_token in ids:
        try:
            handler_input.service_client_factory.get_reminder_management_service().delete_reminder(alert_token)
        except ServiceException as exc:
            if exc.status_code != 404:
                left.append(alert_token)
        except Exception as exc:  # noqa: BLE001 - the service is down: kept for another try
            log.info("a reminder could not be deleted: %s", type(exc).__name__)
            left.append(alert_token)
    return left


def needs_outcome(effects):
    """The effect whose outcome changes what is said (a StartTimer or CreateReminders), if any."""
    return next((e for e in effects if isinstance(e, (StartTimer, CreateReminders))), None)


def carry_out(handler_input, effect, text) -> tuple[str, str]:
    """Carry out a StartTimer or CreateReminders: (its effect_done outcome, the ids it made)."""
    if isinstance(effect, StartTimer):
        return start_timer(handler_input, effect, text)
    return start_reminders(handler_input, effect, text)


def player_directives(effects, urls: dict[str, str], title: str) -> list:
    """AudioPlayer.Play for a PlayAudio (``urls``: track -> URL), Stop for a StopAudio. A track with no URL
    is not asked for: the engine only plans tracks the event said the device can play."""
    directives = []
    for effect in effects:
        if isinstance(effect, StopAudio):
            directives.append(StopDirective())
        elif isinstance(effect, PlayAudio) and effect.track in urls:
            stream = Stream(token=effect.token, url=urls[effect.track], offset_in_milliseconds=effect.offset_ms)
            directives.append(PlayDirective(play_behavior=PlayBehavior.REPLACE_ALL,
                                            audio_item=AudioItem(stream=stream,
                                                                 metadata=AudioItemMetadata(title=title))))
    return directives


def carry_out_quiet(handler_input, effects, attempts: int = 1) -> list:
    """Carry out the API calls whose outcome changes nothing said; return the permission requests to send.
    Cancellations are tried ``attempts`` times (a red flag's, off the request's thread, three)."""
    directives = []
    for effect in effects:
        if isinstance(effect, AskPermission):
            directives.append(permission_directive(effect))
            continue
        if isinstance(effect, (PlayAudio, StopAudio)):
            continue  # directives of the response: player_directives
        left = effect.ids if isinstance(effect, CancelReminders) else ()
        for attempt in range(attempts):
            if isinstance(effect, CancelTimers) and cancel_timers(handler_input):
                break
            if isinstance(effect, CancelReminders):
                left = delete_reminders(handler_input, left)
                if not left:
                    break
            if attempt + 1 < attempts:
                time.sleep(0.5 * (attempt + 1))
        if left:
            log.error("%d reminder(s) could not be cancelled", len(left))
    return directives
