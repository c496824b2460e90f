"""The simulated device: envelopes, sessions, silence, consent, timers, audio, transports, scripts, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from ask_sdk_core.api_client import DefaultApiClient
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_core.utils import is_intent_name, is_request_type
from ask_sdk_model import RequestEnvelope
from ask_sdk_model.interfaces.audioplayer import AudioItem, PlayBehavior, PlayDirective, Stream
from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.services.timer_management import (AnnounceOperation, CreationBehavior, DisplayExperience,
                                                     LaunchTaskOperation, NotificationConfig, Task, TextToAnnounce,
                                                     TextToConfirm, TimerRequest, TriggeringBehavior, Visibility)
from flask import Flask, request
from werkzeug.serving import make_server

import skill.web.verification  # noqa: F401  - applies the oscrypto fix before ask_sdk_webservice_support loads
from said import words
from simulator.cli import build_device, main as cli_main
from simulator.clock import SimClock
from simulator.device import Device
from simulator.envelopes import DEVICE_PROFILES, EnvelopeFactory, Identity, Player, Session, new_id
from simulator.fake_api import TIMERS_SCOPE, FakeAlexaApi
from simulator.resolver import Resolver
from simulator.script import audio_dir, check, load_dialogue, replay
from simulator.speech import output_text
from simulator.transport import HttpTransport, InProcessTransport

ROOT = Path(__file__).resolve().parent.parent
DIALOGUES = sorted((ROOT / "tests" / "dialogues").glob("*.yaml"))


def deserialise(env: dict) -> RequestEnvelope:
    return DefaultSerializer().deserialize(json.dumps(env), RequestEnvelope)


@pytest.fixture
def device(tmp_path):
    dev = build_device(db_path=str(tmp_path / "sim.sqlite3"))
    yield dev
    dev.api.stop()


# ------------------------------------------------------------------ envelopes

@pytest.mark.parametrize("profile", sorted(DEVICE_PROFILES))
def test_every_request_kind_deserialises_with_ask_sdk_model(profile):
    clock = SimClock()
    factory = EnvelopeFactory(Identity(device=profile), clock.now)
    session = Session()
    slots = Resolver().resolve("go to the breathing").slots
    player = Player(token="breathing-1", offset_ms=1200, activity="PLAYING")
    envelopes = [
        factory.launch(session), factory.launch(session, task={"name": "AMAZON.PlayAudio", "version": "1", "input": {}}),
        factory.intent("GoToStepIntent", slots, session), factory.session_ended("EXCEEDED_MAX_REPROMPTS", session),
        factory.connections_response("AskFor", {"permissionScope": TIMERS_SCOPE, "status": "ACCEPTED"}, "t", session),
        factory.skill_event("SkillDisabled"),
        factory.exception_encountered({"type": "INVALID_RESPONSE", "message": "test"}, new_id("request")),
        *(factory.audio_player(e, player) for e in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished")),
        *(factory.playback_controller(c, player) for c in ("Play", "Pause", "Next", "Previous")),
    ]
    for env in envelopes:
        model = deserialise(env)
        assert model.request.request_id and model.request.timestamp and model.request.locale == "en-US"
        system = model.context.system
        assert system.api_endpoint and system.api_access_token and system.user.user_id
        has_player = "AudioPlayer" in DEVICE_PROFILES[profile]
        assert (system.device.supported_interfaces.audio_player is not None) == has_player
    intent = deserialise(envelopes[2]).request.intent
    assert intent.slots["step"].resolutions.resolutions_per_authority[0].values[0].value.id == "breathing"
    assert deserialise(envelopes[0]).session.new is True
    assert "session" not in envelopes[7]  # AudioPlayer requests come outside any session
    assert "session" not in envelopes[5]  # and so do skill events


def test_timestamps_follow_the_simulated_clock():
    clock = SimClock()
    factory = EnvelopeFactory(Identity(), clock.now)
    first = deserialise(factory.launch(Session())).request.timestamp
    clock.advance(timedelta(hours=3))
    assert deserialise(factory.launch(Session())).request.timestamp - first == timedelta(hours=3)


@pytest.mark.parametrize("speech, text", [
    ({"type": "SSML", "ssml": '<speak>In.<break time="4s"/>Out &amp; on.</speak>'}, "In. [pause 4s] Out & on."),
    ({"type": "SSML", "ssml": '<speak>Hi <break time="500ms"/><audio src="https://a/b.mp3"/></speak>'},
     "Hi [pause 500ms] [audio https://a/b.mp3]"),
    ({"type": "SSML", "ssml": "<speak>unclosed"}, "[invalid SSML] <speak>unclosed"),
    ({"type": "SSML", "ssml": 'A fragment, <break time="1s"/> unwrapped.'}, "A fragment, [pause 1s] unwrapped."),
    ({"type": "PlainText", "text": "Just words."}, "Just words."),
    (None, ""),
])
def test_speech_is_written_down_with_pauses_and_clips_in_brackets(speech, text):
    assert output_text(speech) == text


# ------------------------------------------------------------------ sessions like Alexa

def test_session_attributes_are_carried_and_a_new_session_gets_a_new_id(device):
    first = device.say("open back spasm coach")[0]
    session_id = first.request["session"]["sessionId"]
    second = device.say("no")[0]
    assert second.request["session"]["sessionId"] == session_id and second.request["session"]["new"] is False
    assert second.request["session"]["attributes"] == first.response["sessionAttributes"]
    device.say("stop")
    again = device.say("open back spasm coach")[0]
    assert again.request["session"]["sessionId"] != session_id and again.request["session"]["new"] is True


def test_silence_speaks_the_reprompt_then_ends_with_exceeded_max_reprompts(device):
    device.say("open back spasm coach")
    reprompt = device.silence()[0]
    assert reprompt.note == "(reprompt)" and reprompt.keys.say == ("steps.screen_saddle.reprompt",)
    ended = device.silence()[0]
    assert ended.request_type == "SessionEndedRequest"
    assert ended.request["request"]["reason"] == "EXCEEDED_MAX_REPROMPTS"
    assert device.session is None


def test_exit_ends_the_session_as_user_initiated_and_stop_is_an_intent(device):
    device.say("open back spasm coach")
    assert device.say("stop")[0].intent == "AMAZON.StopIntent"
    device.say("open back spasm coach")
    ended = device.say("exit")[0]
    assert ended.request["request"]["reason"] == "USER_INITIATED"


def test_utterances_out_of_session_that_do_not_address_the_skill_are_not_sent(device):
    result = device.say("what's the weather")[0]
    assert result.request is None and "would not send" in result.note


def test_one_shot_red_flag_through_the_simulator(device):
    exchange = device.say("alexa, tell back spasm coach i can't feel my legs")[0]
    assert exchange.intent == "CannotDoIntent"
    assert exchange.keys.say[0] == "emergency.say" and exchange.ends_session is True


def test_http_transport_against_a_running_server(tmp_path):
    from skill.app import create_app

    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "http.sqlite3"), "EXPOSE_PROMPT_KEYS": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dev = build_device(url=f"http://127.0.0.1:{server.server_port}/alexa")
        try:
            first = dev.say("open back spasm coach")[0]  # the keys come over HTTP too (X-Prompt-Keys)
            assert first.speech and first.keys.say[0] == "steps.stop_activity.say"
            assert dev.say("no")[0].keys.say == ("steps.screen_bladder.ask",)
        finally:
            dev.api.stop()
    finally:
        server.shutdown()
        thread.join(5)


# ------------------------------------------------------------------ consent, timers, audio with a probe skill

class ProbeSkill:
    """A minimal skill at the edge of these tests: it asks for timer permission, sets timers with
    ask-sdk's own Timers client, and plays audio — what later issues will make the real skill do."""

    def __init__(self):
        self.requests: list[dict] = []
        sb = CustomSkillBuilder(api_client=DefaultApiClient())

        @sb.request_handler(can_handle_func=is_request_type("LaunchRequest"))
        def launch(hi):
            task = getattr(hi.request_envelope.request, "task", None)
            if task is not None:
                return hi.response_builder.speak(f"Task {task.name} started.").response
            return hi.response_builder.speak("Shall I set a timer?").ask("Timer?").response

        @sb.request_handler(can_handle_func=is_intent_name("AMAZON.YesIntent"))
        def yes(hi):
            directive = SendRequestDirective(name="AskFor", token="timer-consent", payload={
                "@type": "AskForPermissionsConsentRequest", "@version": "2",
                "permissionScopes": [{"permissionScope": TIMERS_SCOPE, "consentLevel": "ACCOUNT"}]})
            return hi.response_builder.add_directive(directive).response

        @sb.request_handler(can_handle_func=is_request_type("Connections.Response"))
        def consent(hi):
            status = hi.request_envelope.request.payload.get("status")
            if status != "ACCEPTED":
                return hi.response_builder.speak("No timer then.").response
            timers = hi.service_client_factory.get_timer_management_service()
            timers.create_timer(TimerRequest(
                duration="PT15M", timer_label="cold pack",
                creation_behavior=CreationBehavior(display_experience=DisplayExperience(visibility=Visibility.VISIBLE)),
                triggering_behavior=TriggeringBehavior(
                    operation=AnnounceOperation(text_to_announce=[TextToAnnounce(locale="en-US",
                                                                                 text="Take the cold pack off.")]),
                    notification_config=NotificationConfig(play_audible=True))))
            timers.create_timer(TimerRequest(
                duration="PT30M", timer_label="breathing",
                creation_behavior=CreationBehavior(display_experience=DisplayExperience(visibility=Visibility.HIDDEN)),
                triggering_behavior=TriggeringBehavior(
                    operation=LaunchTaskOperation(text_to_confirm=[TextToConfirm(locale="en-US", text="Breathe?")],
                                                  task=Task(name="BreathingTask", version="1", input={})),
                    notification_config=NotificationConfig(play_audible=True))))
            return hi.response_builder.speak("Timers set.").response

        @sb.request_handler(can_handle_func=is_intent_name("AMAZON.NoIntent"))
        def play(hi):
            stream = Stream(token="breathing-1", url="https://audio.example/breathing.mp3", offset_in_milliseconds=0)
            return hi.response_builder.add_directive(
                PlayDirective(play_behavior=PlayBehavior.REPLACE_ALL, audio_item=AudioItem(stream=stream))
            ).set_should_end_session(True).response

        @sb.request_handler(can_handle_func=lambda hi: hi.request_envelope.request.object_type.startswith(
            ("AudioPlayer.", "PlaybackController.", "SessionEndedRequest")))
        def quiet(hi):
            return hi.response_builder.response

        self.skill = sb.create()
        self.app = Flask("probe")

        @self.app.post("/alexa")
        def alexa():
            self.requests.append(request.get_json())
            env = self.skill.serializer.deserialize(request.get_data(as_text=True), RequestEnvelope)
            return self.skill.serializer.serialize(self.skill.invoke(request_envelope=env, context=None))


