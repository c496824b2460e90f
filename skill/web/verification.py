"""Verification of every request to POST /alexa before any handler runs.

``build_verifiers(config)`` returns the verifier list handed to ask-sdk-webservice-support's
``WebserviceSkillHandler``:

* ``CachedCertRequestVerifier`` - the library's own ``RequestVerifier`` (``Signature-256``
  header, SHA-256, PKCS1v15; certificate URL rules; ``echo-api.amazon.com`` SAN; validity window;
  signature over the raw body bytes), overriding only what a production endpoint needs:

  - the certificate chain is fetched with a timeout through a configurable urllib opener, and a
    network, HTTP or timeout failure becomes a ``VerificationException`` (HTTP 400) instead of
    escaping the library (HTTP 500);
  - everything cheap is checked before anything is fetched: the skill id and timestamp verifiers
    run first, then both signature headers, the signature's base64 and length, and the URL rules;
  - fetched chains are cached per URL, across requests and verifier instances, in a bounded,
    thread-safe, expiring cache; Amazon's own file names have one spelling (``amazon_shaped``);
  - a fetch runs in its own thread and a request waits for it at most the fetch timeout (DNS
    lookups ignore urllib's timeout); one fetch per URL at a time, however many requests name it;
    three lanes (``_CertificateFetches``): URLs proven good are never held back; Amazon's own file
    names are never refused for want of a slot other URLs hold; any other URL gets at most
    ``MAX_UNPROVEN_FETCHES`` fetches and ``MAX_UNPROVEN_WAITERS`` waiting requests, and new fetches
    rate-limited per client address and for the process, the rest refused at once; a URL that failed
    or kept a request waiting past the deadline is refused for ``CERT_FAILURE_MEMORY`` seconds. So a
    flood naming made-up URLs on a host that never answers can neither tie up the server's threads
    nor lock Amazon out, even just after a start (bench/cert_flood.py measures it);
  - ``CERT_TRUST_ROOTS`` replaces the OS trust store for the chain-trust step (tests point it at
    a local root);
  - malformed input the library does not anticipate (a certificate URL urllib cannot parse, a
    signature that is not base64, a signing certificate without any SAN extension) becomes a
    ``VerificationException``.

* the library's ``TimestampVerifier`` (150 s; skill events up to 1 h);
* ``SkillIdVerifier`` when ``SKILL_ID`` is set - even when signature verification is off (with it on,
  ``SKILL_ID`` is required unless ``SKILL_ACCEPT_ANY_SKILL`` says otherwise: skill/config.py);
* ``ReplayVerifier``, last: a request id already answered within the timestamp window is refused (per
  process, and in a list the processes share: skill/storage/replays.py).

With ``VERIFY_REQUESTS`` off only the skill-id check remains (local development only).
"""

from __future__ import annotations

# oscrypto 1.3.0 (certvalidator's dependency) cannot parse this machine's OpenSSL version string
# and fails at import; the fix must be in place before ask_sdk_webservice_support imports it.
from skill._compat import oscrypto_fix

oscrypto_fix.apply()

import base64  # noqa: E402
import binascii  # noqa: E402
import contextvars  # noqa: E402
import logging  # noqa: E402
import http.client  # noqa: E402
import posixpath  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from collections import OrderedDict  # noqa: E402
from concurrent.futures import Future  # noqa: E402
from concurrent.futures import TimeoutError as FutureTimeout  # noqa: E402

from ask_sdk_webservice_support.verifier_constants import (  # noqa: E402
    ALEXA_SKILL_EVENT_LIST,
    MAX_NORMAL_REQUEST_TOLERANCE_IN_MILLIS,
    MAX_SKILL_EVENT_TOLERANCE_IN_MILLIS,
)
from ask_sdk_webservice_support.verifier import (  # noqa: E402
    AbstractVerifier,
    RequestVerifier,
    TimestampVerifier,
    VerificationException,
)
from asn1crypto import pem  # noqa: E402
from certvalidator import CertificateValidator, ValidationContext  # noqa: E402
from certvalidator.errors import PathError, ValidationError  # noqa: E402
from cryptography import x509  # noqa: E402

log = logging.getLogger(__name__)

