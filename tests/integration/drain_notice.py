#!/usr/bin/env python3
"""The health route and the drain notice (timeouts_ms.drain_notice), with
workers and in the single-process mode.

health_route is answered by the server itself: GET and HEAD of exactly that
path get 200 ahead of every route; other methods and longer paths are
routed as usual.  With drain_notice > 0, SIGTERM first makes it answer 503
for that long while every other request is served and new connections are
accepted (so a balancer takes the instance out), then the server stops as
SIGTERM always did.  The notice is off by default; SIGQUIT and SIGINT skip
it, and so does a master whose sockets another master serves (a binary
upgrade's old one).  (Config errors for both keys: config_errors.py, test_config.c.)"""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, route  # noqa: E402

NOTICE_MS = 1500


def config(workers, notice=None, health="/health"):
    cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
           "workers": workers, "routes": [route("/hello", "hello.so")]}
    if health is not None:
        cfg["health_route"] = health
    if notice is not None:
        cfg["timeouts_ms"] = {"drain_notice": notice}
    return cfg


def status(port, target="/health", method="GET"):
    return hwtest.one(port, hwtest.request(method, target)).status


def health_answers(srv, mode):
    port = srv.port
    r = hwtest.one(port, hwtest.get("/health"))
    t.is_(r.status, 200, "%s: GET /health is 200 before SIGTERM" % mode)
    t.is_(r.body, b"200 OK\n", "%s: ... its body" % mode)
    t.is_(r.header("Cache-Control"), "no-store",
          "%s: ... and it is not to be cached" % mode)
    r = hwtest.one(port, hwtest.request("HEAD", "/health"), head=True)
    t.is_((r.status, r.body), (200, b""), "%s: HEAD /health: 200" % mode)
    t.is_(status(port, "/health?probe=1"), 200,
          "%s: the query is not part of the path" % mode)
    t.is_(status(port, "/health/x"), 404,
          "%s: only exactly that path is the health route's" % mode)
    t.is_(status(port, "/health", "POST"), 404,
          "%s: other methods are routed as usual (no route here)" % mode)


def notice_run(workers, mode):
    with hwtest.Server(config=config(workers, NOTICE_MS), listen=[],
                       name="notice") as srv:
        health_answers(srv, mode)
        port = srv.port
        kept = hwtest.Conn(port)   # opened before the notice
        kept.send(hwtest.get("/hello"))
        t.is_(kept.read_response().status, 200,
              "%s: a keep-alive connection is served" % mode)
        t0 = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        want = workers if workers > 0 else 1
        t.ok(hwtest.poll(lambda: len([l for l in srv.log_lines()
                                      if "drain notice: /health answers 503"
                                      in l]) >= want, timeout=5),
             "%s: %d process(es) log the notice" % (mode, want))
        if workers > 0:
            t.like(srv.log(), r"master: SIGTERM: stopping %d worker\(s\) "
                   r"gracefully after a drain notice of %d ms"
                   % (workers, NOTICE_MS),
                   "%s: the master says it stops after the notice" % mode)
        # During the notice: the health route says 503 (every worker: a
        # few new connections each), everything else is served, new
        # connections are accepted.
        codes = [status(port) for _ in range(6)]
        t.is_(sorted(set(codes)), [503],
              "%s: GET /health is 503 during the notice" % mode)
        t.is_([status(port, "/hello") for _ in range(4)], [200] * 4,
              "%s: other routes answer 200 on new connections" % mode)
        kept.send(hwtest.get("/hello") + hwtest.get("/health"))
        a, b = kept.read_responses(2)
        t.is_((a.status, b.status), (200, 503),
              "%s: ... and on a connection opened before it" % mode)
        kept.close()
        t.ok(srv.alive() and time.monotonic() - t0 < NOTICE_MS / 1000.0,
             "%s: the server still runs within the notice" % mode)
        rc = srv.stop(signal.SIGTERM, timeout=NOTICE_MS / 1000.0 + 10)
        took = time.monotonic() - t0
        t.is_(rc, 0, "%s: then it stops, status 0" % mode)
        t.ok(took >= NOTICE_MS / 1000.0 - 0.05,
             "%s: not before the notice was over (%.2f s)" % (mode, took))
        t.ok(took < NOTICE_MS / 1000.0 + 5,
             "%s: and soon after it (%.2f s)" % (mode, took))
        t.like(srv.log(), r"drain notice over: finishing requests",
               "%s: the stop follows the notice as SIGTERM's did" % mode)
        t.ok(srv.sanitizer_report() is None, "%s: no sanitizer report" % mode)


