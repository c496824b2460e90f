"""Print a plain-text transcript of one full walk-through of the skill.

    .venv/bin/python -m simulator.transcript [--verbose]        (make transcript)

Drives the real app (``create_app`` with verification off and a throw-away SQLite file) through
the Flask test client, the way Alexa would: a one-shot "my back is spasming", five "no" answers to
the safety questions, then "yes" through to the summary. After the first leg position the person
stops answering, the session ends, and a relaunch 45 minutes later resumes where they were.

Speech is shown as readable text (``skill.render.plain``): pauses appear as ``[pause 4s]``.
Nothing leaves the process; the database is deleted afterwards.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from simulator.conversation import Conversation, reprompt, speech
from skill.app import create_app
from skill.render import plain

INVOCATION = "back spasm coach"

# The person comes back this long after the session ended (the request timestamps move on).
RELAUNCH_AFTER_MINUTES = 45

# (what the person says, intent name). None: no answer, so Alexa reprompts and then ends the
# session (a SessionEndedRequest, EXCEEDED_MAX_REPROMPTS); "LAUNCH": "Alexa, open back spasm coach".
SCRIPT: list[tuple[str, str | None]] = [
    (f"Alexa, tell {INVOCATION} my back is spasming", "StartGuideIntent"),
    ("no", "AMAZON.NoIntent"),  # numbness between the legs
    ("no", "AMAZON.NoIntent"),  # trouble peeing
    ("no", "AMAZON.NoIntent"),  # weak legs
    ("no", "AMAZON.NoIntent"),  # a fall or a blow
    ("no", "AMAZON.NoIntent"),  # fever
    ("yes", "AMAZON.YesIntent"),  # ready for the next step -> cold pack
    ("yes", "AMAZON.YesIntent"),  # the cold pack is on -> first leg position
    ("(says nothing)", None),
    (f"Alexa, open {INVOCATION}", "LAUNCH"),
    ("yes", "AMAZON.YesIntent"),  # carry on with leg positions
    ("yes", "AMAZON.YesIntent"),  # another position
    ("yes", "AMAZON.YesIntent"),
    ("yes", "AMAZON.YesIntent"),
    ("yes", "AMAZON.YesIntent"),  # move on to relaxing
    ("yes", "AMAZON.YesIntent"),  # breathing session
    ("no", "AMAZON.NoIntent"),  # no more rounds of breathing -> pain check
    ("yes", "AMAZON.YesIntent"),  # the pain has eased -> exercises
    ("yes", "AMAZON.YesIntent"),
    ("yes", "AMAZON.YesIntent"),
    ("yes", "AMAZON.YesIntent"),  # -> medicines
    ("yes", "AMAZON.YesIntent"),  # muscle relaxants
    ("yes", "AMAZON.YesIntent"),  # -> physical therapy
    ("yes", "AMAZON.YesIntent"),  # -> injections
    ("yes", "AMAZON.YesIntent"),  # -> when to get help
    ("yes", "AMAZON.YesIntent"),  # sum up the plan
]


def run(db_path: str) -> list[str]:
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False, "DB_PATH": db_path})
    talk = Conversation(app.test_client())
    lines: list[str] = []
    for said, intent_name in SCRIPT:
        if intent_name is None:
            # Alexa says the reprompt once, then ends the session when there is still no answer.
            lines.append(f"User: {said}")
            lines.append(f"Alexa: {plain(reprompt(talk.last))}")
            lines.append(f"User: {said}")
            lines.append("  (session ends)")
            lines.append("")
            talk.end("EXCEEDED_MAX_REPROMPTS")
            talk.advance(minutes=RELAUNCH_AFTER_MINUTES)
            lines.append(f"({RELAUNCH_AFTER_MINUTES} minutes later)")
            lines.append("")
            continue
        body = talk.launch() if intent_name == "LAUNCH" else talk.say(intent_name, label=said)
        response = body.get("response") or {}
        lines.append(f"User: {said}")
        lines.append(f"Alexa: {plain(speech(body))}")
        if response.get("card"):
            card = response["card"]
            lines.append(f"  [card: {card.get('title')}] " + " / ".join((card.get("content") or "").splitlines()))
        if response.get("shouldEndSession") is not False:
            lines.append("  (session ends)")
        lines.append("")
    if not talk.last or (talk.last.get("response") or {}).get("shouldEndSession") is not True:
        raise SystemExit("transcript: the walk-through did not end the session at the summary")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="show the skill's request log on stderr")
    args = parser.parse_args(argv)
    # The transcript is the output: the request log (and the verification-off warning, which is
    # beside the point in-process) appear only with --verbose. Errors always show.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bsc-transcript-") as tmp:
        lines = run(str(Path(tmp) / "transcript.sqlite3"))
    print("\n".join(lines).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
