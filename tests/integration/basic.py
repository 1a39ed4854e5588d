#!/usr/bin/env python3
"""Basic HTTP behaviour: hello via curl, keep-alive, host headers, HEAD,
routing (segments, longest prefix, decline fall-through), module errors,
per-route state, Connection handling, HTTP/1.0, 400s, IPv6, signals."""

import email.utils
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, request, route, fixture  # noqa: E402

HELLO = b"Hello, World!"


def routes():
    return [
        route("/hello", "hello.so"),
        route("/echo", "echo.so"),
        route("/a", fixture("behave"), {"name": "A"}),
        route("/a/b", fixture("behave"), {"name": "B"}),
        route("/x", fixture("behave"), {"name": "X"}),
    ]


def test_curl(srv):
    with t.block("curl"):
        if not hwtest.have_curl():
            t.skip("curl not installed", 3)
            return
        rc, out, err = hwtest.curl("http://127.0.0.1:%d/hello" % srv.port)
        t.is_(rc, 0, "curl GET /hello exits 0" + (" (%s)" % err.strip()
                                                  if rc else ""))
        t.is_(out, HELLO, "curl prints Hello, World!")
        rc, out, err = hwtest.curl("http://127.0.0.1:%d/hello" % srv.port,
                                   "-o", "/dev/null", "-w",
                                   "%{http_code} %{content_type}")
        t.is_(out.decode(), "200 text/plain", "curl sees 200 text/plain")


def test_host_headers(srv):
    with t.block("headers"):
        with Conn(srv.port) as c:
            c.send(get("/hello"))
            r = c.read_response()
        t.is_(r.status, 200, "GET /hello is 200")
        t.is_(r.body, HELLO, "body is Hello, World!")
        t.like(r.header("Content-Type") or "", r"^text/plain",
               "Content-Type text/plain")
        t.is_(r.header("Server"), "haywire", "Server: haywire")
        t.is_(r.header_all("Content-Length"), ["13"],
              "exactly one Content-Length: 13")
        err = hwtest.http_date_ok(r.header("Date"))
        t.ok(err is None, "Date is an RFC 7231 IMF-fixdate close to now",
             err)
        t.is_(len(r.header_all("Date")), 1, "exactly one Date")
        # The cached Date is the second the answer was made in, not one
        # before it (a Last-Modified of a file written this second must
        # not be later than it: RFC 9110 section 8.8.2.1).  The worker's
        # timer rewrites it a millisecond after each second begins, and a
        # request the loop reads in the same turn is answered first: in the
        # first few milliseconds of a second (more on a busy machine) the
        # previous one is still allowed.
        behind = []
        with Conn(srv.port) as c:
            for _ in range(25):
                t0 = time.time()
                c.send(get("/hello"))
                d = c.read_response().header("Date")
                ts = email.utils.parsedate_to_datetime(d).timestamp()
                late_ok = ts == int(t0) - 1 and t0 - int(t0) < (
                    0.06 if hwtest.sanitized() else 0.02)
                if (ts < int(t0) and not late_ok) or ts > time.time():
                    behind.append((round(t0, 3), d))
                time.sleep(0.043)
        t.is_(behind, [], "25 answers over a second: Date is the current "
              "second each time")
        t.is_(r.version, "1.1", "response is HTTP/1.1")
        t.ok("close" not in r.connection_tokens(),
             "1.1 response without Connection: close",
             r.header_all("Connection"))


def test_keepalive(srv):
    with t.block("keep-alive"):
        with Conn(srv.port) as c:
            me = "127.0.0.1:%d" % c.local_port()
            c.send(get("/hello"))
            r1 = c.read_response()
            t.is_((r1.status, r1.body), (200, HELLO), "first request answered")
            t.ok(c.is_open(0.2), "connection stays open after the first")
            c.send(get("/a/peer"))
            r2 = c.read_response()
            t.is_((r2.status, r2.text()), (200, me),
                  "second request on the same connection (peer is us)")
            c.send(get("/echo?n=3"))
            r3 = c.read_response()
            t.is_(r3.status, 200, "third request on the same connection")
            t.is_(r3.json().get("query"), "n=3", "third answer is ours")
            c.send(get("/a/peer"))
            r4 = c.read_response()
            t.is_(r4.text(), me, "fourth request still on the same connection")


