#!/usr/bin/env python3
"""The access log against the real server (a master with two workers, and
the single process): JSON lines that json.loads reads, with every field and
the right values (status, bytes both ways, route, module, generation,
worker, a plausible duration, protocol, referer, user agent); combined
lines in Apache's combined format; bytes that are not UTF-8 or are control
characters still give a line that parses; requests refused before routing
(400, 408, 413, 414, 431, 501, 505) are logged with their status, and a
client that leaves before a deferred answer with 499; a route's
"access_log": false keeps its requests out, a route's own object sends them
to its own file; lines appear within about a second with no more traffic,
and at exit; a rotation (rename, then `haywire -s reopen`) sends new lines
to the new file, and 20 of them under load lose no line and split none; a
log that cannot be opened stops start-up and -t with a line naming the key,
as do malformed access_log values; a file that cannot be written
(/dev/full) is reported once and serving goes on; a reload may name
another file."""

import json
import os
import re
import socket
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, route  # noqa: E402

SLOW = 3.0 if hwtest.SAN_CFLAGS else 1.0
FIELDS = ["time", "remote_addr", "host", "method", "target", "protocol",
          "status", "body_bytes", "request_bytes", "duration_us", "referer",
          "user_agent", "route", "module", "generation", "worker", "tls",
          "sni", "alpn"]
COMBINED_RE = re.compile(
    r'^(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
    r'"([^"\\]*(?:\\x[0-9A-F]{2}[^"\\]*)*)" (\d{3}) (\d+) '
    r'"([^"\\]*(?:\\x[0-9A-F]{2}[^"\\]*)*)" '
    r'"([^"\\]*(?:\\x[0-9A-F]{2}[^"\\]*)*)"$')
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def config(d, routes=None, workers=2, log=None, **extra):
    c = {"listen": ["127.0.0.1:0"], "workers": workers,
         "modules_dir": hwtest.MODULES_DIR, "pid_file": "run/hw.pid",
         "access_log": log if log is not None else
         {"path": "logs/access.log", "format": "json"},
         "routes": routes if routes is not None else
         [route("/hello", "hello.so"), route("/echo", "echo.so"),
          route("/delay", "delay.so")]}
    c.update(extra)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    os.makedirs(os.path.join(d, "run"), exist_ok=True)
    return c


def server(c, d):
    return hwtest.Server(config=c, workdir=d)


def raw_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return data.split(b"\n")[:-1] if data else []


def wait_lines(path, n, timeout=3.0 * SLOW):
    """The file's lines once it has at least n (or what it has)."""
    deadline = time.monotonic() + timeout
    while True:
        got = raw_lines(path)
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def parsed(lines):
    out = []
    for line in lines:
        try:
            out.append(json.loads(line.decode("utf-8")))
        except (ValueError, UnicodeDecodeError) as e:
            out.append({"unparsable": repr(line), "error": str(e)})
    return out


def ctl(srv, word):
    return hwtest.run_haywire(["-c", srv.config_path, "-s", word], timeout=60)


