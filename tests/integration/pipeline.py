#!/usr/bin/env python3
"""Pipelining: many requests in one write (some deferred) are answered in
request order; Connection: close in the middle of a pipeline; pipelines split
at every kind of byte boundary; a client leaving with a deferred request."""

import os
import random
import signal
import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, request, route  # noqa: E402

HELLO = b"Hello, World!"


def routes():
    return [
        route("/hello", "hello.so"),
        route("/echo", "echo.so"),
        route("/delay", "delay.so", {"ms": 0}),
    ]


def mixed(n, delay_ms):
    """n requests mixing hello, echo and delay; returns (bytes, expected)
    where expected[i] is what identifies answer i."""
    data, expect = b"", []
    for i in range(n):
        k = i % 3
        if k == 0:
            data += get("/hello")
            expect.append(("hello", None))
        elif k == 1:
            data += get("/echo?i=%d" % i)
            expect.append(("echo", "i=%d" % i))
        else:
            data += get("/delay/%d?ms=%d" % (i, delay_ms(i)))
            expect.append(("delay", "/delay/%d" % i))
    return data, expect


def identify(r):
    """What a response says about the request it answers."""
    if r.status != 200:
        return ("status", r.status)
    if r.body == HELLO:
        return ("hello", None)
    if r.body.startswith(b"/delay"):
        return ("delay", r.text())
    try:
        return ("echo", r.json().get("query"))
    except ValueError:
        return ("unknown", r.body[:60])


def check_in_order(rs, expect, what):
    got = [identify(r) for r in rs]
    bad = [i for i, (g, e) in enumerate(zip(got, expect)) if g != e]
    t.is_(len(rs), len(expect), "%s: %d responses" % (what, len(expect)))
    t.ok(all(r.status == 200 for r in rs), "%s: all 200" % what,
         [r.status for r in rs if r.status != 200][:10])
    t.ok(not bad and len(got) == len(expect), "%s: in request order" % what,
         "first mismatches (index, got, expected): %s" %
         [(i, got[i], expect[i]) for i in bad[:5]])


def test_hundred(srv):
    with t.block("100 pipelined"):
        data, expect = mixed(100, lambda i: (100 - i) % 7 * 10)
        with Conn(srv.port) as c:
            c.send(data)
            rs = c.read_responses(100, timeout=15)
            check_in_order(rs, expect, "mixed hello/echo/delay")
            t.ok(c.is_open(0.1), "connection still open afterwards")
            c.send(get("/echo?i=after"))
            r = c.read_response()
            t.is_(identify(r), ("echo", "i=after"),
                  "a request after the pipeline is answered")


def test_deferred_first(srv):
    with t.block("deferred first"):
        data = (get("/delay/first?ms=200") + get("/hello") +
                get("/echo?i=1") + get("/delay/second?ms=0") + get("/hello"))
        expect = [("delay", "/delay/first"), ("hello", None), ("echo", "i=1"),
                  ("delay", "/delay/second"), ("hello", None)]
        with Conn(srv.port) as c:
            c.send(data)
            rs = c.read_responses(5)
            check_in_order(rs, expect, "slow first, fast rest")
    with t.block("deferred HEAD"):
        with Conn(srv.port) as c:
            c.send(request("HEAD", "/delay/h?ms=50") + get("/delay/g?ms=0"))
            r1 = c.read_response(head=True)
            r2 = c.read_response()
            t.is_((r1.status, r1.header("Content-Length")), (200, "8"),
                  "HEAD on a deferred route: Content-Length of the body")
            t.is_(identify(r2), ("delay", "/delay/g"),
                  "no body after it: the next response is intact")
    with t.block("descending delays"):
        # Later requests finish first: order must still be request order.
        data, expect = b"", []
        for i in range(10):
            data += get("/delay/%d?ms=%d" % (i, (10 - i) * 15))
            expect.append(("delay", "/delay/%d" % i))
        with Conn(srv.port) as c:
            c.send(data)
            check_in_order(c.read_responses(10), expect, "10 delays")


def test_close_in_middle(srv):
    for label, first in (("plain", get("/hello")),
                         ("after a deferred one", get("/delay/d?ms=100"))):
        with t.block("Connection: close mid-pipeline, " + label):
            data = (first + get("/echo?i=1") +
                    get("/echo?i=2", headers=[("Connection", "close")]) +
                    get("/hello") + get("/echo?i=4"))
            with Conn(srv.port) as c:
                c.send(data)
                rs = c.read_responses(3)
                t.is_([identify(r)[0] for r in rs],
                      [identify_first(first), "echo", "echo"],
                      "answers up to and including the close request")
                t.is_(identify(rs[2]), ("echo", "i=2"),
                      "third answer is the close request's")
                t.ok("close" in rs[2].connection_tokens(),
                     "it carries Connection: close", rs[2].headers)
                t.ok(all("close" not in r.connection_tokens()
                         for r in rs[:2]),
                     "earlier answers do not")
                c.expect_closed("then close, nothing after")


