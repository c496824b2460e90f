"""Back Spasm Coach: an Alexa skill that talks a person through an acute back spasm.

Layers, from the inside out:

- ``skill.engine``  — the pure guide engine: protocol data, state, triage. No Alexa, no Flask.
- ``skill.alexa``   — ask-sdk handlers and interceptors that turn requests into engine events,
  and the renderer that turns engine plans into Alexa responses.
- ``skill.storage`` — persistence adapters (SQLite by default) behind the ask-sdk adapter interface.
- ``skill.web``     — request verification for the Flask endpoint.
- ``skill.app``     — the Flask app factory, ``create_app()``.
"""