def test_json_fields(d):
    path = os.path.join(d, "logs", "access.log")
    with server(config(d), d) as srv:
        with Conn(srv.port) as c:
            req = hwtest.request("GET", "/hello/x?q=1", headers=[
                ("Host", "example.test"), ("Referer", "http://ref.test/a"),
                ("User-Agent", "tester/1.0")])
            c.send(req)
            r1 = c.read_response()
            body = b"0123456789" * 5
            post = hwtest.request("POST", "/echo", headers=[
                ("Host", "example.test")], body=body)
            c.send(post)
            r2 = c.read_response()
            c.send(get("/nowhere", headers=[("Host", "h")], version="1.0"))
            r3 = c.read_response()
        got = parsed(wait_lines(path, 3))
        t.is_(len(got), 3, "three requests, three lines")
        if len(got) < 3:
            return
        a, b, n = got
        t.ok(all(set(x) == set(FIELDS) for x in got),
             "every line has exactly the documented fields",
             [sorted(x) for x in got])
        t.like(a["time"], ISO_RE, "time: UTC ISO-8601 with milliseconds")
        stamp = time.strftime("%Y-%m-%dT", time.gmtime())
        t.ok(a["time"].startswith(stamp), "time is today's (UTC)", a["time"])
        t.is_(a["remote_addr"], "127.0.0.1", "remote_addr without the port")
        t.is_(a["host"], "example.test", "host")
        t.is_(a["method"], "GET", "method")
        t.is_(a["target"], "/hello/x?q=1", "target as sent")
        t.is_(a["protocol"], "HTTP/1.1", "protocol")
        t.is_(a["status"], r1.status, "status")
        t.is_(a["body_bytes"], len(r1.body), "body_bytes: the response body")
        t.is_(a["request_bytes"], len(req), "request_bytes: the head as sent")
        t.is_(a["referer"], "http://ref.test/a", "referer")
        t.is_(a["user_agent"], "tester/1.0", "user_agent")
        t.is_(a["route"], "/hello", "route: the prefix")
        t.is_(a["module"], "hello", "module: its name")
        t.is_(a["generation"], 1, "generation")
        t.ok(a["worker"] in (1, 2), "worker: the slot", a["worker"])
        t.ok(0 <= a["duration_us"] < 2000000 * SLOW, "a plausible duration",
             a["duration_us"])
        t.is_(b["status"], 200, "POST: status")
        t.is_(b["request_bytes"], len(post), "POST: head and body counted")
        t.is_(b["body_bytes"], len(r2.body), "POST: the echo's body")
        t.is_((b["route"], b["module"]), ("/echo", "echo"), "POST: route")
        t.is_(b["referer"], None, "an absent referer is null")
        t.is_((n["status"], n["route"], n["module"]), (404, None, None),
              "no route: 404, route and module null")
        t.is_(n["protocol"], "HTTP/1.0", "HTTP/1.0 said so")
        t.is_(n["body_bytes"], len(r3.body), "the 404's body")
        t.is_(a["worker"], b["worker"], "one connection, one worker")


def test_combined(d):
    path = os.path.join(d, "logs", "c.log")
    c = config(d, log={"path": "logs/c.log"})
    with server(c, d) as srv:
        with Conn(srv.port) as conn:
            conn.send(hwtest.request("GET", "/hello?a=%22b", headers=[
                ("Host", "h"), ("Referer", "http://r/"),
                ("User-Agent", 'ua "quoted" \\ back')]))
            r = conn.read_response()
            conn.send(get("/nope"))
            conn.read_response()
        got = wait_lines(path, 2)
        t.is_(len(got), 2, "combined: two lines")
        ms = [COMBINED_RE.match(x.decode("ascii", "replace")) for x in got]
        t.ok(all(ms), "combined: Apache's combined format", *got)
        if all(ms) and len(ms) == 2:
            m = ms[0]
            t.is_(m.group(1), "127.0.0.1", "combined: remote address")
            t.is_(m.group(3), "GET /hello?a=%22b HTTP/1.1",
                  "combined: the request line")
            t.is_((m.group(4), m.group(5)), ("200", str(len(r.body))),
                  "combined: status and body bytes")
            t.is_(m.group(6), "http://r/", "combined: referer")
            t.is_(m.group(7), 'ua \\x22quoted\\x22 \\x5C back',
                  "combined: the user agent escaped as nginx does")
            t.is_(ms[1].group(6), "-", "combined: no referer is -")


def test_bad_bytes(d):
    path = os.path.join(d, "logs", "access.log")
    with server(config(d), d) as srv:
        sent = [
            b"GET /hello HTTP/1.1\r\nHost: h\r\nUser-Agent: a\xff\xc0\xafz"
            b"\xc3\xa9\r\n\r\n",
            b"GET /hel\x01lo\xff HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET /hello HTTP/1.1\r\nHost: h\r\nUser-Agent: a\x01b\r\n\r\n",
        ]
        statuses = []
        for s in sent:
            with Conn(srv.port) as c:
                c.send(s)
                statuses.append(c.read_response().status)
        got = parsed(wait_lines(path, 3))
        t.is_(len(got), 3, "odd bytes: a line per request")
        t.ok(all("unparsable" not in x for x in got),
             "every line parses as JSON", *got)
        byua = [x for x in got if x.get("status") == 200]
        t.is_(statuses, [200, 400, 400], "statuses as expected")
        if byua:
            t.is_(byua[0]["user_agent"], "a\u00ff\u00c0\u00afz\u00e9",
                  "invalid UTF-8 escaped byte by byte, valid kept")


