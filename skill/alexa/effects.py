"""Carries out what an engine plan asks of the platform besides speech: Alexa timers, the permission
request for them, the device's time zone for saying a time of day, and the breathing track's player
directives (AudioPlayer.Play and Stop, sent with the response: no API call). All through ask-sdk's service
clients (``handler_input.service_client_factory``), so the same code reaches Amazon's API in production
and the simulator's fake of it on loopback.

Nothing here is on the path of a red flag: a triage plan carries no StartTimer, and its time of day is
never looked up (see ``turns.run_turn``). Every call is bounded by ``API_TIMEOUT`` and every failure
becomes an outcome the engine words ("I couldn't set the timer just now"), never an exception.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ask_sdk_core.api_client import DefaultApiClient
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

# Seconds one call to an Alexa API may take: the whole request has about 8.
API_TIMEOUT = 2.5
# The permission scopes the manifest declares, by the engine's names for them.
SCOPES = {"timers": "alexa::alerts:timers:skill:readwrite",
          "reminders": "alexa::alerts:reminders:skill:readwrite"}
# Session attribute under which the device's time zone is kept for the rest of the session.
ZONE_KEY = "device_zone"


class BoundedApiClient(DefaultApiClient):
    """ask-sdk's client (requests, HTTPS only) with a timeout on every call: its own has none."""

    def __init__(self, timeout: float = API_TIMEOUT):
        super().__init__()
        self.timeout = timeout

    def _resolve_method(self, request):
        return functools.partial(super()._resolve_method(request), timeout=self.timeout)


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
