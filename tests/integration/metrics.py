#!/usr/bin/env python3
"""The server's counters through status.so (ABI 1.4, host->metrics), against
the real server: a master with two workers, and the single process.

The JSON parses and has every documented field; the Prometheus text passes
`promtool check metrics` (skipped only without promtool); requests are
counted exactly by route and status (200 on /hello, 404 and a malformed
request line's 400 under route "(none)", status.so's own 405); the duration
histogram is cumulative and its count is the requests; request and response
body bytes are counted exactly (POSTs to echo.so); the format comes from
?format=, else from an Accept naming text/plain (Prometheus's own Accept
string), else from the route's config; POST gets 405 with Allow, HEAD the
head alone, a bad format 400; a bad config key or value is a `haywire -t`
error naming routes[i].config...; counts survive a reload, a failed reload
and a worker killed with SIGKILL, and a prefix kept across a reload keeps
its series; the reload and restart counters move; an idle keep-alive
connection shows as waiting and a half-sent head as reading; a keep-alive
timeout is counted; the process list names the master and each worker
(their real pids) with memory and descriptors; and a scrape of 1,000 routes
takes under 50 ms (median, client side, loopback)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, route  # noqa: E402


SAN = hwtest.sanitized()
SLOW = 3.0 if SAN else 1.0      # slack for waits (not for the claims)

STATUS = "/-/status"
# What Prometheus 2.x sends when it scrapes.
PROM_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
               "application/openmetrics-text;version=0.0.1;q=0.75,"
               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
PROM_CT = "text/plain; version=0.0.4; charset=utf-8"
ODD = '/q"\\\u00e9'          # /q"\é
ODD_PATH = "/q%22%5C%C3%A9"
TOP_FIELDS = ["version", "abi", "start_time", "generation", "workers",
              "last_reload_time", "generations_draining", "reloads",
              "worker_restarts", "connections", "routes", "processes"]
CONN_FIELDS = ["accepted", "reading", "writing", "waiting", "accepts_paused",
               "timeouts"]
ROUTE_FIELDS = ["route", "requests", "codes", "duration_seconds",
                "request_body_bytes", "response_body_bytes"]
PROC_FIELDS = ["role", "slot", "pid", "resident_memory_bytes", "open_fds",
               "generation"]
FAMILIES = {
    "haywire_http_requests_total": "counter",
    "haywire_http_request_duration_seconds": "histogram",
    "haywire_http_request_body_bytes_total": "counter",
    "haywire_http_response_body_bytes_total": "counter",
    "haywire_connections_accepted_total": "counter",
    "haywire_connections": "gauge",
    "haywire_accepts_paused_total": "counter",
    "haywire_connection_timeouts_total": "counter",
    "haywire_generation": "gauge",
    "haywire_reloads_total": "counter",
    "haywire_last_reload_success_timestamp_seconds": "gauge",
    "haywire_generations_draining": "gauge",
    "haywire_worker_restarts_total": "counter",
    "haywire_workers": "gauge",
    "haywire_build_info": "gauge",
    "haywire_start_time_seconds": "gauge",
    "haywire_process_resident_memory_bytes": "gauge",
    "haywire_process_open_fds": "gauge",
}
SERVING_RE = r"master: worker (\d+) \(pid (\d+)\) serving generation (\d+)"
ACTIVE_RE = r"reload: generation (\d+) active"
FAILED_RE = r"reload failed: (.*)"


def config(extra_routes=(), workers=2, **extra):
    c = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
         "workers": workers,
         "routes": [route("/hello", "hello.so"), route("/echo", "echo.so"),
                    route(STATUS, "status.so")] + list(extra_routes)}
    c.update(extra)
    return c


# ---------------------------------------------------------------------------
# Reading the counters

def fetch(port, target=STATUS, method="GET", headers=(), head=False):
    """One request on a fresh connection; the Response."""
    hs = [("Connection", "close")] + list(headers)
    return hwtest.one(port, hwtest.request(method, target, headers=hs),
                      head=head)


def scrape_json(port):
    r = fetch(port, STATUS + "?format=json")
    if r.status != 200:
        raise AssertionError("scrape: %d %r" % (r.status, r.body[:200]))
    return r.json()


def scrape_prom(port, target=STATUS + "?format=prometheus"):
    r = fetch(port, target)
    if r.status != 200:
        raise AssertionError("scrape: %d %r" % (r.status, r.body[:200]))
    return r.text()


def route_of(snap, name):
    for r in snap["routes"]:
        if r["route"] == name:
            return r
    return None


def code_count(snap, name, code):
    r = route_of(snap, name)
    return r["codes"].get(str(code), 0) if r else 0


def wait_json(port, pred, timeout=3.0):
    """Scrapes until pred(snapshot) holds or `timeout` passes (a request is
    counted when its response has been handed over, which may be just after
    the client read it); returns the last snapshot."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        snap = scrape_json(port)
        if pred(snap) or time.monotonic() >= deadline:
            return snap
        time.sleep(0.05)