def test_half_close(srv):
    with t.block("pipeline then half-close"):
        data, expect = mixed(30, lambda i: (30 - i) % 5 * 10)
        with Conn(srv.port) as c:
            c.send(data)
            c.sock.shutdown(socket.SHUT_WR)
            rs = c.read_responses(30)
            check_in_order(rs, expect, "30 requests, then EOF from the client")
            c.expect_closed("server closes once everything is answered")


def identify_first(req):
    return "delay" if b"/delay" in req.split(b"\r\n")[0] else "hello"


def test_split(srv):
    with t.block("split pipelines"):
        data, expect = mixed(30, lambda i: i % 4 * 5)
        data += request("POST", "/echo?i=post", body=b"x" * 100)
        expect.append(("echo", "i=post"))
        data += request("HEAD", "/hello")
        expect.append(("hello-head", None))
        data += get("/hello")
        expect.append(("hello", None))
        rnd = random.Random(1234)
        for label, sizes in (("1-byte writes", None),
                             ("random writes", "random")):
            with Conn(srv.port) as c:
                if sizes is None:
                    # byte by byte over the first 3 requests, then the rest
                    head = len(get("/hello") + get("/echo?i=1") +
                               get("/delay/2?ms=10"))
                    pieces = [data[i:i + 1] for i in range(head)]
                    pieces.append(data[head:])
                    for p in pieces:
                        c.send(p)
                else:
                    pieces, i = [], 0
                    while i < len(data):
                        n = rnd.randint(1, 97)
                        pieces.append(data[i:i + n])
                        i += n
                    c.send_slowly(pieces, 0.001)
                n = len(expect)
                rs = c.read_responses(n, heads={n - 2}, timeout=15)
                got = []
                for i, r in enumerate(rs):
                    if i == n - 2:
                        ok = (r.status == 200 and
                              r.header("Content-Length") == "13")
                        got.append(("hello-head", None) if ok else
                                   ("bad head", r.headers))
                    else:
                        got.append(identify(r))
                t.is_(got, expect, label + ": all answered in order")


def test_client_leaves(srv):
    with t.block("client leaves"):
        c = Conn(srv.port)
        c.send(get("/delay/gone?ms=200") + get("/hello") +
               get("/delay/gone2?ms=50"))
        c.close()
        c = Conn(srv.port)
        c.send(get("/delay/gone3?ms=300"))
        c.sock.shutdown(socket.SHUT_WR)  # half-close: the request is whole
        r = c.read_response()
        t.is_(identify(r), ("delay", "/delay/gone3"),
              "deferred request answered after the client half-closed")
        c.close()
        r = hwtest.one(srv.port, get("/delay/fresh?ms=0"))
        t.is_(identify(r), ("delay", "/delay/fresh"),
              "server answers a fresh connection")
        t.ok(srv.alive(), "server still running")


def test_stop_with_deferred():
    # SIGINT is the immediate stop: the deferred request is abandoned (its
    # module is told) and the server still exits cleanly.
    with t.block("SIGINT with a deferred request in flight"):
        with hwtest.Server(routes=routes(), name="stopdefer") as srv:
            with Conn(srv.port) as c:
                c.send(get("/delay/slow?ms=60000"))
                # A round trip on a second connection, so the loop has
                # (almost certainly) handed the first request to the module.
                r = hwtest.one(srv.port, get("/hello"))
                t.is_(r.status, 200, "server busy with a 60 s deferred request")
                hwtest.assert_clean_stop(srv, signal.SIGINT, "server")
    # SIGTERM is graceful: the deferred request completes, its response says
    # Connection: close, an idle keep-alive connection is closed, and then
    # the server exits 0.
    with t.block("SIGTERM with a deferred request in flight"):
        with hwtest.Server(routes=routes(), name="stopgrace") as srv:
            with Conn(srv.port) as c, Conn(srv.port) as idle:
                idle.send(get("/hello"))
                r = idle.read_response()
                t.is_(r.status, 200, "idle keep-alive connection made")
                c.send(get("/delay/slow?ms=700"))
                r = hwtest.one(srv.port, get("/hello"))
                t.is_(r.status, 200, "server busy with a deferred request")
                srv.send_signal(signal.SIGTERM)
                r = c.read_response()
                t.is_((r.status, r.body), (200, b"/delay/slow"),
                      "the deferred request completes after SIGTERM")
                t.ok("close" in r.connection_tokens(),
                     "its response says Connection: close")
                c.expect_closed("then the connection is closed")
                idle.expect_closed("the idle connection is closed")
                rc = srv.proc.wait(timeout=hwtest.TIMEOUT)
                t.is_(rc, 0, "then the server exits 0")


def main():
    with hwtest.Server(routes=routes(), name="pipeline") as srv:
        test_hundred(srv)
        test_deferred_first(srv)
        test_close_in_middle(srv)
        test_split(srv)
        test_half_close(srv)
        test_client_leaves(srv)
        with t.block("shutdown"):
            hwtest.assert_clean_stop(srv, signal.SIGTERM, "server")
    test_stop_with_deferred()


hwtest.run(main)
