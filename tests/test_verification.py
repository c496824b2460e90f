"""Request verification, end to end through POST /alexa.

Amazon's certificate host cannot be reached from tests, so it is faked at the HTTP boundary: a
urllib opener whose only handler serves locally generated PEM chains (root CA -> intermediate CA
-> leaf with SAN echo-api.amazon.com) and counts fetches. ``CERT_TRUST_ROOTS`` points the
chain-trust step at the local root; everything else is the real verification code.
"""

from __future__ import annotations

import base64
import email.message
import io
import json
import logging
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import urllib.response
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from skill.app import create_app
from skill.web import verification
import envelopes

# ask-sdk-webservice-support 1.3.3 reads Certificate.not_valid_before/after (naive datetimes),
# deprecated since cryptography 42; it still works, so the noise is silenced here only.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Properties that return a na.ve datetime object have been deprecated"
    ":cryptography.utils.CryptographyDeprecationWarning"
)

CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"
OTHER_SAN_URL = "https://s3.amazonaws.com/echo.api/other-san.pem"
NO_SAN_URL = "https://s3.amazonaws.com/echo.api/no-san.pem"
EXPIRED_URL = "https://s3.amazonaws.com/echo.api/expired.pem"
UNTRUSTED_URL = "https://s3.amazonaws.com/echo.api/untrusted-root.pem"

#: The endpoint's error for a VerificationException (as opposed to its catch-all for other errors).
VERIFICATION_FAILED = "request verification failed"


# --------------------------------------------------------------------------- a local PKI


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Back Spasm Coach tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_usage(*, digital_signature=False, key_encipherment=False, key_cert_sign=False, crl_sign=False):
    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=False,
                         key_encipherment=key_encipherment, data_encipherment=False, key_agreement=False,
                         key_cert_sign=key_cert_sign, crl_sign=crl_sign, encipher_only=False, decipher_only=False)


def _certificate(subject, subject_key, issuer, issuer_key, *, ca: bool, sans=None,
                 not_before=None, not_after=None, issuer_cert=None) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
    else:
        builder = builder.add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@dataclass
class PKI:
    root_pem: bytes
    leaf_key: rsa.RSAPrivateKey
    other_key: rsa.RSAPrivateKey
    chains: dict[str, bytes]


@pytest.fixture(scope="module")
def pki() -> PKI:
    root_key, inter_key, leaf_key, rogue_key = _key(), _key(), _key(), _key()
    root = _certificate(_name("Test Root CA"), root_key, _name("Test Root CA"), root_key, ca=True)
    inter = _certificate(_name("Test Intermediate CA"), inter_key, root.subject, root_key, ca=True, issuer_cert=root)

    def leaf(sans=("echo-api.amazon.com",), **kw):
        return _certificate(_name("echo-api.amazon.com"), leaf_key, inter.subject, inter_key, ca=False,
                            sans=sans, issuer_cert=inter, **kw)

    now = datetime.now(timezone.utc)
    rogue_root = _certificate(_name("Rogue Root CA"), rogue_key, _name("Rogue Root CA"), rogue_key, ca=True)
    rogue_leaf = _certificate(_name("echo-api.amazon.com"), leaf_key, rogue_root.subject, rogue_key, ca=False,
                              sans=["echo-api.amazon.com"], issuer_cert=rogue_root)
    chains = {
        CERT_URL: _pem(leaf(), inter),
        OTHER_SAN_URL: _pem(leaf(sans=["echo-api.example.com"]), inter),
        NO_SAN_URL: _pem(leaf(sans=None), inter),
        EXPIRED_URL: _pem(leaf(not_before=now - timedelta(days=60), not_after=now - timedelta(days=1)), inter),
        # The chain even carries its own root: shipping a root must not make it trusted.
        UNTRUSTED_URL: _pem(rogue_leaf, rogue_root),
    }
    return PKI(root_pem=_pem(root), leaf_key=leaf_key, other_key=rogue_key, chains=chains)


# --------------------------------------------------------------------------- Amazon's certificate host, faked


