#!/usr/bin/env python3
"""The multi-process model: a master that never maps module code and
supervises N workers on per-slot SO_REUSEPORT sockets.  Requests are spread
over the workers; a worker killed under load is replaced within a second
without a single failed request; a module that segfaults takes down only the
connection it serves, and a crash-looping slot backs off; reloads under
(pipelined) load reach every worker without errors; reloads and worker
restarts together never refuse a connection; SIGTERM/SIGQUIT drain in-flight
requests and remove the pid file, SIGINT stops at once; a failed reload
leaves every worker on the old generation; --single / --workers 0 run without
workers."""

import datetime
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, get, route  # noqa: E402

HELLO = b"Hello, World!"


SAN = hwtest.sanitized()
WINE = hwtest.WINE
# Timing slack for waits (not for the claims); under wine every start and
# request is slower (hwtest.SLOWER, 1 natively).
SLOW = (3.0 if SAN else 1.0) * hwtest.SLOWER

SERVING_RE = (r"master: worker (\d+) \(pid (\d+)\) serving generation (\d+)")
# How the master reports a worker that crashed: a plain build sees the
# signal; under ASan the sanitizer catches the SEGV and exits with status 1;
# on Windows (wine) the process ends with the exception's NTSTATUS.
CRASH_PLAIN = (r"crashed: 0xC0000005 access violation" if WINE
               else r"killed by signal 11 \(SIGSEGV\)")
CRASH_ANY = r"(?:%s|exited with status 1)" % CRASH_PLAIN
CRASH_FORM = CRASH_ANY if SAN else CRASH_PLAIN
DEATH_RE = (r"master: worker (\d+) \(pid (\d+)\) (?:killed by signal \d+ "
            r"\(\w+\)|exited with status [1-9]\d*"
            r"|crashed: 0x[0-9A-F]{8} [\w ]+)")
# Any end of a worker (the log's "exited" or "stopped" too): under wine the
# live workers are read from the log.
GONE_RE = (r"master: worker (\d+) \(pid (\d+)\) (?:killed|stopped|exited"
           r"|crashed)")
ACTIVE_RE = (r"master: reload: generation (\d+) active \((\d+) routes\) on "
             r"(\d+) of (\d+) workers")
FAILED_RE = r"master: reload failed: (.*)"
VERDICT_RE = ACTIVE_RE + "|" + FAILED_RE
# How long a `haywire -s` command may take under wine.
TIMEOUT_CMD = hwtest.TIMEOUT * hwtest.SLOWER
BACKOFF_RE = (r"master: worker (\d+) died 5 times within 10 s: restarting it "
              r"in (\d+) ms")


def routes():
    return [route("/hello", "hello.so"),
            route("/echo", "echo.so"),
            route("/delay", "delay.so"),
            route("/crash", hwtest.fixture("crash"))]


# ---------------------------------------------------------------------------
# Helpers

children = hwtest.children


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def worker_children(srv):
    """The master's children started as workers (a preflight `-t` child
    may come and go during reloads).  Under wine there are no such Linux
    children to read: the workers the master's log says serve and has not
    seen end (their Windows pids)."""
    if WINE:
        return logged_workers(srv)
    return sorted(p for p in children(srv.pid) if b"--worker" in cmdline(p))


def logged_workers(srv):
    """The pids of the workers that the log says serve and that it has not
    seen end since (latest per slot), sorted."""
    live = {}
    for line in srv.log_lines():
        m = re.search(SERVING_RE, line)
        if m:
            live[int(m.group(1))] = int(m.group(2))
            continue
        m = re.search(GONE_RE, line)
        if m and live.get(int(m.group(1))) == int(m.group(2)):
            del live[int(m.group(1))]
    return sorted(live.values())


