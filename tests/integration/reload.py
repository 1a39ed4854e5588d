#!/usr/bin/env python3
"""Hot reload on SIGHUP: a SIGHUP (or SIGTERM) sent as soon as the server
says it listens is handled, not fatal; a new module takes over a prefix on
the next request (keep-alive connections included); reloads under wrk load
(plain and pipelined) lose nothing; every kind of failed reload (bad JSON,
unknown key, missing module, ABI mismatch, failing init, a module that
crashes in init) leaves the old generation serving; a module file
overwritten in place is harmless and is picked up by the next reload; a
deferred request finishes on its old generation before that generation's
fini; the drain deadline cuts off held requests; 200 reloads leave only the
current generation mapped and do not grow RSS; back-to-back SIGHUPs
coalesce; every server exits 0 on SIGTERM and removes its run directory.
The servers run as one process (--single where the binary has it)."""

import glob
import os
import re
import resource
import select
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
from hwtest import t, Conn, get, route, fixture  # noqa: E402

HELLO = b"Hello, World!"
SAN = bool(hwtest.SAN_CFLAGS)
RELOAD_TIMEOUT = 30.0 if SAN else 10.0

ACTIVE_RE = r"reload: generation (\d+) active"
FAILED_RE = r"reload failed: (.*)"
READING_RE = r"reload: reading "
RESULT_RE = ACTIVE_RE + "|" + FAILED_RE


# ---------------------------------------------------------------------------
# Helpers

def cfg(routes, drain=None, listen=None):
    c = {"listen": listen or ["127.0.0.1:0"], "workers": 1,
         "routes": list(routes)}
    if drain is not None:
        c["timeouts_ms"] = {"drain": drain}
    return c


def hello_cfg(body, **kw):
    return cfg([route("/r", hwtest.module("hello"), {"body": body})], **kw)


def behave_cfg(name, **kw):
    return cfg([route("/r", fixture("behave"), {"name": name})], **kw)


_single = None


def single_args():
    """The reload tests look at one serving process (its log, its maps, its
    RSS): where the binary has a multi-process mode, ask for the single
    process explicitly."""
    global _single
    if _single is None:
        rc, out, err = hwtest.run_haywire(["--help"])
        _single = ["--single"] if "--single" in out + err else []
    return _single


def start(name, config, workdir=None):
    """A Server whose run directory goes under <workdir>/run, so that the
    test can find (and check the removal of) its private module copies."""
    d = workdir or hwtest.make_tmpdir(name)
    run = os.path.join(d, "run")
    os.makedirs(run, exist_ok=True)
    srv = hwtest.Server(config=config, workdir=d, name=name,
                        args=single_args() + ["--run-dir", run])
    srv.run_parent = run
    return srv


def run_dir(srv):
    """The server's private run directory (haywire.<pid>.XXXXXX)."""
    found = glob.glob(os.path.join(srv.run_parent, "haywire.%d.*" % srv.pid))
    return found[0] if len(found) == 1 else None


def gen_dirs(srv):
    d = run_dir(srv)
    if d is None:
        return None
    return sorted(e for e in os.listdir(d) if re.fullmatch(r"g\d+", e))


def rewrite(srv, config):
    """Replaces the config file atomically: the server may be reading it at
    any moment (a coalesced reload starts by itself)."""
    tmp = srv.config_path + ".new"
    hwtest.write_config(tmp, config)
    os.replace(tmp, srv.config_path)


def count(srv, rx, start=0):
    return sum(1 for line in srv.log_lines()[start:] if re.search(rx, line))


def find_line(srv, rx, start=0, timeout=RELOAD_TIMEOUT):
    """Waits for a log line at index >= start matching rx; returns
    (index, match) or None."""
    crx = re.compile(rx)
    deadline = time.monotonic() + timeout
    while True:
        dead = not srv.alive()
        if dead:
            srv._join_reader()      # every line it wrote is in the log
        lines = srv.log_lines()
        for i in range(start, len(lines)):
            m = crx.search(lines[i])
            if m:
                return (i, m)
        if dead or time.monotonic() >= deadline:
            return None
        time.sleep(0.002)


def reload(srv, config=None, timeout=RELOAD_TIMEOUT):
    """Rewrites the config (if given), sends SIGHUP and waits for the
    verdict.  Returns the match of the `generation N active` or
    `reload failed: ...` line, or None on timeout."""
    mark = len(srv.log_lines())
    if config is not None:
        rewrite(srv, config)
    # Under wine `haywire -s reload` (which waits for the reload's outcome):
    # its (rc, stdout, stderr), kept for the test to look at.
    srv.last_command = srv.send_signal(signal.SIGHUP)
    r = find_line(srv, RESULT_RE, mark, timeout)
    return r[1] if r else None


