"""Settings read from the environment, with embedded defaults that work on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in _FALSE


def from_environment() -> dict:
    """The Flask config mapping the app factory starts from."""
    return {
        # Signature and timestamp verification are on unless explicitly turned off.
        "VERIFY_REQUESTS": _flag("SKILL_VERIFY_REQUESTS", True),
        # When set, requests for any other skill id are rejected with 400.
        "SKILL_ID": os.environ.get("SKILL_ID") or None,
        "DB_PATH": os.environ.get("SKILL_DB") or str(PROJECT_ROOT / "var" / "back-spasm-coach.sqlite3"),
        # Amazon's certificate host must answer quickly: the whole request has ~8 s.
        "CERT_FETCH_TIMEOUT": float(os.environ.get("SKILL_CERT_FETCH_TIMEOUT", "3")),
        # A certificate URL that failed is refused this long without another fetch (unless it once served
        # a valid chain): a flood naming a dead URL costs one fetch, not one per request.
        "CERT_FAILURE_MEMORY": float(os.environ.get("SKILL_CERT_FAILURE_MEMORY", "10")),
        # Alexa requests are a few KB; anything far larger is refused (413) before it is read.
        "MAX_CONTENT_LENGTH": 128 * 1024,
        # Test hooks: a urllib opener for the certificate fetch and extra trust roots (PEM bytes).
        "CERT_OPENER": None,
        "CERT_TRUST_ROOTS": None,
        # The built breathing tracks, served at /audio/<file> (audio/README.md); and the public HTTPS base
        # the AudioPlayer directives name them under (unset: the breathing is spoken).
        "AUDIO_DIR": os.environ.get("SKILL_AUDIO_DIR") or str(PROJECT_ROOT / "audio" / "tracks"),
        "AUDIO_BASE_URL": os.environ.get("SKILL_AUDIO_BASE_URL") or None,
        # Whether the MP3s are in AUDIO_DIR too (served here), or only its manifest.json is (the files are in
        # S3, uploaded by skill/audio/upload.py: then previews are never named, only real tracks).
        "AUDIO_FILES_HERE": _flag("SKILL_AUDIO_FILES_HERE", True),
        # A store that could not be opened at start-up is tried again this often (seconds).
        "STORE_RETRY_SECONDS": float(os.environ.get("SKILL_STORE_RETRY_SECONDS", "30")),
        # Where progress is kept: "sqlite" (DB_PATH, one machine) or "dynamodb" (shared by every instance).
        "STORE_BACKEND": (os.environ.get("SKILL_STORE") or "sqlite").strip().lower(),
        "DYNAMODB_TABLE": os.environ.get("SKILL_DYNAMODB_TABLE") or "back-spasm-coach",
        # A DynamoDB-compatible server instead of AWS's (dynalite, DynamoDB Local); unset on AWS.
        "DYNAMODB_ENDPOINT": os.environ.get("SKILL_DYNAMODB_ENDPOINT") or None,
        "AWS_REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        # A record nobody has touched for this long is deleted by the table's TTL (DynamoDB).
        "STORE_TTL_DAYS": float(os.environ.get("SKILL_STORE_TTL_DAYS", "180")),
        # Each answer names the prompt keys it said in an X-Prompt-Keys header (skill/web/endpoint.py), for the
        # simulator and tests: never in production.
        "EXPOSE_PROMPT_KEYS": _flag("SKILL_EXPOSE_PROMPT_KEYS", False),
        # The second line behind the red-flag phrase lists (skill/engine/second_line.py), loaded in the background
        # at start-up; off, the lists answer alone (measurements, and a host that cannot spare the memory).
        "SECOND_LINE": _flag("SKILL_SECOND_LINE", True),
        # The persistence adapter to use instead of opening the configured store (tests).
        "STORE": None,
    }
