"""Carries out what an engine plan asks of the platform besides speech: Alexa timers, the permission
request for them, and the device's time zone for saying a time of day. All through ask-sdk's service
clients (``handler_input.service_client_factory``), so the same code reaches Amazon's API in production
and the simulator's fake of it on loopback.

Nothing here is on the path of a red flag: a triage plan carries no StartTimer, and its time of day is
never looked up (see ``turns.run_turn``). Every call is bounded by ``API_TIMEOUT`` and every failure
becomes an outcome the engine words ("I couldn't set the timer just now"), never an exception.
"""

from __future__ import annotations

import functools
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ask_sdk_core.api_client import DefaultApiClient
from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.services import ServiceException
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

from skill.engine.plan import AskPermission, CancelTimers, StartTimer

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


def cancel_timers(handler_input) -> None:
    """Delete every timer this skill set for the person (Alexa keeps other skills' timers apart)."""
    try:
        handler_input.service_client_factory.get_timer_management_service().delete_timers()
    except Exception as exc:  # noqa: BLE001 - the answer that asked for this has been given already
        log.warning("the timers could not be cancelled: %s", type(exc).__name__)


def permission_directive(effect: AskPermission) -> SendRequestDirective:
    """Alexa asks the person by voice for ``effect.scope`` and answers with a Connections.Response."""
    return SendRequestDirective(
        name="AskFor", token=f"permission:{effect.scope}",
        payload={"@type": "AskForPermissionsConsentRequest", "@version": "2",
                 "permissionScopes": [{"permissionScope": SCOPES[effect.scope], "consentLevel": "ACCOUNT"}]})


def device_zone(handler_input):
    """The device's time zone (settings API), kept in the session once known; None when it can't be had."""
    manager = handler_input.attributes_manager
    session = handler_input.request_envelope.session
    known = (manager.session_attributes or {}).get(ZONE_KEY) if session is not None else None
    name = known
    if name is None:
        try:
            device = handler_input.request_envelope.context.system.device.device_id
            name = handler_input.service_client_factory.get_ups_service().get_system_time_zone(device)
        except Exception as exc:  # noqa: BLE001 - say "in about 15 minutes" instead of a time of day
            log.info("the device's time zone is unknown: %s", type(exc).__name__)
            return None
    try:
        zone = ZoneInfo(name) if isinstance(name, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is not None and known is None and session is not None:
        manager.session_attributes[ZONE_KEY] = name
    return zone


def needs_outcome(effects) -> StartTimer | None:
    """The effect whose outcome changes what is said (a StartTimer), if the plan has one."""
    return next((e for e in effects if isinstance(e, StartTimer)), None)


def carry_out_quiet(handler_input, effects) -> list:
    """Carry out the effects whose outcome changes nothing said; return the directives to send."""
    directives = []
    for effect in effects:
        if isinstance(effect, CancelTimers):
            cancel_timers(handler_input)
        elif isinstance(effect, AskPermission):
            directives.append(permission_directive(effect))
    return directives

