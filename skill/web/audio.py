"""GET /audio/<file>: the built breathing tracks, for AudioPlayer on a local or self-hosted skill.

Alexa streams long-form audio itself, over HTTPS, with Range requests (to resume after a pause) and
from its own caches; so the route serves only the built MP3s of ``AUDIO_DIR`` (names like
``breathing-5min-en-US.mp3``, nothing else, so no path can leave the folder), with Range and
conditional requests (werkzeug's ``send_file``), the right content type and long caching: a track's
name changes when its content does (the build writes a content hash into the manifest, and the skill
names tracks from it). In production the same files are served from S3 (``SKILL_AUDIO_BASE_URL``).
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("audio", __name__)

# What a built track is called: lowercase words, digits and dashes, ".mp3". Anything else is a 404
# before the file system is asked (no "..", no slash, no encoded tricks, no other file type).
TRACK_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,80}\.mp3")
# A week: tracks are immutable under a name; a changed track gets a new name.
MAX_AGE_SECONDS = 7 * 24 * 3600


@bp.get("/audio/<path:name>")
def track(name: str):
    if not TRACK_NAME.fullmatch(name):
        abort(404)
    folder = Path(current_app.config["AUDIO_DIR"])
    if not (folder / name).is_file():
        abort(404)
    response = send_from_directory(folder, name, mimetype="audio/mpeg", conditional=True, max_age=MAX_AGE_SECONDS)
    response.headers["Accept-Ranges"] = "bytes"
    return response


def init_app(app) -> None:
    app.register_blueprint(bp)