def test_refusals(d):
    path = os.path.join(d, "logs", "access.log")
    c = config(d, limits={"body": 10, "request_line": 64, "header_bytes": 64},
               timeouts_ms={"head": 300})
    cases = [
        (b"BAD\x01 / HTTP/1.1\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n",
         413),
        (b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: h\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"b" * 100 + b"\r\n\r\n",
         431),
        (b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, "
         b"chunked\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        (b"GET /hello HTTP/1.1\r\nHost: h\r\n", 408),
    ]
    with server(c, d) as srv:
        answers = []
        for data, _ in cases:
            with Conn(srv.port) as conn:
                conn.send(data)
                try:
                    answers.append(conn.read_response(timeout=5).status)
                except (OSError, hwtest.ProtocolError) as e:
                    answers.append(repr(e))
        t.is_(answers, [s for _, s in cases], "the refusals are answered")
        got = parsed(wait_lines(path, len(cases)))
        logged = sorted(x.get("status") for x in got)
        t.is_(logged, sorted(s for _, s in cases),
              "each refusal is logged with its status")
        t.ok(all(x.get("route") is None for x in got
                 if x.get("status") != 413),
             "refused before routing: no route (413 comes after it)", got)


def test_499(d):
    path = os.path.join(d, "logs", "access.log")
    with server(config(d), d) as srv:
        # The timing below is the request's: a connection that waited in a
        # backlog for a worker still starting (slow under the sanitizers)
        # would begin only when its client had already gone.
        for slot in (1, 2):
            srv.wait_log(r"worker %d \(pid \d+\) serving generation" % slot,
                         10 * SLOW)
        with Conn(srv.port) as c:
            c.send(get("/delay/x?ms=400"))
            time.sleep(0.1)
            # An abortive close: the connection is gone.  (A FIN alone may
            # be a half-close, and the answer is still written.)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              b"\x01\x00\x00\x00\x00\x00\x00\x00")
        got = parsed(wait_lines(path, 1, 4 * SLOW))
        t.is_([(x.get("status"), x.get("route")) for x in got],
              [(499, "/delay")],
              "a client that went away before the answer: 499")
        t.ok(got and 50000 <= got[0].get("duration_us", 0) < 400000,
             "logged when its module, told, finished it (before its time)",
             got)
        # A plain close (FIN) while the answer is being made: the client
        # gave up waiting, as nginx's 499 says.
        c = Conn(srv.port)
        c.send(get("/delay/fin?ms=400"))
        time.sleep(0.1)
        c.close()
        got = parsed(wait_lines(path, 2, 4 * SLOW))[1:]
        t.is_([(x.get("status"), x.get("target"), x.get("body_bytes"))
               for x in got], [(499, "/delay/fin?ms=400", 0)],
              "a client that closed (FIN) while it waited: 499")


def test_routes(d):
    own = os.path.join(d, "logs", "own.log")
    main = os.path.join(d, "logs", "access.log")
    c = config(d, routes=[
        dict(route("/health", "hello.so"), access_log=False),
        dict(route("/own", "hello.so"),
             access_log={"path": "logs/own.log", "format": "combined"}),
        route("/hello", "hello.so")])
    with server(c, d) as srv:
        with Conn(srv.port) as conn:
            for p in ("/health", "/own/x", "/hello", "/health"):
                conn.send(get(p))
                t.is_(conn.read_response().status, 200, "GET %s" % p)
        mine = wait_lines(own, 1)
        top = parsed(wait_lines(main, 1))
        time.sleep(1.2 * SLOW)
        t.is_([x.get("target") for x in parsed(raw_lines(main))], ["/hello"],
              "access_log false keeps /health out; /own goes elsewhere")
        t.is_(len(raw_lines(own)), 1, "the route's own file has its line")
        t.ok(mine and COMBINED_RE.match(mine[0].decode()),
             "in the route's own format", mine)
        t.ok(top, "the top-level file has the rest")


def test_buffering(d):
    path = os.path.join(d, "logs", "access.log")
    with server(config(d, workers=0), d) as srv:
        early = None
        for _ in range(3):
            n = len(raw_lines(path))
            hwtest.one(srv.port, get("/hello"))
            early = len(raw_lines(path)) - n
            if early == 0:
                break  # (a flush right after an answer can happen, rarely)
        t.is_(early, 0, "a line is not written with its response")
        t0 = time.monotonic()
        got = wait_lines(path, n + 1)
        took = time.monotonic() - t0
        t.ok(len(got) == n + 1 and took < 1.6 * SLOW,
             "it is written within about a second, no more traffic needed",
             "took %.2f s, %d lines" % (took, len(got)))
        for _ in range(5):
            hwtest.one(srv.port, get("/hello"))
        t.is_(srv.stop(), 0, "stopped")
        t.is_(len(raw_lines(path)), n + 6, "the rest is written at exit")
        t.is_(raw_lines(path)[-1][-1:], b"}", "the last line whole")


def test_rotation(d):
    path = os.path.join(d, "logs", "access.log")
    with server(config(d), d) as srv:
        t.ok(all(srv.wait_log(r"worker %d \(pid \d+\) serving" % k, 10 * SLOW)
                 for k in (1, 2)), "two workers")
        for _ in range(4):
            hwtest.one(srv.port, get("/hello/before"))
        wait_lines(path, 4)
        os.rename(path, path + ".1")
        rc, out, err = ctl(srv, "reopen")
        t.ok(rc == 0, "haywire -s reopen", err)
        usr1 = hwtest.log_name(signal.SIGUSR1)
        t.ok(all(srv.wait_log(r"worker %d: %s: 1 access log file\(s\) "
                              r"reopened" % (k, usr1), 10 * SLOW)
                 for k in (1, 2)),
             "both workers reopened their file")
        for _ in range(4):
            hwtest.one(srv.port, get("/hello/after"))
        new = parsed(wait_lines(path, 4))
        old = parsed(raw_lines(path + ".1"))
        t.is_([x.get("target") for x in old], ["/hello/before"] * 4,
              "the renamed file has the lines from before")
        t.is_([x.get("target") for x in new], ["/hello/after"] * 4,
              "the reopened path has the lines from after")
        t.ok(srv.alive(), "still serving")


def test_rotation_load(d):
    path = os.path.join(d, "logs", "access.log")
    c = config(d, routes=[route("/hello", "hello.so")])
    with server(c, d) as srv:
        t.ok(all(srv.wait_log(r"worker %d \(pid \d+\) serving" % k, 10 * SLOW)
                 for k in (1, 2)), "two workers")
        stop = threading.Event()
        answered = [0] * 4
        errors = []

        def client(i):
            try:
                while not stop.is_set():
                    with Conn(srv.port) as conn:
                        for _ in range(50):
                            conn.send(get("/hello"))
                            if conn.read_response().status == 200:
                                answered[i] += 1
                            if stop.is_set():
                                break
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(4)]
        for th in threads:
            th.start()
        rcs = []
        for k in range(1, 21):
            time.sleep(0.1)
            os.rename(path, "%s.%d" % (path, k))
            rcs.append(ctl(srv, "reopen")[0])
        time.sleep(0.2)
        stop.set()
        for th in threads:
            th.join(30)
        t.is_(errors, [], "the clients saw no error")
        t.is_(rcs, [0] * 20, "20 rotations, each -s reopen exit 0")
        t.is_(srv.stop(), 0, "stopped")
        files = [path] + ["%s.%d" % (path, k) for k in range(1, 21)]
        lines = [x for f in files for x in raw_lines(f)]
        bad = [x for x in parsed(lines) if "unparsable" in x]
        t.is_(len(lines), sum(answered),
              "lines in all the files == answers the clients got "
              "(%d requests)" % sum(answered))
        t.is_(bad[:3], [], "no line is partial")
        used = sum(1 for f in files[1:] if raw_lines(f))
        t.ok(used >= 15, "lines spread over the rotated files", used)