__all__ = [
    "VerificationException",
    "CachedCertRequestVerifier",
    "ReplayVerifier",
    "SkillIdVerifier",
    "REQUEST_SOURCE",
    "amazon_shaped",
    "build_verifiers",
    "clear_certificate_cache",
]

#: Re-fetch a cached chain after this long even if its end certificate is still valid.
CERT_CACHE_MAX_AGE_SECONDS = 3600.0
#: At most this many chain URLs are cached (Amazon uses one at a time, rotating rarely).
CERT_CACHE_MAX_ENTRIES = 16
#: Amazon's chain is a few kilobytes; anything far larger is not a certificate chain.
MAX_CERT_CHAIN_BYTES = 256 * 1024

#: URLs that have not yet served a chain that validated ("unproven": what a flood of forged requests
#: names) and are not Amazon-shaped get at most this many fetches in flight and this many requests waiting
#: on them, per process; and new fetches of them are rate-limited, per client address and for the process
#: (a burst, then one every so many seconds). A proven URL (Amazon's, after its first request) is never
#: held back by them, nor is an Amazon-shaped one (``amazon_shaped``: its own lane).
MAX_UNPROVEN_FETCHES = 4
MAX_UNPROVEN_WAITERS = 2
UNPROVEN_FETCH_BURST_PER_SOURCE, UNPROVEN_FETCH_EVERY_PER_SOURCE = 3, 5.0
UNPROVEN_FETCH_BURST, UNPROVEN_FETCH_EVERY = 8, 0.5
#: Requests waiting on one unproven Amazon-shaped URL (Amazon's real one just after a start): S3 answers in
#: well under a second, so only a burst of requests in that moment can reach this.
MAX_WAITERS_PER_AMAZON_URL = 16
#: The paths of Amazon's own certificate files (the number rises when Amazon rotates its certificate).
_AMAZON_CERT_PATH = re.compile(r"/echo\.api/echo-api-cert(?:-[1-9][0-9]?)?\.pem")
#: Proven and unproven URLs alike are remembered up to this many.
MAX_REMEMBERED_URLS = 1024

#: An RSA signature is as long as its key: 1024 to 8192 bits (Amazon's is 2048).
MIN_SIGNATURE_BYTES, MAX_SIGNATURE_BYTES = 128, 1024

#: Errors a certificate fetch can raise: URLError/HTTPError, socket.timeout and connection errors
#: (all OSError), malformed URLs (ValueError), and protocol-level failures from http.client.
_FETCH_ERRORS = (urllib.error.URLError, OSError, socket.timeout, ValueError, http.client.HTTPException)


class _CertificateChainCache:
    """URL -> PEM chain bytes; thread-safe, LRU-bounded, every entry with an expiry time."""

    def __init__(self, max_entries: int, max_age: float, clock=time.time):
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def get(self, url: str) -> bytes | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(url)
            if entry is None:
                return None
            data, expires_at = entry
            if now >= expires_at:
                del self._entries[url]
                return None
            self._entries.move_to_end(url)
            return data

    def put(self, url: str, data: bytes, not_after: float) -> None:
        """Cache ``data`` until the end certificate's notAfter or the max age, whichever is first."""
        now = self._clock()
        expires_at = min(now + self._max_age, not_after)
        if expires_at <= now:
            return  # already expired: the validity check will reject it; nothing worth keeping
        with self._lock:
            self._entries[url] = (data, expires_at)
            self._entries.move_to_end(url)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


_CERT_CACHE = _CertificateChainCache(CERT_CACHE_MAX_ENTRIES, CERT_CACHE_MAX_AGE_SECONDS)


