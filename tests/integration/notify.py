#!/usr/bin/env python3
"""The service manager's side of `Type=notify` (server/notify.c, through
libsystemd's sd_notify), played without systemd: the test binds the
datagram socket $NOTIFY_SOCKET names, with SO_PASSCRED so that each
message comes with its sender's pid, and starts the server with it.

  * a master with two workers: READY=1 with the generation once every
    worker serves, never before it listens; a reload is RELOADING=1 with
    MONOTONIC_USEC (the CLOCK_MONOTONIC time it began), then READY=1 with
    the new generation; a failed reload is RELOADING=1 then READY=1 with
    the old generation and a status saying it failed; SIGTERM is
    STOPPING=1; every message comes from the master, none from a worker;
  * a single process: the same, from that process;
  * a binary upgrade: the new master says nothing until it takes over,
    then MAINPID=<its pid> and READY=1; the old master's quitting says
    nothing (it is not the service's stop); a rollback (SIGQUIT to the new
    master) gives MAINPID back to the old one, and the new one's exit says
    nothing.

Skipped in a build without libsystemd (configure's --with-systemd).
"""

import array
import os
import shutil
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, route  # noqa: E402

SLOW = 3.0 if hwtest.SAN_CFLAGS else 1.0
SCM_CREDENTIALS = 2
SO_PASSCRED = 16


def built_with_systemd():
    try:
        with open(os.path.join(hwtest.BUILDDIR, "autoconf.h")) as f:
            return "#define HAVE_SYSTEMD 1" in f.read()
    except OSError:
        return False


class Manager:
    """The socket a service manager listens on, and what came."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.got = []  # [(pid, {key: value}, raw)]

    def close(self):
        self.sock.close()

    def _recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS:
                pid = array.array("i", payload[:12])[0]
        text = data.decode()
        fields = dict(line.split("=", 1) for line in text.split("\n")
                      if "=" in line)
        self.got.append((pid, fields, text))
        return self.got[-1]

    def wait(self, key, value=None, timeout=10.0):
        """The first message not yet waited for that has `key` (= value)."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            for i, m in enumerate(self.got):
                if key in m[1] and (value is None or m[1][key] == value):
                    del self.got[i]
                    return m
            left = deadline - time.monotonic()
            if left <= 0 or self._recv(left) is None:
                return None

    def drain(self, seconds=0.3):
        """Everything that comes within `seconds`, taken."""
        end = time.monotonic() + seconds * SLOW
        while time.monotonic() < end:
            self._recv(max(0.01, end - time.monotonic()))
        out, self.got = self.got, []
        return out


def config(workers):
    return {"listen": ["127.0.0.1:0"], "workers": workers,
            "modules_dir": hwtest.MODULES_DIR, "pid_file": "hw.pid",
            "routes": [route("/hello", "hello.so")]}


def start(d, workers, mgr, binary=None):
    os.environ["NOTIFY_SOCKET"] = mgr.path
    try:
        srv = hwtest.Server(config=config(workers), workdir=d,
                            name="notify")
        if binary is not None:
            srv_start = hwtest.HAYWIRE
            hwtest.HAYWIRE = binary
            try:
                srv.start()
            finally:
                hwtest.HAYWIRE = srv_start
        else:
            srv.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    return srv


