"""hwtest - the harness of Haywire's integration tests (Python 3, stdlib only).

Every test file does:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "lib"))
    import hwtest
    from hwtest import t

    def main():
        with hwtest.Server(routes=[hwtest.route("/hello", "hello.so")]) as srv:
            with t.block("hello"):
                c = hwtest.Conn(srv.port)
                ...
    hwtest.run(main)

The pieces:
  * `t` (a `TAP`): ok/is_/isnt/like/unlike/cmp_ok/skip/diag/block and the plan
    (printed by done_testing at the end).  An exception inside `t.block()`
    becomes one failing TAP line and the file goes on; an exception anywhere
    else becomes a failing line too, and the plan is still printed.  The exit
    status is non-zero when any test failed.
  * `Server`: writes a config into a fresh directory under
    $HW_BUILDDIR/tests/tmp/, starts $HW_BUILDDIR/server/haywire with
    `--listen 127.0.0.1:0` (or the given addresses), parses the real ports
    from the "listening on" log lines, and always kills the process on exit.
  * `Conn`: a raw client socket with a response parser (status line, headers,
    Content-Length or chunked bodies).  Every operation has a deadline.
  * `curl()`, `run_haywire()` / `check_config()`, `rss_kib()`, `poll()`.

Environment: HW_SRCDIR, HW_BUILDDIR (absolute), HW_CC, HW_SAN_CFLAGS.  When run
by hand they default to the source tree this file lives in.

Windows under wine (`make check-windows`, tests/windows/check-windows): with
HW_WINE set to the wine binary, the server is $HW_BUILDDIR/server/haywire.exe
run through it, modules and fixtures are .dll files (module(), fixture() and
route() map a "name.so" to "name.dll"), and the POSIX signals a test would
send become the server's own commands: `Server.send_signal()` and `Server.stop()`
run `haywire -s reload|stop|quit|reopen` with the server's pid file, since
a signal sent to wine kills it without running the server's handlers.  A
check that needs what wine cannot give (/proc, the server's real pids,
signals) says so with `skip_on_wine(reason, count)`.
"""

import atexit
import datetime
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# ---------------------------------------------------------------------------
# Environment

_HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("HW_SRCDIR") or
                         os.path.join(_HERE, "..", ".."))
BUILDDIR = os.path.abspath(os.environ.get("HW_BUILDDIR") or SRCDIR)
CC = shlex.split(os.environ.get("HW_CC") or "cc")
SAN_CFLAGS = shlex.split(os.environ.get("HW_SAN_CFLAGS") or "")

# The wine binary when the server under test is the Windows one.
WINE = os.environ.get("HW_WINE") or None
EXE = ".exe" if WINE else ""
MODULE_EXT = ".dll" if WINE else ".so"
HAYWIRE = os.path.join(BUILDDIR, "server", "haywire" + EXE)
# A mingw build's libtool links the program as server/.libs/haywire.exe
# behind a wrapper of the same name that starts it: the tests run the
# program itself (one process between the test and the server's pid).
if WINE and os.path.exists(os.path.join(BUILDDIR, "server", ".libs",
                                        "haywire.exe")):
    HAYWIRE = os.path.join(BUILDDIR, "server", ".libs", "haywire.exe")
# How the server is started: through wine, or itself.
HAYWIRE_ARGV = [WINE, HAYWIRE] if WINE else [HAYWIRE]
# Under wine every start, request and stop is slower (about 5x in the
# tests' own timings); waits scale by this.
SLOWER = float(os.environ.get("HW_WINE_SLOWER", "4")) if WINE else 1.0

# What each POSIX signal a test sends means to the server, as the -s word
# that asks the same of it where there are no signals (Windows).
SIGNAL_WORDS = {signal.SIGHUP: "reload", signal.SIGINT: "stop",
                signal.SIGTERM: "quit", signal.SIGQUIT: "quit",
                signal.SIGUSR1: "reopen"}


# How the server names a module process that died of a segmentation fault
# (the fixtures' crashes): a signal on POSIX, an exception's NTSTATUS on
# Windows.
CRASHED_SEGV = (r"crashed with 0xC0000005 \(access violation\)" if WINE
                else r"crashed with signal 11 \(SIGSEGV\)")


