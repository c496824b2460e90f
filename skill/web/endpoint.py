"""POST /alexa and GET /healthz.

Every failure a caller can cause gets a 400 with a short JSON error; the skill itself answers
every verified request in speech, so no request, however malformed or hostile, gets a 500.
"""

from __future__ import annotations

import json
import logging

from ask_sdk_core.exceptions import AskSdkException
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from skill.web.verification import REQUEST_SOURCE, VerificationException, build_verifiers
from skill.alexa.interceptors import loggable, short_traceback  # (after verification, as the line below)
from skill.alexa.turns import SHOWN_KEYS  # (after verification: it applies the oscrypto fix first)

log = logging.getLogger(__name__)

bp = Blueprint("alexa", __name__)

# With EXPOSE_PROMPT_KEYS set (the simulator's in-process app, the tests, `make run`), each answer names the
# prompt keys it said and its answer kind in this header (JSON: say, reprompt, card, triage, heard), so tests
# check meaning rather than wording. Never set in production; never in the Alexa response itself.
KEYS_HEADER = "X-Prompt-Keys"
EXTENSION_KEY = "back_spasm_coach"
SKILL_KEY = "back_spasm_coach_skill"


def init_app(app: Flask, skill) -> None:
    """Wire the verified webservice handler for ``skill`` into ``app``."""
    # Imported after build_verifiers: that import applies the oscrypto fix first.
    from ask_sdk_webservice_support.webservice_handler import WebserviceSkillHandler

    verifiers = build_verifiers(app.config)
    if not app.config["VERIFY_REQUESTS"]:
        app.logger.warning(
            "SKILL_VERIFY_REQUESTS=0: request signature and timestamp verification are OFF. "
            "Use this only for local development; Alexa will not certify such an endpoint."
        )
    elif not app.config.get("SKILL_ID"):  # only with ACCEPT_ANY_SKILL: skill_config.check_app_config
        app.logger.warning(
            "SKILL_ACCEPT_ANY_SKILL=1 and no SKILL_ID: requests signed by Amazon for ANY skill are served. "
            "Set SKILL_ID to this skill's id to serve only its own requests."
        )
    # The library's own verifier flags stay off: build_verifiers supplies the same verifiers,
    # configured with a certificate-fetch timeout and a cache shared across requests.
    handler = WebserviceSkillHandler(skill, verify_signature=False, verify_timestamp=False, verifiers=verifiers)
    app.extensions[EXTENSION_KEY] = handler
    app.extensions[SKILL_KEY] = skill  # the same skill, for other ways in (skill/aws_lambda.py)
    app.register_blueprint(bp)


def _bad_request(message: str):
    return jsonify(error=message), 400


def envelope_problem(payload) -> str | None:
    """Why ``payload`` is not an Alexa request envelope, or None when it looks like one."""
    if not isinstance(payload, dict):
        return "body is not a JSON object"
    if not isinstance(payload.get("version"), str):
        return "missing envelope version"
    req = payload.get("request")
    if not isinstance(req, dict):
        return "missing request object"
    for field in ("type", "requestId", "timestamp"):
        if not isinstance(req.get(field), str) or not req.get(field):
            return f"missing request.{field}"
    if req["type"] == "IntentRequest" and not (isinstance(req.get("intent"), dict)
                                               and isinstance(req["intent"].get("name"), str)):
        return "missing request.intent.name"
    context = payload.get("context")
    session = payload.get("session")
    if context is not None and not isinstance(context, dict):
        return "context is not an object"
    if session is not None and not isinstance(session, dict):
        return "session is not an object"
    if not isinstance((context or {}).get("System"), dict) and not isinstance(session, dict):
        return "missing context.System"
    if nesting_depth(payload) > MAX_NESTING:
        return "body nested too deeply"
    return None


# Alexa's envelopes, with this skill's session attributes, nest about 10 levels deep. ask-sdk's deserialiser
# recurses several frames a level, so hundreds of levels (which json.loads accepts) ended in a RecursionError.
MAX_NESTING = 32


def nesting_depth(value) -> int:
    """How deeply ``value``'s objects and arrays nest (0 for a scalar), without recursion."""
    deepest, level = 0, [(value, 0)]
    while level:
        item, depth = level.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth + 1)
            level.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


@bp.post("/alexa")
def alexa():
    try:
        raw = request.get_data(cache=False)
    except OSError:  # the body did not arrive in time (gunicorn's read deadline) or the client went away
        return _bad_request("body not received")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _bad_request("body is not UTF-8")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting depth
        return _bad_request("body is not JSON")
    problem = envelope_problem(payload)
    if problem:
        return _bad_request(problem)

    handler = current_app.extensions[EXTENSION_KEY]
    shown = {} if current_app.config.get("EXPOSE_PROMPT_KEYS") else None
    watching = SHOWN_KEYS.set(shown)
    source = REQUEST_SOURCE.set(request.remote_addr or "")
    try:
        response_body = handler.verify_request_and_dispatch(dict(request.headers), body)
    except VerificationException as exc:
        log.info("rejected request: verification failed: %s", loggable(exc.args[0] if exc.args else exc, limit=300))
        return _bad_request("request verification failed")
    except AskSdkException as exc:
        # Deserialisation of a malformed envelope, or a dispatch with no handler left to answer.
        log.info("rejected request: %s", type(exc).__name__)
        return _bad_request("request could not be processed")
    except Exception as exc:  # noqa: BLE001 - a last line of defence: never a 500 to the caller
        log.error("unexpected failure outside the skill's own exception handler\n%s", short_traceback(exc))
        return _bad_request("request could not be processed")
    finally:
        SHOWN_KEYS.reset(watching)
        REQUEST_SOURCE.reset(source)
    # The SDK's serializer returns plain JSON-ready objects, not text.
    answer = Response(json.dumps(response_body), mimetype="application/json")
    if shown is not None:
        answer.headers[KEYS_HEADER] = json.dumps(shown)
    return answer


@bp.app_errorhandler(413)
def too_large(error):
    return jsonify(error="body too large"), 413


@bp.get("/healthz")
def healthz():
    """ "ok", or "degraded" when the store could not be opened: the skill still answers and triages (so
    this stays a 200 for a load balancer), but progress is not kept."""
    from skill.storage import store_problem  # (storage is imported by the app factory, not at import time)

    problem = store_problem(current_app.extensions.get("skill_store"))
    if problem:
        return jsonify(status="degraded", store=problem)
    return jsonify(status="ok")
