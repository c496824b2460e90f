#!/usr/bin/env python3
"""Package the skill for AWS Lambda offline and try the artefact as Lambda would: `make lambda-check`.

1. the artefact made as `make package` makes it (scripts/lambda_package.py: `sls package` with no AWS
   credentials, then hash-checked bytecode), into a temporary folder;
2. the zip unpacked, and each handler called in a fresh Python that sees only the standard library and
   the unpacked artefact (``python -S``), as on Lambda's runtime;
3. the HTTP API entry (serverless-wsgi's ``wsgi_handler.handler``) with an HTTP API event carrying a
   LaunchRequest, request verification off (200 with speech) and on without a signature (400); and the
   native Alexa Skills Kit entry (``skill.aws_lambda.alexa_handler``) with the same LaunchRequest.

It prints the artefact's size and each cold start (importing the handler, then the first request), or
with ``--json`` one JSON object. The store is SQLite in a temporary folder: boto3 is Lambda's own and is
not in the artefact (DynamoDB itself is tested against dynalite, tests/test_storage_dynamodb.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from lambda_package import VENV_BIN, package  # noqa: E402 - `make package`'s own steps
from simulator.conversation import launch  # noqa: E402 - a real LaunchRequest envelope

# Runs in the fresh Python: the handler named on the command line, one event, timings.
PROBE = r"""
import json, sys, time
started = time.perf_counter()
root, entry, event = sys.argv[1], sys.argv[2], json.loads(sys.stdin.read())
sys.path.insert(0, root)
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "back-spasm-coach", 512, "probe"
    def get_remaining_time_in_millis(self):
        return 7000
if entry == "web":
    import wsgi_handler as module
    handler = module.handler
else:
    import skill.aws_lambda as module
    handler = module.alexa_handler
imported = time.perf_counter()
answer = handler(event, Context())
done = time.perf_counter()
print(json.dumps({"answer": answer, "import_seconds": imported - started, "first_request_seconds": done - imported,
                  "modules": sorted(m for m in ("boto3", "botocore", "gtts", "pydub") if m in sys.modules)}))
"""


def http_api_event(body: str) -> dict:
    """What API Gateway's HTTP API (payload format 2.0) hands the function for POST /alexa."""
    return {"version": "2.0", "routeKey": "POST /alexa", "rawPath": "/alexa", "rawQueryString": "",
            "headers": {"content-type": "application/json", "host": "example.execute-api.us-east-1.amazonaws.com"},
            "requestContext": {"http": {"method": "POST", "path": "/alexa", "protocol": "HTTP/1.1",
                                        "sourceIp": "203.0.113.7", "userAgent": "Apache-HttpClient"},
                               "domainName": "example.execute-api.us-east-1.amazonaws.com", "stage": "$default",
                               "requestId": "probe"},
            "body": body, "isBase64Encoded": False}


def invoke(root: Path, entry: str, event: dict, env: dict, may_fail: bool = False) -> dict | None:
    """What the handler returned, with timings; None when it raised and ``may_fail``."""
    done = subprocess.run([str(VENV_BIN / "python"), "-S", "-c", PROBE, str(root), entry], input=json.dumps(event),
                          capture_output=True, text=True, timeout=120, env=env)
    if done.returncode != 0:
        if may_fail:
            return None
        raise SystemExit(f"the {entry} handler failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def template_facts(template_path: Path) -> dict:
    """What the CloudFormation template `sls package` wrote grants and declares, for the checks."""
    resources = json.loads(template_path.read_text())["Resources"]
    statements = resources["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    data_access = [st for st in statements if not all(a.startswith("logs:") for a in st["Action"])]
    functions = {name: res["Properties"] for name, res in resources.items() if res["Type"] == "AWS::Lambda::Function"}
    table = next(res["Properties"] for res in resources.values() if res["Type"] == "AWS::DynamoDB::Table")
    routes = [res["Properties"]["RouteKey"] for res in resources.values() if res["Type"] == "AWS::ApiGatewayV2::Route"]
    alexa = [res["Properties"] for res in resources.values()
             if res["Type"] == "AWS::Lambda::Permission" and res["Properties"].get("Principal") == "alexa-appkit.amazon.com"]
    return {"data_actions": sorted(a for st in data_access for a in st["Action"]),
            "data_resources": [st["Resource"] for st in data_access],
            "timeouts": sorted(f["Timeout"] for f in functions.values()),
            "ttl": table.get("TimeToLiveSpecification"), "billing": table.get("BillingMode"),
            "routes": routes, "alexa_trigger_skill_ids": [p.get("EventSourceToken") for p in alexa]}


def check(zip_path: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="lambda-"))
    root = work / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root)
    envelope = launch()
    base = {"PATH": "/usr/bin:/bin", "HOME": str(work), "SKILL_STORE": "sqlite", "SKILL_DB": str(work / "s.sqlite3"),
            "AWS_REGION": "us-east-1", "SKILL_AUDIO_DIR": str(work / "no-tracks")}
    results = {"zip_bytes": zip_path.stat().st_size,
               "unpacked_bytes": sum(p.stat().st_size for p in root.rglob("*") if p.is_file())}
    for name, entry, event, verify in [
        ("web_verification_off", "web", http_api_event(json.dumps(envelope)), "0"),
        ("web_unsigned", "web", http_api_event(json.dumps(envelope)), "1"),
        ("native", "alexa", envelope, "1"),
    ]:
        out = invoke(root, entry, event, {**base, "SKILL_VERIFY_REQUESTS": verify})
        answer = out["answer"]
        if entry == "web":
            status, body = answer.get("statusCode"), json.loads(answer.get("body") or "{}")
        else:
            status, body = 200, answer
        speech = ((body.get("response") or {}).get("outputSpeech") or {}).get("ssml", "")
        results[name] = {"status": status, "speech": speech[:120], "import_seconds": round(out["import_seconds"], 3),
                         "first_request_seconds": round(out["first_request_seconds"], 3),
                         "heavy_modules": out["modules"]}
    # The native trigger skips the HTTP signature, never the skill id: a request for another skill raises.
    other = invoke(root, "alexa", envelope, {**base, "SKILL_ID": "amzn1.ask.skill.someone-else"}, may_fail=True)
    results["native_other_skill_refused"] = other is None
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", help="check this artefact instead of packaging one")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    started = time.monotonic()
    zip_path = Path(args.zip) if args.zip else package(Path(tempfile.mkdtemp(prefix="sls-out-")))
    packaged = time.monotonic() - started
    results = {"package_seconds": round(packaged, 1), **check(zip_path)}
    template = zip_path.parent / "cloudformation-template-update-stack.json"
    if template.is_file():
        results["template"] = template_facts(template)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"artefact: {results['zip_bytes'] / 1e6:.1f} MB zipped, {results['unpacked_bytes'] / 1e6:.1f} MB unpacked "
          f"(packaged in {packaged:.0f} s)")
    for name in ("web_verification_off", "web_unsigned", "native"):
        r = results[name]
        print(f"{name}: HTTP {r['status']}, cold start {r['import_seconds']:.2f} s import + "
              f"{r['first_request_seconds']:.2f} s first request; heavy modules loaded: {r['heavy_modules'] or 'none'}")
    print(f"native trigger, a request for another skill id: {'refused' if results['native_other_skill_refused'] else 'ANSWERED'}")
    if "template" in results:
        print(f"template: {json.dumps(results['template'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
