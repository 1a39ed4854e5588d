#!/usr/bin/env python3
"""Back-pressure: a client pipelining thousands of requests without reading
must not make the server's memory grow without bound; once it reads, every
response arrives, in order.  Also a client that pipelines and leaves."""

import os
import select
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, request, route  # noqa: E402

HELLO = b"Hello, World!"
N = 5000
BIG = 10000                  # body bytes of /big: 5,000 x 10 KB = 50 MB out
RSS_SLACK_KIB = 32 * 1024
HOLD = 1.0                   # seconds without reading


class Sender(threading.Thread):
    """Sends `data` with a blocking sendall; the server may stop reading, so
    this may block until the main thread reads (the back-pressure)."""

    def __init__(self, sock, data, timeout=60):
        super().__init__(daemon=True)
        self.sock, self.data, self.timeout = sock, data, timeout
        self.error = None
        self.done_at = None

    def run(self):
        try:
            self.sock.settimeout(self.timeout)
            self.sock.sendall(self.data)
            self.done_at = time.monotonic()
        except Exception as e:  # reported by the main thread
            self.error = e


def hold_and_measure(srv, hold=HOLD):
    """Max RSS (KiB) of the server process tree over `hold` seconds."""
    peak = hwtest.rss_kib(srv.proc.pid) or 0
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline:
        peak = max(peak, hwtest.rss_kib(srv.proc.pid) or 0)
        time.sleep(0.02)
    return peak


def pipelined_hello(srv):
    with t.block("5000 x /hello"):
        ua = [("User-Agent", "hwtest-backpressure/1.0 (pipelining, no reads)")]
        parts, expect = [], []
        for i in range(N):
            if i % 50 == 49:
                parts.append(get("/echo?i=%d" % i, headers=ua))
                expect.append(("echo", "i=%d" % i))
            else:
                parts.append(get("/hello", headers=ua))
                expect.append(("hello", None))
        data = b"".join(parts)
        t.diag("sending %d requests, %d bytes, without reading for %.1f s"
               % (N, len(data), HOLD))
        base = hwtest.rss_kib(srv.proc.pid)
        c = Conn(srv.port, timeout=30)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s = Sender(c.sock, data)
        s.start()
        peak = hold_and_measure(srv)
        t.diag("RSS: start %s KiB, peak while not reading %s KiB; sender %s"
               % (base, peak, "finished" if s.done_at else "blocked"))
        t.cmp_ok(peak, "<", base + RSS_SLACK_KIB,
                 "server RSS stays below start + 32 MiB")
        t.ok(srv.alive(), "server alive while the client does not read")
        got, bad = 0, []
        try:
            for i in range(N):
                r = c.read_response(timeout=30)
                got += 1
                if expect[i][0] == "hello":
                    ok = r.status == 200 and r.body == HELLO
                else:
                    ok = (r.status == 200 and
                          r.json().get("query") == expect[i][1])
                if not ok and len(bad) < 5:
                    bad.append((i, expect[i], r.status, r.body[:80]))
        except Exception as e:
            t.diag("reading stopped after %d responses: %s" % (got, e))
        s.join(30)
        t.is_(got, N, "all %d responses arrive once the client reads" % N)
        t.ok(not bad, "all 200 and in request order", bad)
        t.ok(s.error is None and s.done_at is not None,
             "the whole pipeline was sent", repr(s.error))
        c.send(get("/echo?i=last"))
        r = c.read_response()
        t.is_((r.status, r.json().get("query")), (200, "i=last"),
              "the connection still works afterwards")
        c.close()


def pipelined_big(srv):
    with t.block("5000 x 10 KB responses"):
        data = get("/big") * N
        t.diag("%d requests (%d bytes) asking for %d MB of responses"
               % (N, len(data), N * BIG // 1000000))
        base = hwtest.rss_kib(srv.proc.pid)
        c = Conn(srv.port, timeout=30)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s = Sender(c.sock, data)
        s.start()
        peak = hold_and_measure(srv)
        t.diag("RSS: start %s KiB, peak while not reading %s KiB; sender %s"
               % (base, peak, "finished" if s.done_at else "blocked"))
        t.cmp_ok(peak, "<", base + RSS_SLACK_KIB,
                 "server RSS stays below start + 32 MiB (50 MB owed)")
        got, bad = 0, []
        body = b"b" * BIG
        try:
            for i in range(N):
                r = c.read_response(timeout=30)
                got += 1
                if (r.status != 200 or r.body != body) and len(bad) < 5:
                    bad.append((i, r.status, len(r.body)))
        except Exception as e:
            t.diag("reading stopped after %d responses: %s" % (got, e))
        s.join(30)
        t.is_(got, N, "all %d responses arrive" % N)
        t.ok(not bad, "all complete 200s", bad)
        t.ok(s.error is None and s.done_at is not None,
             "the whole pipeline was sent", repr(s.error))
        c.close()


def pipelined_and_gone(srv):
    with t.block("pipeline then leave"):
        for n, target in ((2000, "/big"), (3000, "/hello")):
            c = Conn(srv.port)
            try:
                c.sock.settimeout(5)
                c.sock.sendall(get(target) * n)
            except OSError:
                pass
            c.close()
        # abrupt close (RST) with requests and responses in flight
        c = Conn(srv.port)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          b"\x01\x00\x00\x00\x00\x00\x00\x00")
        try:
            c.sock.sendall(get("/big") * 500)
        except OSError:
            pass
        c.close()
        r = hwtest.one(srv.port, get("/hello"))
        t.is_((r.status, r.body), (200, HELLO),
              "server answers a fresh connection")
        t.ok(srv.alive(), "server alive")


def stop_while_blocked(routes):
    # SIGINT: the immediate stop must not wait for a client that never
    # reads (SIGTERM would, up to the drain timeout).
    with t.block("SIGINT while blocked on a client that does not read"):
        with hwtest.Server(routes=routes, name="bpstop") as srv:
            c = Conn(srv.port)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            try:
                c.sock.settimeout(2)
                c.sock.sendall(get("/big") * 2000)
            except OSError:
                pass  # the server stopped reading: that is fine too
            r, _, _ = select.select([c.sock], [], [], hwtest.TIMEOUT)
            t.ok(r, "server started answering (and is now stuck writing)")
            hwtest.assert_clean_stop(srv, signal.SIGINT, name="server")
            c.close()


def main():
    routes = [route("/hello", "hello.so"), route("/echo", "echo.so"),
              route("/big", "hello.so", {"body": "b" * BIG})]
    with hwtest.Server(routes=routes, name="bp") as srv:
        with t.block("warm-up"):
            for target in ("/hello", "/echo", "/big"):
                with Conn(srv.port) as c:
                    c.send(get(target) * 40)
                    rs = c.read_responses(40)
                    t.ok(all(r.status == 200 for r in rs),
                         "40 x %s answered" % target)
        pipelined_hello(srv)
        pipelined_big(srv)
        pipelined_and_gone(srv)
        with t.block("fresh connection"):
            with Conn(srv.port) as c:
                c.send(get("/hello") + request("HEAD", "/big"))
                r1 = c.read_response()
                r2 = c.read_response(head=True)
                t.is_((r1.status, r1.body), (200, HELLO), "GET /hello")
                t.is_(r2.header("Content-Length"), str(BIG), "HEAD /big")
        with t.block("shutdown"):
            hwtest.assert_clean_stop(srv, name="server")
    stop_while_blocked(routes)


hwtest.run(main)
