"""The PROXY protocol against the real server (server/proxy.c,
proxy_header.c, cidr.c): headers built here byte by byte from HAProxy's
specification, sent over raw sockets before HTTP/1.1, TLS (Python's ssl
module) and HTTP/2 (tests/lib/h2frames.py); what modules see through ABI
1.7 (the proxyinfo fixture: host->peer, host->proxy, host->proxy_tlv) and
what the access log writes.

  * accepted: v1 TCP4/TCP6/UNKNOWN, v2 TCP4/TCP6/LOCAL/UNSPEC, v2 with
    TLVs (ALPN, authority, unique ID, SSL with its sub-TLVs, a custom
    type, a right CRC32C), a header split byte by byte, keep-alive and
    pipelining behind one header, TLS and HTTP/2 behind it, an IPv6
    listener trusting ::1;
  * refused (the connection closed, one log line, the next client served):
    a peer outside proxy_from, no header (a plain request, a ClientHello),
    malformed v1 and v2 headers, a wrong CRC32C, an oversized header, one
    that never completes (within timeouts_ms.head);
  * a listener without proxy_protocol is unchanged (a header there is
    HTTP's problem: 400); a reload turns the header on and off for new
    connections; -t names the file and key of a bad proxy_from.
"""

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
import h2frames  # noqa: E402
from hwtest import t, route, fixture  # noqa: E402

SLOW = 3.0 if hwtest.SAN_CFLAGS else 1.0
OPENSSL = shutil.which("openssl")
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


# ---------------------------------------------------------------------------
# Headers

def v1(proto="TCP4", src="192.0.2.7", dst="198.51.100.1", sport=5555,
       dport=443):
    if proto == "UNKNOWN":
        return b"PROXY UNKNOWN\r\n"
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport,
                                          dport)).encode()


def tlv(ttype, value):
    return struct.pack("!BH", ttype, len(value)) + value


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def v2(cmd=1, fam=0x11, src="192.0.2.7", dst="198.51.100.1", sport=5555,
       dport=443, tlvs=b"", length=None, crc=False):
    if fam == 0x11:
        block = (socket.inet_pton(socket.AF_INET, src) +
                 socket.inet_pton(socket.AF_INET, dst) +
                 struct.pack("!HH", sport, dport))
    elif fam == 0x21:
        block = (socket.inet_pton(socket.AF_INET6, src) +
                 socket.inet_pton(socket.AF_INET6, dst) +
                 struct.pack("!HH", sport, dport))
    else:
        block = b""
    body = block + tlvs
    if crc:
        body += tlv(0x03, b"\0\0\0\0")
    n = len(body) if length is None else length
    h = SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", n) + body
    if crc:
        h = h[:-4] + struct.pack("!I", crc32c(h))
    return h


# ---------------------------------------------------------------------------
# Clients

def connect(port, host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10 * SLOW)
    s.connect((host, port))
    return s


def read_all(s):
    """Everything until the server closes (b"" for a close without a byte;
    None when it reset the connection)."""
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d
    except ConnectionResetError:
        return out or None
    except socket.timeout:
        return out + b"<timeout>"


def exchange(port, raw, host="127.0.0.1"):
    s = connect(port, host)
    try:
        s.sendall(raw)
        return read_all(s)
    finally:
        s.close()


def req(path="/info", close=True):
    return ("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" %
            (path, "Connection: close\r\n" if close else "")).encode()


def fields(resp):
    """The proxyinfo fixture's "key: value" lines as a dict."""
    if resp is None or b"\r\n\r\n" not in resp:
        return {}
    body = resp.split(b"\r\n\r\n", 1)[1].decode("latin-1")
    return dict(line.split(": ", 1) if ": " in line else (line, "")
                for line in body.splitlines())


def closed_silently(resp):
    return resp in (b"", None)


# ---------------------------------------------------------------------------

def config(d, listen, workers=2, **extra):
    c = {"listen": listen, "workers": workers,
         "modules_dir": hwtest.MODULES_DIR,
         "timeouts_ms": {"head": 1000},
         "access_log": {"path": os.path.join(d, "access.log"),
                        "format": "json"},
         "routes": [route("/", fixture("proxyinfo"))]}
    c.update(extra)
    return c


def proxied(addr="127.0.0.1:0", frm=("127.0.0.1/32",), **more):
    e = {"address": addr, "proxy_protocol": True, "proxy_from": list(frm)}
    e.update(more)
    return e