def test_head(srv):
    with t.block("HEAD"):
        with Conn(srv.port) as c:
            c.send(request("HEAD", "/hello"))
            r = c.read_response(head=True)
            t.is_(r.status, 200, "HEAD /hello is 200")
            t.is_(r.header_all("Content-Length"), ["13"],
                  "HEAD carries the GET body's Content-Length")
            t.ok(r.has_header("Date") and r.header("Server") == "haywire",
                 "HEAD has Date and Server", r.headers)
            t.like(r.header("Content-Type") or "", r"^text/plain",
                   "HEAD has the module's Content-Type")
            # No body bytes may follow: the next bytes must be the next
            # response's status line.
            c.send(get("/hello"))
            r2 = c.read_response()
            t.is_((r2.status, r2.body), (200, HELLO),
                  "no body after the HEAD response (next response is clean)")
            c.send(request("HEAD", "/a/ref"))
            r3 = c.read_response(head=True)
            t.is_((r3.status, r3.header("Content-Length")), (200, "24"),
                  "HEAD /a/ref: Content-Length counts referenced bytes")
            c.send(get("/a/ref"))
            r4 = c.read_response()
            t.is_(r4.body, b"referenced;copied;static",
                  "GET after HEAD on the same connection is clean")


def test_routing(srv):
    with t.block("routing"):
        with Conn(srv.port) as c:
            def req(target):
                c.send(get(target))
                return c.read_response()
            r = req("/nope")
            t.is_(r.status, 404, "/nope is 404")
            r = req("/hellox")
            t.is_(r.status, 404, "/hellox is 404 (segment matching)")
            r = req("/")
            t.is_(r.status, 404, "/ is 404 (no root route)")
            r = req("/hello/x")
            t.is_((r.status, r.body), (200, HELLO), "/hello/x matches /hello")
            r = req("/hello?x=1")
            t.is_((r.status, r.body), (200, HELLO), "/hello?x=1 matches /hello")
            r = req("/hello/")
            t.is_((r.status, r.body), (200, HELLO), "/hello/ matches /hello")
            r = req("/Hello")
            t.is_(r.status, 404, "/Hello is 404 (case-sensitive)")
            r = req("/a/b/c")
            t.is_((r.status, r.header_all("X-Behave")), (200, ["B"]),
                  "/a/b/c is answered by /a/b (longest prefix)")
            r = req("/a/b")
            t.is_(r.header_all("X-Behave"), ["B"], "/a/b is answered by /a/b")
            r = req("/a/bc")
            t.is_((r.status, r.header_all("X-Behave")), (200, ["A"]),
                  "/a/bc is answered by /a")
            r = req("/a")
            t.is_(r.header_all("X-Behave"), ["A"], "/a is answered by /a")
            r = req("/a/b/decline")
            t.is_((r.status, r.header_all("X-Behave")), (200, ["A"]),
                  "/a/b/decline falls through to /a, B's header discarded")
            r = req("/a/b/info")
            t.is_(r.text(), "prefix=/a/b rest=/info query= version=11",
                  "/a/b/info: prefix, rest, empty query")
            r = req("/a/b/decline/info")
            t.is_(r.header_all("X-Behave"), ["B"],
                  "/a/b/decline/info is not a decline (rest is longer)")
            r = req("/x/decline")
            t.is_(r.status, 404, "/x/decline with no shorter route is 404")
            t.ok(not r.has_header("X-Behave"),
                 "the 404 carries nothing the declining module wrote",
                 r.headers)
            r = req("/a/decline")
            t.is_(r.status, 404, "/a/decline is 404")
            r = req("/hello")
            t.is_(r.status, 200, "connection still usable after 404s")