@dataclass
class FakeCertHost(urllib.request.BaseHandler):
    """Answers https:// requests from ``chains``; records every URL asked for."""

    chains: dict[str, bytes]
    fetches: list[str] = field(default_factory=list)
    failure: BaseException | None = None
    slow: float = 0.0  # seconds before any answer
    hang_prefix: str | None = None  # URLs starting with it answer nothing until ``release`` is set (or 5 s)
    hang_unknown: bool = False  # so do URLs it has no chain for
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.opener = urllib.request.OpenerDirector()
        # Only this handler speaks a protocol: nothing can reach the real network.
        for handler in (self, urllib.request.HTTPErrorProcessor(), urllib.request.HTTPDefaultErrorHandler(),
                        urllib.request.UnknownHandler()):
            self.opener.add_handler(handler)

    def __hash__(self):  # OpenerDirector keeps its handlers in lists; BaseHandler needs no equality
        return id(self)

    def https_open(self, req):
        self.fetches.append(req.full_url)
        time.sleep(self.slow)
        if (self.hang_prefix and req.full_url.startswith(self.hang_prefix)) or (
                self.hang_unknown and req.full_url not in self.chains):
            self.release.wait(5)  # like a DNS lookup that never returns: no socket timeout applies
            raise urllib.error.URLError("no answer")
        if self.failure is not None:
            raise self.failure
        body = self.chains.get(req.full_url)
        if body is None:
            return self._response(req, 404, "Not Found", b"<Error><Code>NoSuchKey</Code></Error>")
        return self._response(req, 200, "OK", body)

    @staticmethod
    def _response(req, code: int, reason: str, body: bytes):
        headers = email.message.Message()
        headers["Content-Type"] = "application/x-pem-file" if code == 200 else "application/xml"
        response = urllib.response.addinfourl(io.BytesIO(body), headers, req.full_url, code=code)
        response.msg = reason  # what http.client's responses carry; HTTPErrorProcessor reads it
        return response

    def http_open(self, req):
        self.fetches.append(req.full_url)
        raise urllib.error.URLError("plain http is never fetched")


@pytest.fixture
def cert_host(pki) -> FakeCertHost:
    return FakeCertHost(chains=dict(pki.chains))


@pytest.fixture(autouse=True)
def fresh_certificate_cache():
    verification.clear_certificate_cache()
    yield
    verification.clear_certificate_cache()


@pytest.fixture
def make_app(tmp_path, pki, cert_host):
    """Build an app with verification on, trusting only the local root; ``**overrides`` win."""
    counter = iter(range(1000))

    def _make(**overrides):
        config = {
            "TESTING": True,
            "VERIFY_REQUESTS": True,
            "SKILL_ID": envelopes.APPLICATION_ID,
            "DB_PATH": str(tmp_path / f"state-{next(counter)}.sqlite3"),
            "CERT_OPENER": cert_host.opener,
            "CERT_TRUST_ROOTS": [pki.root_pem],
            "CERT_FETCH_TIMEOUT": 2.0,
        }
        config.update(overrides)
        return create_app(config)

    return _make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


# --------------------------------------------------------------------------- helpers


def body_of(env: dict) -> bytes:
    return json.dumps(env).encode("utf-8")


def sign(body: bytes, key) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def post(client, body: bytes, headers: dict | None = None, source: str = "127.0.0.1"):
    return client.post("/alexa", data=body, content_type="application/json", headers=headers or {},
                       environ_base={"REMOTE_ADDR": source})


def signed_post(client, pki: PKI, env: dict | None = None, *, url: str = CERT_URL, key=None,
                source: str = "127.0.0.1"):
    body = body_of(env if env is not None else envelopes.launch())
    return post(client, body, {"Signature-256": sign(body, key or pki.leaf_key), "SignatureCertChainUrl": url},
                source)


def assert_ok(res):
    assert res.status_code == 200, (res.status_code, res.get_data(as_text=True))
    body = res.get_json(silent=True)
    assert isinstance(body, dict), f"200 without a JSON response envelope: {res.get_data()[:200]!r}"
    assert (body.get("response") or {}).get("outputSpeech"), body


def assert_rejected_by_verification(res, caplog):
    assert res.status_code == 400, (res.status_code, res.get_data(as_text=True))
    assert res.get_json() == {"error": VERIFICATION_FAILED}
    # Not the endpoint's last-resort handler (which logs with a traceback): a VerificationException.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


