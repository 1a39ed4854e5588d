"""TLS against the real server (server/tls.c, tls_ctx.c, tickets.c), with
the real clients: Python's ssl module (OpenSSL underneath), curl and
`openssl s_client`.  Certificates are made here with the openssl command
(no private key is in the tree).

  * serving: HTTP/1.1 over TLS 1.2 and 1.3, keep-alive and pipelining,
    large bodies both ways, ALPN (http/1.1 chosen; only h2 offered is the
    no_application_protocol alert), SNI (exact, wildcard, unknown and none
    give the certificate they should), what modules see (ABI 1.5's
    host->tls), the JSON access log's tls/sni/alpn, the handshake counters;
  * resumption: a session ticket resumes on every worker (two workers,
    SO_REUSEPORT spreads the connections), TLS 1.2 and 1.3;
  * bad input, each on its own connection with the server answering the
    next client: plain HTTP on the TLS port (400, a redirect, a close), a
    ClientHello on a plain port (400), truncated handshakes, garbage
    records, a handshake split byte by byte, SSLv3 / TLS 1.0 / TLS 1.1
    hellos (built by hand: Debian's OpenSSL cannot offer them), a
    client-initiated renegotiation, a client that never finishes (the head
    timeout), handshakes counting against limits.connections;
  * configuration: -t names the file for a missing certificate or key and a
    key of another certificate, warns for an expired certificate and a
    key readable by everyone, refuses bad keys; a reload serves a renewed
    certificate to new handshakes while an open connection keeps its
    session, and a reload with a broken certificate changes nothing.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, get, route, fixture  # noqa: E402

OPENSSL = shutil.which("openssl")


# ---------------------------------------------------------------------------
# Certificates

def make_cert(d, name, names, key="ec", days=30):
    """A self-signed certificate with `names` in its subjectAltName (DNS
    names, or IP:...), its key readable by its owner only."""
    cert, keyf = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    alg = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
           if key == "ec" else ["-newkey", "rsa:2048"])
    san = ",".join(n if n.startswith("IP:") else "DNS:" + n for n in names)
    quiet = dict(check=True, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL, timeout=60)
    if days > 0:
        subprocess.run([OPENSSL, "req", "-x509", "-nodes", *alg, "-keyout",
                        keyf, "-out", cert, "-days", str(days), "-subj",
                        "/CN=" + name, "-addext", "subjectAltName=" + san],
                       **quiet)
    else:  # (req -x509 refuses a past end; x509 -req takes negative days)
        csr = os.path.join(d, name + ".csr")
        subprocess.run([OPENSSL, "req", "-new", "-nodes", *alg, "-keyout",
                        keyf, "-out", csr, "-subj", "/CN=" + name], **quiet)
        subprocess.run([OPENSSL, "x509", "-req", "-in", csr, "-signkey", keyf,
                        "-days", str(days - 1), "-out", cert], **quiet)
    os.chmod(keyf, 0o600)
    return cert, keyf


def der(cert):
    with open(cert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def tls_listen(certs, **tls):
    tls = dict(tls)
    tls["certificates"] = [{"cert": c, "key": k} for c, k in certs]
    return {"address": "127.0.0.1:0", "tls": tls}


def tls_server(certs, routes, workers=1, plain=False, extra=None, **tls):
    """A server whose first listener is TLS (and second plain, if asked)."""
    listen = [tls_listen(certs, **tls)]
    if plain:
        listen.append("127.0.0.1:0")
    config = {"listen": listen, "modules_dir": hwtest.MODULES_DIR,
              "workers": workers, "routes": routes}
    config.update(extra or {})
    return hwtest.Server(config=config, listen=[])


# ---------------------------------------------------------------------------
# Clients

def client_ctx(versions=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if versions:
        ctx.minimum_version, ctx.maximum_version = versions
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


class TlsConn(hwtest.Conn):
    """hwtest.Conn over TLS (Python's ssl)."""

    def __init__(self, port, sni=None, ctx=None, session=None,
                 timeout=hwtest.TIMEOUT):
        super().__init__(port, timeout=timeout)
        self.sock = (ctx or client_ctx()).wrap_socket(
            self.sock, server_hostname=sni, session=session)

    def cert(self):
        return self.sock.getpeercert(binary_form=True)


def s_client(port, *args, stdin=b"", timeout=15):
    """openssl s_client's output (stdout and stderr) and exit status."""
    p = subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port,
                        *args], input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.stdout.decode("latin-1"), p.returncode


