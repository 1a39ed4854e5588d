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
        kids = hwtest.children(srv.pid)
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


def test_overtaking(srv, path, data):
    with t.block("the file writer never overtakes a queued write"):
        # A file, 32 answers (the pipelining limit), then 34 greedy 1 MB
        # answers (each queued by libuv behind a full socket) and a small
        # file: when the first file's last bytes go, the 33 requests set
        # aside are answered at once, and the small file's batch must wait
        # for libuv's queue, not be written from inside the file writer.
        small = path + ".small"
        with open(small, "wb") as f:
            f.write(b"Z" * 3000)
        bad = 0
        for _ in range(3):
            want = ([b"head;" + data] + [b"Hello, World!"] * 32 +
                    [b"x" * 1000000] * 34 + [b"head;" + b"Z" * 3000])
            req = (file_get(path, 0, len(data)) + get("/hello") * 32 +
                   get("/s/big?n=1000000&greedy=1&len=1") * 34 +
                   file_get(small, 0, 3000))
            try:
                with hwtest.Conn(srv.port) as c:
                    c.send(req)
                    got = [r.body for r in c.read_responses(len(want))]
                bad += got != want
            except Exception as e:  # a response cut into another
                t.diag(str(e)[:200])
                bad += 1
        t.is_(bad, 0, "68 pipelined answers around two files, 3 times: in "
              "order, exact")


def test_framing(srv, path, data):
    with t.block("framing around a region"):
        r = hwtest.one(srv.port, file_get(path, 7, 500000, "&chunked=1"))
        t.ok(r.header("Transfer-Encoding") == "chunked" and
             r.body == b"head;" + data[7:500007],
             "chunked: the region inside its chunk, exact")
        big = path + ".big"
        with open(big, "wb") as f:
            f.write(data * 8)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /s/file?off=0&len=8000000&chunked=1&path=" +
                  big.encode() + b" HTTP/1.0\r\n\r\n")
        out = read_all(s)
        s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        t.ok(b"content-length" not in head.lower() and
             b"chunked" not in head.lower() and
             body == b"head;" + data * 8,
             "HTTP/1.0, no length: 8 MB, then the FIN after the last batch")

        short = path + ".short"
        with open(short, "wb") as f:
            f.write(b"a" * 300000)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(file_get(short, 0, 5000000))
        time.sleep(0.3)
        s.sendall(get("/hello"))  # unread input on the server's side
        got, how = b"", "EOF"
        while True:
            try:
                d = s.recv(65536)
            except OSError as e:
                how = repr(e)
                break
            if not d:
                break
            got += d
        s.close()
        t.ok(how == "EOF" and got.endswith(b"a" * 1000) and
             len(got) > 300000,
             "a file shorter than its region: all it had, then a FIN (no "
             "reset), and nothing after", "%d bytes, %s" % (len(got), how))


def send_queue(port, cport):
    """Bytes the server's socket to client port `cport` holds unsent (ss),
    or None when the connection is gone."""
    out = subprocess.run(["ss", "-tnH", "state", "established",
                          "( sport = :%d and dport = :%d )" % (port, cport)],
                         capture_output=True, text=True).stdout.split()
    return int(out[1]) if out else None


def test_trickle(srv, path):
    with t.block("a client that never reads but trickles"):
        if shutil.which("ss") is None:
            t.skip("ss (iproute2) is not installed", 2)
            return
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        cport = s.getsockname()[1]
        s.sendall(file_get(path, 0, 1000000) * 3)
        time.sleep(0.3)
        # Small files until the socket takes no more: then the file writer
        # holds a batch under 64 KiB, and the connection still reads.
        stuck = False
        for _ in range(200):
            before = send_queue(srv.port, cport)
            s.sendall(file_get(path, 0, 30000))
            time.sleep(0.05)
            after = send_queue(srv.port, cport)
            if before is not None and after is not None and \
                    after - before < 30000:
                stuck = True
                break
        t.ok(stuck, "the socket is full with a small batch waiting")
        time.sleep(0.2)
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 6:
            time.sleep(0.25)
            try:
                s.sendall(b"E")  # a byte now and then: read, but no answer
            except OSError:
                closed = time.monotonic() - t0
                break
            if send_queue(srv.port, cport) is None:
                closed = time.monotonic() - t0
                break
        s.close()
        t.ok(closed is not None and closed < 4,
             "closed by the write timeout (1 s) all the same", closed)


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
           "workers": 1, "timeouts_ms": {"write": 1000, "head": 60000},
           "routes": [route("/s", fixture("stream")),
                      route("/hello", "hello.so")]}
    with hwtest.Server(config=cfg, name="sendfile") as srv:
        test_syscalls(srv, path, data)
        test_order(srv, path, data)
        test_overtaking(srv, path, data)
        test_framing(srv, path, data)
        test_trickle(srv, path)
        test_leaving(srv, path)
        test_slow_readers(srv, big, size)
        hwtest.assert_clean_stop(srv, name="server")


hwtest.run(main)
