"""back-spasm-sim: talk to Back Spasm Coach the way Alexa would, without an Echo or an Amazon account.

    back-spasm-sim                                  # interactive, the skill in-process
    back-spasm-sim --url http://127.0.0.1:5000/alexa   # against `make run`
    back-spasm-sim --script tests/dialogues/first_session.yaml
    printf 'open back spasm coach\\nno\\n' | back-spasm-sim

Type what you would say ("alexa, tell back spasm coach my back is spasming", "yes", "i can't feel
my legs"), or a command: :silence, :wait 15m, :consent accept|deny, :button pause, :timers,
:reminders, :session, :explain on|off, :help, :quit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from simulator.clock import SimClock, parse_duration
from simulator.device import Device
from simulator.envelopes import DEFAULT_SKILL_ID, DEVICE_PROFILES, Identity
from simulator.fake_api import FakeAlexaApi
from simulator.resolver import Resolver
from simulator.script import ScriptError, audio_dir, load_dialogue, replay
from simulator.transport import HttpTransport, InProcessTransport, TransportError

HISTORY_FILE = Path(os.environ.get("BACK_SPASM_SIM_HISTORY", Path.home() / ".back_spasm_sim_history"))
COMMANDS = """Commands:
  :silence              say nothing (Alexa speaks the reprompt; twice ends the session)
  :wait 15m             let time pass (timers and reminders fire, audio plays): 90s, 15m, 1h30m, 2d
  :consent accept|deny  answer a permission request (voice consent)
  :button play|pause|next|previous   press a button on the device
  :timers  :reminders   what the fake Alexa API holds for you
  :session              the session attributes Alexa is carrying
  :explain on|off       show how each utterance was matched to an intent, and the prompt keys said
  :help  :quit"""


def load_model_for(locale: str) -> dict:
    from skill.interaction_model import load_model

    try:
        return load_model(locale)
    except FileNotFoundError:
        return load_model("en-US")  # English locales share the en-US model until they have their own


def build_device(locale="en-US", device="speaker", url=None, db_path=None, user_id=None, api=None, audio_dir=None):
    clock = SimClock()
    api = api or FakeAlexaApi(clock).start()
    transport = HttpTransport(url) if url else InProcessTransport(db_path=db_path, audio_dir=audio_dir)
    # The in-process skill's request log would interleave with the conversation; warnings still show.
    logging.getLogger().setLevel(logging.WARNING)
    identity = Identity(locale=locale, device=device, skill_id=DEFAULT_SKILL_ID,
                        user_id=user_id or "amzn1.ask.account.SIMULATED-USER")
    resolver = Resolver(load_model_for(locale), skill_id=DEFAULT_SKILL_ID)
    return Device(transport, resolver, clock, identity, api, fetch=transport.fetch)


def print_exchange(exchange, explain: bool, out=sys.stdout) -> None:
    if explain and exchange.explanation:
        for line in exchange.explanation:
            print(f"  [explain] {line}", file=out)
    for line in exchange.progressive:
        print(f"  (progressive) {line}", file=out)
    if exchange.speech:
        prefix = "Alexa (reprompt)" if exchange.note == "(reprompt)" else "Alexa"
        print(f"{prefix}: {exchange.speech}", file=out)
    elif exchange.request is not None and exchange.request_type not in ("SessionEndedRequest",):
        print(f"  ({exchange.request_type}: no speech)", file=out)
    if exchange.reprompt and exchange.note != "(reprompt)":
        print(f"  reprompt: {exchange.reprompt}", file=out)
    if exchange.card:
        print(f"  [card] {exchange.card}", file=out)
    if exchange.directives:
        print(f"  [directives] {exchange.directives}", file=out)
    if exchange.note and exchange.note != "(reprompt)":
        print(f"  {exchange.note}", file=out)
    keys = exchange.keys
    if explain and (keys.say or keys.reprompt or keys.card):  # what a dialogue file names (simulator/script.py)
        kinds = "".join(f"; {kind}: {getattr(keys, kind)}" for kind in ("triage", "heard") if getattr(keys, kind))
        print(f"  [keys] say: {', '.join(keys.say)}; reprompt: {', '.join(keys.reprompt)}; "
              f"card: {', '.join(keys.card)}{kinds}", file=out)


def command(device, line: str, state: dict, out=sys.stdout) -> list | None:
    """Run a ':' command; returns exchanges to print, or None when there is nothing to send."""
    name, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    if name == "silence":
        return device.silence()
    if name == "wait":
        return device.wait(parse_duration(arg or "1m"))
    if name == "consent":
        return device.consent(arg.lower() not in ("deny", "denied", "no"))
    if name == "button":
        return device.button(arg or "play")
    if name == "timers":
        print(device.api.timers(device.identity.user_id), file=out)
    elif name == "reminders":
        print(device.api.reminders(device.identity.user_id), file=out)
    elif name == "session":
        print(device.session.attributes if device.session else "(no session)", file=out)
    elif name == "explain":
        state["explain"] = arg != "off"
    elif name == "help":
        print(COMMANDS, file=out)
    else:
        print(f"unknown command :{name} (try :help)", file=out)
    return None


def handle_line(device, line: str, state: dict, out=sys.stdout) -> bool:
    """One line of input; False when the user asked to quit."""
    line = line.strip()
    if not line:
        return True
    if line in (":quit", ":q", ":exit"):
        return False
    try:
        exchanges = command(device, line, state, out) if line.startswith(":") else device.say(line)
    except (TransportError, ValueError) as exc:
        print(f"  error: {exc}", file=out)
        return True
    for exchange in exchanges or []:
        print_exchange(exchange, state.get("explain", False), out)
    return True


def interactive(device, explain: bool) -> int:
    try:
        import readline  # line editing and history (GNU readline, part of CPython)

        if HISTORY_FILE.exists():
            readline.read_history_file(HISTORY_FILE)
    except (ImportError, OSError):
        readline = None
    state = {"explain": explain}
    print(f"Back Spasm Coach simulator ({device.transport.description}, {device.identity.locale}, "
          f"{device.identity.device}). Say \"open back spasm coach\" to start; :help for commands.")
    try:
        while True:
            try:
                line = input("you> ")
            except EOFError:
                break
            if not handle_line(device, line, state):
                break
    except KeyboardInterrupt:
        print()
    finally:
        if readline is not None:
            try:
                readline.write_history_file(HISTORY_FILE)
            except OSError:
                pass
    return 0


def run_scripts(paths: list[str], args) -> int:
    failures = 0
    for path in paths:
        try:
            dialogue = load_dialogue(path)
        except (ScriptError, OSError, ValueError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 2
        device = build_device(locale=args.locale or dialogue.locale, device=args.device or dialogue.device,
                              url=args.url, db_path=args.db, audio_dir=audio_dir(dialogue))
        try:
            result = replay(dialogue, device)
        finally:
            device.api.stop()
        print(f"== {dialogue.name} ({path})")
        turn_seen = set()
        for number, exchange in result.exchanges:
            if number not in turn_seen:
                turn = dialogue.turns[number - 1]
                said = turn.get("user") or next(f":{k} {turn[k]}" for k in turn if k != "expect" and k != "expect_any")
                print(f"you> {said}")
                turn_seen.add(number)
            print_exchange(exchange, args.explain)
        for mismatch in result.mismatches:
            print(f"MISMATCH {mismatch}")
        print(f"== {'ok' if result.ok else f'{len(result.mismatches)} mismatch(es)'}: {dialogue.name}")
        failures += not result.ok
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="back-spasm-sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--locale", default=None, help="request locale (default en-US)")
    parser.add_argument("--device", choices=sorted(DEVICE_PROFILES), default=None,
                        help="speaker (Echo), show (Echo Show, APL), no-audio (no AudioPlayer)")
    parser.add_argument("--url", help="POST to a running skill instead of calling it in-process")
    parser.add_argument("--db", help="SQLite file for the in-process skill (default: a temporary file)")
    parser.add_argument("--explain", action="store_true",
                        help="show which sample matched, what filled each slot, and the prompt keys each answer said")
    parser.add_argument("--script", nargs="+", metavar="YAML", help="replay scripted dialogues; exit 1 on mismatch")
    args = parser.parse_args(argv)
    if args.script:
        return run_scripts(args.script, args)
    device = build_device(locale=args.locale or "en-US", device=args.device or "speaker", url=args.url,
                          db_path=args.db)
    try:
        if sys.stdin.isatty():
            return interactive(device, args.explain)
        state = {"explain": args.explain}
        for line in sys.stdin:
            print(f"you> {line.strip()}")
            if not handle_line(device, line, state):
                break
        return 0
    finally:
        device.api.stop()


if __name__ == "__main__":
    sys.exit(main())
