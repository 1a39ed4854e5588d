#!/usr/bin/env python3
"""The binary upgrade (SIGUSR2, `haywire -s upgrade`), against a master
with two workers started from a copy of the binary in a temporary
directory: a failed upgrade (a config that does not load, a binary that is
missing) logs one line naming the cause and changes nothing; the binary is
replaced on disk (a new file renamed over the copy) and `-s upgrade` starts
a new master running the new file, with the pid file naming it and
`.oldbin` the old one; SIGQUIT to the old master drains it softly (an idle
keep-alive connection gets its next request answered with `Connection:
close`, another is closed only when its keep-alive timeout passes); under
a bounded load of keep-alive and one-request connections no connection is
refused and no request fails across the upgrade; and a rollback (SIGQUIT
to the new master) leaves the old one serving with its pid file back, again
without a failure."""

import os
import re
import shutil
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, get, route  # noqa: E402

SLOW = 3.0 if hwtest.SAN_CFLAGS else 1.0
KEEPALIVE_MS = 2000


def config():
    return {"listen": ["127.0.0.1:0"], "workers": 2,
            "modules_dir": hwtest.MODULES_DIR, "pid_file": "hw.pid",
            "timeouts_ms": {"keepalive": KEEPALIVE_MS},
            "routes": [route("/hello", "hello.so")]}


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ctl(srv, word, timeout=120):
    """`haywire --pid-file <the server's> -s WORD` (by the pid file: the
    config may be broken on purpose)."""
    return hwtest.run_haywire(["--pid-file",
                               os.path.join(srv.workdir, "hw.pid"), "-s",
                               word], timeout=timeout)


class Load:
    """Keep-alive clients sending back to back (a new connection when the
    server says close), and clients opening a connection per request; each
    request must get a complete 200.  Bounded: stops when told, or after
    `limit` seconds."""

    def __init__(self, port, limit=30.0):
        self.port, self.limit = port, limit
        self.ok = 0
        self.failures = []
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(keep,),
                                         daemon=True)
                        for keep in (True, True, False, False)]

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def count(self):
        with self.lock:
            return self.ok

    def run(self, keep):
        end = time.monotonic() + self.limit
        c = None
        while not self.stop_ev.is_set() and time.monotonic() < end:
            try:
                if c is None:
                    c = hwtest.Conn(self.port, timeout=10)
                c.send(get("/hello"))
                r = c.read_response()
                if r.status != 200 or r.body != b"Hello, World!":
                    raise hwtest.ProtocolError("got %r" % r)
                with self.lock:
                    self.ok += 1
                if not keep or "close" in r.connection_tokens():
                    c.close()
                    c = None
            except Exception as e:  # noqa: BLE001 (every failure counts)
                with self.lock:
                    self.failures.append(repr(e))
                if c is not None:
                    c.close()
                c = None
            time.sleep(0.002)
        if c is not None:
            c.close()

    def finish(self):
        self.stop_ev.set()
        for th in self.threads:
            th.join(15)
        return self.failures


def test_failures(srv, d, exe, pidf):
    with t.block("a failed upgrade changes nothing"):
        good = open(srv.config_path).read()
        hwtest.write_config(srv.config_path, "{ not json")
        rc, out, err = ctl(srv, "upgrade")
        t.ok(rc not in (0, None), "-s upgrade exits non-zero when the new "
             "master cannot load its config", rc, out, err)
        t.like(err, r"upgrade failed: new master \d+ exited with status 1 "
               r"before it was ready: .*routes\.json", "and says why: the "
               "new master's own error, naming the file")
        t.ok(srv.wait_log(r"\[error\] master: upgrade failed: new master \d+ "
                          r"exited .*routes\.json", 5 * SLOW),
             "the old master logs one line naming the cause")
        hwtest.write_config(srv.config_path, good)
        t.is_(read(pidf), str(srv.pid), "the pid file is untouched")
        t.ok(not os.path.exists(pidf + ".oldbin"), "no .oldbin")
        t.is_(hwtest.one(srv.port, get("/hello")).status, 200,
              "the old master serves on")

        os.rename(exe, exe + ".away")
        try:
            os.kill(srv.pid, signal.SIGUSR2)
            t.ok(srv.wait_log(r"upgrade failed: cannot start a new master "
                              r"from %s: No such file" % re.escape(exe),
                              5 * SLOW),
                 "SIGUSR2 with the binary missing: one line naming the path")
        finally:
            os.rename(exe + ".away", exe)
        t.is_(read(pidf), str(srv.pid), "the pid file is still untouched")
        t.ok(not os.path.exists(pidf + ".oldbin"), "still no .oldbin")
        t.is_(hwtest.one(srv.port, get("/hello")).status, 200,
              "and the old master still serves")


def replace_binary(exe):
    """A new file renamed over the copy, as `make install` does: another
    inode (a few bytes appended leave an ELF file runnable)."""
    shutil.copyfile(hwtest.HAYWIRE, exe + ".new")
    with open(exe + ".new", "ab") as f:
        f.write(b"\0new build\0")
    os.chmod(exe + ".new", 0o755)
    os.rename(exe + ".new", exe)
    return os.stat(exe).st_ino


