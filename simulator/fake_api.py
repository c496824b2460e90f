"""A fake of the Alexa APIs a skill calls back into, served on loopback for the simulator.

Simulated request envelopes carry ``context.System.apiEndpoint = FakeAlexaApi.url`` and an
``apiAccessToken`` from ``register_user``, so the skill's own ask-sdk service clients
(``TimerManagementServiceClient``, ``ReminderManagementServiceClient``,
``DirectiveServiceClient``) reach this server over real HTTP, exactly as they reach
``https://api.amazonalexa.com`` in production.

HTTPS: ask-sdk-core's ``DefaultApiClient`` (it uses ``requests``) refuses any endpoint that is
not ``https://`` ("Requests against non-HTTPS endpoints are not allowed."). So the server speaks
TLS by default, with a throw-away CA and a certificate for 127.0.0.1/localhost made at start
(needs the ``cryptography`` package, a test dependency). With ``trust_requests=True`` (default)
``start()`` points ``REQUESTS_CA_BUNDLE`` at a bundle of that CA plus the previous bundle (or
certifi's roots), so ``requests`` in this process trusts the server and still trusts the
internet; ``stop()`` puts the variable back. A skill in another process needs
``REQUESTS_CA_BUNDLE=<fake.ca_file>`` in its environment. ``ssl_context()`` is for urllib.

What it implements (paths, payloads, shapes) follows Amazon's Timers REST API, Reminders REST
API and Progressive Response API references, and the ask-sdk-model clients that call them
(status codes each client expects are in its ``error_definitions``). Where Amazon does not
document an error ``code`` string the choice is marked "simulator's choice" below.

Time is the simulator's ``SimClock``: nothing fires on its own; ``due(now)`` returns (and marks
fired) every timer and reminder whose time has come.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simulator.clock import SimClock, format_iso8601_duration, parse_iso8601_duration

__all__ = [
    "FakeAlexaApi",
    "Alert",
    "RequestRecord",
    "TIMERS_SCOPE",
    "REMINDERS_SCOPE",
    "MIN_TIMER_DURATION",
    "MAX_TIMER_DURATION",
]

TIMERS_SCOPE = "alexa::alerts:timers:skill:readwrite"
REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"
MIN_TIMER_DURATION = timedelta(seconds=1)
MAX_TIMER_DURATION = timedelta(hours=24)

TIMER_OPERATIONS = ("ANNOUNCE", "NOTIFY_ONLY", "LAUNCH_TASK")
VISIBILITIES = ("VISIBLE", "HIDDEN")
TRIGGER_TYPES = ("SCHEDULED_ABSOLUTE", "SCHEDULED_RELATIVE")
PUSH_STATUSES = ("ENABLED", "DISABLED")
RECURRENCE_FREQS = ("DAILY", "WEEKLY")
RECURRENCE_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")

_UNSET = object()
_OUR_BUNDLES: set[str] = set()  # REQUESTS_CA_BUNDLE values set by fakes in this process


# --------------------------------------------------------------------------- public records
@dataclass(frozen=True)
class Alert:
    """A timer or reminder that went off.

    ``operation`` is the timer's ANNOUNCE / NOTIFY_ONLY / LAUNCH_TASK (None for a reminder);
    ``text`` is what Alexa says (textToAnnounce, textToConfirm, or the reminder's spoken text);
    ``task`` is the LAUNCH_TASK ``{name, version, input}`` to relaunch the skill with.
    """

    kind: str  # "timer" | "reminder"
    user_id: str
    id: str  # timer id or reminder alertToken
    operation: str | None
    text: str | None
    task: dict | None
    label: str | None
    at: datetime  # when it was due (UTC)
    locale: str | None = None


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int


class ApiError(Exception):
    def __init__(self, status: int, code: Any, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- internal state
@dataclass
class _Timer:
    id: str
    duration_text: str
    duration: timedelta
    label: str | None
    visibility: str
    operation: dict
    play_audible: bool
    created: datetime
    updated: datetime
    status: str = "ON"  # ON | PAUSED | OFF
    trigger_time: datetime | None = None
    remaining: timedelta | None = None  # while PAUSED


@dataclass
class _Reminder:
    token: str
    request: dict  # the validated request body
    created: datetime
    updated: datetime
    next_fire: datetime | None
    base: datetime  # what offsetInSeconds counts from: when it was created or last updated
    status: str = "ON"  # ON | COMPLETED
    version: int = 1


@dataclass
class _User:
    user_id: str
    scopes: set = field(default_factory=set)
    in_session: bool = True
    current_request: Any = _UNSET  # _UNSET: not tracked; None: no request in flight; str: its id
    timers: dict = field(default_factory=dict)
    reminders: dict = field(default_factory=dict)
    progressive: list = field(default_factory=list)


def _as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _iso_z(dt: datetime) -> str:
    """2021-08-13T10:25:30Z (milliseconds only when there are some), as in Amazon's examples."""
    dt = _as_utc(dt)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- validation helpers
def _bad(message: str) -> ApiError:
    return ApiError(400, "INVALID_REQUEST", message)


def _obj(value: Any, where: str, allowed: set[str], required: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        raise _bad(f"{where} must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _bad(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    for key in required:
        if value.get(key) is None:
            raise _bad(f"{where}.{key} is required")
    return value


def _nonempty_str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{where} must be a non-empty string")
    return value


def _texts(value: Any, where: str, extra: tuple[str, ...] = ()) -> list[dict]:
    """[{locale, text}] as Timers (textToAnnounce, textToConfirm) and Reminders (content) take."""
    if not isinstance(value, list) or not value:
        raise _bad(f"{where} must be a non-empty list of {{locale, text}}")
    for i, item in enumerate(value):
        _obj(item, f"{where}[{i}]", {"locale", "text", *extra}, ("locale",))
        _nonempty_str(item["locale"], f"{where}[{i}].locale")
        if "ssml" in extra and item.get("text") is None and item.get("ssml") is not None:
            _check_ssml(item["ssml"], f"{where}[{i}].ssml")
        else:
            _nonempty_str(item.get("text"), f"{where}[{i}].text")
        if item.get("ssml") is not None:
            _check_ssml(item["ssml"], f"{where}[{i}].ssml")
    return value


def _check_ssml(value: Any, where: str) -> None:
    _nonempty_str(value, where)
    try:
        root = ET.fromstring(value)
    except ET.ParseError as exc:
        raise _bad(f"{where} is not well-formed SSML: {exc}") from None
    if root.tag != "speak":
        raise _bad(f"{where} must be wrapped in <speak>")


def _parse_local_time(value: Any, where: str, *, allow_offset: bool) -> datetime:
    _nonempty_str(value, where)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(f"{where} is not an ISO-8601 date-time: {value!r}") from None
    if parsed.tzinfo is not None and not allow_offset:
        raise _bad(f"{where} must be a local time without a UTC offset (the zone is timeZoneId): {value!r}")
    return parsed


def _zone(name: Any, where: str) -> ZoneInfo:
    _nonempty_str(name, where)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"{where} is not a known time zone: {name!r}") from None


def _localize(naive: datetime, tz: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=tz).astimezone(timezone.utc)


def _to_local_naive(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt.astimezone(tz).replace(tzinfo=None)


# --------------------------------------------------------------------------- the server
class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeAlexaApi/1.0"
    timeout = 5  # a stalled client cannot hold a worker (or stop()) for long

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def _handle(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        status, payload = self.server.api._handle(self.command, self.path, self.headers, raw)
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every worker: nothing outlives stop()
    block_on_close = True
    request_queue_size = 64  # a burst of connections must not overflow the listen backlog

    def __init__(self, address, api: "FakeAlexaApi", ssl_context: ssl.SSLContext | None, family):
        self.address_family = family
        self.api = api
        self.ssl_context = ssl_context
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        request.settimeout(_Handler.timeout)
        try:  # the TLS handshake happens here, in the worker thread, not in the accept loop
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


def _make_certificates(directory: str, host: str) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate for loopback; returns (ca, cert, key) paths."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:  # pragma: no cover - cryptography is a test dependency
        raise RuntimeError("FakeAlexaApi needs the 'cryptography' package for HTTPS "
                           "(pip install cryptography), or pass tls=False") from exc

    def usage(**on):
        names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                 "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
        return x509.KeyUsage(**{n: on.get(n, False) for n in names})

    now = datetime.now(timezone.utc)  # TLS checks use the real clock, not the simulated one
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Alexa API local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                   x509.IPAddress(ipaddress.ip_address("::1"))]
    if host not in ("localhost", "127.0.0.1", "::1"):
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(digital_signature=True, key_agreement=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tuple(os.path.join(directory, n) for n in ("ca.pem", "cert.pem", "key.pem"))
    with open(paths[0], "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths  # type: ignore[return-value]


class FakeAlexaApi:
    """Timers, Reminders and Progressive Response APIs for simulated users, on loopback.

    Use as ``with FakeAlexaApi(clock) as api:`` or ``api = FakeAlexaApi(clock).start()`` ...
    ``api.stop()``. Thread-safe: the skill's requests arrive on server threads while the
    simulator inspects state and calls ``due()`` on its own.
    """

    def __init__(self, clock: SimClock, host: str = "127.0.0.1", port: int = 0, *,
                 tls: bool = True, trust_requests: bool = True, device_time_zone: str = "UTC"):
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"FakeAlexaApi only listens on loopback, not {host!r}")
        self.clock = clock
        self.host = host
        self.port = port
        self.tls = tls
        self.trust_requests = trust_requests and tls
        self.device_time_zone = ZoneInfo(device_time_zone)
        self._lock = threading.RLock()
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, str] = {}
        self._log: list[RequestRecord] = []
        self._failures: list[tuple[str, int | None]] = []  # (path prefix, status or None to let through)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: str | None = None
        self._ca_path: str | None = None
        self._bundle_path: str | None = None
        self._env_before: Any = _UNSET

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FakeAlexaApi":
        if self._server is not None:
            return self
        context = None
        if self.tls:
            self._tmpdir = tempfile.mkdtemp(prefix="fake-alexa-api-")
            self._ca_path, cert, key = _make_certificates(self._tmpdir, self.host)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._bundle_path = os.path.join(self._tmpdir, "bundle.pem")
            _OUR_BUNDLES.add(self._bundle_path)
            with open(self._bundle_path, "wb") as f:
                f.write(self._base_bundle() + b"\n")
                with open(self._ca_path, "rb") as ca:
                    f.write(ca.read())
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = _Server((self.host, self.port), self, context, family)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"fake-alexa-api:{self.port}", daemon=True)
        self._thread.start()
        if self.trust_requests:
            self._env_before = os.environ.get("REQUESTS_CA_BUNDLE")
            os.environ["REQUESTS_CA_BUNDLE"] = self._bundle_path
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()  # joins the worker threads
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.trust_requests and os.environ.get("REQUESTS_CA_BUNDLE") == self._bundle_path:
            previous = self._env_before
            stale = previous in _OUR_BUNDLES and not os.path.exists(previous)  # a fake stopped first
            if previous is None or stale:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            elif previous is not _UNSET:
                os.environ["REQUESTS_CA_BUNDLE"] = previous
        self._env_before = _UNSET
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "FakeAlexaApi":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def thread(self) -> threading.Thread | None:
        """The serving thread (for tests: not alive after ``stop()``)."""
        return self._thread

    @property
    def url(self) -> str:
        """What goes into ``context.System.apiEndpoint``, e.g. ``https://127.0.0.1:50123``."""
        if self._server is None:
            raise RuntimeError("FakeAlexaApi is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def ca_file(self) -> str | None:
        """PEM bundle that trusts this server (and whatever was trusted before): REQUESTS_CA_BUNDLE."""
        return self._bundle_path

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context for urllib that verifies this server's certificate."""
        if not self.tls:
            return None
        if self._ca_path is None:
            raise RuntimeError("FakeAlexaApi is not started")
        return ssl.create_default_context(cafile=self._ca_path)

    @staticmethod
    def _base_bundle() -> bytes:
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        candidates = [previous] if previous else []
        try:
            import certifi

            candidates.append(certifi.where())
        except ImportError:  # pragma: no cover
            pass
        for path in candidates:
            try:
                with open(path, "rb") as f:
                    return f.read()
            except OSError:
                continue
        return b""

    # ------------------------------------------------------------------ users and permissions
    def _user(self, user_id: str) -> _User:
        user = self._users.get(user_id)
        if user is None:
            user = self._users[user_id] = _User(user_id)
        return user

    def register_user(self, user_id: str) -> str:
        """A fresh opaque access token for the user (the envelope's ``apiAccessToken``).

        Earlier tokens of the user stay valid. A new user starts in session, with no permissions.
        """
        token = "sim-api-token." + secrets.token_urlsafe(24)
        with self._lock:
            self._user(user_id)
            self._tokens[token] = user_id
        return token

    def grant(self, user_id: str, scope: str) -> None:
        with self._lock:
            self._user(user_id).scopes.add(scope)

    def revoke(self, user_id: str, scope: str) -> None:
        with self._lock:
            self._user(user_id).scopes.discard(scope)

    def has_permission(self, user_id: str, scope: str) -> bool:
        with self._lock:
            return scope in self._user(user_id).scopes

    def set_in_session(self, user_id: str, in_session: bool) -> None:
        """Whether the user's token is an in-session one (create/pause/resume need that)."""
        with self._lock:
            self._user(user_id).in_session = bool(in_session)

    def set_current_request(self, user_id: str, request_id: str | None) -> None:
        """Optional: the request the skill is answering right now.

        Once set, a progressive response must name this request id (403 otherwise, and while
        it is None, i.e. no request in flight). Never set: any request id is accepted.
        """
        with self._lock:
            self._user(user_id).current_request = request_id

    # ------------------------------------------------------------------ inspection
    def timers(self, user_id: str, *, active_only: bool = False) -> list[dict]:
        """The user's timers as ``GET /v1/alerts/timers/{id}`` returns them (fired ones are OFF)."""
        with self._lock:
            timers = self._sorted_timers(self._user(user_id))
            return [self._timer_json(t) for t in timers if not active_only or t.status != "OFF"]

    def reminders(self, user_id: str) -> list[dict]:
        """The user's reminders as ``GET /v1/alerts/reminders/{alertToken}`` returns them."""
        with self._lock:
            user = self._user(user_id)
            return [self._reminder_json(r) for r in sorted(user.reminders.values(), key=lambda r: r.created)]

    def progressive(self, user_id: str) -> list[dict]:
        """Progressive responses received for the user: ``{"requestId", "speech", "time"}``."""
        with self._lock:
            return [dict(p) for p in self._user(user_id).progressive]

    def fail_next(self, status: int, path: str = "/v1/alerts/timers", count: int = 1, after: int = 0) -> None:
        """After ``after`` more calls whose path starts with ``path`` succeed, the next ``count`` fail with
        ``status`` (401, 403, 429, 500, 504...), as Amazon's API does when permission is missing, under
        throttling, when the service is down, or when the device is offline (504)."""
        with self._lock:
            self._failures.extend([(path, None)] * after + [(path, status)] * count)

    @property
    def requests_log(self) -> list[RequestRecord]:
        """Every request served: ``RequestRecord(method, path, status)``, oldest first."""
        with self._lock:
            return list(self._log)

    # ------------------------------------------------------------------ firing
    def due(self, now: datetime | None = None) -> list[Alert]:
        """Every timer and reminder whose time has come by ``now``; each is marked fired.

        A timer goes OFF. A one-off reminder becomes COMPLETED; a recurring one moves to its next
        occurrence (every occurrence passed over is returned). Paused timers never fire.
        """
        now = _as_utc(now) if now is not None else self.clock.now()
        alerts: list[Alert] = []
        with self._lock:
            for user in self._users.values():
                for timer in user.timers.values():
                    if timer.status == "ON" and timer.trigger_time is not None and timer.trigger_time <= now:
                        timer.status = "OFF"
                        timer.updated = now
                        alerts.append(self._timer_alert(user.user_id, timer))
                for reminder in user.reminders.values():
                    for _ in range(1000):  # bounded: a minutely rule over a long wait
                        if reminder.status != "ON" or reminder.next_fire is None or reminder.next_fire > now:
                            break
                        alerts.append(self._reminder_alert(user.user_id, reminder))
                        following = self._next_fire(reminder.request["trigger"], reminder.base,
                                                    after=reminder.next_fire, inclusive=False)
                        reminder.next_fire = following
                        reminder.updated = now
                        if following is None:
                            reminder.status = "COMPLETED"
        alerts.sort(key=lambda a: (a.at, a.kind))
        return alerts

    @staticmethod
    def _timer_alert(user_id: str, timer: _Timer) -> Alert:
        op = timer.operation
        kind = op["type"]
        texts = op.get("textToAnnounce") if kind == "ANNOUNCE" else op.get("textToConfirm")
        first = texts[0] if texts else {}
        return Alert(kind="timer", user_id=user_id, id=timer.id, operation=kind, text=first.get("text"),
                     task=copy.deepcopy(op.get("task")), label=timer.label, at=timer.trigger_time,
                     locale=first.get("locale"))

    @staticmethod
    def _reminder_alert(user_id: str, reminder: _Reminder) -> Alert:
        content = reminder.request["alertInfo"]["spokenInfo"]["content"][0]
        return Alert(kind="reminder", user_id=user_id, id=reminder.token, operation=None,
                     text=content.get("text") or content.get("ssml"), task=None, label=None,
                     at=reminder.next_fire, locale=content.get("locale"))

    # ------------------------------------------------------------------ HTTP dispatch
    def _handle(self, method: str, raw_path: str, headers, raw_body: bytes) -> tuple[int, dict | None]:
        path = urlsplit(raw_path).path
        parts = [unquote(p) for p in path.split("/") if p]
        directives = parts[:2] == ["v1", "directives"]
        try:
            self._injected_failure(path)
            status, payload = self._route(method, parts, headers, raw_body)
        except ApiError as err:
            # The Progressive Response API's Error model (ask_sdk_model.services.directive.error)
            # types ``code`` as an int: a string there makes the SDK fail to deserialise the
            # error, so the status code stands in as the code (simulator's choice).
            code = err.status if directives else err.code
            status, payload = err.status, {"code": code, "message": err.message}
        except Exception as exc:  # pragma: no cover - a bug here must not kill the server thread
            status, payload = 500, {"code": 500 if directives else "INTERNAL_SERVER_ERROR", "message": repr(exc)}
        with self._lock:
            self._log.append(RequestRecord(method, path, status))
        return status, payload

    # Error codes for injected failures (simulator's choice where Amazon documents none).
    _FAILURE_CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR",
                      504: "DEVICE_NOT_REACHABLE"}

    def _injected_failure(self, path: str) -> None:
        with self._lock:
            for i, (prefix, status) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[i]
                    if status is None:  # a call let through before the failures
                        return
                    raise ApiError(status, self._FAILURE_CODES.get(status, "ERROR"), f"injected failure {status}")

    def _route(self, method, parts, headers, raw_body):
        if len(parts) == 5 and parts[:2] == ["v2", "devices"] and parts[3:] == ["settings", "System.timeZone"]:
            # Settings API: the device's time zone, a JSON string; no permission needed.
            return self._dispatch(method, {"GET": lambda user, _raw: (200, self.device_time_zone.key)},
                                  headers, raw_body)
        if parts[:3] == ["v1", "alerts", "timers"] and len(parts) <= 5:
            rest = parts[3:]
            if not rest:
                return self._dispatch(method, {"GET": self._list_timers, "POST": self._create_timer,
                                               "DELETE": self._delete_timers}, headers, raw_body)
            if len(rest) == 1:
                return self._dispatch(method, {"GET": self._get_timer, "DELETE": self._delete_timer},
                                      headers, raw_body, rest[0])
            if rest[1] in ("pause", "resume"):
                handler = self._pause_timer if rest[1] == "pause" else self._resume_timer
                return self._dispatch(method, {"POST": handler}, headers, raw_body, rest[0])
        if parts[:3] == ["v1", "alerts", "reminders"] and len(parts) <= 4:
            if len(parts) == 3:
                return self._dispatch(method, {"GET": self._list_reminders, "POST": self._create_reminder},
                                      headers, raw_body)
            return self._dispatch(method, {"GET": self._get_reminder, "PUT": self._update_reminder,
                                           "DELETE": self._delete_reminder}, headers, raw_body, parts[3])
        if parts == ["v1", "directives"]:
            return self._dispatch(method, {"POST": self._send_directive}, headers, raw_body)
        raise ApiError(404, "NOT_FOUND", "No such resource: /" + "/".join(parts))

    def _dispatch(self, method, table, headers, raw_body, *args):
        handler = table.get(method)
        if handler is None:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here; use {', '.join(table)}")
        user = self._authenticate(headers)
        with self._lock:
            return handler(user, raw_body, *args)

    def _authenticate(self, headers) -> _User:
        # 401 for a missing or unknown bearer token: every ask-sdk timer, reminder and directive
        # client lists 401 Unauthorized; the references require the apiAccessToken as Bearer.
        value = (headers.get("Authorization") if headers is not None else None) or ""
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "UNAUTHORIZED", "Missing bearer token: send 'Authorization: Bearer {apiAccessToken}'")
        with self._lock:
            user_id = self._tokens.get(token.strip())
            if user_id is None:
                raise ApiError(401, "UNAUTHORIZED", "The access token is invalid or expired")
            return self._user(user_id)

    @staticmethod
    def _require_scope(user: _User, scope: str) -> None:
        # Not granted -> 401 UNAUTHORIZED. The SDK's only status shared by every operation of both
        # clients is 401, and its reminder 401 reads "... e.g. If customer does not have permission
        # to create a reminder"; a skill without consent gets 401 in practice (alexa-cookbook#282).
        if scope not in user.scopes:
            raise ApiError(401, "UNAUTHORIZED", f"The user has not granted the permission {scope}")

    @staticmethod
    def _require_session(user: _User, what: str) -> None:
        # Timers: "You can create, pause, and resume a timer from a skill session only."
        # Reminders: "you can only create and update a reminder from your skill".
        # 403 Forbidden: the one status the SDK's create_timer / create_reminder list besides 401
        # for a request that is authenticated but not allowed (code string: simulator's choice).
        if not user.in_session:
            raise ApiError(403, "FORBIDDEN", f"{what} is allowed only with an in-session access token")

    @staticmethod
    def _json_body(raw_body: bytes) -> dict:
        if not raw_body:
            raise _bad("The request body is empty")
        try:
            body = json.loads(raw_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _bad(f"The request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise _bad("The request body must be a JSON object")
        return body

    # ------------------------------------------------------------------ timers
    def _sorted_timers(self, user: _User) -> list[_Timer]:
        # "returned, sorted in order from the timer with the shortest duration to the longest"
        return sorted(user.timers.values(), key=lambda t: (t.duration, t.created))

    def _timer_json(self, t: _Timer) -> dict:
        out: dict = {"id": t.id, "status": t.status, "duration": t.duration_text}
        if t.label is not None:
            out["timerLabel"] = t.label
        if t.status != "PAUSED":
            out["triggerTime"] = _iso_z(t.trigger_time)
        out["createdTime"] = _iso_z(t.created)
        out["updatedTime"] = _iso_z(t.updated)
        if t.status == "PAUSED":
            out["remainingTimeWhenPaused"] = format_iso8601_duration(t.remaining)
        return out

    def _find_timer(self, user: _User, timer_id: str) -> _Timer:
        timer = user.timers.get(timer_id)
        if timer is None:
            raise ApiError(404, "TIMER_NOT_FOUND", f"No timer with id {timer_id}")
        return timer

    def _list_timers(self, user, _raw):
        self._require_scope(user, TIMERS_SCOPE)
        timers = [self._timer_json(t) for t in self._sorted_timers(user)]
        return 200, {"timers": timers, "totalCount": len(timers), "nextToken": None}

    def _get_timer(self, user, _raw, timer_id):
        self._require_scope(user, TIMERS_SCOPE)
        return 200, self._timer_json(self._find_timer(user, timer_id))

    def _delete_timer(self, user, _raw, timer_id):
        self._require_scope(user, TIMERS_SCOPE)
        self._find_timer(user, timer_id)
        del user.timers[timer_id]
        return 200, None

    def _delete_timers(self, user, _raw):
        self._require_scope(user, TIMERS_SCOPE)
        user.timers.clear()
        return 200, None

    def _pause_timer(self, user, _raw, timer_id):
        self._require_scope(user, TIMERS_SCOPE)
        self._require_session(user, "Pausing a timer")
        timer = self._find_timer(user, timer_id)
        now = self.clock.now()
        if timer.status == "OFF":
            raise _bad(f"Timer {timer_id} has already gone off")
        if timer.status == "ON":  # pausing a paused timer is a no-op: Amazon documents no conflict
            timer.remaining = max(timer.trigger_time - now, timedelta(0))
            timer.trigger_time = None
            timer.status = "PAUSED"
            timer.updated = now
        return 200, None

    def _resume_timer(self, user, _raw, timer_id):
        self._require_scope(user, TIMERS_SCOPE)
        self._require_session(user, "Resuming a timer")
        timer = self._find_timer(user, timer_id)
        now = self.clock.now()
        if timer.status == "OFF":
            raise _bad(f"Timer {timer_id} has already gone off")
        if timer.status == "PAUSED":  # resuming a running timer is a no-op
            timer.trigger_time = now + timer.remaining
            timer.remaining = None
            timer.status = "ON"
            timer.updated = now
        return 200, None

    def _create_timer(self, user, raw):
        self._require_scope(user, TIMERS_SCOPE)
        self._require_session(user, "Creating a timer")
        body = self._json_body(raw)
        spec = self._validate_timer(body)
        if spec["label"] is not None:
            # "If you use timer labels, they must be unique. Otherwise, a 400 error returns."
            taken = {t.label.casefold() for t in user.timers.values() if t.label and t.status != "OFF"}
            if spec["label"].casefold() in taken:
                raise _bad(f"A timer labelled {spec['label']!r} already exists")
        now = self.clock.now()
        timer = _Timer(id=str(uuid.uuid4()), duration_text=spec["duration_text"], duration=spec["duration"],
                       label=spec["label"], visibility=spec["visibility"], operation=spec["operation"],
                       play_audible=spec["play_audible"], created=now, updated=now,
                       trigger_time=now + spec["duration"])  # counted from when the request arrives
        user.timers[timer.id] = timer
        return 200, self._timer_json(timer)

    @staticmethod
    def _validate_timer(body: dict) -> dict:
        if "label" in body:
            # The classic mistake (it was in Amazon's own cookbook demo, alexa-cookbook#274): the
            # field is timerLabel. Amazon's reference lists no `label`, and real Alexa answered that
            # request with an error (reported as a 500); here it is a 400 that names the fix.
            raise _bad("Unknown field 'label': the timer's name goes in 'timerLabel'")
        # Unknown fields anywhere are refused (simulator's choice: Amazon does not document how it
        # treats them, and the ask-sdk models never send any).
        _obj(body, "body", {"duration", "timerLabel", "creationBehavior", "triggeringBehavior"},
             ("duration", "creationBehavior", "triggeringBehavior"))
        duration_text = body["duration"]
        if not isinstance(duration_text, str):
            raise _bad("duration must be an ISO-8601 duration string such as PT15M")
        try:
            duration = parse_iso8601_duration(duration_text)
        except ValueError:
            raise _bad(f"duration is not an ISO-8601 duration (e.g. PT15M): {duration_text!r}") from None
        if not MIN_TIMER_DURATION <= duration <= MAX_TIMER_DURATION:
            raise _bad(f"duration must be between PT1S and PT24H, not {duration_text}")
        label = body.get("timerLabel")
        if label is not None:
            _nonempty_str(label, "timerLabel")
        creation = _obj(body["creationBehavior"], "creationBehavior", {"displayExperience"}, ("displayExperience",))
        display = _obj(creation["displayExperience"], "creationBehavior.displayExperience", {"visibility"},
                       ("visibility",))
        if display["visibility"] not in VISIBILITIES:
            raise _bad(f"creationBehavior.displayExperience.visibility must be VISIBLE or HIDDEN, "
                       f"not {display['visibility']!r}")
        triggering = _obj(body["triggeringBehavior"], "triggeringBehavior", {"operation", "notificationConfig"},
                          ("operation", "notificationConfig"))
        op = triggering["operation"]
        if not isinstance(op, dict) or op.get("type") not in TIMER_OPERATIONS:
            kind = op.get("type") if isinstance(op, dict) else op
            raise _bad(f"triggeringBehavior.operation.type must be one of {', '.join(TIMER_OPERATIONS)}, not {kind!r}")
        where = "triggeringBehavior.operation"
        if op["type"] == "ANNOUNCE":
            _obj(op, where, {"type", "textToAnnounce"}, ("textToAnnounce",))
            _texts(op["textToAnnounce"], where + ".textToAnnounce")
        elif op["type"] == "NOTIFY_ONLY":
            _obj(op, where, {"type"})
        else:  # LAUNCH_TASK
            _obj(op, where, {"type", "textToConfirm", "task"}, ("textToConfirm", "task"))
            _texts(op["textToConfirm"], where + ".textToConfirm")
            task = _obj(op["task"], where + ".task", {"name", "version", "input"}, ("name", "version"))
            _nonempty_str(task["name"], where + ".task.name")
            _nonempty_str(task["version"], where + ".task.version")
            if task.get("input") is not None and not isinstance(task["input"], dict):
                raise _bad(where + ".task.input must be an object")
        notification = _obj(triggering["notificationConfig"], "triggeringBehavior.notificationConfig",
                            {"playAudible"}, ("playAudible",))
        if not isinstance(notification["playAudible"], bool):
            raise _bad("triggeringBehavior.notificationConfig.playAudible must be true or false")
        return {"duration_text": duration_text, "duration": duration, "label": label,
                "visibility": display["visibility"], "operation": copy.deepcopy(op),
                "play_audible": notification["playAudible"]}

    # ------------------------------------------------------------------ reminders
    def _reminder_json(self, r: _Reminder) -> dict:
        request = r.request
        return {
            "alertToken": r.token,
            "createdTime": _iso_z(r.created),
            "updatedTime": _iso_z(r.updated),
            "trigger": copy.deepcopy(request["trigger"]),
            "status": r.status,
            "alertInfo": copy.deepcopy(request["alertInfo"]),
            "pushNotification": copy.deepcopy(request.get("pushNotification") or {"status": "ENABLED"}),
            "version": str(r.version),
        }

    @staticmethod
    def _reminder_response(r: _Reminder) -> dict:
        return {"alertToken": r.token, "createdTime": _iso_z(r.created), "updatedTime": _iso_z(r.updated),
                "status": r.status, "version": str(r.version), "href": f"/v1/alerts/reminders/{r.token}"}

    def _find_reminder(self, user: _User, token: str) -> _Reminder:
        reminder = user.reminders.get(token)
        if reminder is None:
            raise ApiError(404, "NOT_FOUND", f"No reminder with alertToken {token}")
        return reminder

    def _list_reminders(self, user, _raw):
        self._require_scope(user, REMINDERS_SCOPE)
        alerts = [self._reminder_json(r) for r in sorted(user.reminders.values(), key=lambda r: r.created)]
        # totalCount is a string and links a string in ask_sdk_model's GetRemindersResponse.
        return 200, {"totalCount": str(len(alerts)), "alerts": alerts, "links": None}

    def _get_reminder(self, user, _raw, token):
        self._require_scope(user, REMINDERS_SCOPE)
        return 200, self._reminder_json(self._find_reminder(user, token))

    def _delete_reminder(self, user, _raw, token):
        self._require_scope(user, REMINDERS_SCOPE)
        self._find_reminder(user, token)
        del user.reminders[token]
        return 200, None

    def _create_reminder(self, user, raw):
        self._require_scope(user, REMINDERS_SCOPE)
        self._require_session(user, "Creating a reminder")
        body = self._json_body(raw)
        now = self.clock.now()
        request, first = self._validate_reminder(body, now)
        reminder = _Reminder(token=str(uuid.uuid4()), request=request, created=now, updated=now,
                             next_fire=first, base=now)
        user.reminders[reminder.token] = reminder
        return 200, self._reminder_response(reminder)

    def _update_reminder(self, user, raw, token):
        self._require_scope(user, REMINDERS_SCOPE)
        self._require_session(user, "Updating a reminder")
        reminder = self._find_reminder(user, token)
        body = self._json_body(raw)
        now = self.clock.now()
        request, first = self._validate_reminder(body, now)
        reminder.request, reminder.next_fire, reminder.base = request, first, now
        reminder.updated, reminder.status, reminder.version = now, "ON", reminder.version + 1
        return 200, self._reminder_response(reminder)

    def _validate_reminder(self, body: dict, now: datetime) -> tuple[dict, datetime]:
        _obj(body, "body", {"requestTime", "trigger", "alertInfo", "pushNotification"},
             ("requestTime", "trigger", "alertInfo"))
        _parse_local_time(body["requestTime"], "requestTime", allow_offset=True)
        trigger = _obj(body["trigger"], "trigger",
                       {"type", "scheduledTime", "offsetInSeconds", "timeZoneId", "recurrence"}, ("type",))
        if trigger["type"] not in TRIGGER_TYPES:
            raise _bad(f"trigger.type must be SCHEDULED_ABSOLUTE or SCHEDULED_RELATIVE, not {trigger['type']!r}")
        if trigger["type"] == "SCHEDULED_RELATIVE":
            for key in ("scheduledTime", "recurrence"):
                if trigger.get(key) is not None:
                    raise _bad(f"trigger.{key} is for SCHEDULED_ABSOLUTE reminders only")
            offset = trigger.get("offsetInSeconds")
            if isinstance(offset, bool) or not isinstance(offset, int):
                raise _bad("trigger.offsetInSeconds (a whole number of seconds) is required for SCHEDULED_RELATIVE")
            if offset <= 0:
                raise _bad(f"trigger.offsetInSeconds must be positive, not {offset}")
            if trigger.get("timeZoneId") is not None:
                _zone(trigger["timeZoneId"], "trigger.timeZoneId")
        else:
            if trigger.get("offsetInSeconds") is not None:
                raise _bad("trigger.offsetInSeconds is for SCHEDULED_RELATIVE reminders only")
            if trigger.get("timeZoneId") is not None:
                _zone(trigger["timeZoneId"], "trigger.timeZoneId")
            recurrence = trigger.get("recurrence")
            rules = None
            if recurrence is not None:
                rules = self._validate_recurrence(recurrence)
            if trigger.get("scheduledTime") is not None or not rules:
                # Amazon ignores scheduledTime when recurrenceRules are given; otherwise it's required.
                if trigger.get("scheduledTime") is None:
                    raise _bad("trigger.scheduledTime is required for SCHEDULED_ABSOLUTE")
                _parse_local_time(trigger["scheduledTime"], "trigger.scheduledTime", allow_offset=False)
        alert_info = _obj(body["alertInfo"], "alertInfo", {"spokenInfo"}, ("spokenInfo",))
        spoken = _obj(alert_info["spokenInfo"], "alertInfo.spokenInfo", {"content"}, ("content",))
        _texts(spoken["content"], "alertInfo.spokenInfo.content", extra=("ssml",))
        if body.get("pushNotification") is not None:
            push = _obj(body["pushNotification"], "pushNotification", {"status"}, ("status",))
            if push["status"] not in PUSH_STATUSES:
                raise _bad(f"pushNotification.status must be ENABLED or DISABLED, not {push['status']!r}")
        request = copy.deepcopy(body)
        first = self._next_fire(request["trigger"], now, after=now, inclusive=True)
        if first is None:
            raise _bad("The reminder would never go off: its scheduled time has passed")
        return request, first

    @staticmethod
    def _validate_recurrence(recurrence: Any) -> list[str] | None:
        where = "trigger.recurrence"
        rec = _obj(recurrence, where, {"freq", "byDay", "interval", "startDateTime", "endDateTime", "recurrenceRules"})
        rules = rec.get("recurrenceRules")
        if rules is not None:
            if not isinstance(rules, list) or not rules:
                raise _bad(f"{where}.recurrenceRules must be a non-empty list of RRULE strings")
            from dateutil.rrule import rrulestr

            for i, rule in enumerate(rules):
                _nonempty_str(rule, f"{where}.recurrenceRules[{i}]")
                try:
                    rrulestr(rule, dtstart=datetime(2000, 1, 1))
                except (ValueError, TypeError) as exc:
                    raise _bad(f"{where}.recurrenceRules[{i}] is not an RRULE: {exc}") from None
        elif rec.get("freq") is None:
            raise _bad(f"{where} needs freq or recurrenceRules")
        if rec.get("freq") is not None and rec["freq"] not in RECURRENCE_FREQS:
            raise _bad(f"{where}.freq must be DAILY or WEEKLY, not {rec['freq']!r}")
        if rec.get("byDay") is not None:
            if not isinstance(rec["byDay"], list) or any(d not in RECURRENCE_DAYS for d in rec["byDay"]):
                raise _bad(f"{where}.byDay must be a list of {', '.join(RECURRENCE_DAYS)}")
        if rec.get("interval") is not None:
            if isinstance(rec["interval"], bool) or not isinstance(rec["interval"], int) or rec["interval"] < 1:
                raise _bad(f"{where}.interval must be a positive whole number")
        for key in ("startDateTime", "endDateTime"):
            if rec.get(key) is not None:
                _parse_local_time(rec[key], f"{where}.{key}", allow_offset=False)
        return rules

    def _next_fire(self, trigger: dict, base: datetime, *, after: datetime, inclusive: bool) -> datetime | None:
        """The first time the reminder goes off at/after ``after`` (UTC), or None.

        ``base`` is when the reminder was created or last updated: a relative trigger counts from it.
        """

        def ok(t: datetime) -> bool:
            return t >= after if inclusive else t > after

        if trigger["type"] == "SCHEDULED_RELATIVE":
            t = base + timedelta(seconds=trigger["offsetInSeconds"])
            return t if ok(t) else None
        tz = ZoneInfo(trigger["timeZoneId"]) if trigger.get("timeZoneId") else self.device_time_zone
        recurrence = trigger.get("recurrence")
        scheduled = datetime.fromisoformat(trigger["scheduledTime"]) if trigger.get("scheduledTime") else None
        if not recurrence:
            t = _localize(scheduled, tz)
            return t if ok(t) else None
        from dateutil.rrule import DAILY, WEEKLY, rrule, rrulestr, weekday

        start = (datetime.fromisoformat(recurrence["startDateTime"]) if recurrence.get("startDateTime")
                 else scheduled or _to_local_naive(base, tz).replace(microsecond=0))
        end = datetime.fromisoformat(recurrence["endDateTime"]) if recurrence.get("endDateTime") else None
        if recurrence.get("recurrenceRules"):
            rules = [rrulestr(r, dtstart=start) for r in recurrence["recurrenceRules"]]
        else:
            days = [weekday(RECURRENCE_DAYS.index(d) - 1 if d != "SU" else 6) for d in recurrence.get("byDay") or []]
            rules = [rrule(DAILY if recurrence["freq"] == "DAILY" else WEEKLY, dtstart=start,
                           interval=recurrence.get("interval") or 1, byweekday=days or None)]
        local_after = _to_local_naive(after, tz)
        best = None
        for rule in rules:
            # Local wall-clock times: step a second back so DST shifts cannot skip an occurrence.
            candidate = rule.after(local_after - timedelta(seconds=1), inc=True)
            while candidate is not None and not ok(_localize(candidate, tz)):
                candidate = rule.after(candidate, inc=False)
            if candidate is not None and (end is None or candidate <= end):
                utc = _localize(candidate, tz)
                best = utc if best is None or utc < best else best
        return best

    # ------------------------------------------------------------------ progressive responses
    def _send_directive(self, user, raw):
        body = self._json_body(raw)
        _obj(body, "body", {"header", "directive"}, ("header", "directive"))
        header = _obj(body["header"], "header", {"requestId"}, ("requestId",))
        request_id = _nonempty_str(header["requestId"], "header.requestId")
        directive = body["directive"]
        if not isinstance(directive, dict) or directive.get("type") != "VoicePlayer.Speak":
            kind = directive.get("type") if isinstance(directive, dict) else directive
            raise _bad(f"directive.type must be VoicePlayer.Speak, not {kind!r}")
        _obj(directive, "directive", {"type", "speech"}, ("speech",))
        speech = _nonempty_str(directive["speech"], "directive.speech")
        if speech.lstrip().startswith("<"):
            _check_ssml(speech, "directive.speech")
        current = user.current_request
        if current is not _UNSET and current != request_id:
            # SDK: 403 "The skill is not allowed to send directives at the moment."
            raise ApiError(403, "FORBIDDEN", f"Request {request_id} is not in progress; "
                                             "progressive responses go out only before the final response")
        user.progressive.append({"requestId": request_id, "speech": speech, "time": _iso_z(self.clock.now())})
        return 204, None
