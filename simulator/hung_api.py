"""A stand-in for an Alexa API that has hung: it takes each connection and its request, over HTTPS on
loopback, and never answers, as an unreachable or overloaded ``api.amazonalexa.com`` looks to the skill.

The simulator's fake API (``simulator.fake_api``) with every call held until ``stop()``: the same throw-away
CA and certificate, so the skill's ``requests`` trusts it (``ca_file`` is the ``REQUESTS_CA_BUNDLE`` for a skill
in another process) and each call runs to the skill's own timeout rather than failing at the TLS check.
``calls`` counts the requests that reached it.
"""

from __future__ import annotations

import threading

from simulator.clock import SimClock
from simulator.fake_api import FakeAlexaApi


class HungAlexaApi(FakeAlexaApi):
    def __init__(self, **kw):
        super().__init__(SimClock(), **kw)
        self._released = threading.Event()
        self._count_lock = threading.Lock()
        self.calls = 0

    def _handle(self, method, raw_path, headers, raw_body):
        with self._count_lock:
            self.calls += 1
        # Held until stop() (whose server_close() joins this thread); the caller has given up long before.
        self._released.wait()
        return 503, {"code": "SERVICE_UNAVAILABLE", "message": "stand-in stopped"}

    def start(self) -> "HungAlexaApi":
        self._released.clear()
        super().start()
        # The answer a held call finally gets at stop() finds its caller long gone: not an error to print.
        self._server.handle_error = lambda request, client_address: None
        return self

    def stop(self) -> None:
        self._released.set()
        super().stop()
