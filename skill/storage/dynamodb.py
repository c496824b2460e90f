"""Progress in DynamoDB, shared by every instance of the skill (Lambda, several web servers).

Built on ask-sdk's ``DynamoDbAdapter`` (ask-sdk-dynamodb-persistence-adapter), one item per person:

- ``id``: the sha256 of the Alexa user id, as in SQLite (raw ids are never stored);
- ``attributes``: the record as JSON text, so it comes back exactly as saved (DynamoDB numbers would
  come back as Decimal, and it refuses floats), and an unstorable value is refused before any call;
- ``expires_at``: epoch seconds, ``STORE_TTL_DAYS`` after the last save: the table's TTL deletes what
  nobody has touched for that long.

Import this module only when DynamoDB is configured (``skill.storage.open_store`` does): ask-sdk's module
builds a boto3 resource as it is imported, which fails without an AWS region.

Every call is bounded (``TIMEOUTS``): the record is read at the start of a session, a red flag's included,
and DynamoDB's own retries could hold that read for seconds. Throttling is ``StoreBusy`` (the write-behind
queue tries again, nothing is said); anything else is a ``PersistenceException``.
"""

from __future__ import annotations

import json
import os
import time

import boto3
from ask_sdk_core.exceptions import PersistenceException
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# ask-sdk's module makes a boto3 resource for its default argument as it is imported; without a region that
# raises. The resource is never used (DynamoDbStore passes its own), so any region does for it.
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION") or "us-east-1")
from ask_sdk_dynamodb.adapter import DynamoDbAdapter  # noqa: E402

from skill.storage import StoreBusy, user_key

# Seconds: connecting, and waiting for an answer; one attempt (the write-behind queue retries writes).
TIMEOUTS = Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1})
# DynamoDB's answers that mean "the same call will work a little later".
BUSY_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                        "TransactionConflictException"})
PARTITION_KEY = "id"
ATTRIBUTES = "attributes"
EXPIRES = "expires_at"
# Read at start-up to see that the table answers; never written (people's keys are sha256 hex digests).
REACHABILITY_KEY = "reachability-check"


class DynamoDbStore(DynamoDbAdapter):
    """The skill's store on DynamoDB: ``table`` (with the partition key ``id``, a string), reached at
    ``endpoint_url`` when given (a DynamoDB-compatible server such as dynalite), else AWS's."""

    def __init__(self, table: str, region: str, endpoint_url: str | None = None, ttl_days: float = 180,
                 clock=time.time):
        resource = boto3.session.Session(region_name=region).resource("dynamodb", endpoint_url=endpoint_url,
                                                                         config=TIMEOUTS)
        super().__init__(table, partition_key_name=PARTITION_KEY, attribute_name=ATTRIBUTES,
                         partition_keygen=user_key, dynamodb_resource=resource)
        self.ttl_seconds = ttl_days * 24 * 3600
        self.clock = clock

    def get_attributes(self, request_envelope) -> dict:
        key = user_key(request_envelope)
        item = self._call(lambda table: table.get_item(Key={PARTITION_KEY: key}, ConsistentRead=True)).get("Item")
        if item is None:
            return {}
        try:
            attributes = json.loads(item[ATTRIBUTES])
        except (KeyError, TypeError, ValueError) as exc:
            raise PersistenceException(f"the stored item is damaged: {type(exc).__name__}") from exc
        return attributes if isinstance(attributes, dict) else {}

    def save_attributes(self, request_envelope, attributes) -> None:
        key = user_key(request_envelope)
        try:
            text = json.dumps(attributes, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise PersistenceException(f"attributes cannot be stored as JSON: {exc}") from exc
        item = {PARTITION_KEY: key, ATTRIBUTES: text, EXPIRES: int(self.clock() + self.ttl_seconds)}
        self._call(lambda table: table.put_item(Item=item))

    def delete_attributes(self, request_envelope) -> None:
        key = user_key(request_envelope)
        self._call(lambda table: table.delete_item(Key={PARTITION_KEY: key}))

    def check_reachable(self) -> None:
        """One read of a key no person has, the cheapest call the functions' role may make (GetItem): a
        PersistenceException without credentials, network or table. Throttling means the table is there."""
        try:
            self._call(lambda table: table.get_item(Key={PARTITION_KEY: REACHABILITY_KEY}))
        except StoreBusy:
            pass

    def _call(self, action) -> dict:
        try:
            return action(self.dynamodb.Table(self.table_name))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in BUSY_CODES:
                raise StoreBusy(f"DynamoDB is busy: {code}") from exc
            raise PersistenceException(f"DynamoDB refused the call: {code or exc}") from exc
        except (BotoCoreError, OSError) as exc:
            raise PersistenceException(f"DynamoDB could not be reached: {type(exc).__name__}") from exc