def hello(version, suites=(0x002f, 0x0035, 0xc013, 0xc014, 0x009c)):
    """A ClientHello of `version` with no extensions, built by hand (the
    shape of RFC 5246 section 7.4.1.2): the server must refuse SSLv3, TLS
    1.0 and 1.1 (RFC 8996) whatever its library would offer."""
    body = struct.pack("!H", version) + os.urandom(32) + b"\x00"
    cs = b"".join(struct.pack("!H", s) for s in suites)
    body += struct.pack("!H", len(cs)) + cs + b"\x01\x00"
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16" + struct.pack("!H", version) + struct.pack("!H", len(hs)) + hs


def recv_some(sock, timeout=5.0):
    """What the server sends before it closes (or the timeout)."""
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def still_serving(port, name):
    with TlsConn(port) as c:
        c.send(get("/hello"))
        r = c.read_response()
    return t.is_((r.status, r.body), (200, b"Hello, World!"), name)


# ---------------------------------------------------------------------------

def test_serving(d, certs):
    a, b, w = certs["a"], certs["b"], certs["w"]
    log = os.path.join(d, "access.json")
    routes = [route("/hello", "hello.so"), route("/echo", "echo.so"),
              route("/tls", fixture("tlsinfo")),
              route("/-/status", "status.so")]
    with tls_server([a, b, w], routes, plain=True,
                    extra={"access_log": {"path": log, "format": "json"}},
                    alpn=["http/1.1"]) as srv:
        port, plain_port = srv.ports[0], srv.ports[1]
        with t.block("HTTP/1.1 over TLS"):
            for name, v in (("TLS 1.2", ssl.TLSVersion.TLSv1_2),
                            ("TLS 1.3", ssl.TLSVersion.TLSv1_3)):
                with TlsConn(port, ctx=client_ctx((v, v))) as c:
                    c.send(get("/hello"))
                    r = c.read_response()
                    t.is_((r.status, r.body), (200, b"Hello, World!"),
                          name + ": GET /hello")
                    t.is_(c.sock.version(), name.replace(" ", "v"),
                          name + ": negotiated")
                    c.send(get("/hello"))
                    t.is_(c.read_response().status, 200,
                          name + ": a second request on the connection")
            with TlsConn(port) as c:
                c.send(get("/hello") * 40)
                rs = c.read_responses(40)
                t.ok(all(r.status == 200 and r.body == b"Hello, World!"
                         for r in rs), "40 pipelined requests, all answered")
            body = base64.b64encode(os.urandom(450000))
            with TlsConn(port) as c:
                c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: "
                       b"%d\r\n\r\n" % len(body) + body)
                r = c.read_response(timeout=20)
                echoed = r.json().get("body", "") if r.status == 200 else ""
                t.is_((r.status, echoed), (200, body.decode()),
                      "a 600 KB body in and echoed back, byte for byte")

        with t.block("ALPN"):
            out, rc = s_client(port, "-alpn", "h2,http/1.1",
                               stdin=b"GET /hello HTTP/1.1\r\nHost: x\r\n"
                                     b"Connection: close\r\n\r\n")
            t.like(out, r"ALPN protocol: http/1\.1",
                   "h2,http/1.1 offered: http/1.1 chosen")
            out, rc = s_client(port, "-alpn", "h2")
            t.like(out, r"no application protocol",
                   "only h2 offered: the no_application_protocol alert")
            with TlsConn(port) as c:
                t.is_(c.sock.selected_alpn_protocol(), None,
                      "no ALPN offered: none chosen, still served")
            still_serving(port, "served after the refused ALPN")

        with t.block("SNI"):
            for sni, want, name in (("a.test", a, "exact name: a"),
                                    ("b.test", b, "exact name: b"),
                                    ("B.TEST", b, "a name's case is ignored"),
                                    ("x.wild.test", w, "wildcard *.wild.test"),
                                    ("x.y.wild.test", a,
                                     "a wildcard covers one label only"),
                                    ("unknown.test", a,
                                     "unknown name: the first certificate"),
                                    (None, a, "no SNI: the first certificate")):
                with TlsConn(port, sni=sni) as c:
                    t.is_(c.cert(), der(want[0]), name)
                    c.send(get("/hello"))
                    t.is_(c.read_response().status, 200, name + ": served")
            out, rc = s_client(port, "-servername", "b.test",
                               stdin=b"GET /hello HTTP/1.1\r\nHost: b\r\n"
                                     b"Connection: close\r\n\r\n")
            t.like(out, r"subject=CN ?= ?b", "s_client -servername b.test: b")

        with t.block("modules see the session (ABI 1.5)"):
            with TlsConn(port, sni="b.test",
                         ctx=client_ctx(alpn=["http/1.1"])) as c:
                c.send(get("/tls"))
                r = c.read_response()
            info = dict(line.split(": ", 1)
                        for line in r.body.decode().splitlines())
            t.is_(info.get("version"), "TLSv1.3", "version")
            t.like(info.get("cipher", ""), r"^TLS_", "cipher")
            t.is_(info.get("server_name"), "b.test", "server_name")
            t.is_(info.get("alpn"), "http/1.1", "alpn")
            t.is_(info.get("resumed"), "0", "not resumed")
            t.is_(info.get("nul"), "1", "strings are NUL-terminated")
            r = hwtest.one(plain_port, get("/tls"))
            t.is_(r.body, b"plain\n", "plain TCP: NULL")

        with t.block("curl"):
            if not hwtest.have_curl():
                t.skip("curl is not installed", 3)
            else:
                out = hwtest.curl("https://127.0.0.1:%d/hello" % port, "-k")
                t.is_(out[:2], (0, b"Hello, World!"),
                      "curl -k https://.../hello")
                out = hwtest.curl("https://b.test:%d/hello" % port, "-k",
                                  "--resolve", "b.test:%d:127.0.0.1" % port,
                                  "-w", "%{http_version}")
                t.is_(out[:2], (0, b"Hello, World!1.1"), "curl with SNI b.test")
                out = hwtest.curl("https://127.0.0.1:%d/hello" % port, "-k",
                                  "--tlsv1.2", "--tls-max", "1.2")
                t.is_(out[:2], (0, b"Hello, World!"), "curl over TLS 1.2")

        with t.block("access log and counters"):
            srv.stop()
            lines = [json.loads(x) for x in open(log).read().splitlines()]
            tls_lines = [x for x in lines if x.get("tls")]
            plain_lines = [x for x in lines if x.get("tls") is None]
            sni_b = [x for x in tls_lines if x.get("sni") == "b.test"]
            t.ok(tls_lines and all(x["tls"] in ("TLSv1.2", "TLSv1.3")
                                   for x in tls_lines),
                 "TLS requests log their version", tls_lines[:2])
            t.ok(sni_b and sni_b[0]["alpn"] in ("http/1.1", ""),
                 "the SNI name and ALPN are logged", sni_b[:1])
            t.ok(plain_lines and all(x["sni"] is None and x["alpn"] is None
                                     for x in plain_lines),
                 "plain TCP: tls, sni, alpn are null", plain_lines[:1])