def test_behave(srv):
    with t.block("module results"):
        with Conn(srv.port) as c:
            def req(target, version="1.1", headers=None):
                c.send(get(target, version=version, headers=headers))
                return c.read_response()
            r = req("/a/error")
            t.is_(r.status, 500, "HW_ERROR gives 500")
            t.ok(not r.has_header("X-Behave"),
                 "the 500 carries nothing the module wrote", r.headers)
            t.is_(r.header("Server"), "haywire", "500 has Server")
            r = req("/a/status/418")
            t.is_((r.status, r.header_all("X-Behave")), (418, ["A"]),
                  "module status 418 with the module's header")
            r = req("/a/status/201")
            t.is_(r.status, 201, "module status 201")
            r = req("/a/ref")
            t.is_((r.status, r.body), (200, b"referenced;copied;static"),
                  "write_ref + write + static ref in order")
            t.is_(r.header("Content-Length"), "24",
                  "Content-Length counts referenced bytes")
            r = req("/a/scratch")
            t.is_(r.body, b"scratch-ok", "alloc() scratch memory")
            r = req("/a/info?q=1&z=%20")
            t.is_(r.text(), "prefix=/a rest=/info query=q=1&z=%20 version=11",
                  "/a/info: prefix, rest and raw query")
            r = req("/a/info", "1.0", [("Connection", "keep-alive")])
            t.is_(r.text(), "prefix=/a rest=/info query= version=10",
                  "HTTP/1.0 request reports version=10")
            r = req("/a/peer")
            t.is_(r.text(), "127.0.0.1:%d" % c.local_port(),
                  "peer() is the client's address")

    with t.block("bodiless statuses"):
        # 204 and 304 never have a body (RFC 9112 6.3): whatever the module
        # wrote must not reach the wire, or the next response is corrupted.
        for code in (204, 304):
            with Conn(srv.port) as c:
                c.send(get("/a/status/%d" % code) + get("/hello"))
                r = c.read_response()
                t.is_(r.status, code, "module status %d" % code)
                try:
                    r2 = c.read_response()
                    got = (r2.status, r2.body)
                except hwtest.ProtocolError as e:
                    got = str(e)
                t.is_(got, (200, HELLO),
                      "%d sends no body: the next pipelined response is "
                      "intact" % code)
        # A 1xx is never a final response: a client would wait for the real
        # one forever.
        with Conn(srv.port) as c:
            c.send(get("/a/status/100") + get("/hello"))
            r = c.read_response(skip_1xx=False)
            t.cmp_ok(r.status, ">=", 200,
                     "module status 100 is not sent as the final response")

    with t.block("per-route state"):
        with Conn(srv.port) as c:
            def count(target):
                c.send(get(target))
                r = c.read_response()
                m = re.search(rb"(\d+)\s*$", r.body)
                return int(m.group(1)) if m else r.body
            a1 = count("/a/count")
            a2 = count("/a/count")
            b1 = count("/a/b/count")
            a3 = count("/a/count")
            b2 = count("/a/b/count")
            t.ok(isinstance(a1, int), "/a/count answers a number", a1)
            t.is_(a2, a1 + 1 if isinstance(a1, int) else None,
                  "/a counter increments")
            t.is_(b1, a1, "/a/b has its own counter (starts where /a did)")
            t.is_(a3, a1 + 2 if isinstance(a1, int) else None,
                  "/a counter unaffected by /a/b")
            t.is_(b2, b1 + 1 if isinstance(b1, int) else None,
                  "/a/b counter increments on its own")


def test_connection_close(srv):
    with t.block("Connection: close"):
        with Conn(srv.port) as c:
            c.send(get("/hello", headers=[("Connection", "close")]))
            r = c.read_response()
            t.is_((r.status, r.body), (200, HELLO), "request answered")
            t.ok("close" in r.connection_tokens(),
                 "response carries Connection: close", r.headers)
            c.expect_closed("server closes after the response")
        with Conn(srv.port) as c:
            c.send(get("/hello", headers=[("connection", "CLOSE")]))
            r = c.read_response()
            t.ok("close" in r.connection_tokens(),
                 "mixed-case connection: CLOSE honoured", r.headers)
            c.expect_closed("server closes (mixed case)")

    with t.block("HTTP/1.0"):
        with Conn(srv.port) as c:
            c.send(b"GET /hello HTTP/1.0\r\n\r\n")
            r = c.read_response()
            t.is_((r.status, r.body), (200, HELLO), "1.0 request answered")
            t.ok("keep-alive" not in r.connection_tokens(),
                 "no keep-alive promised to a 1.0 client", r.headers)
            c.expect_closed("server closes a 1.0 connection")
        with Conn(srv.port) as c:
            c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            t.is_((r.status, r.body), (200, HELLO),
                  "1.0 keep-alive request answered")
            t.ok("keep-alive" in r.connection_tokens(),
                 "response carries Connection: keep-alive", r.headers)
            t.ok(c.is_open(0.3), "1.0 keep-alive connection stays open")
            c.send(b"GET /a/info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            t.is_(r.text(), "prefix=/a rest=/info query= version=10",
                  "second 1.0 request on the kept connection")
            c.send(b"GET /hello HTTP/1.0\r\n\r\n")
            r = c.read_response()
            t.is_(r.body, HELLO, "third (no keep-alive) answered")
            c.expect_closed("then the server closes")
        with Conn(srv.port) as c:
            c.send(b"HEAD /hello HTTP/1.0\r\n\r\n")
            r = c.read_response(head=True)
            t.is_((r.status, r.header("Content-Length")), (200, "13"),
                  "1.0 HEAD has Content-Length 13")
            c.expect_closed("1.0 HEAD: closed without a body")


