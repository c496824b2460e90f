"""The Flask app factory: ``flask --app skill.app run`` serves the skill on POST /alexa."""

from __future__ import annotations

import logging

from flask import Flask

from skill import config as skill_config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults from the environment, then ``test_config``, then storage, skill, routes. A
    setting that cannot be used stops it first, with one line naming it (``skill_config.ConfigError``)."""
    app = Flask(__name__)
    app.config.from_mapping(skill_config.from_environment())
    if test_config:
        app.config.update(test_config)
    skill_config.check_app_config(app.config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # Imported here so that importing skill.app costs nothing and has no side effects.
    from skill import storage
    from skill.alexa.effects import api_callers
    from skill.alexa.skill import build_skill
    from skill.engine.guide import default_content
    from skill.audio.tracks import AudioLibrary
    from skill.web import audio, endpoint

    content = default_content()
    store = app.config["STORE"] or storage.open_store(app.config)
    app.extensions["skill_store"] = store  # /healthz reports a store that could not be opened
    library = AudioLibrary(app.config["AUDIO_DIR"], app.config["AUDIO_BASE_URL"], app.config["AUDIO_FILES_HERE"])
    second_line = None
    if app.config["SECOND_LINE"]:
        from skill.engine.second_line import SecondLine

        second_line = SecondLine(content.red_flags)
    app.extensions["second_line"] = second_line
    skill = build_skill(store, content=content, library=library, second_line=second_line,
                        api_callers=api_callers(app.config["THREADS"]))
    endpoint.init_app(app, skill)
    audio.init_app(app)
    if second_line is not None:
        # Loaded in a thread, started last so that it does not share the interpreter with building the app: the
        # first requests are answered by the phrase lists alone, never kept waiting.
        second_line.start_loading()
    return app