@pytest.fixture
def probe():
    skill = ProbeSkill()
    clock = SimClock()
    api = FakeAlexaApi(clock).start()
    dev = Device(InProcessTransport(app=skill.app), Resolver(), clock, Identity(), api, audio_length=lambda url: 120)
    yield skill, dev
    api.stop()


def test_voice_consent_then_timers_fire_with_the_clock(probe):
    skill, dev = probe
    dev.say("open back spasm coach")
    asked = dev.say("yes")[0]
    assert "Connections.SendRequest AskFor" in asked.directives and dev.pending_consent is not None
    assert not dev.api.has_permission(dev.identity.user_id, TIMERS_SCOPE)
    set_ = dev.consent(True)[0]
    assert set_.request_type == "Connections.Response" and set_.speech == "Timers set."
    assert skill.requests[-1]["request"]["payload"]["status"] == "ACCEPTED"
    assert len(dev.api.timers(dev.identity.user_id, active_only=True)) == 2
    assert dev.wait(timedelta(minutes=14)) == []
    fired = dev.wait(timedelta(minutes=1))
    assert [e.speech for e in fired] == ["Take the cold pack off."]
    relaunched = dev.wait(timedelta(minutes=15))
    assert relaunched[0].request_type == "LaunchRequest"
    assert relaunched[0].request["request"]["task"]["name"] == "BreathingTask"
    assert relaunched[0].speech == "Task BreathingTask started."