def stored_rows(db_path: str) -> int:
    """Rows in the SQLite adapter's table. A missing file or table is an error, never 0: the app
    creates both at start-up, so their absence means this check is looking in the wrong place."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM user_attributes").fetchone()[0]
    finally:
        conn.close()


# --------------------------------------------------------------------------- a correctly signed request


def test_correctly_signed_launch_request_is_answered(client, pki, cert_host):
    assert_ok(signed_post(client, pki))
    assert cert_host.fetches == [CERT_URL]


def test_local_chain_is_rejected_under_the_default_os_trust_store(make_app, pki, cert_host, caplog):
    client = make_app(CERT_TRUST_ROOTS=None).test_client()
    assert_rejected_by_verification(signed_post(client, pki), caplog)
    assert cert_host.fetches == [CERT_URL]  # fetched, then refused at the chain-trust step


def test_explicit_port_443_and_mixed_case_host_are_accepted(client, pki, cert_host):
    url = "https://S3.AmazonAWS.com:443/echo.api/../echo.api/echo-api-cert-12.pem"
    cert_host.chains[url] = cert_host.chains[CERT_URL]
    assert_ok(signed_post(client, pki, url=url))


# --------------------------------------------------------------------------- forged or unacceptable signatures


def test_body_changed_after_signing_is_rejected(client, pki, caplog):
    body = body_of(envelopes.launch())
    headers = {"Signature-256": sign(body, pki.leaf_key), "SignatureCertChainUrl": CERT_URL}
    i = body.index(b"TESTUSER") + len("TESTUSE")
    tampered = body[:i] + b"X" + body[i + 1:]
    assert len(tampered) == len(body) and tampered != body
    assert_rejected_by_verification(post(client, tampered, headers), caplog)


def test_signature_by_another_key_is_rejected(client, pki, caplog):
    assert_rejected_by_verification(signed_post(client, pki, key=pki.other_key), caplog)


@pytest.mark.parametrize("url", [OTHER_SAN_URL, NO_SAN_URL], ids=["other-san", "no-san-extension"])
def test_leaf_without_echo_api_san_is_rejected(client, pki, caplog, url):
    assert_rejected_by_verification(signed_post(client, pki, url=url), caplog)


def test_expired_leaf_is_rejected(client, pki, caplog):
    assert_rejected_by_verification(signed_post(client, pki, url=EXPIRED_URL), caplog)


def test_chain_to_untrusted_root_is_rejected(client, pki, caplog):
    assert_rejected_by_verification(signed_post(client, pki, url=UNTRUSTED_URL), caplog)


def test_garbage_signature_header_is_rejected(client, caplog):
    body = body_of(envelopes.launch())
    res = post(client, body, {"Signature-256": "!!not*base64!!", "SignatureCertChainUrl": CERT_URL})
    assert_rejected_by_verification(res, caplog)


def test_stale_timestamp_is_rejected(client, pki, caplog):
    env = envelopes.launch(now=datetime.now(timezone.utc) - timedelta(seconds=200))
    assert_rejected_by_verification(signed_post(client, pki, env), caplog)


# --------------------------------------------------------------------------- certification probes


def _assert_probe_rejected_without_running_anything(res, caplog, cert_host, db_path):
    assert_rejected_by_verification(res, caplog)
    assert cert_host.fetches == []  # the certificate host was never asked
    assert stored_rows(db_path) == 0  # and no handler stored anything


def test_stored_rows_counts_what_an_answered_request_stored(app, pki):
    """The probes' "no handler stored anything" check can fail: a verified launch is counted."""
    db_path = app.config["DB_PATH"]
    assert stored_rows(db_path) == 0
    assert_ok(signed_post(app.test_client(), pki))
    assert stored_rows(db_path) == 1


def test_probe_empty_cert_url_is_rejected(app, pki, cert_host, caplog):
    body = body_of(envelopes.launch())
    res = post(app.test_client(), body, {"Signature-256": sign(body, pki.leaf_key), "SignatureCertChainUrl": ""})
    _assert_probe_rejected_without_running_anything(res, caplog, cert_host, app.config["DB_PATH"])