def check_lifecycle(workers):
    what = "one process" if workers == 0 else "a master"
    d = hwtest.make_tmpdir("notify%d" % workers)
    mgr = Manager(d)
    srv = start(d, workers, mgr)
    try:
        m = mgr.wait("READY", "1")
        t.ok(m is not None, "%s: READY=1" % what)
        t.is_(m and m[1].get("STATUS"), "serving generation 1",
              "%s: STATUS names generation 1" % what)
        t.is_(m and m[0], srv.pid, "%s: from the main process" % what)
        t.is_(hwtest.one(srv.port, hwtest.get("/hello")).status, 200,
              "%s: serving when it said so" % what)

        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        srv.send_signal(signal.SIGHUP)
        r = mgr.wait("RELOADING", "1")
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        t.ok(r is not None, "%s: SIGHUP: RELOADING=1" % what)
        usec = int(r[1].get("MONOTONIC_USEC", "0")) if r else 0
        t.ok(before * 1e6 - 1e3 <= usec <= after * 1e6 + 1e3,
             "%s: MONOTONIC_USEC is when it began (CLOCK_MONOTONIC)" % what,
             usec, before, after)
        m = mgr.wait("READY", "1")
        t.is_(m and m[1].get("STATUS"), "serving generation 2",
              "%s: READY=1 after the reload, generation 2" % what)

        with open(srv.config_path, "w") as f:
            f.write("{ not json")
        srv.send_signal(signal.SIGHUP)
        t.ok(mgr.wait("RELOADING", "1") is not None,
             "%s: a failed reload: RELOADING=1" % what)
        m = mgr.wait("READY", "1")
        t.like(m and m[1].get("STATUS") or "",
               r"^serving generation 2 \(the last reload failed",
               "%s: then READY=1, generation 2 still, and the failure"
               % what)

        srv.send_signal(signal.SIGTERM)
        m = mgr.wait("STOPPING", "1")
        t.ok(m is not None and m[0] == srv.pid,
             "%s: SIGTERM: STOPPING=1 from the main process" % what)
        srv.proc.wait(30)
        rest = mgr.drain(0.2)
        senders = {p for p, _, _ in mgr.got + rest} - {srv.pid}
        t.is_(sorted(senders), [], "%s: no message from any other process"
              % what)
    finally:
        srv.__exit__(None, None, None)
        mgr.close()


def pid_of(path, timeout=20.0):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    return None


def check_upgrade():
    d = hwtest.make_tmpdir("notify-up")
    binary = os.path.join(d, "haywire")
    shutil.copy2(hwtest.HAYWIRE, binary)
    mgr = Manager(d)
    srv = start(d, 1, mgr, binary=binary)
    pidf, oldbin = os.path.join(d, "hw.pid"), os.path.join(d, "hw.pid.oldbin")
    try:
        old = srv.pid
        t.ok(mgr.wait("READY", "1") is not None, "upgrade: the first READY")
        os.kill(old, signal.SIGUSR2)
        m = mgr.wait("MAINPID", timeout=30)
        new = pid_of(pidf)
        t.ok(m is not None and new is not None and new != old and
             m[1]["MAINPID"] == str(new) and m[0] == new and
             m[1].get("READY") == "1",
             "upgrade: the new master says MAINPID=<its pid> with READY=1",
             m, new)
        early = [x for x in mgr.got if x[0] == new and "MAINPID" not in x[1]]
        t.is_(early, [], "upgrade: nothing from the new master before it")
        os.kill(old, signal.SIGQUIT)
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline and os.path.exists("/proc/%d" % old):
            srv.proc.poll()
            time.sleep(0.05)
        rest = mgr.drain(0.3)
        t.is_([x[2] for x in rest if x[0] == old], [],
              "upgrade: the old master quitting says nothing (no STOPPING)")

        # A rollback: upgrade the new master, then SIGQUIT the newest one.
        os.kill(new, signal.SIGUSR2)
        m = mgr.wait("MAINPID", timeout=30)
        newer = m and int(m[1]["MAINPID"])
        t.ok(newer not in (None, new), "rollback: a third master took over")
        os.kill(newer, signal.SIGQUIT)
        m = mgr.wait("MAINPID", str(new), timeout=30)
        t.ok(m is not None and m[0] == new and m[1].get("READY") == "1",
             "rollback: the master before says MAINPID=<its pid> again")
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline and os.path.exists(
                "/proc/%d" % newer):
            time.sleep(0.05)
        rest = mgr.drain(0.3)
        t.is_([x[2] for x in rest if x[0] == newer], [],
              "rollback: the quitting new master says nothing")
        os.kill(new, signal.SIGTERM)
        m = mgr.wait("STOPPING", "1", timeout=15)
        t.ok(m is not None and m[0] == new,
             "the master that serves alone stops: STOPPING=1")
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline and os.path.exists("/proc/%d" % new):
            time.sleep(0.05)
        t.ok(not os.path.exists(oldbin), "no .oldbin left")
    finally:
        for p in (pid_of(pidf, 0.1),):
            if p:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        srv.__exit__(None, None, None)
        mgr.close()


def main():
    if not built_with_systemd():
        t.skip("built without libsystemd (configure --with-systemd)", 1)
        return
    check_lifecycle(2)
    check_lifecycle(0)
    check_upgrade()


if __name__ == "__main__":
    hwtest.run(main)