def test_open_errors(d):
    c = config(d, log={"path": "nodir/sub/access.log"})
    hwtest.write_config(os.path.join(d, "bad.json"), c)
    rc, out, err = hwtest.run_haywire(["-c", os.path.join(d, "bad.json"),
                                       "-t"])
    t.is_(rc, 1, "-t: a log that cannot be opened is an error")
    t.like(err, r"bad\.json: access_log\.path: .*nodir/sub/access\.log: "
           r"No such file or directory", "naming the key and the path")
    t.ok(len(err.strip().splitlines()) == 1, "in one line", err)
    # -t checks that a log can be made, without making it: run as root
    # before the first start, it would leave a file the server's own user
    # could not open.
    os.makedirs(os.path.join(d, "fresh"), exist_ok=True)
    c3 = config(d, log={"path": "fresh/access.log"})
    hwtest.write_config(os.path.join(d, "fresh.json"), c3)
    rc, out, err = hwtest.run_haywire(["-c", os.path.join(d, "fresh.json"),
                                       "-t"])
    t.is_(rc, 0, "-t: a log that does not exist yet in a writable directory")
    t.ok(not os.path.exists(os.path.join(d, "fresh", "access.log")),
         "-t does not create the log file")
    if os.geteuid() != 0:
        os.chmod(os.path.join(d, "fresh"), 0o500)
        rc, out, err = hwtest.run_haywire(["-c", os.path.join(d, "fresh.json"),
                                           "-t"])
        os.chmod(os.path.join(d, "fresh"), 0o700)
        t.ok(rc == 1 and "Permission denied" in err,
             "-t: a directory the user cannot write in is an error", err)
    else:
        t.skip("run as root: every directory is writable")
    c2 = config(d, routes=[dict(route("/a", "hello.so"),
                                access_log={"path": "/proc/nope/x.log"})])
    hwtest.write_config(os.path.join(d, "bad2.json"), c2)
    rc, out, err = hwtest.run_haywire(["-c", os.path.join(d, "bad2.json"),
                                       "--pid-file",
                                       os.path.join(d, "run", "x.pid")])
    t.is_(rc, 1, "start-up: it does not start")
    t.like(err, r"routes\[0\]\.access_log\.path: /proc/nope/x\.log:",
           "naming the route's key")