def mod_re(name):
    """A regex for a module's file name as the server names it ("hello"
    or "hello.so": hello\.so, or hello\.dll under wine)."""
    return re.escape(_mod_name(name))


def log_name(sig):
    """How the server's log names the command a signal carries: "SIGUSR1",
    or under wine (no such signals) the -s word, "reopen"."""
    return SIGNAL_WORDS[sig] if WINE else signal.Signals(sig).name


def skip_on_wine(reason, count=1):
    """Under wine: records `count` skipped tests with `reason` and returns
    True (the caller leaves them out); else False."""
    if not WINE:
        return False
    t.skip("under wine: " + reason, count)
    return True


def _mod_name(name):
    """"x.so" or "x" as the system names a module file: x.so, or x.dll."""
    if name.endswith(".so"):
        name = name[:-3]
    return name if name.endswith(MODULE_EXT) else name + MODULE_EXT


def sanitized():
    """Whether the server under test was built with sanitizers (from the
    environment, or from the binary itself when run by hand)."""
    if SAN_CFLAGS:
        return True
    try:
        with open(HAYWIRE, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False

MODULES_DIR = os.path.join(BUILDDIR, "modules")
FIXTURES_DIR = os.path.join(BUILDDIR, "tests", "fixtures")
TMP_ROOT = os.path.join(BUILDDIR, "tests", "tmp")

TIMEOUT = 10.0          # default for every socket operation and wait
START_TIMEOUT = 10.0    # waiting for the "listening on" lines

LISTEN_RE = re.compile(
    r"listening on (\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.%a-z0-9]+\]):(\d+)")
SANITIZER_RE = re.compile(
    r"ERROR: (?:Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer"
    r"|runtime error:|SUMMARY: \w+Sanitizer")


def module(name):
    """Absolute path of a shipped module, e.g. module("hello") or "hello.so"
    (hello.dll under wine)."""
    return os.path.join(MODULES_DIR, _mod_name(name))


def fixture(name):
    """Absolute path of a test fixture module (built by `make check`)."""
    return os.path.join(FIXTURES_DIR, _mod_name(name))


def route(prefix, mod, config=None):
    """One routes[] entry (a module named by file name alone, "x.so", is
    "x.dll" under wine)."""
    if WINE and mod.endswith(".so") and "/" not in mod:
        mod = mod[:-3] + MODULE_EXT
    r = {"prefix": prefix, "module": mod}
    if config is not None:
        r["config"] = config
    return r


def _short(v, limit=400):
    r = repr(v)
    if len(r) > limit:
        r = r[:limit] + "...(%d chars)" % len(r)
    return r


# ---------------------------------------------------------------------------
# TAP

class TAP:
    """A TAP producer: numbered ok/not ok lines, `# ` diagnostics and a
    trailing plan."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.n = 0
        self.failed = 0
        self.failed_names = []
        self.done = False
        self._lock = threading.Lock()
        self._prefix = []

    # -- output ------------------------------------------------------------
    def _emit(self, line):
        self.out.write(line + "\n")
        self.out.flush()

    @staticmethod
    def _clean(name):
        # '#' starts a directive in TAP, and a name is one line.
        name = str(name).replace("\\", "\\\\").replace("#", "\\#")
        return " ".join(name.split())

    def diag(self, *msg):
        text = " ".join(str(m) for m in msg)
        with self._lock:
            for line in text.splitlines() or [""]:
                self._emit("# " + line)

    note = diag

    def _name(self, name):
        return " ".join(self._prefix + [self._clean(name)])

    # -- assertions (each one TAP line) -------------------------------------
    def ok(self, cond, name="", *diags):
        full = self._name(name)
        with self._lock:
            self.n += 1
            if cond:
                self._emit("ok %d - %s" % (self.n, full))
            else:
                self.failed += 1
                self.failed_names.append("%d - %s" % (self.n, full))
                self._emit("not ok %d - %s" % (self.n, full))
        if not cond:
            for d in diags:
                self.diag("  " + str(d))
        return bool(cond)

    def is_(self, got, expected, name=""):
        return self.ok(got == expected, name,
                       "     got: " + _short(got),
                       "expected: " + _short(expected))

    def isnt(self, got, unexpected, name=""):
        return self.ok(got != unexpected, name,
                       "     got: " + _short(got),
                       "expected anything else")

    def like(self, got, pattern, name=""):
        try:
            if isinstance(got, bytes) and isinstance(pattern, str):
                pattern = pattern.encode()
            m = got is not None and re.search(pattern, got) is not None
        except TypeError:
            m = False
        return self.ok(m, name, "     got: " + _short(got),
                       "expected to match: " + _short(pattern))

    def unlike(self, got, pattern, name=""):
        if isinstance(got, bytes) and isinstance(pattern, str):
            pattern = pattern.encode()
        m = got is not None and re.search(pattern, got)
        return self.ok(not m, name, "     got: " + _short(got),
                       "expected NOT to match: " + _short(pattern),
                       "   match: " + _short(m.group(0) if m else None))

    def cmp_ok(self, got, op, expected, name=""):
        ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
               ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
               "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
        try:
            cond = ops[op](got, expected)
        except TypeError:
            cond = False
        return self.ok(cond, name, "%s %s %s is false" %
                       (_short(got), op, _short(expected)))

    def fail(self, name, *diags):
        return self.ok(False, name, *diags)

    def skip(self, reason, count=1, name=""):
        for _ in range(count):
            with self._lock:
                self.n += 1
                self._emit("ok %d - %s # SKIP %s" %
                           (self.n, self._name(name or "skipped"),
                            self._clean(reason)))

    # -- structure ----------------------------------------------------------
    def block(self, name):
        """A named group: names of assertions inside get `name:` prefixed, and
        an exception inside becomes one failing line (the file goes on)."""
        return _Block(self, name)

    def done_testing(self):
        with self._lock:
            if self.done:
                return
            self.done = True
            if self.n == 0:
                self.n = 1
                self.failed += 1
                self._emit("not ok 1 - no test ran")
            self._emit("1..%d" % self.n)
        if self.failed:
            self.diag("%d of %d tests failed:" % (self.failed, self.n))
            for fname in self.failed_names:
                self.diag("  " + fname)

    def exception(self, where, exc_info=None):
        exc_info = exc_info or sys.exc_info()
        e = exc_info[1]
        self.fail("%s: uncaught %s: %s" %
                  (where, type(e).__name__, str(e).splitlines()[0][:200]
                   if str(e) else ""))
        for line in "".join(traceback.format_exception(*exc_info)).splitlines():
            self.diag("  " + line)


class _Block:
    def __init__(self, tap, name):
        self.tap = tap
        self.name = name

    def __enter__(self):
        self.tap._prefix.append(self.tap._clean(self.name) + ":")
        return self

    def __exit__(self, et, ev, tb):
        self.tap._prefix.pop()
        if et is None:
            return False
        if issubclass(et, (KeyboardInterrupt, SystemExit)):
            return False
        self.tap.exception(self.name, (et, ev, tb))
        return True


t = TAP()
_live_servers = set()


def _kill_live_servers():
    for s in list(_live_servers):
        try:
            s.kill()
        except Exception:
            pass


def _atexit():
    # Reached only when a file did not finish through run(): make the failure
    # visible instead of a silent (or planless) pass.
    _kill_live_servers()
    if not t.done:
        t.fail("test script ended before done_testing")
        t.done_testing()
        sys.stdout.flush()
        os._exit(1)


def _excepthook(et, ev, tb):
    if not t.done:
        t.exception("top level", (et, ev, tb))
        t.done_testing()
    _kill_live_servers()
    sys.stdout.flush()
    os._exit(1)


atexit.register(_atexit)
sys.excepthook = _excepthook


def run(main):
    """Runs main(), turns an escaping exception into a failing line, prints
    the plan and exits 0 only when every test passed."""
    try:
        os.makedirs(TMP_ROOT, exist_ok=True)
        main()
    except BaseException:
        t.exception("main")
    finally:
        _kill_live_servers()
        t.done_testing()
    if not t.failed:
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
    sys.stdout.flush()
    sys.exit(1 if t.failed else 0)


# ---------------------------------------------------------------------------
# Small helpers

def poll(pred, timeout=TIMEOUT, interval=0.01):
    """Calls pred() until it returns a true value or `timeout` passes;
    returns the last value.  Bounded: never loops forever."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def children(pid):
    """The pids of `pid`'s children (from /proc), sorted; [] when it is
    gone."""
    kids = []
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                    kids += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return sorted(set(kids))


def rss_kib(pid, tree=True):
    """VmRSS in KiB of `pid` (plus its descendants when tree is true), or
    None if the process is gone.  (Under wine a server's memory is that of
    the wine process that runs it: give srv.proc.pid, not srv.pid.)"""
    total = None
    todo, seen = [pid], set()
    while todo and len(seen) < 256:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total = (total or 0) + int(line.split()[1])
        except OSError:
            continue
        if tree:
            todo += children(p)
    return total


def ipv6_available():
    """True if ::1 can be bound here."""
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def http_date_ok(value, tolerance=30.0):
    """Checks an IMF-fixdate (RFC 7231 7.1.1.1) close to now.  Returns an
    error string or None."""
    m = re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) "
                     r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                     r"(\d{4}) (\d\d):(\d\d):(\d\d) GMT", value or "")
    if not m:
        return "not an IMF-fixdate: %r" % (value,)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    try:
        d = datetime.datetime(int(m.group(4)), months.index(m.group(3)) + 1,
                              int(m.group(2)), int(m.group(5)),
                              int(m.group(6)), int(m.group(7)),
                              tzinfo=datetime.timezone.utc)
    except ValueError as e:
        return "bad date %r: %s" % (value, e)
    if d.strftime("%a") != m.group(1):
        return "weekday %s does not match %s" % (m.group(1), d.date())
    skew = abs((datetime.datetime.now(datetime.timezone.utc) - d)
               .total_seconds())
    if skew > tolerance:
        return "date %r is %.0f s away from now" % (value, skew)
    return None


