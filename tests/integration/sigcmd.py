#!/usr/bin/env python3
"""`haywire -s reload|stop|quit|reopen` and the pid file, against the real
server (a master with two workers, and the single process): the pid file is
the config's "pid_file" (relative to the config's directory) unless
--pid-file names another; `-s reload` exits 0 with the new generation, or 1
with the server's reason (a missing module, a bad key) while the old
generation keeps serving, and its outcome is the master's record beside the
pid file; reloads asked at once all get an answer that saw the last edit;
`-s reopen` reaches every worker and ends none; `-s quit` lets a request in
flight finish, `-s stop` does not wait for it, both return once the server
has exited and the pid file is gone; a second server refuses a pid file
that names a running one; and every wrong use gets one clear line: an
unknown word (exit 2 and the usage), no pid file, a stale one, one naming a
process that is not Haywire (not signalled), a config that is not JSON, a
pid file that cannot be written, a bad "pid_file" value."""

import os
import re
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
SLOW = 3.0 if hwtest.SAN_CFLAGS else 1.0


def config(routes=None, workers=2, **extra):
    c = {"listen": ["127.0.0.1:0"], "workers": workers,
         "modules_dir": hwtest.MODULES_DIR, "pid_file": "run/hw.pid",
         "routes": routes if routes is not None else
         [route("/hello", "hello.so"), route("/delay", "delay.so")]}
    c.update(extra)
    return c


def ctl(srv, word, *more, timeout=60):
    """`haywire -c <srv's config> -s WORD`: (rc, stdout, stderr)."""
    return hwtest.run_haywire(["-c", srv.config_path, "-s", word] +
                              list(more), timeout=timeout)


def status(port, path="/hello"):
    try:
        return hwtest.one(port, get(path)).status
    except (OSError, hwtest.ProtocolError) as e:
        return repr(e)


def wait_workers(srv):
    return all(srv.wait_log(r"worker %d \(pid \d+\) serving" % k, 10 * SLOW)
               for k in (1, 2))


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return "<%s>" % e


def record(path):
    """The reload record as a dict (empty if absent)."""
    out = {}
    for line in read(path).splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