def test_bad_values(d):
    cases = [
        (True, r"access_log: must be false or \{"),
        ("on", r"access_log: must be false or"),
        ({"format": "json"}, r"access_log\.path: missing"),
        ({"path": ""}, r"access_log\.path: must be a non-empty string"),
        ({"path": 3}, r"access_log\.path: must be a non-empty string"),
        ({"path": "a.log", "format": "clf"},
         r"access_log\.format: must be \"combined\" or \"json\""),
        ({"path": "a.log", "buffer": "64k"}, r"access_log\.buffer: unknown key"),
    ]
    for i, (v, want) in enumerate(cases):
        p = os.path.join(d, "v%d.json" % i)
        hwtest.write_config(p, config(d, log=v))
        rc, out, err = hwtest.run_haywire(["-c", p, "-t"])
        t.ok(rc == 1 and re.search(want, err) and
             len(err.strip().splitlines()) == 1,
             "-t refuses access_log %s in one line naming the key" %
             json.dumps(v), err)
    p = os.path.join(d, "vr.json")
    hwtest.write_config(p, config(d, routes=[
        dict(route("/a", "hello.so"), access_log=True)]))
    rc, out, err = hwtest.run_haywire(["-c", p, "-t"])
    t.like(err, r"routes\[0\]\.access_log: must be false or",
           "a route's bad value names routes[0].access_log")


def test_dev_full(d):
    c = config(d, workers=1, log={"path": "/dev/full"})
    with server(c, d) as srv:
        statuses = []
        for _ in range(3):
            for _ in range(5):
                statuses.append(hwtest.one(srv.port, get("/hello")).status)
            time.sleep(1.2 * SLOW)
        t.is_(statuses, [200] * 15, "served while the log cannot be written")
        m = srv.wait_log(r"access log /dev/full: write: No space left", 3)
        t.ok(m, "a write failure is reported")
        n = len([x for x in srv.log_lines() if "access log /dev/full" in x])
        t.is_(n, 1, "once, over three failed flushes")
        t.ok(srv.alive(), "still serving")


def test_reload(d):
    p1 = os.path.join(d, "logs", "access.log")
    p2 = os.path.join(d, "logs", "second.log")
    c = config(d, workers=1)
    with server(c, d) as srv:
        hwtest.one(srv.port, get("/hello/one"))
        c["access_log"] = {"path": "logs/second.log", "format": "json"}
        hwtest.write_config(srv.config_path, c)
        rc, out, err = ctl(srv, "reload")
        t.ok(rc == 0, "reload to another log file", err)
        hwtest.one(srv.port, get("/hello/two"))
        a = parsed(wait_lines(p1, 1))
        b = parsed(wait_lines(p2, 1))
        t.is_([(x.get("target"), x.get("generation")) for x in a],
              [("/hello/one", 1)], "generation 1 logged to the first file")
        t.is_([(x.get("target"), x.get("generation")) for x in b],
              [("/hello/two", 2)], "generation 2 to the one it names")
        c["access_log"] = {"path": "nodir/x.log"}
        hwtest.write_config(srv.config_path, c)
        rc, out, err = ctl(srv, "reload")
        t.ok(rc == 1 and "access_log.path" in (out + err),
             "a reload naming a log it cannot open fails, naming the key",
             out, err)


def main():
    tests = [test_json_fields, test_combined, test_bad_bytes, test_refusals,
             test_499, test_routes, test_buffering, test_rotation,
             test_rotation_load, test_open_errors, test_bad_values,
             test_dev_full, test_reload]
    only = sys.argv[1:]
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        with t.block(fn.__name__):
            fn(hwtest.make_tmpdir(fn.__name__[5:]))


if __name__ == "__main__":
    hwtest.run(main)
