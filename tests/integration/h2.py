#!/usr/bin/env python3
"""HTTP/2 against the real server (server/h2.c over libnghttp2, issue 18),
with a client of frames and HPACK written here (tests/lib/h2frames.py) and
the real clients: curl, nghttp and h2load (each check skipped, never passed,
when its client is missing).

  * listeners: {"address": ..., "http2": true} takes the preface (h2c with
    prior knowledge) and HTTP/1.1 on the same port; a plain-string listener
    answers the preface with HTTP/1.1's error, as before; `Upgrade: h2c` is
    ignored (the request is answered over HTTP/1.1, never 101); the
    server's SETTINGS say the config's "http2" (max_header_list_size
    defaulting to limits.header_bytes); -t takes the keys and names a bad
    one;
  * requests: each stream is a request: routing, immediate and deferred
    answers, streamed responses and request bodies (both through flow
    control), :authority as the host (a Host naming another is a 400),
    paths and queries as HTTP/1.1 gives them, Cookie crumbs joined with
    "; ", version() 20, Expect: 100-continue, a 413 at the head followed by
    RST_STREAM NO_ERROR, lower-case field names, a module's hop-by-hop
    fields dropped, malformed requests reset with the connection going on,
    RST_STREAM reaching the module's on_abort, the access log's "HTTP/2"
    and the metrics' counts; 100 concurrent streams mixing immediate,
    deferred and streamed answers all complete;
  * limits and attacks, each followed by a fresh connection being served:
    rapid reset, a CONTINUATION flood, an HPACK bomb, a header list past
    max_header_list_size or limits.headers, a SETTINGS frame of 40
    entries, SETTINGS and PING floods from a client that does not read
    (closed, or no longer read, at bounded memory), streams past
    max_concurrent_streams (before and after the client acknowledged it),
    max_frame_size, a zero-window stall (timeouts_ms.write), a client that
    reads nothing, a body that never comes or stops (timeouts_ms.body_idle),
    a header block that never ends (timeouts_ms.head), an idle connection
    (timeouts_ms.keepalive);
  * a reload with an h2 connection open (a stream begun before finishes on
    its generation, the next stream on the same connection uses the new
    routes, the connection stays); a graceful stop (GOAWAY in two steps
    around a PING, or a second when no ACK comes; the stream in flight
    completes);
  * TLS: ALPN h2 when the listener offers it ("alpn" or "http2": true),
    HTTP/1.1 otherwise; curl, nghttp and h2load over h2c and over TLS.

Every server's log is checked for sanitizer reports once it has stopped.
"""

import base64
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
import h2frames as h2  # noqa: E402
from hwtest import t, get, route, fixture  # noqa: E402

SAN = hwtest.sanitized()
SLOW = 3.0 if SAN else 1.0
HELLO = b"Hello, World!"
OPENSSL = shutil.which("openssl")
NGHTTP = shutil.which("nghttp")
H2LOAD = shutil.which("h2load")
CONNECTION_SPECIFIC = {"connection", "keep-alive", "proxy-connection",
                       "transfer-encoding", "upgrade", "te"}
STATUS = "/-/status"


# ---------------------------------------------------------------------------
# Servers and clients

def h2c_listen():
    return {"address": "127.0.0.1:0", "http2": True}


def all_routes():
    return [route("/hello", "hello.so"), route("/echo", "echo.so"),
            route("/delay", "delay.so"), route("/b", fixture("behave")),
            route("/s", fixture("stream")),
            {"prefix": "/up", "module": fixture("stream"), "body": "stream",
             "body_limit": 5000000},
            route("/f", fixture("h2fields")), route("/t", fixture("tlsinfo")),
            route(STATUS, "status.so")]


def config(listen=None, routes=None, **extra):
    c = {"listen": listen or [h2c_listen()],
         "modules_dir": hwtest.MODULES_DIR, "workers": 1,
         "thread_pool": 2,
         "routes": routes if routes is not None else all_routes()}
    c.update(extra)
    return c


def server(cfg, name="h2"):
    return hwtest.Server(config=cfg, listen=[], name=name)


def client(port, **kw):
    kw.setdefault("timeout", 10 * SLOW)
    return h2.Client(port, **kw)


def serves_fresh(port, name, tls=None):
    """One TAP line: a new connection gets /hello over HTTP/2."""
    try:
        with client(port, tls=tls) as c:
            s = fetch(c, "/hello", timeout=5 * SLOW)
        good, got = (s.status, bytes(s.body)) == (200, HELLO), s
    except (OSError, h2.ConnectionClosed) as e:
        good, got = False, e
    return t.ok(good, name, got)


def fetch(c, path, timeout=None, **kw):
    """A request on connection `c`; its Stream once done, or as it is when
    `timeout` passes (a check then fails on it, and the block goes on)."""
    return settle(c, c.request(path=path, **kw), timeout)


def settle(c, sid, timeout=None):
    c.wait(lambda: c.stream(sid).done, timeout)
    return c.stream(sid)


def no_sanitizer_report(srv):
    rep = srv.sanitizer_report()
    return t.ok(rep is None, "the server's log has no sanitizer report", rep)


def hello_ok(s):
    return s.status == 200 and bytes(s.body) == HELLO and s.ended


def stats(c):
    """The stream fixture's counters, asked on connection `c`."""
    s = fetch(c, "/s/stats")
    return dict(kv.split("=") for kv in bytes(s.body).decode().split())


def checksum(data):
    s = 0
    for b in data:
        s = (s * 31 + b) % 1000000007
    return s


def curl_has_http2():
    if not hwtest.have_curl():
        return False
    p = subprocess.run(["curl", "-V"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=10)
    return b"HTTP2" in p.stdout


def run_tool(argv, timeout=60):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def h2load(urls, *args):
    """h2load's summary: (rc, requests dict, 2xx count, protocol, output)."""
    rc, out = run_tool([H2LOAD] + list(args) + list(urls), 120)
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, "
                  r"(\d+) succeeded, (\d+) failed, (\d+) errored, "
                  r"(\d+) timeout", out)
    req = dict(zip(("total", "started", "done", "succeeded", "failed",
                    "errored", "timeout"), map(int, m.groups()))) if m else {}
    m = re.search(r"status codes: (\d+) 2xx", out)
    ok2xx = int(m.group(1)) if m else None
    m = re.search(r"Application protocol: (\S+)", out)
    return rc, req, ok2xx, m.group(1) if m else None, out