def test_dual(d, certs):
    """An RSA certificate beside an ECDSA one for the same names: each
    client gets the one it can use, with or without SNI."""
    ec, rsa = certs["a"], certs["a_rsa"]
    with tls_server([ec, rsa, certs["b"]], [route("/hello", "hello.so")]) as srv:
        v12 = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
        for sni in (None, "a.test"):
            with TlsConn(srv.port, sni=sni) as c:
                t.is_(c.cert(), der(ec[0]), "ECDSA for a client that takes it "
                      "(SNI %s)" % sni)
            ctx = client_ctx(v12)
            ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
            with TlsConn(srv.port, sni=sni, ctx=ctx) as c:
                t.is_(c.cert(), der(rsa[0]), "RSA for a TLS 1.2 client with "
                      "only RSA suites (SNI %s)" % sni)
                c.send(get("/hello"))
                t.is_(c.read_response().status, 200, "served")
        with TlsConn(srv.port, sni="b.test") as c:
            t.is_(c.cert(), der(certs["b"][0]), "the next name still by SNI")


def test_cipher_order(d, certs):
    """The client's order by default (Mozilla's intermediate), the server's
    with prefer_server_ciphers."""
    suites = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"
    for server_order, want in ((False, "ECDHE-ECDSA-AES128-GCM-SHA256"),
                               (True, "ECDHE-ECDSA-AES256-GCM-SHA384")):
        with tls_server([certs["a"]], [route("/hello", "hello.so")],
                        ciphers=suites,
                        prefer_server_ciphers=server_order) as srv:
            ctx = client_ctx((ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))
            ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384")
            with TlsConn(srv.port, ctx=ctx) as c:
                t.is_(c.sock.cipher()[0], want, "prefer_server_ciphers %s: %s"
                      % (str(server_order).lower(), want))


