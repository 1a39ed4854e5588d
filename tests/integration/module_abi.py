#!/usr/bin/env python3
"""The module ABI at 1.2, against the real server: a module built against
the frozen 1.1 header loads and works; a C++ module exports its descriptor
and keeps its exceptions; host() and log_str(); the config accessors refuse
outside init; a config value of the wrong type, and a module whose init
crashes, cost one line naming the route and the file (from `-t`, from
start-up, and the server keeps running on a reload); HW_ERROR and results
outside the enum are logged with the route, at most once a second."""

import os
import re
import resource
import subprocess
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, get, request, route, fixture, module  # noqa: E402

# The host's minor, as the header the server was built with says.
with open(os.path.join(hwtest.SRCDIR, "include", "haywire.h")) as _h:
    HOST_MINOR = int(re.search(r"^#define HW_ABI_MINOR (\d+)$", _h.read(),
                               re.M).group(1))


def test_abi11():
    """A module of ABI 1.1 (tests/abi/haywire-1.1.h) under the 1.3 host."""
    routes = [route("/old", fixture("abi11"))]
    with t.block("ABI 1.1 module"):
        with hwtest.Server(routes=routes, name="abi11") as srv:
            r = hwtest.one(srv.port, request(
                "POST", "/old/x?q=1", headers=[("X-A", "aa")], body=b"hey"))
            t.is_(r.status, 200, "answers 200")
            t.is_(r.body, b"host=1.%d method=POST path=/old/x query=q=1 "
                  b"x=aa body=hey" % HOST_MINOR, "sees the request as a 1.1 "
                  "module should, under a host of minor %d" % HOST_MINOR)
            t.is_(r.header("X-Abi"), "1.1", "its prepared header (1.1)")
            with hwtest.Conn(srv.port) as c:
                c.send(get("/old/defer") + get("/old/now"))
                a = c.read_response()
                b = c.read_response()
            t.is_((a.status, a.body), (200, b"host=1.%d method=GET "
                  b"path=/old/defer query= x=- body=" % HOST_MINOR),
                  "a deferred answer finished by its own timer")
            t.is_(b.body[:31],
                  b"host=1.%d method=GET path=/old/n" % HOST_MINOR,
                  "and the pipelined request behind it, in order")
            hwtest.assert_clean_stop(srv, name="server")


def test_abi12():
    """behave.c built against the frozen 1.2 header (tests/abi/1.2) under
    the 1.3 host: its descriptor is the 1.2 one, its calls land."""
    routes = [route("/b12", fixture("abi12"), {"name": "b12"})]
    with t.block("ABI 1.2 module"):
        with hwtest.Server(routes=routes, name="abi12") as srv:
            r = hwtest.one(srv.port, get("/b12/host", headers=[
                ("Host", "h.example")]))
            t.is_((r.status, r.header("X-Behave"), r.body),
                  (200, "b12", b"h.example"),
                  "config read with the 1.2 accessors; host() answers")
            r = hwtest.one(srv.port, get("/b12/ref"))
            t.is_(r.body, b"referenced;copied;static",
                  "referenced and copied writes, in order")
            hwtest.assert_clean_stop(srv, name="server")


