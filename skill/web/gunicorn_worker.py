"""gunicorn's thread worker, with a deadline on every read from a client.

A bare ``gthread`` worker reads headers and bodies on blocking sockets with no timeout: a client that sends
part of a request and stops holds a thread until it goes away, and twice the thread count of them starve the
worker (measured: /healthz never answered). Alexa sends a few KB at once, so any read that waits longer than
``READ_TIMEOUT`` seconds is a client to drop: each accepted socket turns "blocking" into "blocking with that
timeout", and the worker closes the connection when it fires.

This bounds the harm, it does not remove it: with 2 threads and 4 such clients (a 1-s deadline), a health
check and a launch still took 1.8 s and 7 s (tests/test_gunicorn.py; a bare gthread never answered). Facing
the internet, put a buffering proxy in front (a load balancer, or nginx with request buffering on): it holds
slow clients itself and hands gunicorn whole requests.
"""

from __future__ import annotations

import errno
import socket

from gunicorn.workers.gthread import TConn, ThreadWorker

from skill import config as skill_config

# SKILL_READ_TIMEOUT, checked by the master when it read gunicorn_conf.py.
READ_TIMEOUT = skill_config.from_environment()["READ_TIMEOUT"]


class _DeadlineSocket(socket.socket):
    """A client socket for which blocking means: blocking, up to READ_TIMEOUT per read."""

    timed_out = False

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(READ_TIMEOUT)
        else:
            super().setblocking(False)

    def recv(self, *args):
        try:
            return super().recv(*args)
        except TimeoutError:
            self.timed_out = True
            raise


class ReadTimeoutThreadWorker(ThreadWorker):
    def _keepalive_after(self, conn, keepalive):
        # A client whose body stopped coming is not waited for again: gunicorn would otherwise drain the
        # rest of its body (up to 5 s more) to keep the connection alive.
        if getattr(conn.sock, "timed_out", False):
            return False
        return super()._keepalive_after(conn, keepalive)

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock = _DeadlineSocket(fileno=client_sock.detach())
            client_sock.setblocking(True)
            self.enqueue_req(TConn(self.cfg, client_sock, client_addr, listener.getsockname()))
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