def tls_ctx(alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def wait_json(port, pred, timeout=3.0):
    """Scrapes status.so (HTTP/1.1, a fresh connection) until pred holds."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        r = hwtest.one(port, hwtest.request(
            "GET", STATUS + "?format=json", headers=[("Connection", "close")]))
        snap = r.json()
        if pred(snap) or time.monotonic() > deadline:
            return snap
        time.sleep(0.05)


def route_requests(snap, name):
    for r in snap.get("routes", []):
        if r.get("route") == name:
            return r.get("requests", 0)
    return 0


# ---------------------------------------------------------------------------
# Listeners, SETTINGS, HTTP/1.1 beside HTTP/2

def test_listeners(srv, h2port, plain):
    with t.block("listeners"):
        with client(h2port) as c:
            t.ok(c.handshake(), "http2 listener: the preface is taken, "
                 "SETTINGS both ways acknowledged")
            t.ok(c.frames and c.frames[0].type == h2.SETTINGS and
                 not c.frames[0].has(h2.FLAG_ACK),
                 "the server's first frame is its SETTINGS", c.frames[:2])
            # (an absent setting is the protocol's default; no SETTINGS at
            # all is None throughout)
            st = c.server_settings
            if st is None:
                st = {h2.SETTINGS_INITIAL_WINDOW_SIZE: None,
                      h2.SETTINGS_MAX_FRAME_SIZE: None,
                      h2.SETTINGS_ENABLE_PUSH: None}
            t.is_(st.get(h2.SETTINGS_MAX_CONCURRENT_STREAMS), 128,
                  "SETTINGS_MAX_CONCURRENT_STREAMS: 128 by default")
            t.is_(st.get(h2.SETTINGS_INITIAL_WINDOW_SIZE, h2.DEFAULT_WINDOW),
                  65535, "SETTINGS_INITIAL_WINDOW_SIZE: 65535 by default")
            t.is_(st.get(h2.SETTINGS_MAX_FRAME_SIZE, h2.DEFAULT_MAX_FRAME),
                  16384, "SETTINGS_MAX_FRAME_SIZE: 16384 by default")
            t.is_(st.get(h2.SETTINGS_MAX_HEADER_LIST_SIZE), 8000,
                  "SETTINGS_MAX_HEADER_LIST_SIZE: limits.header_bytes (8000 "
                  "here)")
            t.is_(st.get(h2.SETTINGS_ENABLE_PUSH, 0), 0,
                  "no server push is announced")
            t.ok(c.ping_rtt(b"pingpong"), "PING: the ACK carries the payload")
            s = fetch(c, "/hello")
            t.ok(hello_ok(s), "GET /hello over h2c", s)

        r = hwtest.one(h2port, get("/hello"))
        t.is_((r.version, r.status, r.body), ("1.1", 200, HELLO),
              "the same port still serves HTTP/1.1")

        with socket.create_connection(("127.0.0.1", plain), timeout=5) as s:
            s.sendall(h2.PREFACE + h2.settings())
            out = b""
            s.settimeout(5 * SLOW)
            try:
                while len(out) < 65536:
                    d = s.recv(65536)
                    if not d:
                        break
                    out += d
            except OSError:
                pass
        t.like(out, br"^HTTP/1\.1 50[15] ",
               "a plain-string listener answers the preface with HTTP/1.1's "
               "error, as before (no SETTINGS)")

        hs = base64.urlsafe_b64encode(h2.settings(
            {h2.SETTINGS_MAX_CONCURRENT_STREAMS: 100})[9:]).rstrip(b"=")
        upgrade = hwtest.request("GET", "/hello", headers=[
            ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
            ("HTTP2-Settings", hs.decode())])
        for port, which in ((h2port, "http2 listener"), (plain, "plain")):
            with hwtest.Conn(port) as c:
                c.send(upgrade + get("/hello"))
                try:
                    a = c.read_response(skip_1xx=False)
                    b = c.read_response(skip_1xx=False)
                    got = (a.version, a.status, a.body, b.status,
                           a.has_header("Upgrade"))
                except hwtest.ProtocolError as e:
                    got = e
            t.is_(got, ("1.1", 200, HELLO, 200, False),
                  "%s: Upgrade: h2c is ignored, HTTP/1.1 answers (no 101) "
                  "and the connection goes on in HTTP/1.1" % which)
        if curl_has_http2():
            rc, out, err = hwtest.curl("http://127.0.0.1:%d/hello" % h2port,
                                       "--http2", "-w", "|%{http_version}")
            t.is_((rc, out), (0, HELLO + b"|1.1"),
                  "curl --http2 (an Upgrade: h2c attempt): served over "
                  "HTTP/1.1")
        else:
            t.skip("curl without HTTP/2", 1)


# ---------------------------------------------------------------------------
# Requests over streams

def test_requests(srv, port, plain):
    with t.block("requests"), client(port) as c:
        s = fetch(c, "/hello")
        t.ok(hello_ok(s), "GET /hello: 200 and the body", s)
        t.is_(s.header("content-type"), "text/plain", "content-type")
        t.is_(hwtest.http_date_ok(s.header("date")), None, "a date field")
        t.ok(s.status == 200 and s.header("content-length") in (None, "13"),
             "content-length, if any, is the body's", s.headers)
        s = fetch(c, "/hello", method="HEAD")
        t.ok(s.status == 200 and bytes(s.body) == b"" and s.ended,
             "HEAD: the head alone", s)
        s = fetch(c, "/nowhere")
        t.is_(s.status, 404, "an unrouted path: 404")

        s = fetch(c, "/b/info?q=1")
        t.like(bytes(s.body), br"prefix=/b rest=/info query=q=1 version=20$",
               "routing, prefix, rest, query; host->version() is 20")
        s = fetch(c, "/b/host", authority="h2.example:8443")
        r = hwtest.one(plain, get("/b/host",
                                  headers=[("Host", "h2.example:8443")]))
        t.is_(bytes(s.body), r.body, ":authority is the host (as Host is in "
              "HTTP/1.1)")
        s = fetch(c, "/b/host", authority=None,
                    headers=[("host", "fromhost.example")])
        t.is_(bytes(s.body), b"fromhost.example",
              "no :authority: the Host field (RFC 9113 section 8.3.1)")

        s = fetch(c, "/b/host", authority="a.example",
                  headers=[("host", "b.example")])
        t.is_(s.status, 400, "a Host naming another authority than "
              ":authority: 400")
        for target in ("/echo/a%20b/%2e%2E/c", "/echo/./x/../y?q=%41&r",
                       "/echo//double///slash", "/echo/%C3%A9t%C3%A9"):
            s = fetch(c, target)
            r = hwtest.one(plain, get(target))
            mine = json.loads(bytes(s.body)) if s.status == 200 else {}
            theirs = r.json() if r.status == 200 else {}
            t.is_([mine.get(k) for k in ("path", "query")],
                  [theirs.get(k) for k in ("path", "query")],
                  "%s: the module sees the path and query HTTP/1.1 gives "
                  "it" % target)
        s = fetch(c, "/echo", headers=[("cookie", "a=1"), ("x-one", "1"),
                                      ("cookie", "b=2"), ("cookie", "c=3")])
        echoed = json.loads(bytes(s.body)) if s.status == 200 else {}
        t.is_(echoed.get("headers", {}).get("cookie"), "a=1; b=2; c=3",
              "Cookie crumbs reach the module joined with \"; \" (RFC 9113 "
              "section 8.2.3)")
        t.is_((echoed.get("method"), echoed.get("path")), ("GET", "/echo"),
              "method and path")
        body = b"0123456789" * 3000
        s = fetch(c, "/echo", method="POST", body=body,
                    headers=[("content-length", str(len(body)))])
        echoed = json.loads(bytes(s.body)) if s.status == 200 else {}
        t.is_(echoed.get("body", "").encode(), body,
              "a 30 kB body in DATA frames, echoed")
        s = fetch(c, "/echo", method="POST", body=b"no length")
        echoed = json.loads(bytes(s.body)) if s.status == 200 else {}
        t.is_(echoed.get("body"), "no length",
              "a body without content-length (END_STREAM ends it)")

        s = fetch(c, "/delay/x?ms=50")
        t.is_((s.status, bytes(s.body)), (200, b"/delay/x"),
              "a deferred answer (delay.so)")
        s = fetch(c, "/s/ticks?n=3&ms=20")
        t.is_((s.status, bytes(s.body), s.header("content-length")),
              (200, b"tick 0\ntick 1\ntick 2\n", None),
              "a streamed response of unknown length, tick by tick")
        s = fetch(c, "/s/big?n=300000&chunk=7000")
        t.ok(s.status == 200 and len(s.body) == 300000 and
             set(s.body) == {ord("x")},
             "300 kB streamed from the writable callback through the "
             "flow-control windows", s)
        s = fetch(c, "/s/big?n=250000&len=1")
        t.is_((s.header("content-length"), len(s.body)), ("250000", 250000),
              "a declared length is sent as content-length")

        with client(port) as c2:
            s = fetch(c2, "/s/big?n=2000000&greedy=1", timeout=10 * SLOW)
        t.ok(s.ended and len(s.body) == 2000000,
             "a module that writes 2 MB in handle, past the windows: every "
             "byte", s)

        up = os.urandom(600000)
        s = fetch(c, "/up/upload?ms=2", method="POST", body=up,
                    headers=[("content-length", str(len(up)))],
                    timeout=30 * SLOW)
        t.is_(bytes(s.body), b"bytes=%d sum=%d\n" % (len(up), checksum(up)),
              "a streamed request body of 600 kB (paused and resumed by the "
              "module), exact")
        s = fetch(c, "/up/upload?ms=1", method="POST", body=up[:70000],
                    timeout=30 * SLOW)
        t.is_(bytes(s.body), b"bytes=70000 sum=%d\n" % checksum(up[:70000]),
              "a streamed body without content-length")
        sid = c.request("POST", "/echo", end_stream=False,
                        headers=[("content-length", "5"),
                                 ("expect", "100-continue")])
        c.wait(lambda: c.stream(sid).informational or c.stream(sid).done,
               5 * SLOW)
        got100 = [dict(x).get(":status") for x in c.stream(sid).informational]
        c.send(h2.data(sid, b"abcde", end_stream=True))
        s = settle(c, sid)
        echoed = json.loads(bytes(s.body)) if s.status == 200 else {}
        t.ok(got100 == ["100"] and echoed.get("body") == "abcde",
             "Expect: 100-continue: a 100 first, then the answer to the body",
             got100, s)
        sid = c.request("POST", "/up/upload", end_stream=False,
                        headers=[("content-length", "5000001")])
        c.wait(lambda: c.stream(sid).headers is not None or
               c.stream(sid).done, 5 * SLOW)
        s = c.stream(sid)
        t.is_(s.status, 413, "a content-length past the route's body_limit: "
              "413 at the head")
        c.wait(lambda: c.stream(sid).reset is not None, 2 * SLOW)
        t.is_(s.reset, h2.NO_ERROR, "then RST_STREAM NO_ERROR, so that the "
              "client stops sending (RFC 9113 section 8.1)")

        s = fetch(c, "/f/hop")
        names = set(s.names())
        t.ok(s.status == 200 and not names & CONNECTION_SPECIFIC and
             bytes(s.body).startswith(b"keep-alive=0 upgrade=0 "
                                      b"proxy-connection=0 ") and
             b" te=0 " in bytes(s.body),
             "Keep-Alive, Upgrade, Proxy-Connection, TE taken from the "
             "module are not sent (RFC 9113 section 8.2.2)", s.headers,
             bytes(s.body))
        t.is_(s.header("x-mixed-case"), "Value Stays",
              "a field the module names X-Mixed-Case is sent lower-case, "
              "its value as it was")
        lower = all(n == n.lower() for st in c.streams.values()
                    for n in st.names())
        t.ok(lower, "every response field name on the connection is "
             "lower-case")
        t.is_(c.hpack_error, None, "every header block decoded")
        t.ok(not c.goaways and not c.eof, "the connection is still open",
             c.goaways)


def test_malformed(srv, port):
    with t.block("malformed requests (RFC 9113 section 8.1.1)"), \
            client(port) as c:
        c.handshake()
        cases = [
            ("no :path", [(":method", "GET"), (":scheme", "http"),
                          (":authority", "x")]),
            ("an upper-case field name",
             c.request_fields("GET", "/hello", headers=[("X-Upper", "1")])),
            ("a connection-specific field",
             c.request_fields("GET", "/hello",
                              headers=[("connection", "keep-alive")])),
            ("te other than trailers",
             c.request_fields("GET", "/hello", headers=[("te", "gzip")])),
        ]
        for name, fields in cases:
            sid = c.new_sid()
            c.send_headers(sid, fields)
            s = settle(c, sid, 5 * SLOW)
            t.ok(s.reset is not None or s.status == 400,
                 name + ": the stream is reset (or 400)", s)
        sid = c.request("POST", "/echo", headers=[("content-length", "10")],
                        end_stream=False)
        c.send(h2.data(sid, b"12345", end_stream=True))
        s = settle(c, sid, 5 * SLOW)
        t.ok(s.reset is not None or s.status == 400,
             "a body shorter than its content-length: reset (or 400)", s)
        s = fetch(c, "/hello")
        t.ok(hello_ok(s) and not c.goaways,
             "and the connection goes on", s, c.goaways)


def test_concurrency(srv, port):
    with t.block("100 concurrent streams on one connection"), \
            client(port) as c:
        c.handshake()
        want, out = {}, []
        for i in range(100):
            sid = c.new_sid()
            if i % 3 == 0:
                path = "/delay/d%d?ms=%d" % (i, 50 + (i * 37) % 400)
                want[sid] = path.split("?")[0].encode()
            elif i % 3 == 1:
                path = "/s/ticks?n=2&ms=%d" % (5 + i % 20)
                want[sid] = b"tick 0\ntick 1\n"
            else:
                path = "/hello"
                want[sid] = HELLO
            out.append(h2.headers_frames(
                sid, c.enc.encode(c.request_fields("GET", path))))
        c.send(b"".join(out))  # every HEADERS in one write
        done = c.wait(lambda: all(c.stream(s).done for s in want),
                      20 * SLOW)
        got = {s: (c.stream(s).status, bytes(c.stream(s).body))
               for s in want}
        bad = {s: g for s, g in got.items() if g != (200, want[s])}
        t.ok(done and not bad, "all 100 complete, each with its own body "
             "(immediate, deferred and streamed mixed)",
             "%d wrong: %r" % (len(bad), list(bad.items())[:5]))
        hello_end = max((c.streams[s].ended_at or 1e18) for s in want
                        if want[s] == HELLO)
        delay_end = max((c.streams[s].ended_at or 0) for s in want
                        if want[s].startswith(b"/delay"))
        t.ok(hello_end < delay_end, "the immediate answers do not wait for "
             "the deferred ones")


def test_abort(srv, port):
    with t.block("RST_STREAM reaches on_abort"), client(port) as c:
        before = int(stats(c)["aborted"])
        sid = c.request(path="/s/ticks?n=1000&ms=20")
        c.wait(lambda: len(c.streams[sid].body) > 0, 5 * SLOW)
        c.send(h2.rst_stream(sid, h2.CANCEL))
        ok = hwtest.poll(lambda: int(stats(c)["aborted"]) > before, 5 * SLOW,
                         0.05)
        t.ok(ok, "a streamed answer reset by the client: the module is told")
        before = int(stats(c)["aborted"])
        sid = c.request("POST", "/up/upload",
                        headers=[("content-length", "100000")],
                        end_stream=False)
        c.send(h2.data(sid, b"z" * 5000))
        c.ping_rtt()
        c.send(h2.rst_stream(sid, h2.CANCEL))
        ok = hwtest.poll(lambda: int(stats(c)["aborted"]) > before, 5 * SLOW,
                         0.05)
        t.ok(ok, "a streamed request body reset mid-way: the module is told")
        sid = c.request(path="/delay?ms=60000")
        c.ping_rtt()
        c.send(h2.rst_stream(sid, h2.CANCEL))
        s = fetch(c, "/hello")
        t.ok(hello_ok(s) and not c.goaways,
             "a deferred request reset: the connection goes on", s)
        later = c.wait(lambda: c.streams[sid].headers is not None, 0.3)
        t.ok(not later and not c.eof,
             "and nothing more is sent on the reset stream")


def test_log_and_metrics(srv, port, plain, log):
    with t.block("access log and metrics"):
        before = route_requests(wait_json(plain, lambda s: True), "/hello")
        with client(port) as c:
            for i in range(7):
                s = fetch(c, "/hello?alog=%d" % i, authority="alog.test")
        snap = wait_json(plain, lambda s: route_requests(s, "/hello") >=
                         before + 7)
        t.is_(route_requests(snap, "/hello") - before, 7,
              "7 h2 requests to /hello: counted 7")
        hwtest.one(plain, get("/hello?alog=h1",
                              headers=[("Host", "alog.test")]))

        def lines():
            try:
                with open(log) as f:
                    return [json.loads(x) for x in f.read().splitlines()]
            except (OSError, ValueError):
                return []
        def ours():
            got = [x for x in lines() if "alog=" in x.get("target", "")]
            return got if len(got) >= 8 else None
        got = hwtest.poll(ours, 5 * SLOW, 0.1) or []
        h2l = [x for x in got if x.get("target", "").startswith(
            "/hello?alog=") and x["target"] != "/hello?alog=h1"]
        h1l = [x for x in got if x.get("target") == "/hello?alog=h1"]
        t.ok(len(h2l) == 7 and all(
            x.get("protocol") == "HTTP/2" and x.get("host") == "alog.test"
            and x.get("method") == "GET" and x.get("status") == 200 and
            x.get("body_bytes") == 13 for x in h2l),
             "each h2 request is logged with protocol \"HTTP/2\", its "
             ":authority as host, status and bytes", h2l[:2])
        t.ok(h1l and h1l[0].get("protocol") == "HTTP/1.1",
             "an HTTP/1.1 request beside them says HTTP/1.1", h1l)


# ---------------------------------------------------------------------------
# Real clients

def test_clients(srv, port, scheme, tls_args=()):
    url = "%s://127.0.0.1:%d" % (scheme, port)
    with t.block("real clients over %s" % ("TLS" if scheme == "https"
                                           else "h2c")):
        if curl_has_http2():
            flag = "--http2" if scheme == "https" else \
                "--http2-prior-knowledge"
            rc, out, err = hwtest.curl(url + "/hello", flag, *tls_args,
                                       "-w", "|%{http_version}")
            t.is_((rc, out), (0, HELLO + b"|2"), "curl %s" % flag)
            rc, out, err = hwtest.curl(url + "/echo", flag, *tls_args,
                                       "--data-binary", "curl body",
                                       "-w", "|%{http_version}")
            t.like(out, br'"body": ?"curl body".*\|2$',
                   "curl POST over HTTP/2")
        else:
            t.skip("curl is missing or has no HTTP/2", 2)
        if NGHTTP:
            rc, out = run_tool([NGHTTP, "-nv", url + "/hello"], 30)
            t.ok(rc == 0 and re.search(r"recv \(stream_id=\d+\) :status: "
                                       r"200", out) and
                 "recv DATA frame" in out,
                 "nghttp -nv: :status 200 and the DATA", out[-800:])
            rc, out = run_tool([NGHTTP, "-n", "-s", "-m", "20",
                                url + "/hello", url + "/delay?ms=100"], 30)
            codes = re.findall(r"^ *\d+ +\S+ +\S+ +\S+ +(\d{3}) ", out,
                               re.M)
            t.ok(rc == 0 and codes == ["200"] * 40,
                 "nghttp -m 20 over two paths: 40 answers of 200", out[-800:])
        else:
            t.skip("nghttp is not installed", 2)
        if H2LOAD:
            rc, req, ok2xx, proto, out = h2load(
                [url + "/hello"], "-n", "1000", "-c", "4", "-m", "10")
            t.ok(rc == 0 and req.get("succeeded") == 1000 and
                 ok2xx == 1000 and req.get("failed") == 0 and
                 req.get("errored") == 0,
                 "h2load -n 1000 -c 4 -m 10: 1000 succeeded, all 2xx",
                 out[-1200:])
            t.is_(proto, "h2" if scheme == "https" else "h2c",
                  "h2load's application protocol")
            rc, req, ok2xx, proto, out = h2load(
                [url + "/hello", url + "/delay?ms=200",
                 url + "/s/ticks?n=2&ms=10"], "-n", "100", "-c", "1",
                "-m", "100")
            t.ok(rc == 0 and req.get("succeeded") == 100 and ok2xx == 100,
                 "h2load -c 1 -m 100: 100 concurrent streams (immediate, "
                 "deferred, streamed), all 2xx", out[-1200:])
        else:
            t.skip("h2load is not installed", 3)


# ---------------------------------------------------------------------------
# Limits and attacks

def test_settings_config():
    cfg = config(http2={"max_concurrent_streams": 4,
                        "initial_window_size": 100000,
                        "max_frame_size": 32768,
                        "max_header_list_size": 4000})
    with t.block("http2 settings from the config"), \
            server(cfg, "settings") as srv:
        port = srv.port
        with client(port) as c:
            c.handshake()
            st = c.server_settings or {}
            t.is_((st.get(h2.SETTINGS_MAX_CONCURRENT_STREAMS),
                   st.get(h2.SETTINGS_INITIAL_WINDOW_SIZE),
                   st.get(h2.SETTINGS_MAX_FRAME_SIZE),
                   st.get(h2.SETTINGS_MAX_HEADER_LIST_SIZE)),
                  (4, 100000, 32768, 4000),
                  "SETTINGS say max_concurrent_streams, initial_window_size, "
                  "max_frame_size, max_header_list_size")
            body = b"y" * 20000
            sid = c.request("POST", "/echo", end_stream=False,
                            headers=[("content-length", str(len(body)))])
            c.send(h2.data(sid, body, end_stream=True))
            s = settle(c, sid)
            echoed = json.loads(bytes(s.body)) if s.status == 200 else {}
            t.is_(echoed.get("body", "").encode(), body,
                  "a 20000-byte DATA frame is taken (max_frame_size 32768)")
            s = fetch(c, "/hello", headers=[("x-h%d" % i, "v" * 300)
                                           for i in range(8)])
            t.ok(hello_ok(s), "a 2.5 kB header list is taken", s)
            sid = c.new_sid()
            c.send_headers(sid, c.request_fields("GET", "/hello", headers=[
                ("x-h%d" % i, "v" * 500) for i in range(10)]))
            s = settle(c, sid)
            t.ok(s.status == 431 or s.reset is not None,
                 "a 5 kB header list past max_header_list_size 4000: 431 "
                 "or reset", s)
            s = fetch(c, "/hello")
            t.ok(hello_ok(s), "and the connection goes on", s)
            sid = c.request("POST", "/echo", end_stream=False)
            c.send(h2.data(sid, b"y" * 40000, end_stream=True))
            closed = c.wait_closed(5 * SLOW)
            ga = c.goaways[-1] if c.goaways else None
            t.ok(closed and ga and ga[1] == h2.FRAME_SIZE_ERROR,
                 "a 40000-byte DATA frame: GOAWAY FRAME_SIZE_ERROR and "
                 "close", c.goaways, c.frames[-3:])

        # Streams past max_concurrent_streams.  Before the client has
        # acknowledged the limit: REFUSED_STREAM.
        with client(port, preface=False) as c:
            out = [h2.PREFACE, h2.settings()]
            for _ in range(6):
                sid = c.new_sid()
                out.append(h2.headers_frames(sid, c.enc.encode(
                    c.request_fields("GET", "/delay?ms=%d" % (500 * SLOW)))))
            c.send(b"".join(out))
            c.wait(lambda: all(c.stream(s).done for s in (1, 3, 5, 7, 9, 11))
                   or c.eof, 10 * SLOW)
            refused = [c.stream(s).reset for s in (9, 11)]
            t.is_(refused, [h2.REFUSED_STREAM] * 2,
                  "6 streams before the SETTINGS ACK, limit 4: the 5th and "
                  "6th get REFUSED_STREAM")
            t.ok(all(c.stream(s).status == 200 for s in (1, 3, 5, 7)),
                 "the first 4 complete", [c.stream(s) for s in (1, 3, 5, 7)])
            s = fetch(c, "/hello")
            t.ok(hello_ok(s), "and the connection goes on", s)
        # After it: a stream error (RST_STREAM REFUSED_STREAM or
        # PROTOCOL_ERROR, RFC 9113 section 5.1.2), or a connection error
        # (GOAWAY PROTOCOL_ERROR below the excess stream: section 5.4.1 lets
        # an endpoint treat a stream error so).
        with client(port) as c:
            c.handshake()
            sids = [c.request(path="/delay?ms=%d" % (500 * SLOW))
                    for _ in range(6)]
            c.wait(lambda: all(c.stream(s).done for s in sids) or c.eof,
                   10 * SLOW)
            rst = [c.streams[s].reset for s in sids[4:]]
            ga = c.goaways[0] if c.goaways else None
            if ga:
                t.diag("past the acknowledged limit: GOAWAY %s last %d" %
                       (h2.error_name(ga[1]), ga[0]))
                t.ok(ga[1] == h2.PROTOCOL_ERROR and ga[0] < sids[4],
                     "6 streams after the ACK, limit 4: GOAWAY "
                     "PROTOCOL_ERROR below the 5th stream", c.goaways)
            else:
                t.ok(all(r in (h2.REFUSED_STREAM, h2.PROTOCOL_ERROR)
                         for r in rst) and
                     all(c.streams[s].status == 200 for s in sids[:4]),
                     "6 streams after the ACK, limit 4: the 5th and 6th "
                     "reset (REFUSED_STREAM or PROTOCOL_ERROR), the first 4 "
                     "complete", [c.streams[s] for s in sids])
        serves_fresh(port, "a fresh connection is served")
        t.ok(srv.alive(), "the server is running")
        hwtest.assert_clean_stop(srv)


def send_noblock(sock, data, stall=1.0):
    """Sends all of `data` unless the peer stops reading for `stall` s
    ("stalled") or the connection ends ("closed"); None when all went."""
    view = memoryview(data)
    since = None
    while view:
        try:
            n = sock.send(view)
            view = view[n:]
            since = None
        except BlockingIOError:
            now = time.monotonic()
            since = since or now
            if now - since > stall:
                return "stalled"
            select.select([], [sock], [], 0.05)
        except (BrokenPipeError, ConnectionResetError, OSError):
            return "closed"
    return None


def flood(srv, port, unit, seconds=4.0, max_bytes=96 << 20):
    """A client that never reads sends `unit` (whole frames) over and over.
    Returns (outcome, bytes sent, RSS growth in KiB): outcome "closed" (the
    server ended the connection), "stalled" (it stopped reading) or None
    (it read everything for `seconds`)."""
    base = hwtest.rss_kib(srv.pid) or 0
    peak = base
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(h2.PREFACE + h2.settings())
    s.setblocking(False)
    chunk = unit * max(1, 65536 // len(unit))
    sent, outcome = 0, None
    deadline = time.monotonic() + seconds * SLOW
    next_sample = 0
    while time.monotonic() < deadline and sent < max_bytes:
        outcome = send_noblock(s, chunk, 1.0 * SLOW)
        if outcome:
            break
        sent += len(chunk)
        if time.monotonic() >= next_sample:
            peak = max(peak, hwtest.rss_kib(srv.pid) or 0)
            next_sample = time.monotonic() + 0.05
    peak = max(peak, hwtest.rss_kib(srv.pid) or 0)
    s.close()
    return outcome, sent, peak - base


def test_attacks():
    cfg = config(limits={"header_bytes": 8000})
    with t.block("attacks"), server(cfg, "attacks") as srv:
        port = srv.port
        with client(port) as c:
            c.handshake()
            t.is_((c.server_settings or {}).get(
                h2.SETTINGS_MAX_HEADER_LIST_SIZE), 8000,
                "max_header_list_size defaults to limits.header_bytes")

        # Rapid reset (CVE-2023-44487).  200 cancels are a client changing
        # its mind; 1500 at once are an attack.
        with client(port) as c:
            c.handshake()
            block = c.enc.encode(c.request_fields("GET", "/delay?ms=30000"))
            out = []
            for _ in range(200):
                sid = c.new_sid()
                out.append(h2.headers_frames(sid, block) +
                           h2.rst_stream(sid, h2.CANCEL))
            c.send(b"".join(out))
            s = fetch(c, "/hello")
            t.ok(hello_ok(s) and not c.goaways,
                 "200 streams opened and reset: the connection goes on",
                 c.goaways)
        with client(port) as c:
            c.handshake()
            block = c.enc.encode(c.request_fields("GET", "/delay?ms=30000"))
            err = None
            t0 = time.monotonic()
            for _ in range(15):
                out = []
                for _ in range(100):
                    sid = c.new_sid()
                    out.append(h2.headers_frames(sid, block) +
                               h2.rst_stream(sid, h2.CANCEL))
                try:
                    c.send(b"".join(out))
                except OSError as e:
                    err = e
                    break
            closed = c.wait_closed(5 * SLOW)
            took = time.monotonic() - t0
            codes = [g[1] for g in c.goaways]
            t.diag("rapid reset: GOAWAY %s, closed %s after %.2f s%s" % (
                [h2.error_name(x) for x in codes], closed, took,
                ", send: %s" % err if err else ""))
            t.ok(codes and codes[0] in (h2.ENHANCE_YOUR_CALM,
                                        h2.INTERNAL_ERROR),
                 "1500 streams opened and reset at once: GOAWAY "
                 "(ENHANCE_YOUR_CALM, or libnghttp2's INTERNAL_ERROR)", codes)
            t.ok(closed, "and the connection is closed")
        serves_fresh(port, "after the rapid reset: a fresh connection is "
                     "served")

        # CONTINUATION: a few are a big header block; many are a flood
        # (CVE-2024-28182).
        with client(port) as c:
            c.handshake()
            sid = c.new_sid()
            first = c.enc.encode(c.request_fields("GET", "/hello"))
            out = h2.frame(h2.HEADERS, h2.FLAG_END_STREAM, sid, first)
            for i in range(4):
                out += h2.frame(h2.CONTINUATION,
                                h2.FLAG_END_HEADERS if i == 3 else 0, sid,
                                c.enc.literal("x-c%d" % i, "v" * 100))
            c.send(out)
            s = settle(c, sid)
            t.ok(hello_ok(s), "HEADERS and 4 CONTINUATION frames: served", s)
        with client(port) as c:
            c.handshake()
            sid = c.new_sid()
            first = c.enc.encode(c.request_fields("GET", "/hello"))
            out = h2.frame(h2.HEADERS, h2.FLAG_END_STREAM, sid, first)
            for i in range(500):
                out += h2.frame(h2.CONTINUATION, 0, sid,
                                c.enc.literal("x-c%d" % i, "v"))
            try:
                c.send(out)
            except OSError:
                pass
            closed = c.wait_closed(5 * SLOW)
            t.ok(closed, "HEADERS and 500 CONTINUATION frames without "
                 "END_HEADERS: the connection is closed", c.frames[-3:])
            t.ok(c.goaways, "with a GOAWAY first", c.frames[-3:])
            t.ok(c.stream(sid).headers is None, "and no answer")
        serves_fresh(port, "after the CONTINUATION flood: a fresh "
                     "connection is served")

        # HPACK: a 3 kB field put in the server's dynamic table, then
        # referenced 200 times (1 byte each, 600 kB decoded); and a plain
        # header list past the limit.
        with client(port) as c:
            c.handshake()
            sid = c.new_sid()
            block = c.enc.encode(c.request_fields("GET", "/hello")) + \
                h2.Encoder.literal_indexed("x-bomb", "b" * 3000) + \
                h2.Encoder.indexed(62) * 200
            c.send(h2.headers_frames(sid, block))
            s = settle(c, sid)
            t.ok(s.status == 431 or s.reset is not None,
                 "an HPACK bomb (600 kB from 3.3 kB): 431 or reset", s)
            s = fetch(c, "/hello")
            t.ok(hello_ok(s) and not c.goaways,
                 "the connection survives", s, c.goaways)
            s = fetch(c, "/hello", headers=[("x-h%d" % i, "v" * 1000)
                                           for i in range(5)])
            t.ok(hello_ok(s), "a 5 kB header list (below 8000): served", s)
            s = fetch(c, "/hello", headers=[("x-h%d" % i, "v" * 1000)
                                           for i in range(12)])
            t.ok(s.status == 431 or s.reset is not None,
                 "a 12 kB header list (past 8000): 431 or reset", s)
            s = fetch(c, "/hello", headers=[("x-f%d" % i, "v")
                                           for i in range(120)])
            t.ok(s.status == 431 or s.reset is not None,
                 "120 fields (past limits.headers, 100): 431 or reset", s)
            s = fetch(c, "/hello")
            t.ok(hello_ok(s) and not c.goaways, "the connection survives",
                 s, c.goaways)
        serves_fresh(port, "after the HPACK bomb: a fresh connection is "
                     "served")

        # One SETTINGS frame of 40 entries (nghttp2 takes 32).
        with client(port) as c:
            c.handshake()
            c.send(h2.settings([(h2.SETTINGS_MAX_CONCURRENT_STREAMS, 100)] *
                               40))
            closed = c.wait_closed(5 * SLOW)
            t.ok(closed and c.goaways, "a SETTINGS frame of 40 entries: "
                 "GOAWAY and close", c.goaways, c.frames[-3:])
        serves_fresh(port, "after it: a fresh connection is served")

        # Floods of frames that each ask for an answer, from a client that
        # never reads.
        for name, unit in (("SETTINGS", h2.settings()),
                           ("PING", h2.ping(b"12345678"))):
            outcome, sent, grew = flood(srv, port, unit)
            t.diag("%s flood: %s after %.1f MB, RSS +%d KiB" %
                   (name, outcome or "read on", sent / 1e6, grew))
            t.ok(outcome in ("closed", "stalled"),
                 "%s flood from a client that does not read: the server "
                 "closes or stops reading" % name,
                 "it read %.1f MB" % (sent / 1e6))
            if SAN:
                t.skip("RSS is not meaningful under sanitizers")
            else:
                t.cmp_ok(grew, "<", 32 * 1024,
                         "%s flood: server RSS within 32 MiB (KiB)" % name)
            serves_fresh(port, "after the %s flood: a fresh connection is "
                         "served" % name)
        t.ok(srv.alive(), "the server is running")
        hwtest.assert_clean_stop(srv)


def test_windows_and_resets():
    """The window a held body used comes back to the connection (a body
    that ends while its module holds it; a client that resets a held
    stream), and resets the server is made to send count against the
    client (CVE-2025-8671, "MadeYouReset")."""
    w = 4 << 20  # a stream's window: four such bodies take the connection's
    cfg = config(http2={"initial_window_size": w})
    with t.block("windows"), server(cfg, "windows") as srv:
        port = srv.port
        with client(port) as c:
            c.handshake()
            c.wait(lambda: c.send_conn_window > 65535, 3 * SLOW)
            done = 0
            try:
                for _ in range(6):
                    body = b"a" * (w - 1000)
                    sid = c.request("POST", "/up/upload?ms=300", body=body,
                                    headers=[("content-length",
                                              str(len(body)))])
                    s = settle(c, sid, 10 * SLOW)
                    if not (s.done and s.status == 200):
                        break
                    done += 1
            except (OSError, h2.ConnectionClosed):
                pass
            t.is_(done, 6, "6 bodies of 4 MiB held by their module, on one "
                  "connection (the connection's window is 16 MiB): all "
                  "read, the window given back")
        with client(port) as c:
            c.handshake()
            c.wait(lambda: c.send_conn_window > 65535, 3 * SLOW)
            got = None
            try:
                for _ in range(6):
                    sid = c.request("POST", "/up/upload?ms=30000",
                                    body=b"b" * (w - 1000))
                    c.send(h2.rst_stream(sid, h2.CANCEL))
                got = fetch(c, "/echo", method="POST", body=b"c" * 100000,
                            timeout=5 * SLOW)
            except (OSError, h2.ConnectionClosed) as e:
                got = e
            t.ok(getattr(got, "done", False) and got.status == 200,
                 "held streams reset by the client give their window back: "
                 "24 MiB of them, then a body is read", got)
        no_sanitizer_report(srv)

    with t.block("madeyoureset"), server(config(), "myr") as srv:
        with client(srv.port) as c:
            c.handshake()
            block = c.enc.encode(c.request_fields("GET", "/delay?ms=30000"))
            sent = 0
            while sent < 2000 and not c.goaways:
                out = []
                for _ in range(100):
                    sid = c.new_sid()
                    # A WINDOW_UPDATE that overflows the stream's window: a
                    # stream error the server answers with RST_STREAM.
                    out.append(h2.headers_frames(sid, block) +
                               h2.frame(h2.WINDOW_UPDATE, 0, sid,
                                        struct.pack("!I", 0x7fffffff)))
                try:
                    c.send(b"".join(out))
                except OSError:
                    break
                sent += 100
                c.wait(lambda: c.stream(sid).reset is not None or
                       bool(c.goaways) or c.eof, 3 * SLOW)
            c.wait(lambda: bool(c.goaways) or c.eof, 3 * SLOW)
            codes = [g[1] for g in c.goaways]
            t.ok(h2.ENHANCE_YOUR_CALM in codes and sent < 2000,
                 "server-provoked resets of deferred requests: GOAWAY "
                 "ENHANCE_YOUR_CALM after a bounded number (sent %d)" % sent,
                 codes)
        serves_fresh(srv.port, "after it: a fresh connection is served")
        no_sanitizer_report(srv)


def test_timeouts():
    write_ms, idle_ms, head_ms, keep_ms = 1000, 1000, 1000, 1000
    cfg = config(timeouts_ms={"write": write_ms, "body_idle": idle_ms,
                              "head": head_ms, "keepalive": keep_ms})
    with t.block("timeouts"), server(cfg, "timeouts") as srv:
        port = srv.port
        # A zero window: the answer's HEADERS go, its DATA cannot.
        with client(port, settings={h2.SETTINGS_INITIAL_WINDOW_SIZE: 0},
                    auto_window=False) as c:
            c.handshake()
            sid = c.request(path="/s/big?n=1000000")
            t0 = time.monotonic()
            c.wait(lambda: c.streams[sid].done or c.eof,
                   (write_ms / 1000 + 5) * SLOW)
            took = time.monotonic() - t0
            s = c.streams[sid]
            t.diag("zero window: %r after %.2f s" % (s, took))
            t.ok(s.reset is not None and not c.eof and
                 write_ms / 2000 <= took <= write_ms / 1000 + 3 * SLOW,
                 "a stream stalled at a zero window is reset after "
                 "timeouts_ms.write (1 s)", "%r after %.2f s, eof %s"
                 % (s, took, c.eof))
            sid = c.request(path="/hello")
            c.send(h2.window_update(sid, 1000))
            s = settle(c, sid, 5 * SLOW)
            t.ok(hello_ok(s), "the connection goes on (a stream given a "
                 "window is answered)", s)
        serves_fresh(port, "a fresh connection is served")

        # A client that reads nothing at all while its windows are wide.
        with client(port, rcvbuf=4096,
                    settings={h2.SETTINGS_INITIAL_WINDOW_SIZE:
                              h2.MAX_WINDOW}) as c:
            c.send(h2.window_update(0, h2.MAX_WINDOW - h2.DEFAULT_WINDOW))
            c.request(path="/s/big?n=200000000&chunk=65536")
            time.sleep(write_ms / 1000 + 1.5 * SLOW)
            got, t0 = 0, time.monotonic()
            c.sock.settimeout(0.5)
            closed = False
            while time.monotonic() - t0 < 3 * SLOW:
                try:
                    d = c.sock.recv(1 << 20)
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
                if not d:
                    closed = True
                    break
                got += len(d)
            t.ok(closed and got < 20 << 20,
                 "a client that reads nothing: closed by timeouts_ms.write",
                 "closed %s, read %d bytes afterwards" % (closed, got))
        serves_fresh(port, "a fresh connection is served")

        # A body that never comes, and one that stops.
        with client(port) as c:
            c.handshake()
            for path, first, name in (("/echo", b"", "no byte of a body"),
                                      ("/up/upload", b"z" * 5000,
                                       "a streamed body that stops")):
                sid = c.request("POST", path, end_stream=False,
                                headers=[("content-length", "100000")])
                if first:
                    c.send(h2.data(sid, first))
                t0 = time.monotonic()
                s = settle(c, sid, (idle_ms / 1000 + 5) * SLOW)
                took = time.monotonic() - t0
                t.ok((s.status == 408 or s.reset is not None) and
                     took >= idle_ms / 2000,
                     "%s: 408 or reset after timeouts_ms.body_idle" % name,
                     "%r after %.2f s" % (s, took))
            s = fetch(c, "/hello")
            t.ok(hello_ok(s) and not c.goaways and not c.eof,
                 "the connection goes on", s, c.goaways)
        # A header block that never ends holds the connection's HPACK
        # state: the connection ends.
        with client(port) as c:
            c.handshake()
            c.send(h2.frame(h2.HEADERS, h2.FLAG_END_STREAM, c.new_sid(),
                            c.enc.encode(c.request_fields("GET", "/hello"))))
            t0 = time.monotonic()
            closed = c.wait_closed((head_ms / 1000 + 5) * SLOW)
            took = time.monotonic() - t0
            t.ok(closed and head_ms / 2000 <= took,
                 "a header block without its end: the connection is closed "
                 "after timeouts_ms.head", "closed %s after %.2f s" %
                 (closed, took))
        # An idle connection.
        with client(port) as c:
            c.handshake()
            s = fetch(c, "/hello")
            t0 = time.monotonic()
            closed = c.wait_closed((keep_ms / 1000 + 5) * SLOW)
            took = time.monotonic() - t0
            t.diag("idle: closed %s after %.2f s, GOAWAY %r" %
                   (closed, took, c.goaways))
            t.ok(hello_ok(s) and closed and keep_ms / 2000 <= took,
                 "an idle h2 connection is closed after "
                 "timeouts_ms.keepalive", "closed %s after %.2f s" %
                 (closed, took))
            t.ok(c.goaways and c.goaways[-1][:2] == (1, h2.NO_ERROR),
                 "with GOAWAY NO_ERROR first, naming the last stream "
                 "(RFC 9113 section 9.1)", c.goaways, c.frames[-3:])
        t.ok(srv.alive(), "the server is running")
        hwtest.assert_clean_stop(srv)


# ---------------------------------------------------------------------------
# Reload and stop

def test_reload():
    routes = [route("/hello", "hello.so"), route("/d", "delay.so")]
    cfg = config(routes=routes)
    with t.block("reload with an h2 connection open"), \
            server(cfg, "reload") as srv:
        with client(srv.port) as c:
            c.handshake()
            old = c.request(path="/d/old?ms=%d" % (1500 * SLOW))
            c.ping_rtt()  # the server has read the request
            cfg2 = dict(cfg, routes=[
                route("/hello", "hello.so"),
                route("/d", "hello.so", {"body": "generation 2"})])
            hwtest.write_config(srv.config_path, cfg2)
            srv.send_signal(signal.SIGHUP)
            m = srv.wait_log(r"reload: generation 2 active", 15 * SLOW)
            t.ok(m is not None, "SIGHUP: generation 2 active")
            s = fetch(c, "/d/new")
            t.is_((s.status, bytes(s.body)), (200, b"generation 2"),
                  "a new stream on the same connection: the new routes")
            s = settle(c, old, 10 * SLOW)
            t.is_((s.status, bytes(s.body)), (200, b"/d/old"),
                  "the stream begun before finishes on its generation "
                  "(delay.so)")
            t.ok(c.ping_rtt() and not c.goaways and not c.eof,
                 "the connection stays open, no GOAWAY", c.goaways)
        hwtest.assert_clean_stop(srv)


def test_graceful_stop():
    with t.block("graceful stop"), server(config(), "stop") as srv:
        with client(srv.port) as c:
            c.handshake()
            sid = c.request(path="/delay?ms=%d" % (1000 * SLOW))
            c.ping_rtt()
            t0 = time.monotonic()
            srv.send_signal(signal.SIGQUIT)
            c.wait(lambda: c.eof, 15 * SLOW)
            ga = c.goaways
            s = c.streams[sid]
            t.diag("GOAWAYs: %r" % [(g[0], h2.error_name(g[1]),
                                     round(g[3] - t0, 3)) for g in ga])
            t.ok(len(ga) >= 2 and ga[0][:2] == (h2.MAX_STREAM_ID,
                                                h2.NO_ERROR),
                 "first GOAWAY: last-stream-id 2^31-1, NO_ERROR (the "
                 "shutdown notice)", ga)
            t.ok(len(ga) >= 2 and ga[-1][:2] == (sid, h2.NO_ERROR),
                 "then GOAWAY with the last stream id (%d)" % sid, ga)
            kinds = [f.type for f in c.frames if f.type in (h2.GOAWAY,
                                                            h2.PING) and
                     not f.has(h2.FLAG_ACK)]
            last = max((i for i, k in enumerate(kinds) if k == h2.GOAWAY),
                       default=-1)
            t.ok(h2.PING in kinds[:last],
                 "a PING with the notice measures the round trip before the "
                 "last GOAWAY", [h2.FRAME_NAMES.get(k) for k in kinds])
            t.ok(s.status == 200 and bytes(s.body) == b"/delay" and
                 s.ended and ga and s.ended_at > ga[0][3],
                 "the stream in flight completes after the notice", s)
            t.ok(c.eof, "then the connection is closed")
        rc = srv.stop(timeout=15 * SLOW)
        t.is_(rc, 0, "the server exits 0")
        no_sanitizer_report(srv)
    with t.block("graceful stop, a client that answers no PING"), \
            server(config(), "stop2") as srv:
        with client(srv.port, auto_ack=False) as c:
            c.wait(lambda: c.server_settings is not None, 5 * SLOW)
            c.send(h2.settings(ack=True))
            sid = c.request(path="/delay?ms=%d" % (2500 * SLOW))
            time.sleep(0.2)
            t0 = time.monotonic()
            srv.send_signal(signal.SIGQUIT)
            c.wait(lambda: len(c.goaways) >= 2 or c.eof, 10 * SLOW)
            ga = c.goaways
            gap = ga[1][3] - ga[0][3] if len(ga) >= 2 else None
            t.diag("GOAWAYs: %r" % [(g[0], h2.error_name(g[1]),
                                     round(g[3] - t0, 3)) for g in ga])
            t.ok(gap is not None and 0.5 <= gap <= 3 * SLOW and
                 ga[1][0] == sid,
                 "the last stream id follows the notice after about a "
                 "second when no PING ACK comes", ga)
            s = settle(c, sid, 10 * SLOW)
            t.is_((s.status, bytes(s.body)), (200, b"/delay"),
                  "the stream in flight completes")
        rc = srv.stop(timeout=15 * SLOW)
        t.is_(rc, 0, "the server exits 0")
        no_sanitizer_report(srv)


# ---------------------------------------------------------------------------
# TLS

def make_cert(d):
    cert, key = os.path.join(d, "h2.pem"), os.path.join(d, "h2.key")
    subprocess.run([OPENSSL, "req", "-x509", "-nodes", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", "/CN=h2.test",
                    "-addext", "subjectAltName=DNS:h2.test,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def tls_get_h1(port, alpn):
    """(ALPN chosen, what an HTTP/1.1 GET /hello read) over TLS."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with tls_ctx(alpn).wrap_socket(raw) as s:
            s.settimeout(10)
            chosen = s.selected_alpn_protocol()
            s.sendall(get("/hello", headers=[("Connection", "close")]))
            out = b""
            while len(out) < 1 << 20:
                x = s.recv(65536)
                if not x:
                    break
                out += x
    return chosen, out


def test_tls(d):
    if OPENSSL is None:
        t.skip("the openssl command is not installed", 1)
        return
    cert, key = make_cert(d)
    certs = [{"cert": cert, "key": key}]
    both = tls_ctx(["h2", "http/1.1"])

    # "alpn": ["h2", "http/1.1"] on a TLS listener.
    log = os.path.join(d, "tls-access.json")
    listen = [{"address": "127.0.0.1:0",
               "tls": {"certificates": certs, "alpn": ["h2", "http/1.1"]}}]
    cfg = config(listen=listen, access_log={"path": log, "format": "json"})
    with t.block("TLS with alpn [h2, http/1.1]"), server(cfg, "tls") as srv:
        port = srv.port
        with client(port, tls=both) as c:
            t.is_(c.alpn(), "h2", "ALPN h2, http/1.1 offered: h2 chosen")
            s = fetch(c, "/hello", scheme="https")
            t.ok(hello_ok(s), "GET /hello over h2", s)
            s = fetch(c, "/t", scheme="https")
            t.like(bytes(s.body), br"alpn: h2\n",
                   "the module sees ALPN h2 (host->tls)")
            s = fetch(c, "/s/big?n=1000000&chunk=16384", scheme="https",
                      timeout=30 * SLOW)
            t.is_(len(s.body), 1000000, "1 MB streamed over TLS")
        for alpn, name in ((["http/1.1"], "ALPN http/1.1 offered"),
                           (None, "no ALPN")):
            chosen, out = tls_get_h1(port, alpn)
            t.ok(chosen in (None, "http/1.1") and
                 out.startswith(b"HTTP/1.1 200") and out.endswith(HELLO),
                 name + ": HTTP/1.1 is served", chosen, out[:60])
        out = subprocess.run([OPENSSL, "s_client", "-connect",
                              "127.0.0.1:%d" % port, "-alpn", "h2"],
                             input=b"", stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=20)
        t.like(out.stdout.decode("latin-1"), r"ALPN protocol: h2",
               "openssl s_client -alpn h2: h2")
        test_clients(srv, port, "https", ("-k",))
        hwtest.assert_clean_stop(srv)
        try:
            with open(log) as f:
                lines = [json.loads(x) for x in f.read().splitlines()]
        except (OSError, ValueError) as e:
            lines = []
            t.diag("access log: %s" % e)
        h2l = [x for x in lines if x.get("protocol") == "HTTP/2"]
        t.ok(h2l and all(x.get("alpn") == "h2" and x.get("tls")
                         for x in h2l),
             "h2 over TLS is logged as HTTP/2 with its TLS version and ALPN "
             "h2", h2l[:1])

    # "http2": true on a TLS listener, beside one without it.
    listen = [{"address": "127.0.0.1:0", "http2": True,
               "tls": {"certificates": certs}},
              {"address": "127.0.0.1:0", "tls": {"certificates": certs}}]
    with t.block("TLS with http2: true"), \
            server(config(listen=listen), "tlsflag") as srv:
        flag_port, h1_port = srv.ports[:2]
        with client(flag_port, tls=both) as c:
            t.is_(c.alpn(), "h2", "a TLS listener with \"http2\": true "
                  "chooses h2")
            t.ok(hello_ok(fetch(c, "/hello", scheme="https")), "served")
        chosen, out = tls_get_h1(flag_port, ["http/1.1"])
        t.ok(chosen == "http/1.1" and out.startswith(b"HTTP/1.1 200"),
             "and http/1.1 when the client offers only that", chosen,
             out[:60])
        chosen, out = tls_get_h1(h1_port, ["h2", "http/1.1"])
        t.ok(chosen == "http/1.1" and out.startswith(b"HTTP/1.1 200"),
             "a TLS listener without http2 chooses http/1.1 over h2",
             chosen, out[:60])
        hwtest.assert_clean_stop(srv)


# ---------------------------------------------------------------------------
# The config

def test_check(d):
    def check(name, **extra):
        c = config(**extra)
        c["workers"] = 0
        path = hwtest.write_config(os.path.join(d, name + ".json"), c)
        rc, out, err = hwtest.check_config(path)
        return rc, (out + err).strip()

    with t.block("haywire -t"):
        rc, out = check("good", http2={"max_concurrent_streams": 100,
                                       "initial_window_size": 1048576,
                                       "max_frame_size": 65536,
                                       "max_header_list_size": 32768})
        t.ok(rc == 0 and out.endswith("configuration OK"),
             "the http2 keys and a listener's http2 are taken", out)
        for name, extra, want in (
                ("frame", {"http2": {"max_frame_size": 1000}},
                 "http2.max_frame_size"),
                ("streams", {"http2": {"max_concurrent_streams": 0}},
                 "http2.max_concurrent_streams"),
                ("window", {"http2": {"initial_window_size": 2147483648}},
                 "http2.initial_window_size"),
                ("unknown", {"http2": {"colour": 1}}, "http2.colour"),
                ("flag", {"listen": [{"address": "127.0.0.1:0",
                                      "http2": "yes"}]},
                 "listen[0].http2")):
            rc, out = check(name, **extra)
            t.ok(rc != 0 and want in out, "-t refuses %s, naming it" % want,
                 out)


def main():
    d = hwtest.make_tmpdir("h2")
    log = os.path.join(d, "access.json")
    cfg = config(listen=[h2c_listen(), "127.0.0.1:0"],
                 limits={"header_bytes": 8000},
                 access_log={"path": log, "format": "json"})
    with server(cfg, "main") as srv:
        port, plain = srv.ports[0], srv.ports[1]
        test_listeners(srv, port, plain)
        test_requests(srv, port, plain)
        test_malformed(srv, port)
        test_concurrency(srv, port)
        test_abort(srv, port)
        test_log_and_metrics(srv, port, plain, log)
        test_clients(srv, port, "http")
        t.ok(srv.alive(), "the server is running")
        hwtest.assert_clean_stop(srv)
    test_settings_config()
    test_attacks()
    test_windows_and_resets()
    test_timeouts()
    test_reload()
    test_graceful_stop()
    test_tls(d)
    test_check(d)


hwtest.run(main)