def test_upgrade(srv, exe, pidf):
    old = srv.pid
    with t.block("upgrade under load, then SIGQUIT to the old master"):
        ino = replace_binary(exe)
        load = Load(srv.port).start()
        # An idle keep-alive connection that will send a request after the
        # old master was told to quit, and one that stays idle.
        a, b = hwtest.Conn(srv.port), hwtest.Conn(srv.port)
        for c in (a, b):
            c.send(get("/hello"))
            t.is_(c.read_response().status, 200, "a keep-alive connection "
                  "to the old master")
        time.sleep(0.3)
        before = load.count()
        rc, out, err = ctl(srv, "upgrade")
        t.is_(rc, 0, "-s upgrade exits 0 once the new master is ready")
        new = int(read(pidf) or 0)
        t.ok(new != old and alive(new), "the pid file names the new master",
             new, out, err)
        t.is_(read(pidf + ".oldbin"), str(old), ".oldbin names the old one")
        t.like(out, r"new master %d serves" % new, "-s upgrade says which")
        t.is_(os.stat("/proc/%d/exe" % new).st_ino, ino,
              "the new master runs the new file on disk")
        t.like(os.readlink("/proc/%d/exe" % old), r"\(deleted\)$",
               "the old one, the replaced file")
        t.ok(srv.wait_log(r"master: adopted 2 inherited listening socket",
                          5 * SLOW), "the new master adopted the 2 sockets")
        t.ok(srv.wait_log(r"upgrade: new master %d started from %s" %
                          (new, exe.replace(".", r"\.")), 1),
             "the old master logged where it started it from")
        old_workers = [p for p in hwtest.children(old) if p != new]
        time.sleep(0.3)

        quit_at = time.monotonic()
        os.kill(old, signal.SIGQUIT)
        time.sleep(0.5)
        a.send(get("/hello"))
        r = a.read_response()
        t.ok(r.status == 200 and "close" in r.connection_tokens(),
             "an idle keep-alive connection's next request after SIGQUIT: "
             "200 with Connection: close", r)
        b.sock.settimeout(10)
        try:
            got = b.sock.recv(100)
        except OSError as e:
            got = repr(e)
        waited = time.monotonic() - quit_at
        t.ok(got == b"" and KEEPALIVE_MS / 1000 - 0.6 <= waited <= 6 * SLOW,
             "an idle one is closed (a FIN) when its keep-alive timeout "
             "passes, not at once", got, waited)
        a.close()
        b.close()
        t.ok(hwtest.poll(lambda: srv.proc.poll() is not None, 10 * SLOW),
             "the old master exits")
        t.is_(srv.proc.returncode, 0, "with status 0")
        t.ok(not any(alive(p) for p in old_workers),
             "and its workers are gone", old_workers)
        after = load.count()
        time.sleep(0.5)
        t.ok(load.count() > after, "the new generation alone serves the load")
        fails = load.finish()
        t.ok(before > 0, "the old generation served the load before",
             before)
        t.is_(len(fails), 0, "no refused connection, no failed request in "
              "%d" % load.count(), *fails[:5])
        t.ok(not os.path.exists(pidf + ".oldbin"), ".oldbin went with the "
             "old master")
        t.is_(read(pidf), str(new), "the pid file names the new master")
    return new


def test_rollback(srv, pidf, middle):
    with t.block("upgrade again, then roll back (SIGQUIT to the new one)"):
        load = Load(srv.port).start()
        time.sleep(0.3)
        rc, out, err = ctl(srv, "upgrade")
        t.ok(rc == 0, "-s upgrade exits 0", rc, out, err)
        newest = int(read(pidf) or 0)
        t.ok(newest not in (0, middle) and alive(newest), "a newer master",
             newest)
        t.is_(read(pidf + ".oldbin"), str(middle), ".oldbin names the one "
              "that started it")
        rc, out, err = ctl(srv, "upgrade", timeout=30)
        t.ok(rc not in (0, None) and "still serves beside it" in err,
             "an upgrade of the new master while the old one serves is "
             "refused", rc, err)
        os.kill(middle, signal.SIGUSR2)
        t.ok(srv.wait_log(r"upgrade failed: a new master already serves "
                          r"beside this one", 5 * SLOW),
             "and so is one of the old master")
        time.sleep(0.3)
        os.kill(newest, signal.SIGQUIT)
        t.ok(hwtest.poll(lambda: not alive(newest), 10 * SLOW),
             "the new master exits")
        t.ok(hwtest.poll(lambda: read(pidf) == str(middle), 5 * SLOW),
             "the pid file names the old master again", read(pidf))
        t.ok(not os.path.exists(pidf + ".oldbin"), "no .oldbin")
        t.ok(srv.wait_log(r"upgrade: new master %d exited with status 0; "
                          r"this master \(pid %d\) serves alone again" %
                          (newest, middle), 5 * SLOW),
             "the old master logs the rollback")
        n = load.count()
        time.sleep(0.5)
        t.ok(load.count() > n, "the old master serves on")
        fails = load.finish()
        t.is_(len(fails), 0, "no refused connection, no failed request in "
              "%d" % load.count(), *fails[:5])
        rc, out, err = ctl(srv, "quit", timeout=60)
        t.ok(rc == 0, "-s quit stops the remaining master", rc, err)
        t.ok(not alive(middle) and not os.path.exists(pidf),
             "which removes its pid file")


def main():
    d = hwtest.make_tmpdir("upgrade")
    exe = os.path.join(d, "haywire")
    shutil.copyfile(hwtest.HAYWIRE, exe)
    os.chmod(exe, 0o755)
    hwtest.HAYWIRE = exe  # the server runs from the copy
    pidf = os.path.join(d, "hw.pid")
    with hwtest.Server(config=config(), workdir=d, name="upgrade") as srv:
        hwtest.poll(lambda: srv.wait_log(r"worker 2 \(pid \d+\) serving", 0),
                    10 * SLOW)
        test_failures(srv, d, exe, pidf)
        middle = test_upgrade(srv, exe, pidf)
        if middle:
            test_rollback(srv, pidf, middle)
        # Whatever is left (a test that failed half-way) goes with the
        # process group when the harness kills it.


hwtest.run(main)