def amazon_shaped(url: str) -> str | None:
    """The canonical form of ``url`` when it names one of Amazon's own certificate files
    (``https://s3.amazonaws.com/echo.api/echo-api-cert[-N].pem``, N from 1 to 99, however the host is cased,
    with or without :443 or dot segments), else None. Canonical, so that the names of Amazon's files are
    a fixed, small set (100): a flood cannot invent more of them than that. Call after the URL rules."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "https" or parts.hostname != "s3.amazonaws.com" or parts.port not in (None, 443):
        return None
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        return None
    path = posixpath.normpath(parts.path)
    return f"https://s3.amazonaws.com{path}" if _AMAZON_CERT_PATH.fullmatch(path) else None


class _TokenBuckets:
    """Fetches of unproven URLs allowed per key: ``burst`` at once, then one every ``every`` seconds."""

    def __init__(self, burst: int, every: float, clock, max_keys: int = MAX_REMEMBERED_URLS):
        self._burst, self._every, self._clock, self._max_keys = burst, every, clock, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when counted)

    def take(self, key: str) -> bool:
        """One token for ``key`` if it has one (call under the owner's lock)."""
        now = self._clock()
        tokens, counted = self._buckets.get(key, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + (now - counted) / self._every)
        taken = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if taken else tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)  # the longest idle: as good as full again by now
        return taken

    def clear(self) -> None:
        self._buckets.clear()


class _CertificateFetches:
    """Certificate fetches in flight, shared by every verifier of the process, one per URL, each waited for
    with a deadline, in three lanes:

    * proven URLs (served a chain that verified a request): never held back;
    * Amazon-shaped URLs (``amazon_shaped``), not yet proven: Amazon's real URL just after a start or a
      rotation. Never refused for want of a slot that other URLs hold, so a flood of made-up URLs cannot
      lock Amazon out; bounded by their number (100, one fetch each) and ``MAX_WAITERS_PER_AMAZON_URL``;
    * any other URL (made up, or Amazon moved its files): ``MAX_UNPROVEN_FETCHES`` in flight,
      ``MAX_UNPROVEN_WAITERS`` waiting, and new fetches rate-limited per source and for the process.

    An unproven URL whose fetch failed, or kept a request waiting past its deadline, is refused for the
    failure memory without another fetch."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future] = {}
        self._waiting_other = 0  # requests waiting on unproven URLs that are not Amazon-shaped
        self._waiting_amazon: dict[str, int] = {}  # unproven Amazon-shaped URL -> requests waiting on it
        self._proven: OrderedDict[str, None] = OrderedDict()  # served a chain that validated
        self._failed: OrderedDict[str, float] = OrderedDict()  # unproven URL -> refused until
        self._per_source = _TokenBuckets(UNPROVEN_FETCH_BURST_PER_SOURCE, UNPROVEN_FETCH_EVERY_PER_SOURCE, clock)
        self._overall = _TokenBuckets(UNPROVEN_FETCH_BURST, UNPROVEN_FETCH_EVERY, clock)

    def chain(self, url: str, fetch, wait: float, remember_failure: float, source: str = "") -> bytes:
        """``fetch(url)``'s bytes, run at most once at a time per URL; waits at most ``wait`` seconds.
        ``url`` is canonical when Amazon-shaped; ``source`` is the client's address."""
        with self._lock:
            proven = url in self._proven
            amazon = not proven and amazon_shaped(url) == url
            if not proven:
                if self._failed.get(url, 0.0) > self._clock():
                    raise VerificationException("Certificate chain URL failed moments ago")
                if amazon and self._waiting_amazon.get(url, 0) >= MAX_WAITERS_PER_AMAZON_URL:
                    raise VerificationException("Too many requests waiting for this certificate chain")
                if not amazon and self._waiting_other >= MAX_UNPROVEN_WAITERS:
                    raise VerificationException("Too many requests waiting for unknown certificate chains")
            flight = self._in_flight.get(url)
            if flight is None:
                cached = _CERT_CACHE.get(url)  # a fetch that ended since the caller looked (it caches first)
                if cached is not None:
                    return cached
                if not proven and not amazon:
                    others = sum(1 for u in self._in_flight if u not in self._proven and amazon_shaped(u) != u)
                    if others >= MAX_UNPROVEN_FETCHES:
                        raise VerificationException("Too many certificate chains being fetched")
                    # Both buckets are asked, so a source that floods also spends the process's allowance;
                    # Amazon's URL does not need it (its own lane above).
                    if not self._per_source.take(source) or not self._overall.take(""):
                        raise VerificationException("Too many unknown certificate chains asked for")
                flight = self._in_flight[url] = Future()
                threading.Thread(target=self._run, args=(url, fetch, flight, remember_failure),
                                 name="cert-fetch", daemon=True).start()
            if amazon:
                self._waiting_amazon[url] = self._waiting_amazon.get(url, 0) + 1
            elif not proven:
                self._waiting_other += 1
        try:
            return flight.result(timeout=wait)
        except FutureTimeout:
            if not proven:
                self._remember_failure(url, remember_failure)  # the next requests naming it are refused at once
            raise VerificationException("Certificate chain URL did not answer in time") from None
        finally:
            with self._lock:
                if amazon:
                    left = self._waiting_amazon.pop(url) - 1
                    if left:
                        self._waiting_amazon[url] = left
                elif not proven:
                    self._waiting_other -= 1

    def _remember_failure(self, url: str, remember_failure: float) -> None:
        with self._lock:
            if url not in self._proven and remember_failure > 0:
                self._failed[url] = self._clock() + remember_failure
                self._failed.move_to_end(url)
                _trim(self._failed)

    def _run(self, url, fetch, flight, remember_failure):
        try:
            data = fetch(url)
        except BaseException as exc:  # noqa: BLE001 - handed to every request waiting on this fetch
            with self._lock:
                del self._in_flight[url]
            self._remember_failure(url, remember_failure)
            flight.set_exception(exc)
        else:
            with self._lock:
                del self._in_flight[url]
            flight.set_result(data)

    def prove(self, url: str) -> None:
        """``url`` served a chain that validated: it is never held back by the limits on unknown URLs."""
        with self._lock:
            self._proven[url] = None
            self._proven.move_to_end(url)
            self._failed.pop(url, None)
            _trim(self._proven)

    def clear(self) -> None:
        with self._lock:
            self._proven.clear()
            self._failed.clear()
            self._per_source.clear()
            self._overall.clear()


