"""gunicorn for hosts other than Lambda: `make serve`, or
`gunicorn -c python:skill.web.gunicorn_conf 'skill.app:create_app()'`. Each setting, and why:

Alexa gives the skill about 8 seconds, and a request spends most of its time waiting (the Alexa APIs for
timers and reminders, the store, the certificate host), so threads, not processes, carry the load.

Every setting, the app's included, is read and checked here, in the master, before any worker starts
(skill/config.py): a mistake stops gunicorn with one line naming it, not a worker that fails to boot.
"""

from skill import config as skill_config

_settings = skill_config.from_environment()
skill_config.check_app_config(_settings)

bind = f"{_settings['HOST']}:{_settings['PORT']}"
# One process per core: each holds its own copy of the content and its own write-behind queue.
workers = _settings["WEB_CONCURRENCY"]
# Threads per process: requests mostly wait on I/O, each call bounded (Alexa APIs 2.5 s, store 0.25-0.5 s).
threads = _settings["THREADS"]
# gthread with a deadline on every read from a client (skill/web/gunicorn_worker.py): a bare gthread is
# starved by clients that send half a request and stop.
worker_class = "skill.web.gunicorn_worker.ReadTimeoutThreadWorker"
# A worker whose main loop is silent this long is restarted: longer than any answer may take (8 s).
timeout = 15
# On SIGTERM a worker finishes what it has (at most 8 s) and writes its queued records (up to 5 s) first.
graceful_timeout = 15
# Alexa keeps connections open between requests.
keepalive = 5
# Not preloaded: each worker builds its own app, so the store's writer thread lives in the worker.
preload_app = False
# The request log is the skill's own (no user ids, no health words); gunicorn's access log stays off.
accesslog = None
errorlog = "-"
# Behind a TLS-terminating proxy or load balancer: trust its X-Forwarded-* only from there.
forwarded_allow_ips = _settings["FORWARDED_ALLOW_IPS"]
