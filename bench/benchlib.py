"""benchlib - what the benchmarks in bench/ share: installing the peer and
the load generator, starting Haywire and nginx pinned to a CPU, running wrk,
and reading a process tree's CPU time and memory from /proc.

Every load is bounded (wrk -d, counted loops) and goes to 127.0.0.1 only.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("HW_BUILDDIR", TOP)
CLK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "1", "0"

SCENARIOS = {
    "keepalive": {"conns": 64, "depth": 1},
    "pipelined": {"conns": 64, "depth": 16},
    "c1024": {"conns": 1024, "depth": 1},
}


def ensure_packages(extra=()):
    want = [("nginx", "nginx"), ("wrk", "wrk")] + [(p, p) for p in extra]
    need = [p for p, exe in want if shutil.which(exe) is None]
    if not need:
        return
    print(f"bench: installing {' '.join(need)}", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + need,
                   check=True, env=env)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def tree_pids(pid):
    """pid and its descendants (nginx's master has one worker child)."""
    pids, frontier = [pid], [pid]
    while frontier:
        p = frontier.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        pids += kids
        frontier += kids
    return pids


def cpu_ticks(pid):
    """(utime, stime) in clock ticks summed over the process tree."""
    u = s = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            u += int(fields[11])
            s += int(fields[12])
        except OSError:
            pass
    return u, s


class Haywire:
    name = "haywire"

    def __init__(self, tmp, workers=1, routes=None, cpus=SERVER_CPU, tag="haywire",
                 access_log=None):
        """workers: worker processes (0: the single-process mode).  routes:
        extra routes (the hello route on /hello is always there).
        access_log: None (off), or the format ("combined", "json") of an
        access log in tmp/<tag>-access.log."""
        self.port = free_port()
        cfg = os.path.join(tmp, f"{tag}.json")
        self.access_log = os.path.join(tmp, f"{tag}-access.log")
        # Long idle timeouts: a benchmark's connections must not be closed
        # under it (memory holds idle connections on purpose).
        with open(cfg, "w") as f:
            json.dump({"listen": [f"127.0.0.1:{self.port}"],
                       "modules_dir": os.path.join(BUILD, "modules"),
                       "workers": workers,
                       "timeouts_ms": {"keepalive": 600000, "head": 600000},
                       "limits": {"connections": 20000},
                       "access_log": {"path": self.access_log, "format": access_log}
                       if access_log else False,
                       "routes": [{"prefix": "/hello", "module": "hello.so"}] + list(routes or [])}, f)
        self.log = open(os.path.join(tmp, f"{tag}.log"), "w")
        # Its own pid file: the built-in default is the system's.
        argv = [os.path.join(BUILD, "server", "haywire"), "-c", cfg,
                "--pid-file", os.path.join(tmp, f"{tag}.pid")]
        if cpus:
            argv = ["taskset", "-c", cpus] + argv
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log,
                                     preexec_fn=raise_nofile)
        wait_port(self.port, self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class Nginx:
    name = "nginx"

    def __init__(self, tmp, cpus=SERVER_CPU, locations="", access_log=False):
        """locations: more nginx `location` blocks for the server.
        access_log: log in the combined format with a 64 KiB buffer
        flushed every second (what Haywire's access log does)."""
        self.port = free_port()
        prefix = os.path.join(tmp, "nginx")
        os.makedirs(prefix, exist_ok=True)
        conf = os.path.join(prefix, "nginx.conf")
        self.access_log = os.path.join(prefix, "access.log")
        log = (f"access_log {self.access_log} combined buffer=64k flush=1s;"
               if access_log else "access_log off;")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
worker_rlimit_nofile 20000;
events {{ worker_connections 20000; }}
http {{
  {log}
  keepalive_requests 4294967295;
  keepalive_timeout 600s;
  client_body_temp_path {prefix}/body;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{ default_type text/plain; return 200 "Hello, World!"; }}
{locations}
  }}
}}
""")
        argv = ["nginx", "-c", conf, "-p", prefix]
        if cpus:
            argv = ["taskset", "-c", cpus] + argv
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=raise_nofile)
        wait_port(self.port, self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        return float("nan")
    x, unit = float(m.group(1)), m.group(2)
    return x * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(port, sc, duration, tmp, threads=1, cpus=CLIENT_CPU, usage=None,
            path="/hello"):
    """Runs wrk on `path`; `usage`, a dict, receives wrk's own CPU
    seconds."""
    args = ["wrk", f"-t{threads}", f"-c{sc['conns']}", f"-d{duration}s",
            "--latency", "--timeout", "5s"]
    if cpus:
        args = ["taskset", "-c", cpus] + args
    if sc["depth"] > 1:
        lua = os.path.join(tmp, f"pipe{sc['depth']}.lua")
        with open(lua, "w") as f:
            f.write("init = function(args)\n  local r = {}\n"
                    f"  for i = 1, {sc['depth']} do r[i] = wrk.format(nil, \"{path}\") end\n"
                    "  req = table.concat(r)\nend\nrequest = function() return req end\n")
        args += ["-s", lua]
    args.append(f"http://127.0.0.1:{port}{path}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 30,
                         preexec_fn=raise_nofile).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if usage is not None:
        usage["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    avg = to_ms(re.search(r"Latency\s+(\S+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {"reqs": reqs, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "avg_ms": avg, "p50_ms": to_ms(pct.get("50", "nan")), "p99_ms": to_ms(pct.get("99", "nan")),
            "errors": errors}


def measure(server, sc, duration, tmp, path="/hello"):
    u0, s0 = cpu_ticks(server.proc.pid)
    r = run_wrk(server.port, sc, duration, tmp, path=path)
    u1, s1 = cpu_ticks(server.proc.pid)
    n = max(r["reqs"], 1)
    r["user_us"] = (u1 - u0) / CLK / n * 1e6
    r["sys_us"] = (s1 - s0) / CLK / n * 1e6
    r["cpu_us"] = r["user_us"] + r["sys_us"]
    return r




def rss_kib(pid):
    """Resident memory (KiB) of a process tree."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def serving_pids(server):
    """The processes that serve: Haywire's workers (or its single process),
    nginx's workers; the master is idle and not counted for syscalls."""
    kids = tree_pids(server.proc.pid)[1:]
    # taskset execs the server in place, so proc.pid is the server itself.
    return kids or [server.proc.pid]