def _trim(remembered: OrderedDict) -> None:
    while len(remembered) > MAX_REMEMBERED_URLS:
        remembered.popitem(last=False)


_FETCHES = _CertificateFetches()

#: The address of the client whose request is being verified (set by skill/web/endpoint.py): the key of
#: the per-source limit on fetching unknown certificate URLs.
REQUEST_SOURCE: contextvars.ContextVar[str] = contextvars.ContextVar("request_source", default="")


def clear_certificate_cache() -> None:
    """Forget every cached certificate chain and what is known of each URL (tests; an operator forcing a
    re-fetch)."""
    _CERT_CACHE.clear()
    _FETCHES.clear()


def _end_certificate_not_after(chain: bytes) -> float:
    """The end certificate's notAfter as a POSIX timestamp; rejects anything but PEM certificates."""
    try:
        blocks = list(pem.unarmor(chain, multiple=True))
        if not blocks or any(type_name != "CERTIFICATE" for type_name, _headers, _der in blocks):
            raise ValueError("not a PEM certificate chain")
        end_cert = x509.load_der_x509_certificate(blocks[0][2])
        for _type, _headers, der in blocks[1:]:
            x509.load_der_x509_certificate(der)
    except (ValueError, TypeError) as exc:
        raise VerificationException("Certificate chain URL did not return a PEM certificate chain", exc) from exc
    return end_cert.not_valid_after_utc.timestamp()


