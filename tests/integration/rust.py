#!/usr/bin/env python3
"""The example Rust module (examples/rust.so, which make check builds with
cargo from examples/rust on the SDK crate sdk/rust) in the real server: the
greeting from the route's config, the request's path and query echoed, HEAD
answered as GET, 405 with Allow for other methods, a declined request
reaching the shorter prefix; a panic in handle is a 500 and the same worker
goes on serving (the SDK's catch_unwind), logged as one line with its place
and at most once a second however many a client causes; an Err is a 500
too; a bad config (a greeting that is no string, a misspelt key) or a panic
in init fails `haywire -t` and start-up with one line naming the route and
key, never a crash.

Skipped when configure found no cargo (nothing was built)."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
_HERE = os.path.dirname(os.path.abspath(__file__))
_BUILD = os.path.abspath(os.environ.get("HW_BUILDDIR") or
                         os.path.join(_HERE, "..", ".."))
SO = os.path.join(_BUILD, "examples", "rust.so")
if not os.environ.get("HW_CARGO") and not os.path.exists(SO):
    print("1..0 # SKIP examples/rust.so not built: configure found no cargo")
    sys.exit(0)

sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, request, route  # noqa: E402

GREETING = "Grüß dich, from the route's config"


def body_for(path, query):
    return ("%s\npath: %s\nquery: %s\n" % (GREETING, path, query)).encode()


def worker_pid(port):
    """The pid of the worker that answers (echo.so says it)."""
    return hwtest.one(port, get("/echo")).header("X-Worker")


def test_serving():
    routes = [route("/rust", SO, {"greeting": GREETING}),
              route("/echo", "echo.so"),
              route("/", "hello.so")]
    with hwtest.Server(routes=routes, name="rust") as srv:
        with t.block("GET"):
            r = hwtest.one(srv.port, get("/rust/some/where?x=1&y=%20z"))
            t.is_(r.status, 200, "200")
            t.is_(r.header("Content-Type"), "text/plain; charset=utf-8",
                  "Content-Type")
            t.is_(r.body, body_for("/rust/some/where", "x=1&y=%20z"),
                  "the greeting from the config, the path and the query")
            r = hwtest.one(srv.port, get("/rust"))
            t.is_(r.body, body_for("/rust", ""), "the prefix itself, no query")

        with t.block("HEAD"):
            with Conn(srv.port) as c:
                c.send(request("HEAD", "/rust/h?q"))
                r = c.read_response(head=True)
            t.is_((r.status, r.header("Content-Length"), r.body),
                  (200, str(len(body_for("/rust/h", "q"))), b""),
                  "answered as GET: the length, no body")

        with t.block("other methods"):
            for method in ("POST", "DELETE", "BREW"):
                r = hwtest.one(srv.port, request(method, "/rust/x",
                                                 body="data"))
                t.is_((r.status, r.header("Allow")), (405, "GET, HEAD"),
                      "%s: 405 with Allow" % method)

        with t.block("declined"):
            r = hwtest.one(srv.port, get("/rust/decline"))
            t.is_((r.status, r.body), (200, b"Hello, World!"),
                  "the route with the next shorter prefix answers")

        with t.block("a panic in handle"):
            pid = worker_pid(srv.port)
            t.ok(pid, "echo.so names its worker", pid)
            with Conn(srv.port) as c:
                c.send(get("/rust/panic"))
                r = c.read_response()
            t.is_(r.status, 500, "500")
            t.unlike(r.body, r"deliberate", "the panic's text stays out of "
                     "the answer")
            r = hwtest.one(srv.port, get("/rust/after?ok"))
            t.is_((r.status, r.body), (200, body_for("/rust/after", "ok")),
                  "the module answers the next request")
            t.is_(worker_pid(srv.port), pid, "from the same worker process")
            m = srv.wait_log(r"rust_example: handle panicked at (\S+): "
                             r"deliberate panic for /rust/panic")
            t.ok(m and re.search(r"src/lib\.rs:\d+:\d+$", m.group(1)),
                 "logged by the SDK with the panic's place",
                 m.group(0) if m else "no such line")
            t.ok(srv.wait_log(r'route /rust \(routes\[0\], module '
                              r'"rust_example", rust\.so\): handle returned '
                              r'HW_ERROR: answered 500'),
                 "and by the server, naming the route")
            t.unlike(srv.log(), r"thread '.*' panicked|stack backtrace",
                     "no multi-line Rust panic report in the log")

        with t.block("an Err from handle"):
            time.sleep(1.1)   # past the second the panic's report holds
            r = hwtest.one(srv.port, get("/rust/error"))
            t.is_(r.status, 500, "500")
            t.ok(srv.wait_log(r"rust_example: handle failed: deliberate "
                              r"error$"), "logged with its message")

        with t.block("a client causing panics at will"):
            time.sleep(1.1)
            before = len(re.findall(r"handle panicked", srv.log()))
            statuses = set()
            with Conn(srv.port) as c:
                for _ in range(100):
                    c.send(get("/rust/panic"))
                    statuses.add(c.read_response().status)
            t.is_(statuses, {500}, "100 panics, 100 answers of 500 on one "
                  "connection")
            r = hwtest.one(srv.port, get("/rust/still"))
            t.is_(r.status, 200, "the module still answers")
            after = len(re.findall(r"handle panicked", srv.log()))
            t.cmp_ok(after - before, "<=", 3,
                     "at most one line a second in the log")
            t.is_(worker_pid(srv.port), pid, "the same worker throughout")
        hwtest.assert_clean_stop(srv, name="server")


def test_bad_configs(tmp):
    # (name, the route's config, [(what the line must name, pattern)])
    cases = [
        ("greeting not a string", {"greeting": 42},
         [("the key", r"routes\[0\]\.config\.greeting"),
          ("the type wanted", r"(?i)string")]),
        ("misspelt key", {"gretting": "hi"},
         [("the key", r"routes\[0\]\.config: unknown key \"gretting\"")]),
        ("panic in init", {"panic_in_init": True},
         [("the panic, its place, its message",
           r"rust_example: init panicked at \S*src/lib\.rs:\d+:\d+: "
           r"panic_in_init is set")]),
    ]
    for name, conf, patterns in cases:
        cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
               "workers": 1, "routes": [route("/rust", SO, conf)]}
        path = hwtest.write_config(
            os.path.join(tmp, name.replace(" ", "_") + ".json"), cfg)
        with t.block(name + " (-t)"):
            rc, out, err = hwtest.check_config(path)
            lines = [line for line in err.splitlines() if line.strip()]
            t.is_(rc, 1, "exits 1 (not a signal)")
            t.ok(len(lines) == 1, "one line on stderr", err)
            for what, p in patterns:
                t.like(lines[0] if lines else "", p, "names " + what)
        with t.block(name + " (start-up)"):
            rc, out, err = hwtest.run_haywire(
                ["-c", path, "--listen", "127.0.0.1:0"])
            t.is_(rc, 1, "exits 1")
            t.like(err, patterns[0][1], "the log says why")
            t.unlike(err, r"listening on", "never listens")


def main():
    if not os.path.exists(SO):
        t.fail("examples/rust.so exists (make check builds it when "
               "configure found cargo)", SO)
        return
    test_serving()
    test_bad_configs(hwtest.make_tmpdir("rust"))


hwtest.run(main)