@pytest.mark.parametrize("url", [
    "https://s3.amazonaws.com/invalid.path/echo-api-cert-12.pem",
    "http://s3.amazonaws.com/echo.api/echo-api-cert-12.pem",
    "https://notamazon.com/echo.api/echo-api-cert-12.pem",
    "https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert-12.pem",
    "https://s3.amazonaws.com:563/echo.api/echo-api-cert-12.pem",
    "https://s3.amazonaws.com/echo.api/../invalid.path/echo-api-cert-12.pem",
    "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert-12.pem",
], ids=["wrong-path", "http", "wrong-host", "host-suffix", "port-563", "path-traversal", "path-case"])
def test_probe_incorrect_cert_url_is_rejected(app, pki, cert_host, caplog, url):
    cert_host.chains[url] = cert_host.chains[CERT_URL]  # even if such a URL served a good chain
    res = signed_post(app.test_client(), pki, url=url)
    _assert_probe_rejected_without_running_anything(res, caplog, cert_host, app.config["DB_PATH"])


@pytest.mark.parametrize("url", [
    "not a url",
    "https://",
    "https://s3.amazonaws.com:abc/echo.api/echo-api-cert-12.pem",
    "https://[s3.amazonaws.com/echo.api/echo-api-cert-12.pem",
], ids=["words", "scheme-only", "non-numeric-port", "broken-ipv6-host"])
def test_probe_invalid_cert_url_is_rejected(app, pki, cert_host, caplog, url):
    res = signed_post(app.test_client(), pki, url=url)
    _assert_probe_rejected_without_running_anything(res, caplog, cert_host, app.config["DB_PATH"])


@pytest.mark.parametrize("which", ["none", "only-cert-url", "only-signature", "legacy-sha1-signature-only",
                                   "empty-signature", "signature-not-base64", "signature-too-short"])
def test_probe_missing_signature_headers_is_rejected(app, pki, cert_host, caplog, which):
    """Nothing that cannot pass makes the skill fetch a certificate (before the fix an empty Signature-256
    still did: a DNS lookup and a download for anyone who asked)."""
    body = body_of(envelopes.launch())
    signature = sign(body, pki.leaf_key)
    headers = {
        "none": {},
        "only-cert-url": {"SignatureCertChainUrl": CERT_URL},
        "only-signature": {"Signature-256": signature},
        # The deprecated SHA-1 "Signature" header is not a Signature-256.
        "legacy-sha1-signature-only": {"Signature": signature, "SignatureCertChainUrl": CERT_URL},
        "empty-signature": {"Signature-256": "", "SignatureCertChainUrl": CERT_URL},
        "signature-not-base64": {"Signature-256": "not*base64!", "SignatureCertChainUrl": CERT_URL},
        "signature-too-short": {"Signature-256": base64.b64encode(b"x" * 20).decode(), "SignatureCertChainUrl": CERT_URL},
    }[which]
    res = post(app.test_client(), body, headers)
    _assert_probe_rejected_without_running_anything(res, caplog, cert_host, app.config["DB_PATH"])


# --------------------------------------------------------------------------- the certificate host


@pytest.mark.parametrize("failure", [
    urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
    socket.timeout("timed out"),
    urllib.error.HTTPError(CERT_URL, 503, "Service Unavailable", email.message.Message(), None),
], ids=["connection-refused", "timeout", "http-503"])
def test_failing_cert_host_is_a_400_remembered_briefly_then_asked_again(make_app, pki, cert_host, caplog, failure):
    client = make_app(CERT_FAILURE_MEMORY=0.3).test_client()
    cert_host.failure = failure
    assert_rejected_by_verification(signed_post(client, pki), caplog)
    assert_rejected_by_verification(signed_post(client, pki), caplog)  # remembered: no second fetch
    assert cert_host.fetches == [CERT_URL]
    cert_host.failure = None
    time.sleep(0.35)
    assert_ok(signed_post(client, pki))  # forgotten: the next request fetches again
    assert cert_host.fetches == [CERT_URL, CERT_URL]