class CachedCertRequestVerifier(RequestVerifier):
    """The library's ``RequestVerifier`` with a bounded fetch, a shared cache and configurable trust."""

    def __init__(self, *, opener=None, timeout: float = 3.0, trust_roots=None, failure_memory: float = 10.0):
        super().__init__()  # Signature-256 / SignatureCertChainUrl, PKCS1v15, SHA-256
        self._opener = opener if opener is not None else urllib.request.build_opener()
        self._timeout = timeout  # per socket operation, and the longest a request waits for a chain
        self._trust_roots = list(trust_roots) if trust_roots is not None else None
        self._failure_memory = failure_memory

    def verify(self, headers, serialized_request_env, deserialized_request_env):
        # The library's checks, reordered: everything that needs no network comes first, so a request
        # that can never pass (no or empty signature, garbage, a URL off Amazon's path) fetches nothing.
        found = {key.lower(): value for key, value in headers.items()}
        cert_url = found.get(self._signature_cert_chain_url_key.lower())
        signature = found.get(self._signature_key.lower())
        if not cert_url or not signature:
            raise VerificationException("Missing Signature/Certificate for the skill request")
        try:
            decoded = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VerificationException("Signature is not valid base64", exc) from exc
        if not MIN_SIGNATURE_BYTES <= len(decoded) <= MAX_SIGNATURE_BYTES:
            raise VerificationException("Signature has an impossible length for an RSA key")
        self._validate_certificate_url(cert_url)
        cert_url = amazon_shaped(cert_url) or cert_url  # one name per Amazon file: cache, fetch and lane
        cert_chain = self._retrieve_and_validate_certificate_chain(cert_url)
        self._valid_request_body(cert_chain, signature, serialized_request_env)
        _FETCHES.prove(cert_url)

    def _validate_certificate_url(self, cert_url):
        try:
            super()._validate_certificate_url(cert_url)
        except ValueError as exc:
            # urlparse() raises on "[" in the host and ``.port`` on a non-numeric port
            # ("https://s3.amazonaws.com:abc/echo.api/..."); the library lets both escape.
            raise VerificationException("Signature certificate URL is invalid", exc) from exc

    def _load_cert_chain(self, cert_url):
        cached = _CERT_CACHE.get(cert_url)
        if cached is not None:
            return cached
        return _FETCHES.chain(cert_url, self._fetch, wait=self._timeout, remember_failure=self._failure_memory,
                              source=REQUEST_SOURCE.get())

    def _fetch(self, cert_url) -> bytes:
        try:
            with self._opener.open(cert_url, timeout=self._timeout) as response:
                status = getattr(response, "status", None)
                if status is None:
                    status = response.getcode()
                if status is not None and status != 200:
                    raise VerificationException(f"Certificate chain URL answered HTTP {status}")
                data = response.read(MAX_CERT_CHAIN_BYTES + 1)
        except _FETCH_ERRORS as exc:
            raise VerificationException("Unable to load certificate chain from URL", exc) from exc
        if len(data) > MAX_CERT_CHAIN_BYTES:
            raise VerificationException("Certificate chain is implausibly large")
        # Not PEM certificates: a failure, remembered like any other. Cached before the fetch is over, so a
        # request arriving as it ends finds either the fetch or its chain, never neither (a second fetch).
        _CERT_CACHE.put(cert_url, data, _end_certificate_not_after(data))
        return data

    def _validate_cert_chain(self, cert_chain):
        if self._trust_roots is None:
            return super()._validate_cert_chain(cert_chain)  # the OS trust store
        # The library's own steps, with the chain-trust step pointed at the configured roots.
        try:
            end_cert = None
            intermediate_certs = []
            for _type_name, _headers, der_bytes in pem.unarmor(cert_chain, multiple=True):
                if end_cert is None:
                    end_cert = der_bytes
                else:
                    intermediate_certs.append(der_bytes)
            context = ValidationContext(trust_roots=self._trust_roots)
            validator = CertificateValidator(end_cert, intermediate_certs, validation_context=context)
            validator.validate_usage(key_usage={"digital_signature"})
        except (PathError, ValidationError) as exc:
            raise VerificationException("Certificate chain is not valid", exc) from exc
        return None

    def _validate_end_certificate(self, x509_cert):
        try:
            super()._validate_end_certificate(x509_cert)
        except x509.ExtensionNotFound as exc:
            # The library looks the SAN extension up without handling its absence.
            raise VerificationException("Signing certificate has no Subject Alternative Name", exc) from exc

    def _valid_request_body(self, cert_chain, signature, serialized_request_env):
        try:
            super()._valid_request_body(cert_chain, signature, serialized_request_env)
        except binascii.Error as exc:
            # The library base64-decodes the header unguarded: garbage would escape as a 500.
            raise VerificationException("Signature is not valid base64", exc) from exc


