"""The skill on AWS Lambda (serverless.yml): one app, one skill object per container, two ways in.

- ``app``: the Flask app, served by serverless-wsgi (``wsgi_handler.handler``) on the HTTP API's
  ``POST /alexa``, with request verification as on any web host.
- ``alexa_handler``: Lambda's native Alexa Skills Kit trigger. Lambda accepts it only from the skill the
  trigger names, so there is no HTTP signature to check; the skill id is still checked when
  ``SKILL_ID`` is set.

Configuration comes from the environment (serverless.yml sets SKILL_STORE=dynamodb and the rest). The app
is built when Lambda loads this module, once per container, so warm invocations pay nothing for it.
"""

from __future__ import annotations

import json

from skill.app import create_app
from skill.web.endpoint import SKILL_KEY
from skill.web.verification import SkillIdVerifier

app = create_app()


def _native_handler():
    # Imported after skill.web.verification: that import applies the oscrypto fix first.
    from ask_sdk_webservice_support.webservice_handler import WebserviceSkillHandler

    verifiers = [SkillIdVerifier(app.config["SKILL_ID"])] if app.config.get("SKILL_ID") else []
    return WebserviceSkillHandler(app.extensions[SKILL_KEY], verify_signature=False, verify_timestamp=False,
                                  verifiers=verifiers)


_native = _native_handler()


def alexa_handler(event, context):
    """The Alexa Skills Kit trigger: ``event`` is the request envelope, the return value the response. A
    request for another skill raises (Lambda reports the failure to Alexa), as ask-sdk's own handler does."""
    return _native.verify_request_and_dispatch({}, json.dumps(event))