def test_cert_host_answering_404_or_non_pem_is_a_400(make_app, pki, cert_host, caplog):
    client = make_app(CERT_FAILURE_MEMORY=0).test_client()
    missing = "https://s3.amazonaws.com/echo.api/missing.pem"
    assert_rejected_by_verification(signed_post(client, pki, url=missing), caplog)
    junk = "https://s3.amazonaws.com/echo.api/junk.pem"
    cert_host.chains[junk] = b"<html>Access Denied</html>"
    assert_rejected_by_verification(signed_post(client, pki, url=junk), caplog)
    assert_rejected_by_verification(signed_post(client, pki, url=junk), caplog)
    assert cert_host.fetches == [missing, junk, junk]  # neither answer was cached


def test_a_flood_naming_made_up_certificate_urls_neither_ties_up_threads_nor_delays_real_requests(
        make_app, pki, cert_host, caplog):
    """Before the fix every such request fetched its URL itself, each holding a server thread for as long as
    the host kept silent (under gunicorn, 16 of them made /healthz take 7.6 s)."""
    app = make_app(CERT_FETCH_TIMEOUT=1.0)
    assert_ok(signed_post(app.test_client(), pki))  # Amazon's URL: fetched, cached, proven
    cert_host.hang_prefix = "https://s3.amazonaws.com/echo.api/made-up-"

    def timed(url):
        started = time.monotonic()
        res = signed_post(app.test_client(), pki, url=url)
        return url, res.status_code, time.monotonic() - started

    flood = [f"{cert_host.hang_prefix}{n}.pem" for n in range(32)]
    try:
        with ThreadPoolExecutor(len(flood) + 8) as pool:
            results = list(pool.map(timed, flood[:16] + [CERT_URL] * 8 + flood[16:]))
    finally:
        cert_host.release.set()
    real = [(status, seconds) for url, status, seconds in results if url == CERT_URL]
    forged = [(status, seconds) for url, status, seconds in results if url != CERT_URL]
    assert all(status == 200 and seconds < 0.5 for status, seconds in real), real
    assert all(status == 400 for status, _ in forged)
    held = [seconds for _, seconds in forged if seconds > 0.6]  # waited on the 1-s fetch rather than refused at once
    assert len(held) <= verification.MAX_UNPROVEN_WAITERS and all(s < 1.5 for s in held), held
    made_up_fetches = [url for url in cert_host.fetches if url.startswith(cert_host.hang_prefix)]
    assert len(made_up_fetches) <= verification.MAX_UNPROVEN_FETCHES, made_up_fetches


@pytest.mark.parametrize("forged_names", ["made-up", "amazon-shaped"])
def test_right_after_a_start_a_flood_of_forged_urls_on_a_hanging_host_does_not_lock_amazon_out(
        make_app, pki, cert_host, forged_names):
    """Issue 22, finding 2: with nothing proven yet (a start, or Amazon's URL just rotated), forged requests
    naming URLs on a host that hangs held every slot for unknown URLs and every genuine request was refused
    (197 of 197, Amazon's URL fetched 0 times). Amazon's URL has a lane of its own: genuine requests arriving
    in the middle of the flood are answered, its chain fetched once."""
    app = make_app(CERT_FETCH_TIMEOUT=1.0)
    cert_host.hang_unknown = True
    if forged_names == "made-up":
        flood = [f"https://s3.amazonaws.com/echo.api/made-up-{n}.pem" for n in range(32)]
    else:  # Amazon's own file names, other numbers: each one fetch at most, then refused for a while
        flood = [f"https://s3.amazonaws.com/echo.api/echo-api-cert-{n}.pem" for n in range(20, 52)]

    def timed(job):
        url, source = job
        started = time.monotonic()
        res = signed_post(app.test_client(), pki, url=url, source=source)
        return url, res.status_code, time.monotonic() - started

    try:
        with ThreadPoolExecutor(len(flood) + 8) as pool:
            forged = [pool.submit(timed, (url, f"203.0.113.{n % 4}")) for n, url in enumerate(flood)]
            time.sleep(0.2)  # the forged fetches are in flight, hanging
            genuine = list(pool.map(timed, [(CERT_URL, "198.51.100.7")] * 8))
            cert_host.release.set()
            forged = [f.result() for f in forged]
    finally:
        cert_host.release.set()
    assert all(status == 200 and seconds < 0.9 for _, status, seconds in genuine), genuine
    assert all(status == 400 for _, status, _ in forged), forged
    assert cert_host.fetches.count(CERT_URL) == 1