# ---------------------------------------------------------------------------
# Processes

def _run(argv, timeout, cwd=None, env=None, stdin=subprocess.DEVNULL):
    """Runs argv; returns (rc, stdout text, stderr text).  rc is None when
    the process had to be killed after `timeout` seconds."""
    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=cwd, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = p.communicate()
        rc = None
    return (rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def run_haywire(args, timeout=TIMEOUT, cwd=None):
    """Runs the server binary with `args` to completion (or kills it after
    `timeout`).  Returns (rc, stdout, stderr).  A run that may serve (not -t,
    not -s) gets a pid file of its own unless it names one: the built-in
    default is the system's, one for every server."""
    args = list(args)
    if not ({"-t", "--test", "-s", "--signal", "--pid-file"} & set(args)):
        args += ["--pid-file", os.path.join(make_tmpdir("pid"), "hw.pid")]
    return _run(HAYWIRE_ARGV + args, timeout * SLOWER, cwd=cwd)


def check_config(path, timeout=TIMEOUT, cwd=None, extra=()):
    """`haywire -t -c PATH`: returns (rc, stdout, stderr)."""
    return run_haywire(["-t", "-c", path] + list(extra), timeout, cwd=cwd)


def curl(url, *args, timeout=10):
    """Runs curl on a loopback URL; returns (rc, stdout bytes, stderr text)."""
    argv = ["curl", "-sS", "--max-time", str(timeout), "--noproxy", "*",
            "-g"] + list(args) + [url]
    env = dict(os.environ)
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    try:
        out, err = p.communicate(timeout=timeout + 5)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc = None
    return rc, out, err.decode("utf-8", "replace")


def have_curl():
    return shutil.which("curl") is not None


def compile_module(sources, out, extra=()):
    """Builds a module the way an out-of-tree author would.  Returns
    (rc, compiler output)."""
    # -z defs proves the module needs no server symbol; the build drops it
    # only where the sanitizer runtime lives in the executable (clang).
    zdefs = os.environ.get("HW_MODULE_ZDEFS", "-Wl,-z,defs").split()
    argv = (CC + SAN_CFLAGS + ["-shared", "-fPIC", "-I",
                               os.path.join(SRCDIR, "include")] + zdefs +
            ["-o", out] + list(sources) + list(extra))
    rc, o, e = _run(argv, 120)
    return rc, " ".join(argv) + "\n" + o + e


_tmpdirs = []


def make_tmpdir(tag="t"):
    """A fresh directory under $HW_BUILDDIR/tests/tmp (removed at the end
    when every test passed, kept for inspection otherwise)."""
    os.makedirs(TMP_ROOT, exist_ok=True)
    base = os.path.splitext(os.path.basename(sys.argv[0] or "hw"))[0]
    d = tempfile.mkdtemp(prefix="%s-%s-" % (base, tag), dir=TMP_ROOT)
    _tmpdirs.append(d)
    return d


def write_config(path, config):
    """Writes `config` (a dict, or str/bytes written verbatim) to path."""
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    if isinstance(config, (dict, list)):
        data = json.dumps(config, indent=2).encode()
    elif isinstance(config, str):
        data = config.encode()
    else:
        data = config
    with open(path, "wb") as f:
        f.write(data)
    return path


class ServerError(Exception):
    pass


class Server:
    """A running haywire.

        with Server(routes=[route("/hello", "hello.so")]) as srv:
            srv.port, srv.ports, srv.addrs, srv.log(), srv.stop()

    `config` (a dict, or text written verbatim) is used as is when given;
    otherwise one is built from routes/limits/workers/modules_dir.
    `listen` is the list of --listen arguments (default 127.0.0.1:0; [] for
    none: the config's own "listen" list, e.g. TLS listeners).  The
    config is written to `workdir/config_rel` (workdir: a fresh directory
    under $HW_BUILDDIR/tests/tmp).  `config_arg` overrides what is passed
    to -c (e.g. a relative path, with `cwd`).
    """

    def __init__(self, routes=None, config=None, listen=None, limits=None,
                 workers=1, modules_dir=None, workdir=None,
                 config_rel="routes.json", config_arg=None, cwd=None,
                 args=(), start_timeout=START_TIMEOUT, name="srv"):
        self.listen = list(listen) if listen is not None else ["127.0.0.1:0"]
        if config is None:
            config = {"listen": ["127.0.0.1:0"],
                      "modules_dir": modules_dir or MODULES_DIR,
                      "workers": workers,
                      "routes": list(routes or [])}
            if limits is not None:
                config["limits"] = limits
        self.config = config
        self._own_workdir = workdir is None
        self.workdir = workdir or make_tmpdir(name)
        self.config_path = os.path.join(self.workdir, config_rel)
        self.config_arg = config_arg or self.config_path
        self.cwd = cwd or self.workdir
        self.args = list(args)
        self.start_timeout = start_timeout
        self.proc = None
        self.addrs = []          # [(host, port)] in the order logged
        self.returncode = None
        self._lines = []
        self._cond = threading.Condition()
        self._reader = None
        self._fail_mark = 0
        self._exit_logged = False

    # -- life cycle -----------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, et, ev, tb):
        try:
            if self.proc and self.proc.poll() is None:
                self.kill()
            self._join_reader()
            if t.failed > self._fail_mark or et is not None:
                self.dump_log()
            elif self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
        finally:
            _live_servers.discard(self)
        return False

    def start(self):
        self._fail_mark = t.failed
        write_config(self.config_path, self.config)
        argv = [HAYWIRE, "-c", self.config_arg]
        for a in self.listen:
            argv += ["--listen", a]
        argv += self.args
        # Each server its own pid file (in its directory), unless the test
        # chose one: the built-in default is one file for every server.
        # Where the server's pid file is (-s finds the server by it under
        # wine): --pid-file is taken from the cwd, the config's pid_file
        # from the config's directory, as the server takes them.
        if "--pid-file" in self.args:
            self.pid_file = os.path.join(
                self.cwd, self.args[self.args.index("--pid-file") + 1])
        elif isinstance(self.config, dict) and "pid_file" in self.config:
            self.pid_file = os.path.join(
                os.path.dirname(os.path.join(self.cwd, self.config_path)),
                self.config["pid_file"])
        else:
            self.pid_file = os.path.join(self.workdir, "haywire.pid")
            argv += ["--pid-file", self.pid_file]
        if not os.path.exists(HAYWIRE):
            raise ServerError("no server binary at %s" % HAYWIRE)
        self.argv = argv
        if WINE:
            argv = [WINE] + argv
        self.proc = subprocess.Popen(
            argv, cwd=self.cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        _live_servers.add(self)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        want = len(self.listen)
        if want == 0 and isinstance(self.config, dict):
            want = len(self.config.get("listen", ["127.0.0.1:8080"]))
        deadline = time.monotonic() + self.start_timeout * SLOWER
        with self._cond:
            while len(self.addrs) < want and self.proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.1))
        if len(self.addrs) < want:
            rc = self.proc.poll()
            if rc is None:
                self.kill()
            self._join_reader()
            raise ServerError(
                "server did not report %d listener(s): %s; argv %s; log:\n%s"
                % (want, "killed after %.0f s" % self.start_timeout
                   if rc is None else "exited with status %d" % rc,
                   " ".join(argv), self.log()))
        return self

    def _read_stderr(self):
        f = self.proc.stderr
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                self._lines.append(line)
                m = LISTEN_RE.search(line)
                if m:
                    host = m.group(1).strip("[]")
                    self.addrs.append((host, int(m.group(2))))
                self._cond.notify_all()
        f.close()

    def _join_reader(self):
        if self._reader is not None:
            self._reader.join(5)

    @property
    def pid(self):
        """The server's pid (the master's): the process started, or under
        wine the Windows pid the server logs at its start (wine's own Linux
        process is no server pid: never signal it by this number)."""
        if not WINE:
            return self.proc.pid
        m = self.wait_log(r"started \(pid (\d+)", TIMEOUT * SLOWER)
        return int(m.group(1)) if m else None

    @property
    def ports(self):
        return [p for _, p in self.addrs]

    @property
    def port(self):
        return self.port_for("127.0.0.1") or self.addrs[0][1]

    def port_for(self, host):
        for h, p in self.addrs:
            if h == host:
                return p
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with self._cond:
            return "\n".join(self._lines)

    def log_lines(self):
        with self._cond:
            return list(self._lines)

    def wait_log(self, pattern, timeout=TIMEOUT):
        """Waits until a log line matches; returns the match or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and
                                 not self._reader.is_alive()):
                    return None
                self._cond.wait(min(left, 0.1))

    def dump_log(self, last=60):
        lines = self.log_lines()
        t.diag("server %s (pid %s) log, last %d of %d lines:" %
               (" ".join(getattr(self, "argv", [])),
                self.proc.pid if self.proc else "-", min(last, len(lines)),
                len(lines)))
        for line in lines[-last:]:
            t.diag("  | " + line)

    def send_signal(self, sig):
        """Sends `sig` to the server (the master); under wine, asks the same
        with `haywire -s WORD` (SIGNAL_WORDS) and returns its (rc, stdout,
        stderr), else None."""
        if not WINE:
            os.kill(self.proc.pid, sig)
            return None
        word = SIGNAL_WORDS.get(sig)
        if word is None:
            raise ServerError("no command means %r where there are no "
                              "signals" % (sig,))
        argv = HAYWIRE_ARGV + ["-s", word, "-c", self.config_path,
                               "--pid-file", self.pid_file]
        if word in ("stop", "quit"):
            # `-s stop|quit` waits for the server's exit; a signal returns
            # at once, and the test goes on (reads its connections) while
            # the server stops.
            threading.Thread(target=_run, args=(argv, TIMEOUT * SLOWER),
                             kwargs={"cwd": self.cwd}, daemon=True).start()
            return None
        return _run(argv, TIMEOUT * SLOWER, cwd=self.cwd)

    def stop(self, sig=signal.SIGTERM, timeout=TIMEOUT):
        """Sends `sig` and waits; returns the exit status (negative for a
        signal) or None if it had to be killed after `timeout`."""
        timeout *= SLOWER
        if self.proc.poll() is None:
            try:
                if WINE:
                    self.send_signal(sig)
                else:
                    self.proc.send_signal(sig)
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.returncode = None
                self._join_reader()
                return None
        self.returncode = self.proc.returncode
        self._join_reader()
        return self.returncode

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                try:
                    self.proc.kill()
                except OSError:
                    pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def sanitizer_report(self):
        m = SANITIZER_RE.search(self.log())
        return m.group(0) if m else None


def assert_clean_stop(srv, sig=signal.SIGTERM, name="server"):
    """Stops `srv` with `sig` and asserts exit status 0 and no sanitizer
    report in its log (two TAP lines)."""
    signame = signal.Signals(sig).name
    rc = srv.stop(sig)
    t.is_(rc, 0, "%s exits 0 on %s" % (name, signame))
    t.ok(srv.sanitizer_report() is None,
         "%s log has no sanitizer report" % name,
         "found: %r" % srv.sanitizer_report())
    return rc


# ---------------------------------------------------------------------------
# Raw HTTP

class ProtocolError(Exception):
    pass


class Closed(ProtocolError):
    """The peer closed before a complete response arrived."""


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # [(name, value)] as received
        self.body = body                # bytes
        self.raw_head = raw_head        # bytes, through the blank line

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return bool(self.header_all(name))

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def connection_tokens(self):
        toks = []
        for v in self.header_all("Connection"):
            toks += [x.strip().lower() for x in v.split(",") if x.strip()]
        return toks

    def __repr__(self):
        return "<Response %s %s %r body=%s>" % (
            self.status, self.reason, self.headers, _short(self.body, 120))


def request(method="GET", target="/", headers=None, body=None,
            version="1.1", host="localhost"):
    """Builds request bytes.  `headers` is a list of (name, value) pairs or a
    dict; Host is added for 1.1 unless given; Content-Length is added when a
    body is given and neither it nor Transfer-Encoding is."""
    hs = list(headers.items()) if isinstance(headers, dict) else \
        list(headers or [])
    names = {k.lower() for k, _ in hs}
    if version == "1.1" and "host" not in names and host is not None:
        hs.insert(0, ("Host", host))
    if body is not None and "content-length" not in names and \
            "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    head = "%s %s HTTP/%s\r\n" % (method, target, version)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in hs) + "\r\n"
    data = head.encode("latin-1")
    if body is not None:
        data += body if isinstance(body, bytes) else body.encode()
    return data


def get(target, headers=None, version="1.1"):
    return request("GET", target, headers=headers, version=version)


def chunked(chunks, trailers=None):
    """Encodes a chunked body."""
    out = b""
    for c in chunks:
        if isinstance(c, str):
            c = c.encode()
        if c:
            out += b"%x\r\n" % len(c) + c + b"\r\n"
    out += b"0\r\n"
    for k, v in (trailers or []):
        out += ("%s: %s\r\n" % (k, v)).encode()
    return out + b"\r\n"


class Conn:
    """A client connection to 127.0.0.1 (or ::1) with a response reader."""

    def __init__(self, port, host="127.0.0.1", timeout=TIMEOUT):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("tests talk to loopback only")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_slowly(self, pieces, delay=0.02):
        """Sends each piece separately, pausing between them so that the
        server sees them in separate reads."""
        for i, p in enumerate(pieces):
            if i:
                time.sleep(delay)
            self.send(p)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed; have %d bytes: %s" %
                                 (len(self.buf), _short(bytes(self.buf[:300]))))
        self.sock.settimeout(min(left, self.timeout))
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            self.reset = True
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_response(self, head=False, timeout=None, skip_1xx=True):
        """Reads one complete response; `head` means it answers a HEAD (no
        body whatever the headers say)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            end = self.buf.find(b"\r\n\r\n")
            while end < 0:
                if len(self.buf) > 1 << 20:
                    raise ProtocolError("no end of head in 1 MiB: %s" %
                                        _short(bytes(self.buf[:300])))
                if self.eof or not self._fill(deadline):
                    raise Closed("connection closed%s before a complete "
                                 "response head; got %s" %
                                 (" (reset)" if self.reset else "",
                                  _short(bytes(self.buf))))
                end = self.buf.find(b"\r\n\r\n")
            raw_head = bytes(self.buf[:end + 4])
            del self.buf[:end + 4]
            lines = raw_head[:-4].decode("latin-1").split("\r\n")
            m = re.fullmatch(r"HTTP/(\d\.\d) (\d{3})(?: (.*))?", lines[0])
            if not m:
                raise ProtocolError("bad status line %r" % lines[0])
            headers = []
            for line in lines[1:]:
                if ":" not in line:
                    raise ProtocolError("bad header line %r" % line)
                k, v = line.split(":", 1)
                headers.append((k, v.strip(" \t")))
            status = int(m.group(2))
            resp = Response(m.group(1), status, m.group(3) or "", headers,
                            b"", raw_head)
            if 100 <= status < 200 and skip_1xx:
                continue
            break
        if head or status in (204, 304) or 100 <= status < 200:
            return resp
        te = resp.header("Transfer-Encoding")
        cl = resp.header_all("Content-Length")
        if te is not None and te.lower() == "chunked":
            resp.body = self._read_chunked(deadline)
        elif cl:
            if len(cl) != 1 or not cl[0].isdigit():
                raise ProtocolError("bad Content-Length %r" % cl)
            resp.body = self._read_exact(int(cl[0]), deadline)
        else:
            raise ProtocolError("response without Content-Length: %s" %
                                _short(raw_head))
        return resp

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            if self.eof or not self._fill(deadline):
                raise Closed("connection closed after %d of %d body bytes" %
                             (len(self.buf), n))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _read_line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > 65536:
                raise ProtocolError("line too long in chunked body")
            if self.eof or not self._fill(deadline):
                raise Closed("connection closed inside a chunked body")

    def _read_chunked(self, deadline):
        body = b""
        for _ in range(1 << 20):
            size = int(self._read_line(deadline).split(b";")[0], 16)
            if size == 0:
                while self._read_line(deadline):
                    pass
                return body
            body += self._read_exact(size, deadline)
            if self._read_line(deadline) != b"":
                raise ProtocolError("chunk not followed by CRLF")
        raise ProtocolError("too many chunks")

    def read_responses(self, n, heads=None, timeout=None):
        """Reads n responses (heads: a set of indexes answering HEAD)."""
        deadline = time.monotonic() + (timeout or max(self.timeout, n * 0.05))
        out = []
        for i in range(n):
            out.append(self.read_response(
                head=bool(heads and i in heads),
                timeout=max(0.001, deadline - time.monotonic())))
        return out

    def read_until_close(self, timeout=None):
        """Reads until the peer closes; returns (closed, bytes read).  closed
        is False if `timeout` passed first."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            try:
                if not self._fill(deadline):
                    break
            except socket.timeout:
                data = bytes(self.buf)
                self.buf.clear()
                return False, data
        data = bytes(self.buf)
        self.buf.clear()
        return True, data

    def expect_closed(self, name="server closes the connection",
                      timeout=None):
        """Asserts (one TAP line) that the server closes with nothing more to
        read."""
        closed, extra = self.read_until_close(timeout)
        return t.ok(closed and not extra, name,
                    "closed=%s extra bytes=%s" % (closed, _short(extra)))

    def is_open(self, wait=0.2):
        """True if nothing (no EOF, no data) arrives within `wait` s."""
        if self.buf or self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        return not r


def one(port, data, head=False, host="127.0.0.1", timeout=TIMEOUT):
    """Sends `data` on a new connection and reads one response."""
    with Conn(port, host, timeout) as c:
        c.send(data)
        return c.read_response(head=head)


# ---------------------------------------------------------------------------
# wrk: the load generator of the tests that reload or crash under load.

def wrk_pipeline_lua(target, depth):
    """A wrk script that sends `depth` GETs of `target` per write."""
    return ("init = function(args)\n  local r = {}\n"
            "  for i = 1, %d do r[i] = wrk.format(nil, \"%s\") end\n"
            "  req = table.concat(r)\nend\n"
            "request = function() return req end\n" % (depth, target))


def wrk_bodies_lua(body_a, body_b):
    """A wrk script that counts answers whose body is `body_a`, `body_b`, or
    neither, and prints "CHECK bad=N a=N b=N" at the end (see parse_wrk)."""
    return ("""local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; seen_a = 0; seen_b = 0 end
function response(status, headers, body)
  if body == "%s" then seen_a = seen_a + 1
  elseif body == "%s" then seen_b = seen_b + 1
  else bad = bad + 1 end
end
function done(summary, latency, requests)
  local b, a, x = 0, 0, 0
  for _, th in ipairs(threads) do
    b = b + th:get("bad"); a = a + th:get("seen_a"); x = x + th:get("seen_b")
  end
  io.write(string.format("CHECK bad=%%d a=%%d b=%%d\\n", b, a, x))
end
""" % (body_a, body_b))


def parse_wrk(out):
    """wrk's report: requests, socket errors [connect, read, write, timeout]
    (zeros when wrk prints none), non-2xx answers and, with
    wrk_bodies_lua, check = (bad, a, b)."""
    res = {"requests": None, "socket_errors": [0, 0, 0, 0], "non2xx": 0}
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        res["socket_errors"] = [int(x) for x in m.groups()]
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"CHECK bad=(\d+) a=(\d+) b=(\d+)", out)
    if m:
        res["check"] = tuple(int(x) for x in m.groups())
    return res