def test_cxx(d):
    routes = [route("/cxx", fixture("cxx_module"),
                    {"greeting": "hi", "words": ["from", "C++"]})]
    with t.block("C++ module"):
        with hwtest.Server(routes=routes, name="cxx") as srv:
            r = hwtest.one(srv.port, get("/cxx"))
            t.is_((r.status, r.body), (200, b"hi from C++\n"),
                  "the descriptor is exported from C++; config read")
            for what, note in (("/cxx/throw", "cxx: handle threw"),
                               ("/cxx/throw_int",
                                "cxx: handle threw a non-exception")):
                r = hwtest.one(srv.port, get(what))
                t.is_(r.status, 500, "GET %s: an exception becomes 500"
                      % what)
                t.ok(srv.wait_log(re.escape(note), 5) is not None,
                     "the module logged %r through log_str" % note)
            t.ok(srv.wait_log(r"route /cxx \(routes\[0\], module \"cxx\", "
                              r"cxx_module\.(?:so|dll)\): handle returned HW_ERROR",
                              5) is not None,
                 "the host logged the route of the HW_ERROR")
            r = hwtest.one(srv.port, get("/cxx"))
            t.is_(r.status, 200, "the worker is still serving")
            hwtest.assert_clean_stop(srv, name="server")
    with t.block("C++ module: init"):
        cfg = {"listen": ["127.0.0.1:0"], "workers": 1,
               "routes": [route("/cxx", fixture("cxx_module"),
                                {"throw_in_init": True})]}
        path = hwtest.write_config(os.path.join(d, "cxx_throw.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 1, "-t exits 1 when init throws")
        t.like(err, r"routes\[0\]\.config: .*cxx_module\.(?:so|dll): init failed: "
               r"cxx: init threw, as its config asked",
               "the exception's message, caught in init, is the reason")
        cfg["routes"][0]["config"] = {"words": ["a", 7]}
        path = hwtest.write_config(os.path.join(d, "cxx_words.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 1, "-t exits 1 for a word that is no string")
        t.like(err, r"^haywire: %s: routes\[0\]\.config\.words\[1\]: "
               r"expected a string, not an integer \(.*cxx_module\.(?:so|dll): "
               r"init failed\)$" % re.escape(path),
               "the accessor's line names the element")


def test_host_log_late():
    routes = [route("/b", fixture("behave"), {"name": "b"})]
    with t.block("host(), log_str(), accessors after init"):
        with hwtest.Server(routes=routes, name="hostfn") as srv:
            r = hwtest.one(srv.port, get("/b/host", headers=[
                ("Host", "Www.Example:8080")]))
            t.is_(r.body, b"Www.Example:8080", "host(): the Host field")
            r = hwtest.one(srv.port, get("http://a.example/b/host",
                                         headers=[("Host", "b.example")]))
            t.is_(r.body, b"a.example",
                  "host(): an absolute-form target's authority")
            r = hwtest.one(srv.port, request(
                "GET", "/b/host", version="1.0", host=None))
            t.is_((r.status, r.body), (200, b""),
                  "host(): empty for HTTP/1.0 without Host")
            r = hwtest.one(srv.port, get("/b/log_str"))
            t.is_(r.body, b"logged", "log_str answered")
            m = srv.wait_log(r"behave: a line through log_str.*", 5)
            t.ok(m is not None and "not this" not in m.group(0),
                 "log_str logs exactly the bytes given (no NUL needed)",
                 m and m.group(0))
            r = hwtest.one(srv.port, get("/b/late_conf"))
            t.is_(r.body, b"config=NULL find=NULL at=NULL type=0 count=0 "
                  b"string=-71 int=-71 number=-71 bool=-71 keys=-71 "
                  b"error=-71 err=\"\"",
                  "after init every accessor refuses: HW_ESTATE, NULL, 0")
            hwtest.assert_clean_stop(srv, name="server")


def test_failures_logged():
    routes = [route("/b", fixture("behave")),
              route("/c", fixture("behave"), {"name": "c"})]
    with t.block("HW_ERROR and bad results are logged"):
        with hwtest.Server(routes=routes, name="errlog") as srv:
            r = hwtest.one(srv.port, get("/c/bogus"))
            t.is_(r.status, 500, "a result outside the enum: 500")
            t.ok(srv.wait_log(r"route /c \(routes\[1\], module \"behave\", "
                              r"behave\.(?:so|dll)\): handle returned 7, which is no "
                              r"hw_handle_result: answered 500", 5)
                 is not None, "logged with route, index, module and file")
            # Many failures within a second: one line, then a line with
            # the count of those not reported.
            start = time.monotonic()
            with hwtest.Conn(srv.port) as c:
                for _ in range(50):
                    c.send(get("/b/error"))
                    if c.read_response().status != 500:
                        break
            burst = time.monotonic() - start
            first = srv.wait_log(r"route /b .*returned HW_ERROR: answered "
                                 r"500$", 5)
            t.ok(first is not None, "the first HW_ERROR of /b is logged")
            if burst < 0.9:
                n = sum(1 for x in srv.log_lines() if "route /b " in x)
                t.is_(n, 1, "50 failures within %.2f s: one line" % burst)
            else:
                t.skip("the burst took %.2f s (a slow machine)" % burst)
            time.sleep(1.1)
            hwtest.one(srv.port, get("/b/error"))
            t.ok(srv.wait_log(r"route /b .*returned HW_ERROR: answered 500 "
                              r"\(and \d+ more since the last report\)", 5)
                 is not None, "a second later: one line with the count")
            t.is_(sum(1 for x in srv.log_lines() if "route /c " in x), 1,
                  "each route has its own budget")
            hwtest.assert_clean_stop(srv, name="server")


def test_config_errors(d):
    crash = fixture("init_crash")
    cases = [
        ("hello body is a number",
         [route("/hello", module("hello"), {"body": 5})],
         r"routes\[0\]\.config\.body: expected a string, not an integer "
         r"\(.*hello\.(?:so|dll): init failed\)$"),
        ("delay ms out of range",
         [route("/d", module("delay"), {"ms": -1})],
         r"routes\[0\]\.config\.ms: must be from 0 to 600000 "
         r"\(.*delay\.(?:so|dll): init failed\)$"),
        ("echo takes no key",
         [route("/e", module("echo"), {"pretty": True})],
         r"routes\[0\]\.config: unknown key \"pretty\" "
         r"\(.*echo\.(?:so|dll): init failed\)$"),
        ("init crashes",
         [route("/hello", module("hello")), route("/crash", crash)],
         r"routes\[1\]\.config: %s: init %s "
         r"\(route /crash\)$" % (re.escape(crash), hwtest.CRASHED_SEGV)),
    ]
    for name, routes, pat in cases:
        cfg = {"listen": ["127.0.0.1:0"], "workers": 1, "routes": routes}
        path = hwtest.write_config(
            os.path.join(d, name.replace(" ", "_") + ".json"), cfg)
        with t.block(name + " (-t)"):
            rc, out, err = hwtest.check_config(path)
            lines = [x for x in err.splitlines() if x.strip()]
            t.is_(rc, 1, "exits 1 (not killed by a signal)")
            t.is_(len(lines), 1, "one line")
            t.like(lines[0] if lines else "",
                   r"^haywire: %s: " % re.escape(path) + pat,
                   "names the file, the route and why")
        for workers in (0, 1):
            with t.block("%s (start-up, %d workers)" % (name, workers)):
                rc, out, err = hwtest.run_haywire(
                    ["-c", path, "--workers", str(workers), "--listen",
                     "127.0.0.1:0"], timeout=15)
                t.is_(rc, 1, "exits 1")
                t.like(err, pat.rstrip("$"), "the log names the route")
                t.unlike(err, r"listening on", "never listens")


def test_reload_crash(d):
    crash = fixture("init_crash")
    with t.block("a reload whose init crashes"):
        routes = [route("/hello", module("hello"), {"body": "A"})]
        with hwtest.Server(routes=routes, name="rlcrash") as srv:
            cfg = dict(srv.config)
            cfg["routes"] = routes + [route("/crash", crash)]
            hwtest.write_config(srv.config_path, cfg)
            srv.send_signal(signal.SIGHUP)
            m = srv.wait_log(r"reload failed: .*", 15)
            t.like(m.group(0) if m else "",
                   r"routes\[1\]\.config: %s: init %s \(route /crash\)"
                   % (re.escape(crash), hwtest.CRASHED_SEGV),
                   "the preflight names the route and file")
            r = hwtest.one(srv.port, get("/hello"))
            t.is_((r.status, r.body), (200, b"A"), "still serving")
            hwtest.assert_clean_stop(srv, name="server")


def readme_module():
    """The C example of the README's "Write your own module"."""
    with open(os.path.join(hwtest.SRCDIR, "README.md")) as f:
        text = f.read()
    sec = text.split("## Write your own module", 1)[-1]
    m = re.search(r"```c\n(.*?)```", sec, re.S)
    return m.group(1) if m else None


def test_readme_example(d):
    """The README's module compiles against include/ alone and behaves as
    the README says."""
    with t.block("the README's module"):
        src = readme_module()
        if not t.ok(src is not None, "README has the example"):
            return
        so = os.path.join(d, "greet" + hwtest.MODULE_EXT)
        rc, out = hwtest.compile_module(
            [hwtest.write_config(os.path.join(d, "greet.c"), src)], so)
        if not t.is_(rc, 0, "it compiles with -Wl,-z,defs"):
            t.diag(out)
            return
        routes = [route("/greet", so, {"greeting": "hi\n"}),
                  route("/plain", so)]
        with hwtest.Server(routes=routes, name="greet") as srv:
            r = hwtest.one(srv.port, get("/greet"))
            t.is_((r.status, r.body), (200, b"hi\n"), "the configured greeting")
            r = hwtest.one(srv.port, get("/plain"))
            t.is_(r.body, b"Hello from a module\n", "the default")
            r = hwtest.one(srv.port, request("HEAD", "/greet"), head=True)
            t.is_((r.status, r.header("Content-Length"), r.body),
                  (200, "3", b""), "HEAD: the GET's length, no body")
            hwtest.assert_clean_stop(srv, name="server")
        cfg = {"listen": ["127.0.0.1:0"], "workers": 1,
               "routes": [route("/greet", so, {"gretting": "x"})]}
        path = hwtest.write_config(os.path.join(d, "greet_bad.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 1, "a misspelt key fails -t")
        t.like(err, r"routes\[0\]\.config: unknown key \"gretting\"",
               "naming the route and the key")


EXIT_C = r"""
#include <stdlib.h>
#include "haywire.h"

static int exit_init(const hw_host *host, const char *config,
                     size_t config_len, void **state, char *err,
                     size_t err_len) {
  exit(0); /* a module that ends the process is no pass */
}

static hw_handle_result exit_handle(void *state, hw_request *req,
                                    hw_response *res) {
  return HW_ERROR;
}

HW_MODULE_DEFINE("exits", "1.0", exit_init, exit_handle, NULL);
"""

HANG_C = r"""
#include <unistd.h>
#include "haywire.h"

static int hang_init(const hw_host *host, const char *config,
                     size_t config_len, void **state, char *err,
                     size_t err_len) {
  sleep(30); /* an init that never ends, as far as the test is concerned */
  return -1;
}

static hw_handle_result hang_handle(void *state, hw_request *req,
                                    hw_response *res) {
  return HW_ERROR;
}

HW_MODULE_DEFINE("hangs", "1.0", hang_init, hang_handle, NULL);
"""


children = hwtest.children


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False


def test_check_child(d):
    """The check's child: exit() in init is no pass, and a check killed
    from outside (the preflight's timeout) takes its child along."""
    with t.block("the check's child"):
        built = {}
        for name, src in (("exits", EXIT_C), ("hangs", HANG_C)):
            so = os.path.join(d, name + hwtest.MODULE_EXT)
            rc, out = hwtest.compile_module(
                [hwtest.write_config(os.path.join(d, name + ".c"), src)], so)
            if not t.is_(rc, 0, "%s.so compiles" % name):
                t.diag(out)
                return
            built[name] = so
        cfg = {"listen": ["127.0.0.1:0"], "workers": 1,
               "routes": [route("/x", built["exits"])]}
        path = hwtest.write_config(os.path.join(d, "exits.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 1, "exit(0) in init: -t exits 1")
        t.unlike(out, "configuration OK", "and does not claim OK")
        t.like(err, r"routes\[0\]\.config: %s: init exited with status 0 "
               r"\(route /x\)" % re.escape(built["exits"]),
               "naming the route and the file")
        cfg["routes"] = [route("/x", built["hangs"])]
        path = hwtest.write_config(os.path.join(d, "hangs.json"), cfg)
        p = subprocess.Popen(hwtest.HAYWIRE_ARGV + ["-t", "-c", path],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            if hwtest.skip_on_wine("the check's child is found in /proc", 2):
                return
            kids = []
            hwtest.poll(lambda: kids.extend(children(p.pid)) or kids, 5)
            t.is_(len(kids), 1, "-t runs the inits in one child")
            p.kill()
            p.wait(5)
            t.ok(all(hwtest.poll(lambda k=k: not alive(k), 5) for k in kids),
                 "killing -t ends the child stuck in init")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            for k in children(p.pid):
                os.kill(k, 9)


def main():
    # init_crash.so dies of SIGSEGV on purpose: no core files.
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    d = hwtest.make_tmpdir("abi")
    test_abi11()
    test_abi12()
    test_cxx(d)
    test_host_log_late()
    test_failures_logged()
    test_config_errors(d)
    test_reload_crash(d)
    test_readme_example(d)
    test_check_child(d)


if __name__ == "__main__":
    hwtest.run(main)
