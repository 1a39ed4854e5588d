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
                 access_log=None, tls=None, http2=False, proxy=False,
                 health_route=None):
        """workers: worker processes (0: the single-process mode).  routes:
        extra routes (the hello route on /hello is always there).
        access_log: None (off), or the format ("combined", "json") of an
        access log in tmp/<tag>-access.log.  tls: None (plain HTTP), or a
        (cert, key) pair of absolute paths: the listener speaks TLS.
        http2: the listener speaks HTTP/2 too: by prior knowledge on a
        plain listener ("http2": true), by ALPN ("h2" first) over TLS.
        proxy: every connection begins with a PROXY header, taken from
        127.0.0.1 (a balancer's send-proxy-v2; plain listeners only).
        health_route: the path the server answers itself (a balancer's
        check)."""
        self.port = free_port()
        listen = f"127.0.0.1:{self.port}"
        if tls:
            listen = {"address": listen,
                      "tls": {"certificates": [{"cert": tls[0], "key": tls[1]}]}}
            if http2:
                listen["tls"]["alpn"] = ["h2", "http/1.1"]
        elif http2:
            listen = {"address": listen, "http2": True}
        elif proxy:
            listen = {"address": listen, "proxy_protocol": True,
                      "proxy_from": ["127.0.0.1/32"]}
        cfg = os.path.join(tmp, f"{tag}.json")
        self.access_log = os.path.join(tmp, f"{tag}-access.log")
        # Long idle timeouts: a benchmark's connections must not be closed
        # under it (memory holds idle connections on purpose).
        with open(cfg, "w") as f:
            json.dump({"listen": [listen],
                       "modules_dir": os.path.join(BUILD, "modules"),
                       "workers": workers,
                       "timeouts_ms": {"keepalive": 600000, "head": 600000},
                       "limits": {"connections": 20000},
                       "access_log": {"path": self.access_log, "format": access_log}
                       if access_log else False,
                       "routes": [{"prefix": "/hello", "module": "hello.so"}] + list(routes or []),
                       **({"health_route": health_route} if health_route else {})}, f)
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

    def __init__(self, tmp, cpus=SERVER_CPU, locations="", access_log=False, tls=None,
                 http2=False, proxy=False, tag="nginx"):
        """locations: more nginx `location` blocks for the server.
        access_log: log in the combined format with a 64 KiB buffer
        flushed every second (what Haywire's access log does).
        tls: None (plain HTTP), or a (cert, key) pair: `listen ... ssl`,
        TLS 1.2 and 1.3, resumption by session tickets only (the built-in
        session cache off, so neither server resumes by session ID).
        http2: `listen ... http2`: HTTP/2 only on a plain listener (by prior
        knowledge, h2c), h2 or HTTP/1.1 by ALPN over TLS.
        proxy: `listen ... proxy_protocol` (a balancer's send-proxy-v2).
        tag: its directory in tmp (two instances need two)."""
        self.port = free_port()
        ssl = ""
        if tls:
            ssl = (f"ssl_certificate {tls[0]};\n    ssl_certificate_key {tls[1]};\n"
                   "    ssl_protocols TLSv1.2 TLSv1.3;\n"
                   "    ssl_session_tickets on;\n    ssl_session_cache off;")
        prefix = os.path.join(tmp, tag)
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
    listen 127.0.0.1:{self.port}{" ssl" if tls else ""}{" http2" if http2 else ""}{" proxy_protocol" if proxy else ""} backlog=4096;
    {ssl}
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
            path="/hello", scheme="http"):
    """Runs wrk on `path`; `usage`, a dict, receives wrk's own CPU
    seconds; scheme "https" for a TLS listener."""
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
    args.append(f"{scheme}://127.0.0.1:{port}{path}")
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


def measure(server, sc, duration, tmp, path="/hello", scheme="http"):
    u0, s0 = cpu_ticks(server.proc.pid)
    r = run_wrk(server.port, sc, duration, tmp, path=path, scheme=scheme)
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