def test_denied_consent_sends_denied_and_grants_nothing(probe):
    skill, dev = probe
    dev.say("open back spasm coach")
    dev.say("yes")
    assert dev.consent(False)[0].speech == "No timer then."
    assert not dev.api.has_permission(dev.identity.user_id, TIMERS_SCOPE)


@pytest.mark.parametrize("accept, answer", [(True, "ACCEPTED"), (False, "DENIED")])
def test_consent_answer_is_a_200_connections_response_carrying_the_answer_in_its_payload(probe, accept, answer):
    """As Alexa documents the AskFor answer: request.status.code "200" whatever the person said,
    the answer in payload.status, the scope in payload.permissionScope, the directive's token echoed."""
    skill, dev = probe
    dev.say("open back spasm coach")
    dev.say("yes")
    dev.consent(accept)
    request = deserialise(skill.requests[-1]).request
    assert request.object_type == "Connections.Response" and request.name == "AskFor"
    assert request.status.code == "200"
    assert request.payload["status"] == answer and request.payload["permissionScope"] == TIMERS_SCOPE
    assert request.token == "timer-consent"


def test_audio_playback_sends_started_nearly_finished_and_finished(probe):
    skill, dev = probe
    dev.say("open back spasm coach")
    started = dev.say("no")
    assert [e.request_type for e in started] == ["IntentRequest", "AudioPlayer.PlaybackStarted"]
    assert dev.session is None  # a Play response ends the session
    events = [e.request_type for e in dev.wait(timedelta(minutes=3))]
    assert events == ["AudioPlayer.PlaybackNearlyFinished", "AudioPlayer.PlaybackFinished"]
    finished = skill.requests[-1]
    assert finished["request"]["offsetInMilliseconds"] == 120_000 and "session" not in finished


