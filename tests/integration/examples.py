#!/usr/bin/env python3
"""The example modules kv.so, timer.so, work.so and counter.so (C++)
against the real server over loopback: the key-value store's round trip,
404s, 405 with Allow, its limits (413, 507) and keys; the long poll
answered by its host timer after the time asked (and not before), woken by
a POST, left by its clients (FIN, reset, half-close) with the server still
answering, and its pending requests ended at a reload's drain deadline;
the file checksums computed on the thread pool, many at once, while the
loop keeps answering, and for clients that leave before the work is done;
the C++ counters, whose exception path answers 500 without crashing or
changing the counter.  Every example refuses a bad config with one line
naming the route and the key, and builds out of tree with -Wall -Wextra
-Werror against include/ alone (as the install test does with
pkg-config).  The examples keep their state per worker process, so the
servers here run one worker.  (sse.so and file_region.so are tested in
streaming.py.)"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, request, route  # noqa: E402

EXAMPLES = os.path.join(hwtest.BUILDDIR, "examples")
# Timing bounds.  A host timer is a libuv timer, counted in whole
# milliseconds from the loop's time as taken at the start of the iteration
# that started it: by the client's clock it may fire up to about a
# millisecond early (0.4 ms seen on a loaded machine), so the lower bounds
# allow EARLY.  The upper ones leave room for a loaded machine or a
# sanitizer build.
EARLY = 0.005
SLACK = 5.0


def example(name):
    return os.path.join(EXAMPLES, name + hwtest.MODULE_EXT)


def ask(port, method, target, body=None, headers=None):
    """One request on a new connection; its response."""
    return hwtest.one(port, request(method, target, headers=headers,
                                    body=body), head=method == "HEAD")


def timed(port, method, target, body=None):
    """(response, seconds from sending to the complete response)."""
    start = time.monotonic()
    r = ask(port, method, target, body)
    return r, time.monotonic() - start


# ---------------------------------------------------------------------------
# kv.so

def test_kv(srv):
    p = srv.port
    with t.block("kv: round trip"):
        r = ask(p, "GET", "/kv/a")
        t.is_(r.status, 404, "GET of a key never stored: 404")
        r = ask(p, "PUT", "/kv/a", b"hello",
                headers=[("Content-Type", "text/x-test; charset=utf-8")])
        t.is_((r.status, r.body), (201, b""), "PUT of a new key: 201")
        r = ask(p, "GET", "/kv/a")
        t.is_((r.status, r.header("Content-Type"), r.body),
              (200, "text/x-test; charset=utf-8", b"hello"),
              "GET: the value with the Content-Type of its PUT")
        r = ask(p, "PUT", "/kv/a", b"bye\x00\xff")
        t.is_(r.status, 204, "PUT over an existing key: 204")
        r = ask(p, "GET", "/kv/a")
        t.is_((r.status, r.header("Content-Type"), r.body),
              (200, "application/octet-stream", b"bye\x00\xff"),
              "the new value, binary, application/octet-stream without "
              "a Content-Type at PUT")
        r = ask(p, "HEAD", "/kv/a")
        t.is_((r.status, r.header("Content-Length"), r.body),
              (200, "5", b""), "HEAD: the length, no body")
        r = ask(p, "DELETE", "/kv/a")
        t.is_(r.status, 204, "DELETE: 204")
        t.is_(ask(p, "GET", "/kv/a").status, 404, "then GET: 404")
        t.is_(ask(p, "DELETE", "/kv/a").status, 404, "DELETE again: 404")
        r = ask(p, "PUT", "/kv/empty", b"")
        t.is_(r.status, 201, "an empty value is stored")
        r = ask(p, "GET", "/kv/empty")
        t.is_((r.status, r.header("Content-Length"), r.body),
              (200, "0", b""), "and read back empty")
        # One keep-alive connection, pipelined: each request sees the
        # state the one before it left.
        with Conn(p) as c:
            c.send(request("PUT", "/kv/p", body=b"1") +
                   request("GET", "/kv/p") +
                   request("PUT", "/kv/p", body=b"22") +
                   request("GET", "/kv/p") +
                   request("DELETE", "/kv/p") +
                   request("GET", "/kv/p"))
            rs = c.read_responses(6)
        t.is_([(r.status, r.body) for r in rs],
              [(201, b""), (200, b"1"), (204, b""), (200, b"22"),
               (204, b""), (404, b"kv: no such key\n")],
              "pipelined PUT, GET, PUT, GET, DELETE, GET in order")

    with t.block("kv: methods and keys"):
        r = ask(p, "POST", "/kv/a", b"x")
        t.is_((r.status, r.header("Allow")), (405, "GET, HEAD, PUT, DELETE"),
              "POST: 405 with Allow")
        r = ask(p, "PATCH", "/kv/a", b"x")
        t.is_(r.status, 405, "PATCH: 405")
        for target in ("/kv", "/kv/", "/kv/a/b"):
            t.is_(ask(p, "GET", target).status, 400,
                  "GET %s: 400 (no key, or a '/')" % target)
        t.is_(ask(p, "GET", "/kv/" + "k" * 250).status, 404,
              "a key of 250 bytes is a key (404: absent)")
        t.is_(ask(p, "GET", "/kv/" + "k" * 251).status, 400,
              "a key of 251 bytes: 400")
        r = ask(p, "PUT", "/kv/t", b"x",
                headers=[("Content-Type", "a/" + "b" * 200)])
        t.is_(r.status, 400, "an overlong Content-Type is refused at PUT")
        t.is_(ask(p, "GET", "/kv/t").status, 404, "and nothing was stored")

    with t.block("kv: limits (max_keys 3, max_value 16)"):
        r = ask(p, "PUT", "/kv/big", b"x" * 17)
        t.is_(r.status, 413, "a value of 17 bytes: 413")
        t.is_(ask(p, "GET", "/kv/big").status, 404, "not stored")
        t.is_(ask(p, "PUT", "/kv/big", b"y" * 16).status, 201,
              "16 bytes: 201")
        # Stored now: empty, big.  One more fits.
        t.is_(ask(p, "PUT", "/kv/third", b"3").status, 201,
              "the third key: 201")
        r = ask(p, "PUT", "/kv/fourth", b"4")
        t.is_(r.status, 507, "a fourth key: 507 Insufficient Storage")
        t.is_(ask(p, "GET", "/kv/fourth").status, 404, "not stored")
        t.is_(ask(p, "PUT", "/kv/third", b"33").status, 204,
              "replacing a value in a full store: 204")
        t.is_(ask(p, "PUT", "/kv/third", b"z" * 17).status, 413,
              "an oversized replacement: 413")
        t.is_(ask(p, "GET", "/kv/third").body, b"33",
              "and the old value is kept")
        t.is_(ask(p, "DELETE", "/kv/empty").status, 204, "DELETE one")
        t.is_(ask(p, "PUT", "/kv/fourth", b"4").status, 201,
              "then the fourth key fits")
        r = ask(p, "PUT", "/kv/huge", b"h" * 5000)
        t.is_(r.status, 413,
              "a body over the route's body_limit: the server's 413")


# ---------------------------------------------------------------------------
# timer.so

def waiter(port, target):
    """Sends a GET that waits; returns the connection."""
    c = Conn(port, timeout=SLACK + 10)
    c.send(get(target))
    return c


def test_timer(srv):
    p = srv.port
    with t.block("timer: the timer answers"):
        r, took = timed(p, "GET", "/later?ms=300")
        t.is_((r.status, r.body), (204, b""), "?ms=300: 204 No Content")
        t.cmp_ok(took, ">=", 0.3 - EARLY, "not before 300 ms")
        t.cmp_ok(took, "<", 0.3 + SLACK, "nor long after")
        r, took = timed(p, "GET", "/later")
        t.is_(r.status, 204, "the route's default_ms (200)")
        t.cmp_ok(took, ">=", 0.2 - EARLY, "not before 200 ms")
        t.cmp_ok(took, "<", 0.2 + SLACK, "nor long after")
        r, took = timed(p, "HEAD", "/later?x=1&ms=50")
        t.is_(r.status, 204, "HEAD waits as GET, ms among other parameters")
        t.cmp_ok(took, ">=", 0.05 - EARLY, "not before 50 ms")
        # Requests that wait at once end each after its own time: read in
        # the order they are due, each arrives no sooner than its time.
        start = time.monotonic()
        conns = {ms: waiter(p, "/later/many?ms=%d" % ms)
                 for ms in (400, 100, 250)}
        done = []
        for ms in sorted(conns):
            r = conns[ms].read_response()
            done.append((ms, r.status, round(time.monotonic() - start, 3)))
            conns[ms].close()
        t.ok(all(s == 204 and ms / 1000 - EARLY <= took < ms / 1000 + SLACK
                 for ms, s, took in done),
             "three waits at once (400, 100, 250 ms): each 204 at its time",
             done)
        for target in ("/later?ms=x", "/later?ms=", "/later?ms=-1",
                       "/later?ms=10001"):
            r = ask(p, "GET", target)
            t.is_(r.status, 400, "%s: 400" % target)
        r = ask(p, "PUT", "/later", b"x")
        t.is_((r.status, r.header("Allow")), (405, "GET, HEAD, POST"),
              "PUT: 405 with Allow")

    with t.block("timer: a POST wakes the waiters"):
        chan = [waiter(p, "/later/news?ms=8000") for _ in range(3)]
        other = waiter(p, "/later/other?ms=8000")
        start = time.monotonic()
        # A waiter is on its list once the server has read its request:
        # POST until all three have been woken (each POST wakes those
        # present), a bounded number of times.
        woken = 0
        for _ in range(100):
            r = ask(p, "POST", "/later/news", b'{"n": 1}',
                    headers=[("Content-Type", "application/json")])
            if r.status != 200:
                break
            woken += int(r.body.split()[1])
            if woken >= 3:
                break
            time.sleep(0.05)
        t.is_((r.status, woken), (200, 3), "POST: \"woke N\", 3 in all")
        got = []
        for c in chan:
            r = c.read_response()
            got.append((r.status, r.header("Content-Type"), r.body))
            c.close()
        took = time.monotonic() - start
        t.is_(got, [(200, "application/json", b'{"n": 1}')] * 3,
              "each waiter: 200 with the POST's body and Content-Type")
        t.cmp_ok(took, "<", 8.0, "long before their timers")
        t.ok(other.is_open(0.2), "a waiter on another channel still waits")
        r = ask(p, "POST", "/later/other", b"o")
        t.is_(r.body, b"woke 1\n", "until a POST to its channel")
        r = other.read_response()
        t.is_((r.status, r.header("Content-Type"), r.body),
              (200, "application/octet-stream", b"o"),
              "which it gets (application/octet-stream by default)")
        other.close()
        t.is_(ask(p, "POST", "/later/news", b"late").body, b"woke 0\n",
              "a POST with nobody waiting wakes none")

    with t.block("timer: clients that leave"):
        # A client that closes (FIN), one that resets (RST), and one that
        # only half-closes and still reads.  Each ends its wait at once;
        # nothing is left for a POST to wake, and the server goes on.
        fin = waiter(p, "/later/gone?ms=9000")
        rst = waiter(p, "/later/gone?ms=9000")
        t.ok(fin.is_open(0.3) and rst.is_open(0.01), "two clients wait")
        fin.close()
        rst.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        rst.close()
        half = waiter(p, "/later/gone?ms=9000")
        t.ok(half.is_open(0.3), "a third waits")
        start = time.monotonic()
        half.sock.shutdown(socket.SHUT_WR)
        r = half.read_response()
        half.close()
        t.is_(r.status, 204, "a half-closed client gets 204 at once")
        t.cmp_ok(time.monotonic() - start, "<", SLACK, "(not after 9 s)")
        time.sleep(0.5)
        t.is_(ask(p, "POST", "/later/gone", b"x").body, b"woke 0\n",
              "the waits of clients that left were ended")
        # Many clients leave at once, some just before their timer fires.
        for i in range(20):
            c = waiter(p, "/later/gone?ms=%d" % (i * 5))
            if i % 2:
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", 1, 0))
            c.close()
        time.sleep(0.3)
        r, took = timed(p, "GET", "/later?ms=10")
        t.is_(r.status, 204, "the server keeps answering")
        t.ok(srv.alive(), "server alive")


def test_timer_reload():
    """A reload whose drain deadline passes with requests still waiting:
    the module's abort ends them (503), and the server goes on with the
    new generation."""
    with t.block("timer: abort at a reload's drain deadline"):
        cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
               "workers": 1, "timeouts_ms": {"drain": 300},
               "routes": [route("/later", example("timer"))]}
        with hwtest.Server(config=cfg, name="timer-reload") as srv:
            held = waiter(srv.port, "/later?ms=30000")
            t.ok(held.is_open(0.3), "a request waits")
            srv.send_signal(signal.SIGHUP)
            t.ok(srv.wait_log(r"generation 2 active") is not None,
                 "reload: generation 2 active")
            start = time.monotonic()
            try:
                r = held.read_response(timeout=SLACK)
                what = (r.status, r.body)
            except hwtest.Closed:
                what = "closed"
            held.close()
            t.diag("the held request: %r" % (what,))
            t.ok(what in ((503, b"timer: the route is going away\n"),
                          "closed"),
                 "the held request: 503 from the module's abort, or closed",
                 what)
            t.cmp_ok(time.monotonic() - start, "<", SLACK,
                     "at the deadline, not after 30 s")
            t.ok(srv.wait_log(r"generation 1 drained") is not None,
                 "generation 1 drained")
            r, took = timed(srv.port, "GET", "/later?ms=20")
            t.is_(r.status, 204, "the new generation answers")
            # SIGTERM with a request waiting: fini ends it.
            held = waiter(srv.port, "/later?ms=30000")
            t.ok(held.is_open(0.3), "another request waits")
            hwtest.assert_clean_stop(srv, name="server with a waiter")
            held.close()


# ---------------------------------------------------------------------------
# work.so

def sum_line(data):
    return b"crc32=%08x bytes=%d\n" % (zlib.crc32(data), len(data))


def test_work(srv, files, big):
    p = srv.port
    with t.block("work: checksums"):
        r = ask(p, "GET", "/sum/hello")
        t.is_((r.status, r.header("Content-Type"), r.body),
              (200, "text/plain", b"crc32=3610a686 bytes=5\n"),
              "the CRC-32 of \"hello\" (as zlib's)")
        for name in ("empty", "one", "k100", "m1"):
            r = ask(p, "GET", "/sum/" + name)
            t.is_((r.status, r.body), (200, sum_line(files[name])), name)
        r = ask(p, "HEAD", "/sum/hello")
        t.is_((r.status, r.header("Content-Length"), r.body),
              (200, "23", b""), "HEAD: computed, no body")
        t.is_(ask(p, "GET", "/sum/nope").status, 404, "no such file: 404")
        t.is_(ask(p, "GET", "/sum/subdir").status, 403, "a directory: 403")
        if not hwtest.skip_on_wine("examples/work.c refuses links with "
                                   "O_NOFOLLOW, which Windows has not", 1):
            t.is_(ask(p, "GET", "/sum/link").status, 403,
                  "a symbolic link (it could lead out): 403")
        for target in ("/sum", "/sum/", "/sum/.hidden", "/sum/subdir/x"):
            t.is_(ask(p, "GET", target).status, 400, "%s: 400" % target)
        r = ask(p, "POST", "/sum/hello", b"x")
        t.is_((r.status, r.header("Allow")), (405, "GET, HEAD"),
              "POST: 405 with Allow")

    with t.block("work: many at once"):
        # thread_pool 4: at most 3 module jobs run, the rest wait their
        # turn; every one is answered, each with its own file's sum.
        names = sorted(n for n in files if n.startswith("r"))
        results = {}

        def one(name, i):
            try:
                results[(name, i)] = ask(p, "GET", "/sum/" + name)
            except Exception as e:  # reported below
                results[(name, i)] = e
        threads = [threading.Thread(target=one, args=(n, i))
                   for i in range(2) for n in names]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        bad = [(k, v) for k, v in sorted(results.items())
               if not isinstance(v, hwtest.Response) or
               (v.status, v.body) != (200, sum_line(files[k[0]]))]
        t.is_(len(results), len(threads), "%d requests answered" %
              len(threads))
        t.is_(bad, [], "every answer is its own file's checksum")

    with t.block("work: the loop answers while the pool works"):
        with Conn(p, timeout=60) as slow:
            start = time.monotonic()
            slow.send(get("/sum/big"))
            time.sleep(0.01)
            r, quick = timed(p, "GET", "/kv/third")
            r2 = slow.read_response(timeout=60)
            took = time.monotonic() - start
        t.is_((r2.status, r2.body), (200, sum_line(big)),
              "the big file's checksum (%.2f s)" % took)
        t.is_(r.status, 200, "another route answered meanwhile")
        t.cmp_ok(quick, "<", took, "before the big checksum was done")
        t.diag("big file: %.3f s; a request meanwhile: %.3f s" %
               (took, quick))

    with t.block("work: clients that leave while the work runs"):
        # The work cannot be stopped: its done callback runs anyway, finds
        # the request still valid, and finishes it into the void.
        for _ in range(3):
            c = Conn(p)
            c.send(get("/sum/big"))
            time.sleep(0.02)
            c.close()
        c = Conn(p)
        c.send(get("/sum/m1"))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        c.close()
        r = ask(p, "GET", "/sum/k100")
        t.is_((r.status, r.body), (200, sum_line(files["k100"])),
              "the server answers the next one right")
        t.ok(srv.alive(), "server alive")


# ---------------------------------------------------------------------------
# counter.so (C++)

def test_counter(srv):
    p = srv.port
    with t.block("counter (C++): answers"):
        t.is_(ask(p, "GET", "/count/a").status, 404, "never counted: 404")
        t.is_(ask(p, "POST", "/count/a").body, b"1\n", "POST: 1")
        t.is_(ask(p, "POST", "/count/a?by=41").body, b"42\n", "by=41: 42")
        r = ask(p, "GET", "/count/a")
        t.is_((r.status, r.header("Content-Type"), r.body),
              (200, "text/plain", b"42\n"), "GET: 42")
        t.is_(ask(p, "POST", "/count/b?x=y&by=-5").body, b"-5\n",
              "by=-5 among other parameters: -5")
        t.is_(ask(p, "GET", "/count").body, b"a 42\nb -5\n",
              "GET <prefix>: the counters sorted by name")
        r = ask(p, "HEAD", "/count/b")
        t.is_((r.status, r.header("Content-Length"), r.body),
              (200, "3", b""), "HEAD: no body")
        for q in ("by=", "by=x", "by=1.5", "by=99999999999999999999"):
            r = ask(p, "POST", "/count/a?" + q)
            t.is_(r.status, 400, "%s: 400 (an http_error)" % q)
        t.is_(ask(p, "POST", "/count/c").status, 200, "a third name")
        r = ask(p, "POST", "/count/d")
        t.is_(r.status, 507, "a fourth (max_names 3): 507")
        t.is_(ask(p, "GET", "/count/d").status, 404, "not created")
        r = ask(p, "PUT", "/count/a", b"1")
        t.is_((r.status, r.header("Allow")),
              (405, "GET, HEAD, POST, DELETE"), "PUT: 405 with Allow")
        r = ask(p, "POST", "/count", b"")
        t.is_((r.status, r.header("Allow")), (405, "GET, HEAD"),
              "POST to the list: 405 with Allow")
        t.is_(ask(p, "GET", "/count/a/b").status, 400, "a name with '/'")

    with t.block("counter (C++): an exception nobody expected"):
        mark = len(srv.log_lines())
        r = ask(p, "POST", "/count/a?by=9223372036854775807")
        t.is_(r.status, 500, "42 + INT64_MAX overflows: the host's 500")
        t.ok(srv.wait_log(r"counter: counter a would overflow", 5)
             is not None, "the module logged the exception's message")
        t.ok(any("/count" in line for line in srv.log_lines()[mark:]),
             "and the server's line names the route")
        t.is_(ask(p, "GET", "/count/a").body, b"42\n",
              "the counter is as it was")
        r = ask(p, "POST", "/count/b?by=-9223372036854775807")
        t.is_(r.status, 500, "-5 - INT64_MAX underflows: 500")
        t.is_(ask(p, "POST", "/count/b?by=5").body, b"0\n",
              "the worker lives on: -5 + 5 = 0")
        t.is_(ask(p, "DELETE", "/count/a").status, 204, "DELETE: 204")
        t.is_(ask(p, "GET", "/count/a").status, 404, "then 404")
        t.is_(ask(p, "DELETE", "/count/a").status, 404, "DELETE again: 404")
        t.is_(ask(p, "POST", "/count/d").body, b"1\n",
              "and a new name fits again")


# ---------------------------------------------------------------------------
# Config errors and out-of-tree builds

def test_bad_configs(tmp):
    cases = [
        ("kv", {"max_keys": 0}, r"routes\[0\]\.config\.max_keys",
         r"must be from 1 to 1000000"),
        ("kv", {"max_value": "big"}, r"routes\[0\]\.config\.max_value",
         r"expected an integer"),
        ("kv", {"max_key": 5}, r"routes\[0\]\.config",
         r"unknown key \"max_key\""),
        ("timer", {"max_ms": 1000, "default_ms": 5000},
         r"routes\[0\]\.config\.default_ms", r"must be from 0 to 1000"),
        ("work", {}, r"routes\[0\]\.config\.dir", r"is missing"),
        ("work", {"dir": "files"}, r"routes\[0\]\.config\.dir",
         r"must be an absolute path"),
        ("counter", {"max_names": -1}, r"routes\[0\]\.config\.max_names",
         r"must be from 1 to 1000000"),
    ]
    for i, (name, config, where, why) in enumerate(cases):
        with t.block("bad config of %s %s" % (name, config)):
            path = hwtest.write_config(
                os.path.join(tmp, "bad%d.json" % i),
                {"listen": ["127.0.0.1:0"], "workers": 1,
                 "routes": [route("/x", example(name), config)]})
            rc, out, err = hwtest.check_config(path)
            lines = [x for x in err.splitlines() if x.strip()]
            t.is_(rc, 1, "haywire -t exits 1")
            t.ok(len(lines) == 1, "with one line", err)
            line = lines[0] if lines else ""
            t.like(line, where, "naming the route and key")
            t.like(line, why, "and why")


def test_builds(tmp):
    """Each example builds as an author would build it: include/ alone,
    -Wall -Wextra -Werror, -z defs (install/check-install does the same
    with pkg-config against the installed header)."""
    src = os.path.join(hwtest.SRCDIR, "examples")
    with t.block("out-of-tree builds"):
        for name in ("kv.c", "timer.c", "work.c"):
            rc, out = hwtest.compile_module(
                [os.path.join(src, name)],
                os.path.join(tmp, name[:-2] + ".so"),
                extra=["-Wall", "-Wextra", "-Werror"])
            t.ok(rc == 0, "examples/%s" % name, out)
        cxx = shutil.which("c++")
        if cxx is None:
            t.skip("no c++ compiler", name="examples/counter.cpp")
        else:
            argv = [cxx, "-std=c++17", "-shared", "-fPIC", "-Wall",
                    "-Wextra", "-Werror", "-I",
                    os.path.join(hwtest.SRCDIR, "include"),
                    "-o", os.path.join(tmp, "counter.so"),
                    os.path.join(src, "counter.cpp")]
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=120)
            t.ok(p.returncode == 0, "examples/counter.cpp with c++ -std=c++17",
                 " ".join(argv) + "\n" + p.stdout + p.stderr)


# ---------------------------------------------------------------------------

def make_files(tmp):
    d = os.path.join(tmp, "files")
    os.makedirs(os.path.join(d, "subdir"))
    files = {"hello": b"hello", "empty": b"", "one": b"\x00",
             "k100": os.urandom(100000), "m1": os.urandom(1 << 20),
             ".hidden": b"secret"}
    for i in range(8):
        files["r%d" % i] = os.urandom(1000 + 37000 * i)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    os.symlink(os.path.join(d, "hello"), os.path.join(d, "link"))
    # Large enough that its checksum takes a while (bit by bit, ~300 MB/s
    # without sanitizers), written in pieces.
    big = os.urandom(1 << 20) * 24
    with open(os.path.join(d, "big"), "wb") as f:
        f.write(big)
    return d, files, big


def main():
    tmp = hwtest.make_tmpdir("examples")
    d, files, big = make_files(tmp)
    cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
           "workers": 1, "thread_pool": 4,
           "routes": [
               {"prefix": "/kv", "module": example("kv"),
                "config": {"max_keys": 3, "max_value": 16},
                "body_limit": 4096},
               route("/later", example("timer"),
                     {"default_ms": 200, "max_ms": 10000}),
               route("/sum", example("work"), {"dir": d + "/"}),
               route("/count", example("counter"), {"max_names": 3})]}
    with hwtest.Server(config=cfg, name="examples") as srv:
        test_kv(srv)
        test_timer(srv)
        test_work(srv, files, big)
        test_counter(srv)
        hwtest.assert_clean_stop(srv, name="server")
    test_timer_reload()
    test_bad_configs(tmp)
    test_builds(tmp)


hwtest.run(main)