def test_listen_option(d, certs):
    """--listen names an address the config serves with TLS: it keeps its
    tls; another is plain."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    config = {"listen": [dict(tls_listen([certs["a"]]),
                              address="127.0.0.1:%d" % port)],
              "modules_dir": hwtest.MODULES_DIR, "workers": 0,
              "routes": [route("/hello", "hello.so")]}
    with hwtest.Server(config=config, listen=["127.0.0.1:%d" % port,
                                              "127.0.0.1:0"]) as srv:
        tls_port, plain_port = srv.ports
        t.is_(tls_port, port, "the config's address, given by --listen")
        still_serving(tls_port, "--listen: it keeps its tls")
        t.is_(hwtest.one(plain_port, get("/hello")).status, 200,
              "--listen: another address is plain HTTP")


def read_answers(sock, n, timeout=5):
    """Up to n responses (status, body) read off a TLS socket."""
    c = hwtest.Conn.__new__(hwtest.Conn)
    c.sock, c.timeout, c.buf, c.eof, c.reset = sock, timeout, bytearray(), \
        False, False
    out = []
    try:
        for _ in range(n):
            r = c.read_response(timeout=timeout)
            out.append((r.status, r.body))
    except (hwtest.Closed, socket.timeout, OSError) as e:
        out.append(("error", repr(e)))
    return out


def test_reentrancy(d, certs):
    """Module code that one connection's request runs makes other
    connections answer and read on: each connection's bytes stay its own,
    and a connection closed by its failed write is not used after."""
    routes = [route("/p", fixture("pubsub")), route("/e", "echo.so"),
              route("/hello", "hello.so"), route("/d", "delay.so")]
    with tls_server([certs["a"]], routes) as srv:
        port = srv.port
        b = TlsConn(port)
        # 33 deferred requests: HTTP/1.1 takes 32, TLS keeps the rest of
        # the record (and the connection the next one) until it resumes.
        b.send(b"GET /p/wait HTTP/1.1\r\nHost: b\r\n\r\n" * 33 + get("/hello"))
        time.sleep(0.3)
        b.send(get("/hello") + get("/e/SECRET-OF-B"))
        time.sleep(0.3)
        with TlsConn(port) as a:
            a.send(get("/p/go") + get("/e/A-ONLY"))
            got = read_answers(a.sock, 2)
        t.is_(got[0], (200, b"go"), "A's first request answered")
        t.ok(len(got) > 1 and got[1][0] == 200 and
             b"/e/A-ONLY" in got[1][1] and b"SECRET" not in got[1][1],
             "A's second answer is its own request's, not B's", got)
        rest = read_answers(b.sock, 33 + 3)
        t.ok(len(rest) == 36 and all(s == 200 for s, _ in rest) and
             b"/e/SECRET-OF-B" in rest[-1][1],
             "B's 36 answers, in order, the last its own", rest[-3:])
        b.close()
        # Two deferred answers, the client gone before the second: the
        # write that fails closes the connection under HTTP/1.1 (ASan
        # would see a use after free; the log is checked at the stop).
        for _ in range(3):
            s = TlsConn(port)
            s.send(get("/d?ms=200") + get("/d?ms=600"))
            time.sleep(0.05)
            raw = socket.socket(fileno=os.dup(s.sock.fileno()))
            raw.shutdown(socket.SHUT_WR)
            s.close()
            raw.close()
            time.sleep(0.9)
        still_serving(port, "served after clients left mid-answer")
        hwtest.assert_clean_stop(srv)


def test_counters(d, certs):
    routes = [route("/hello", "hello.so"), route("/-/status", "status.so")]
    with tls_server([certs["a"]], routes, plain=True) as srv:
        port, plain_port = srv.ports
        ctx = client_ctx((ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3))
        with TlsConn(port, ctx=ctx) as c:
            c.send(get("/hello"))
            c.read_response()
            sess = c.sock.session
        with TlsConn(port, ctx=ctx, session=sess) as c:
            c.send(get("/hello"))
            c.read_response()
            resumed = c.sock.session_reused
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"\x16\x03\x01\x00\x05junk!")
            recv_some(s, 3)
        want = {"full": 1, "resumed": 1, "failed": 1}

        last = {}

        def counted():
            st = hwtest.one(plain_port, get("/-/status")).json()
            last["v"] = st.get("tls_handshakes")
            return last["v"] == want
        t.is_(resumed, True, "the second connection resumed")
        t.ok(hwtest.poll(counted, 5), "status.so: tls_handshakes full, "
             "resumed, failed (the failed one counted when its connection "
             "closed)", last.get("v"))
        prom = hwtest.one(plain_port,
                          get("/-/status?format=prometheus")).body.decode()
        t.like(prom, r'haywire_tls_handshakes_total\{result="resumed"\} 1',
               "Prometheus: haywire_tls_handshakes_total")


def test_resumption(d, certs):
    with tls_server([certs["a"]], [route("/hello", "hello.so")],
                    workers=2) as srv:
        port = srv.port
        for name, v in (("TLS 1.3", ssl.TLSVersion.TLSv1_3),
                        ("TLS 1.2", ssl.TLSVersion.TLSv1_2)):
            ctx = client_ctx((v, v))
            with TlsConn(port, ctx=ctx) as c:
                c.send(get("/hello"))
                c.read_response()
                sess = c.sock.session
            reused, ports = 0, set()
            for _ in range(12):
                with TlsConn(port, ctx=ctx, session=sess) as c:
                    c.send(get("/hello"))
                    ok = c.read_response().status == 200
                    reused += ok and c.sock.session_reused
                    ports.add(c.local_port())
                    sess = c.sock.session
            t.is_(reused, 12, name + ": 12 of 12 connections resumed, "
                  "on whichever worker took them")
        sess_file = os.path.join(d, "sess.pem")
        out, _ = s_client(port, "-sess_out", sess_file, "-ign_eof",
                          stdin=b"GET /hello HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
        out, _ = s_client(port, "-sess_in", sess_file, "-ign_eof",
                          stdin=b"GET /hello HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
        t.like(out, r"(?m)^Reused, TLSv1\.3", "openssl s_client: Reused")


def test_bad_input(d, certs):
    routes = [route("/hello", "hello.so")]
    with tls_server([certs["a"]], routes, plain=True,
                    extra={"timeouts_ms": {"head": 1000}}) as srv:
        port, plain_port = srv.ports
        with t.block("plain HTTP on the TLS port"):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                out = recv_some(s)
            t.like(out.decode("latin-1"), r"^HTTP/1\.1 400 Bad Request\r\n",
                   "a plain request gets a plain-text 400")
            t.like(out.decode("latin-1"), r"Connection: close",
                   "and the connection closes")
            still_serving(port, "TLS still served after it")
        with t.block("a ClientHello on a plain port"):
            with socket.create_connection(("127.0.0.1", plain_port)) as s:
                s.sendall(hello(0x0303, (0x1301, 0xc02b)))
                out = recv_some(s)
            t.like(out.decode("latin-1"), r"^HTTP/1\.1 400 ",
                   "HTTP/1.1 answers 400 to TLS bytes")
        with t.block("refused versions (hand-built hellos)"):
            for v, name in ((0x0300, "SSLv3"), (0x0301, "TLS 1.0"),
                            (0x0302, "TLS 1.1")):
                with socket.create_connection(("127.0.0.1", port)) as s:
                    s.sendall(hello(v))
                    out = recv_some(s)
                t.ok(len(out) >= 7 and out[0] == 0x15 and out[5] == 2 and
                     out[6] in (40, 70),
                     name + ": a fatal alert (protocol_version or "
                     "handshake_failure), no ServerHello", out[:16].hex())
            # (SECLEVEL=0 lets Debian's client offer TLS 1.1 at all: the
            # refusal is then the server's.)
            out, rc = s_client(port, "-tls1_1", "-cipher",
                               "DEFAULT@SECLEVEL=0")
            t.ok("alert protocol version" in out and
                 "Cipher is (NONE)" in out,
                 "s_client offering TLS 1.1: the server's protocol_version "
                 "alert, no session", out[-300:])
        with t.block("broken handshakes"):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"\x16\x03\x01\x00\x40" + os.urandom(64))
                out = recv_some(s)
            t.ok(out[:1] == b"\x15", "a garbage handshake record: an alert",
                 out[:16].hex())
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))
                out = recv_some(s)
            t.ok(out[:1] == b"\x15", "application data before a handshake: "
                 "an alert", out[:16].hex())
            whole = hello(0x0303, (0x1301, 0xc02b))
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(whole[:30])
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(whole[:30])
                start = time.monotonic()
                out = recv_some(s, 6)
                took = time.monotonic() - start
            t.ok(out == b"" and 0.5 <= took < 4,
                 "a truncated hello is closed by the head timeout (1 s)",
                 "took %.2f s, got %r" % (took, out[:20]))
            with socket.create_connection(("127.0.0.1", port)) as s:
                start = time.monotonic()
                out = recv_some(s, 6)
                took = time.monotonic() - start
            t.ok(out == b"" and took < 4,
                 "a client that never says hello: closed by the head "
                 "timeout", "took %.2f s" % took)
            still_serving(port, "served after the broken handshakes")
        with t.block("a handshake split byte by byte"):
            inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = client_ctx().wrap_bio(inc, outg, server_hostname="a.test")
            s = socket.create_connection(("127.0.0.1", port))
            s.settimeout(5)
            sent = 0
            for _ in range(100):
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    data = outg.read()
                    for i in range(len(data)):
                        s.sendall(data[i:i + 1])
                        time.sleep(0.0005)
                    sent += len(data)
                    got = s.recv(65536)
                    if not got:
                        break
                    inc.write(got)
            obj.write(get("/hello"))
            s.sendall(outg.read())
            resp = b""
            for _ in range(20):
                try:
                    resp += obj.read(65536)
                    if b"Hello, World!" in resp:
                        break
                except ssl.SSLWantReadError:
                    inc.write(s.recv(65536))
            s.close()
            t.ok(sent > 100 and b"Hello, World!" in resp,
                 "every byte of the hello in its own write: served",
                 "sent %d bytes; got %r" % (sent, resp[:60]))
        with t.block("renegotiation"):
            proc = subprocess.Popen(
                [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port,
                 "-tls1_2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT)
            time.sleep(1.0)
            proc.stdin.write(b"R\n")
            proc.stdin.flush()
            time.sleep(1.0)
            proc.stdin.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                proc.stdin.flush()
            except BrokenPipeError:
                pass
            try:
                out = proc.communicate(timeout=5)[0].decode("latin-1")
            except subprocess.TimeoutExpired:
                proc.kill()
                out = proc.communicate()[0].decode("latin-1")
            t.like(out, r"RENEGOTIATING", "the client asked to renegotiate")
            t.like(out, r"no renegotiation",
                   "the server refused (no_renegotiation)")
            t.unlike(out, r"Hello, World!",
                     "no request is served on the refused session")
            still_serving(port, "served after the renegotiation attempt")
        t.ok(srv.alive(), "the server is still running")
        hwtest.assert_clean_stop(srv)


def test_plain_modes(d, certs):
    for mode in ("redirect", "close"):
        with tls_server([certs["a"]], [route("/hello", "hello.so")],
                        plain_http=mode) as srv:
            with socket.create_connection(("127.0.0.1", srv.port)) as s:
                s.sendall(b"GET /a/b?c=d HTTP/1.1\r\nHost: Example.test:80\r\n"
                          b"User-Agent: x\r\n\r\n")
                out = recv_some(s).decode("latin-1")
            if mode == "redirect":
                t.like(out, r"^HTTP/1\.1 308 Permanent Redirect\r\n",
                       "plain_http redirect: 308")
                t.like(out, r"\r\nLocation: https://Example\.test:%d/a/b\?c=d"
                       r"\r\n" % srv.port, "to the https URL on this port")
                with socket.create_connection(("127.0.0.1", srv.port)) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n")
                    s.sendall(b"GET /x HTTP/1.1\r\n\r\n")
                    out = recv_some(s).decode("latin-1")
                t.like(out, r"^HTTP/1\.1 (308|400)", "odd heads: an answer")
                with socket.create_connection(("127.0.0.1", srv.port)) as s:
                    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
                    out = recv_some(s).decode("latin-1")
                t.like(out, r"^HTTP/1\.1 400 ", "no Host: 400, no redirect")
                for head, name in (
                        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                         "two Host lines: 400 (RFC 9112 section 3.2)"),
                        (b"GET / HTTP/1.1\r\nHost: :8443\r\n\r\n",
                         "a Host with no name: 400"),
                        (b"GET / HTTP/1.1\r\nX: \x00\r\nHost: a\n\r\n",
                         "a NUL and a head ending in LF CRLF: answered at "
                         "once")):
                    with socket.create_connection(("127.0.0.1",
                                                   srv.port)) as s:
                        s.sendall(head)
                        start = time.monotonic()
                        out = recv_some(s).decode("latin-1")
                    t.ok(re.match(r"^HTTP/1\.1 (400|308) ", out) and
                         (name.startswith("a NUL") or out.startswith(
                             "HTTP/1.1 400")) and
                         time.monotonic() - start < 2, name, out[:80])
                with socket.create_connection(("127.0.0.1", srv.port)) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX: " +
                              b"y" * 9000 + b"\r\n\r\n")
                    out = recv_some(s).decode("latin-1")
                t.like(out, r"^HTTP/1\.1 400 ", "a head past 8 KiB: 400")
            else:
                t.is_(out, "", "plain_http close: closed without a byte")
            still_serving(srv.port, mode + ": TLS still served")


def test_connection_limit(d, certs):
    with tls_server([certs["a"]], [route("/hello", "hello.so")],
                    extra={"limits": {"connections": 2}}) as srv:
        port = srv.port
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in "ab"]
        time.sleep(0.3)
        s = socket.create_connection(("127.0.0.1", port))
        obj = client_ctx().wrap_socket(s, do_handshake_on_connect=False)
        obj.settimeout(1.0)
        try:
            obj.do_handshake()
            done = True
        except (socket.timeout, ssl.SSLError, OSError):
            done = False
        t.is_(done, False, "with 2 handshakes open, a third waits "
              "(limits.connections counts them)")
        obj.close()
        for s in idle:
            s.close()
        time.sleep(0.3)
        still_serving(port, "once they close, the next is served")


def run_t(cfg_path):
    p = subprocess.run(hwtest.HAYWIRE_ARGV + ["-t", "-c", cfg_path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    return p.returncode, p.stdout.decode()


def test_check(d, certs):
    a = certs["a"]

    def cfg(tls, name):
        path = os.path.join(d, name + ".json")
        hwtest.write_config(path, {
            "listen": [{"address": "127.0.0.1:0", "tls": tls}],
            "modules_dir": hwtest.MODULES_DIR, "workers": 0,
            "routes": [route("/hello", "hello.so")]})
        return path

    def certs_of(*pairs):
        return [{"cert": c, "key": k} for c, k in pairs]

    rc, out = run_t(cfg({"certificates": certs_of(a)}, "ok"))
    t.is_((rc, out.strip().splitlines()[-1]), (0, "configuration OK"),
          "-t: a good certificate")
    missing = os.path.join(d, "missing.pem")
    rc, out = run_t(cfg({"certificates": certs_of((missing, a[1]))}, "m1"))
    t.ok(rc != 0 and "listen[0].tls.certificates[0].cert" in out and
         missing in out and "No such file" in out,
         "-t: a missing certificate names the key and the file", out)
    rc, out = run_t(cfg({"certificates": certs_of((a[0], missing))}, "m2"))
    t.ok(rc != 0 and "certificates[0].key" in out and missing in out,
         "-t: a missing key names the file", out)
    rc, out = run_t(cfg({"certificates": certs_of((a[0], certs["b"][1]))},
                        "mismatch"))
    t.ok(rc != 0 and certs["b"][1] in out and "certificates[0].key" in out,
         "-t: a key of another certificate names the key file", out)
    with open(certs["b"][1]) as f:
        secret = f.read().splitlines()[1]
    t.ok(secret not in out, "the key's contents are not in the message")
    rc, out = run_t(cfg({"certificates": certs_of(certs["old"])}, "expired"))
    t.ok(rc == 0 and "has expired" in out and certs["old"][0] in out,
         "-t: an expired certificate is a warning naming it", out)
    if not hwtest.skip_on_wine("no mode bits say who may read a key on "
                               "Windows (an ACL does)", 1):
        loose = os.path.join(d, "loose.key")
        shutil.copy(a[1], loose)
        os.chmod(loose, 0o644)
        rc, out = run_t(cfg({"certificates": certs_of((a[0], loose))},
                            "loose"))
        t.ok(rc == 0 and "readable by every user" in out and loose in out,
             "-t: a key readable by everyone is a warning", out)
    for tls, want, name in (
            ({"certificates": []}, "listen[0].tls.certificates",
             "no certificate"),
            ({"certificates": certs_of(a), "protocols": ["TLSv1.1"]},
             "RFC 8996", "TLS 1.1 refused"),
            ({"certificates": certs_of(a), "alpn": ["h3"]},
             "listen[0].tls.alpn[0]", "an ALPN name it does not speak"),
            ({"certificates": certs_of(a), "ciphers": "NOPE"},
             "listen[0].tls.ciphers", "a cipher list with no cipher"),
            ({"certificates": certs_of(a), "colour": 1},
             "listen[0].tls.colour: unknown key", "an unknown key"),
            ({"certificates": certs_of(a), "plain_http": "301"},
             "listen[0].tls.plain_http", "a bad plain_http")):
        rc, out = run_t(cfg(tls, "bad"))
        t.ok(rc != 0 and want in out and len(out.strip().splitlines()) == 1,
             "-t: " + name + ": one line naming the key", out)


def test_reload(d, certs):
    live = os.path.join(d, "live")
    os.makedirs(live)
    cert, key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
    shutil.copy(certs["a"][0], cert)
    shutil.copy(certs["a"][1], key)
    os.chmod(key, 0o600)
    routes = [route("/hello", "hello.so")]
    with tls_server([(cert, key)], routes, workers=2) as srv:
        port = srv.port
        old = TlsConn(port)
        old.send(get("/hello"))
        t.is_(old.read_response().status, 200, "a connection before the "
              "renewal")
        t.is_(old.cert(), der(certs["a"][0]), "it has the first certificate")
        shutil.copy(certs["b"][0], cert)
        shutil.copy(certs["b"][1], key)
        srv.send_signal(signal.SIGHUP)
        t.ok(srv.wait_log(r"generation 2 active|reload: generation 2",
                          15) is not None, "SIGHUP: generation 2")
        time.sleep(0.3)
        got = set()
        for _ in range(6):
            with TlsConn(port) as c:
                got.add(c.cert())
        t.is_(got, {der(certs["b"][0])}, "new handshakes get the renewed "
              "certificate, on every worker")
        old.send(get("/hello"))
        t.is_(old.read_response().status, 200,
              "the old connection keeps its session and is served")
        old.close()
        with open(key, "w") as f:
            f.write("not a key\n")
        srv.send_signal(signal.SIGHUP)
        m = srv.wait_log(r"reload failed: .*", 15)
        t.ok(m is not None and key in m.group(0),
             "a broken key: the reload fails naming the file",
             m and m.group(0))
        with TlsConn(port) as c:
            t.is_(c.cert(), der(certs["b"][0]),
                  "and the renewed certificate is still served")
            c.send(get("/hello"))
            t.is_(c.read_response().status, 200, "served")
        # A reload changes a listener's tls (here: TLS 1.3 only), never its
        # address; a plain listener may become TLS.
        shutil.copy(certs["b"][1], key)
        cfg = dict(srv.config)
        cfg["listen"] = [dict(cfg["listen"][0])]
        cfg["listen"][0]["tls"] = dict(cfg["listen"][0]["tls"],
                                       protocols=["TLSv1.3"])
        hwtest.write_config(srv.config_path, cfg)
        srv.send_signal(signal.SIGHUP)
        t.ok(srv.wait_log(r"generation 3 active|reload: generation 3",
                          15) is not None, "a reload to TLS 1.3 only")
        v12 = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
        try:
            with TlsConn(port, ctx=client_ctx(v12)):
                refused = False
        except (ssl.SSLError, OSError):
            refused = True
        t.ok(refused, "a TLS 1.2 client is refused after it")
        with TlsConn(port) as c:
            t.is_(c.sock.version(), "TLSv1.3", "TLS 1.3 is served")
        hwtest.assert_clean_stop(srv)


def main():
    if OPENSSL is None:
        t.skip("the openssl command is not installed", 1)
        return
    d = hwtest.make_tmpdir("tls")
    certs = {"a": make_cert(d, "a", ["a.test", "IP:127.0.0.1"]),
             "b": make_cert(d, "b", ["b.test"], key="rsa"),
             "a_rsa": make_cert(d, "a_rsa", ["a.test", "IP:127.0.0.1"],
                                key="rsa"),
             "w": make_cert(d, "w", ["*.wild.test"]),
             "old": make_cert(d, "old", ["old.test"], days=0)}
    test_serving(d, certs)
    test_dual(d, certs)
    test_cipher_order(d, certs)
    test_listen_option(d, certs)
    test_reentrancy(d, certs)
    test_counters(d, certs)
    test_resumption(d, certs)
    test_bad_input(d, certs)
    test_plain_modes(d, certs)
    test_connection_limit(d, certs)
    test_check(d, certs)
    test_reload(d, certs)


if __name__ == "__main__":
    hwtest.run(main)