_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_prom(text):
    """{(name, ((label, value), ...)): float} and {family: type} of a
    Prometheus text; raises ValueError on a line it cannot read."""
    samples, types = {}, {}
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ValueError("unreadable line %r" % line)
        labels = []
        rest = m.group(2) or ""
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            if not lm:
                raise ValueError("unreadable labels in %r" % line)
            v = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1),
                                                          x.group(1)),
                       lm.group(2))
            labels.append((lm.group(1), v))
            pos = lm.end()
        key = (m.group(1), tuple(sorted(labels)))
        if key in samples:
            raise ValueError("duplicate sample %r" % (key,))
        samples[key] = float(m.group(3))
    return samples, types


def prom_get(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def promtool_check(text):
    """(rc, output) of `promtool check metrics` fed `text`."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def hello_many(port, n, target="/hello"):
    """n GETs of `target`, pipelined in batches of 50 on one connection;
    returns the statuses."""
    out = []
    with Conn(port) as c:
        left = n
        while left > 0:
            k = min(50, left)
            c.send(b"".join(hwtest.get(target) for _ in range(k)))
            out += [r.status for r in c.read_responses(k)]
            left -= k
    return out


def worker_pids(snap):
    return sorted(p["pid"] for p in snap["processes"] if p["role"] == "worker")


def version():
    rc, out, _ = hwtest.run_haywire(["--version"])
    m = re.match(r"haywire (\S+) \(module ABI (\d+\.\d+)", out)
    return (m.group(1), m.group(2)) if m else (None, None)


children = hwtest.children


def worker_children(srv):
    out = []
    for p in children(srv.pid):
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                if b"--worker" in f.read().split(b"\0"):
                    out.append(p)
        except OSError:
            pass
    return sorted(out)


def wait_workers(srv, n=2):
    """Waits until n workers said they serve; their pids."""
    def ready():
        kids = worker_children(srv)
        serving = {int(m.group(2)) for m in
                   (re.search(SERVING_RE, x) for x in srv.log_lines()) if m}
        return kids if len(kids) == n and set(kids) <= serving else None
    kids = hwtest.poll(ready, 10 * SLOW)
    if not kids:
        raise hwtest.ServerError("%d workers not ready" % n)
    return kids


def rewrite(srv, cfg):
    tmp = srv.config_path + ".new"
    hwtest.write_config(tmp, cfg)
    os.replace(tmp, srv.config_path)


def reload(srv, cfg, want=ACTIVE_RE):
    """Rewrites the config, sends SIGHUP, waits for the verdict line after
    it; returns that line (or None)."""
    mark = len(srv.log_lines())
    rewrite(srv, cfg)
    srv.send_signal(signal.SIGHUP)
    rx = re.compile(ACTIVE_RE + "|" + FAILED_RE)
    deadline = time.monotonic() + 20 * SLOW
    while time.monotonic() < deadline:
        for line in srv.log_lines()[mark:]:
            if rx.search(line):
                return line
        time.sleep(0.02)
    return None


# ---------------------------------------------------------------------------
# The tests

def test_json_and_text():
    with t.block("JSON and Prometheus text"):
        # A prefix with a quote, a backslash and UTF-8, reached through
        # its percent-encoded path: both formats must carry it intact.
        odd = route(ODD, "hello.so")
        with hwtest.Server(config=config([odd]), name="fmt") as srv:
            kids = wait_workers(srv)
            t.is_(fetch(srv.port, ODD_PATH).status, 200,
                  "the odd prefix answers through %s" % ODD_PATH)
            hwtest.poll(lambda: route_of(scrape_json(srv.port), ODD) and
                        route_of(scrape_json(srv.port), ODD)["requests"],
                        3 * SLOW)
            r = fetch(srv.port)
            t.is_(r.status, 200, "GET /-/status: 200")
            t.is_(r.header("Content-Type"), "application/json",
                  "JSON by default (curl's Accept: */*)")
            t.is_(r.header("Vary"), "Accept", "Vary: Accept")
            t.is_(r.header("Cache-Control"), "no-store",
                  "Cache-Control: no-store")
            snap = json.loads(r.body.decode("utf-8"))  # strict UTF-8
            t.is_([k for k in TOP_FIELDS if k not in snap], [],
                  "every top-level field is there")
            t.is_([k for k in CONN_FIELDS if k not in snap["connections"]],
                  [], "connections has every field")
            ver, abi = version()
            t.is_((snap["version"], snap["abi"]), (ver, abi),
                  "version and ABI as `haywire --version` says them")
            t.is_(snap["workers"], 2, "workers: 2")
            t.is_(snap["generation"], 1, "generation 1")
            t.is_(snap["last_reload_time"], 0, "no reload yet: 0")
            t.ok(abs(snap["start_time"] - time.time()) < 120,
                 "start_time is about now", snap["start_time"])
            t.is_(snap["reloads"], {"ok": 0, "failed": 0}, "reloads: none")
            t.is_(snap["worker_restarts"], {"signal": 0, "exit": 0},
                  "worker_restarts: none")
            t.ok(snap["connections"]["accepted"] >= 1,
                 "accepted counts this connection",
                 snap["connections"]["accepted"])
            t.ok(isinstance(snap["connections"]["timeouts"], dict) and
                 all(isinstance(v, int) for v in
                     snap["connections"]["timeouts"].values()),
                 "timeouts: an object of counts",
                 snap["connections"]["timeouts"])
            rs = snap["routes"]
            t.ok(rs and all(set(ROUTE_FIELDS) <= set(x) for x in rs),
                 "every route has every field", rs[:2])
            names = [x["route"] for x in rs]
            t.ok(STATUS in names, "its own route is listed", names)
            o = route_of(snap, ODD)
            t.is_(o and (o["requests"], o["codes"]), (1, {"200": 1}),
                  "JSON: the prefix %r, escaped, reads back intact" % ODD)

            # Processes: the master and each worker, with their real pids.
            procs = snap["processes"]
            t.ok(all(set(PROC_FIELDS) <= set(p) for p in procs),
                 "every process has every field", procs)
            masters = [p for p in procs if p["role"] == "master"]
            t.is_([p["pid"] for p in masters], [srv.pid],
                  "one master, the server's pid")
            t.is_(worker_pids(snap), kids, "each worker, its real pid")
            t.is_(sorted(p["slot"] for p in procs if p["role"] == "worker"),
                  [1, 2], "worker slots 1 and 2")
            t.ok(all(p["resident_memory_bytes"] > 0 and p["open_fds"] > 0
                     for p in procs),
                 "each has resident memory and open descriptors", procs)
            t.ok(all(p["generation"] == 1 for p in procs
                     if p["role"] == "worker"),
                 "workers serve generation 1", procs)

            text = scrape_prom(srv.port)
            if shutil.which("promtool") is None:
                t.skip("promtool not installed (Debian package prometheus)")
            else:
                rc, out = promtool_check(text)
                t.ok(rc == 0 and out.strip() == "",
                     "promtool check metrics: no problem", rc, out[:2000])
            samples, types = parse_prom(text)
            missing = {f: ty for f, ty in FAMILIES.items()
                       if types.get(f) != ty}
            t.is_(missing, {}, "every family with its TYPE")
            t.is_(prom_get(samples, "haywire_build_info", version=ver,
                           abi=abi), 1.0, "haywire_build_info{version,abi} 1")
            t.is_(prom_get(samples, "haywire_http_requests_total",
                           route=ODD, code="200"), 1.0,
                  "text: the label of %r reads back intact" % ODD)
            t.is_(prom_get(samples, "haywire_workers"), 2.0,
                  "haywire_workers 2")
            t.is_(prom_get(samples, "haywire_process_resident_memory_bytes",
                           process="master") is not None and
                  prom_get(samples, "haywire_process_open_fds",
                           process="worker-1") is not None and
                  prom_get(samples, "haywire_process_open_fds",
                           process="worker-2") is not None, True,
                  "process=\"master\", \"worker-1\", \"worker-2\"")
            for st in ("reading", "writing", "waiting"):
                t.ok(prom_get(samples, "haywire_connections", state=st)
                     is not None, "haywire_connections{state=\"%s\"}" % st)
            for k in snap["connections"]["timeouts"]:
                t.ok(prom_get(samples, "haywire_connection_timeouts_total",
                              kind=k) is not None,
                     "haywire_connection_timeouts_total{kind=\"%s\"}" % k)
            for res in ("ok", "failed"):
                t.is_(prom_get(samples, "haywire_reloads_total", result=res),
                      0.0, "haywire_reloads_total{result=\"%s\"} 0" % res)
            for cause in ("signal", "exit"):
                t.is_(prom_get(samples, "haywire_worker_restarts_total",
                               cause=cause), 0.0,
                      "haywire_worker_restarts_total{cause=\"%s\"} 0" % cause)
            hwtest.assert_clean_stop(srv)


def test_formats_and_refusals():
    with t.block("format selection and refusals"):
        extra = [route("/-/metrics", "status.so", {"format": "prometheus"}),
                 route("/-/json", "status.so", {"format": "json"})]
        with hwtest.Server(config=config(extra), name="sel") as srv:
            p = srv.port
            cases = [
                (STATUS, [], "application/json", "no query, no Accept"),
                (STATUS + "?format=prometheus", [], PROM_CT,
                 "?format=prometheus"),
                (STATUS + "?format=json", [], "application/json",
                 "?format=json"),
                (STATUS, [("Accept", PROM_ACCEPT)], PROM_CT,
                 "Prometheus's Accept"),
                (STATUS, [("Accept", "application/openmetrics-text")],
                 PROM_CT, "Accept: application/openmetrics-text"),
                (STATUS, [("Accept", "text/html,*/*;q=0.8")],
                 "application/json", "a browser's Accept"),
                (STATUS + "?format=json", [("Accept", PROM_ACCEPT)],
                 "application/json", "?format=json beats Accept"),
                (STATUS + "?x=1&format=prometheus", [], PROM_CT,
                 "format among other keys"),
                ("/-/metrics", [], PROM_CT, "route config prometheus"),
                ("/-/metrics?format=json", [], "application/json",
                 "route config prometheus, ?format=json"),
                ("/-/json", [("Accept", PROM_ACCEPT)], PROM_CT,
                 "route config json, Prometheus's Accept"),
                (STATUS + "/", [], "application/json", "a trailing /"),
            ]
            for target, hs, ct, name in cases:
                r = fetch(p, target, headers=hs)
                t.is_((r.status, r.header("Content-Type")), (200, ct), name)
                if ct == PROM_CT:
                    try:
                        parse_prom(r.text())
                        t.ok(r.text().startswith("# HELP "),
                             name + ": the text format")
                    except ValueError as e:
                        t.fail(name + ": the text format", str(e))
                else:
                    try:
                        t.ok("routes" in r.json(), name + ": JSON")
                    except ValueError as e:
                        t.fail(name + ": JSON", str(e))

            r = fetch(p, STATUS, method="POST")
            t.is_(r.status, 405, "POST: 405")
            t.is_(r.header("Allow"), "GET, HEAD", "Allow: GET, HEAD")
            r = fetch(p, STATUS, method="DELETE")
            t.is_(r.status, 405, "DELETE: 405")

            for q in ("format=xml", "format=", "format=JSON"):
                r = fetch(p, STATUS + "?" + q)
                t.is_(r.status, 400, "?%s: 400" % q)
                t.ok(r.body.count(b"\n") == 1 and b"prometheus" in r.body
                     and b"json" in r.body,
                     "?%s: one line naming the accepted values" % q, r.body)

            r = fetch(p, STATUS + "/below")
            t.is_(r.status, 404, "a path below the route: 404 (declined)")

            # HEAD: the head of GET, then nothing: the next response on the
            # connection starts right after it.
            with Conn(p) as c:
                c.send(hwtest.request("HEAD", STATUS) +
                       hwtest.request("GET", "/hello"))
                h = c.read_response(head=True)
                g = c.read_response()
            t.is_(h.status, 200, "HEAD: 200")
            t.is_(h.header("Content-Type"), "application/json",
                  "HEAD: the GET's Content-Type")
            t.ok(int(h.header("Content-Length", "0")) > 100,
                 "HEAD: the GET's Content-Length",
                 h.header("Content-Length"))
            t.is_((g.status, g.body), (200, b"Hello, World!"),
                  "HEAD sent no body (the next response follows its head)")
            hwtest.assert_clean_stop(srv)


def test_config_errors():
    with t.block("config errors (-t)"):
        d = hwtest.make_tmpdir("conf")
        cases = [
            ({"fromat": "json"}, r'routes\[3\]\.config: unknown key '
             r'\\?"fromat\\?"', "an unknown key"),
            ({"format": "xml"}, r'routes\[3\]\.config\.format: .*"json".*'
             r'"prometheus"', "a bad value"),
            ({"format": 5}, r"routes\[3\]\.config\.format: ",
             "a value that is no string"),
        ]
        for conf, rx, name in cases:
            cfg = config([route("/-/bad", "status.so", conf)])
            path = hwtest.write_config(os.path.join(d, "routes.json"), cfg)
            rc, out, err = hwtest.check_config(path)
            lines = [x for x in err.splitlines() if x.strip()]
            t.is_(rc, 1, "%s: haywire -t exits 1" % name)
            t.ok(len(lines) == 1 and re.search(rx, lines[0]),
                 "%s: one line naming the key" % name, err)
        cfg = config([route("/-/good", "status.so",
                            {"format": "prometheus"})])
        path = hwtest.write_config(os.path.join(d, "routes.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.ok(rc == 0, "format prometheus passes -t", err)


def test_counts():
    with t.block("counts by route and code"):
        with hwtest.Server(config=config(), name="cnt") as srv:
            p = srv.port
            wait_workers(srv)
            n = 37
            statuses = hello_many(p, n)
            t.is_(statuses, [200] * n, "%d GETs of /hello: 200" % n)
            nf = 3
            t.is_([fetch(p, "/nowhere/%d" % i).status for i in range(nf)],
                  [404] * nf, "%d requests for no route: 404" % nf)
            with Conn(p) as c:
                c.send(b"GARBAGE\r\n\r\n")
                bad = c.read_response()
            t.is_(bad.status, 400, "a malformed request line: 400")
            t.is_(fetch(p, STATUS, method="POST").status, 405,
                  "a POST to status.so: 405")

            def settled(s):
                return (code_count(s, "/hello", 200) >= n and
                        code_count(s, "(none)", 404) >= nf and
                        code_count(s, "(none)", 400) >= 1 and
                        code_count(s, STATUS, 405) >= 1)
            snap = wait_json(p, settled)
            hello = route_of(snap, "/hello")
            t.is_(hello and (hello["requests"], hello["codes"]),
                  (n, {"200": n}), "/hello: exactly %d requests, all 200" % n)
            none = route_of(snap, "(none)")
            t.is_(none and none["codes"], {"400": 1, "404": nf},
                  "route (none): the 404s and the 400, exactly")
            t.is_(none and none["requests"], nf + 1,
                  "route (none): requests is their sum")
            t.is_(code_count(snap, STATUS, 405), 1,
                  "/-/status: its 405, once")
            echo = route_of(snap, "/echo")
            t.is_(echo and echo["requests"], 0, "/echo: no request yet")

            # The histogram.
            h = hello["duration_seconds"] if hello else {}
            b = h.get("buckets", {})
            les = sorted((float(k), v) for k, v in b.items() if k != "+Inf")
            vals = [v for _, v in les] + [b.get("+Inf")]
            t.ok(len(les) >= 10 and all(x <= y for x, y in
                                        zip(vals, vals[1:])),
                 "JSON buckets: ascending bounds, cumulative counts", b)
            t.is_((b.get("+Inf"), h.get("count")), (n, n),
                  "+Inf and count are the requests")
            t.ok(0 < h.get("sum", 0) < n * 10.0,
                 "sum: seconds, positive and plausible", h.get("sum"))
            t.ok(vals and vals[0] is not None and
                 [le for le, _ in les][:3] == [0.0005, 0.001, 0.0025],
                 "the first bounds are 0.0005, 0.001, 0.0025",
                 [le for le, _ in les])

            # The same numbers in the text format.
            text = scrape_prom(p)
            s, _ = parse_prom(text)
            t.is_(prom_get(s, "haywire_http_requests_total", route="/hello",
                           code="200"), float(n),
                  "text: requests_total{route=\"/hello\",code=\"200\"}")
            t.is_(prom_get(s, "haywire_http_requests_total", route="(none)",
                           code="404"), float(nf),
                  "text: requests_total{route=\"(none)\",code=\"404\"}")
            t.is_(prom_get(s, "haywire_http_requests_total", route="(none)",
                           code="400"), 1.0,
                  "text: requests_total{route=\"(none)\",code=\"400\"}")
            t.is_(prom_get(s, "haywire_http_requests_total", route=STATUS,
                           code="405"), 1.0,
                  "text: requests_total{route=\"/-/status\",code=\"405\"}")
            buckets = sorted(
                (float(dict(k[1])["le"]), v) for k, v in s.items()
                if k[0] == "haywire_http_request_duration_seconds_bucket" and
                dict(k[1]).get("route") == "/hello")
            t.ok(len(buckets) >= 11 and buckets[-1][0] == float("inf") and
                 all(x[1] <= y[1] for x, y in zip(buckets, buckets[1:])),
                 "text: _bucket cumulative up to le=\"+Inf\"", buckets)
            t.is_(prom_get(s, "haywire_http_request_duration_seconds_count",
                           route="/hello"), float(n),
                  "text: _count is the requests")
            t.is_(buckets and buckets[-1][1], float(n),
                  "text: le=\"+Inf\" is the requests")
            t.ok(any(k[0] == "haywire_http_request_duration_seconds_bucket"
                     and dict(k[1]).get("le") == "0.0005" for k in s),
                 "text: le=\"0.0005\" written as Prometheus does")
            t.ok((prom_get(s, "haywire_http_request_duration_seconds_sum",
                           route="/hello") or 0) > 0, "text: _sum > 0")

            # Bodies both ways, through echo.so.
            sent = recv = 0
            with Conn(p) as c:
                for i in range(5):
                    body = b"x" * (100 * i + 7)
                    c.send(hwtest.request("POST", "/echo", body=body))
                    r = c.read_response()
                    sent += len(body)
                    recv += len(r.body)
            snap = wait_json(p, lambda s: (route_of(s, "/echo") or {})
                             .get("requests", 0) >= 5)
            echo = route_of(snap, "/echo")
            t.is_(echo and (echo["requests"], echo["request_body_bytes"],
                            echo["response_body_bytes"]),
                  (5, sent, recv),
                  "/echo: 5 requests, the bytes sent and received")
            hello = route_of(snap, "/hello")
            t.is_(hello and (hello["request_body_bytes"],
                             hello["response_body_bytes"]),
                  (0, n * len(b"Hello, World!")),
                  "/hello: no request body, its responses' bytes")
            s, _ = parse_prom(scrape_prom(p))
            t.is_((prom_get(s, "haywire_http_request_body_bytes_total",
                            route="/echo"),
                   prom_get(s, "haywire_http_response_body_bytes_total",
                            route="/echo")),
                  (float(sent), float(recv)),
                  "text: the body byte counters of /echo")
            hwtest.assert_clean_stop(srv)


def test_reload_and_restart():
    with t.block("reloads and a killed worker"):
        with hwtest.Server(config=config(), name="rl") as srv:
            p = srv.port
            kids = wait_workers(srv)
            n = 20
            hello_many(p, n)
            snap = wait_json(p, lambda s: code_count(s, "/hello", 200) >= n)
            t.is_(code_count(snap, "/hello", 200), n, "before: %d" % n)

            # A reload that keeps /hello and adds a route.
            line = reload(srv, config([route("/new", "hello.so")]))
            t.like(line, r"generation 2 active", "SIGHUP: generation 2")
            snap = wait_json(p, lambda s: s["generation"] == 2 and
                             s["reloads"].get("ok") == 1)
            t.is_(snap["generation"], 2, "generation: 2")
            t.is_(snap["reloads"], {"ok": 1, "failed": 0}, "reloads ok: 1")
            t.ok(snap["last_reload_time"] >= snap["start_time"] > 0,
                 "last_reload_time is set, after start_time",
                 (snap["start_time"], snap["last_reload_time"]))
            t.is_(code_count(snap, "/hello", 200), n,
                  "the /hello count survives the reload")
            m = 7
            hello_many(p, m)
            hello_many(p, 2, "/new")
            snap = wait_json(p, lambda s: code_count(s, "/hello", 200) >=
                             n + m and code_count(s, "/new", 200) >= 2)
            t.is_(code_count(snap, "/hello", 200), n + m,
                  "a prefix kept across the reload continues its series")
            t.is_(code_count(snap, "/new", 200), 2, "the new route counts")
            hb = route_of(snap, "/hello")["duration_seconds"]
            t.is_(hb["count"], n + m, "and its histogram")

            # A reload that fails (a missing module).
            line = reload(srv, config([route("/nope", "nope.so")]))
            t.like(line, r"reload failed: .*nope\.(?:so|dll)", "a failed reload")
            snap = wait_json(p, lambda s: s["reloads"].get("failed") == 1)
            t.is_(snap["reloads"], {"ok": 1, "failed": 1},
                  "reloads: ok 1, failed 1")
            t.is_(snap["generation"], 2, "still generation 2")
            s, _ = parse_prom(scrape_prom(p))
            t.is_((prom_get(s, "haywire_reloads_total", result="ok"),
                   prom_get(s, "haywire_reloads_total", result="failed"),
                   prom_get(s, "haywire_generation")), (1.0, 1.0, 2.0),
                  "text: reloads_total and generation")
            t.ok((prom_get(s, "haywire_last_reload_success_timestamp_seconds")
                  or 0) > 0, "text: last_reload_success_timestamp_seconds")
            rewrite(srv, config([route("/new", "hello.so")]))

            # kill -9 one worker, found in the process list.
            before = scrape_json(p)
            victim = worker_pids(before)[0]
            t.ok(victim in kids, "the victim is one of the workers", victim)
            os.kill(victim, signal.SIGKILL)

            def replaced(s):
                w = worker_pids(s)
                return (len(w) == 2 and victim not in w and
                        s["worker_restarts"].get("signal", 0) >= 1)
            snap = wait_json(p, replaced, timeout=10)
            t.ok(replaced(snap), "a new worker replaces it",
                 snap["processes"])
            t.is_(snap["worker_restarts"], {"signal": 1, "exit": 0},
                  "worker_restarts: signal 1")
            t.ok(code_count(snap, "/hello", 200) >=
                 code_count(before, "/hello", 200) == n + m,
                 "the counts of the killed worker are kept",
                 (code_count(before, "/hello", 200),
                  code_count(snap, "/hello", 200)))
            t.is_(code_count(snap, "/hello", 200), n + m,
                  "exactly (no request of /hello since)")
            t.ok(all(p_["generation"] == 2 for p_ in snap["processes"]
                     if p_["role"] == "worker"),
                 "the new worker serves generation 2", snap["processes"])
            s, _ = parse_prom(scrape_prom(p))
            t.is_(prom_get(s, "haywire_worker_restarts_total",
                           cause="signal"), 1.0,
                  "text: worker_restarts_total{cause=\"signal\"} 1")
            hello_many(p, 3)
            snap = wait_json(p, lambda s: code_count(s, "/hello", 200) >=
                             n + m + 3)
            t.is_(code_count(snap, "/hello", 200), n + m + 3,
                  "and counting goes on")
            hwtest.assert_clean_stop(srv)


def test_connections():
    with t.block("connection gauges"):
        cfg = config(timeouts_ms={"keepalive": 2500})
        with hwtest.Server(config=cfg, name="conn") as srv:
            p = srv.port
            wait_workers(srv)
            idle = Conn(p)
            half = Conn(p)
            try:
                idle.send(hwtest.get("/hello"))
                t.is_(idle.read_response().status, 200,
                      "a keep-alive request")
                half.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
                # Each worker publishes its gauges twice a second: they
                # show within about a second.
                snap = wait_json(p, lambda s: s["connections"]["waiting"] >= 1
                                 and s["connections"]["reading"] >= 1,
                                 timeout=3)
                t.ok(snap["connections"]["waiting"] >= 1,
                     "an idle keep-alive connection: waiting >= 1",
                     snap["connections"])
                t.ok(snap["connections"]["reading"] >= 1,
                     "a half-sent head: reading >= 1", snap["connections"])
                s, _ = parse_prom(scrape_prom(p))
                t.ok((prom_get(s, "haywire_connections", state="reading")
                      or 0) >= 1, "text: haywire_connections reading >= 1")
                # The keep-alive timeout (2.5 s) closes the idle one.
                closed, _ = idle.read_until_close(timeout=5 * SLOW)
                t.ok(closed, "the idle connection times out")
            finally:
                idle.close()
                half.close()
            snap = wait_json(p, lambda s: s["connections"]["timeouts"]
                             .get("keepalive", 0) >= 1)
            t.ok(snap["connections"]["timeouts"].get("keepalive", 0) >= 1,
                 "timeouts: keepalive counted", snap["connections"])
            t.ok(snap["connections"]["accepted"] >= 3,
                 "accepted counts every connection", snap["connections"])
            hwtest.assert_clean_stop(srv)


def test_single():
    with t.block("single process"):
        with hwtest.Server(config=config(workers=0), name="single") as srv:
            snap = scrape_json(srv.port)
            t.is_(snap["workers"], 0, "workers: 0")
            t.is_([(p["role"], p["pid"]) for p in snap["processes"]],
                  [("single", srv.pid)], "one process, role single")
            t.ok(all(p["resident_memory_bytes"] > 0 and p["open_fds"] > 0
                     for p in snap["processes"]),
                 "with memory and descriptors", snap["processes"])
            s, _ = parse_prom(scrape_prom(srv.port))
            t.ok(prom_get(s, "haywire_process_open_fds", process="single")
                 is not None, "text: process=\"single\"")
            hwtest.assert_clean_stop(srv)


def test_thousand_routes():
    with t.block("1,000 routes"):
        n = 1000
        extra = [route("/r%d" % i, "hello.so") for i in range(n)]
        with hwtest.Server(config=config(extra), name="big",
                           start_timeout=30) as srv:
            p = srv.port
            wait_workers(srv)
            bad = []
            with Conn(p) as c:
                for i in range(0, n, 50):
                    c.send(b"".join(hwtest.get("/r%d" % j)
                                    for j in range(i, i + 50)))
                    bad += [r.status for r in c.read_responses(50)
                            if r.status != 200]
            t.is_(bad, [], "each of 1,000 routes answered once")
            snap = wait_json(p, lambda s: sum(
                x["requests"] for x in s["routes"]
                if x["route"].startswith("/r")) >= n, timeout=5)
            per = {x["route"]: x["requests"] for x in snap["routes"]}
            t.is_(sum(1 for i in range(n) if per.get("/r%d" % i) == 1), n,
                  "each counted once")

            def timed(target, headers=()):
                times = []
                with Conn(p) as c:
                    for _ in range(7):
                        t0 = time.monotonic()
                        c.send(hwtest.request("GET", target,
                                              headers=list(headers)))
                        r = c.read_response()
                        times.append(time.monotonic() - t0)
                        if r.status != 200:
                            raise AssertionError("scrape: %d" % r.status)
                times.sort()
                return times[len(times) // 2], len(r.body), r
            med, size, r = timed(STATUS + "?format=prometheus")
            medj, sizej, rj = timed(STATUS, [("Accept", "application/json")])
            t.diag("1,000 routes: Prometheus %d bytes in %.1f ms, JSON %d "
                   "bytes in %.1f ms (medians of 7)" %
                   (size, med * 1e3, sizej, medj * 1e3))
            if SAN:
                t.skip("timing is not meaningful under sanitizers", 2)
            else:
                t.cmp_ok(med * 1e3, "<", 50.0,
                         "a Prometheus scrape takes < 50 ms (ms)")
                t.cmp_ok(medj * 1e3, "<", 50.0,
                         "a JSON scrape takes < 50 ms (ms)")
            try:
                samples, _ = parse_prom(r.text())
                t.is_(sum(1 for k in samples
                          if k[0] == "haywire_http_requests_total" and
                          dict(k[1])["route"].startswith("/r")), n,
                      "the text has a requests_total series per route")
            except ValueError as e:
                t.fail("the text parses", str(e))
            t.is_(len(rj.json()["routes"]) >= n + 3, True,
                  "the JSON lists every route")
            if shutil.which("promtool") is None:
                t.skip("promtool not installed (Debian package prometheus)")
            else:
                rc, out = promtool_check(r.text())
                t.ok(rc == 0 and out.strip() == "",
                     "promtool check metrics passes on 1,000 routes", rc,
                     out[:2000])
            hwtest.assert_clean_stop(srv)


def built_without_metrics():
    """./configure --disable-metrics: the host counts nothing."""
    try:
        with open(os.path.join(hwtest.BUILDDIR, "autoconf.h")) as f:
            return re.search(r"^#define HW_NO_METRICS 1", f.read(),
                             re.M) is not None
    except OSError:
        return False


def test_without_metrics():
    with t.block("built with --disable-metrics"):
        with hwtest.Server(routes=[route("/-/status", "status.so")],
                           name="nometrics") as srv:
            r = hwtest.one(srv.port, get("/-/status"))
            t.is_(r.status, 503, "status.so says the counters are not there")
            hwtest.assert_clean_stop(srv)


def main():
    if built_without_metrics():
        test_without_metrics()
        return
    test_json_and_text()
    test_formats_and_refusals()
    test_config_errors()
    test_counts()
    test_reload_and_restart()
    test_connections()
    test_single()
    test_thousand_routes()


hwtest.run(main)
