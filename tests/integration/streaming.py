#!/usr/bin/env python3
"""ABI 1.3 against the real server: streamed responses (chunked, declared,
HTTP/1.0, HEAD, pipelined, cut short, a client that leaves, a client that
reads slowly while memory stays flat), file regions (and a file truncated
while it is sent), host timers (stopped with their generation), work on
the thread pool (the loop stays responsive; work is capped and queued),
streamed request bodies (with back-pressure and a per-route limit), the
client's FIN reaching on_abort, and the example modules sse.so and
file_region.so.  The misuse of each call is answered with its error code
(under ASan in CI: never memory corruption)."""

import os
import socket
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, request, route, fixture  # noqa: E402

SAN = bool(hwtest.SAN_CFLAGS)
EXAMPLES = os.path.join(hwtest.BUILDDIR, "examples")


def example(name):
    return os.path.join(EXAMPLES, name + hwtest.MODULE_EXT)


def stats(port):
    r = hwtest.one(port, get("/s/stats"))
    return dict(kv.split("=") for kv in r.text().split())


def raw(port, data, timeout=10):
    """Sends `data`, reads until the server closes; returns the bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            out += d
    finally:
        s.close()
    return out


def test_responses(srv):
    with t.block("streamed responses"):
        with Conn(srv.port) as c:
            c.send(get("/s/ticks?n=3&ms=20") + get("/hello") +
                   get("/s/big?n=300000&chunk=7000") +
                   get("/s/big?n=250000&len=1") + get("/hello"))
            a, b, big, blen, h = c.read_responses(5)
        t.is_((a.status, a.header("Transfer-Encoding"), a.body),
              (200, "chunked", b"tick 0\ntick 1\ntick 2\n"),
              "an unknown length goes chunked, one tick per timer run")
        t.is_(b.body, b"Hello, World!",
              "the pipelined answer behind it waits its turn")
        t.is_((big.header("Transfer-Encoding"), len(big.body),
               set(big.body)), ("chunked", 300000, {ord("x")}),
              "300 kB written from the writable callback, every byte")
        t.is_((blen.header("Content-Length"), len(blen.body)),
              ("250000", 250000), "a declared length is sent as such")
        t.is_(h.body, b"Hello, World!", "and the last one, in order")

        r = hwtest.one(srv.port, get("/s/big?n=3000000&greedy=1"))
        t.is_(len(r.body), 3000000,
              "a module that ignores HW_CONGESTED still gets every byte out")

        out = raw(srv.port, b"GET /s/ticks?n=2&ms=5 HTTP/1.0\r\n\r\n")
        t.ok(out.startswith(b"HTTP/1.1 200") and b"Connection: close\r\n"
             in out and b"chunked" not in out and
             out.endswith(b"\r\n\r\ntick 0\ntick 1\n"),
             "HTTP/1.0: delimited by closing the connection", out[-80:])

        with Conn(srv.port) as c:
            c.send(request("HEAD", "/s/ticks?n=2&ms=5") + get("/hello"))
            a = c.read_response(head=True)
            b = c.read_response()
        t.ok(a.status == 200 and a.body == b"" and b.body == b"Hello, World!",
             "HEAD: the head only; the connection goes on")

        out = raw(srv.port, get("/s/short") + get("/hello"))
        t.ok(b"Content-Length: 10\r\n" in out and out.endswith(b"12345") and
             b"Hello" not in out,
             "ending short of the declared length cuts the connection",
             out[-60:])

        r = hwtest.one(srv.port, get("/s/misuse"))
        want = ("timer=1 stop=0 stop_again=-71 stop_bogus=-22 "
                "stop_negative=-22 timer_null=-22 work_null=-22 "
                "on_writable_unstreamed=-71 write_file_unstreamed=-71 "
                "body_stream_buffered=-71 stream_bad_length=-22 stream=0 "
                "stream_again=-71 status_after=-71 header_after=-71 "
                "write_file_badfd=-22 write_past=-22")
        t.is_(" ".join(r.text().rstrip(".").split()), want,
              "each misuse gets its error code")
        t.is_(len(r.body), 1000, "and the declared 1000 bytes are sent")
        t.ok(srv.wait_log(r"stream: after the end: finish=0 finish_again=-71 "
                          r"write=-71 write_ref=-71 stream=-71", 5)
             is not None, "after finish: finishing again and writing are "
             "HW_ESTATE")

        for st in (204, 304):
            with Conn(srv.port) as c:
                c.send(get("/s/ticks?n=2&ms=5&status=%d" % st) + get("/hello"))
                a = c.read_response()
                b = c.read_response()
            t.ok(a.status == st and a.body == b"" and
                 not a.has_header("Transfer-Encoding") and
                 not a.has_header("Content-Length") and
                 b.body == b"Hello, World!",
                 "%d: no body and no framing; the connection goes on" % st)


def test_abort_and_memory(srv):
    with t.block("a client that leaves, a client that reads slowly"):
        before = int(stats(srv.port)["aborted"])
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(get("/s/big?n=1000000000"))
        got = 0
        while got < 2000000:
            got += len(s.recv(1 << 16))
        s.close()
        ok = hwtest.poll(lambda: int(stats(srv.port)["aborted"]) > before, 5)
        t.ok(ok, "the module is told the client left mid-stream")

        idle = hwtest.rss_kib(srv.proc.pid)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        total = 200 * 1000 * 1000
        s.sendall(get("/s/big?n=%d&chunk=65536&len=1" % total))
        got, peak, t0 = 0, idle, time.monotonic()
        slow_until = t0 + 1.0
        while got < total and time.monotonic() < t0 + 60:
            d = s.recv(1 << 20)
            if not d:
                break
            got += len(d)
            if time.monotonic() < slow_until:
                time.sleep(0.05)  # a slow reader for a second
            if got % (8 << 20) < len(d):
                peak = max(peak, hwtest.rss_kib(srv.proc.pid) or 0)
        s.close()
        t.ok(got >= total, "200 MB streamed to a slow, then fast, reader",
             got)
        if SAN:
            t.skip("RSS is not meaningful under sanitizers")
        else:
            t.diag("idle %s KiB, peak %s KiB" % (idle, peak))
            t.cmp_ok(peak - idle, "<=", 16 * 1024,
                     "server RSS stays within 16 MiB of idle (KiB over)")


def test_files(srv, tmp):
    with t.block("file regions"):
        path = os.path.join(tmp, "data.bin")
        data = os.urandom(3 * 1000 * 1000)
        with open(path, "wb") as f:
            f.write(data)
        r = hwtest.one(srv.port, get(
            "/s/file?off=12345&len=2000000&path=" + path))
        t.ok(r.status == 200 and r.body[:5] == b"head;" and
             r.body[5:] == data[12345:12345 + 2000000],
             "a 2 MB region, after bytes written before it, exact")

        big = os.path.join(tmp, "big.bin")
        with open(big, "wb") as f:
            f.truncate(64 * 1000 * 1000)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(get("/s/file?off=0&len=64000000&path=" + big))
        got = len(s.recv(65536))
        time.sleep(0.2)
        os.truncate(big, 1000000)  # under the reader's feet
        closed = False
        while True:
            try:
                d = s.recv(1 << 20)
            except OSError:
                closed = True
                break
            if not d:
                closed = True
                break
            got += len(d)
        s.close()
        t.ok(closed and got < 64000000,
             "a file truncated while it is sent ends the connection, short",
             got)
        r = hwtest.one(srv.port, get("/hello"))
        t.is_(r.body, b"Hello, World!", "and the server goes on")


def test_work(srv):
    with t.block("work on the thread pool"):
        r = hwtest.one(srv.port, get("/s/work?ms=30"))
        t.is_(r.body, b"worked 30 ms, status 0\n", "done_cb answers")
        r = hwtest.one(srv.port, get("/s/late_work"))
        t.ok(r.body == b"finished\n" and
             srv.wait_log(r"stream: late queue_work=-71", 5) is not None,
             "queue_work after finish is HW_ESTATE")
        with Conn(srv.port) as c:
            c.send(get("/s/work?ms=100") + get("/hello") + get("/s/work?ms=1"))
            a, b, c3 = c.read_responses(3)
        t.is_((a.body, b.body, c3.body),
              (b"worked 100 ms, status 0\n", b"Hello, World!",
               b"worked 1 ms, status 0\n"),
              "pipelined behind work: answers leave in request order")

        # 8 items of 300 ms on a pool of 4: 3 at a time (one thread stays
        # the server's), so the last ends after 3 rounds; meanwhile /hello
        # is answered at once.
        results, conns = [], []
        t0 = time.monotonic()
        for i in range(8):
            c = Conn(srv.port, timeout=20)
            c.send(get("/s/work?ms=300"))
            conns.append(c)
        time.sleep(0.05)
        h0 = time.monotonic()
        r = hwtest.one(srv.port, get("/hello"))
        hello_ms = (time.monotonic() - h0) * 1000
        for c in conns:
            results.append(c.read_response().body)
            c.close()
        took = time.monotonic() - t0
        t.ok(all(b == b"worked 300 ms, status 0\n" for b in results),
             "8 work items, each answered")
        t.cmp_ok(hello_ms, "<", 200, "the loop answers /hello meanwhile (ms)")
        t.cmp_ok(took, ">=", 0.85,
                 "at most 3 run at once on a pool of 4 (seconds)")


def test_bodies(srv):
    with t.block("streamed request bodies"):
        body = os.urandom(2 * 1000 * 1000)
        s = 0
        for b in body:
            s = (s * 31 + b) % 1000000007
        r = hwtest.one(srv.port, request("POST", "/up/upload?ms=2",
                                         body=body), timeout=30)
        t.is_(r.body, b"bytes=%d sum=%d\n" % (len(body), s),
              "2 MB (past limits.body) received in pieces, paused and "
              "resumed, exact")
        pieces = [body[i:i + 70000] for i in range(0, 700000, 70000)]
        r = hwtest.one(srv.port, request(
            "POST", "/up/upload?ms=1",
            headers=[("Transfer-Encoding", "chunked")],
            body=hwtest.chunked(pieces)), timeout=30)
        s2 = 0
        for b in body[:700000]:
            s2 = (s2 * 31 + b) % 1000000007
        t.is_(r.body, b"bytes=700000 sum=%d\n" % s2, "chunked, exact")
        r = hwtest.one(srv.port, request(
            "POST", "/up/upload", headers=[("Content-Length", "5000001")]))
        t.is_(r.status, 413, "past the route's body_limit: 413 at the head")
        r = hwtest.one(srv.port, request("POST", "/s/work?ms=1",
                                         body=b"x" * 2000))
        t.is_(r.status, 413, "a buffered route keeps limits.body")

        before = int(stats(srv.port)["aborted"])
        c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        c.sendall(b"POST /up/upload HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 100000\r\n\r\n" + b"z" * 5000)
        time.sleep(0.1)
        c.close()
        t.ok(hwtest.poll(lambda: int(stats(srv.port)["aborted"]) > before, 5),
             "a client that leaves mid-body: the module is told")


def test_hangup(srv):
    with t.block("the client's FIN reaches on_abort"):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(get("/s/hangup"))
        time.sleep(0.1)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            out += d
        s.close()
        t.ok(out.startswith(b"HTTP/1.1 200") and out.endswith(b"bye\n"),
             "a half-closed client still gets the answer made then", out)


def read_all(s):
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except OSError:
            break
        if not d:
            break
        out += d
    return out


def test_edges(srv, tmp):
    with t.block("edges: FIN, HTTP/1.0 close, bodies and heads, 100"):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(get("/s/hangup") + get("/s/hangup"))
        time.sleep(0.1)
        s.shutdown(socket.SHUT_WR)
        out = read_all(s)
        s.close()
        t.is_(out.count(b"bye\n"), 2,
              "two pipelined requests told of the FIN both answer")

        out = raw(srv.port, b"GET /s/ticks?n=2&ms=5 HTTP/1.0\r\n"
                  b"Connection: keep-alive\r\n\r\n" + get("/hello"))
        t.ok(out.endswith(b"tick 0\ntick 1\n") and b"Hello" not in out,
             "HTTP/1.0 keep-alive, unknown length: the end of the connection "
             "ends the body; the request behind it is not answered",
             out[-80:])

        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"POST /up/echo_stream HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 10\r\n\r\n01234")
        time.sleep(0.2)
        s.sendall(b"56789" + get("/hello"))
        out = read_all(s)
        s.close()
        t.ok(b"Connection: close\r\n" in out and b"echo:" in out and
             b"56789" in out and out.endswith(b"0\r\n\r\n") and
             b"Hello" not in out,
             "a head written while its body arrives says close, and the "
             "connection does close after the body", out[-120:])

        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(get("/s/work?ms=150") +
                  b"POST /up/echo_stream HTTP/1.1\r\nHost: x\r\n"
                  b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        got = b""
        deadline = time.monotonic() + 5
        while b"echo:" not in got and time.monotonic() < deadline:
            got += s.recv(65536)
        s.sendall(b"abc")
        got += read_until(s, b"0\r\n\r\n")
        s.close()
        i_work = got.find(b"worked 150 ms")
        i_100 = got.find(b"HTTP/1.1 100 Continue")
        i_head = got.find(b"HTTP/1.1 200", i_work)
        t.ok(0 <= i_work < i_100 < i_head and b"abc" in got[i_head:],
             "100 Continue after the earlier answer and before the streamed "
             "head, never inside a body", got[:300])

        with Conn(srv.port) as c:
            c.send(get("/s/ticks?n=2&ms=20") +
                   get("/hello", headers=[("Connection", "close")]))
            a = c.read_response()
            b = c.read_response()
            c.expect_closed("then the connection closes")
        t.ok(a.body == b"tick 0\ntick 1\n" and b.body == b"Hello, World!",
             "an answer behind a stream, on a request that said close, "
             "still goes")

        r = hwtest.one(srv.port, get("/s/x?decline_work=1"))
        t.ok(r.status == 500 and srv.wait_log(
            r"handle declined with work queued: answered 500", 5) is not None,
             "declining a request with work queued: 500, logged")

        r = hwtest.one(srv.port, request("POST", "/up/decl/upload?decline=1",
                                         body=b"z" * 3000))
        t.is_(r.body[:11], b"bytes=3000 ",
              "a decline hands the body to the next route, not to the "
              "declining module's callback")

        path = os.path.join(tmp, "tail.bin")
        data = os.urandom(100000)
        with open(path, "wb") as f:
            f.write(data)
        r = hwtest.one(srv.port, get("/s/file?off=0&len=100000&tail=70000"
                                     "&path=" + path))
        t.ok(r.body == b"head;" + data + b"x" * 70000,
             "bytes written after a file region wait for it, and follow it")
        big = os.path.join(tmp, "two.bin")
        with open(big, "wb") as f:
            f.truncate(2000000)
        r = hwtest.one(srv.port, get("/s/file?off=0&len=2000000&path=" + big))
        t.ok(len(r.body) == 2000005 and
             srv.wait_log(r"stream: write_file=1", 5) is not None,
             "a 2 MB region is HW_CONGESTED (the module is told to wait)")


def read_until(s, marker, timeout=10):
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        d = s.recv(65536)
        if not d:
            break
        out += d
    return out


def test_old_module_fin():
    """A module built against 1.2 is told of a FIN only if its client has
    really gone (it was promised no more)."""
    with t.block("ABI 1.2 module and a FIN"):
        tmp = hwtest.make_tmpdir("fin12")
        src = os.path.join(tmp, "waits.c")
        with open(src, "w") as f:
            f.write('''#include <stdio.h>
#include "1.2/haywire.h"
static const hw_host *H;
static void told(hw_request *req, void *arg) {
  hw_response *res = arg;
  H->log(HW_LOG_WARN, "waits: told, aborted=%d", H->aborted(req));
  H->finish(res);
}
static int i(const hw_host *h, const char *c, size_t n, void **s, char *e,
             size_t el) { (void)c, (void)n, (void)e, (void)el; H = h;
  *s = NULL; return 0; }
static hw_handle_result h(void *s, hw_request *req, hw_response *res) {
  (void)s; H->on_abort(req, told, res); return HW_DEFERRED; }
HW_MODULE_DEFINE("waits", "1", i, h, NULL);
''')
        so = os.path.join(tmp, "waits" + hwtest.MODULE_EXT)
        rc, out = hwtest.compile_module(
            [src], so, ["-I", os.path.join(hwtest.SRCDIR, "tests", "abi")])
        t.ok(rc == 0, "a module built against the 1.2 header", out)
        cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
               "workers": 0, "timeouts_ms": {"drain": 300},
               "routes": [route("/w", so), route("/s", fixture("stream"))]}
        with hwtest.Server(config=cfg, name="fin12") as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(get("/w"))
            time.sleep(0.1)
            s.shutdown(socket.SHUT_WR)
            t.ok(srv.wait_log(r"waits: told", 0.5) is None,
                 "a FIN alone does not call its on_abort")
            wk = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            wk.sendall(get("/s/work?ms=1500"))
            time.sleep(0.1)
            t0 = time.monotonic()
            srv.send_signal(signal.SIGTERM)
            t.ok(srv.wait_log(r"waits: told, aborted=1", 5) is not None,
                 "its connection closed (at the stop): it is told, aborted")
            s.close()
            srv.proc.wait(timeout=10)
            t.is_(srv.proc.returncode, 0, "and the server exits 0")
            t.cmp_ok(time.monotonic() - t0, ">=", 1.3,
                     "after the work on a thread ended, past the drain "
                     "deadline (s)")
            wk.close()


def test_drain_upload():
    with t.block("a streamed upload finishes while the server drains"):
        cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
               "workers": 0,
               "routes": [{"prefix": "/up", "module": fixture("stream"),
                           "body": "stream", "body_limit": 100000}]}
        with hwtest.Server(config=cfg, name="drainup") as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"POST /up/upload?ms=1 HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 20000\r\n\r\n" + b"q" * 5000)
            time.sleep(0.2)
            srv.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            s.sendall(b"q" * 15000)
            out = read_all(s)
            s.close()
            t.ok(b"bytes=20000 " in out,
                 "SIGTERM mid-body: the body is read to its end and answered",
                 out[-100:])
            srv.proc.wait(timeout=10)


def test_timers_and_reload():
    with t.block("timers end with their generation"):
        tmp = hwtest.make_tmpdir("timers")
        cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
               "workers": 0, "timeouts_ms": {"drain": 300},
               "routes": [route("/s", fixture("stream")),
                          route("/hello", "hello.so")]}
        with hwtest.Server(config=cfg, workdir=tmp, name="timers") as srv:
            r = hwtest.one(srv.port, get("/s/leak_timer"))
            t.is_(r.body, b"leaked\n", "a module leaves a repeating timer")
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(get("/s/ticks?n=100000&ms=5"))
            w = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            w.sendall(get("/s/work?ms=1500"))
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            c.sendall(get("/s/chain?n=50&ms=100"))
            t0 = time.monotonic()
            t.ok(srv.wait_log(r"stream: leaked tick", 5) is not None,
                 "its ticks run")
            cfg2 = dict(cfg)
            cfg2["routes"] = [route("/hello", "hello.so")]
            hwtest.write_config(srv.config_path, cfg2)
            srv.send_signal(signal.SIGHUP)
            t.ok(srv.wait_log(r"generation 1 drained", 10) is not None,
                 "the streaming request is cut at the drain deadline")
            t.cmp_ok(time.monotonic() - t0, ">=", 1.4,
                     "but the generation is finalised only once the work "
                     "on a thread is done (s)")
            t.ok(srv.wait_log(r"stream: chain queue_work=-71", 5) is not None,
                 "work queued for a request given up at the deadline: "
                 "HW_ESTATE")
            w.close()
            c.close()
            time.sleep(0.3)
            n = srv.log().count("stream: leaked tick")
            time.sleep(0.3)
            t.is_(srv.log().count("stream: leaked tick"), n,
                  "the host stopped the timer at fini: no tick after")
            s.close()
            r = hwtest.one(srv.port, get("/hello"))
            t.is_(r.body, b"Hello, World!",
                  "no timer outlived the unloaded module")
            hwtest.assert_clean_stop(srv, name="server")


def test_examples(tmp):
    with t.block("examples: sse.so and file_region.so"):
        path = os.path.join(tmp, "region.bin")
        data = os.urandom(500000)
        with open(path, "wb") as f:
            f.write(data)
        routes = [route("/events", example("sse"),
                        {"interval_ms": 10, "events": 3}),
                  route("/data", example("file_region"),
                        {"file": path, "type": "application/x-test"})]
        with hwtest.Server(routes=routes, name="examples") as srv:
            r = hwtest.one(srv.port, get("/events"))
            t.is_((r.header("Content-Type"), r.body),
                  ("text/event-stream",
                   b": hello\n\nid: 0\ndata: tick 0\n\nid: 1\ndata: tick 1"
                   b"\n\nid: 2\ndata: tick 2\n\n"),
                  "sse: three events, one per timer tick")
            r = hwtest.one(srv.port, get("/data"))
            t.ok(r.status == 200 and r.body == data and
                 r.header("Content-Type") == "application/x-test",
                 "file_region: the whole file")
            r = hwtest.one(srv.port, get("/data", headers=[
                ("Range", "bytes=1000-1999")]))
            t.is_((r.status, r.header("Content-Range"), r.body),
                  (206, "bytes 1000-1999/500000", data[1000:2000]),
                  "a byte range: 206")
            r = hwtest.one(srv.port, get("/data", headers=[
                ("Range", "bytes=-10")]))
            t.is_((r.status, r.body), (206, data[-10:]), "a suffix range")
            r = hwtest.one(srv.port, get("/data", headers=[
                ("Range", "bytes=600000-")]))
            t.is_((r.status, r.header("Content-Range")),
                  (416, "bytes */500000"), "past the end: 416")
            with Conn(srv.port) as c:
                c.send(request("HEAD", "/data"))
                r = c.read_response(head=True)
            t.is_((r.status, r.header("Content-Length"), r.body),
                  (200, "500000", b""), "HEAD: the length, no body")
            hwtest.assert_clean_stop(srv, name="server")


def main():
    tmp = hwtest.make_tmpdir("streaming")
    cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
           "workers": 1, "thread_pool": 4, "limits": {"body": 1000},
           "routes": [route("/s", fixture("stream")),
                      {"prefix": "/up", "module": fixture("stream"),
                       "body": "stream", "body_limit": 5000000},
                      {"prefix": "/up/decl", "module": fixture("stream"),
                       "body": "stream", "body_limit": 5000000},
                      route("/hello", "hello.so")]}
    with hwtest.Server(config=cfg, name="streaming") as srv:
        test_responses(srv)
        test_abort_and_memory(srv)
        test_files(srv, tmp)
        test_work(srv)
        test_bodies(srv)
        test_hangup(srv)
        test_edges(srv, tmp)
        hwtest.assert_clean_stop(srv, name="server")
    test_old_module_fin()
    test_drain_upload()
    test_timers_and_reload()
    test_examples(tmp)


hwtest.run(main)