def test_new_unknown_urls_are_fetched_at_a_bounded_rate_per_source_and_overall(make_app, pki, cert_host, caplog):
    """A host answering 404 at once induced ~190 fetches a second, one per made-up URL. Now a source gets a
    few, and all sources together a few more; Amazon's URL is fetched all the same."""
    client = make_app(CERT_FAILURE_MEMORY=0).test_client()
    made_up = iter(f"https://s3.amazonaws.com/echo.api/made-up-{n}.pem" for n in range(1000))
    for _ in range(20):
        assert_rejected_by_verification(signed_post(client, pki, url=next(made_up), source="203.0.113.1"), caplog)
    assert len(cert_host.fetches) == verification.UNPROVEN_FETCH_BURST_PER_SOURCE
    for n in range(40):
        assert_rejected_by_verification(signed_post(client, pki, url=next(made_up), source=f"192.0.2.{n}"), caplog)
    assert len(cert_host.fetches) <= verification.UNPROVEN_FETCH_BURST + 1  # + what refilled meanwhile
    assert_ok(signed_post(client, pki, source="203.0.113.1"))
    assert cert_host.fetches[-1] == CERT_URL


def test_amazon_shaped_urls_share_one_name_whatever_their_spelling(make_app, pki, cert_host):
    client = make_app().test_client()
    for url in (CERT_URL, "https://S3.AmazonAWS.com:443/echo.api/./echo-api-cert-12.pem",
                "HTTPS://s3.amazonaws.com/echo.api/x/../echo-api-cert-12.pem"):
        assert_ok(signed_post(client, pki, url=url))
    assert cert_host.fetches == [CERT_URL]
    assert verification.amazon_shaped("https://s3.amazonaws.com/echo.api/echo-api-cert-100.pem") is None
    assert verification.amazon_shaped("https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem?x=1") is None


@pytest.mark.slow
def test_the_flood_command_shows_amazons_requests_answered_while_forged_urls_hang():
    """bench/cert_flood.py (make cert-flood), short: a real server and a hanging certificate host on loopback."""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "bench/cert_flood.py", "--seconds", "2", "--attackers", "12"],
                            cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[1].startswith("hang ")


def test_requests_arriving_together_share_one_fetch_of_their_certificate(app, pki, cert_host):
    cert_host.slow = 0.3
    with ThreadPoolExecutor(verification.MAX_UNPROVEN_WAITERS) as pool:
        answers = list(pool.map(lambda _: signed_post(app.test_client(), pki), range(verification.MAX_UNPROVEN_WAITERS)))
    for res in answers:
        assert_ok(res)
    assert cert_host.fetches == [CERT_URL]


def test_certificate_is_fetched_once_for_many_requests(client, pki, cert_host):
    for _ in range(5):
        assert_ok(signed_post(client, pki))
    assert cert_host.fetches == [CERT_URL]


def test_certificate_is_fetched_once_across_app_instances(make_app, pki, cert_host):
    other_host = FakeCertHost(chains=dict(pki.chains))
    first = make_app().test_client()
    second = make_app(CERT_OPENER=other_host.opener).test_client()
    for client in (first, second, first, second):
        assert_ok(signed_post(client, pki))
    assert cert_host.fetches == [CERT_URL]
    assert other_host.fetches == []


# --------------------------------------------------------------------------- replays


def test_the_same_signed_request_sent_again_is_refused_and_not_handled_again(client, pki, caplog):
    """Issue 22, finding 6: replays of the same signed bytes within the 150-s window ran the handler each time."""
    body = body_of(envelopes.launch())
    headers = {"Signature-256": sign(body, pki.leaf_key), "SignatureCertChainUrl": CERT_URL}
    assert_ok(post(client, body, headers))
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert_rejected_by_verification(post(client, body, headers), caplog)
    assert "replay" in caplog.text
    assert_ok(signed_post(client, pki))  # another request, another id


