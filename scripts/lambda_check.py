#!/usr/bin/env python3
"""Package the skill for AWS Lambda offline and try the artefact as Lambda would: `make lambda-check`.

1. the artefact made as `make package` makes it (scripts/lambda_package.py: `sls package` with no AWS
   credentials, then hash-checked bytecode), into a temporary folder;
2. the zip unpacked, and each handler called in a fresh Python that sees only the standard library and
   the unpacked artefact (``python -S``), as on Lambda's runtime;
3. the HTTP API entry (serverless-wsgi's ``wsgi_handler.handler``) with an HTTP API event carrying a
   LaunchRequest, request verification off (200 with speech) and on without a signature (400); and the
   native Alexa Skills Kit entry (``skill.aws_lambda.alexa_handler``) with the same LaunchRequest.

4. what is in it: no build-time module (the modules `make` runs to build and upload, and what only they
   import: ``build_time_modules``), no developer folder (simulator, evaluation, tests...), and every
   ``skill`` module that a packaged module imports packaged too (so leaving one out broke nothing).

It prints the artefact's size and each cold start (importing the handler, then the first request), or
with ``--json`` one JSON object. The store is SQLite in a temporary folder: boto3 is Lambda's own and is
not in the artefact (DynamoDB itself is tested against dynalite, tests/test_storage_dynamodb.py).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
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
from simulator.conversation import APPLICATION_ID, launch  # noqa: E402 - a real LaunchRequest envelope

# Runs in the fresh Python: the handler named on the command line, one event, timings.
PROBE = r"""
import json, sys, time
started = time.perf_counter()
root, entry, event = sys.argv[1], sys.argv[2], json.loads(sys.stdin.read())  # (argv[3]: words for the second line)
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
# The second line, loading in its thread since the app was built: it must load from the artefact alone.
line = sys.modules["skill.aws_lambda"].app.extensions.get("second_line")
while line is not None and not line.ready and line.load_error is None and time.perf_counter() - done < 30:
    time.sleep(0.01)
guess = line.guess(sys.argv[3]) if line is not None else None
second_line = None if line is None else {"ready": line.ready, "error": repr(line.load_error) if line.load_error else None,
                                         "load_seconds": line.load_seconds, "guess": guess and guess.flag_id}
print(json.dumps({"answer": answer, "import_seconds": imported - started, "first_request_seconds": done - imported,
                  "modules": sorted(m for m in ("boto3", "botocore", "gtts", "pydub") if m in sys.modules),
                  "second_line": second_line}))
"""


# Words the phrase lists miss and the second line takes for t2_urinary (tests/test_second_line.py).
SECOND_LINE_WORDS = "pain in my side"


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
    done = subprocess.run([str(VENV_BIN / "python"), "-S", "-c", PROBE, str(root), entry, SECOND_LINE_WORDS],
                          input=json.dumps(event),
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


# The skill as Lambda starts it (serverless.yml's two handlers): what these import is needed at run time.
ENTRY_POINTS = ("skill.app", "skill.aws_lambda")
# Folders of the checkout that are for developers only and must never ship.
DEVELOPER_FOLDERS = ("bench", "eval", "evaluation", "scripts", "simulator", "tests")


def modules_under(root: Path, package: str = "skill") -> dict[str, Path]:
    """Every module of ``package`` under ``root``, by dotted name (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def skill_imports(path: Path, known: set[str]) -> set[str]:
    """The ``skill`` modules ``path`` imports, at the top or inside a function (lazy imports count too)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from skill.audio import tracks` imports the module skill.audio.tracks; `from skill.engine
            # import Event` only skill.engine.
            imported.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                            for a in node.names)
    return {name for name in imported if name == "skill" or name.startswith("skill.")}


def imported_closure(graph: dict[str, set[str]], start) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def build_time_modules(root: Path = ROOT) -> set[str]:
    """The modules the Makefile runs as commands (`$(PY) -m skill.X`: the audio build and upload, the
    interaction-model export), and what only they import; never anything the entry points import."""
    modules = modules_under(root)
    graph = {name: skill_imports(path, set(modules)) for name, path in modules.items()}
    commands = set(re.findall(r"\$\(PY\) -m (skill(?:\.\w+)+)", (root / "Makefile").read_text()))
    return imported_closure(graph, commands) - imported_closure(graph, ENTRY_POINTS)


def contents(root: Path) -> dict:
    """What the unpacked artefact at ``root`` holds that should not be there, or is missing."""
    packaged = modules_under(root)
    known = set(packaged) | set(modules_under(ROOT))
    missing = {f"{name} imports {imported}" for name, path in packaged.items()
               for imported in skill_imports(path, known) if imported not in packaged}
    return {"skill_modules": len(packaged),
            "build_time_modules": sorted(build_time_modules() & set(packaged)),
            "developer_folders": sorted(name for name in DEVELOPER_FOLDERS if (root / name).exists()),
            "missing_imports": sorted(missing)}


def check(zip_path: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="lambda-"))
    try:
        return check_unpacked(zip_path, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_unpacked(zip_path: Path, work: Path) -> dict:
    root = work / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root)
    envelope = launch()
    base = {"PATH": "/usr/bin:/bin", "HOME": str(work), "SKILL_STORE": "sqlite", "SKILL_DB": str(work / "s.sqlite3"),
            "AWS_REGION": "us-east-1", "SKILL_AUDIO_DIR": str(work / "no-tracks"), "SKILL_ID": APPLICATION_ID}
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
                         "heavy_modules": out["modules"], "second_line": out["second_line"]}
    # The native trigger skips the HTTP signature, never the skill id: a request for another skill raises.
    other = invoke(root, "alexa", envelope, {**base, "SKILL_ID": "amzn1.ask.skill.someone-else"}, may_fail=True)
    results["native_other_skill_refused"] = other is None
    results["contents"] = contents(root)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", help="check this artefact instead of packaging one")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    started = time.monotonic()
    out = None if args.zip else Path(tempfile.mkdtemp(prefix="sls-out-"))
    try:
        zip_path = Path(args.zip) if args.zip else package(out)
        packaged = time.monotonic() - started
        results = {"package_seconds": round(packaged, 1), **check(zip_path)}
        template = zip_path.parent / "cloudformation-template-update-stack.json"
        if template.is_file():
            results["template"] = template_facts(template)
    finally:
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"artefact: {results['zip_bytes'] / 1e6:.1f} MB zipped, {results['unpacked_bytes'] / 1e6:.1f} MB unpacked "
          f"(packaged in {packaged:.0f} s)")
    for name in ("web_verification_off", "web_unsigned", "native"):
        r = results[name]
        print(f"{name}: HTTP {r['status']}, cold start {r['import_seconds']:.2f} s import + "
              f"{r['first_request_seconds']:.2f} s first request; heavy modules loaded: {r['heavy_modules'] or 'none'}; "
              f"second line: {r['second_line']}")
    print(f"native trigger, a request for another skill id: {'refused' if results['native_other_skill_refused'] else 'ANSWERED'}")
    if "template" in results:
        print(f"template: {json.dumps(results['template'])}")
    found = results["contents"]
    print(f"contents: {found['skill_modules']} skill modules; build-time modules: {found['build_time_modules'] or 'none'}; "
          f"developer folders: {found['developer_folders'] or 'none'}; imports left out: {found['missing_imports'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