def pss_kib(pid):
    """Proportional set size (KiB) of a process tree: pages shared between
    the master and its workers are counted once, split between them."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


HELLO_REQUEST = b"GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n"


def open_idle(port, n, deadline_s=60, ssl_context=None, request=HELLO_REQUEST,
              in_flight=512):
    """n keep-alive connections, each after one answered request (the
    answer ends with the hello body); returns the sockets.  With
    ssl_context (an ssl.SSLContext) each connection completes its TLS
    handshake before the request.  At most `in_flight` connections are
    unanswered at a time; the whole is bounded by deadline_s."""
    import selectors
    import ssl
    sel = selectors.DefaultSelector()
    socks, pending = [], {}
    end = time.monotonic() + deadline_s

    def step():
        for key, ev in sel.select(timeout=1):
            s = key.fileobj
            st = pending[s]
            try:
                if st["phase"] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise RuntimeError(f"connect failed: {os.strerror(err)}")
                    if ssl_context is not None:
                        sel.unregister(s)
                        t = ssl_context.wrap_socket(s, do_handshake_on_connect=False)
                        socks[st["i"]] = t
                        del pending[s]
                        pending[t] = st
                        s = t
                        st["phase"] = "handshake"
                        sel.register(s, selectors.EVENT_WRITE)
                    else:
                        st["phase"] = "request"
                if st["phase"] == "handshake":
                    s.do_handshake()
                    st["phase"] = "request"
                if st["phase"] == "request":
                    s.send(request)
                    st["phase"] = "response"
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                while True:  # response: drain what TLS has decrypted
                    data = s.recv(4096)
                    if not data:
                        raise RuntimeError("server closed a connection")
                    st["buf"] += data
                    if st["buf"].endswith(b"Hello, World!"):
                        sel.unregister(s)
                        del pending[s]
                        break
                    if ssl_context is None or not s.pending():
                        break
            except ssl.SSLWantReadError:
                sel.modify(s, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                sel.modify(s, selectors.EVENT_WRITE)

    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        pending[s] = {"i": i, "phase": "connect", "buf": b""}
        sel.register(s, selectors.EVENT_WRITE)
        # Keep the number of half-open connections bounded.
        while len(pending) > in_flight and time.monotonic() < end:
            step()
    while pending and time.monotonic() < end:
        step()
    sel.close()
    if pending:
        for s in socks:
            s.close()
        raise RuntimeError(f"{len(pending)} connections not answered in time")
    return socks


def serving_pids(server):
    """The processes that serve: Haywire's workers (or its single process),
    nginx's workers; the master is idle and not counted for syscalls."""
    kids = tree_pids(server.proc.pid)[1:]
    # taskset execs the server in place, so proc.pid is the server itself.
    return kids or [server.proc.pid]


def _drive(port, request, depth, window, requests, preamble=b""):
    """Sends `requests` requests on one connection, `depth` per write, at
    most `window` unanswered, and reads every answer (each ends with the
    hello body).  `preamble` goes first (a PROXY protocol header)."""
    batch = request * depth
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        if preamble:
            s.sendall(preamble)
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
                 request=None, extra=None, proxy=False):
    """Instructions (valgrind --tool=callgrind) the single-process server
    executes to start, answer `requests` requests on one keep-alive
    connection, `depth` per write with at most `window` unanswered (by
    default one write's worth: each answer awaited), and stop.  The cost
    per request is the difference of two such counts over the difference in
    requests, so that start-up cancels out.  Instruction counts do not
    depend on the machine's load; with a window larger than one write, how
    many requests one read brings depends on timing, which moves the count
    per request by a few percent.  `extra`: more top-level config keys.
    `proxy`: the listener takes a PROXY protocol header, and the connection
    begins with one (v2, as HAProxy's send-proxy-v2 sends it)."""
    port = free_port()
    cfg = os.path.join(tmp, f"cg-{tag}.json")
    listen = (f"127.0.0.1:{port}" if not proxy else
              {"address": f"127.0.0.1:{port}", "proxy_protocol": True,
               "proxy_from": ["127.0.0.1"]})
    preamble = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" +
                bytes([192, 0, 2, 7, 127, 0, 0, 1, 0x15, 0xb3, 0x1f, 0x90])
                if proxy else b"")
    with open(cfg, "w") as f:
        json.dump({"listen": [listen], "workers": 0,
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
               window or depth, requests, preamble)
    finally:
        p.terminate()
        p.wait(timeout=120)
    with open(out) as f:
        m = re.search(r"^summary:\s+(\d+)", f.read(), re.M)
    return int(m.group(1))