def serving(srv, start=0):
    """{slot: pid} from the latest `serving generation` line per slot."""
    out = {}
    for line in srv.log_lines()[start:]:
        m = re.search(SERVING_RE, line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def workers_ready(srv, n):
    """n worker children, each of which said it serves."""
    kids = worker_children(srv)
    pids = set(serving(srv).values())
    return len(kids) == n and set(kids) <= pids


def wait_workers(srv, n=2, timeout=10.0):
    ok = hwtest.poll(lambda: workers_ready(srv, n), timeout * SLOW)
    if not ok:
        raise hwtest.ServerError("%d workers not ready: children %s, serving "
                                 "%s" % (n, worker_children(srv),
                                         serving(srv)))
    return worker_children(srv)


def log_time(line):
    """Wall-clock seconds of a log line's ISO timestamp (UTC)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z", line)
    if not m:
        return None
    d = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


def find_line(srv, rx, start=0, timeout=10.0):
    """Waits for a log line at index >= start matching rx; returns
    (index, match, line) or None."""
    crx = re.compile(rx)
    deadline = time.monotonic() + timeout
    while True:
        dead = not srv.alive()
        if dead:
            srv._join_reader()
        lines = srv.log_lines()
        for i in range(start, len(lines)):
            m = crx.search(lines[i])
            if m:
                return (i, m, lines[i])
        if dead or time.monotonic() >= deadline:
            return None
        time.sleep(0.002)


def count(srv, rx, start=0):
    return sum(1 for x in srv.log_lines()[start:] if re.search(rx, x))


def fetch(port, target, timeout=10.0, close=True):
    """GET on a fresh connection: (response or None, error text or None,
    seconds)."""
    t0 = time.monotonic()
    hs = [("Connection", "close")] if close else None
    try:
        r = hwtest.one(port, get(target, headers=hs), timeout=timeout)
        return r, None, time.monotonic() - t0
    except (OSError, hwtest.ProtocolError) as e:
        return None, "%s: %s" % (type(e).__name__, e), time.monotonic() - t0


def unexpected_san(srv):
    """Sanitizer report lines other than those of the crashes a test causes
    on purpose (kill -SEGV; crash.so's null store, which UBSan reports)."""
    return [x for x in srv.log_lines()
            if hwtest.SANITIZER_RE.search(x) and "SEGV" not in x and
            "tests/fixtures/crash.c:" not in x]


def wait_exit(srv, timeout):
    """Waits for the (already signalled) server; returns its exit status or
    None after `timeout`."""
    try:
        srv.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None
    srv._join_reader()
    srv.returncode = srv.proc.returncode
    return srv.returncode


def stop_check(srv, name="server", sig=signal.SIGTERM):
    rc = srv.stop(sig, timeout=15 * SLOW)
    t.is_(rc, 0, "%s exits 0 on %s" % (name, signal.Signals(sig).name))
    bad = unexpected_san(srv)
    t.ok(not bad, "%s log has no unexpected sanitizer report" % name, bad[:5])


def rewrite(srv, config):
    tmp = srv.config_path + ".new"
    hwtest.write_config(tmp, config)
    os.replace(tmp, srv.config_path)


def reload_cfg(body, extra=()):
    """A config for the reload tests: same listen list as the running
    server (the harness's --listen wins anyway), two workers."""
    return {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
            "workers": 2,
            "routes": [route("/r", "hello.so", {"body": body}),
                       route("/echo", "echo.so")] + list(extra)}


# ---------------------------------------------------------------------------
# 1 + 2. Both workers serve; the master maps no module; the spread.

def test_both_serve():
    with t.block("two workers"):
        d = hwtest.make_tmpdir("two")
        run = os.path.join(d, "run")
        os.makedirs(run)
        with hwtest.Server(routes=routes(), workers=2, workdir=d,
                           args=["--run-dir", run], name="two") as srv:
            kids = wait_workers(srv)
            t.is_(len(kids), 2, "the master has 2 worker children")
            seen, bad = {}, []
            for i in range(200):
                r, err, _ = fetch(srv.port, "/echo?i=%d" % i)
                if r is None or r.status != 200 or not r.header("X-Worker"):
                    bad.append(err or r)
                    continue
                w = int(r.header("X-Worker"))
                seen[w] = seen.get(w, 0) + 1
            t.is_(bad, [], "200 fresh connections to /echo all answered 200")
            t.is_(sorted(seen), kids,
                  "X-Worker shows both workers, and they are the master's "
                  "children")
            t.diag("fresh-connection split: %s" % seen)
            t.ok(srv.pid not in seen, "the master itself serves nothing")
            test_maps(srv, run, kids)
            test_spread(srv, kids)
            stop_check(srv)


def test_maps(srv, run, kids):
    """What the master and the workers map; that workers are plain
    children (three TAP lines).  Under wine the master's memory is the
    wine process's (which maps a DLL's file, as a .so's), but a worker is
    known only by its Windows pid."""
    ext = hwtest.MODULE_EXT
    maps = open("/proc/%d/maps" % (srv.proc.pid if WINE else srv.pid)) \
        .read().splitlines()
    paths = {x.split(None, 5)[5] for x in maps if len(x.split()) == 6}
    mods = {x + ext for x in ("hello", "echo", "delay", "crash")}
    bad_maps = sorted(p for p in paths
                      if (p.startswith(run + "/") and
                          p.endswith(ext)) or
                      any(p.endswith(x) for x in mods))
    t.is_(bad_maps, [], "the master maps no module (nothing %s "
          "under the run dir, no hello/echo/delay/crash%s)" % (ext, ext))
    if hwtest.skip_on_wine(
            "a worker's maps and process group are read from /proc by its "
            "Linux pid, which wine's log gives no way to know (the log's pid "
            "is a Windows one)", 2):
        return
    wmaps = []
    for k in kids:
        try:
            with open("/proc/%d/maps" % k) as f:
                wmaps.append(sorted({
                    os.path.basename(x.split(None, 5)[5])
                    for x in f.read().splitlines()
                    if len(x.split()) == 6 and
                    x.split(None, 5)[5].startswith(run + "/")}))
        except OSError as e:
            wmaps.append(str(e))
    t.ok(all(isinstance(w, list) and
             any(x.endswith("echo.so") for x in w) for w in wmaps),
         "(control) each worker maps its echo.so copy from the run "
         "dir", wmaps)
    t.ok(all(srv.pid not in children(k) and
             os.getpgid(k) == os.getpgid(srv.pid) for k in kids),
         "workers are plain children (same process group, no "
         "grandchildren)")


def test_spread(srv, kids):
    with t.block("spread"):
        threads, per = 32, 12
        counts, errs, lock = {}, [], threading.Lock()

        def client(n):
            for i in range(per):
                r, err, _ = fetch(srv.port, "/echo?c=%d&i=%d" % (n, i))
                with lock:
                    if r is None or r.status != 200:
                        errs.append(err or r.status)
                    else:
                        w = int(r.header("X-Worker", "0"))
                        counts[w] = counts.get(w, 0) + 1

        ths = [threading.Thread(target=client, args=(n,), daemon=True)
               for n in range(threads)]
        t0 = time.monotonic()
        for th in ths:
            th.start()
        for th in ths:
            th.join(60)
        took = time.monotonic() - t0
        total = sum(counts.values())
        t.is_(errs, [], "%d concurrent clients x %d fresh connections: no "
              "error" % (threads, per))
        t.is_(total, threads * per, "every request answered")
        t.is_(sorted(counts), kids, "answers come from both workers")
        share = max(counts.values()) / float(total) if total else 1.0
        t.diag("spread over %d connections in %.2f s: %s (max share %.1f%%)"
               % (total, took, ", ".join("pid %d: %d" % kv for kv in
                                         sorted(counts.items())),
                  share * 100))
        t.cmp_ok(share, "<=", 0.65, "no worker takes more than 65%")


# ---------------------------------------------------------------------------
# 3. A worker killed under load.

def test_crash_survival():
    """Natively a kill -SEGV of worker 1 between two requests.  Under wine
    (no signals to a worker) the client's request to /crash crashes
    whichever worker takes it, and the log says which."""
    with t.block("kill -SEGV a worker under load"):
        with hwtest.Server(routes=routes(), workers=2, name="kill") as srv:
            wait_workers(srv)
            slots = serving(srv)
            victim_slot = 1
            victim = slots[victim_slot]
            res = {"n": 0, "fail": [], "lat": [], "kill_wall": None,
                   "mark": None}

            def client():
                start = time.monotonic()
                end = start + 3.0
                while time.monotonic() < end and res["n"] < 50000:
                    if res["kill_wall"] is None and \
                            time.monotonic() - start > 0.8:
                        # Between two requests: no request of ours is inside
                        # the victim, so every later connection hashed to
                        # its socket must wait in the backlog, not fail.
                        res["mark"] = len(srv.log_lines())
                        res["kill_wall"] = time.time()
                        if WINE:
                            res["crash_hit"] = hit_crash(srv.port)
                        else:
                            os.kill(victim, signal.SIGSEGV)
                    r, err, dt = fetch(srv.port, "/hello")
                    res["n"] += 1
                    res["lat"].append(dt)
                    if r is None or r.status != 200 or r.body != HELLO:
                        res["fail"].append(err or (r.status, r.body[:40]))

            th = threading.Thread(target=client, daemon=True)
            th.start()
            th.join(30)
            t.ok(not th.is_alive(), "the client loop finished")
            t.ok(res["kill_wall"] is not None, "the worker was killed")
            mark = res["mark"] or 0
            if WINE:
                # The worker that took the /crash request.
                hit = find_line(srv, r"master: worker (\d+) \(pid (\d+)\) "
                                + CRASH_FORM, mark, 5 * SLOW)
                if hit:
                    victim_slot = int(hit[1].group(1))
                    victim = int(hit[1].group(2))
                t.diag("GET /crash: %r; the crashed worker: %s" %
                       (res.get("crash_hit"), hit and hit[2]))
            died = find_line(srv, r"master: worker %d \(pid %d\) %s" %
                             (victim_slot, victim, CRASH_FORM), mark, 5 * SLOW)
            how = ("crashed: 0xC0000005 access violation" if WINE
                   else "killed by SIGSEGV")
            t.ok(died, "master logs worker %d (pid %d) %s" %
                 (victim_slot, victim, how if not SAN else
                  how + " or exited with status 1"))
            if died and WINE:
                t.like(died[2], r"while serving route /crash \(routes\[3\], "
                       r"generation 1\)$", "the route it crashed in is named")
            elif died:
                t.unlike(died[2], r"while serving route",
                         "no route named: no module was running")
            new = find_line(srv, r"master: worker %d \(pid (?!%d\))(\d+)\) "
                            r"serving generation 1" % (victim_slot, victim),
                            mark, 5 * SLOW)
            t.ok(new, "a new worker %d serves generation 1" % victim_slot)
            if new and res["kill_wall"]:
                delay = log_time(new[2]) - res["kill_wall"]
                t.diag("restart latency (kill -> replacement serving): "
                       "%.1f ms" % (delay * 1000))
                t.cmp_ok(delay, "<", 1.0 * hwtest.SLOWER,
                         "the replacement serves within %g s of the kill" %
                         (1.0 * hwtest.SLOWER))
                new_pid = int(new[1].group(1))
                ok = hwtest.poll(lambda: worker_children(srv) ==
                                 sorted([new_pid, slots[3 - victim_slot]]),
                                 5 * SLOW)
                t.ok(ok, "the master is back to 2 workers (the replacement "
                     "and the untouched one)", worker_children(srv))
            t.is_(res["fail"][:5], [],
                  "every one of %d requests on fresh connections succeeded "
                  "(%d failed)" % (res["n"], len(res["fail"])))
            if res["lat"]:
                lat = sorted(res["lat"])
                t.diag("%d requests; latency median %.2f ms, max %.1f ms" %
                       (len(lat), lat[len(lat) // 2] * 1000, lat[-1] * 1000))
            t.cmp_ok(res["n"], ">", 100, "the client loop made many requests")
            stop_check(srv)


# ---------------------------------------------------------------------------
# 4. A module that segfaults on every request.

def hit_crash(port, target="/crash", timeout=3.0 * SLOW):
    """Sends one request to the crashing route; returns (closed, bytes).
    Connection: close, so that a server that answers closes too."""
    with Conn(port, timeout=timeout) as c:
        c.send(get(target, headers=[("Connection", "close")]))
        return c.read_until_close(timeout)


def test_crash_route():
    with t.block("segfaulting route"):
        with hwtest.Server(routes=routes(), workers=2, name="crash") as srv:
            wait_workers(srv)
            mark = len(srv.log_lines())
            closed, data = hit_crash(srv.port)
            t.ok(closed and data == b"",
                 "GET /crash: the connection dies without a response",
                 "closed=%s data=%r" % (closed, data[:200]))
            m = find_line(srv, r"master: worker \d+ \(pid \d+\) %s while "
                          r"serving route /crash \(routes\[\d+\], "
                          r"generation 1\)" % CRASH_FORM, mark, 5 * SLOW)
            t.ok(m, "the master's log names the route: `%s while serving "
                 "route /crash (routes[i], generation 1)`" % CRASH_FORM)
            wait_workers(srv)
            bad = []
            for i in range(10):
                for target in ("/hello", "/echo"):
                    r, err, _ = fetch(srv.port, target)
                    if r is None or r.status != 200:
                        bad.append((target, err or r.status))
            t.is_(bad, [], "/hello and /echo keep answering afterwards")
            t.ok(srv.alive(), "the server is up")

            # Crash-loop one slot: five deaths within 10 s start a back-off.
            hits, between, t0 = 1, [], time.monotonic()
            backoff = None
            while hits < 20 and time.monotonic() - t0 < 15 * SLOW:
                closed, data = hit_crash(srv.port)
                hits += 1
                if data:
                    t.diag("GET /crash was answered: %r" % data[:60])
                    break
                r, err, dt = fetch(srv.port, "/hello", timeout=5 * SLOW)
                if r is None or r.status != 200:
                    between.append(err or r.status)
                backoff = find_line(srv, BACKOFF_RE, mark, 0)
                if backoff:
                    break
            t.diag("%d hits on /crash in %.2f s" %
                   (hits, time.monotonic() - t0))
            t.ok(backoff, "`worker K died 5 times within 10 s: restarting it "
                 "in 1000 ms` after at most 20 hits")
            t.is_(between, [], "/hello answered 200 between every two hits")
            if backoff:
                t.is_(backoff[1].group(2), "1000",
                      "the first back-off is 1000 ms")
                slot = int(backoff[1].group(1))
                other = 3 - slot
                # While the slot waits, the other worker serves (perhaps a
                # replacement of it: a /crash hit it took before the loop
                # ended may be reaped only now, slowly under ASan): any
                # answer from a process that never served the slot in
                # back-off, counted once the log has them all.
                seen, bad, fast, quick = {}, [], 0, []
                for i in range(20):
                    r, err, dt = fetch(srv.port, "/echo", timeout=5 * SLOW)
                    if r is None or r.status != 200:
                        bad.append(err or r.status)
                        continue
                    w = int(r.header("X-Worker", "0"))
                    seen[w] = seen.get(w, 0) + 1
                    if dt < 0.5:
                        quick.append(w)
                mine = {int(m.group(2)) for m in
                        (re.search(SERVING_RE, x) for x in srv.log_lines())
                        if m and int(m.group(1)) == slot}
                fast = sum(1 for w in quick if w not in mine)
                t.is_(bad, [], "during the back-off /echo answers 200")
                t.ok(fast > 0, "the other worker (slot %d) answers at once "
                     "during the back-off" % other, seen)
                again = find_line(srv, r"master: worker %d \(pid \d+\) "
                                  r"serving generation" % slot, backoff[0],
                                  5 * SLOW)
                t.ok(again, "slot %d is started again after the back-off"
                     % slot)
                if again:
                    waited = log_time(again[2]) - log_time(backoff[2])
                    t.diag("back-off: slot %d restarted %.0f ms after the "
                           "line" % (slot, waited * 1000))
                    t.cmp_ok(waited, ">=", 0.95, "it waited ~1000 ms")
                    t.cmp_ok(waited, "<", 1.0 + SLOW,
                             "and not much longer")
            bad = []
            for target in ("/hello", "/echo"):
                r, err, _ = fetch(srv.port, target, timeout=5 * SLOW)
                if r is None or r.status != 200:
                    bad.append((target, err or r.status))
            t.is_(bad, [], "after the crash loop /hello and /echo answer")
            stop_check(srv)


# ---------------------------------------------------------------------------
# 5. Reloads under wrk load.

PIPE_LUA = hwtest.wrk_pipeline_lua("/r", 8)
# Counts answers that are neither of the two configs' bodies.
CHECK_LUA = hwtest.wrk_bodies_lua("A", "B")
parse_wrk = hwtest.parse_wrk

def test_reload_under_load():
    with t.block("reloads under wrk load"):
        if shutil.which("wrk") is None:
            t.skip("wrk not installed", 1)
            return
        a, b = reload_cfg("A"), reload_cfg("B")
        with hwtest.Server(config=a, name="rload") as srv:
            kids = wait_workers(srv)
            d = srv.workdir
            pipe_lua = hwtest.write_config(os.path.join(d, "pipe.lua"),
                                           PIPE_LUA)
            check_lua = hwtest.write_config(os.path.join(d, "check.lua"),
                                            CHECK_LUA)
            url = "http://127.0.0.1:%d/r" % srv.port
            common = ["wrk", "-t1", "-d3s", "--timeout", "5s"]
            argvs = {"plain": common + ["-c32", "-s", check_lua, url],
                     "pipelined": common + ["-c16", "-s", pipe_lua, url]}
            mark = len(srv.log_lines())
            procs = {k: subprocess.Popen(v, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, cwd=d,
                                         start_new_session=True)
                     for k, v in argvs.items()}
            sent, outs = 0, {}
            try:
                time.sleep(0.2)
                deadline = time.monotonic() + 8
                while time.monotonic() < deadline and \
                        any(p.poll() is None for p in procs.values()):
                    rewrite(srv, b if sent % 2 == 0 else a)
                    srv.send_signal(signal.SIGHUP)
                    sent += 1
                    time.sleep(0.15)
                for k, p in procs.items():
                    try:
                        out, _ = p.communicate(timeout=15)
                    except subprocess.TimeoutExpired:
                        os.killpg(p.pid, signal.SIGKILL)
                        out, _ = p.communicate()
                    outs[k] = out.decode("utf-8", "replace")
            finally:
                for p in procs.values():
                    if p.poll() is None:
                        os.killpg(p.pid, signal.SIGKILL)
                        p.wait()
            t.diag("sent %d SIGHUPs (every 150 ms) during the load" % sent)
            for k in ("plain", "pipelined"):
                res = parse_wrk(outs[k])
                ok = t.ok(res["requests"] is not None and res["requests"] > 0,
                          "%s wrk: requests > 0" % k)
                ok &= t.is_(res["socket_errors"], [0, 0, 0, 0],
                            "%s wrk: no socket errors (connect, read, write, "
                            "timeout)" % k)
                ok &= t.is_(res["non2xx"], 0, "%s wrk: no non-2xx" % k)
                if not ok:
                    t.diag(outs[k])
                else:
                    t.diag("%s wrk: %d requests" % (k, res["requests"]))
                if k == "plain":
                    chk = res.get("check")
                    t.ok(chk is not None and chk[0] == 0,
                         "plain wrk: every body is A or B", chk)
                    t.ok(chk is not None and chk[1] > 0 and chk[2] > 0,
                         "plain wrk saw both configs' answers", chk)
            t.ok(srv.alive(), "server alive after the load")
            # Let the last reload finish.
            hwtest.poll(lambda: count(srv, r"master: reload: reading ", mark)
                        == count(srv, VERDICT_RE, mark), 10 * SLOW)
            actives = [re.search(ACTIVE_RE, x) for x in srv.log_lines()[mark:]]
            actives = [m for m in actives if m]
            t.cmp_ok(len(actives), ">=", min(5, sent),
                     "`generation N active` lines (%d for %d SIGHUPs)" %
                     (len(actives), sent))
            partial = [m.group(0) for m in actives
                       if (m.group(3), m.group(4)) != ("2", "2")]
            t.is_(partial, [], "every reload is active on 2 of 2 workers")
            t.is_(count(srv, FAILED_RE, mark), 0, "no `reload failed`")
            t.is_(count(srv, DEATH_RE, mark), 0, "no worker died")
            t.is_(worker_children(srv), kids,
                  "the same two workers serve (reloads are in place)")
            stop_check(srv)


# ---------------------------------------------------------------------------
# 6. 50 reloads and 5 worker restarts against a connecting client.

def test_reloads_and_restarts():
    """Natively the restarts are kill -SEGV of a chosen worker.  Under wine
    (no signals to a worker) a request to /crash crashes whichever worker
    takes it, while the reload's `haywire -s reload` runs beside it."""
    with t.block("50 reloads + 5 restarts"):
        crash = [route("/crash", hwtest.fixture("crash"))] if WINE else []
        a, b = reload_cfg("A", crash), reload_cfg("B", crash)
        with hwtest.Server(config=a, name="churn") as srv:
            wait_workers(srv)
            rng = random.Random(1234)
            lock = threading.Lock()     # held for each client request
            stop = threading.Event()
            res = {"n": 0, "fail": [], "fail_at": [], "bodies": {},
                   "lat": 0.0}

            def client():
                end = time.monotonic() + 30 * SLOW
                while not stop.is_set() and time.monotonic() < end:
                    with lock:
                        r, err, dt = fetch(srv.port, "/r")
                    res["n"] += 1
                    res["lat"] = max(res["lat"], dt)
                    if r is None or r.status != 200:
                        res["fail"].append(err or (r.status, r.body[:40]))
                        res["fail_at"].append(time.time())
                    else:
                        res["bodies"][r.body] = \
                            res["bodies"].get(r.body, 0) + 1

            mark = len(srv.log_lines())
            th = threading.Thread(target=client, daemon=True)
            th.start()
            verdicts, kills = [], []
            t0 = time.monotonic()
            kill_at = {5, 15, 25, 35, 45}
            for i in range(50):
                if time.monotonic() - t0 > 25 * SLOW:
                    break
                m0 = len(srv.log_lines())
                rewrite(srv, b if i % 2 == 0 else a)
                if WINE and i in kill_at:
                    # `-s reload` returns with the verdict: the crash goes
                    # beside it, between two client requests.
                    sender = threading.Thread(target=srv.send_signal,
                                              args=(signal.SIGHUP,),
                                              daemon=True)
                    sender.start()
                    time.sleep((0.2, 0.3, 0.4, 0.5, 0.6)[len(kills)])
                    with lock:
                        m1 = len(srv.log_lines())
                        hit_crash(srv.port)
                    hit = find_line(srv, r"master: worker (\d+) \(pid (\d+)\) "
                                    + CRASH_FORM, m1, 5 * SLOW)
                    victim = int(hit[1].group(2)) if hit else None
                    kills.append(int(hit[1].group(1)) if hit else None)
                    sender.join(TIMEOUT_CMD)
                    v = find_line(srv, VERDICT_RE, m0, 10 * SLOW)
                    verdicts.append(v[1].group(0) if v else None)
                    time.sleep(0.03)
                    hwtest.poll(lambda: victim not in worker_children(srv)
                                and workers_ready(srv, 2), 5 * SLOW)
                    continue
                srv.send_signal(signal.SIGHUP)
                if i in kill_at:
                    # Kill while the reload runs, but between two client
                    # requests (one inside the victim would die with it).
                    time.sleep((0, 0.001, 0.002, 0.004, 0.01)[len(kills)])
                    # A random slot, but not the same one five times: that
                    # would be a crash loop (tested above), with a back-off.
                    slot = rng.choice((1, 2))
                    if len(kills) == 4 and len(set(kills)) == 1:
                        slot = 3 - kills[0]
                    victim = serving(srv).get(slot)
                    if victim in worker_children(srv):
                        with lock:
                            os.kill(victim, signal.SIGSEGV)
                        kills.append(slot)
                v = find_line(srv, VERDICT_RE, m0, 10 * SLOW)
                verdicts.append(v[1].group(0) if v else None)
                time.sleep(0.03)
                if i in kill_at:
                    # Spaced out: the replacement is up before going on.
                    hwtest.poll(lambda: victim not in worker_children(srv)
                                and workers_ready(srv, 2), 5 * SLOW)
            took = time.monotonic() - t0
            stop.set()
            th.join(15)
            t.ok(not th.is_alive(), "the client loop finished")
            t.diag("%d reloads and %d kills (slots %s) in %.1f s; client: %d "
                   "requests, max latency %.1f ms, bodies %s" %
                   (len(verdicts), len(kills), kills, took, res["n"],
                    res["lat"] * 1000, res["bodies"]))
            t.is_(len(verdicts), 50, "50 reloads were sent")
            t.is_(len([k for k in kills if k]), 5, "5 workers were killed")
            t.ok(all(v and "active" in v for v in verdicts),
                 "each reload ends with `generation N active`",
                 [v for v in verdicts if not v or "active" not in v][:5])
            t.is_(count(srv, FAILED_RE, mark), 0, "no `reload failed`")
            t.is_(res["fail"][:5], [],
                  "no refused, reset or failed request (%d requests, %d "
                  "failed)" % (res["n"], len(res["fail"])))
            for when in res["fail_at"][:3]:
                t.diag("master log within 15 ms of the failure at %s:" %
                       datetime.datetime.fromtimestamp(
                           when, datetime.timezone.utc)
                       .strftime("%H:%M:%S.%f")[:-3])
                for x in srv.log_lines():
                    lt = log_time(x)
                    if lt is not None and abs(lt - when) < 0.015 and \
                            "drained" not in x:
                        t.diag("  | " + x)
            t.ok(set(res["bodies"]) <= {b"A", b"B"},
                 "every body is A or B", res["bodies"])
            t.cmp_ok(res["n"], ">", 100, "the client made many requests")
            deaths = [x for x in srv.log_lines()[mark:]
                      if re.search(DEATH_RE, x)]
            t.ok(len(deaths) == 5, "exactly the 5 killed workers died "
                 "(no other worker death)", deaths)
            t.ok(all(re.search(CRASH_FORM, x) for x in deaths),
                 "each death logged as %s" % CRASH_FORM, deaths)
            t.is_(count(srv, BACKOFF_RE, mark), 0, "no slot crash-loops")
            t.is_(count(srv, r"cannot start worker", mark), 0,
                  "no `cannot start worker`")
            t.ok(hwtest.poll(lambda: workers_ready(srv, 2), 5 * SLOW),
                 "2 workers at the end")
            last = [int(m.group(1)) for m in
                    (re.search(ACTIVE_RE, x) for x in srv.log_lines()) if m]
            want = b"B" if len(verdicts) % 2 == 1 else b"A"
            bodies = set()
            for i in range(30):
                r, err, _ = fetch(srv.port, "/r")
                bodies.add(r.body if r is not None else err)
            t.is_(bodies, {want}, "all workers serve the last config "
                  "(generation %s)" % (last[-1] if last else "?"))
            stop_check(srv)


# ---------------------------------------------------------------------------
# 7. SIGTERM / SIGQUIT drain; SIGINT stops at once; the pid file.

def test_stop_signals():
    for sig in (signal.SIGTERM, signal.SIGQUIT):
        name = signal.Signals(sig).name
        ms = 700 if sig == signal.SIGTERM else 300
        # Under wine the command is a wine process of its own, which takes
        # a while to reach the server: the request is held longer.
        ms = int(ms * hwtest.SLOWER)
        with t.block("%s with a deferred request in flight" % name):
            d = hwtest.make_tmpdir("stop")
            pidf = os.path.join(d, "haywire.pid")
            with hwtest.Server(routes=routes(), workers=2, workdir=d,
                               args=["--pid-file", pidf],
                               name="stop") as srv:
                wait_workers(srv)
                try:
                    content = open(pidf).read()
                except OSError as e:
                    content = str(e)
                t.is_(content.strip(), str(srv.pid),
                      "the pid file holds the master's pid while it runs")
                idle = Conn(srv.port)
                idle.send(get("/hello"))
                r0 = idle.read_response()
                t.is_(r0.status, 200, "a keep-alive connection, now idle")
                c = Conn(srv.port, timeout=10 * SLOW)
                c.send(get("/delay/x?ms=%d" % ms))
                time.sleep(0.2)
                t0 = time.monotonic()
                srv.send_signal(sig)
                try:
                    r = c.read_response()
                except (OSError, hwtest.ProtocolError) as e:
                    r = None
                    t.diag("in-flight request: %s" % e)
                took = time.monotonic() - t0
                t.ok(r is not None and r.status == 200 and
                     r.body == b"/delay/x",
                     "the in-flight request completes with 200", r)
                t.ok(r is not None and "close" in r.connection_tokens(),
                     "its response says Connection: close",
                     r.headers if r else None)
                closed, extra = c.read_until_close(5 * SLOW)
                t.ok(closed and not extra, "then that connection is closed")
                closed, extra = idle.read_until_close(5 * SLOW)
                t.ok(closed and not extra,
                     "the idle keep-alive connection is closed")
                idle.close()
                c.close()
                rc = wait_exit(srv, 10 * SLOW)
                t.is_(rc, 0, "the master exits 0")
                t.cmp_ok(took, ">=", (ms - 200) / 1000.0 * 0.8,
                         "the response waited for the module (%.0f ms)" %
                         (took * 1000))
                t.ok(not os.path.exists(pidf), "the pid file is removed")
                t.ok(srv.wait_log(r"master: %s: stopping 2 worker\(s\) "
                                  r"gracefully" % hwtest.log_name(sig), 1),
                     "the master logs a graceful stop")
                bad = unexpected_san(srv)
                t.ok(not bad, "no sanitizer report", bad[:5])

    with t.block("SIGINT with a 60 s deferred request pending"):
        d = hwtest.make_tmpdir("int")
        pidf = os.path.join(d, "haywire.pid")
        with hwtest.Server(routes=routes(), workers=2, workdir=d,
                           args=["--pid-file", pidf], name="int") as srv:
            wait_workers(srv)
            c = Conn(srv.port, timeout=10 * SLOW)
            c.send(get("/delay/x?ms=60000"))
            time.sleep(0.2)
            t0 = time.monotonic()
            srv.send_signal(signal.SIGINT)
            rc = wait_exit(srv, 10 * SLOW)
            took = time.monotonic() - t0
            t.is_(rc, 0, "the master exits 0")
            t.cmp_ok(took, "<", 1.0 * SLOW, "at once (%.0f ms)" %
                     (took * 1000))
            closed, data = c.read_until_close(2)
            t.ok(closed and b"HTTP/1.1 200" not in data,
                 "the pending request gets no 200", data[:200])
            c.close()
            t.ok(not os.path.exists(pidf), "the pid file is removed")
            bad = unexpected_san(srv)
            t.ok(not bad, "no sanitizer report", bad[:5])


# ---------------------------------------------------------------------------
# 8. A failed reload with workers.

def test_failed_reload():
    with t.block("failed reload (ABI major mismatch)"):
        old = reload_cfg("old")
        with hwtest.Server(config=old, name="rfail") as srv:
            kids = wait_workers(srv)
            new = reload_cfg("new")
            new["routes"][0] = route("/r", hwtest.fixture("abi_major"))
            mark = len(srv.log_lines())
            rewrite(srv, new)
            srv.send_signal(signal.SIGHUP)
            v = find_line(srv, VERDICT_RE, mark, 10 * SLOW)
            line = v[2] if v else ""
            t.like(line, r"master: reload failed: ",
                   "the master logs `reload failed:`")
            t.like(line, r"abi_major\.(?:so|dll)", "naming the module")
            t.like(line, r"still serving generation 1$",
                   "and `still serving generation 1`")
            t.is_(count(srv, ACTIVE_RE, mark), 0, "no generation activated")
            bodies, pids, errs = {}, set(), []
            for i in range(100):
                try:
                    with Conn(srv.port) as c:
                        c.send(get("/echo") + get("/r"))
                        r1, r2 = c.read_responses(2)
                    w = int(r1.header("X-Worker", "0"))
                    pids.add(w)
                    bodies.setdefault(w, set()).add(r2.body)
                except (OSError, hwtest.ProtocolError) as e:
                    errs.append(str(e))
                if len(pids) >= 2 and i >= 20:
                    break
            t.is_(errs, [], "requests after the failed reload succeed")
            t.is_(sorted(pids), kids, "both workers answer, the same ones "
                  "as before")
            t.ok(bodies and all(v == {b"old"} for v in bodies.values()),
                 "both serve the old answer", bodies)
            stop_check(srv)


# ---------------------------------------------------------------------------
# 9. The single-process mode.

def test_single():
    for args in (["--single"], ["--workers", "0"]):
        with t.block(" ".join(args)):
            with hwtest.Server(routes=routes(), workers=2, args=args,
                               name="single") as srv:
                r, err, _ = fetch(srv.port, "/hello")
                t.ok(r is not None and r.status == 200 and r.body == HELLO,
                     "serves /hello", err or r)
                r, err, _ = fetch(srv.port, "/echo")
                t.is_(r.header("X-Worker") if r else err, str(srv.pid),
                      "the process itself answers (X-Worker is its pid)")
                if WINE:
                    # (No /proc children of a Windows pid: no worker in
                    # the log instead.)
                    t.is_(count(srv, r"worker \d+ \(pid \d+\)"), 0,
                          "no child processes (no worker in the log)")
                else:
                    t.is_(children(srv.pid), [], "no child processes")
                t.is_(count(srv, r"master: "), 0, "no master in the log")
                stop_check(srv)


def test_busy_port():
    """SO_REUSEPORT would let a second master join the first's port and
    take a share of its connections: it must fail as any server does on a
    busy address."""
    with t.block("a second master on the first's port"):
        with hwtest.Server(routes=routes(), workers=2, name="first") as srv:
            addr = "127.0.0.1:%d" % srv.port
            d = hwtest.make_tmpdir("second")
            conf = hwtest.write_config(os.path.join(d, "routes.json"), {
                "listen": [addr], "workers": 2,
                "modules_dir": hwtest.MODULES_DIR, "routes": routes()})
            rc, out, err = hwtest.run_haywire(["-c", conf], timeout=20)
            # (On Windows the master's one socket per address is bound
            # with SO_EXCLUSIVEADDRUSE: the bind itself fails, and the
            # system's message says why, with no probe's words after it.)
            why = "" if WINE else r" \(another server listens there\)"
            t.ok(rc == 1 and re.search(
                r"routes\.json: cannot listen on %s: address already in use"
                r"%s" % (re.escape(addr), why), err),
                "it exits 1: address already in use", rc, err)
            pids = set()
            for _ in range(20):
                r, e, _ = fetch(srv.port, "/echo")
                pids.add(r.header("X-Worker") if r else e)
            t.ok(pids <= set(str(p) for p in worker_children(srv)),
                 "the first server's workers answer every request", pids)


def test_replaced_binary():
    """`make install` over a running server unlinks its binary: workers it
    starts later and reload preflights still run the server's own code."""
    with t.block("the binary replaced on disk while it runs"):
        if hwtest.skip_on_wine(
                "Windows cannot replace a running .exe on disk (and the "
                "worker to kill is found among /proc's children and killed "
                "with SIGKILL)", 3):
            return
        d = hwtest.make_tmpdir("binary")
        exe = os.path.join(d, "haywire")
        shutil.copy2(hwtest.HAYWIRE, exe)
        conf = hwtest.write_config(os.path.join(d, "routes.json"), {
            "listen": ["127.0.0.1:0"], "workers": 2, "pid_file": "hw.pid",
            "modules_dir": hwtest.MODULES_DIR, "routes": routes()})
        logf = open(os.path.join(d, "log"), "w+b")
        p = subprocess.Popen([exe, "-c", conf], cwd=d,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=logf,
                             start_new_session=True)
        try:
            hwtest.poll(lambda: len(children(p.pid)) == 2, 10 * SLOW)
            shutil.copy2(exe, exe + ".new")
            os.rename(exe + ".new", exe)  # what install(1) does
            rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "reload"])
            t.ok(rc == 0 and "generation 2 active" in out,
                 "a reload after the binary was replaced works", rc, err)
            victim = children(p.pid)[0]
            os.kill(victim, signal.SIGKILL)

            def log_text():
                logf.seek(0)
                return logf.read().decode("utf-8", "replace")
            # The replacement's "serving" line comes once it is ready, later
            # than the process (slowly under a sanitizer).
            log = hwtest.poll(lambda: re.search(
                r"worker \d \(pid (?!%d\))\d+\) serving generation 2" %
                victim, log_text()) and log_text(), 10 * SLOW) or log_text()
            t.ok(re.search(r"worker \d \(pid (?!%d\))\d+\) serving "
                           r"generation 2" % victim, log) and
                 "cannot start worker" not in log,
                 "a killed worker is replaced", log[-2000:])
            rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "quit"])
            t.ok(rc == 0 and p.wait(20 * SLOW) == 0, "then it stops", err)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            logf.close()


def main():
    test_busy_port()
    test_replaced_binary()
    test_both_serve()
    test_crash_survival()
    test_crash_route()
    test_reload_under_load()
    test_reloads_and_restarts()
    test_stop_signals()
    test_failed_reload()
    test_single()


hwtest.run(main)