def skipped_by(sig, workers, mode):
    with hwtest.Server(config=config(workers, 5000), listen=[],
                       name="skip") as srv:
        t.is_(status(srv.port), 200, "%s: /health 200" % mode)
        t0 = time.monotonic()
        rc = srv.stop(sig, timeout=10)
        took = time.monotonic() - t0
        t.is_(rc, 0, "%s: %s stops it, status 0" % (mode, sig.name))
        t.ok(took < 3.0, "%s: %s skips the 5 s notice (%.2f s)"
             % (mode, sig.name, took))
        t.unlike(srv.log(), r"drain notice", "%s: no notice logged" % mode)


def off_by_default(workers, mode):
    with hwtest.Server(config=config(workers), listen=[], name="off") as srv:
        t.is_(status(srv.port), 200, "%s: health_route without a notice" % mode)
        t0 = time.monotonic()
        rc = srv.stop(signal.SIGTERM, timeout=10)
        took = time.monotonic() - t0
        t.is_(rc, 0, "%s: SIGTERM stops it" % mode)
        t.ok(took < 3.0, "%s: at once: the notice is off (%.2f s)"
             % (mode, took))
        t.unlike(srv.log(), r"drain notice", "%s: no notice logged" % mode)
    with hwtest.Server(config=config(workers, health=None), listen=[],
                       name="nohealth") as srv:
        t.is_(status(srv.port), 404,
              "%s: without health_route /health is nobody's: 404" % mode)


def no_notice_beside_another_master():
    """A binary upgrade's old master, told SIGTERM while the new one serves
    the same sockets: no notice (the new master's workers serve on, and the
    old one drains softly), so /health never answers 503."""
    cfg = config(2, 5000)
    cfg["pid_file"] = "hw.pid"
    with hwtest.Server(config=cfg, listen=[], name="upgrade") as srv:
        pidf = os.path.join(srv.workdir, "hw.pid")
        t.ok(hwtest.poll(lambda: len([l for l in srv.log_lines()
                                      if "serving generation" in l]) >= 2,
                         10), "upgrade: the workers serve")
        rc, out, err = hwtest.run_haywire(["--pid-file", pidf, "-s",
                                           "upgrade"], timeout=120)
        t.ok(rc == 0, "upgrade: -s upgrade starts a new master", rc, err)
        old = srv.pid
        t0 = time.monotonic()
        os.kill(old, signal.SIGTERM)
        codes = set()
        while srv.alive() and time.monotonic() - t0 < 8:
            codes.add(status(srv.port))
        took = time.monotonic() - t0
        t.ok(not srv.alive() and took < 4.0,
             "upgrade: the old master stops without the 5 s notice "
             "(%.2f s)" % took)
        t.is_(sorted(codes), [200], "upgrade: /health is 200 throughout")
        t.like(srv.log(), r"master: SIGTERM: stopping 2 worker\(s\) "
               r"gracefully\n", "upgrade: its stop names no notice")
        t.unlike(srv.log(), r"drain notice:", "upgrade: no worker gave one")
        rc, out, err = hwtest.run_haywire(["--pid-file", pidf, "-s", "quit"],
                                          timeout=60)
        t.ok(rc == 0, "upgrade: -s quit stops the new master", rc, err)


def main():
    with t.block("no notice beside another master"):
        no_notice_beside_another_master()
    for workers, mode in ((2, "workers 2"), (0, "single process")):
        with t.block(mode + " notice"):
            notice_run(workers, mode)
        with t.block(mode + " off"):
            off_by_default(workers, mode)
        for sig in (signal.SIGQUIT, signal.SIGINT):
            with t.block(mode + " " + sig.name):
                skipped_by(sig, workers, mode)


hwtest.run(main)
