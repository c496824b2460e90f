# Every target bootstraps .venv itself, so `make run` and `make test` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000
TRACKS := audio/tracks/manifest.json

.PHONY: run check-run-config serve test test-fast faults cert-flood config-mistakes api-hang load fuzz transcript eval-triage eval-clarify eval-understanding eval-second-line audio upload-audio package \
	lambda-check skill-package bootstrap clean

bootstrap:
	@scripts/bootstrap

# With no breathing tracks built yet, offline previews are made first (about 7 s, no network) so the
# skill serves local audio at /audio/ from the start; `make audio` makes the real ones.
# Every setting, PORT and HOST included, is checked first (skill/config.py): a mistake is one line naming it.
RUN_ENV = SKILL_VERIFY_REQUESTS=$${SKILL_VERIFY_REQUESTS-0} SKILL_EXPOSE_PROMPT_KEYS=$${SKILL_EXPOSE_PROMPT_KEYS-1} \
	HOST='$(HOST)' PORT='$(PORT)'
run: bootstrap check-run-config $(TRACKS)
	$(RUN_ENV) $(PY) -m flask --app skill.app run --host '$(HOST)' --port '$(PORT)'

check-run-config: bootstrap
	@$(RUN_ENV) $(PY) -m skill.config

# The skill under gunicorn, as on a production host (skill/web/gunicorn_conf.py says why each setting):
# verification on; put it behind TLS (a load balancer or proxy), and set SKILL_STORE / SKILL_ID (required). The
# settings are checked first: gunicorn reads WEB_CONCURRENCY itself, with a traceback for a mistake.
serve: bootstrap
	@$(PY) -m skill.config
	$(PY) -m gunicorn -c python:skill.web.gunicorn_conf 'skill.app:create_app()'

# Every test: what CI runs (.ci/run), and what to run before a commit.
test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

# The edit-test loop: every test but those marked slow (pyproject.toml: the Lambda packaging, the gunicorn
# servers, DynamoDB on dynalite, the fault-injection command, the resolver's sweep of every slot value).
test-fast: bootstrap
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The store broken five ways against a served skill: answers, latencies and what was stored (simulator/faults.py).
faults: bootstrap
	$(PY) -m simulator.faults

# A flood of forged certificate URLs (hanging, then answered 404) at a skill just started, on loopback: Amazon's
# requests answered, Amazon's URL fetched once, the fetches the forged ones cause (bench/cert_flood.py).
cert-flood: bootstrap
	$(PY) bench/cert_flood.py $(FLOOD_ARGS)

# Each configuration mistake, made through make run, flask run, make serve or Lambda, and the line it prints.
config-mistakes: bootstrap
	$(PY) scripts/config_mistakes.py

# Red flags and turns with the Alexa API hung, against gunicorn as `make serve` runs it, at 16 and 64 people
# talking at once: latency p50/p99 (bench/api_hang.py; HANG_ARGS: --people, --seconds, --think, --checkout).
api-hang: bootstrap
	$(PY) -m bench.api_hang $(HANG_ARGS)

# 2,000 people in session at once against gunicorn as `make serve` runs it, on loopback, and whether each kept
# their own place (bench/load.py; LOAD_ARGS: --users, --connections, --store dynamodb for dynalite). About a minute.
load: bootstrap
	$(PY) -m bench.load $(LOAD_ARGS)

# 10,000 hypothesis-fuzzed bodies against POST /alexa: no 5xx, no oversized or echoing answer (bench/fuzz.py;
# FUZZ_ARGS: --bodies, --seed). A few minutes.
fuzz: bootstrap
	$(PY) -m bench.fuzz $(FUZZ_ARGS)

# One whole walk-through, printed as a plain-text transcript (simulator/transcript.py): read it after a wording change.
transcript: bootstrap
	$(PY) -m simulator.transcript

# The evaluations (evaluation/README.md): each prints its figures for its default set, or EVAL_ARGS
# (another set, --direct, --misses, --virtual-alexa ...).
eval-triage: bootstrap
	$(PY) -m evaluation.triage $(EVAL_ARGS)

eval-clarify: bootstrap
	$(PY) -m evaluation.clarify $(EVAL_ARGS)

eval-understanding: bootstrap
	$(PY) -m evaluation.understanding $(EVAL_ARGS)

# The second line behind the red-flag phrase lists against the lists alone, on the development phrases: signs
# caught, false confirmations, time per utterance, cold start and the Lambda zip (evaluation/README.md).
eval-second-line: bootstrap
	$(PY) -m evaluation.second_line $(EVAL_ARGS)

# The breathing tracks: cues rendered with Google's text-to-speech (needs network), assembled into
# Alexa-spec MP3s in audio/tracks with their manifest (skill/audio/build.py).
audio: bootstrap
	$(PY) -m skill.audio.build $(AUDIO_ARGS)

# The real tracks to the deployed bucket (serverless.yml's AudioBucket output), before `sls deploy`.
upload-audio: bootstrap
	$(PY) -m skill.audio.upload --bucket $(BUCKET)

$(TRACKS): | bootstrap
	$(PY) -m skill.audio.build --offline

# The AWS Lambda artefact (serverless.yml), offline: .serverless/back-spasm-coach.zip, with bytecode Lambda
# can use. `npx sls deploy --package .serverless` ships it (SKILL_ID=...; see the README's "Deploying").
package: bootstrap
	$(PY) scripts/lambda_package.py

# Package, unpack and invoke both Lambda entry points as Lambda would; prints size and cold starts.
lambda-check: bootstrap
	$(PY) scripts/lambda_check.py

# The interaction models, validated, copied into the ASK CLI's layout (skill-package/interactionModels/custom/),
# for `ask deploy`: interaction_models/ is the one source, the copy is not committed.
skill-package: bootstrap
	$(PY) -m skill.skill_package

clean:
	rm -rf $(VENV) var .pytest_cache
