"""Servers the project's tools and tests start on loopback: a free port, waiting until a server answers, and
dynalite (a DynamoDB-compatible server, in memory; scripts/bootstrap installs it with npm)."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DYNALITE = PROJECT_ROOT / "tests" / "third_party" / "node_modules" / "dynalite" / "cli.js"
NODE = PROJECT_ROOT / ".venv" / "bin" / "node"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_http_on_loopback(handler) -> tuple[http.server.ThreadingHTTPServer, str]:
    """An HTTP server for ``handler`` (a BaseHTTPRequestHandler class) on a free loopback port, serving in a thread
    of its own: (the server, its base URL). ``server.shutdown()`` stops it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # A short poll: shutdown() waits for the loop to look up, half a second each time at the default.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def port_answers(port: int):
    """A probe for ``wait_until_answering``: a TCP connection to ``port`` on loopback is accepted."""
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=0.2).close()


def wait_until_answering(probe, process: subprocess.Popen, what: str, seconds: float, log_path=None,
                         pause: float = 0.1) -> None:
    """Calls ``probe`` until it raises no OSError; RuntimeError if ``process`` exits first or ``seconds`` pass."""
    see = f"; see {log_path}" if log_path else ""
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited at start-up{see}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer within {seconds:.0f} s{see}") from None
            time.sleep(pause)


def start_dynalite() -> tuple[subprocess.Popen, str]:
    """A dynalite server on a free loopback port, answering: (its process, its endpoint URL)."""
    if not DYNALITE.is_file():
        raise RuntimeError("dynalite is missing: run scripts/bootstrap")
    port = free_port()
    process = subprocess.Popen([str(NODE), str(DYNALITE), "--host", "127.0.0.1", "--port", str(port),
                                "--createTableMs", "0", "--deleteTableMs", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(port_answers(port), process, "dynalite", 15, pause=0.05)
    except RuntimeError:
        process.kill()
        process.wait()
        raise
    return process, f"http://127.0.0.1:{port}"