def exit_code(srv, timeout):
    try:
        return srv.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def test_reload():
    with t.block("the pid file and -s reload (master, 2 workers)"):
        d = hwtest.make_tmpdir("sigcmd")
        os.mkdir(os.path.join(d, "run"))
        with hwtest.Server(config=config(), workdir=d, name="reload") as srv:
            wait_workers(srv)
            pidf = os.path.join(d, "run", "hw.pid")
            rec = pidf + ".reload"
            t.is_(read(pidf).strip(), str(srv.pid),
                  "the config's pid_file, relative to the config's "
                  "directory, holds the master's pid")
            t.ok(not os.path.exists(rec), "no reload record before a reload")

            rc, out, err = ctl(srv, "reload")
            t.ok(rc == 0, "-s reload exits 0", rc, err)
            t.like(out, r"reload: generation 2 active", "and says which "
                   "generation is active")
            r = record(rec)
            t.ok(r.get("pid") == str(srv.pid) and r.get("sequence") == "1"
                 and r.get("generation") == "2" and r.get("result") == "ok",
                 "the master recorded it beside the pid file", r)

            # A route added by the edit serves once -s reload returned: the
            # reload it waited for read the file after the edit.
            c = config()
            c["routes"].append(route("/added", "hello.so",
                                     {"body": "added"}))
            hwtest.write_config(srv.config_path, c)
            rc, out, err = ctl(srv, "reload")
            t.ok(rc == 0, "a reload that adds a route exits 0", rc, err)
            t.is_(status(srv.port, "/added"), 200,
                  "the new route answers as soon as -s reload returned")

            # Every way a reload fails: exit 1, the server's own reason, and
            # the last good generation keeps serving.
            for what, cfg, want in (
                    ("a missing module",
                     config([route("/hello", "no-such-module.so")]),
                     r"no-such-module\.(?:so|dll)"),
                    ("an unknown key", config(bogus_key=1),
                     r"bogus_key.*unknown key"),
                    ("a route config the module refuses",
                     config([route("/hello", "delay.so",
                                   {"ms": "soon"})]),
                     r"routes\[0\]")):
                hwtest.write_config(srv.config_path, cfg)
                rc, out, err = ctl(srv, "reload")
                t.ok(rc == 1, "%s: -s reload exits 1" % what, rc, out + err)
                t.like(err, r"reload failed: .*" + want,
                       "%s: and prints the server's reason" % what)
                t.like(err, r"still serving generation 3",
                       "%s: naming the generation still serving" % what)
                t.is_(status(srv.port, "/added"), 200,
                      "%s: the last good generation serves" % what)
            r = record(rec)
            t.ok(r.get("result") == "failed" and r.get("sequence") == "5" and
                 r.get("generation") == "3" and "reason" in r,
                 "the last record says failed, with its reason", r)

            # A config that is not JSON: -s cannot read its pid_file, says
            # so, and does not signal the server.
            with open(srv.config_path, "w") as f:
                f.write('{"routes": [')
            n_reads = len(re.findall(r"reload: reading",
                                     "\n".join(srv.log_lines())))
            rc, out, err = ctl(srv, "reload")
            t.is_(rc, 1, "a config that is not JSON: exit 1")
            t.like(err, r"invalid JSON.*not signalled",
                   "it names the JSON error and says nothing was signalled")
            time.sleep(0.2)
            t.is_(len(re.findall(r"reload: reading",
                                 "\n".join(srv.log_lines()))), n_reads,
                  "and the server was not asked to reload")

            # Reloads asked at once coalesce in the server; each -s waits
            # for one that began after its own signal.
            c = config()
            c["routes"].append(route("/late", "hello.so", {"body": "late"}))
            hwtest.write_config(srv.config_path, c)
            results = []

            def one():
                results.append(ctl(srv, "reload"))
            threads = [threading.Thread(target=one) for _ in range(4)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(90)
            t.ok(len(results) == 4 and all(r[0] == 0 for r in results),
                 "four reloads asked at once all exit 0",
                 [r[0] for r in results], [r[2] for r in results])
            t.is_(status(srv.port, "/late"), 200,
                  "the edit they were about serves")
            seq = int(record(rec).get("sequence", "0"))
            t.cmp_ok(seq, "<=", 9, "they took at most four more reloads "
                     "(sequence %d)" % seq)

            # --pid-file beats the config's pid_file.
            rc, out, err = hwtest.run_haywire(
                ["-c", srv.config_path, "--pid-file",
                 os.path.join(d, "elsewhere.pid"), "-s", "reload"])
            t.is_(rc, 1, "--pid-file names another (absent) file: exit 1")
            t.like(err, r"elsewhere\.pid does not exist: no server is "
                   r"running", "which it names")

            # -s reopen reaches every worker and ends none.
            pids = sorted(hwtest.children(srv.pid))
            rc, out, err = ctl(srv, "reopen")
            t.ok(rc == 0, "-s reopen exits 0", rc, err)
            usr1 = hwtest.log_name(signal.SIGUSR1)
            t.ok(srv.wait_log(usr1 + r": 2 worker\(s\) reopen", 5 * SLOW) and
                 srv.wait_log(r"worker 1: " + usr1, 5 * SLOW) and
                 srv.wait_log(r"worker 2: " + usr1, 5 * SLOW),
                 "the master passes it on to both workers")
            time.sleep(0.2)
            if not hwtest.skip_on_wine("workers are found in /proc", 1):
                t.ok(srv.alive() and
                     sorted(hwtest.children(srv.pid)) == pids,
                     "no process ended", pids,
                     hwtest.children(srv.pid))
            t.is_(status(srv.port), 200, "and it serves")

            # A second server with the same pid file is refused.
            second = hwtest.Server(config=config(), workdir=d,
                                   config_rel="second.json", name="second")
            try:
                second.start()
                started = True
            except hwtest.ServerError:
                started = False
            t.ok(not started and second.returncode in (None, 1) and
                 re.search(r"the pid file .*hw\.pid is held by Haywire "
                           r"process %d, which is running" % srv.pid,
                           second.log()),
                 "a second server on the same pid file is refused, naming it",
                 second.log())
            second.kill()
            t.is_(read(pidf).strip(), str(srv.pid),
                  "the pid file still names the first")
            t.is_(status(srv.port), 200, "which still serves")

            # -s quit: graceful; returns once the server has exited.
            # The connection is the worker's before the request goes: a
            # request still in the kernel's backlog is not "in flight".
            c = Conn(srv.port, timeout=10 * SLOW)
            c.send(get("/hello"))
            t.is_(getattr(c.read_response(), "status", None), 200,
                  "a connection the worker has accepted")
            c.send(get("/delay/x?ms=600"))
            time.sleep(0.3)
            t0 = time.monotonic()
            rc, out, err = ctl(srv, "quit")
            took = time.monotonic() - t0
            try:
                r = c.read_response()
            except (OSError, hwtest.ProtocolError) as e:
                r = e
            c.close()
            t.ok(rc == 0, "-s quit exits 0", rc, err)
            t.ok(getattr(r, "status", None) == 200,
                 "the request in flight finished with 200", r)
            t.ok(not srv.alive() or exit_code(srv, 0.5) is not None,
                 "the server had exited when -s quit returned "
                 "(%.0f ms)" % (took * 1000))
            t.is_(exit_code(srv, 5), 0, "with status 0")
            t.ok(not os.path.exists(pidf) and not os.path.exists(rec),
                 "the pid file and the reload record are gone",
                 os.listdir(os.path.join(d, "run")))
            rc, out, err = ctl(srv, "reload")
            t.is_(rc, 1, "-s reload with no server: exit 1")
            t.like(err, r"hw\.pid does not exist: no server is running",
                   "no server is running")


def test_coalesced():
    """A reload is running (held: a worker is stopped, so its answer is
    due) when the user edits the config and runs -s reload: the record that
    comes next is the running reload's, which read the file before the
    edit; -s must wait for the one after."""
    with t.block("-s reload while a reload is under way"):
        if hwtest.skip_on_wine("a worker cannot be held with SIGSTOP", 4):
            return
        d = hwtest.make_tmpdir("sigcmd3")
        os.mkdir(os.path.join(d, "run"))
        with hwtest.Server(config=config(), workdir=d, name="coal") as srv:
            wait_workers(srv)
            m = re.search(r"worker 1 \(pid (\d+)\) serving",
                          "\n".join(srv.log_lines()))
            w1 = int(m.group(1))
            os.kill(w1, signal.SIGSTOP)
            try:
                srv.send_signal(signal.SIGHUP)
                t.ok(srv.wait_log(r"worker 2: generation 2 active",
                                  10 * SLOW),
                     "reload A is under way (worker 2 took generation 2, "
                     "worker 1 is stopped)")
                # The edit's reload takes a second (its module's init is
                # slow), so that the record of A is there to be mistaken
                # for it long enough.
                c = config()
                c["routes"].append(route("/edited", hwtest.fixture("behave"),
                                         {"init_ms": 1000}))
                hwtest.write_config(srv.config_path, c)
                result = []
                th = threading.Thread(
                    target=lambda: result.append(ctl(srv, "reload")))
                th.start()
                time.sleep(0.5)
                t.ok(th.is_alive(), "-s reload waits while A is held")
            finally:
                os.kill(w1, signal.SIGCONT)
            th.join(60)
            rc, out, err = result[0] if result else (None, "", "")
            t.ok(rc == 0 and "generation 3 active" in out,
                 "-s reload reports generation 3, the reload after its "
                 "signal, not A's generation 2", rc, out, err)
            t.is_(status(srv.port, "/edited"), 200,
                  "the edit serves when -s reload returns")


class RawMaster:
    """A master started straight (hwtest.Server waits for it to listen;
    these tests signal it before), its log in a file (a pipe nobody reads
    would fill and stop it).  quit() runs -s quit and returns (-s's exit
    status, -s's stderr, the master's exit status, its log)."""

    def __init__(self, d, routes=None):
        self.conf = os.path.join(d, "routes.json")
        self.pidf = os.path.join(d, "run", "hw.pid")
        os.mkdir(os.path.join(d, "run"))
        hwtest.write_config(self.conf, config(routes))
        self.logf = open(os.path.join(d, "log"), "w+b")
        self.p = subprocess.Popen(hwtest.HAYWIRE_ARGV + ["-c", self.conf], cwd=d,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL,
                                  stderr=self.logf, start_new_session=True)
        hwtest.poll(lambda: os.path.exists(self.pidf), 10 * SLOW)

    def quit(self):
        rc, out, err = hwtest.run_haywire(["-c", self.conf, "-s", "quit"])
        try:
            code = self.p.wait(20 * SLOW)
        except subprocess.TimeoutExpired:
            code = None
        self.logf.seek(0)
        return rc, err, code, self.logf.read().decode("utf-8", "replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.logf.close()


def test_start_window():
    """Signals that reach the master while it starts: the pid file exists
    from the start, so -s can find a master whose first generation is
    still being checked (a module whose init takes 1.5 s) or whose workers
    are starting."""
    with t.block("-s quit while the first generation is checked"):
        with RawMaster(hwtest.make_tmpdir("sigcmd4"), [
                route("/slow", hwtest.fixture("behave"),
                      {"init_ms": 1500})]) as m:
            rc, err, code, log = m.quit()
            t.ok(rc == 0, "-s quit exits 0", rc, err)
            t.is_(code, 0, "the master exits 0 (a stop, not a failed start)")
            t.ok("[error]" not in log and "stopped before the first "
                 "generation served" in log,
                 "it logs no error: it stopped before serving", log)
            t.ok(not os.path.exists(m.pidf), "the pid file is gone")

    with t.block("SIGUSR1 while the workers start"):
        with RawMaster(hwtest.make_tmpdir("sigcmd5")) as m:
            # From the moment the pid file exists until well after the
            # workers serve, a reopen every 2 ms.
            end = time.monotonic() + 1.0 * SLOW
            sent = 0
            while time.monotonic() < end and m.p.poll() is None:
                os.kill(m.p.pid, signal.SIGUSR1)
                sent += 1
                time.sleep(0.002)
            rc, err, code, log = m.quit()
            t.ok(sent > 50 and "killed by signal" not in log and
                 "[error]" not in log,
                 "%d SIGUSR1 while starting: no worker killed, no error" %
                 sent, log[-3000:])
            t.ok(rc == 0 and code == 0, "then -s quit: exit 0", rc, code,
                 err)

    with t.block("four servers started at once on one pid file"):
        d = hwtest.make_tmpdir("sigcmd6")
        pidf = os.path.join(d, "hw.pid")
        procs = []
        for i in range(4):
            conf = os.path.join(d, "r%d.json" % i)
            hwtest.write_config(conf, dict(config(workers=0),
                                           pid_file="hw.pid"))
            procs.append(subprocess.Popen(
                hwtest.HAYWIRE_ARGV + ["-c", conf], cwd=d,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
        try:
            time.sleep(1.5 * SLOW)
            running = [q for q in procs if q.poll() is None]
            refused = [q for q in procs if q.returncode == 1]
            t.ok(len(running) == 1 and len(refused) == 3,
                 "one serves, three are refused",
                 [q.returncode for q in procs])
            if not hwtest.skip_on_wine(
                    "the pid file holds a Windows pid, not wine's", 1):
                t.is_(read(pidf).strip(),
                      str(running[0].pid) if running else "?",
                      "the pid file names the one that serves")
        finally:
            for q in procs:
                if q.poll() is None:
                    q.terminate()
                    q.wait(10)


def test_single_and_stop():
    with t.block("single process: -s reload, -s stop"):
        d = hwtest.make_tmpdir("sigcmd1")
        os.mkdir(os.path.join(d, "run"))
        with hwtest.Server(config=config(workers=0), workdir=d,
                           name="single") as srv:
            pidf = os.path.join(d, "run", "hw.pid")
            t.is_(read(pidf).strip(), str(srv.pid), "the pid file")
            rc, out, err = ctl(srv, "reload")
            t.ok(rc == 0, "-s reload exits 0", rc, err)
            t.like(out, r"generation 2 active", "generation 2")
            hwtest.write_config(srv.config_path, config(workers=3))
            rc, out, err = ctl(srv, "reload")
            t.ok(rc == 0 and srv.wait_log(r'a change of "workers" takes a '
                                          r'restart', 5 * SLOW),
                 "a reload that changes \"workers\" says it takes a restart",
                 rc, err)
            hwtest.write_config(srv.config_path,
                                config([route("/hello", "nope.so")],
                                       workers=0))
            rc, out, err = ctl(srv, "reload")
            t.ok(rc == 1 and re.search(r"reload failed: .*nope\.(?:so|dll)", err),
                 "a failed reload: exit 1 with the reason", rc, err)
            t.is_(status(srv.port), 200, "generation 3 serves")
            # -s stop is the fast stop: a 60 s request does not hold it.
            c = Conn(srv.port, timeout=10 * SLOW)
            c.send(get("/delay/x?ms=60000"))
            time.sleep(0.2)
            t0 = time.monotonic()
            rc, out, err = ctl(srv, "stop")
            took = time.monotonic() - t0
            c.close()
            t.ok(rc == 0, "-s stop exits 0", rc, err)
            t.cmp_ok(took, "<", 5 * SLOW, "at once (%.0f ms), the pending "
                     "request cut" % (took * 1000))
            t.is_(exit_code(srv, 5), 0, "the server exited 0")
            t.ok(not os.path.exists(pidf), "the pid file is gone")


def refuses_other_process(conf, pidf):
    """A pid file naming a live process that is not Haywire: -s refuses,
    and never signals it."""
    victim = subprocess.Popen(["sleep", "30"])
    try:
        with open(pidf, "w") as f:
            f.write("%d\n" % victim.pid)
        for word in ("reload", "stop", "quit", "reopen"):
            rc, out, err = hwtest.run_haywire(["-c", conf, "-s", word])
            t.ok(rc == 1 and re.search(
                r"names process %d, which is not Haywire: refusing" %
                victim.pid, err),
                "-s %s on a pid file naming sleep(1): exit 1, refused" %
                word, rc, err)
        time.sleep(0.1)
        t.is_(victim.poll(), None, "and sleep(1) was not signalled")
    finally:
        victim.kill()
        victim.wait()


def test_wrong_uses():
    d = hwtest.make_tmpdir("sigcmd2")
    conf = os.path.join(d, "routes.json")
    pidf = os.path.join(d, "run", "hw.pid")
    os.mkdir(os.path.join(d, "run"))
    hwtest.write_config(conf, config())

    with t.block("-s: usage errors and pid files naming no server"):
        rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "restart"])
        t.is_(rc, 2, "an unknown word exits 2")
        t.like(err, r'unknown signal "restart" \(reload, stop, quit, '
               r'reopen or upgrade\)', "naming the words it knows")
        t.like(err, r"usage: haywire", "with the usage")
        rc, out, err = hwtest.run_haywire(["--no-such-option"])
        t.is_(rc, 2, "an unknown option exits 2 too")
        rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "reload",
                                           "--listen", "127.0.0.1:1"])
        t.ok(rc == 2 and "takes no option but -c and --pid-file" in err,
             "-s with --listen: exit 2, it takes no such option", rc, err)
        rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "reload",
                                           "-s", "quit"])
        t.ok(rc == 2 and "-s given twice" in err,
             "-s twice: exit 2", rc, err)
        rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "reload"])
        t.ok(rc == 1 and re.search(r"hw\.pid does not exist: no server is "
                                   r"running", err),
             "no pid file: exit 1, no server is running", rc, err)

        # A pid that no process has (a child that has exited and been
        # reaped).
        p = subprocess.Popen(["true"])
        p.wait()
        with open(pidf, "w") as f:
            f.write("%d\n" % p.pid)
        rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "quit"])
        t.ok(rc == 1 and re.search(r"hw\.pid is stale: process %d is not "
                                   r"running" % p.pid, err),
             "a stale pid file: exit 1, it is stale", rc, err)

        # A live process that is not Haywire: never signalled.  (Under wine a
        # Linux sleep(1) has no Windows pid to write.)
        if not hwtest.skip_on_wine(
                "no Windows pid of a process that is not Haywire", 5):
            refuses_other_process(conf, pidf)
        with open(pidf, "w") as f:
            f.write("not a pid\n")
        rc, out, err = hwtest.run_haywire(["-c", conf, "-s", "reload"])
        t.ok(rc == 1 and re.search(r"does not hold a process id", err),
             "a pid file that holds no number: exit 1", rc, err)
        os.unlink(pidf)

    with t.block("pid_file: bad values and unwritable paths"):
        bad = dict(config(), pid_file=42)
        hwtest.write_config(conf, bad)
        rc, out, err = hwtest.check_config(conf)
        t.ok(rc == 1 and re.search(r"routes\.json: pid_file: must be a "
                                   r"non-empty string", err),
             "\"pid_file\": 42 is refused, naming the file and the key",
             rc, err)
        hwtest.write_config(conf, dict(config(),
                                       pid_file="no/such/dir/hw.pid"))
        # (Not run_haywire, which would give it a --pid-file of its own.)
        rc, out, err = hwtest._run(hwtest.HAYWIRE_ARGV + ["-c", conf], 20)
        t.ok(rc == 1 and re.search(r"cannot write the pid file "
                                   r".*no/such/dir/hw\.pid: no such file",
                                   err),
             "a pid_file that cannot be written stops start-up with one line",
             rc, err)


def main():
    test_reload()
    test_coalesced()
    test_start_window()
    test_single_and_stop()
    test_wrong_uses()


hwtest.run(main)
