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
    thread-safe, expiring cache;
  - a fetch runs in its own thread and a request waits for it at most the fetch timeout (DNS
    lookups ignore urllib's timeout); one fetch per URL at a time, however many requests name it;
    at most ``MAX_UNPROVEN_FETCHES`` fetches and ``MAX_UNPROVEN_WAITERS`` waiting requests for URLs
    that never served a valid chain, the rest refused at once; a failed URL is refused for
    ``CERT_FAILURE_MEMORY`` seconds. So requests naming made-up URLs on a host that never answers
    cannot tie up the server's threads, and requests whose chain is cached never wait on them;
  - ``CERT_TRUST_ROOTS`` replaces the OS trust store for the chain-trust step (tests point it at
    a local root);
  - malformed input the library does not anticipate (a certificate URL urllib cannot parse, a
    signature that is not base64, a signing certificate without any SAN extension) becomes a
    ``VerificationException``.

* the library's ``TimestampVerifier`` (150 s; skill events up to 1 h);
* ``SkillIdVerifier`` when ``SKILL_ID`` is set - even when signature verification is off.

With ``VERIFY_REQUESTS`` off only the skill-id check remains (local development only).
"""

from __future__ import annotations

# oscrypto 1.3.0 (certvalidator's dependency) cannot parse this machine's OpenSSL version string
# and fails at import; the fix must be in place before ask_sdk_webservice_support imports it.
from skill._compat import oscrypto_fix

oscrypto_fix.apply()

import base64  # noqa: E402
import binascii  # noqa: E402
import http.client  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections import OrderedDict  # noqa: E402
from concurrent.futures import Future  # noqa: E402
from concurrent.futures import TimeoutError as FutureTimeout  # noqa: E402

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

__all__ = [
    "VerificationException",
    "CachedCertRequestVerifier",
    "SkillIdVerifier",
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
#: names) get at most this many fetches in flight and this many requests waiting on them, per process.
#: A proven URL (Amazon's, after its first request) is never held back by them.
MAX_UNPROVEN_FETCHES = 4
MAX_UNPROVEN_WAITERS = 2
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


class _CertificateFetches:
    """Certificate fetches in flight, shared by every verifier of the process: one per URL, bounded for
    URLs never proven good, each waited for with a deadline, and recent failures remembered."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future] = {}
        self._waiting = 0  # requests waiting on unproven URLs
        self._proven: OrderedDict[str, None] = OrderedDict()  # served a chain that validated
        self._failed: OrderedDict[str, float] = OrderedDict()  # unproven URL -> refused until

    def chain(self, url: str, fetch, wait: float, remember_failure: float) -> bytes:
        """``fetch(url)``'s bytes, run at most once at a time per URL; waits at most ``wait`` seconds."""
        with self._lock:
            proven = url in self._proven
            if not proven:
                if self._failed.get(url, 0.0) > self._clock():
                    raise VerificationException("Certificate chain URL failed moments ago")
                if self._waiting >= MAX_UNPROVEN_WAITERS:
                    raise VerificationException("Too many requests waiting for unknown certificate chains")
            flight = self._in_flight.get(url)
            if flight is None:
                unproven_flights = sum(1 for u in self._in_flight if u not in self._proven)
                if not proven and unproven_flights >= MAX_UNPROVEN_FETCHES:
                    raise VerificationException("Too many certificate chains being fetched")
                flight = self._in_flight[url] = Future()
                threading.Thread(target=self._run, args=(url, fetch, flight, remember_failure),
                                 name="cert-fetch", daemon=True).start()
            if not proven:
                self._waiting += 1
        try:
            return flight.result(timeout=wait)
        except FutureTimeout:
            raise VerificationException("Certificate chain URL did not answer in time") from None
        finally:
            if not proven:
                with self._lock:
                    self._waiting -= 1

    def _run(self, url, fetch, flight, remember_failure):
        try:
            data = fetch(url)
        except BaseException as exc:  # noqa: BLE001 - handed to every request waiting on this fetch
            with self._lock:
                del self._in_flight[url]
                if url not in self._proven and remember_failure > 0:
                    self._failed[url] = self._clock() + remember_failure
                    _trim(self._failed)
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


def _trim(remembered: OrderedDict) -> None:
    while len(remembered) > MAX_REMEMBERED_URLS:
        remembered.popitem(last=False)


_FETCHES = _CertificateFetches()


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
        data = _FETCHES.chain(cert_url, self._fetch, wait=self._timeout, remember_failure=self._failure_memory)
        not_after = _end_certificate_not_after(data)
        _CERT_CACHE.put(cert_url, data, not_after)
        return data

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
        _end_certificate_not_after(data)  # not PEM certificates: a failure, remembered like any other
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
    return verifiers