def _drive(port, request, depth, window, requests):
    """Sends `requests` requests on one connection, `depth` per write, at
    most `window` unanswered, and reads every answer (each ends with the
    hello body)."""
    batch = request * depth
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        sent = got = 0
        buf = b""
        while got < requests:
            if sent - got + depth <= window and sent < requests:
                s.sendall(batch)
                sent += depth
                continue
            buf += s.recv(1 << 20)
            n = buf.count(b"Hello, World!")
            got += n
            buf = buf[buf.rfind(b"Hello, World!") + 13:] if n else buf


def callgrind_ir(tmp, tag, requests, routes=(), depth=1, window=None, binary=None,
                 request=None, extra=None):
    """Instructions (valgrind --tool=callgrind) the single-process server
    executes to start, answer `requests` requests on one keep-alive
    connection, `depth` per write with at most `window` unanswered (by
    default one write's worth: each answer awaited), and stop.  The cost
    per request is the difference of two such counts over the difference in
    requests, so that start-up cancels out.  Instruction counts do not
    depend on the machine's load; with a window larger than one write, how
    many requests one read brings depends on timing, which moves the count
    per request by a few percent.  `extra`: more top-level config keys."""
    port = free_port()
    cfg = os.path.join(tmp, f"cg-{tag}.json")
    with open(cfg, "w") as f:
        json.dump({"listen": [f"127.0.0.1:{port}"], "workers": 0,
                   "modules_dir": os.path.join(BUILD, "modules"),
                   "routes": [{"prefix": "/hello", "module": "hello.so"}] + list(routes),
                   **(extra or {})}, f)
    out = os.path.join(tmp, f"cg-{tag}-{requests}.out")
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          binary or os.path.join(BUILD, "server", "haywire"), "-c", cfg,
                          "--pid-file", os.path.join(tmp, f"cg-{tag}-{requests}.pid")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, p, timeout=60)
        _drive(port, request or b"GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n", depth,
               window or depth, requests)
    finally:
        p.terminate()
        p.wait(timeout=120)
    with open(out) as f:
        m = re.search(r"^summary:\s+(\d+)", f.read(), re.M)
    return int(m.group(1))
