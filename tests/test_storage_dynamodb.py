"""The DynamoDB backend against a real DynamoDB-compatible server: dynalite (npm, installed by
scripts/bootstrap), started on loopback by these tests and stopped after them. Faults come from a small
proxy in front of it that throttles, fails or hangs on request, as DynamoDB does under load."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from ask_sdk_core.exceptions import PersistenceException

from simulator.local_servers import serve_http_on_loopback, start_dynalite
from skill.storage import StoreBusy, open_store, user_key
from storage_contract import ALICE, BOB, PersistenceAdapterContract, request_for

pytestmark = pytest.mark.slow  # a dynalite server (node) for the module, and boto3 for every test

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


@pytest.fixture(scope="module")
def dynalite():
    """The endpoint of a dynalite server (in memory) on loopback, for this module."""
    process, endpoint = start_dynalite()
    # botocore signs every call: any credentials do for dynalite, and none may leak from the machine.
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    yield endpoint
    process.terminate()
    process.wait(timeout=5)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def create_table(endpoint: str, name: str | None = None) -> str:
    """A new, empty table as serverless.yml declares it (string partition key ``id``, on demand)."""
    import boto3

    name = name or f"progress-{uuid.uuid4().hex[:12]}"
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.05})
    return name


def scan(endpoint: str, table: str) -> list[dict]:
    import boto3

    return boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint).scan(TableName=table)["Items"]


def config_for(endpoint: str, table: str) -> dict:
    return {"STORE_BACKEND": "dynamodb", "DYNAMODB_TABLE": table, "DYNAMODB_ENDPOINT": endpoint,
            "AWS_REGION": REGION, "STORE_TTL_DAYS": 180, "DB_PATH": "/nonexistent/never-used.sqlite3"}


@pytest.fixture
def make_adapter(dynalite):
    from skill.storage.dynamodb import DynamoDbStore

    table = create_table(dynalite)
    return lambda: DynamoDbStore(table, REGION, dynalite)


class TestDynamoDbContract(PersistenceAdapterContract):
    """Everything the SQLite store promises the skill, on DynamoDB."""


def test_an_item_holds_the_hashed_id_the_record_as_json_and_when_it_expires(dynalite):
    from skill.storage.dynamodb import DynamoDbStore

    table = create_table(dynalite)
    store = DynamoDbStore(table, REGION, dynalite, ttl_days=180, clock=lambda: 1_000_000)
    store.save_attributes(request_for(ALICE), {"guide": {"step": "rest", "pain": 5.5}})
    (item,) = scan(dynalite, table)
    assert item["id"] == {"S": user_key(request_for(ALICE))} and ALICE not in json.dumps(item)
    assert json.loads(item["attributes"]["S"]) == {"guide": {"step": "rest", "pain": 5.5}}
    assert item["expires_at"] == {"N": str(1_000_000 + 180 * 24 * 3600)}


def test_deleting_a_user_leaves_no_item_behind(dynalite):
    from skill.storage.dynamodb import DynamoDbStore

    table = create_table(dynalite)
    store = DynamoDbStore(table, REGION, dynalite)
    store.save_attributes(request_for(ALICE), {"guide": {"step": "rest"}})
    store.save_attributes(request_for(BOB), {"guide": {"step": "legs_1"}})
    store.delete_attributes(request_for(ALICE))
    assert [item["id"]["S"] for item in scan(dynalite, table)] == [user_key(request_for(BOB))]


# ---------------------------------------------------------------------------- faults, through a proxy
class FaultyProxy:
    """Forwards DynamoDB calls to ``upstream``; ``fail(kind, count)`` makes the next ``count`` calls fail:
    "throttle" (400 ProvisionedThroughputExceededException), "error" (500), "hang" (no answer) or "slow" (the
    answer, 0.15 s late)."""

    BODIES = {"throttle": (400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"),
              "error": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError")}

    def __init__(self, upstream: str):
        self.upstream, self.faults, self.calls, self.lock = upstream, [], 0, threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.calls += 1
                    fault = proxy.faults.pop(0) if proxy.faults else None
                if fault == "hang":
                    time.sleep(3)
                    return
                if fault == "slow":
                    time.sleep(0.15)
                    fault = None
                if fault is not None:
                    status, kind = proxy.BODIES[fault]
                    return self.answer(status, json.dumps({"__type": kind, "message": fault}).encode())
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                with urllib.request.urlopen(urllib.request.Request(proxy.upstream, data=body, headers=headers)) as res:
                    self.answer(res.status, res.read())

            def answer(self, status, payload):
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server, self.url = serve_http_on_loopback(Handler)

    def fail(self, kind: str, count: int = 1) -> None:
        with self.lock:
            self.faults += [kind] * count

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def proxy(dynalite):
    faulty = FaultyProxy(dynalite)
    yield faulty
    faulty.close()


def test_throttling_is_busy_and_an_error_is_a_persistence_failure(dynalite, proxy):
    from skill.storage.dynamodb import DynamoDbStore

    store = DynamoDbStore(create_table(dynalite), REGION, proxy.url)
    proxy.fail("throttle")
    with pytest.raises(StoreBusy):
        store.save_attributes(request_for(ALICE), {"streak": 1})
    proxy.fail("error")
    with pytest.raises(PersistenceException):
        store.get_attributes(request_for(ALICE))
    started = time.monotonic()
    proxy.fail("hang")
    with pytest.raises(PersistenceException):
        store.get_attributes(request_for(ALICE))
    assert time.monotonic() - started < 1.5  # bounded: a session's first read can't eat Alexa's 8 s


def test_a_throttled_save_is_retried_by_the_queue_until_it_lands(dynalite, proxy):
    table = create_table(dynalite)
    store = open_store(config_for(proxy.url, table))
    proxy.fail("throttle", 3)
    store.save_soon(request_for(ALICE), {"guide": {"step": "emergency"}})
    deadline = time.monotonic() + 10
    while not scan(dynalite, table) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [json.loads(i["attributes"]["S"]) for i in scan(dynalite, table)] == [{"guide": {"step": "emergency"}}]
    assert proxy.calls >= 4


def test_a_red_flag_is_answered_at_once_while_dynamodb_hangs_and_its_emergency_is_kept(dynalite, proxy):
    """The skill on DynamoDB, one-shot "my legs have gone numb" while every call hangs: the emergency answer
    comes within the bound of one read, and the emergency is written once DynamoDB answers again."""
    from envelopes import intent
    from said import keys_of
    from skill.app import create_app

    table = create_table(dynalite)
    app = create_app({"VERIFY_REQUESTS": False, "EXPOSE_PROMPT_KEYS": True, **config_for(proxy.url, table)})
    proxy.fail("hang", 2)
    started = time.monotonic()
    res = app.test_client().post("/alexa", json=intent("SymptomIntent", {"symptom": "my legs have gone numb"},
                                                       user_id=ALICE))
    took = time.monotonic() - started
    assert res.status_code == 200 and keys_of(res).say[0] == "emergency.say" and took < 1.5
    deadline = time.monotonic() + 10
    while not scan(dynalite, table) and time.monotonic() < deadline:
        time.sleep(0.05)
    (item,) = scan(dynalite, table)
    assert json.loads(item["attributes"]["S"])["guide"]["step"] == "emergency"


def test_a_table_that_does_not_exist_is_degraded_from_the_start_and_used_once_it_does(dynalite):
    """Issue 22, finding 13: a missing table reported ok at start and every save failed after."""
    from skill.app import create_app

    table = f"progress-{uuid.uuid4().hex[:12]}"
    app = create_app({"VERIFY_REQUESTS": False, **config_for(dynalite, table), "STORE_RETRY_SECONDS": 0.2})
    health = app.test_client().get("/healthz").get_json()
    assert health["status"] == "degraded" and "ResourceNotFoundException" in health["store"]
    create_table(dynalite, table)
    time.sleep(0.3)  # the next call tries the store again
    from envelopes import launch

    assert app.test_client().post("/alexa", json=launch(user_id=ALICE)).status_code == 200
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}


def test_request_ids_are_shared_through_the_table_for_the_replay_window_only(dynalite):
    """Issue 22, finding 6, where several processes share DynamoDB (Lambda containers): a conditional put of the
    request id's hash, kept until its window ends (the table's TTL deletes it; a lapsed one counts as gone)."""
    from skill.storage.replays import DynamoDbRequestIds

    table = create_table(dynalite)
    now = [1_000_000.0]
    one, other = (DynamoDbRequestIds(table, REGION, dynalite, clock=lambda: now[0]) for _ in range(2))
    request_id = "amzn1.echo-api.request.0000-replayed"
    assert one.first_sighting(request_id, 300) is True
    assert other.first_sighting(request_id, 300) is False  # the replay, at another process
    assert other.first_sighting(request_id + "-next", 300) is True
    (item, _) = sorted(scan(dynalite, table), key=lambda i: i["id"]["S"])[:2]
    assert request_id not in json.dumps(scan(dynalite, table))
    assert int(item["expires_at"]["N"]) > now[0] + 300
    now[0] += 302
    assert one.first_sighting(request_id, 300) is True  # the window is over: the timestamp check refuses it now


def test_a_red_flags_record_is_in_dynamodb_when_the_answer_comes(dynalite, proxy):
    """No journal on DynamoDB (no disk outlives a Lambda container, which may be frozen as soon as it has answered):
    the red flag gives DynamoDB a moment (0.3 s) to take the record instead. Before, the answer came first and the
    put was left to a background thread: with DynamoDB answering in 0.15 s, no record was there yet."""
    from envelopes import intent
    from said import keys_of
    from skill.app import create_app

    table = create_table(dynalite)
    app = create_app({"VERIFY_REQUESTS": False, "EXPOSE_PROMPT_KEYS": True, **config_for(proxy.url, table)})
    for n in range(3):
        user_id = f"amzn1.ask.account.DURABLE{n}"
        proxy.fail("slow", 2)  # the read and the write
        started = time.monotonic()
        res = app.test_client().post("/alexa", json=intent("DescribeSymptomIntent",
                                                           {"description": "my legs have gone numb"}, user_id=user_id))
        took = time.monotonic() - started
        assert keys_of(res).say[0] == "emergency.say"
        # In the table by then, unless DynamoDB (here: a loaded machine) took longer than the whole moment.
        written = user_key_of(user_id) in {item["id"]["S"] for item in scan(dynalite, table)}
        assert written or took >= 0.15 + 0.3, f"answered in {took:.2f} s, no record yet"  # the slow read, the moment


def user_key_of(user_id: str) -> str:
    import hashlib

    return hashlib.sha256(user_id.encode()).hexdigest()


def test_a_skill_on_sqlite_never_imports_boto3(tmp_path):
    """boto3 costs start-up time (and ask-sdk's module needs a region as it is imported): only when configured."""
    import sys

    code = ("import sys; from skill.app import create_app; from envelopes import launch; "
            f"app = create_app({{'VERIFY_REQUESTS': False, 'DB_PATH': {str(tmp_path / 's.sqlite3')!r}}}); "
            "app.test_client().post('/alexa', json=launch()); "
            "print(sorted(m for m in ('boto3', 'botocore', 'ask_sdk_dynamodb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