def test_a_replay_to_another_process_is_refused_through_the_file_they_share(make_app, pki, caplog, tmp_path):
    """Two apps (as two gunicorn workers) on one SQLite file: each has its own list, the shared one sees both."""
    shared_db = str(tmp_path / "shared.sqlite3")
    first, second = make_app(DB_PATH=shared_db).test_client(), make_app(DB_PATH=shared_db).test_client()
    body = body_of(envelopes.launch())
    headers = {"Signature-256": sign(body, pki.leaf_key), "SignatureCertChainUrl": CERT_URL}
    assert_ok(post(first, body, headers))
    assert_rejected_by_verification(post(second, body, headers), caplog)


def test_with_the_shared_list_out_of_reach_requests_are_answered_and_replays_caught_per_process(
        make_app, pki, caplog, tmp_path):
    db = tmp_path / "state.sqlite3"
    client = make_app(DB_PATH=str(db)).test_client()
    db.with_name(db.name + "-request-ids").mkdir()  # a folder where the file should be: it cannot be opened
    body = body_of(envelopes.launch())
    headers = {"Signature-256": sign(body, pki.leaf_key), "SignatureCertChainUrl": CERT_URL}
    assert_ok(post(client, body, headers))
    assert_rejected_by_verification(post(client, body, headers), caplog)


def test_a_request_id_is_forgotten_once_its_timestamp_could_no_longer_pass():
    now = [1000.0]
    replays = verification.ReplayVerifier(clock=lambda: now[0])
    launch = envelopes.launch()
    from ask_sdk_core.serialize import DefaultSerializer
    from ask_sdk_model import RequestEnvelope

    env = DefaultSerializer().deserialize(json.dumps(launch), RequestEnvelope)
    replays.verify({}, "", env)
    with pytest.raises(verification.VerificationException):
        replays.verify({}, "", env)
    now[0] += 2 * 150 + 1
    replays.verify({}, "", env)


# --------------------------------------------------------------------------- skill id


@pytest.mark.parametrize("verify", [False, True], ids=["verification-off", "verification-on"])
def test_request_for_another_skill_is_rejected(make_app, pki, caplog, verify):
    client = make_app(VERIFY_REQUESTS=verify, SKILL_ID="amzn1.ask.skill.11111111-2222-3333-4444-555555555555").test_client()
    assert_rejected_by_verification(signed_post(client, pki), caplog)


@pytest.mark.parametrize("verify", [False, True], ids=["verification-off", "verification-on"])
def test_request_for_this_skill_is_answered(make_app, pki, verify):
    client = make_app(VERIFY_REQUESTS=verify, SKILL_ID=envelopes.APPLICATION_ID).test_client()
    assert_ok(signed_post(client, pki))


def test_any_skill_is_served_only_when_a_setting_says_so_and_then_loudly(make_app, pki, caplog):
    """Verification on and no SKILL_ID refuses to start (tests/test_config.py), unless SKILL_ACCEPT_ANY_SKILL."""
    with caplog.at_level(logging.WARNING):
        app = make_app(SKILL_ID=None, ACCEPT_ANY_SKILL=True)
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "SKILL_ACCEPT_ANY_SKILL" in r.getMessage()]
    env = envelopes.launch()
    env["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.someone-else"
    assert_ok(signed_post(app.test_client(), pki, env))


def test_skill_id_falls_back_to_the_session_application(make_app, caplog):
    client = make_app(VERIFY_REQUESTS=False, SKILL_ID=envelopes.APPLICATION_ID).test_client()
    env = envelopes.launch()
    del env["context"]["System"]["application"]
    assert_ok(post(client, body_of(env)))
    env["session"]["application"]["applicationId"] = "amzn1.ask.skill.someone-else"
    assert_rejected_by_verification(post(client, body_of(env)), caplog)


# --------------------------------------------------------------------------- verification off


def test_verification_off_answers_unsigned_requests_and_warns(make_app, caplog):
    with caplog.at_level(logging.WARNING):
        app = make_app(VERIFY_REQUESTS=False)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "verification" in r.getMessage().lower()]
    assert warnings, caplog.text
    assert_ok(post(app.test_client(), body_of(envelopes.launch())))


def test_verification_on_does_not_warn(make_app, caplog):
    with caplog.at_level(logging.WARNING):
        make_app()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