class SkillIdVerifier(AbstractVerifier):
    """Rejects requests addressed to any skill other than ``skill_id``."""

    def __init__(self, skill_id: str):
        if not skill_id:
            raise ValueError("skill_id must be a non-empty string")
        self._skill_id = skill_id

    @staticmethod
    def _application_id(envelope) -> str | None:
        system = getattr(getattr(envelope, "context", None), "system", None)
        application = getattr(system, "application", None)
        app_id = getattr(application, "application_id", None)
        if app_id:
            return app_id
        application = getattr(getattr(envelope, "session", None), "application", None)
        return getattr(application, "application_id", None) or None

    def verify(self, headers, serialized_request_env, deserialized_request_env):
        app_id = self._application_id(deserialized_request_env)
        if app_id is None:
            raise VerificationException("Request has no application id")
        if app_id != self._skill_id:
            raise VerificationException("Request is for another skill")


#: Request ids a process remembers (a few KB a second of Alexa traffic; the oldest go first past this).
MAX_REMEMBERED_REQUEST_IDS = 100_000


class ReplayVerifier(AbstractVerifier):
    """Refuses a request whose id was already seen while its timestamp could still pass: the same signed
    bytes sent again within the window would otherwise run the handler again. Runs after the signature
    check, so only genuine requests are remembered. Each process keeps its own list; ``shared`` (a
    ``skill.storage.replays`` list) sees the ids other processes answered; when it cannot be reached, the
    process's own list decides, and the request is answered."""

    def __init__(self, shared=None, clock=time.monotonic):
        self._shared, self._clock = shared, clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, float] = OrderedDict()  # request id -> forgotten after (monotonic)
        self._shared_down_logged = False

    @staticmethod
    def window(deserialized_request_env) -> float:
        """Seconds a request with this timestamp can pass the timestamp check, either side of now, twice."""
        request = getattr(deserialized_request_env, "request", None)
        millis = (MAX_SKILL_EVENT_TOLERANCE_IN_MILLIS if getattr(request, "object_type", None) in ALEXA_SKILL_EVENT_LIST
                  else MAX_NORMAL_REQUEST_TOLERANCE_IN_MILLIS)
        return 2 * millis / 1000

    def verify(self, headers, serialized_request_env, deserialized_request_env):
        request_id = getattr(getattr(deserialized_request_env, "request", None), "request_id", None)
        if not request_id:
            raise VerificationException("Request has no request id")
        keep_for = self.window(deserialized_request_env)
        now = self._clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) <= now
                                  or len(self._seen) >= MAX_REMEMBERED_REQUEST_IDS):
                self._seen.popitem(last=False)
            if request_id in self._seen:
                raise VerificationException("Request id seen before: a replay")
            self._seen[request_id] = now + keep_for
        if self._shared is not None and not self._first_sighting_shared(request_id, keep_for):
            raise VerificationException("Request id seen before by another process: a replay")

    def _first_sighting_shared(self, request_id: str, keep_for: float) -> bool:
        from skill.storage.replays import RequestIdsUnavailable

        try:
            first = self._shared.first_sighting(request_id, keep_for)
        except RequestIdsUnavailable as exc:
            if not self._shared_down_logged:  # once, not once a request
                self._shared_down_logged = True
                log.warning("the shared list of request ids cannot be reached (%s): replays are caught per "
                            "process only until it can", exc)
            return True
        self._shared_down_logged = False
        return first


def build_verifiers(config) -> list:
    """The verifiers for ``WebserviceSkillHandler(..., verifiers=...)`` from the Flask config."""
    # Cheapest first: the skill id and the timestamp cost nothing, the signature may cost a fetch.
    verifiers: list[AbstractVerifier] = []
    if config.get("SKILL_ID"):
        verifiers.append(SkillIdVerifier(config["SKILL_ID"]))
    if config.get("VERIFY_REQUESTS", True):
        verifiers.append(TimestampVerifier())
        verifiers.append(
            CachedCertRequestVerifier(
                opener=config.get("CERT_OPENER"),
                timeout=float(config.get("CERT_FETCH_TIMEOUT") or 3.0),
                trust_roots=config.get("CERT_TRUST_ROOTS"),
                failure_memory=float(config.get("CERT_FAILURE_MEMORY", 10.0)),
            )
        )
        from skill.storage.replays import shared_request_ids  # (storage is not imported at import time)

        verifiers.append(ReplayVerifier(shared=shared_request_ids(config)))  # last: only genuine ids are kept
    return verifiers
