"""The simulator's fake Alexa API, called for real over loopback HTTPS.

Twice over: with plain urllib (exact status codes and bodies) and through ask-sdk's own
service clients on ``DefaultApiClient`` (what the skill does), so the fake accepts exactly
what those clients send and returns what they deserialise.
"""

import json
import os
import socket
import ssl
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from ask_sdk_core.api_client import DefaultApiClient
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.services import ApiConfiguration, ServiceException
from ask_sdk_model.services.directive import DirectiveServiceClient, Header, SendDirectiveRequest, SpeakDirective
from ask_sdk_model.services.reminder_management import (
    AlertInfo,
    PushNotification,
    PushNotificationStatus,
    ReminderManagementServiceClient,
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
    LaunchTaskOperation,
    NotificationConfig,
    NotifyOnlyOperation,
    Status,
    Task,
    TextToAnnounce,
    TextToConfirm,
    TimerManagementServiceClient,
    TimerRequest,
    TriggeringBehavior,
    Visibility,
)

from simulator.clock import SimClock, format_iso8601_duration, parse_duration, parse_iso8601_duration
from simulator.fake_api import REMINDERS_SCOPE, TIMERS_SCOPE, FakeAlexaApi

START = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)  # a Monday, 09:00 UTC
USER = "amzn1.ask.account.TEST-USER"


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def clock():
    return SimClock(START)


@pytest.fixture
def api(clock, monkeypatch):
    # start() points REQUESTS_CA_BUNDLE at the fake's CA; monkeypatch restores it whatever happens.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    fake = FakeAlexaApi(clock).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def token(api):
    tok = api.register_user(USER)
    api.grant(USER, TIMERS_SCOPE)
    api.grant(USER, REMINDERS_SCOPE)
    return tok


def sdk_config(api, tok):
    return ApiConfiguration(serializer=DefaultSerializer(), api_client=DefaultApiClient(),
                            authorization_value=tok, api_endpoint=api.url)


