# Every target bootstraps .venv itself, so `make run` and `make test` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test faults audio bootstrap clean

bootstrap:
	@scripts/bootstrap

run: bootstrap
	SKILL_VERIFY_REQUESTS=$${SKILL_VERIFY_REQUESTS-0} $(PY) -m flask --app skill.app run --host $(HOST) --port $(PORT)

test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

# The store broken five ways against a served skill: answers, latencies and what was stored (simulator/faults.py).
faults: bootstrap
	$(PY) -m simulator.faults

# The breathing tracks: cues rendered with Google's text-to-speech (needs network), assembled into
# Alexa-spec MP3s in audio/tracks with their manifest (skill/audio/build.py).
audio: bootstrap
	$(PY) -m skill.audio.build $(AUDIO_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
