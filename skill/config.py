"""Settings read from the environment, once, each checked before anything is served.

Every setting has an embedded default that works on a fresh machine. ``from_environment()`` reads and checks
them all; the first one that cannot be used raises ``ConfigError``, a ``SystemExit`` whose message is one
line naming the variable, so every way in stops before serving with that line and no traceback: ``flask run``
and ``make run`` (``create_app``), gunicorn (``skill/web/gunicorn_conf.py`` reads them in the master, before
any worker starts) and Lambda (``skill/aws_lambda.py``, at import). ``python -m skill.config`` checks the
environment alone (``make run`` does, for its ``PORT``).

The server's own settings (``HOST``, ``PORT``, ``WEB_CONCURRENCY``, ``SKILL_THREADS``, ``SKILL_READ_TIMEOUT``,
``FORWARDED_ALLOW_IPS``) are read and checked here too, with the app's, so one list says what may be set.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import sys
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

STORE_BACKENDS = ("sqlite", "dynamodb")


class ConfigError(SystemExit):
    """A setting that cannot be used. A ``SystemExit``: uncaught, Python prints its one line and exits 1."""

    def __init__(self, setting: str, problem: str):
        super().__init__(f"configuration error: {setting} {problem}")
        self.setting = setting

    def __str__(self) -> str:
        return str(self.code)


class _Reader:
    """Reads named variables from one environment mapping, checking each as it goes."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(name, f"must be 1 or 0 (or true/false, yes/no, on/off), not {value!r}")

    def number(self, name: str, default: float, *, unit: str, minimum: float, above: bool = False) -> float:
        """A finite number of ``unit`` of at least ``minimum`` (or above it, with ``above``)."""
        value = self.text(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        bound_ok = number > minimum if above else number >= minimum
        if not math.isfinite(number) or not bound_ok:
            what = f"{'greater than' if above else 'at least'} {minimum:g}"
            raise ConfigError(name, f"must be a number of {unit} {what}, not {value!r}")
        return number

    def whole(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value, 10)
        except ValueError:
            number = None
        if number is None or number < minimum or (maximum is not None and number > maximum):
            limits = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            raise ConfigError(name, f"must be a whole number {limits}, not {value!r}")
        return number

    def matching(self, name: str, pattern: str, shape: str) -> str | None:
        """Unset, or a value that fully matches ``pattern`` (``shape`` says what that is, for the error)."""
        value = self.text(name)
        if value is not None and not re.fullmatch(pattern, value):
            raise ConfigError(name, f"must be {shape}, not {value!r}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = (self.text(name) or default).lower()
        if value not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}, not {value!r}")
        return value


def from_environment(environ: Mapping[str, str] | None = None) -> dict:
    """The Flask config mapping the app factory starts from, each value checked on its own (``ConfigError``);
    ``check_app_config`` checks how they go together, once any test config has been laid over them."""
    env = _Reader(os.environ if environ is None else environ)
    config = {
        # Signature and timestamp verification are on unless explicitly turned off.
        "VERIFY_REQUESTS": env.flag("SKILL_VERIFY_REQUESTS", True),
        # Requests for any other skill id are rejected with 400. Required while verification is on (see
        # check_app_config), unless ACCEPT_ANY_SKILL says that any skill's requests are to be served.
        "SKILL_ID": env.matching("SKILL_ID", r"amzn1\.[A-Za-z0-9._-]+", "a skill id (amzn1.ask.skill.<uuid>)"),
        "ACCEPT_ANY_SKILL": env.flag("SKILL_ACCEPT_ANY_SKILL", False),
        "DB_PATH": env.text("SKILL_DB") or str(PROJECT_ROOT / "var" / "back-spasm-coach.sqlite3"),
        # Amazon's certificate host must answer quickly: the whole request has ~8 s.
        "CERT_FETCH_TIMEOUT": env.number("SKILL_CERT_FETCH_TIMEOUT", 3.0, unit="seconds", minimum=0, above=True),
        # A certificate URL that failed is refused this long without another fetch (unless it once served
        # a valid chain): a flood naming a dead URL costs one fetch, not one per request.
        "CERT_FAILURE_MEMORY": env.number("SKILL_CERT_FAILURE_MEMORY", 10.0, unit="seconds", minimum=0),
        # Alexa requests are a few KB; anything far larger is refused (413) before it is read.
        "MAX_CONTENT_LENGTH": 128 * 1024,
        # Test hooks: a urllib opener for the certificate fetch and extra trust roots (PEM bytes).
        "CERT_OPENER": None,
        "CERT_TRUST_ROOTS": None,
        # The built breathing tracks, served at /audio/<file> (audio/README.md); and the public HTTPS base
        # the AudioPlayer directives name them under (unset: the breathing is spoken).
        "AUDIO_DIR": env.text("SKILL_AUDIO_DIR") or str(PROJECT_ROOT / "audio" / "tracks"),
        "AUDIO_BASE_URL": env.text("SKILL_AUDIO_BASE_URL"),
        # Whether the MP3s are in AUDIO_DIR too (served here), or only its manifest.json is (the files are in
        # S3, uploaded by skill/audio/upload.py: then previews are never named, only real tracks).
        "AUDIO_FILES_HERE": env.flag("SKILL_AUDIO_FILES_HERE", True),
        # A store that could not be opened at start-up is tried again this often (seconds).
        "STORE_RETRY_SECONDS": env.number("SKILL_STORE_RETRY_SECONDS", 30.0, unit="seconds", minimum=0, above=True),
        # Where progress is kept: "sqlite" (DB_PATH, one machine) or "dynamodb" (shared by every instance).
        "STORE_BACKEND": env.choice("SKILL_STORE", "sqlite", STORE_BACKENDS),
        "DYNAMODB_TABLE": env.text("SKILL_DYNAMODB_TABLE") or "back-spasm-coach",
        # A DynamoDB-compatible server instead of AWS's (dynalite, DynamoDB Local); unset on AWS.
        "DYNAMODB_ENDPOINT": env.matching("SKILL_DYNAMODB_ENDPOINT", r"https?://[^\s/]+(/\S*)?",
                                          "an http:// or https:// URL"),
        "AWS_REGION": env.text("AWS_REGION") or env.text("AWS_DEFAULT_REGION") or "us-east-1",
        # A record nobody has touched for this long is deleted by the table's TTL (DynamoDB).
        "STORE_TTL_DAYS": env.number("SKILL_STORE_TTL_DAYS", 180.0, unit="days", minimum=0, above=True),
        # Each answer names the prompt keys it said in an X-Prompt-Keys header (skill/web/endpoint.py), for the
        # simulator and tests: never in production.
        "EXPOSE_PROMPT_KEYS": env.flag("SKILL_EXPOSE_PROMPT_KEYS", False),
        # The second line behind the red-flag phrase lists (skill/engine/second_line.py), loaded in the background
        # at start-up; off, the lists answer alone (measurements, and a host that cannot spare the memory).
        "SECOND_LINE": env.flag("SKILL_SECOND_LINE", True),
        # The persistence adapter to use instead of opening the configured store (tests).
        "STORE": None,
        # The web server's (gunicorn_conf.py; HOST and PORT also `make run`'s).
        "HOST": env.text("HOST") or "0.0.0.0",
        "PORT": env.whole("PORT", 8000, minimum=1, maximum=65535),
        # One process per core by default: each holds its own copy of the content and its own write-behind queue.
        "WEB_CONCURRENCY": env.whole("WEB_CONCURRENCY", multiprocessing.cpu_count(), minimum=1),
        "THREADS": env.whole("SKILL_THREADS", 8, minimum=1),
        "READ_TIMEOUT": env.number("SKILL_READ_TIMEOUT", 5.0, unit="seconds", minimum=0, above=True),
        "FORWARDED_ALLOW_IPS": env.text("FORWARDED_ALLOW_IPS") or "127.0.0.1",
    }
    return config


def check_app_config(config: Mapping) -> None:
    """The checks that span settings, on the final config (``create_app`` runs them after a test config too)."""
    if config.get("VERIFY_REQUESTS", True) and not config.get("SKILL_ID") and not config.get("ACCEPT_ANY_SKILL"):
        raise ConfigError(
            "SKILL_ID",
            "is unset while request verification is on: set it to the skill's id (amzn1.ask.skill....), "
            "or SKILL_VERIFY_REQUESTS=0 for local development, or SKILL_ACCEPT_ANY_SKILL=1 to serve any skill",
        )


def main() -> int:
    """``python -m skill.config``: check the environment's settings; the one-line error, or nothing."""
    check_app_config(from_environment())
    return 0


if __name__ == "__main__":
    sys.exit(main())