def call(api, method, path, tok=None, body=None, raw=None):
    """Plain urllib: (status, parsed JSON body or None)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(api.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if tok is not None:
        req.add_header("Authorization", f"Bearer {tok}")
    try:
        with urllib.request.urlopen(req, context=api.ssl_context(), timeout=5) as res:
            status, text = res.status, res.read()
    except urllib.error.HTTPError as err:
        with err:
            status, text = err.code, err.read()
    return status, (json.loads(text) if text else None)


def announce_timer(duration="PT15M", text="Time to stretch.", label="stretch", **extra):
    body = {
        "duration": duration,
        "timerLabel": label,
        "creationBehavior": {"displayExperience": {"visibility": "VISIBLE"}},
        "triggeringBehavior": {
            "operation": {"type": "ANNOUNCE", "textToAnnounce": [{"locale": "en-US", "text": text}]},
            "notificationConfig": {"playAudible": True},
        },
    }
    if label is None:
        del body["timerLabel"]
    body.update(extra)
    return body


def launch_task_timer(duration="PT10M", task=True):
    op = {"type": "LAUNCH_TASK", "textToConfirm": [{"locale": "en-US", "text": "Shall we do the next stretch?"}]}
    if task:
        op["task"] = {"name": "amzn1.ask.skill.test.NextStretch", "version": "1", "input": {"step": "knee"}}
    return {
        "duration": duration,
        "creationBehavior": {"displayExperience": {"visibility": "VISIBLE"}},
        "triggeringBehavior": {"operation": op, "notificationConfig": {"playAudible": True}},
    }


def relative_reminder(offset=600, text="Time to walk for two minutes."):
    return {
        "requestTime": "2025-01-06T09:00:00.000",
        "trigger": {"type": "SCHEDULED_RELATIVE", "offsetInSeconds": offset},
        "alertInfo": {"spokenInfo": {"content": [{"locale": "en-US", "text": text}]}},
        "pushNotification": {"status": "ENABLED"},
    }


def sdk_announce_request(duration="PT15M", label="stretch", text="Time to stretch."):
    return TimerRequest(
        duration=duration,
        timer_label=label,
        creation_behavior=CreationBehavior(display_experience=DisplayExperience(visibility=Visibility.VISIBLE)),
        triggering_behavior=TriggeringBehavior(
            operation=AnnounceOperation(text_to_announce=[TextToAnnounce(locale="en-US", text=text)]),
            notification_config=NotificationConfig(play_audible=True)),
    )


# ----------------------------------------------------------------------------- through the ask-sdk clients
def test_sdk_timer_lifecycle(api, token, clock):
    client = TimerManagementServiceClient(sdk_config(api, token))

    created = client.create_timer(sdk_announce_request())
    assert created.status == Status.ON
    assert created.duration == "PT15M" and created.timer_label == "stretch"
    assert created.trigger_time == START + timedelta(minutes=15)
    assert created.created_time == START

    listed = client.get_timers()
    assert listed.total_count == 1 and [t.id for t in listed.timers] == [created.id]

    clock.advance(timedelta(minutes=5))
    client.pause_timer(created.id)
    paused = client.get_timer(created.id)
    assert paused.status == Status.PAUSED
    assert paused.remaining_time_when_paused == "PT10M"
    assert paused.trigger_time is None

    clock.advance(timedelta(minutes=30))
    client.resume_timer(created.id)
    resumed = client.get_timer(created.id)
    assert resumed.status == Status.ON
    assert resumed.trigger_time == START + timedelta(minutes=45)

    client.delete_timer(created.id)
    with pytest.raises(ServiceException) as exc:
        client.get_timer(created.id)
    assert exc.value.status_code == 404
    assert exc.value.body.code == "TIMER_NOT_FOUND"

    client.create_timer(sdk_announce_request(label="a"))
    client.create_timer(sdk_announce_request(label="b"))
    client.delete_timers()
    assert client.get_timers().total_count == 0
    assert [r.method for r in api.requests_log][:2] == ["POST", "GET"]


def test_sdk_launch_task_and_notify_only_timers(api, token):
    client = TimerManagementServiceClient(sdk_config(api, token))
    launch = TimerRequest(
        duration="PT10M",
        creation_behavior=CreationBehavior(display_experience=DisplayExperience(visibility=Visibility.HIDDEN)),
        triggering_behavior=TriggeringBehavior(
            operation=LaunchTaskOperation(
                text_to_confirm=[TextToConfirm(locale="en-US", text="Continue with the next stretch?")],
                task=Task(name="amzn1.ask.skill.test.NextStretch", version="1", input={"step": "knee"})),
            notification_config=NotificationConfig(play_audible=True)))
    notify = TimerRequest(
        duration="PT30S",
        creation_behavior=CreationBehavior(display_experience=DisplayExperience(visibility=Visibility.VISIBLE)),
        triggering_behavior=TriggeringBehavior(operation=NotifyOnlyOperation(),
                                               notification_config=NotificationConfig(play_audible=False)))
    launch_id = client.create_timer(launch).id
    notify_id = client.create_timer(notify).id
    # "sorted in order from the timer with the shortest duration to the longest"
    assert [t.id for t in client.get_timers().timers] == [notify_id, launch_id]


def test_sdk_reminder_create_and_delete(api, token):
    client = ReminderManagementServiceClient(sdk_config(api, token))
    request = ReminderRequest(
        request_time=datetime(2025, 1, 6, 9, 0),
        trigger=Trigger(object_type=TriggerType.SCHEDULED_RELATIVE, offset_in_seconds=3600),
        alert_info=AlertInfo(spoken_info=SpokenInfo(content=[SpokenText(locale="en-US", text="Time for a walk.")])),
        push_notification=PushNotification(status=PushNotificationStatus.ENABLED))
    created = client.create_reminder(request)
    assert created.alert_token and created.version == "1"
    assert created.status.value == "ON"
    assert created.href == f"/v1/alerts/reminders/{created.alert_token}"
    assert [r["alertToken"] for r in api.reminders(USER)] == [created.alert_token]

    client.delete_reminder(created.alert_token)
    assert api.reminders(USER) == []


def test_sdk_reminder_absolute_time_is_sent_without_offset(api, token, clock):
    client = ReminderManagementServiceClient(sdk_config(api, token))
    request = ReminderRequest(
        request_time=datetime(2025, 1, 6, 9, 0),
        trigger=Trigger(object_type=TriggerType.SCHEDULED_ABSOLUTE, scheduled_time=datetime(2025, 1, 6, 8, 0),
                        time_zone_id="America/New_York"),
        alert_info=AlertInfo(spoken_info=SpokenInfo(content=[SpokenText(locale="en-US", text="Stretch.")])))
    token_ = client.create_reminder(request).alert_token
    clock.set(datetime(2025, 1, 6, 12, 59, 59, tzinfo=timezone.utc))
    assert api.due() == []
    clock.advance(timedelta(seconds=1))  # 08:00 in New York is 13:00 UTC in January
    [alert] = api.due()
    assert (alert.kind, alert.id, alert.text) == ("reminder", token_, "Stretch.")


def test_sdk_cannot_read_reminders_back(api, token):
    """Pins an ask-sdk-model bug: AlertInfo.spoken_info names a module that does not exist
    (alert_info_spoken_info), so get_reminder(s) cannot deserialise Amazon's documented shape.
    The skill must not rely on reading reminders back through the SDK."""
    status, _ = call(api, "POST", "/v1/alerts/reminders", token, relative_reminder())
    assert status == 200
    client = ReminderManagementServiceClient(sdk_config(api, token))
    with pytest.raises(SerializationException, match="alert_info_spoken_info"):
        client.get_reminders()
    status, body = call(api, "GET", "/v1/alerts/reminders", token)
    assert status == 200 and body["totalCount"] == "1"
    assert body["alerts"][0]["alertInfo"]["spokenInfo"]["content"][0]["text"] == "Time to walk for two minutes."


def test_sdk_progressive_response(api, token):
    client = DirectiveServiceClient(sdk_config(api, token))
    request = SendDirectiveRequest(header=Header(request_id="amzn1.echo-api.request.1"),
                                   directive=SpeakDirective(speech="One moment while I find that stretch."))
    assert client.enqueue(request) is None
    assert api.progressive(USER) == [{"requestId": "amzn1.echo-api.request.1",
                                      "speech": "One moment while I find that stretch.",
                                      "time": "2025-01-06T09:00:00Z"}]
    assert api.requests_log[-1].status == 204


def test_sdk_errors_arrive_as_service_exceptions(api, token, clock):
    timers = TimerManagementServiceClient(sdk_config(api, token))
    with pytest.raises(ServiceException) as exc:
        TimerManagementServiceClient(sdk_config(api, "not-a-token")).get_timers()
    assert exc.value.status_code == 401 and exc.value.body.code == "UNAUTHORIZED"

    api.set_in_session(USER, False)
    with pytest.raises(ServiceException) as exc:
        timers.create_timer(sdk_announce_request())
    assert exc.value.status_code == 403 and exc.value.body.code == "FORBIDDEN"

    # pause_timer/resume_timer list no 403, so the SDK cannot type the error body: it stays raw.
    api.set_in_session(USER, True)
    timer_id = timers.create_timer(sdk_announce_request()).id
    api.set_in_session(USER, False)
    with pytest.raises(ServiceException) as exc:
        timers.pause_timer(timer_id)
    assert exc.value.status_code == 403 and json.loads(exc.value.body)["code"] == "FORBIDDEN"

    # create_reminder lists 403 but not 401: a missing permission also arrives untyped.
    api.set_in_session(USER, True)
    api.revoke(USER, REMINDERS_SCOPE)
    reminders = ReminderManagementServiceClient(sdk_config(api, token))
    request = ReminderRequest(
        request_time=datetime(2025, 1, 6, 9, 0),
        trigger=Trigger(object_type=TriggerType.SCHEDULED_RELATIVE, offset_in_seconds=60),
        alert_info=AlertInfo(spoken_info=SpokenInfo(content=[SpokenText(locale="en-US", text="Walk.")])))
    with pytest.raises(ServiceException) as exc:
        reminders.create_reminder(request)
    assert exc.value.status_code == 401 and json.loads(exc.value.body)["code"] == "UNAUTHORIZED"

    with pytest.raises(ServiceException) as exc:
        timers.create_timer(sdk_announce_request(duration="PT25H"))
    assert exc.value.status_code == 400 and exc.value.body.code == "INVALID_REQUEST"

    directive = DirectiveServiceClient(sdk_config(api, token))
    api.set_current_request(USER, "amzn1.echo-api.request.2")
    with pytest.raises(ServiceException) as exc:
        directive.enqueue(SendDirectiveRequest(header=Header(request_id="amzn1.echo-api.request.old"),
                                               directive=SpeakDirective(speech="Too late.")))
    assert exc.value.status_code == 403 and exc.value.body.code == 403  # the SDK types this code as int


# ----------------------------------------------------------------------------- plain HTTP: shapes
def test_timer_shapes_over_urllib(api, token, clock):
    status, timer = call(api, "POST", "/v1/alerts/timers", token, announce_timer())
    assert status == 200
    assert timer == {"id": timer["id"], "status": "ON", "duration": "PT15M", "timerLabel": "stretch",
                     "triggerTime": "2025-01-06T09:15:00Z", "createdTime": "2025-01-06T09:00:00Z",
                     "updatedTime": "2025-01-06T09:00:00Z"}
    status, listed = call(api, "GET", "/v1/alerts/timers", token)
    assert status == 200 and listed == {"timers": [timer], "totalCount": 1, "nextToken": None}
    clock.advance(timedelta(minutes=11, seconds=57))
    assert call(api, "POST", f"/v1/alerts/timers/{timer['id']}/pause", token) == (200, None)
    assert call(api, "POST", f"/v1/alerts/timers/{timer['id']}/pause", token) == (200, None)  # no-op
    _, paused = call(api, "GET", f"/v1/alerts/timers/{timer['id']}", token)
    assert paused["status"] == "PAUSED" and paused["remainingTimeWhenPaused"] == "PT3M3S"
    assert "triggerTime" not in paused
    assert api.timers(USER) == [paused]
    assert call(api, "DELETE", f"/v1/alerts/timers/{timer['id']}", token) == (200, None)
    assert api.timers(USER) == []


def test_reminder_update_bumps_version(api, token, clock):
    _, created = call(api, "POST", "/v1/alerts/reminders", token, relative_reminder(offset=60))
    clock.advance(timedelta(seconds=30))
    status, updated = call(api, "PUT", f"/v1/alerts/reminders/{created['alertToken']}", token,
                           relative_reminder(offset=120, text="Changed."))
    assert status == 200 and updated["version"] == "2" and updated["alertToken"] == created["alertToken"]
    _, got = call(api, "GET", f"/v1/alerts/reminders/{created['alertToken']}", token)
    assert got["alertInfo"]["spokenInfo"]["content"][0]["text"] == "Changed."
    assert got["trigger"] == {"type": "SCHEDULED_RELATIVE", "offsetInSeconds": 120}
    clock.advance(timedelta(seconds=119))
    assert api.due() == []
    clock.advance(timedelta(seconds=1))  # counted from the update
    assert [a.text for a in api.due()] == ["Changed."]
    assert api.reminders(USER)[0]["status"] == "COMPLETED"


# ----------------------------------------------------------------------------- rejections
def _without(body, *path):
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


@pytest.mark.parametrize("body, words", [
    ({**{k: v for k, v in announce_timer().items() if k != "timerLabel"}, "label": "stretch"}, "timerLabel"),
    (_without(announce_timer(), "duration"), "duration"),
    (announce_timer(duration="15 minutes"), "ISO-8601"),
    (announce_timer(duration=900), "ISO-8601"),
    (announce_timer(duration="PT0S"), "PT1S and PT24H"),
    (announce_timer(duration="PT24H1S"), "PT1S and PT24H"),
    (launch_task_timer(task=False), "task"),
    (_without(announce_timer(), "triggeringBehavior", "operation", "textToAnnounce"), "textToAnnounce"),
    (announce_timer(text=""), "text"),
    (_without(announce_timer(), "creationBehavior"), "creationBehavior"),
    ({**announce_timer(), "creationBehavior": {"displayExperience": {"visibility": "SHOWN"}}}, "VISIBLE"),
    ({**announce_timer(), "triggeringBehavior": {"operation": {"type": "BEEP"},
                                                 "notificationConfig": {"playAudible": True}}}, "ANNOUNCE"),
    ({**announce_timer(), "triggeringBehavior": {"operation": {"type": "NOTIFY_ONLY"},
                                                 "notificationConfig": {"playAudible": "yes"}}}, "playAudible"),
    ({**announce_timer(), "colour": "red"}, "unknown field"),
], ids=["label-not-timerLabel", "no-duration", "duration-in-words", "duration-number", "zero", "over-24h",
        "launch-task-without-task", "announce-without-text", "empty-text", "no-creationBehavior",
        "bad-visibility", "bad-operation", "playAudible-not-bool", "unknown-field"])
def test_bad_timer_payloads_are_400(api, token, body, words):
    status, err = call(api, "POST", "/v1/alerts/timers", token, body)
    assert status == 400
    assert err["code"] == "INVALID_REQUEST" and words.lower() in err["message"].lower()
    assert api.timers(USER) == []


def test_body_that_is_not_json_is_400(api, token):
    status, err = call(api, "POST", "/v1/alerts/timers", token, raw=b"{duration: PT15M")
    assert (status, err["code"]) == (400, "INVALID_REQUEST")


def test_duplicate_timer_label_is_400(api, token):
    assert call(api, "POST", "/v1/alerts/timers", token, announce_timer())[0] == 200
    status, err = call(api, "POST", "/v1/alerts/timers", token, announce_timer(label="Stretch"))
    assert status == 400 and "already exists" in err["message"]


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not-a-token"])
def test_missing_or_bad_token_is_401(api, token, header):
    req = urllib.request.Request(api.url + "/v1/alerts/timers", method="GET")
    if header is not None:
        req.add_header("Authorization", header)
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, context=api.ssl_context(), timeout=5)
    with exc.value as err:
        assert err.code == 401 and json.loads(err.read())["code"] == "UNAUTHORIZED"


def test_permission_not_granted_is_401(api):
    tok = api.register_user("amzn1.ask.account.NO-CONSENT")
    for method, path, body in [("POST", "/v1/alerts/timers", announce_timer()),
                               ("GET", "/v1/alerts/timers", None),
                               ("POST", "/v1/alerts/reminders", relative_reminder()),
                               ("GET", "/v1/alerts/reminders", None)]:
        status, err = call(api, method, path, tok, body)
        assert (status, err["code"]) == (401, "UNAUTHORIZED"), path
        assert "has not granted" in err["message"]
    api.grant("amzn1.ask.account.NO-CONSENT", TIMERS_SCOPE)
    assert api.has_permission("amzn1.ask.account.NO-CONSENT", TIMERS_SCOPE)
    assert call(api, "POST", "/v1/alerts/timers", tok, announce_timer())[0] == 200
    assert call(api, "GET", "/v1/alerts/reminders", tok)[0] == 401  # scopes are separate
    api.revoke("amzn1.ask.account.NO-CONSENT", TIMERS_SCOPE)
    assert call(api, "GET", "/v1/alerts/timers", tok)[0] == 401


def test_out_of_session_create_pause_resume_are_403(api, token):
    _, timer = call(api, "POST", "/v1/alerts/timers", token, announce_timer())
    api.set_in_session(USER, False)
    for path, body in [("/v1/alerts/timers", announce_timer(label="other")),
                       (f"/v1/alerts/timers/{timer['id']}/pause", None),
                       (f"/v1/alerts/timers/{timer['id']}/resume", None),
                       ("/v1/alerts/reminders", relative_reminder())]:
        status, err = call(api, "POST", path, token, body)
        assert (status, err["code"]) == (403, "FORBIDDEN"), path
    # Reading and cancelling work out of session.
    assert call(api, "GET", "/v1/alerts/timers", token)[0] == 200
    assert call(api, "DELETE", f"/v1/alerts/timers/{timer['id']}", token)[0] == 200


def test_unknown_ids_are_404(api, token):
    for method in ("GET", "DELETE"):
        status, err = call(api, method, "/v1/alerts/timers/no-such-timer", token)
        assert (status, err["code"]) == (404, "TIMER_NOT_FOUND")
    for action in ("pause", "resume"):
        assert call(api, "POST", f"/v1/alerts/timers/no-such-timer/{action}", token)[0] == 404
    assert call(api, "GET", "/v1/alerts/reminders/no-such-reminder", token)[0] == 404
    assert call(api, "GET", "/v1/alerts/alarms", token)[0] == 404
    assert call(api, "PUT", "/v1/alerts/timers", token, announce_timer())[0] == 405


def _reminder(**trigger):
    body = relative_reminder()
    body["trigger"] = trigger
    return body


@pytest.mark.parametrize("body, words", [
    (_without(relative_reminder(), "alertInfo"), "alertInfo"),
    ({**relative_reminder(), "alertInfo": {"spokenInfo": {"content": []}}}, "content"),
    (relative_reminder(offset=-60), "positive"),
    (relative_reminder(offset=0), "positive"),
    (_reminder(type="SCHEDULED_RELATIVE"), "offsetInSeconds"),
    (_reminder(type="SOMETIME"), "SCHEDULED_ABSOLUTE"),
    (_without(relative_reminder(), "requestTime"), "requestTime"),
    ({**relative_reminder(), "requestTime": "yesterday"}, "requestTime"),
    (_reminder(type="SCHEDULED_ABSOLUTE", scheduledTime="2025-01-06T10:00:00+00:00", timeZoneId="UTC"), "offset"),
    (_reminder(type="SCHEDULED_ABSOLUTE", scheduledTime="2025-01-06T10:00:00", timeZoneId="Mars/Olympus"), "zone"),
    (_reminder(type="SCHEDULED_ABSOLUTE", scheduledTime="2025-01-05T10:00:00", timeZoneId="UTC"), "passed"),
    (_reminder(type="SCHEDULED_ABSOLUTE", timeZoneId="UTC"), "scheduledTime"),
    (_reminder(type="SCHEDULED_ABSOLUTE", scheduledTime="2025-01-07T08:00:00",
               recurrence={"freq": "HOURLY"}), "DAILY or WEEKLY"),
    ({**relative_reminder(), "pushNotification": {"status": "LOUD"}}, "ENABLED or DISABLED"),
], ids=["no-alertInfo", "empty-spoken-content", "negative-offset", "zero-offset", "relative-without-offset",
        "bad-trigger-type", "no-requestTime", "bad-requestTime", "scheduled-with-offset", "bad-zone",
        "in-the-past", "absolute-without-time", "bad-freq", "bad-push"])
def test_bad_reminder_payloads_are_400(api, token, body, words):
    status, err = call(api, "POST", "/v1/alerts/reminders", token, body)
    assert status == 400
    assert err["code"] == "INVALID_REQUEST" and words.lower() in err["message"].lower()
    assert api.reminders(USER) == []


@pytest.mark.parametrize("body", [
    {"header": {}, "directive": {"type": "VoicePlayer.Speak", "speech": "Hello"}},
    {"header": {"requestId": "r1"}, "directive": {"type": "Dialog.Delegate", "speech": "Hello"}},
    {"header": {"requestId": "r1"}, "directive": {"type": "VoicePlayer.Speak", "speech": ""}},
    {"header": {"requestId": "r1"}, "directive": {"type": "VoicePlayer.Speak", "speech": "<speak>Hello"}},
], ids=["no-requestId", "wrong-type", "empty-speech", "broken-ssml"])
def test_bad_progressive_responses_are_400(api, token, body):
    status, err = call(api, "POST", "/v1/directives", token, body)
    assert status == 400 and err["code"] == 400
    assert api.progressive(USER) == []


def test_progressive_response_needs_a_token(api):
    body = {"header": {"requestId": "r1"}, "directive": {"type": "VoicePlayer.Speak", "speech": "Hi"}}
    assert call(api, "POST", "/v1/directives", None, body)[0] == 401


# ----------------------------------------------------------------------------- firing
def test_announce_timer_fires_after_its_duration(api, token, clock):
    _, timer = call(api, "POST", "/v1/alerts/timers", token, announce_timer(duration="PT15M", text="Stretch now."))
    clock.advance(timedelta(minutes=14))
    assert api.due() == []
    clock.advance(timedelta(minutes=1))
    [alert] = api.due()
    assert (alert.kind, alert.user_id, alert.id, alert.operation) == ("timer", USER, timer["id"], "ANNOUNCE")
    assert (alert.text, alert.label, alert.task, alert.at) == ("Stretch now.", "stretch", None,
                                                               START + timedelta(minutes=15))
    assert api.due() == []  # fired once
    assert api.timers(USER)[0]["status"] == "OFF"
    assert api.timers(USER, active_only=True) == []


def test_paused_timer_does_not_fire_and_resumes_with_what_was_left(api, token, clock):
    _, timer = call(api, "POST", "/v1/alerts/timers", token, announce_timer(duration="PT10M"))
    clock.advance(timedelta(minutes=4))
    call(api, "POST", f"/v1/alerts/timers/{timer['id']}/pause", token)
    clock.advance(timedelta(hours=1))
    assert api.due() == []
    call(api, "POST", f"/v1/alerts/timers/{timer['id']}/resume", token)
    clock.advance(timedelta(minutes=5, seconds=59))
    assert api.due() == []
    clock.advance(timedelta(seconds=1))
    assert [a.id for a in api.due()] == [timer["id"]]


def test_launch_task_timer_fires_with_its_task(api, token, clock):
    call(api, "POST", "/v1/alerts/timers", token, launch_task_timer(duration="PT10M"))
    clock.advance(timedelta(minutes=10))
    [alert] = api.due(clock.now())
    assert alert.operation == "LAUNCH_TASK"
    assert alert.text == "Shall we do the next stretch?"
    assert alert.task == {"name": "amzn1.ask.skill.test.NextStretch", "version": "1", "input": {"step": "knee"}}


def test_relative_reminder_fires(api, token, clock):
    _, created = call(api, "POST", "/v1/alerts/reminders", token, relative_reminder(offset=600))
    clock.advance(timedelta(seconds=599))
    assert api.due() == []
    clock.advance(timedelta(seconds=1))
    [alert] = api.due()
    assert (alert.kind, alert.id, alert.operation) == ("reminder", created["alertToken"], None)
    assert (alert.text, alert.locale) == ("Time to walk for two minutes.", "en-US")
    assert api.due() == []


def test_daily_reminder_fires_every_day(api, token, clock):
    body = _reminder(type="SCHEDULED_ABSOLUTE", scheduledTime="2025-01-06T18:00:00", timeZoneId="Europe/Berlin",
                     recurrence={"freq": "DAILY"})
    assert call(api, "POST", "/v1/alerts/reminders", token, body)[0] == 200
    clock.advance(timedelta(days=3))  # 17:00 UTC on the 6th, 7th and 8th
    assert [a.at.isoformat() for a in api.due()] == ["2025-01-06T17:00:00+00:00", "2025-01-07T17:00:00+00:00",
                                                     "2025-01-08T17:00:00+00:00"]
    assert api.reminders(USER)[0]["status"] == "ON"


def test_alerts_fire_only_for_their_user_in_time_order(api, token, clock):
    other = "amzn1.ask.account.OTHER"
    other_token = api.register_user(other)
    api.grant(other, TIMERS_SCOPE)
    call(api, "POST", "/v1/alerts/timers", token, announce_timer(duration="PT2M", label="mine"))
    call(api, "POST", "/v1/alerts/timers", other_token, announce_timer(duration="PT1M", label="theirs"))
    assert len(api.timers(USER)) == 1 and len(api.timers(other)) == 1
    clock.advance(timedelta(minutes=5))
    assert [(a.user_id, a.label) for a in api.due()] == [(other, "theirs"), (USER, "mine")]


def test_concurrent_requests(api, token):
    results = []

    def create(i):
        results.append(call(api, "POST", "/v1/alerts/timers", token, announce_timer(label=f"t{i}"))[0])

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 12
    assert len({t["id"] for t in api.timers(USER)}) == 12


# ----------------------------------------------------------------------------- clock
@pytest.mark.parametrize("text, expected", [
    ("15m", timedelta(minutes=15)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("1h 30m", timedelta(hours=1, minutes=30)),
    ("90s", timedelta(seconds=90)),
    ("2d", timedelta(days=2)),
    ("PT15M", timedelta(minutes=15)),
    ("PT1H30M", timedelta(hours=1, minutes=30)),
    ("P1DT2H", timedelta(days=1, hours=2)),
    ("PT1.5S", timedelta(seconds=1.5)),
    ("pt90s", timedelta(seconds=90)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "15 minutes", "m15", "PT", "P", "PT15X", "1y", "-5m"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_iso_durations_round_trip():
    for text in ("PT15M", "PT3M3S", "PT24H", "PT1S", "PT1H0M1S"):
        assert parse_iso8601_duration(format_iso8601_duration(parse_iso8601_duration(text))) == \
            parse_iso8601_duration(text)
    assert format_iso8601_duration(timedelta(minutes=3, seconds=3)) == "PT3M3S"
    assert format_iso8601_duration(timedelta(0)) == "PT0S"
    with pytest.raises(ValueError):
        parse_iso8601_duration("15m")  # the API takes ISO only


def test_sim_clock():
    clock = SimClock(datetime(2025, 1, 1, 12, 0))  # naive is taken as UTC
    assert clock.now() == datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert clock.now().tzinfo is not None
    clock.advance(parse_duration("1h30m"))
    assert clock.now() == datetime(2025, 1, 1, 13, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    berlin = datetime.fromisoformat("2025-06-01T10:00:00+02:00")
    assert clock.set(berlin) == datetime(2025, 6, 1, 8, 0, tzinfo=timezone.utc)
    assert SimClock().now().tzinfo is not None


# ----------------------------------------------------------------------------- lifecycle
def test_stops_cleanly(clock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/original/bundle.pem")
    before = set(threading.enumerate())
    fake = FakeAlexaApi(clock)
    with pytest.raises(RuntimeError):
        fake.url
    with fake:
        assert fake.url.startswith("https://127.0.0.1:")
        assert os.environ["REQUESTS_CA_BUNDLE"] == fake.ca_file
        tok = fake.register_user(USER)
        assert call(fake, "GET", "/v1/alerts/timers", tok)[0] == 401
        port = fake.port
        thread = fake.thread
        assert thread.is_alive()
    assert not thread.is_alive()
    assert set(threading.enumerate()) <= before
    assert os.environ["REQUESTS_CA_BUNDLE"] == "/original/bundle.pem"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    fake.stop()  # twice is harmless


def test_plain_http_mode_and_why_https_is_the_default(clock, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with FakeAlexaApi(clock, tls=False) as fake:
        assert fake.url.startswith("http://127.0.0.1:") and fake.ca_file is None
        assert "REQUESTS_CA_BUNDLE" not in os.environ
        tok = fake.register_user(USER)
        fake.grant(USER, TIMERS_SCOPE)
        assert call(fake, "POST", "/v1/alerts/timers", tok, announce_timer())[0] == 200
        # ask-sdk-core's DefaultApiClient will not talk to an http:// endpoint at all.
        with pytest.raises(ServiceException, match="non-HTTPS"):
            TimerManagementServiceClient(sdk_config(fake, tok)).get_timers()
    assert [r.status for r in fake.requests_log] == [200]
    method, path, status = fake.requests_log[0]
    assert (method, path, status) == ("POST", "/v1/alerts/timers", 200)


def test_tls_is_real_and_loopback_only(api, clock):
    # An unverified client is refused: the certificate is checked, not waved through.
    req = urllib.request.Request(api.url + "/v1/alerts/timers")
    with pytest.raises(urllib.error.URLError) as exc:
        urllib.request.urlopen(req, context=ssl.create_default_context(cafile=None, cadata=None), timeout=5)
    assert isinstance(exc.value.reason, ssl.SSLCertVerificationError)
    with pytest.raises(ValueError):
        FakeAlexaApi(clock, host="0.0.0.0")
