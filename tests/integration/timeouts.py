#!/usr/bin/env python3
"""Timeouts, the lingering close and the connection limit against a live
server: a head that does not finish in time gets 408 (even when it trickles
in a byte at a time), a stalled body gets 408, an idle keep-alive connection
is closed silently, a client that never reads is cut off, an error answer is
readable even when the client keeps sending (no reset), and past
limits.connections new connections wait in the backlog and are served once
a slot frees up.  A body that arrives slower than limits.body_min_rate gets
408 after its first two windows of 5 s, one that keeps the rate does not,
and a 100 Continue owed behind an earlier answer stops the clock."""

import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, route  # noqa: E402

TIMEOUTS = {"head": 600, "body_idle": 600, "keepalive": 600, "write": 800}
# Timeouts are checked by a sweep every 0.5 s: allow that much lateness.
SLACK = 0.5 + 0.6


def test_head(srv):
    with t.block("head timeout"):
        with Conn(srv.port) as c:
            t0 = time.monotonic()
            c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            r = c.read_response(timeout=5)
            took = time.monotonic() - t0
            t.is_(r.status, 408, "an unfinished head gets 408")
            t.ok(0.5 <= took <= 0.6 + SLACK, "after the head timeout",
                 "took %.2f s" % took)
            t.ok("close" in r.connection_tokens(), "with Connection: close")
            c.expect_closed("then the connection closes")
        with Conn(srv.port) as c:
            # Slowloris: every byte is progress, but the head as a whole
            # must still finish in time.
            t0 = time.monotonic()
            got = None
            for ch in b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                try:
                    c.sock.sendall(bytes([ch]))
                except OSError:
                    break
                if time.monotonic() - t0 > 4:
                    break
                c.sock.settimeout(0.05)
                try:
                    data = c.sock.recv(4096)
                except socket.timeout:
                    continue
                got = data
                break
            took = time.monotonic() - t0
            t.ok(got is not None and got.startswith(b"HTTP/1.1 408"),
                 "a head trickled in a byte at a time still gets 408",
                 "got %r after %.2f s" % (got, took))
            t.ok(took <= 0.6 + SLACK + 0.2, "within the head timeout",
                 "took %.2f s" % took)


def test_body(srv):
    with t.block("body idle timeout"):
        with Conn(srv.port) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                   b"\r\nabc")
            t0 = time.monotonic()
            r = c.read_response(timeout=5)
            took = time.monotonic() - t0
            t.is_(r.status, 408, "a stalled body gets 408")
            t.ok(took <= 0.6 + SLACK, "after the body_idle timeout",
                 "took %.2f s" % took)
            c.expect_closed("then the connection closes")
        with Conn(srv.port) as c:
            # A body that keeps coming is progress: it outlasts the timeout.
            c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
            for ch in b"abcdefgh":
                time.sleep(0.2)
                c.send(bytes([ch]))
            r = c.read_response(timeout=5)
            t.is_((r.status, r.json()["body"]), (200, "abcdefgh"),
                  "a slow but steady body (1.6 s in all) is read whole")


def test_keepalive(srv):
    with t.block("keep-alive timeout"):
        with Conn(srv.port) as c:
            c.send(get("/hello"))
            r = c.read_response()
            t.is_(r.status, 200, "one request answered")
            t0 = time.monotonic()
            closed, extra = c.read_until_close(timeout=5)
            took = time.monotonic() - t0
            t.ok(closed and not extra, "then closed silently when idle",
                 "extra %r" % extra[:80])
            t.ok(0.5 <= took <= 0.6 + SLACK, "after the keep-alive timeout",
                 "took %.2f s" % took)


def test_write(srv):
    with t.block("write timeout"):
        c = Conn(srv.port)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # Ask for far more than the socket buffers hold (10 MB: the
        # kernel's send buffer grows to tcp_wmem's 4 MB on loopback, so 4 MB
        # could all be taken and no write would be left waiting), and never
        # read.
        c.sock.sendall(get("/big") * 100)
        time.sleep(0.8 + SLACK + 0.5)
        t.ok(srv.alive(), "the server is fine")
        # Now read: the server gave up on us, so the stream ends (or was
        # reset) long before the 40 answers.
        total = 0
        c.sock.settimeout(5)
        try:
            while True:
                d = c.sock.recv(1 << 20)
                if not d:
                    break
                total += len(d)
        except OSError:
            pass
        t.ok(total < 100 * 100000, "a client that does not read is cut off",
             "read %d bytes" % total)
        c.close()
        r = hwtest.one(srv.port, get("/hello"))
        t.is_(r.status, 200, "others are still served")


def test_linger(srv):
    with t.block("lingering close"):
        with Conn(srv.port) as c:
            c.send(b"GARBAGE\r\n\r\n")
            time.sleep(0.1)
            # The client keeps sending after the error: the server must not
            # answer that with a reset that destroys the 400 in flight.
            try:
                c.sock.sendall(b"x" * 65536)
            except OSError:
                pass
            r = c.read_response(timeout=5)
            t.is_(r.status, 400, "the 400 is readable although the client "
                  "kept sending")


def test_limit():
    with t.block("connection limit"):
        with hwtest.Server(routes=[route("/hello", "hello.so")],
                           limits={"connections": 3}, workers=0,
                           name="connlimit") as srv:
            held = [Conn(srv.port) for _ in range(3)]
            for c in held:
                c.send(get("/hello"))
                t.is_(c.read_response().status, 200, "a connection under the "
                      "limit is served")
            extra = Conn(srv.port)  # accepted by the kernel, not the server
            extra.send(get("/hello"))
            t.ok(extra.is_open(wait=0.5),
                 "past the limit a new connection waits (no answer, no reset)")
            held[0].close()
            r = extra.read_response(timeout=5)
            t.is_(r.status, 200, "and is served once a connection closes")
            for c in held[1:] + [extra]:
                c.close()
            t.ok(srv.alive(), "the server never minded")
            hwtest.assert_clean_stop(srv, name="server")


