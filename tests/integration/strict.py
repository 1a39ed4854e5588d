#!/usr/bin/env python3
"""Strict HTTP/1.1 parsing against a live server: each malformed or refused
request is sent over a raw socket with a good request pipelined after it in
the same write; the server must answer the first with the expected status
and Connection: close, then close without answering the second.  Also: the
limits of "limits" (414 and 431 while the line is still arriving), OPTIONS *,
HTTP/1.2 answered as 1.1, percent-decoded and normalised paths, a few
requests split across writes, Expect: 100-continue, and the rules of
tests/lib/points.py (Host grammar, transfer codings, request-target bytes,
any method token routed, 501 for an unrouted unknown method)."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, route  # noqa: E402
from points import POINTS  # noqa: E402

LIMITS = {"request_line": 200, "header_bytes": 300, "headers": 10}
GOOD = b"GET /echo/after HTTP/1.1\r\nHost: x\r\n\r\n"
H = b"Host: x\r\n"

BAD = [
    # request line
    ("two spaces after the method", b"GET  /echo HTTP/1.1\r\n" + H + b"\r\n",
     400),
    ("two spaces after the target", b"GET /echo  HTTP/1.1\r\n" + H + b"\r\n",
     400),
    ("tab in the request line", b"GET\t/echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bare LF ending the request line", b"GET /echo HTTP/1.1\n" + H + b"\r\n",
     400),
    ("HTTP/0.9 request", b"GET /echo\r\n\r\n", 400),
    ("malformed version", b"GET /echo HTTP/1.x\r\n" + H + b"\r\n", 400),
    ("major version 2", b"GET /echo HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("major version 0", b"GET /echo HTTP/0.9\r\n" + H + b"\r\n", 505),
    ("non-ASCII in the target", b"GET /\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n",
     400),
    # methods
    ("invalid method token", b"GE(T /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("CONNECT", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443"
     b"\r\n\r\n", 405),
    # Host
    ("HTTP/1.1 without Host", b"GET /echo HTTP/1.1\r\n\r\n", 400),
    ("two Host fields", b"GET /echo HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    # field lines
    ("space before the colon", b"GET /echo HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("obsolete line folding",
     b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\r\n\tb\r\n\r\n", 400),
    ("whitespace before the first field",
     b"GET /echo HTTP/1.1\r\n X-A: a\r\n" + H + b"\r\n", 400),
    ("NUL in a value", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
     400),
    ("bare CR in a value",
     b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400),
    ("control character in a value",
     b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\x1bb\r\n\r\n", 400),
    ("control character in a name",
     b"GET /echo HTTP/1.1\r\n" + H + b"X\x01A: a\r\n\r\n", 400),
    ("bare LF between fields",
     b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\nX-B: b\r\n\r\n", 400),
    # framing
    ("Content-Length with Transfer-Encoding",
     b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("two different Content-Length",
     b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n"
     b"Content-Length: 6\r\n\r\nhello!", 400),
    ("Content-Length list of different values",
     b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!",
     400),
    ("Content-Length not digits",
     b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5x\r\n\r\nhello", 400),
    ("Content-Length overflow",
     b"POST /echo HTTP/1.1\r\n" + H +
     b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    ("Transfer-Encoding gzip without chunked",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n", 400),
    ("Transfer-Encoding unknown, no chunked",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: snappy\r\n\r\n",
     400),
    ("chunked twice",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, chunked"
     b"\r\n\r\n0\r\n\r\n", 400),
    ("chunked not last",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
     b"Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
    ("bad chunk size",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
     b"-3\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk size overflow",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
     b"fffffffffffffffff\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk data without its CRLF",
     b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
     b"3\r\nabcXX0\r\n\r\n", 400),
    # targets
    ("GET *", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("path climbing above the root", b"GET /echo/../../x HTTP/1.1\r\n" + H +
     b"\r\n", 400),
    ("%00 in the path", b"GET /echo/%00 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("invalid escape in the path", b"GET /echo/%g0 HTTP/1.1\r\n" + H +
     b"\r\n", 400),
    ("userinfo in an absolute-form target",
     b"GET http://u@x/echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    # limits (request_line 200, header_bytes 300, headers 10)
    ("request line over the limit",
     b"GET /echo/" + b"a" * 200 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("header bytes over the limit",
     b"GET /echo HTTP/1.1\r\n" + H + b"X-A: " + b"a" * 300 + b"\r\n\r\n", 431),
    ("too many header fields",
     b"GET /echo HTTP/1.1\r\n" + H +
     b"".join(b"X-%d: v\r\n" % i for i in range(10)) + b"\r\n", 431),
]


def expect_refused(srv, name, data, status, pieces=None):
    """Sends `data` (or `pieces` in separate writes) with GOOD pipelined
    after it; the answer must be `status` with Connection: close, and then
    the connection closes with nothing more."""
    with t.block(name):
        with Conn(srv.port) as c:
            if pieces:
                c.send_slowly(pieces[:-1] + [pieces[-1] + GOOD])
            else:
                c.send(data + GOOD)
            r = c.read_response()
            t.is_(r.status, status, "answered %d" % status)
            t.ok("close" in r.connection_tokens(), "with Connection: close",
                 r.raw_head)
            c.expect_closed("then closed, the pipelined request unanswered")


def echo(r):
    return json.loads(r.body.decode("utf-8", "surrogateescape"))


def test_good(srv):
    with t.block("accepted"):
        with Conn(srv.port) as c:
            c.send(b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n")
            r = c.read_response()
            t.is_((r.status, r.header("Allow"), r.header("Content-Length")),
                  (200, "GET, HEAD, POST, PUT, DELETE, OPTIONS", "0"),
                  "OPTIONS * is 200 with Allow and no body")
            c.send(b"GET /echo/x HTTP/1.2\r\n" + H + b"\r\n")
            r = c.read_response()
            t.is_((r.status, r.version), (200, "1.1"),
                  "HTTP/1.2 is answered as HTTP/1.1")
            t.ok(not r.has_header("Connection"),
                 "and kept alive as HTTP/1.1")
            c.send(b"GET /echo/a/./b/../%63?q=%41 HTTP/1.1\r\n" + H + b"\r\n")
            doc = echo(c.read_response())
            t.is_((doc.get("path"), doc.get("query")), ("/echo/a/c", "q=%41"),
                  "path percent-decoded and normalised, query as sent")
            c.send(b"GET http://example.com HTTP/1.1\r\n" + H + b"\r\n")
            r = c.read_response()
            t.is_(r.status, 200, "absolute-form with an empty path is /")
            c.send(b"\r\nGET /echo HTTP/1.1\r\n" + H +
                   b"X-A: v\xff\t \r\n\r\n")
            r = c.read_response()
            t.is_((r.status, echo(r)["headers"].get("x-a")),
                  (200, "v\udcff"), "empty line before a request; obs-text, "
                  "trailing OWS dropped")
            c.send(b"POST /echo HTTP/1.1\r\n" + H +
                   b"Transfer-Encoding: chunked\r\n\r\n"
                   b"3;ext=\"q\\\"\"\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")
            r = c.read_response()
            doc = echo(r)
            t.is_((r.status, doc.get("body"), "x-t" in doc["headers"]),
                  (200, "abc", False), "chunked; quoted chunk "
                  "extension; trailer not among the headers")
            c.send(b"BREW /echo/pot HTTP/1.1\r\n" + H + b"\r\n")
            r = c.read_response()
            t.is_((r.status, echo(r).get("method")), (200, "BREW"),
                  "a method unknown to the server reaches the module")
            c.send(b"GET /echo HTTP/1.1\r\n" + H + b"X-A: " + b"a" * 280 +
                   b"\r\n\r\n")
            t.is_(c.read_response().status, 200,
                  "header bytes at the limit are fine")
            c.send(b"GET /echo HTTP/1.1\r\n" + H + b"\r\n")
            t.is_(c.read_response().status, 200, "connection still in step")


def test_early_limits(srv):
    with t.block("limits before the line ends"):
        with Conn(srv.port) as c:
            c.send(b"GET /echo/" + b"a" * 250)
            r = c.read_response()
            t.is_(r.status, 414, "a long target gets 414 before its line ends")
            c.expect_closed()
        with Conn(srv.port) as c:
            c.send(b"GET /echo HTTP/1.1\r\n" + H + b"X-A: " + b"a" * 400)
            r = c.read_response()
            t.is_(r.status, 431, "a long field gets 431 before its line ends")
            c.expect_closed()


def test_split(srv):
    # The verdict does not depend on where reads split the request.
    req = (b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n")
    cut = req.index(b"\r\n b") + 2
    expect_refused(srv, "obs-fold split at the fold", None, 400,
                   [req[:cut], req[cut:]])
    req = (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
           b"\r\n3\r\nabc")
    expect_refused(srv, "chunk data without its CRLF, split after the data",
                   None, 400, [req, b"XX0\r\n\r\n"])
    with t.block("unknown method split inside it"):
        with Conn(srv.port) as c:
            c.send_slowly([b"BR", b"EW /echo HTTP/1.1\r\n" + H + b"\r\n"])
            r = c.read_response()
            t.is_((r.status, echo(r).get("method")), (200, "BREW"),
                  "the module sees the whole method")


def test_points(srv):
    """The rules of tests/lib/points.py, on a server with /echo alone."""
    for point, name, data, status, ends in POINTS:
        name = "point %d: %s" % (point, name)
        if ends:
            expect_refused(srv, name, data, status)
            continue
        with t.block(name):
            with Conn(srv.port) as c:
                c.send(data + GOOD)
                r = c.read_response()
                t.is_(r.status, status, "answered %d" % status)
                t.ok("close" not in r.connection_tokens(),
                     "without Connection: close")
                t.is_(c.read_response().status, 200,
                      "then the pipelined request is answered")


def test_expect():
    """Expect: 100-continue: the interim answer only once the route is known
    and the body fits; otherwise the final status at once, and close."""
    with t.block("Expect: 100-continue"):
        with hwtest.Server(routes=[route("/echo", "echo.so")],
                           limits={"body": 1000}, name="expect") as srv:
            with Conn(srv.port) as c:
                c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       b"Expect: 100-continue\r\n\r\n")
                r = c.read_response(skip_1xx=False)
                t.is_(r.status, 100, "routed, fitting body: 100 Continue first")
                c.send(b"hello")
                r = c.read_response()
                t.is_((r.status, r.json()["body"]), (200, "hello"),
                      "then the body is read and the module answers")
            for name, head, status in (
                    ("no route", b"POST /nope HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", 404),
                    ("body too large", b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n", 413),
                    ("unknown expectation", b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 5\r\nExpect: magic\r\n\r\n", 417),
                    ("unknown method, no route", b"BREW /nope HTTP/1.1\r\n"
                     b"Host: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n", 501)):
                with Conn(srv.port) as c:
                    c.send(head)
                    r = c.read_response(skip_1xx=False)
                    t.is_(r.status, status, "%s: final %d, no 100" % (name, status))
                    t.ok("close" in r.connection_tokens(),
                         "%s: Connection: close" % name)
                    c.expect_closed("%s: then the connection closes" % name)
            test_points(srv)
            hwtest.assert_clean_stop(srv, name="expect server")


def main():
    test_expect()
    with hwtest.Server(routes=[route("/echo", "echo.so"),
                               route("/", "echo.so")],
                       limits=LIMITS, name="strict") as srv:
        for name, data, status in BAD:
            expect_refused(srv, name, data, status)
        test_good(srv)
        test_early_limits(srv)
        test_split(srv)
        with t.block("shutdown"):
            hwtest.assert_clean_stop(srv, name="server")


hwtest.run(main)
