"""Request ids already answered, shared by every process that serves the skill, for the replay check
(skill/web/verification.py, ``ReplayVerifier``): each process keeps its own list too, and these see replays
that reach another process (another gunicorn worker, another Lambda container).

- DynamoDB: a conditional put into the progress table, under a key no person's can be (``request:`` and the
  sha256 of the request id), with ``expires_at`` set so the table's TTL removes it.
- SQLite: a small file of its own beside the progress file (``<DB_PATH>-request-ids``), so that this check
  never touches the file people's progress is in, nor its locks.

``first_sighting(request_id, keep_for)`` is True the first time an id is seen, False for a replay; a store
that cannot be reached raises ``RequestIdsUnavailable`` and the caller relies on its own process's list: a
genuine request is never refused because this store is down.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time


class RequestIdsUnavailable(Exception):
    """The shared list could not be asked."""


def _key(request_id: str) -> str:
    return hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()


class DynamoDbRequestIds:
    PREFIX = "request:"

    def __init__(self, table: str, region: str, endpoint_url: str | None = None, clock=time.time):
        import boto3  # only when DynamoDB is configured (skill/storage/dynamodb.py says why)

        from skill.storage.dynamodb import EXPIRES, PARTITION_KEY, TIMEOUTS

        self._table = boto3.session.Session(region_name=region).resource(
            "dynamodb", endpoint_url=endpoint_url, config=TIMEOUTS).Table(table)
        self._partition_key, self._expires, self._clock = PARTITION_KEY, EXPIRES, clock

    def first_sighting(self, request_id: str, keep_for: float) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        now = int(self._clock())
        try:
            self._table.put_item(
                Item={self._partition_key: self.PREFIX + _key(request_id), self._expires: now + int(keep_for) + 1},
                # TTL deletes lazily: an item past its time counts as gone.
                ConditionExpression="attribute_not_exists(#id) OR #expires < :now",
                ExpressionAttributeNames={"#id": self._partition_key, "#expires": self._expires},
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise RequestIdsUnavailable(exc.response.get("Error", {}).get("Code", "ClientError")) from exc
        except (BotoCoreError, OSError) as exc:
            raise RequestIdsUnavailable(type(exc).__name__) from exc
        return True


class SqliteRequestIds:
    #: Ids past their time are deleted every so many sightings.
    PURGE_EVERY = 500

    def __init__(self, path: str, clock=time.time):
        self._path, self._clock = path, clock
        self._lock = threading.Lock()
        self._connection = None
        self._sightings = 0

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, timeout=0.1, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")  # a crash forgets the last ids: a moment's weaker check
        connection.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, expires REAL NOT NULL)")
        return connection

    def first_sighting(self, request_id: str, keep_for: float) -> bool:
        now = self._clock()
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._connect()
                cursor = self._connection.execute(
                    "INSERT INTO seen (id, expires) VALUES (?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET expires = excluded.expires WHERE seen.expires < ?",
                    (_key(request_id), now + keep_for, now))
                self._sightings += 1
                if self._sightings % self.PURGE_EVERY == 0:
                    self._connection.execute("DELETE FROM seen WHERE expires < ?", (now,))
                return cursor.rowcount == 1
            except sqlite3.Error as exc:
                if self._connection is not None:
                    self._connection.close()
                self._connection = None  # opened again next time: the file may have been replaced
                raise RequestIdsUnavailable(f"{type(exc).__name__}: {exc}") from exc


def shared_request_ids(config):
    """The shared list for the configured store."""
    if config.get("STORE_BACKEND") == "dynamodb":
        return DynamoDbRequestIds(config["DYNAMODB_TABLE"], config["AWS_REGION"], config.get("DYNAMODB_ENDPOINT"))
    return SqliteRequestIds(f"{config['DB_PATH']}-request-ids")