def command_failed(srv):
    """Under wine, how the last reload's `haywire -s reload` failed (its
    status and stderr), or None: natively (a signal) always None."""
    res = getattr(srv, "last_command", None)
    if res is None or res[0] == 0:
        return None
    return "haywire -s reload: exit status %s: %s" % (res[0], res[2].strip())


def settled(srv):
    """No reload in progress: every `reload: reading` has its verdict."""
    return count(srv, READING_RE) == count(srv, RESULT_RE)


def current_gen(srv):
    gens = [int(m.group(1)) for m in
            (re.search(r"generation (\d+) active", x)
             for x in srv.log_lines()) if m]
    return gens[-1] if gens else 1


def mem_pid(srv):
    """The Linux process whose memory is the server's: the server itself,
    or under wine the wine process that runs it (srv.pid is then a Windows
    pid, no Linux one; wine maps a DLL's file, so its path is in the
    process's maps as a .so's is)."""
    return srv.proc.pid if hwtest.WINE else srv.pid


def mapped_copies(srv):
    """Paths under the run directory mapped into the server (a set)."""
    d = run_dir(srv)
    out = set()
    try:
        with open("/proc/%d/maps" % mem_pid(srv)) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6:
                    p = parts[5].strip()
                    if d is not None and p.startswith(d + "/"):
                        out.add(p)
                    elif p.startswith(srv.run_parent + "/"):
                        out.add(p)
    except OSError:
        pass
    return out


def only_gen_mapped(srv, gen):
    maps = mapped_copies(srv)
    return bool(maps) and all("/g%d/" % gen in p for p in maps)


def answer(port, target="/r"):
    r = hwtest.one(port, get(target))
    return r


def check_stop(srv, name="server"):
    """SIGTERM: exit 0, no sanitizer report, run directory removed."""
    rd = run_dir(srv)
    t.ok(rd is not None and os.path.isdir(rd),
         "%s has its run directory under --run-dir" % name,
         "found: %r" % glob.glob(os.path.join(srv.run_parent, "*")))
    hwtest.assert_clean_stop(srv, name=name)
    left = os.listdir(srv.run_parent)
    t.is_(left, [], "%s removed its run directory on exit" % name)


# ---------------------------------------------------------------------------
# 0. Signals right after the server says it listens.