def test_accepted(srv, port, d):
    f = fields(exchange(port, v1() + req()))
    t.is_(f.get("peer"), "192.0.2.7:5555", "v1 TCP4: peer() is the client")
    t.is_((f.get("version"), f.get("local"), f.get("server")),
          ("1", "0", "198.51.100.1:443"), "v1 TCP4: version, server")
    t.like(f.get("socket_peer", ""), r"^127\.0\.0\.1:\d+$",
           "v1: socket_peer is the balancer (the TCP peer)")
    t.is_(f.get("nul"), "1", "the strings are NUL-terminated")
    f = fields(exchange(port, v1("TCP6", "2001:db8::7", "2001:db8::1", 1,
                                 65535) + req()))
    t.is_((f.get("peer"), f.get("server")),
          ("[2001:db8::7]:1", "[2001:db8::1]:65535"),
          "v1 TCP6 over an IPv4 socket: the client as IPv6")
    f = fields(exchange(port, v1("UNKNOWN") + req()))
    t.like(f.get("peer", ""), r"^127\.0\.0\.1:\d+$",
           "v1 UNKNOWN: peer() is the socket's peer")
    t.is_((f.get("local"), f.get("client")), ("1", ""),
          "v1 UNKNOWN: local, no client")
    f = fields(exchange(port, v2() + req()))
    t.is_((f.get("peer"), f.get("version"), f.get("tlvs")),
          ("192.0.2.7:5555", "2", ""), "v2 TCP4 without TLVs")
    f = fields(exchange(port, v2(fam=0x21, src="2001:db8::9", dst="::1",
                                 sport=80, dport=8443) + req()))
    t.is_((f.get("peer"), f.get("server")), ("[2001:db8::9]:80",
                                             "[::1]:8443"), "v2 TCP6")
    f = fields(exchange(port, v2(cmd=0, fam=0) + req()))
    t.like(f.get("peer", ""), r"^127\.0\.0\.1:\d+$",
           "v2 LOCAL (a health check): peer() is the socket's")
    t.is_(f.get("local"), "1", "v2 LOCAL: local")
    f = fields(exchange(port, v2(cmd=1, fam=0) + req()))
    t.is_((f.get("local"), f.get("client")), ("0", ""),
          "v2 PROXY UNSPEC: no client, not local")

    ssl_tlv = tlv(0x20, b"\x05" + b"\0\0\0\0" + tlv(0x21, b"TLSv1.3") +
                  tlv(0x22, b"Client CN") +
                  tlv(0x23, b"TLS_AES_128_GCM_SHA256") +
                  tlv(0x24, b"SHA256") + tlv(0x25, b"RSA2048"))
    tlvs = (tlv(0x01, b"h2") + tlv(0x02, b"www.example.test") +
            tlv(0x05, b"\x00\x01id\xff") + ssl_tlv + tlv(0xE0, b"custom") +
            tlv(0x04, b"pad"))
    raw = v2(tlvs=tlvs, crc=True)
    f = fields(exchange(port, raw + req("/info?tlv=224")))
    t.is_((f.get("alpn"), f.get("authority"), f.get("unique_id")),
          ("h2", "www.example.test", "000169 64ff".replace(" ", "")),
          "v2 TLVs: ALPN, authority, unique ID (binary)")
    t.is_((f.get("ssl_client"), f.get("ssl_verify"), f.get("ssl_version"),
           f.get("ssl_cn"), f.get("ssl_cipher"), f.get("ssl_sig_alg"),
           f.get("ssl_key_alg")),
          ("5", "0", "TLSv1.3", "Client CN", "TLS_AES_128_GCM_SHA256",
           "SHA256", "RSA2048"), "v2 PP2_TYPE_SSL and its sub-TLVs")
    t.is_(f.get("tlv"), b"custom".hex(), "proxy_tlv: a custom type (0xE0)")
    t.is_(f.get("tlvs"), raw[28:].hex(), "tlvs: every TLV as sent")
    f = fields(exchange(port, v2() + req("/info?tlv=224")))
    t.is_(f.get("tlv error"), "-2", "proxy_tlv: an absent type: HW_ENOENT")
    f = fields(exchange(port, v1() + req("/info?tlv=1")))
    t.is_(f.get("tlv error"), "-71", "proxy_tlv after a v1 header: "
          "HW_ESTATE")

    # Keep-alive and pipelining behind one header; split byte by byte.
    s = connect(port)
    s.sendall(v1(src="203.0.113.5") + req(close=False) + req(close=False) +
              req())
    out = read_all(s)
    s.close()
    t.is_(out.count(b"peer: 203.0.113.5:5555"), 3,
          "three pipelined requests behind one header: each sees the client")
    s = connect(port)
    raw = v2(src="203.0.113.6") + req()
    for i in range(40):
        s.send(raw[i:i + 1])
        time.sleep(0.005)
    s.sendall(raw[40:])
    f = fields(read_all(s))
    s.close()
    t.is_(f.get("peer"), "203.0.113.6:5555",
          "a header and request sent a byte at a time: reassembled")
    s = connect(port)
    s.sendall(v1(src="203.0.113.8")[:10])
    time.sleep(0.1)
    s.sendall(v1(src="203.0.113.8")[10:] + req())
    f = fields(read_all(s))
    s.close()
    t.is_(f.get("peer"), "203.0.113.8:5555", "a v1 header in two reads")

    # The access log writes the client the header named.
    log = os.path.join(d, "access.log")
    deadline = time.monotonic() + 5 * SLOW
    lines = []
    while time.monotonic() < deadline:
        try:
            with open(log) as fh:
                lines = [json.loads(x) for x in fh if x.strip()]
        except (FileNotFoundError, ValueError):
            lines = []
        if any(x.get("remote_addr") == "203.0.113.8" for x in lines):
            break
        time.sleep(0.05)
    addrs = {x.get("remote_addr") for x in lines}
    t.ok({"192.0.2.7", "203.0.113.5", "203.0.113.8"} <= addrs,
         "the access log's remote_addr is the client the header named",
         sorted(a for a in addrs if a))


