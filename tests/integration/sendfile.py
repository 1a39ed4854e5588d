"""File regions (ABI 1.3's write_file) on plain HTTP go from the file to the
socket with sendfile(2), never through the server's memory
(server/sendfile.c), in order with the connection's other output.  Against
the real server, one worker, so that its process can be watched: the bytes
leave by sendfile and no pread of the file happens (strace, when there is
one); the head and the file's start share a packet's worth (MSG_MORE); a
region between copied bytes, pipelined behind and ahead of other answers,
exact and in order; HTTP/1.0 (the end of the connection delimits the body);
ranges; a client that leaves mid-file and one that never reads (the write
timeout) leave no descriptor behind; many slow readers of one large file
cost the worker no memory."""

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
from hwtest import t, get, route, fixture  # noqa: E402

SAN = bool(hwtest.SAN_CFLAGS)


def worker_pid(srv):
    """The one worker's pid (the master's child)."""
    def child():
        kids = hwtest._proc_children(srv.pid)
        return kids[0] if kids else None
    return hwtest.poll(child, 5)


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def read_all(s, limit=None):
    out = b""
    while limit is None or len(out) < limit:
        try:
            d = s.recv(1 << 16)
        except OSError:
            break
        if not d:
            break
        out += d
    return out


def file_get(path, off, length, extra=""):
    return get("/s/file?off=%d&len=%d%s&path=%s" % (off, length, extra, path))


def test_syscalls(srv, path, data):
    with t.block("sendfile, not pread"):
        if shutil.which("strace") is None or SAN:
            t.skip("strace is not installed (or a sanitizer build)", 3)
            return
        pid = worker_pid(srv)
        log = os.path.join(os.path.dirname(path), "strace.txt")
        st = subprocess.Popen(["strace", "-f", "-qq", "-e",
                               "trace=sendfile,pread64,sendmsg", "-o", log,
                               "-p", str(pid)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)  # attached
            r = hwtest.one(srv.port, file_get(path, 0, len(data)))
        finally:
            st.send_signal(signal.SIGINT)
            st.wait(timeout=10)
        calls = open(log).read()
        t.ok(r.status == 200 and r.body == b"head;" + data,
             "a 1 MB region, exact")
        t.ok(re.search(r"sendfile\(\d+, \d+, ", calls) is not None,
             "its bytes left by sendfile", calls[:300])
        t.ok("pread64" not in calls and
             re.search(r"MSG_MORE", calls) is not None,
             "no pread of the file; the head was sent with MSG_MORE")


def test_order(srv, path, data):
    with t.block("order and framing"):
        want = (b"Hello, World!", b"head;" + data[1000:201000] + b"x" * 3000,
                b"Hello, World!", b"head;" + data[5:15])
        with hwtest.Conn(srv.port) as c:
            c.send(get("/hello") + file_get(path, 1000, 200000, "&tail=3000") +
                   get("/hello") + file_get(path, 5, 10))
            got = [r.body for r in c.read_responses(len(want))]
        t.is_(tuple(got), want, "pipelined around two regions: in order, "
              "exact (chunked, bytes after a region wait for it)")

        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /s/file?off=0&len=300000&path=" + path.encode() +
                  b" HTTP/1.0\r\n\r\n")
        out = read_all(s)
        s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        t.ok(head.startswith(b"HTTP/1.1 200") and
             b"chunked" not in head.lower() and
             body == b"head;" + data[:300000],
             "HTTP/1.0: the region, then the end of the connection")


def test_leaving(srv, path):
    with t.block("clients that leave or never read"):
        pid = worker_pid(srv)
        base = nfds(pid)
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(file_get(path, 0, 50 * 1000 * 1000))
            s.recv(1000)
            s.close()  # mid-file, with most of it unsent
        back = hwtest.poll(lambda: nfds(pid) <= base, 5)
        t.ok(back, "20 clients gone mid-file: no descriptor left behind",
             "%d then %d" % (base, nfds(pid)))

        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(file_get(path, 0, 50 * 1000 * 1000))
        t0 = time.monotonic()
        s.settimeout(0.2)
        closed = None
        while time.monotonic() - t0 < 8:
            # Never read: the server's side fills, and the write timeout
            # (1 s here) ends the connection.  Peek at the state only.
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
            except OSError:
                closed = time.monotonic() - t0
                break
            if nfds(pid) <= base:
                closed = time.monotonic() - t0
                break
            time.sleep(0.2)
        s.close()
        t.ok(closed is not None and closed < 6,
             "a client that never reads is closed by the write timeout",
             closed)
        t.ok(hwtest.poll(lambda: nfds(pid) <= base, 5),
             "and its descriptors go", "%d then %d" % (base, nfds(pid)))
        r = hwtest.one(srv.port, get("/hello"))
        t.is_(r.body, b"Hello, World!", "the server goes on")


def test_slow_readers(srv, big, size):
    with t.block("slow readers"):
        if SAN:
            t.skip("memory is not measured under sanitizers", 2)
            return
        pid = worker_pid(srv)
        idle = hwtest.rss_kib(pid, tree=False)
        socks = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            s.sendall(get("/s/file?off=0&len=%d&path=%s" % (size, big)))
            socks.append(s)
        peak = idle
        deadline = time.monotonic() + 3
        got = 0
        while time.monotonic() < deadline:
            for s in socks:
                try:
                    s.settimeout(0.001)
                    got += len(s.recv(4096))
                except (socket.timeout, BlockingIOError):
                    pass
            peak = max(peak, hwtest.rss_kib(pid, tree=False) or 0)
        for s in socks:
            s.close()
        t.ok(got > 200 * 4096, "200 readers each got bytes", got)
        t.diag("worker RSS idle %s KiB, peak %s KiB" % (idle, peak))
        t.cmp_ok(peak - idle, "<=", 8 * 1024,
                 "200 slow readers of a 100 MB file: worker RSS within "
                 "8 MiB of idle (KiB over)")


def main():
    tmp = hwtest.make_tmpdir("sendfile")
    path = os.path.join(tmp, "data.bin")
    data = os.urandom(1000 * 1000)
    with open(path, "wb") as f:
        f.write(data)
    big = os.path.join(tmp, "big.bin")
    size = 100 * 1000 * 1000
    with open(big, "wb") as f:
        f.truncate(size)  # sparse: no disk
    cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
           "workers": 1, "timeouts_ms": {"write": 1000},
           "routes": [route("/s", fixture("stream")),
                      route("/hello", "hello.so")]}
    with hwtest.Server(config=cfg, name="sendfile") as srv:
        test_syscalls(srv, path, data)
        test_order(srv, path, data)
        test_leaving(srv, path)
        test_slow_readers(srv, big, size)
        hwtest.assert_clean_stop(srv, name="server")


hwtest.run(main)