def test_body_rate():
    """limits.body_min_rate 1000 bytes/s, body_idle 3 s: three clients at
    once (the rate is judged over 5 s windows after a free first one, so
    each takes about 11 s)."""
    rate_limits = {"body_min_rate": 1000}
    routes = [route("/echo", "echo.so"), route("/delay", "delay.so")]
    with t.block("minimum body rate"), \
            hwtest.Server(routes=routes, workers=0, limits=rate_limits,
                          name="bodyrate",
                          config={"listen": ["127.0.0.1:0"], "workers": 0,
                                  "modules_dir": hwtest.MODULES_DIR,
                                  "limits": rate_limits,
                                  "timeouts_ms": {"body_idle": 3000,
                                                  "head": 2000},
                                  "routes": routes}) as srv:
        results = {}

        def trickle():
            # 10 bytes every 0.5 s: 20 bytes/s, never silent for 3 s.
            with Conn(srv.port) as c:
                c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 100000\r\n\r\n")
                t0 = time.monotonic()
                c.sock.settimeout(0.5)
                got = b""
                while time.monotonic() - t0 < 16 and b"\r\n\r\n" not in got:
                    try:
                        c.sock.sendall(b"x" * 10)
                        got += c.sock.recv(4096)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                results["trickle"] = (got[:12], time.monotonic() - t0, got)

        def steady():
            # 1000 bytes every 0.5 s: 2000 bytes/s for 12 s.
            with Conn(srv.port) as c:
                c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 24000\r\n\r\n")
                for _ in range(24):
                    time.sleep(0.5)
                    c.send(b"y" * 1000)
                r = c.read_response(timeout=5)
                results["steady"] = (r.status, len(r.json()["body"]))

        def owed():
            # The 100 Continue waits behind an answer due in 11 s; the
            # client sends nothing meanwhile.
            with Conn(srv.port, timeout=20) as c:
                c.send(b"GET /delay/x?ms=11000 HTTP/1.1\r\nHost: x\r\n\r\n"
                       b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5"
                       b"\r\nExpect: 100-continue\r\n\r\n")
                first = c.read_response(timeout=15, skip_1xx=False)
                interim = c.read_response(timeout=5, skip_1xx=False)
                c.send(b"hello")
                last = c.read_response(timeout=5)
                results["owed"] = (first.status, interim.status, last.status,
                                   last.json()["body"])

        def two_bodies():
            # Body 2 begins in the read that ends body 1 (slow, past its
            # free window): its own first window is free all the same.
            with Conn(srv.port) as c:
                c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 120\r\n\r\n")
                for _ in range(11):
                    time.sleep(0.5)
                    c.send(b"a" * 10)
                c.send(b"a" * 10 + b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 130\r\n\r\n" + b"b" * 10)
                for _ in range(12):
                    time.sleep(0.5)
                    c.send(b"b" * 10)
                first = c.read_response(timeout=5)
                second = c.read_response(timeout=5)
                results["two"] = (first.status, second.status)

        def head_after_deferred():
            # A head that begins while the request before it is deferred
            # has its own time (2 s here), not what is left of the first's.
            with Conn(srv.port) as c:
                c.send(b"GET /delay/x?ms=1500 HTTP/1.1\r\nHo")
                time.sleep(1.5)
                c.send(b"st: x\r\n\r\nGET /echo HTTP/1.1\r\nHo")
                time.sleep(1.5)
                c.send(b"st: x\r\n\r\n")
                first = c.read_response(timeout=5)
                second = c.read_response(timeout=5)
                results["heads"] = (first.status, second.status)

        threads = [threading.Thread(target=f, daemon=True)
                   for f in (trickle, steady, owed, two_bodies,
                             head_after_deferred)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        status, took, got = results.get("trickle", (None, 0, b""))
        t.ok(status == b"HTTP/1.1 408", "a body at 20 bytes/s gets 408",
             "got %r" % got[:200])
        t.ok(9.5 <= took <= 10 + 1.5, "after the free window and one more "
             "(10 s of reading)", "took %.2f s" % took)
        t.ok(b"connection: close" in got.lower(), "with Connection: close")
        t.is_(results.get("steady"), (200, 24000),
              "a body at 2000 bytes/s for 12 s is read whole")
        t.is_(results.get("owed"), (200, 100, 200, "hello"),
              "a 100 Continue owed behind an 11 s answer is sent after it, "
              "and the body's clock waited for it")
        t.is_(results.get("two"), (200, 200),
              "a body that begins in the read ending a slow one is judged "
              "on its own")
        t.is_(results.get("heads"), (200, 200),
              "a head begun behind a deferred request has its own head "
              "timeout")
        hwtest.assert_clean_stop(srv, name="server")


def main():
    routes = [route("/hello", "hello.so"), route("/echo", "echo.so"),
              route("/big", "hello.so", {"body": "b" * 100000})]
    with hwtest.Server(routes=routes, workers=0, name="timeouts",
                       config={"listen": ["127.0.0.1:0"], "workers": 0,
                               "modules_dir": hwtest.MODULES_DIR,
                               "timeouts_ms": TIMEOUTS,
                               "routes": routes}) as srv:
        test_head(srv)
        test_body(srv)
        test_keepalive(srv)
        test_write(srv)
        test_linger(srv)
        with t.block("shutdown"):
            hwtest.assert_clean_stop(srv, name="server")
    test_limit()
    test_body_rate()


hwtest.run(main)