def test_bad_requests(srv):
    cases = [
        ("garbage", b"GARBAGE\r\n\r\n"),
        ("header line without colon",
         b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
        ("bad version", b"GET /hello HTTP/9.Z\r\n\r\n"),
        ("bad chunk size",
         b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         b"\r\nzz\r\nabc\r\n0\r\n\r\n"),
    ]
    for name, data in cases:
        with t.block("400 " + name):
            with Conn(srv.port) as c:
                c.send(data)
                r = c.read_response()
                t.is_(r.status, 400, "answered 400")
                t.ok("close" in r.connection_tokens(),
                     "with Connection: close", r.headers)
                t.is_(r.header("Server"), "haywire", "with Server")
                c.expect_closed("then closed")
    with t.block("400 after a good request"):
        with Conn(srv.port) as c:
            c.send(get("/hello") + b"GARBAGE\r\n\r\n" + get("/hello"))
            rs = c.read_responses(2)
            t.is_([r.status for r in rs], [200, 400],
                  "good request answered, then 400")
            c.expect_closed("then closed (no third response)")
    with t.block("server healthy after bad requests"):
        r = hwtest.one(srv.port, get("/hello"))
        t.is_((r.status, r.body), (200, HELLO), "fresh connection answered")


def test_ipv6():
    with t.block("IPv6"):
        if not hwtest.ipv6_available():
            t.skip("cannot bind ::1 here", 5)
            return
        with hwtest.Server(routes=routes(),
                           listen=["127.0.0.1:0", "[::1]:0"],
                           name="v6") as srv:
            p4, p6 = srv.port_for("127.0.0.1"), srv.port_for("::1")
            t.ok(p4 and p6, "server reports both listeners", srv.addrs)
            with Conn(p6, "::1") as c:
                c.send(get("/a/peer"))
                r = c.read_response()
                t.is_((r.status, r.text()), (200, "[::1]:%d" % c.local_port()),
                      "request over ::1, peer() is [::1]:port")
            r = hwtest.one(p4, get("/hello"))
            t.is_(r.body, HELLO, "IPv4 listener of the same server works")
            if hwtest.have_curl():
                rc, out, err = hwtest.curl("http://[::1]:%d/hello" % p6)
                t.is_((rc, out), (0, HELLO), "curl over IPv6")
            else:
                t.skip("curl not installed")
            hwtest.assert_clean_stop(srv, name="IPv6 server")


def test_signals():
    with t.block("SIGINT"):
        with hwtest.Server(routes=routes(), name="sigint") as srv:
            r = hwtest.one(srv.port, get("/hello"))
            t.is_(r.status, 200, "served before SIGINT")
            hwtest.assert_clean_stop(srv, signal.SIGINT, "server")
    with t.block("SIGTERM with an idle keep-alive client"):
        with hwtest.Server(routes=routes(), name="sigterm") as srv:
            with Conn(srv.port) as c:
                c.send(get("/hello"))
                c.read_response()
                hwtest.assert_clean_stop(srv, signal.SIGTERM, "server")
                closed, extra = c.read_until_close(5)
                t.ok(closed, "the idle client is disconnected")


def main():
    with hwtest.Server(routes=routes(), name="basic") as srv:
        test_curl(srv)
        test_host_headers(srv)
        test_keepalive(srv)
        test_head(srv)
        test_routing(srv)
        test_behave(srv)
        test_connection_close(srv)
        test_bad_requests(srv)
        with t.block("shutdown"):
            t.ok(srv.alive(), "server still running after all of the above")
            hwtest.assert_clean_stop(srv, signal.SIGTERM, "server")
    test_ipv6()
    test_signals()


hwtest.run(main)