def test_playback_buttons_send_playback_controller_requests(probe):
    skill, dev = probe
    dev.say("open back spasm coach")
    dev.say("no")
    assert dev.button("pause")[0].request_type == "PlaybackController.PauseCommandIssued"
    assert skill.requests[-1]["context"]["AudioPlayer"]["playerActivity"] == "PAUSED"


# ------------------------------------------------------------------ scripted dialogues and the command

@pytest.mark.parametrize("path", DIALOGUES, ids=[p.stem for p in DIALOGUES])
def test_project_dialogues_replay_cleanly(path, tmp_path):
    dialogue = load_dialogue(path)
    dev = build_device(db_path=str(tmp_path / "dialogue.sqlite3"), audio_dir=audio_dir(dialogue))
    try:
        result = replay(dialogue, dev)
    finally:
        dev.api.stop()
    assert result.ok, "\n".join(map(str, result.mismatches))


def test_script_mode_exits_non_zero_on_a_mismatch(tmp_path, capsys):
    script = tmp_path / "wrong.yaml"
    script.write_text("name: wrong on purpose\nturns:\n  - user: open back spasm coach\n"
                      "    expect: {say: steps.welcome_to_the_moon.say}\n")
    assert cli_main(["--script", str(script)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH turn 1: say (in order)" in out and "steps.welcome_to_the_moon.say" in out
    assert cli_main(["--script", str(DIALOGUES[0])]) == 0


# Each prompt-key expectation, given a wrong key or kind, and the mismatch it must report.
WRONG_KEYS = [
    ({"say": ["steps.screen_saddle.ask", "steps.stop_activity.say"]}, "say (in order)"),  # right keys, wrong order
    ({"say": "emergency.say"}, "say (in order)"),
    ({"say_exactly": ["steps.stop_activity.say", "steps.screen_saddle.ask"]}, "say_exactly"),  # one left out
    ({"not_say": "steps.screening_intro.say"}, "not_say"),
    ({"reprompt_keys": "steps.screen_saddle.ask"}, "reprompt_keys (in order)"),
    ({"card_keys": "emergency.card_title"}, "card_keys (in order)"),
    ({"triage": "emergency"}, "triage"),
    ({"heard": "remark"}, "heard"),
]


def test_every_key_expectation_reports_a_wrong_key(device):
    exchanges = device.say("open back spasm coach")
    right = {"say": ["steps.stop_activity.say", "steps.screen_saddle.ask"],
             "say_exactly": ["steps.stop_activity.say", "steps.screening_intro.say", "steps.screen_saddle.ask"],
             "not_say": "emergency.say", "reprompt_keys": "steps.screen_saddle.reprompt", "triage": "none"}
    assert check(right, exchanges, device, 1) == []
    for expect, what in WRONG_KEYS:
        assert [m.what for m in check(expect, exchanges, device, 1)] == [what], expect


def test_key_expectations_need_a_skill_that_shows_its_keys(tmp_path):
    """Against a skill not configured with EXPOSE_PROMPT_KEYS (as in production) a key check fails: it never
    passes for want of keys."""
    from skill.app import create_app

    app = create_app({"VERIFY_REQUESTS": False, "DB_PATH": str(tmp_path / "hidden.sqlite3")})
    dev = Device(InProcessTransport(app=app), Resolver(), SimClock())
    exchanges = dev.say("open back spasm coach")
    assert exchanges[0].speech and not exchanges[0].keys.shown
    assert "EXPOSE_PROMPT_KEYS" in str(check({"not_say": "emergency.say"}, exchanges, dev, 1)[0])


def test_script_mode_rejects_a_malformed_file(tmp_path):
    script = tmp_path / "bad.yaml"
    script.write_text("turns:\n  - user: hi\n    silence: true\n")
    assert cli_main(["--script", str(script)]) == 2


def test_the_console_command_reads_turns_from_stdin():
    result = subprocess.run([sys.executable, "-m", "simulator", "--explain"], cwd=ROOT, text=True,
                            input="open back spasm coach\nno\n:silence\n:wait 1m\nsomething odd\n:quit\n",
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Alexa: {words('steps.stop_activity.say')}" in out
    assert "[keys] say: steps.stop_activity.say, steps.screening_intro.say, steps.screen_saddle.ask" in out
    assert "Alexa (reprompt):" in out and "EXCEEDED_MAX_REPROMPTS" in out
    assert "[explain] matched AMAZON.NoIntent" in out