def wait_new_line(srv, n, pattern, timeout):
    """A log line past the first n that matches, or None."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        for line in srv.log_lines()[n:]:
            if rx.search(line):
                return line
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


def refused(srv, port, raw, name, why, hold=None, next_port=None):
    n = len(srv.log_lines())
    s = connect(port)
    start = time.monotonic()
    try:
        if raw:
            s.sendall(raw)
        out = read_all(s)
    finally:
        s.close()
    took = time.monotonic() - start
    t.ok(closed_silently(out), "%s: closed without an answer" % name, out)
    t.ok(wait_new_line(srv, n, r"PROXY protocol: connection from \S+ "
                       r"closed: " + why, 5 * SLOW) is not None,
         "%s: the log says why" % name, srv.log_lines()[n:])
    if hold is not None:
        t.ok(hold[0] <= took <= hold[1] * SLOW,
             "%s: closed after %.2f s (%s-%s s)" % (name, took, hold[0],
                                                   hold[1]))
    f = fields(exchange(next_port or port, v1() + req()))
    t.is_(f.get("peer"), "192.0.2.7:5555", "%s: the next client is served"
          % name)
    return took


def test_refused(srv, port, untrusted_port):
    refused(srv, untrusted_port, v1() + req(), "a peer outside proxy_from",
            r"not in the listener's proxy_from", next_port=port)
    # (from the untrusted listener, nothing is read: even no bytes close)
    refused(srv, port, req(), "no header (a plain request)",
            r"no PROXY protocol header \(the first bytes cannot begin one\)")
    refused(srv, port, b"\x16\x03\x01\x00\xa5\x01", "no header (a ClientHello)",
            r"no PROXY protocol header \(the first bytes cannot begin one\)")
    refused(srv, port, b"PROXY TCP4 192.0.2.7 198.51.100.1 70000 1\r\n" +
            req(), "v1 with a port past 65535", r"a malformed PROXY protocol header")
    refused(srv, port, b"PROXY TCP4 192.0.2.7 ::1 1 2\r\n" + req(),
            "v1 with an IPv6 address under TCP4",
            r"a malformed PROXY protocol header")
    refused(srv, port, b"PROXY UNKNOWN" + b"x" * 120, "v1 past 107 bytes",
            r"a PROXY protocol header too long")
    refused(srv, port, v2()[:12] + b"\x22\x11\x00\x0c" + v2()[16:] + req(),
            "v2 command 2", r"a malformed PROXY protocol header")
    refused(srv, port, v2(fam=0x12) + req(), "v2 over UDP",
            r"a malformed PROXY protocol header")
    refused(srv, port, v2(fam=0x11, tlvs=b"\x01\x00\x09h2") + req(),
            "v2 with a TLV cut short", r"a malformed PROXY protocol header")
    bad = bytearray(v2(crc=True))
    bad[16] ^= 1
    refused(srv, port, bytes(bad) + req(), "v2 with a wrong CRC32C",
            r"a malformed PROXY protocol header")
    refused(srv, port, v2(length=0xFFFF), "v2 announcing 64 KiB",
            r"a PROXY protocol header too long")
    refused(srv, port, b"PROXY TCP4 192.0.2.7 ", "a header never completed",
            r"no complete header within timeouts_ms\.head", hold=(0.8, 3.0))
    refused(srv, port, b"", "no byte at all", r"no complete header within",
            hold=(0.8, 3.0))
    refused(srv, port, b"POST / HTTP/1.1\r\n\r\n", "a POST, no header",
            r"no PROXY protocol header")

    # A TCP health check (connect, close) is not worth a line; a flood of
    # refusals is logged 20 at once, then one a second with a count.
    n = len(srv.log_lines())
    for _ in range(5):
        connect(port).close()
    time.sleep(0.3 * SLOW)
    f = fields(exchange(port, v1() + req()))
    t.is_(f.get("peer"), "192.0.2.7:5555", "after five bare TCP checks: "
          "served")
    t.is_([x for x in srv.log_lines()[n:] if "PROXY protocol" in x], [],
          "a connection that ends before a byte logs nothing")
    time.sleep(2.2)  # the bucket fills up again (one line a second)
    n = len(srv.log_lines())
    for _ in range(60):
        out = exchange(untrusted_port, b"")
    time.sleep(0.3 * SLOW)
    lines = [x for x in srv.log_lines()[n:] if "PROXY protocol" in x]
    t.ok(20 <= len(lines) <= 45,
         "60 refusals at once: %d lines (a bucket of 20 in each of the 2 "
         "workers)" % len(lines))
    time.sleep(1.1)
    n = len(srv.log_lines())
    exchange(untrusted_port, b"")
    exchange(untrusted_port, b"")
    t.ok(wait_new_line(srv, n, r"refusals before it not logged\)",
                       3 * SLOW) is not None,
         "the next line counts those held back")


def make_cert(d):
    cert, key = os.path.join(d, "c.pem"), os.path.join(d, "c.key")
    subprocess.run([OPENSSL, "req", "-x509", "-nodes", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=a.test",
                    "-addext", "subjectAltName=DNS:a.test"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def test_tls_and_h2(srv, tls_port, h2_port):
    if tls_port is not None:
        s = connect(tls_port)
        s.sendall(v2(src="198.18.0.1", sport=4242))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ts = ctx.wrap_socket(s, server_hostname="a.test")
        ts.sendall(req())
        f = fields(read_all(ts))
        ts.close()
        t.is_(f.get("peer"), "198.18.0.1:4242",
              "TLS behind a v2 header: the handshake after it, the client "
              "as peer")
    c = h2frames.Client(h2_port, preface=False)
    try:
        c.send(v1(src="198.18.0.2", sport=99) + h2frames.PREFACE +
               h2frames.settings())
        sid = c.request("GET", "/info")
        st = c.response(sid)
        f = fields(b"\r\n\r\n" + bytes(st.body))
        t.is_((st.status, f.get("peer")), (200, "198.18.0.2:99"),
              "HTTP/2 by prior knowledge behind a v1 header")
    finally:
        c.close()


def main():
    d = hwtest.make_tmpdir("proxy")
    listen = [proxied(), "127.0.0.1:0", proxied(frm=["10.0.0.0/8"]),
              proxied(http2=True, frm=["127.0.0.0/8", "::1"])]
    tls_port = None
    if OPENSSL is not None:
        cert, key = make_cert(d)
        listen.append(proxied(tls={"certificates": [{"cert": cert,
                                                     "key": key}]}))
    c = config(d, listen)
    with hwtest.Server(config=c, listen=[], workdir=d) as srv:
        port, plain, untrusted, h2 = srv.ports[:4]
        if OPENSSL is not None:
            tls_port = srv.ports[4]
        test_accepted(srv, port, d)
        test_refused(srv, port, untrusted)
        test_tls_and_h2(srv, tls_port, h2)
        if OPENSSL is None:
            t.skip("the openssl command is not installed (TLS behind PROXY)")
        f = fields(exchange(plain, req()))
        t.is_(f.get("none"), "", "a listener without proxy_protocol: "
              "host->proxy is NULL")
        t.like(f.get("peer", ""), r"^127\.0\.0\.1:\d+$",
               "... and peer() the socket's")
        out = exchange(plain, v1() + req())
        t.like(out or b"", rb"^HTTP/1\.1 400 ",
               "a header sent where none is taken is HTTP's problem: 400")

    # A graceful stop: a connection accepted before it, whose header and
    # request come just after, is answered (as HTTP/1.1 answers a first
    # request on its way); one with nothing is ended by the drain.
    dd = hwtest.make_tmpdir("proxy-drain")
    with hwtest.Server(config=config(dd, [proxied()], workers=0), listen=[],
                       workdir=dd) as srv:
        quiet = connect(srv.port)
        late = connect(srv.port)
        time.sleep(0.1 * SLOW)
        srv.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        late.sendall(v1(src="192.0.2.55") + req())
        f = fields(read_all(late))
        late.close()
        t.is_(f.get("peer"), "192.0.2.55:5555",
              "a stop before the header: the header and request that follow "
              "are answered")
        t.is_(read_all(quiet), b"", "a connection that sends nothing: "
              "ended with a FIN by the drain")
        quiet.close()
        srv.proc.wait(15 * SLOW)
        t.is_(srv.proc.returncode, 0, "the server then stops cleanly")

    # A reload turns the header off, then on again, for new connections
    # (one listener: its address, 127.0.0.1:0, is how a reload finds it).
    dr = hwtest.make_tmpdir("proxy-reload")
    c = config(dr, [proxied()])
    with hwtest.Server(config=c, listen=[], workdir=dr) as srv:
        port = srv.port
        keep = connect(port)  # accepted before the reload: keeps its layer
        keep.sendall(v1(src="192.0.2.99")[:8])
        time.sleep(0.1 * SLOW)
        hwtest.write_config(srv.config_path, dict(c, listen=["127.0.0.1:0"]))
        srv.send_signal(signal.SIGHUP)
        t.ok(srv.wait_log(r"reload: generation 2 active",
                          timeout=10 * SLOW) is not None, "reload 1 done")
        f = fields(exchange(port, req()))
        t.like(f.get("peer", ""), r"^127\.0\.0\.1:\d+$",
               "after a reload without proxy_protocol: plain HTTP served")
        keep.sendall(v1(src="192.0.2.99")[8:] + req())
        f = fields(read_all(keep))
        keep.close()
        t.is_(f.get("peer"), "192.0.2.99:5555",
              "a connection accepted before the reload keeps its header")
        hwtest.write_config(srv.config_path, c)
        srv.send_signal(signal.SIGHUP)
        t.ok(srv.wait_log(r"reload: generation 3 active",
                          timeout=10 * SLOW) is not None, "reload 2 done")
        f = fields(exchange(port, v1(src="192.0.2.100") + req()))
        t.is_(f.get("peer"), "192.0.2.100:5555",
              "a reload that turns proxy_protocol on: new connections take "
              "the header")

    if hwtest.ipv6_available():
        d6 = hwtest.make_tmpdir("proxy6")
        c6 = config(d6, [proxied("[::1]:0", frm=["::1/128"]),
                         proxied("[::1]:0", frm=["127.0.0.1"])], workers=0)
        with hwtest.Server(config=c6, listen=[], workdir=d6) as srv:
            f = fields(exchange(srv.ports[0], v1() + req(), host="::1"))
            t.is_(f.get("peer"), "192.0.2.7:5555",
                  "an IPv6 listener trusting ::1 (one process)")
            t.like(f.get("socket_peer", ""), r"^\[::1\]:\d+$",
                   "... socket_peer in brackets")
            out = exchange(srv.ports[1], v1() + req(), host="::1")
            t.ok(closed_silently(out), "::1 is not in 127.0.0.1/32: closed")
    else:
        t.skip("no IPv6 loopback", 3)

    # -t: a bad proxy_from names the file and key.
    bad = os.path.join(d, "bad.json")
    hwtest.write_config(bad, config(d, [proxied(frm=["10.0.0.0/40"])]))
    rc, out, err = hwtest.check_config(bad)
    t.ok(rc not in (0, None), "-t refuses a prefix past 32")
    t.like(err, r"bad\.json: listen\[0\]\.proxy_from\[0\]: \"10\.0\.0\.0/40\": "
           r"prefix length must be 0-32", "... naming the file and key")
    hwtest.write_config(bad, config(d, [{"address": "127.0.0.1:0",
                                         "proxy_protocol": True}]))
    rc, out, err = hwtest.check_config(bad)
    t.ok(rc not in (0, None) and "listen[0].proxy_from: missing" in err,
         "-t refuses proxy_protocol without proxy_from", err)


if __name__ == "__main__":
    hwtest.run(main)