class RawServer:
    """A server read straight from its stderr pipe (no reader thread), so
    that a signal can follow the `listening on` line within microseconds."""

    def __init__(self, config, name):
        self.dir = hwtest.make_tmpdir(name)
        self.run_parent = os.path.join(self.dir, "run")
        os.makedirs(self.run_parent)
        conf = hwtest.write_config(os.path.join(self.dir, "routes.json"),
                                   config)
        self.conf = conf
        self.pid_file = os.path.join(self.dir, "hw.pid")
        self.argv = hwtest.HAYWIRE_ARGV + ["-c", conf, "--listen", "127.0.0.1:0"] \
            + single_args() + ["--run-dir", self.run_parent,
                               "--pid-file", self.pid_file]
        self.proc = subprocess.Popen(
            self.argv, cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        self.buf = b""
        self.lines = []
        self.eof = False

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if self.eof or left <= 0:
            return False
        fd = self.proc.stderr.fileno()
        if not select.select([fd], [], [], left)[0]:
            return False
        data = os.read(fd, 65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        self.lines += [x.decode("utf-8", "replace") for x in done]
        return True

    def send_signal(self, sig):
        """`sig` to the server; under wine (where a signal would kill wine
        itself) the same command through `haywire -s WORD`."""
        if not hwtest.WINE:
            os.kill(self.proc.pid, sig)
            return
        rc, out, err = hwtest.run_haywire(
            ["-s", hwtest.SIGNAL_WORDS[sig], "-c", self.conf,
             "--pid-file", self.pid_file], cwd=self.dir)
        if rc != 0:
            self.lines.append("(haywire -s %s: exit status %s: %s)" %
                              (hwtest.SIGNAL_WORDS[sig], rc, err.strip()))

    def wait_line(self, rx, timeout=RELOAD_TIMEOUT):
        crx = re.compile(rx)
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                m = crx.search(line)
                if m:
                    return m
            seen = len(self.lines)
            if not self._read(deadline):
                return None

    def finish(self, timeout=RELOAD_TIMEOUT):
        """Waits for the exit (SIGKILL after `timeout`); returns the exit
        status, or None if it had to be killed."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        try:
            return self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait(5)
        self.proc.stderr.close()


def test_signal_at_start():
    """Under wine the signals are `haywire -s reload|quit` commands, which
    take wine about a second to start: fewer tries, none within
    microseconds of the line."""
    with t.block("signals right after start"):
        tries = 5 if hwtest.WINE else 30
        for sig in (signal.SIGHUP, signal.SIGTERM):
            name = signal.Signals(sig).name
            bad = []
            for i in range(tries):
                srv = RawServer(hello_cfg("A"), "early")
                nbad = len(bad)
                try:
                    if srv.wait_line(hwtest.LISTEN_RE.pattern,
                                     hwtest.START_TIMEOUT) is None:
                        bad.append((i, "did not start", srv.lines))
                        continue
                    srv.send_signal(sig)
                    if sig == signal.SIGHUP:
                        m = srv.wait_line(RESULT_RE)
                        if m is None or m.group(1) != "2" or \
                                srv.proc.poll() is not None:
                            srv.finish(1)
                            bad.append((i, "reload: %s, exit status %s" % (
                                m and m.group(0), srv.proc.returncode)))
                            continue
                        srv.send_signal(signal.SIGTERM)
                    rc = srv.finish()
                    left = os.listdir(srv.run_parent)
                    san = [x for x in srv.lines
                           if hwtest.SANITIZER_RE.search(x)]
                    if rc != 0 or left or san:
                        bad.append((i, "exit status %s, left %s %s" %
                                    (rc, left, san[:1])))
                finally:
                    srv.kill()
                    if len(bad) == nbad:    # keep only what failed
                        shutil.rmtree(srv.dir, ignore_errors=True)
            t.is_(bad[:3], [], "%s sent as soon as the server logged "
                  "`listening on`: handled every time (%d tries, %d bad)" %
                  (name, tries, len(bad)))


# ---------------------------------------------------------------------------
# 1. A reload changes the module behind a prefix.

def test_switch():
    with t.block("switch module"):
        with start("switch", hello_cfg("A")) as srv:
            t.is_(gen_dirs(srv), ["g1"], "start-up generation has run_dir/g1")
            t.ok(only_gen_mapped(srv, 1),
                 "start-up modules are mapped from their g1 copies",
                 mapped_copies(srv))
            with Conn(srv.port) as c:
                port = c.local_port()
                c.send(get("/r"))
                r = c.read_response()
                t.is_((r.status, r.body), (200, b"A"), "before: /r answers A")

                m = reload(srv, behave_cfg("B"))
                t.ok(m is not None and m.group(1) == "2",
                     "reload: generation 2 active", m and m.group(0))
                c.send(get("/r"))
                r = c.read_response()
                t.is_((r.status, r.body, r.header("X-Behave")),
                      (200, b"behave", "B"),
                      "same keep-alive connection: behave.so answers now")
                t.is_(c.local_port(), port, "still the same socket")
                r2 = answer(srv.port)
                t.is_((r2.body, r2.header("X-Behave")), (b"behave", "B"),
                      "a new connection gets behave.so too")

                m = reload(srv, hello_cfg("C"))
                t.ok(m is not None and m.group(1) == "3",
                     "reload: generation 3 active", m and m.group(0))
                c.send(get("/r"))
                r = c.read_response()
                t.is_((r.status, r.body, r.header("X-Behave")),
                      (200, b"C", None),
                      "same connection: hello.so with the new body")
                t.ok(c.is_open(0.1), "connection still open")
            t.ok(find_line(srv, r"generation 2 drained", 0, 5) is not None,
                 "generation 2 drained")
            t.is_(count(srv, r'change of "listen"'), 0,
                  "no listen warning when listen did not change")

            # A changed listen list is ignored (with a warning).
            m = reload(srv, hello_cfg("D", listen=["127.0.0.1:1"]))
            t.ok(m is not None and m.group(1) == "4",
                 "reload with another listen list still succeeds",
                 m and m.group(0))
            t.ok(find_line(srv, r'change of "listen" takes a restart', 0,
                           1) is not None, "the listen change is warned about")
            r = answer(srv.port)
            t.is_(r.body, b"D", "served on the same port as before")
            t.ok(hwtest.poll(lambda: only_gen_mapped(srv, 4), 5),
                 "only generation 4's copies stay mapped", mapped_copies(srv))
            t.ok(hwtest.poll(lambda: gen_dirs(srv) == ["g4"], 5),
                 "only run_dir/g4 remains", gen_dirs(srv))
            check_stop(srv)


# ---------------------------------------------------------------------------
# 2. Reloads under wrk load.

PIPE_LUA = hwtest.wrk_pipeline_lua("/r", 8)
# Counts answers that are neither of the two configs' bodies.
CHECK_LUA = hwtest.wrk_bodies_lua("A", "behave")
parse_wrk = hwtest.parse_wrk

def test_under_load():
    with t.block("reload under wrk load"):
        if shutil.which("wrk") is None:
            t.skip("wrk not installed", 1)
            return
        a, b = hello_cfg("A"), behave_cfg("B")
        with start("load", a) as srv:
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
                                         stderr=subprocess.STDOUT,
                                         cwd=d, start_new_session=True)
                     for k, v in argvs.items()}
            sent = 0
            try:
                deadline = time.monotonic() + 8
                time.sleep(0.2)
                while time.monotonic() < deadline and \
                        any(p.poll() is None for p in procs.values()):
                    rewrite(srv, b if sent % 2 == 0 else a)
                    srv.send_signal(signal.SIGHUP)
                    sent += 1
                    time.sleep(0.1 + 0.1 * ((sent * 7) % 11) / 10.0)
                outs = {}
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
            t.diag("sent %d SIGHUPs during the load" % sent)
            for k in ("plain", "pipelined"):
                res = parse_wrk(outs[k])
                ok = t.ok(res["requests"] is not None and res["requests"] > 0,
                          "%s wrk: requests > 0" % k, outs[k])
                t.is_(res["socket_errors"], [0, 0, 0, 0],
                      "%s wrk: no socket errors (connect, read, write, "
                      "timeout)" % k)
                t.is_(res["non2xx"], 0, "%s wrk: no non-2xx answers" % k)
                if not ok or res["socket_errors"] != [0, 0, 0, 0] or \
                        res["non2xx"]:
                    t.diag(outs[k])
                else:
                    t.diag("%s: %d requests" % (k, res["requests"]))
                if k == "plain":
                    chk = res.get("check")
                    t.ok(chk is not None and chk[0] == 0,
                         "plain wrk: every body is A or behave", chk)
                    t.ok(chk is not None and chk[1] > 0 and chk[2] > 0,
                         "plain wrk saw both generations' answers", chk)
            t.ok(srv.alive(), "server alive after the load")
            t.ok(hwtest.poll(lambda: settled(srv), RELOAD_TIMEOUT),
                 "the last reload finished")
            n_active = count(srv, ACTIVE_RE, mark)
            t.cmp_ok(n_active, ">=", min(10, sent // 2),
                     "many `generation N active` lines (%d for %d SIGHUPs)"
                     % (n_active, sent))
            t.is_(count(srv, FAILED_RE, mark), 0, "no reload failed")
            final = a if sent % 2 == 0 else b
            r = answer(srv.port)
            t.is_(r.body, b"A" if final is a else b"behave",
                  "the last config written is in force")
            gen = current_gen(srv)
            t.ok(hwtest.poll(lambda: only_gen_mapped(srv, gen), 5),
                 "after the load only generation %d stays mapped" % gen,
                 mapped_copies(srv))
            check_stop(srv)


# ---------------------------------------------------------------------------
# 3. Failed reloads.

CRASH_C = r"""
#include <signal.h>
#include "haywire.h"

static int crash_init(const hw_host *host, const char *config,
                      size_t config_len, void **state, char *err,
                      size_t err_len) {
#ifndef _WIN32
  /* The default action, whatever a sanitizer installed.  (Windows' C
   * runtime ends a raise(SIGSEGV) with exit status 3, no fault: there the
   * store below is the crash.) */
  signal(SIGSEGV, SIG_DFL);
  raise(SIGSEGV);
#endif
  *(volatile int *)0 = 0;
  return -1;
}

static hw_handle_result crash_handle(void *state, hw_request *req,
                                     hw_response *res) {
  return HW_ERROR;
}

HW_MODULE_DEFINE("crash", "1.0", crash_init, crash_handle, NULL);
"""


def test_failures():
    with t.block("failed reloads"):
        base = hello_cfg("A")
        with start("fail", base) as srv:
            d = srv.workdir
            conf = srv.config_path
            mods = os.path.join(d, "mods")
            os.makedirs(mods)
            crash_so = os.path.join(mods, "crash.so")
            src = hwtest.write_config(os.path.join(d, "crash.c"), CRASH_C)
            rc, out = hwtest.compile_module([src], crash_so)
            if not t.is_(rc, 0, "crash.so compiles"):
                t.diag(out)
            missing = os.path.join(mods, "missing.so")
            unknown = dict(base, bogus_key=1)
            cases = [
                ("invalid JSON", '{"listen": ["127.0.0.1:0"], "routes": [',
                 [re.escape(conf), "invalid JSON"]),
                ("unknown key", unknown,
                 [re.escape(conf), "bogus_key", "unknown key"]),
                ("missing module",
                 cfg([route("/r", missing)]),
                 [re.escape(conf), re.escape(missing),
                  "No such file or directory"]),
                ("ABI major mismatch",
                 cfg([route("/r", fixture("abi_major"))]),
                 [re.escape(fixture("abi_major")), "ABI major"]),
                ("init fails",
                 cfg([route("/r", fixture("init_fails"))]),
                 [re.escape(conf), "init_fails: refusing to start"]),
                ("crash in init",
                 cfg([route("/r", hwtest.module("hello"), {"body": "Z"}),
                      route("/crash", crash_so)]),
                 [re.escape(conf), r"routes\[1\]\.config: " + re.escape(crash_so)
                  + r": init " + hwtest.CRASHED_SEGV + r" \(route /crash\)"]),
            ]
            with Conn(srv.port) as keep:
                for name, config, pats in cases:
                    with t.block(name):
                        gen = current_gen(srv)
                        m = reload(srv, config)
                        line = m and m.group(0)
                        if not t.ok(m is not None and
                                    m.group(0).startswith("reload failed:"),
                                    "logs reload failed", line):
                            continue
                        for p in pats:
                            t.like(line, p, "reason matches %s" % p)
                        t.like(line, r"; still serving generation %d$" % gen,
                               "still serving generation %d" % gen)
                        rd = run_dir(srv)
                        t.ok(rd is not None and rd not in line,
                             "the private copy is not named", line)
                        t.ok(srv.alive(), "server alive")
                        keep.send(get("/r"))
                        r = keep.read_response()
                        t.is_((r.status, r.body), (200, b"A"),
                              "keep-alive connection: old answer")
                        r = answer(srv.port)
                        t.is_((r.status, r.body), (200, b"A"),
                              "new connection: old answer")
                        t.ok(hwtest.poll(lambda: gen_dirs(srv) == ["g1"], 3),
                             "the staged generation's copies are removed",
                             gen_dirs(srv))
            t.is_(count(srv, ACTIVE_RE), 0, "no generation was swapped in")
            # A good reload after all of that works, with the next number.
            m = reload(srv, hello_cfg("OK"))
            t.ok(m is not None and m.group(1) == "2",
                 "a valid reload afterwards: generation 2",
                 m and m.group(0))
            t.is_(answer(srv.port).body, b"OK", "and it serves")
            check_stop(srv)


# ---------------------------------------------------------------------------
# 4. A module overwritten in place.

def test_overwrite_in_place():
    with t.block("module overwritten in place"):
        d = hwtest.make_tmpdir("inplace")
        mods = os.path.join(d, "mods")
        os.makedirs(mods)
        # (x.dll under wine: route() names it so.)
        x = os.path.join(mods, "x" + hwtest.MODULE_EXT)
        shutil.copyfile(hwtest.module("hello"), x)
        config = {"listen": ["127.0.0.1:0"], "workers": 1,
                  "modules_dir": mods, "routes": [route("/x", "x.so")]}
        with start("inplace", config, workdir=d) as srv:
            with Conn(srv.port) as c:
                c.send(get("/x"))
                r = c.read_response()
                t.is_((r.status, r.body), (200, HELLO),
                      "before: x.so is hello")
                maps = mapped_copies(srv)
                with open("/proc/%d/maps" % mem_pid(srv)) as f:
                    t.ok(x not in f.read(),
                         "the server does not map the user's x.so")
                ino = os.stat(x).st_ino
                with open(fixture("behave"), "rb") as f:
                    new = f.read()
                with open(x, "r+b") as f:
                    f.truncate(0)
                    f.write(new)
                t.is_(os.stat(x).st_ino, ino,
                      "x.so overwritten in place (same inode)")
                t.is_(os.path.getsize(x), len(new), "x.so now holds behave")
                for i in range(3):
                    c.send(get("/x"))
                    r = c.read_response()
                    t.is_((r.status, r.body), (200, HELLO),
                          "after overwrite, before SIGHUP: old code answers "
                          "(%d)" % i)
                t.is_(answer(srv.port, "/x").body, HELLO,
                      "a new connection too")
                t.ok(srv.alive(), "server alive")
                t.is_(mapped_copies(srv), maps, "same copies still mapped")
                m = reload(srv)
                t.ok(m is not None and m.group(1) == "2",
                     "SIGHUP: generation 2 active", m and m.group(0))
                c.send(get("/x"))
                r = c.read_response()
                t.is_((r.status, r.body, r.header("X-Behave")),
                      (200, b"behave", "behave"),
                      "after SIGHUP the new code answers")
            t.ok(hwtest.poll(lambda: only_gen_mapped(srv, 2), 5),
                 "only generation 2's copy stays mapped", mapped_copies(srv))
            check_stop(srv)


# ---------------------------------------------------------------------------
# 5. A deferred request across a reload.

def test_inflight():
    with t.block("deferred request across a reload"):
        ms = 3000 if SAN else 1500
        with start("inflight", cfg([route("/d", hwtest.module("delay"))])) \
                as srv:
            with Conn(srv.port) as c1:
                c1.send(get("/d/old?ms=%d" % ms))
                sent_at = time.monotonic()
                # Let the server route it to generation 1.
                time.sleep(0.3)
                m = reload(srv, cfg([route("/d", hwtest.module("hello"))]))
                t.ok(m is not None and m.group(1) == "2",
                     "reload: generation 2 active", m and m.group(0))
                r = answer(srv.port, "/d/new")
                t.is_((r.status, r.body), (200, HELLO),
                      "a new request to /d gets hello.so")
                pending = not select.select([c1.sock], [], [], 0)[0]
                t.ok(pending, "the deferred request is still pending",
                     "%.2f s after sending it" % (time.monotonic() - sent_at))
                t.is_(count(srv, r"generation 1 drained"), 0,
                      "generation 1 not drained while its request is held")
                # Wait for the answer; `clean` is the log length taken just
                # before a look that found nothing to read yet.
                clean = 0
                deadline = time.monotonic() + ms / 1000.0 + 10
                while time.monotonic() < deadline:
                    n = len(srv.log_lines())
                    if select.select([c1.sock], [], [], 0.005)[0]:
                        break
                    clean = n
                r = c1.read_response()
                t.is_((r.status, r.body), (200, b"/d/old"),
                      "the deferred request completes with delay's answer")
                t.ok(time.monotonic() - sent_at >= ms / 1000.0 - 0.05,
                     "after its delay")
                early = [x for x in srv.log_lines()[:clean]
                         if "generation 1 drained" in x]
                t.is_(early, [], "generation 1 not drained before the answer")
                hit = find_line(srv, r"generation 1 drained", 0, 5)
                t.ok(hit is not None, "generation 1 drained after the answer")
                if hit:
                    t.cmp_ok(hit[0], ">=", clean, "and only after it")
                c1.send(get("/d/again"))
                r = c1.read_response()
                t.is_((r.status, r.body), (200, HELLO),
                      "the same connection's next request uses generation 2")
            t.ok(hwtest.poll(lambda: only_gen_mapped(srv, 2), 5),
                 "generation 1 unloaded", mapped_copies(srv))
            check_stop(srv)


# ---------------------------------------------------------------------------
# 6. The drain deadline.

def test_drain_deadline():
    with t.block("drain deadline"):
        a = cfg([route("/d", hwtest.module("delay"))], drain=300)
        b = cfg([route("/d", hwtest.module("hello"))], drain=300)
        with start("deadline", a) as srv:
            with Conn(srv.port) as c1:
                c1.send(get("/d/x?ms=10000"))
                time.sleep(0.3)
                m = reload(srv, b)
                swapped = time.monotonic()
                t.ok(m is not None and m.group(1) == "2",
                     "reload: generation 2 active", m and m.group(0))
                r = answer(srv.port, "/d/y")
                t.is_(r.body, HELLO, "new requests get hello.so at once")
                what = None
                try:
                    r = c1.read_response(timeout=5)
                    what = (r.status, r.body)
                except hwtest.Closed:
                    what = "closed"
                took = time.monotonic() - swapped
                t.ok(what in ((503, b"delay: cancelled\n"), "closed"),
                     "held request: 503 delay: cancelled or closed", what)
                t.diag("held request: %r after %.2f s" % (what, took))
                t.cmp_ok(took, "<", 3.0, "within 3 s of the reload")
                t.cmp_ok(took, ">=", 0.2, "not before the deadline")
            t.ok(find_line(srv, r"generation 1: drain deadline", 0, 2)
                 is not None, "log: generation 1: drain deadline")
            t.ok(find_line(srv, r"generation 1 drained", 0, 2) is not None,
                 "log: generation 1 drained")
            t.ok(srv.alive(), "server alive")
            r = answer(srv.port, "/d/z")
            t.is_((r.status, r.body), (200, HELLO), "still serving")
            t.ok(hwtest.poll(lambda: only_gen_mapped(srv, 2), 5),
                 "generation 1 unloaded", mapped_copies(srv))
            check_stop(srv)


# ---------------------------------------------------------------------------
# 7. 200 reloads.

def test_many_reloads():
    with t.block("200 reloads"):
        # An open bug of the Windows build: once in CI (reload 122 of 200,
        # 2026-11-30) the check's child could not be started ("cannot start
        # a child: unknown error" from uv_spawn under wine), not seen in
        # the runs before; skipped there until it is understood.
        if hwtest.skip_on_wine("an open bug: the check's child failed to "
                               "start once in 200 reloads (docs/"
                               "windows-port.md)", 11):
            return
        a = cfg([route("/r", hwtest.module("hello"), {"body": "A"}),
                 route("/e", hwtest.module("echo"))])
        b = cfg([route("/r", fixture("behave"), {"name": "B"}),
                 route("/e", hwtest.module("echo"))])
        total = 200
        with start("many", a) as srv:
            rss = {}
            wrong, failed = [], []
            t0 = time.monotonic()
            with Conn(srv.port) as c:
                for i in range(1, total + 1):
                    config = b if i % 2 else a
                    m = reload(srv, config)
                    if m is None or m.group(1) != str(i + 1):
                        failed.append((i, m and m.group(0)))
                        break
                    if command_failed(srv):
                        failed.append((i, command_failed(srv)))
                        break
                    c.send(get("/r"))
                    r = c.read_response()
                    want = b"behave" if i % 2 else b"A"
                    if r.body != want:
                        wrong.append((i, r.body))
                    if i in (20, total):
                        if not hwtest.poll(
                                lambda: only_gen_mapped(srv, i + 1), 5):
                            failed.append((i, "old generation still mapped",
                                           sorted(mapped_copies(srv))))
                        rss[i] = hwtest.rss_kib(mem_pid(srv), tree=False)
            t.diag("%d reloads in %.1f s" % (total, time.monotonic() - t0))
            t.is_(failed, [], "every reload succeeded in turn")
            t.is_(wrong, [], "each reload's answer was served right after it")
            gen = total + 1
            maps = mapped_copies(srv)
            t.ok(maps and all("/g%d/" % gen in p for p in maps),
                 "only generation %d's copies are mapped" % gen, sorted(maps))
            t.is_(len(maps), 2, "two module copies mapped (hello, echo)")
            # (The directory goes just after the unload: it may lag.)
            hwtest.poll(lambda: gen_dirs(srv) == ["g%d" % gen], 5)
            t.is_(gen_dirs(srv), ["g%d" % gen], "only run_dir/g%d remains"
                  % gen)
            if SAN:
                t.skip("RSS is not meaningful under sanitizers")
            elif hwtest.skip_on_wine(
                    "the wine process's RSS holds wine's loader too; it grew "
                    "1.3 MiB over 180 reloads here, not yet told apart from "
                    "the server's own (a real Windows machine can)", 1):
                pass
            elif 20 in rss and total in rss and None not in rss.values():
                t.diag("VmRSS after #20: %d KiB, after #%d: %d KiB" %
                       (rss[20], total, rss[total]))
                t.cmp_ok(rss[total] - rss[20], "<", 1024,
                         "VmRSS grew by less than 1 MiB from reload #20 "
                         "to #%d" % total)
            else:
                t.fail("VmRSS measured", rss)
            t.is_(count(srv, FAILED_RE), 0, "no reload failed")
            check_stop(srv)


# ---------------------------------------------------------------------------
# 8. Coalescing.

# init takes 300 ms (in the preflight child and again in-process), so that a
# reload to a config naming it is certainly still being built when the
# following SIGHUPs arrive.
SLOW_C = r"""
#include <errno.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif
#include "haywire.h"

static int slow_init(const hw_host *host, const char *config,
                     size_t config_len, void **state, char *err,
                     size_t err_len) {
#ifdef _WIN32
  Sleep(SLOW_MS);
#else
  struct timespec ts = {0, SLOW_MS * 1000L * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
#endif
  *state = NULL;
  return 0;
}

static hw_handle_result slow_handle(void *state, hw_request *req,
                                    hw_response *res) {
  return HW_DECLINED;
}

HW_MODULE_DEFINE("slow", "1.0", slow_init, slow_handle, NULL);
"""


def test_coalesce():
    with t.block("coalesced SIGHUPs"):
        with start("coalesce", hello_cfg("A")) as srv:
            d = srv.workdir
            slow_so = os.path.join(d, "slow.so")
            src = hwtest.write_config(os.path.join(d, "slow.c"), SLOW_C)
            # Under wine each command is a wine process of its own, started
            # in about a second: the reload they meet lasts longer.
            rc, out = hwtest.compile_module(
                [src], slow_so,
                ["-DSLOW_MS=%d" % (2000 if hwtest.WINE else 300)])
            if not t.is_(rc, 0, "slow.so compiles"):
                t.diag(out)
                return
            c_tmp = srv.config_path + ".c"
            hwtest.write_config(c_tmp, hello_cfg("C"))
            rewrite(srv, cfg([route("/r", hwtest.module("hello"),
                                    {"body": "B"}),
                              route("/slow", slow_so)]))
            mark = len(srv.log_lines())
            if hwtest.WINE:
                # `haywire -s reload` waits for its reload's verdict: five
                # commands at once, each from a thread, the first alone
                # until the server began its reload (it read the config
                # naming slow.dll), the four others while it is built.
                senders = [threading.Thread(target=srv.send_signal,
                                            args=(signal.SIGHUP,),
                                            daemon=True) for _ in range(5)]
                senders[0].start()
                find_line(srv, READING_RE, mark)
                t0 = time.monotonic()
                os.replace(c_tmp, srv.config_path)
                for th in senders[1:]:
                    th.start()
                took = time.monotonic() - t0
                t.cmp_ok(took, "<", 0.25, "the 4 other reload commands sent "
                         "within 0.25 s of the first reload's start")
                for th in senders:
                    th.join(RELOAD_TIMEOUT * hwtest.SLOWER)
            else:
                t0 = time.monotonic()
                srv.send_signal(signal.SIGHUP)
                os.replace(c_tmp, srv.config_path)
                for _ in range(4):
                    srv.send_signal(signal.SIGHUP)
                took = time.monotonic() - t0
                t.cmp_ok(took, "<", 0.25, "5 SIGHUPs sent within 0.25 s")
            t.ok(find_line(srv, ACTIVE_RE, mark) is not None,
                 "a reload completes")

            # Settled: every reading has its verdict and nothing new comes.
            def quiet():
                n = len(srv.log_lines())
                if not settled(srv):
                    return False
                time.sleep(1.0 if SAN else 0.5)
                return settled(srv) and len(srv.log_lines()) == n
            t.ok(hwtest.poll(quiet, RELOAD_TIMEOUT), "reloads settle")
            n = count(srv, ACTIVE_RE, mark)
            t.ok(1 <= n <= 2, "5 SIGHUPs: 1 or 2 reloads (%d)" % n,
                 srv.log_lines()[mark:])
            t.ok(1 <= count(srv, READING_RE, mark) <= 2,
                 "at most 2 `reload: reading` lines")
            t.is_(count(srv, FAILED_RE, mark), 0, "none failed")
            t.ok(srv.alive(), "server alive")
            r = answer(srv.port)
            t.is_(r.body, b"C", "the newest config is in force")
            gen = current_gen(srv)
            t.ok(hwtest.poll(lambda: only_gen_mapped(srv, gen), 5),
                 "only generation %d stays mapped" % gen, mapped_copies(srv))
            check_stop(srv)


def main():
    # The preflight child of the crash test dies of SIGSEGV: no core files.
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    test_signal_at_start()
    test_switch()
    test_under_load()
    test_failures()
    test_overwrite_in_place()
    test_inflight()
    test_drain_deadline()
    test_many_reloads()
    test_coalesce()


hwtest.run(main)
