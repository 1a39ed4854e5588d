#!/usr/bin/env python3
"""static.so against the real server over loopback, on a tree this test
makes: files with their types, ETags (from mtime and size, the same in a
copy of the tree) and Last-Modified; HEAD; 405; directories (301 with the
query kept, index files, 403 without one, listings with escaped names and
percent-encoded links); hidden names and /.well-known/; every traversal
(.., %2e%2e, %2f, symbolic links out of the root to a file and to a
directory, absolute links, loops, NUL) answered without a byte from
outside; very long paths and names; FIFOs, sockets and device nodes
refused at once; byte ranges (one, suffix, open, past the end, zero
length, several, hundreds, If-Range), an empty file and a sparse file of
5 GiB; the preconditions of RFC 9110 section 13.2.2 in order, with an
If-None-Match of 1,000 tags; precompressed siblings chosen by
Accept-Encoding with Vary on every answer; the cache (a hit answered while
the pool is busy, a miss waiting for it; a changed, deleted or replaced
file seen once revalidated; the descriptors it holds bounded by its size
and closed by fini); the MIME table; and a bad config, key by key, refused
by -t with one line naming routes[0].config.<key>."""

import os
import re
import shutil
import signal
import socket
import stat
import sys
import threading
import time
import email.utils
import urllib.parse

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, request, route  # noqa: E402

GIB = 1 << 30
SPARSE = 5 * GIB
MARK_AT = 4 * GIB + 100       # past 4 GiB: 64-bit offsets all the way
MTIME = 1700000000_123456789  # a fixed past mtime (ns): stable validators
VALID_MS = 200                # the main server's revalidation interval
SLACK = 5.0                   # upper bounds for a loaded or sanitized build

ETAG_RE = r'^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+(-br|-gz)?"$'


def ask(port, target, headers=None, method="GET"):
    return hwtest.one(port, request(method, target, headers=headers),
                      head=method == "HEAD")


def raw(port, target):
    """A GET of `target` exactly as given (bytes), on a new connection."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    with Conn(port) as c:
        c.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
               b"Connection: close\r\n\r\n")
        try:
            return c.read_response()
        except hwtest.Closed:
            return None


def etag_of(path, coding=None):
    st = os.stat(path)
    sec, ns = divmod(st.st_mtime_ns, 10 ** 9)
    return '"%x-%x-%x%s"' % (sec, ns, st.st_size,
                             "-" + coding if coding else "")


def imf(sec):
    return email.utils.formatdate(sec, usegmt=True)


def rfc850(sec):
    g = time.gmtime(sec)
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
            "Saturday", "Sunday"]
    return "%s, %02d-%s-%02d %02d:%02d:%02d GMT" % (
        days[g.tm_wday], g.tm_mday, time.strftime("%b", g), g.tm_year % 100,
        g.tm_hour, g.tm_min, g.tm_sec)


def asctime(sec):
    g = time.gmtime(sec)
    return "%s %s %2d %02d:%02d:%02d %04d" % (
        time.strftime("%a", g), time.strftime("%b", g), g.tm_mday,
        g.tm_hour, g.tm_min, g.tm_sec, g.tm_year)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, ns=(MTIME, MTIME))


# Names for the listing: every character HTML or a URL treats specially.
LIST_NAMES = ["a&b<c>.txt", "quote\"'.txt", "space name.txt", "colon:x.txt",
              "\u00fc.txt", "Alpha.txt", "zeta.txt", "100%.txt"]


def make_tree(tmp):
    """The root (www) and, beside it, what must never be served."""
    www = os.path.join(tmp, "www")
    outside = os.path.join(tmp, "outside")
    write(os.path.join(outside, "secret.txt"), b"TOP SECRET\n")
    files = {
        "hello.txt": b"hello\n",
        "index.html": b"<h1>root index</h1>\n",
        "style.css": b"body{}\n",
        "data.json": b"{}\n",
        "noext": b"x",
        "UPPER.TXT": b"upper\n",
        "pic.png": b"\x89PNG",
        "app.js": b"var identity = 1;\n",
        "app.js.br": b"BROTLI-BYTES",
        "app.js.gz": b"GZIP-BYTES!",
        "only_gz.js": b"plain only_gz\n",
        "only_gz.js.gz": b"GZ of only_gz",
        "fifo_sib.js": b"plain fifo_sib\n",
        "empty": b"",
        "sub/index.html": b"<h1>sub index</h1>\n",
        "sub/page.html": b"<p>page</p>\n",
        "sp ace/index.html": b"spaced\n",
        "nested/file.txt": b"nested file\n",
        "indexdir/index.html/inner.txt": b"inner\n",
        ".hidden": b"hidden\n",
        ".git/config": b"[core]\n",
        ".well-known/acme-challenge/token": b"acme token\n",
        ".well-known/.secret": b"well-known secret\n",
        "n" * 255: b"long name\n",
        "big.bin": os.urandom(3 << 20),
    }
    for name, data in files.items():
        write(os.path.join(www, name), data)
    for name in LIST_NAMES:
        write(os.path.join(www, "listed", name), name.encode() + b"\n")
    write(os.path.join(www, "listed", ".dot"), b"dot\n")
    os.makedirs(os.path.join(www, "listed", "dir"))
    write(os.path.join(www, "listed", "dir", "deep.txt"), b"deep\n")
    os.mkfifo(os.path.join(www, "fifo"))
    os.mkfifo(os.path.join(www, "fifo_sib.js.gz"))
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(www, "sock"))
    s.close()
    dev = True
    try:
        os.mknod(os.path.join(www, "null"), 0o666 | stat.S_IFCHR,
                 os.makedev(1, 3))
    except OSError:
        dev = False
    os.symlink("hello.txt", os.path.join(www, "in_link"))
    os.symlink("../outside/secret.txt", os.path.join(www, "out_link"))
    os.symlink(os.path.join(outside, "secret.txt"),
               os.path.join(www, "abs_link"))
    os.symlink("../outside", os.path.join(www, "out_dir"))
    os.symlink("sub/../../outside/secret.txt",
               os.path.join(www, "twisty_link"))
    os.symlink("loop_link", os.path.join(www, "loop_link"))
    # A sparse file of 5 GiB (no disk used but two blocks), with marks
    # past 4 GiB and at its end.
    sparse = os.path.join(www, "sparse.bin")
    with open(sparse, "wb") as f:
        f.truncate(SPARSE)
        f.seek(MARK_AT)
        f.write(b"MARK")
        f.seek(SPARSE - 4)
        f.write(b"TAIL")
    for name in files:
        os.utime(os.path.join(www, name), ns=(MTIME, MTIME))
    os.utime(sparse, ns=(MTIME, MTIME))
    return www, outside, dev


# ---------------------------------------------------------------------------

def test_files(p, www):
    with t.block("files"):
        r = ask(p, "/s/hello.txt")
        t.is_((r.status, r.body), (200, b"hello\n"), "GET: 200 and the file")
        t.is_(r.header("Content-Type"), "text/plain; charset=utf-8",
              "text types get charset=utf-8")
        t.like(r.header("ETag") or "", ETAG_RE, "a strong ETag")
        t.is_(r.header("ETag"), etag_of(os.path.join(www, "hello.txt")),
              "made of the mtime in ns and the size (no inode)")
        t.is_(r.header("Last-Modified"), imf(MTIME // 10 ** 9),
              "Last-Modified: the mtime as an IMF-fixdate")
        t.is_(r.header("Accept-Ranges"), "bytes", "Accept-Ranges: bytes")
        t.is_(r.header("Cache-Control"), "public, max-age=60",
              "Cache-Control from the config")
        t.is_(r.header("Vary"), None, "no Vary for a file without siblings")
        h = ask(p, "/s/hello.txt", method="HEAD")
        strip = lambda resp: [(k, v) for k, v in resp.headers  # noqa: E731
                              if k.lower() != "date"]
        t.is_((h.status, strip(h), h.body), (200, strip(r), b""),
              "HEAD: the same fields, no body")
        for name, ctype in (("style.css", "text/css; charset=utf-8"),
                            ("data.json", "application/json"),
                            ("noext", "application/octet-stream"),
                            ("UPPER.TXT", "text/plain; charset=utf-8"),
                            ("pic.png", "image/png"),
                            ("app.js", "text/javascript; charset=utf-8"),
                            ("index.html", "text/html; charset=utf-8")):
            r = ask(p, "/s/" + name)
            t.is_((r.status, r.header("Content-Type")), (200, ctype),
                  "%s: %s" % (name, ctype))
        r = ask(p, "/s/in_link")
        t.is_((r.status, r.body), (200, b"hello\n"),
              "a symbolic link that stays inside the root is followed")
        r = ask(p, "/s/" + "n" * 255)
        t.is_((r.status, r.body), (200, b"long name\n"),
              "a name of 255 bytes")
        r = ask(p, "/s/empty")
        t.is_((r.status, r.header("Content-Length"), r.body), (200, "0", b""),
              "an empty file: 200, Content-Length 0")
        r = ask(p, "/s/big.bin")
        with open(os.path.join(www, "big.bin"), "rb") as f:
            t.ok(r.status == 200 and r.body == f.read(),
                 "3 MiB, byte for byte")
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            r = hwtest.one(p, request(method, "/s/hello.txt", body=b"x"))
            t.is_((r.status, r.header("Allow")), (405, "GET, HEAD"),
                  "%s: 405 with Allow: GET, HEAD" % method)
            t.unlike(r.body, b"hello", "%s: not the file" % method)


def test_etag_agrees(p2, www, tmp):
    with t.block("ETags agree between instances"):
        copy = os.path.join(tmp, "copy")
        shutil.copy2(os.path.join(www, "hello.txt"), copy)  # keeps the mtime
        a = ask(p2[0], "/s/hello.txt")
        b = ask(p2[1], "/c/hello.txt")
        t.ok(os.stat(os.path.join(copy, "hello.txt")).st_ino !=
             os.stat(os.path.join(www, "hello.txt")).st_ino,
             "the copy is another inode")
        t.is_((b.status, b.header("ETag"), b.header("Last-Modified")),
              (200, a.header("ETag"), a.header("Last-Modified")),
              "a copy with the same mtime and size has the same validators")


def test_directories(p):
    with t.block("directories"):
        r = ask(p, "/s")
        t.is_((r.status, r.header("Location")), (301, "/s/"),
              "the prefix itself: 301 to its slash form")
        r = ask(p, "/s/sub")
        t.is_((r.status, r.header("Location")), (301, "/s/sub/"),
              "a directory without '/': 301")
        r = ask(p, "/s/sub?x=1&y=%20")
        t.is_((r.status, r.header("Location")), (301, "/s/sub/?x=1&y=%20"),
              "the query kept")
        r = ask(p, "/s/sp%20ace")
        t.is_((r.status, r.header("Location")), (301, "/s/sp%20ace/"),
              "the path percent-encoded again")
        r = ask(p, "/s/sp%20ace/")
        t.is_((r.status, r.body), (200, b"spaced\n"), "and its index")
        r = ask(p, "/s/sub/")
        t.is_((r.status, r.body, r.header("Content-Type")),
              (200, b"<h1>sub index</h1>\n", "text/html; charset=utf-8"),
              "with '/': the index file, typed by its own name")
        r = ask(p, "/s/")
        t.is_((r.status, r.body), (200, b"<h1>root index</h1>\n"),
              "the root's index")
        r = ask(p, "/s/nested/")
        t.is_(r.status, 403, "no index, listing off: 403")
        r = ask(p, "/s/indexdir/")
        t.is_(r.status, 403, "an index.html that is a directory is no index")
        r = ask(p, "/s/hello.txt/")
        t.is_(r.status, 404, "a file asked for as a directory: 404")
        r = ask(p, "/s/hello.txt/x")
        t.is_(r.status, 404, "a file used as a directory in the path: 404")
        r = ask(p, "/s/sub", method="HEAD")
        t.is_((r.status, r.header("Location")), (301, "/s/sub/"),
              "HEAD of a directory: 301")


def listing_line(name, is_dir=False):
    href = urllib.parse.quote(name, safe="") + ("/" if is_dir else "")
    text = (name.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;")) + ("/" if is_dir else "")
    return '<a href="%s">%s</a>' % (href, text)


def test_listing(p):
    with t.block("listing"):
        r = ask(p, "/l/")
        t.is_((r.status, r.header("Content-Type")),
              (200, "text/html; charset=utf-8"), "the root's list: HTML")
        body = r.body.decode("utf-8")
        names = sorted([(n, False) for n in LIST_NAMES] + [("dir", True)],
                       key=lambda x: x[0].encode())
        want = "\n".join(listing_line(n, d) for n, d in names)
        t.ok(want in body, "every name escaped, linked percent-encoded, "
             "sorted bytewise, directories with '/'",
             "want:\n" + want, "got:\n" + body)
        t.unlike(body, r"\.dot", "hidden names are not listed")
        t.unlike(body, r'href="\.\./"', "no ../ at the route's root")
        t.like(body, r"<title>Index of /l/</title>", "the title")
        r = ask(p, "/l/dir/")
        t.like(r.body.decode(), r'<a href="\.\./">\.\./</a>\n'
               r'<a href="deep\.txt">deep\.txt</a>', "below: ../ first")
        r = ask(p, "/l/dir")
        t.is_((r.status, r.header("Location")), (301, "/l/dir/"),
              "still 301 without '/'")
        r = ask(p, "/lh/")
        t.like(r.body, r'<a href="\.dot">\.dot</a>',
               "with hidden on, hidden names are listed")
        r = ask(p, "/l/a%26b%3Cc%3E.txt")
        t.is_((r.status, r.body), (200, b"a&b<c>.txt\n"),
              "a link of the list leads to its file")


def test_hidden(p):
    with t.block("hidden names"):
        for target in ("/s/.hidden", "/s/.git/config", "/s/.git/",
                       "/s/.well-known/.secret", "/s/sub/.hidden",
                       "/l/.dot"):
            r = ask(p, target)
            t.is_(r.status, 404, "%s: 404" % target)
        r = ask(p, "/s/.well-known/acme-challenge/token")
        t.is_((r.status, r.body), (200, b"acme token\n"),
              "/.well-known/ is served (RFC 8615)")
        r = ask(p, "/h/.hidden")
        t.is_((r.status, r.body), (200, b"hidden\n"),
              "with hidden on, hidden files are served")


def test_traversal(p):
    with t.block("traversal"):
        targets = [
            "/s/../outside/secret.txt",
            "/s/../../outside/secret.txt",
            "/s/sub/../../outside/secret.txt",
            "/s/%2e%2e/outside/secret.txt",
            "/s/%2E%2E/%2e%2e/outside/secret.txt",
            "/s/.%2e/outside/secret.txt",
            "/s/%2e%2e%2foutside%2fsecret.txt",
            "/s/sub%2f..%2f..%2foutside%2fsecret.txt",
            "/s/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
            "/s/%2fetc%2fpasswd",
            "/s//etc/passwd",
            "/s/%2F%2Fetc%2Fpasswd",
            "/s/out_link",
            "/s/abs_link",
            "/s/twisty_link",
            "/s/out_dir/secret.txt",
            "/s/out_dir/",
            "/s/out_dir",
            "/s/loop_link",
            "/s/hello.txt%00.png",
            "/s/%00",
            "/s/sub/%2e%2e%5c..%5coutside%5csecret.txt",
        ]
        for target in targets:
            r = raw(p, target)
            ok = (r is not None and r.status in (400, 404) and
                  b"SECRET" not in r.body and b"root:" not in r.body)
            t.ok(ok, "%s: %s, nothing from outside" %
                 (target, r.status if r else "closed"),
                 repr(r))
        with Conn(p) as c:
            c.send(b"GET /s/hello.txt\x00/../out_link HTTP/1.1\r\nHost: x\r\n"
                   b"\r\n")
            r = c.read_response()
        t.is_(r.status, 400, "a raw NUL in the target: 400")
        r = ask(p, "/s/hello.txt")
        t.is_(r.status, 200, "the server still answers")


def test_long(p):
    with t.block("long paths and names"):
        r = ask(p, "/s/" + "n" * 256)
        t.is_(r.status, 404, "a name of 256 bytes: 404")
        r = ask(p, "/s/" + "/".join(["d" * 50] * 90))
        t.is_(r.status, 404, "a path of 4,590 bytes: 404")
        r = ask(p, "/s/" + "/".join(["e" * 200] * 300))
        t.is_(r.status, 404, "a path of 60,300 bytes: 404")
        r = ask(p, "/s/" + "/".join(["x"] * 20000))
        t.is_(r.status, 404, "20,000 segments: 404")
        r = ask(p, "/s/hello.txt")
        t.is_(r.status, 200, "the server still answers")


def test_special(p, dev):
    with t.block("FIFOs, sockets, devices"):
        for name in ("fifo", "sock", "null"):
            if name == "null" and not dev:
                t.skip("mknod is not allowed here", name="a device node")
                continue
            start = time.monotonic()
            r = hwtest.one(p, request("GET", "/s/" + name), timeout=SLACK)
            took = time.monotonic() - start
            t.is_(r.status, 403, "%s: 403" % name)
            t.cmp_ok(took, "<", 2.0, "%s: answered at once" % name)
        r = ask(p, "/s/fifo", method="HEAD")
        t.is_(r.status, 403, "HEAD of the FIFO: 403")
        r = ask(p, "/s/fifo_sib.js", headers={"Accept-Encoding": "gzip"})
        t.is_((r.status, r.header("Content-Encoding"), r.body),
              (200, None, b"plain fifo_sib\n"),
              "a sibling that is a FIFO is ignored")
        r = ask(p, "/s/hello.txt")
        t.is_(r.status, 200, "the server still answers")


def test_ranges(p, www):
    size = 6
    cases = [
        ("bytes=0-0", 206, b"h", "bytes 0-0/6"),
        ("bytes=1-3", 206, b"ell", "bytes 1-3/6"),
        ("bytes=2-", 206, b"llo\n", "bytes 2-5/6"),
        ("bytes=-3", 206, b"lo\n", "bytes 3-5/6"),
        ("bytes=-100", 206, b"hello\n", "bytes 0-5/6"),
        ("bytes=4-100", 206, b"o\n", "bytes 4-5/6"),
        ("BYTES = 1-1", 200, b"hello\n", None),
        ("Bytes=1-1", 206, b"e", "bytes 1-1/6"),
        ("bytes= 1-1 ,", 206, b"e", "bytes 1-1/6"),
        ("bytes=5-5,9-10", 206, b"\n", "bytes 5-5/6"),
        ("bytes=6-", 416, None, "bytes */6"),
        ("bytes=100-200", 416, None, "bytes */6"),
        ("bytes=-0", 416, None, "bytes */6"),
        ("bytes=6-7,9-", 416, None, "bytes */6"),
        ("bytes=0-1,3-4", 200, b"hello\n", None),
        ("bytes=3-2", 200, b"hello\n", None),
        ("bytes=x-1", 200, b"hello\n", None),
        ("bytes=", 200, b"hello\n", None),
        ("items=0-1", 200, b"hello\n", None),
        ("bytes=99999999999999999999999-", 416, None, "bytes */6"),
        ("bytes=0-99999999999999999999999", 206, b"hello\n", "bytes 0-5/6"),
    ]
    with t.block("ranges"):
        for rng, status, body, crange in cases:
            r = ask(p, "/s/hello.txt", headers={"Range": rng})
            want = (status, crange) + ((body,) if body is not None else ())
            got = (r.status, r.header("Content-Range")) + \
                ((r.body,) if body is not None else ())
            t.is_(got, want, "Range: %s -> %d" % (rng, status))
        r = ask(p, "/s/hello.txt", headers={"Range": "bytes=1-1"},
                method="HEAD")
        t.is_((r.status, r.header("Content-Length")), (200, str(size)),
              "HEAD ignores Range (RFC 9110 14.2: GET only)")
        many = "bytes=" + ",".join("%d-%d" % (i % 6, i % 6) for i in range(500))
        start = time.monotonic()
        r = ask(p, "/s/hello.txt", headers={"Range": many})
        t.is_((r.status, r.body), (200, b"hello\n"),
              "500 ranges: the whole file (200)")
        t.cmp_ok(time.monotonic() - start, "<", 2.0, "at once")
        r = ask(p, "/s/hello.txt", headers={
            "Range": "bytes=" + ",".join(["10-20"] * 500)})
        t.is_(r.status, 416, "500 unsatisfiable ranges: 416")
        r = ask(p, "/s/empty", headers={"Range": "bytes=0-0"})
        t.is_((r.status, r.header("Content-Range")), (416, "bytes */0"),
              "an empty file: bytes=0-0 is 416")
        r = ask(p, "/s/empty", headers={"Range": "bytes=-5"})
        t.is_((r.status, r.body), (200, b""),
              "an empty file: a suffix range gets the (empty) file")
        r = ask(p, "/s/big.bin", headers={"Range": "bytes=1048576-1048585"})
        with open(os.path.join(www, "big.bin"), "rb") as f:
            f.seek(1048576)
            t.is_((r.status, r.body), (206, f.read(10)),
                  "a range inside a larger file")
        etag = etag_of(os.path.join(www, "hello.txt"))
        lm = imf(MTIME // 10 ** 9)
        for if_range, status in ((etag, 206), ('"other"', 200),
                                 ("W/" + etag, 200), (lm, 206),
                                 (imf(MTIME // 10 ** 9 - 1), 200),
                                 ("garbage", 200)):
            r = ask(p, "/s/hello.txt", headers={"Range": "bytes=0-1",
                                                "If-Range": if_range})
            t.is_(r.status, status, "If-Range: %s -> %d" % (if_range, status))


def test_sparse(p):
    with t.block("a sparse file of 5 GiB"):
        r = ask(p, "/s/sparse.bin", method="HEAD")
        t.is_((r.status, r.header("Content-Length")), (200, str(SPARSE)),
              "HEAD: its length past 4 GiB")
        r = ask(p, "/s/sparse.bin",
                headers={"Range": "bytes=%d-%d" % (MARK_AT - 2, MARK_AT + 3)})
        t.is_((r.status, r.header("Content-Range"), r.body),
              (206, "bytes %d-%d/%d" % (MARK_AT - 2, MARK_AT + 3, SPARSE),
               b"\0\0MARK"), "a range past 4 GiB, byte for byte")
        r = ask(p, "/s/sparse.bin", headers={"Range": "bytes=-4"})
        t.is_((r.status, r.body), (206, b"TAIL"), "the last 4 bytes")
        r = ask(p, "/s/sparse.bin", headers={"Range": "bytes=%d-" % SPARSE})
        t.is_((r.status, r.header("Content-Range")),
              (416, "bytes */%d" % SPARSE), "just past the end: 416")


def test_conditionals(p, www):
    path = os.path.join(www, "hello.txt")
    etag = etag_of(path)
    sec = MTIME // 10 ** 9
    lm = imf(sec)
    with t.block("preconditions"):
        r = ask(p, "/s/hello.txt", headers={"If-None-Match": etag})
        t.is_((r.status, r.body, r.header("Content-Length")),
              (304, b"", None), "If-None-Match with its ETag: 304, no body")
        t.is_((r.header("ETag"), r.header("Last-Modified"),
               r.header("Cache-Control")), (etag, lm, "public, max-age=60"),
              "304 keeps ETag, Last-Modified and Cache-Control")
        for inm, status in (("W/" + etag, 304), ("*", 304),
                            ('"a", ' + etag + ', "b"', 304),
                            ('"other"', 200), ("garbage", 200),
                            (etag[:-2] + '"', 200)):
            r = ask(p, "/s/hello.txt", headers={"If-None-Match": inm})
            t.is_(r.status, status, "If-None-Match: %s -> %d" % (inm, status))
        tags = ['"%08x-%x-%x"' % (i, i * 7, i * 13) for i in range(999)]
        start = time.monotonic()
        r = ask(p, "/s/hello.txt",
                headers={"If-None-Match": ", ".join(tags + [etag])})
        t.is_(r.status, 304, "1,000 tags, the match last: 304")
        r = ask(p, "/s/hello.txt",
                headers={"If-None-Match": ", ".join(tags + ['"x"'])})
        t.is_(r.status, 200, "1,000 tags, none matching: 200")
        t.cmp_ok(time.monotonic() - start, "<", 2.0, "both at once")
        with Conn(p) as c:
            c.send(b"GET /s/hello.txt HTTP/1.1\r\nHost: x\r\n"
                   b"If-None-Match: \"a\"\r\nIf-None-Match: " +
                   etag.encode() + b"\r\n\r\n")
            r = c.read_response()
        t.is_(r.status, 304, "If-None-Match over two field lines")

        for ims, status in ((lm, 304), (rfc850(sec), 304), (asctime(sec), 304),
                            (imf(sec + 3600), 304), (imf(sec - 1), 200),
                            ("not a date", 200), (lm + " x", 200),
                            ("Sun, 31 Feb 2021 00:00:00 GMT", 200)):
            r = ask(p, "/s/hello.txt", headers={"If-Modified-Since": ims})
            t.is_(r.status, status, "If-Modified-Since: %s -> %d" %
                  (ims, status))
        r = ask(p, "/s/hello.txt", headers={"If-None-Match": '"other"',
                                            "If-Modified-Since": lm})
        t.is_(r.status, 200,
              "If-None-Match present: If-Modified-Since is not evaluated")

        for im, status in ((etag, 200), ("*", 200), ('"other"', 412),
                           ("W/" + etag, 412), ('"a", ' + etag, 200)):
            r = ask(p, "/s/hello.txt", headers={"If-Match": im})
            t.is_(r.status, status, "If-Match: %s -> %d" % (im, status))
        for ius, status in ((imf(sec - 1), 412), (lm, 200),
                            (imf(sec + 60), 200), ("yesterday", 200)):
            r = ask(p, "/s/hello.txt", headers={"If-Unmodified-Since": ius})
            t.is_(r.status, status, "If-Unmodified-Since: %s -> %d" %
                  (ius, status))
        r = ask(p, "/s/hello.txt", headers={"If-Match": etag,
                                            "If-Unmodified-Since":
                                            imf(sec - 1)})
        t.is_(r.status, 200, "If-Match present: If-Unmodified-Since ignored")
        r = ask(p, "/s/hello.txt", headers={"If-Match": '"other"',
                                            "If-None-Match": etag})
        t.is_(r.status, 412, "If-Match is evaluated before If-None-Match")
        r = ask(p, "/s/hello.txt", headers={"If-None-Match": etag,
                                            "Range": "bytes=0-1"})
        t.is_(r.status, 304, "304 before Range")
        r = ask(p, "/s/hello.txt", headers={"If-Match": '"x"',
                                            "Range": "bytes=0-1"})
        t.is_(r.status, 412, "412 before Range")
        r = ask(p, "/s/hello.txt", headers={"If-None-Match": etag},
                method="HEAD")
        t.is_(r.status, 304, "HEAD: 304 too")


def test_precompressed(p, www):
    js = os.path.join(www, "app.js")
    with t.block("precompressed siblings"):
        cases = [
            (None, None, b"var identity = 1;\n"),
            ("gzip", "gzip", b"GZIP-BYTES!"),
            ("x-gzip", "gzip", b"GZIP-BYTES!"),
            ("br", "br", b"BROTLI-BYTES"),
            ("gzip, deflate, br", "br", b"BROTLI-BYTES"),
            ("br;q=0.5, gzip", "gzip", b"GZIP-BYTES!"),
            ("br;q=0.5, gzip;q=0.4", "br", b"BROTLI-BYTES"),
            ("gzip;q=0.5, identity", None, b"var identity = 1;\n"),
            ("gzip;q=1, identity;q=1", "gzip", b"GZIP-BYTES!"),
            ("br;q=0, gzip;q=0", None, b"var identity = 1;\n"),
            ("*", "br", b"BROTLI-BYTES"),
            ("*;q=0", None, b"var identity = 1;\n"),
            ("*;q=0.1, gzip;q=0", "br", b"BROTLI-BYTES"),
            ("identity", None, b"var identity = 1;\n"),
            ("", None, b"var identity = 1;\n"),
            ("deflate, compress", None, b"var identity = 1;\n"),
            ("gzip;q=2", None, b"var identity = 1;\n"),
            ("GZIP ; Q=0.5", "gzip", b"GZIP-BYTES!"),
        ]
        for ae, coding, body in cases:
            r = ask(p, "/s/app.js", headers={} if ae is None else
                    {"Accept-Encoding": ae})
            t.is_((r.status, r.header("Content-Encoding"), r.body,
                   r.header("Vary"), r.header("Content-Type")),
                  (200, coding, body, "Accept-Encoding",
                   "text/javascript; charset=utf-8"),
                  "Accept-Encoding: %r -> %s" % (ae, coding or "identity"))
        r = ask(p, "/s/app.js", headers={"Accept-Encoding": "gzip"})
        t.is_(r.header("ETag"), etag_of(js + ".gz", "gz"),
              "the sibling's ETag: its own mtime and size, and the coding")
        plain = ask(p, "/s/app.js")
        t.is_(plain.header("ETag"), etag_of(js), "the plain file's own")
        r = ask(p, "/s/app.js", headers={"Accept-Encoding": "gzip",
                                         "If-None-Match":
                                         etag_of(js + ".gz", "gz")})
        t.is_((r.status, r.header("Vary")), (304, "Accept-Encoding"),
              "304 for the sibling's tag, with Vary")
        r = ask(p, "/s/app.js", headers={"If-None-Match":
                                         etag_of(js + ".gz", "gz")})
        t.is_(r.status, 200, "that tag does not name the plain file")
        r = ask(p, "/s/app.js", headers={"Accept-Encoding": "br",
                                         "If-Match": '"x"'})
        t.is_((r.status, r.header("Vary")), (412, "Accept-Encoding"),
              "412 with Vary too")
        r = ask(p, "/s/app.js", headers={"Accept-Encoding": "gzip",
                                         "Range": "bytes=0-3"})
        t.is_((r.status, r.header("Content-Encoding"), r.body,
               r.header("Content-Range")),
              (206, "gzip", b"GZIP", "bytes 0-3/11"),
              "a range of the sibling")
        r = ask(p, "/s/app.js", headers={"Accept-Encoding": "br"},
                method="HEAD")
        t.is_((r.header("Content-Length"), r.header("Content-Encoding")),
              ("12", "br"), "HEAD: the sibling's length")
        r = ask(p, "/s/only_gz.js", headers={"Accept-Encoding": "br"})
        t.is_((r.header("Content-Encoding"), r.body, r.header("Vary")),
              (None, b"plain only_gz\n", "Accept-Encoding"),
              "no .br: br asked, the plain file, Vary still")
        r = ask(p, "/s/only_gz.js", headers={"Accept-Encoding": "br, gzip"})
        t.is_((r.header("Content-Encoding"), r.body), ("gzip", b"GZ of only_gz"),
              "the .gz there is")
        r = ask(p, "/s/hello.txt", headers={"Accept-Encoding": "gzip"})
        t.is_((r.header("Content-Encoding"), r.header("Vary")), (None, None),
              "a file without siblings: no coding, no Vary")
        r = ask(p, "/h/app.js", headers={"Accept-Encoding": "gzip"})
        t.is_((r.header("Content-Encoding"), r.header("Vary"), r.body),
              (None, None, b"var identity = 1;\n"),
              "a route without \"precompressed\": the plain file")
        r = ask(p, "/s/app.js.gz")
        t.is_((r.status, r.header("Content-Type"), r.header("Content-Encoding")),
              (200, "application/gzip", None),
              "the sibling asked by name: a gzip file, no coding")


def test_revalidation(p, www):
    path = os.path.join(www, "sub", "page.html")
    with t.block("revalidation (open_file_cache_valid_ms %d)" % VALID_MS):
        r = ask(p, "/s/sub/page.html")
        t.is_(r.body, b"<p>page</p>\n", "cached")
        new = path + ".new"
        with open(new, "wb") as f:
            f.write(b"<p>new page</p>\n")
        os.rename(new, path)  # another inode, as a deploy replaces files
        r = hwtest.poll(lambda: (lambda x: x if x.body == b"<p>new page</p>\n"
                                 else None)(ask(p, "/s/sub/page.html")),
                        timeout=SLACK)
        t.ok(r is not None, "a replaced file is served once revalidated")
        t.is_(r and r.header("ETag"), etag_of(path), "with its new ETag")
        os.unlink(path)
        r = hwtest.poll(lambda: ask(p, "/s/sub/page.html").status == 404,
                        timeout=SLACK)
        t.ok(r, "a deleted file: 404 once revalidated")
        os.mkdir(path)
        r = hwtest.poll(lambda: ask(p, "/s/sub/page.html").status == 301,
                        timeout=SLACK)
        t.ok(r, "a directory where the file was: 301")
        os.rmdir(path)
        os.mkfifo(path)
        start = time.monotonic()
        r = hwtest.poll(lambda: ask(p, "/s/sub/page.html").status == 403,
                        timeout=SLACK)
        t.ok(r and time.monotonic() - start < SLACK,
             "a FIFO where the file was: 403, never hanging")
        os.unlink(path)
        write(path, b"<p>page</p>\n")


def test_cache_sync(tmp, www):
    """thread_pool 2 lets module work use one thread: with it busy, a
    cached file is answered at once, an uncached one waits its turn."""
    cfg = {"listen": ["127.0.0.1:0"], "workers": 1, "thread_pool": 2,
           "modules_dir": hwtest.MODULES_DIR,
           "routes": [route("/s", "static.so",
                            {"root": www, "open_file_cache_valid_ms": 60000}),
                      route("/w", hwtest.fixture("stream"))]}
    with hwtest.Server(config=cfg, name="static-sync") as srv:
        with t.block("a cache hit needs no pool thread"):
            p = srv.port
            t.is_(ask(p, "/s/hello.txt").status, 200, "hello.txt cached")
            busy = Conn(p, timeout=SLACK + 5)
            busy.send(hwtest.get("/w/work?ms=1500"))
            time.sleep(0.2)
            start = time.monotonic()
            r = ask(p, "/s/hello.txt")
            hit = time.monotonic() - start
            t.is_(r.status, 200, "a hit while the pool is busy: 200")
            t.cmp_ok(hit, "<", 0.6, "at once (%.3f s)" % hit)
            start = time.monotonic()
            r = ask(p, "/s/style.css")
            miss = time.monotonic() - start
            t.is_(r.status, 200, "a miss: 200")
            t.cmp_ok(miss, ">", 0.6,
                     "after the pool's work (%.3f s): opened off the loop" %
                     miss)
            t.like(busy.read_response().body, b"worked 1500", "the work ran")
            busy.close()
        hwtest.assert_clean_stop(srv, name="server")


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def worker_pid(srv):
    kids = hwtest.poll(lambda: hwtest.children(srv.pid), timeout=5)
    return kids[0] if kids else srv.pid


def test_cache_bound(tmp):
    d = os.path.join(tmp, "many")
    for i in range(60):
        write(os.path.join(d, "f%02d.txt" % i), b"%d\n" % i)
        write(os.path.join(d, "f%02d.txt.gz" % i), b"gz %d\n" % i)
    cfg = {"listen": ["127.0.0.1:0"], "workers": 1,
           "modules_dir": hwtest.MODULES_DIR,
           "routes": [route("/small", "static.so",
                            {"root": d, "open_file_cache_max": 4,
                             "precompressed": ["gz"]}),
                      route("/big", "static.so",
                            {"root": d, "precompressed": ["gz"],
                             "open_file_cache_valid_ms": 60000}),
                      route("/none", "static.so",
                            {"root": d, "open_file_cache_max": 0})]}
    with hwtest.Server(config=cfg, name="static-bound") as srv:
        with t.block("the cache's descriptors"):
            p = srv.port
            w = worker_pid(srv)
            ask(p, "/none/f00.txt")
            base = fd_count(w)
            bad = [i for i in range(60)
                   if ask(p, "/none/f%02d.txt" % i).body != b"%d\n" % i]
            t.is_(bad, [], "max 0: every file served (no cache)")
            t.cmp_ok(fd_count(w), "<=", base + 2, "and no descriptor kept")
            bad = [i for i in range(60)
                   if ask(p, "/small/f%02d.txt" % i).body != b"%d\n" % i]
            t.is_(bad, [], "max 4: every file served")
            t.cmp_ok(fd_count(w), "<=", base + 4 * 2 + 2,
                     "at most 4 entries of 2 descriptors held")
            r = ask(p, "/small/f00.txt", headers={"Accept-Encoding": "gzip"})
            t.is_(r.body, b"gz 0\n", "an evicted file comes back")
            bad = [i for i in range(60)
                   if ask(p, "/big/f%02d.txt" % i).body != b"%d\n" % i]
            t.is_(bad, [], "max 1000: every file served")
            held = fd_count(w)
            t.cmp_ok(held, ">=", base + 100, "its 120 descriptors held (%d)" %
                     (held - base))
            mark = len(srv.log_lines())
            srv.send_signal(signal.SIGHUP)
            m = srv.wait_log(r"generation 1 drained|generation 2 drained",
                             timeout=SLACK * 2)
            t.ok(m is not None, "a reload retires the generation",
                 "\n".join(srv.log_lines()[mark:]))
            n = hwtest.poll(lambda: fd_count(w) <= base + 6, timeout=SLACK)
            t.ok(n, "fini closed them (%s left over the base)" %
                 (fd_count(w) - base))
        hwtest.assert_clean_stop(srv, name="server")


def test_mime(tmp, www):
    table = os.path.join(tmp, "mime.types")
    with open(table, "w") as f:
        f.write("# a custom table\n\ntext/x-custom\tfoo  bar\n"
                "application/x-mine   mine # trailing comment\n"
                "nonsense-line\n")
    d = os.path.join(tmp, "mimeroot")
    for name in ("a.foo", "b.BAR", "c.mine", "d.png", "e.unknownext",
                 ".profile", "f."):
        write(os.path.join(d, name), b"x")
    cfg = {"listen": ["127.0.0.1:0"], "workers": 1,
           "modules_dir": hwtest.MODULES_DIR,
           "routes": [route("/m", "static.so",
                            {"root": d, "mime_types": table,
                             "hidden": True})]}
    with hwtest.Server(config=cfg, name="static-mime") as srv:
        with t.block("the MIME table"):
            for name, ctype in (("a.foo", "text/x-custom; charset=utf-8"),
                                ("b.BAR", "text/x-custom; charset=utf-8"),
                                ("c.mine", "application/x-mine"),
                                ("d.png", "image/png"),
                                ("e.unknownext", "application/octet-stream"),
                                (".profile", "application/octet-stream"),
                                ("f.", "application/octet-stream")):
                r = ask(srv.port, "/m/" + name)
                t.is_((r.status, r.header("Content-Type")), (200, ctype),
                      "%s: %s" % (name, ctype))


def test_bad_configs(tmp, www):
    afile = os.path.join(www, "hello.txt")
    cases = [
        ({}, r"routes\[0\]\.config\.root", r"is missing"),
        ({"root": 5}, r"routes\[0\]\.config\.root", r"expected a string"),
        ({"root": "rel/dir"}, r"routes\[0\]\.config\.root",
         r"must be an absolute path"),
        ({"root": os.path.join(tmp, "nope")}, r"routes\[0\]\.config\.root",
         re.escape(os.path.join(tmp, "nope")) + r": No such file"),
        ({"root": afile}, r"routes\[0\]\.config\.root",
         re.escape(afile) + r": not a directory"),
        ({"root": www, "roots": 1}, r"routes\[0\]\.config",
         r"unknown key \"roots\""),
        ({"root": www, "index": "index.html"}, r"routes\[0\]\.config\.index",
         r"expected an array"),
        ({"root": www, "index": ["a", 5]}, r"routes\[0\]\.config\.index\[1\]",
         r"expected a string"),
        ({"root": www, "index": ["a/b"]}, r"routes\[0\]\.config\.index\[0\]",
         r"must be a file name"),
        ({"root": www, "index": [".."]}, r"routes\[0\]\.config\.index\[0\]",
         r"must be a file name"),
        ({"root": www, "index": ["i"] * 17}, r"routes\[0\]\.config\.index",
         r"at most 16"),
        ({"root": www, "precompressed": "br"},
         r"routes\[0\]\.config\.precompressed", r"expected an array"),
        ({"root": www, "precompressed": ["zstd"]},
         r"routes\[0\]\.config\.precompressed\[0\]", r"\"br\" or \"gz\""),
        ({"root": www, "precompressed": ["gz", "gz"]},
         r"routes\[0\]\.config\.precompressed\[1\]", r"named twice"),
        ({"root": www, "cache_control": "a\nb"},
         r"routes\[0\]\.config\.cache_control", r"must be a field value"),
        ({"root": www, "cache_control": ""},
         r"routes\[0\]\.config\.cache_control", r"must be a field value"),
        ({"root": www, "cache_control": 60},
         r"routes\[0\]\.config\.cache_control", r"expected a string"),
        ({"root": www, "listing": "yes"}, r"routes\[0\]\.config\.listing",
         r"expected a boolean"),
        ({"root": www, "hidden": 1}, r"routes\[0\]\.config\.hidden",
         r"expected a boolean"),
        ({"root": www, "mime_types": os.path.join(tmp, "nope.types")},
         r"routes\[0\]\.config\.mime_types",
         re.escape(os.path.join(tmp, "nope.types")) + r": No such file"),
        ({"root": www, "mime_types": www}, r"routes\[0\]\.config\.mime_types",
         r"not a regular file"),
        ({"root": www, "mime_types": 3}, r"routes\[0\]\.config\.mime_types",
         r"expected a string"),
        ({"root": www, "open_file_cache_valid_ms": -1},
         r"routes\[0\]\.config\.open_file_cache_valid_ms",
         r"must be from 0 to 86400000"),
        ({"root": www, "open_file_cache_valid_ms": 1.5},
         r"routes\[0\]\.config\.open_file_cache_valid_ms",
         r"expected an integer"),
        ({"root": www, "open_file_cache_max": 2000000},
         r"routes\[0\]\.config\.open_file_cache_max",
         r"must be from 0 to 1000000"),
        ({"root": www, "open_file_cache_max": "many"},
         r"routes\[0\]\.config\.open_file_cache_max", r"expected an integer"),
    ]
    for i, (config, where, why) in enumerate(cases):
        with t.block("bad config %s" % config):
            path = hwtest.write_config(
                os.path.join(tmp, "bad%d.json" % i),
                {"listen": ["127.0.0.1:0"], "workers": 1,
                 "modules_dir": hwtest.MODULES_DIR,
                 "routes": [route("/x", "static.so", config)]})
            rc, out, err = hwtest.check_config(path)
            lines = [x for x in err.splitlines() if x.strip()]
            t.is_(rc, 1, "haywire -t exits 1")
            t.ok(len(lines) == 1, "with one line", err)
            line = lines[0] if lines else ""
            t.like(line, where, "naming the key")
            t.like(line, why, "and why")
    with t.block("a good config"):
        path = hwtest.write_config(
            os.path.join(tmp, "good.json"),
            {"listen": ["127.0.0.1:0"], "workers": 1,
             "modules_dir": hwtest.MODULES_DIR,
             "routes": [route("/x", "static.so",
                              {"root": www, "index": [], "precompressed":
                               ["gz", "br"], "cache_control": "no-cache",
                               "listing": True, "hidden": False,
                               "mime_types": "/etc/mime.types"
                               if os.path.exists("/etc/mime.types")
                               else os.path.join(tmp, "mime.types"),
                               "open_file_cache_valid_ms": 0,
                               "open_file_cache_max": 0})]})
        rc, out, err = hwtest.check_config(path)
        t.is_((rc, out.strip()), (0, "configuration OK"), "every key: -t OK")


def test_concurrent(p, www):
    """Many clients at once on a mix of files, each answer checked."""
    with open(os.path.join(www, "big.bin"), "rb") as f:
        big = f.read()
    want = {"/s/hello.txt": b"hello\n", "/s/sub/": b"<h1>sub index</h1>\n",
            "/s/big.bin": big, "/s/empty": b""}
    errors = []

    def client(i):
        try:
            with Conn(p, timeout=SLACK * 2) as c:
                for k in range(20):
                    target = list(want)[(i + k) % len(want)]
                    c.send(hwtest.get(target))
                    r = c.read_response()
                    if r.status != 200 or r.body != want[target]:
                        errors.append((target, r.status, len(r.body)))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    with t.block("concurrent keep-alive clients"):
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(SLACK * 6)
        t.is_(errors, [], "16 clients x 20 requests, every answer whole")


def worker_fds(srv):
    kids = hwtest.children(srv.pid)
    out = []
    for k in kids:
        d = "/proc/%d/fd" % k
        for n in os.listdir(d):
            try:
                out.append(os.readlink(os.path.join(d, n)))
            except OSError:
                pass
    return out


def test_after_review(tmp):
    """What a review found: an open redirect through "//host", a 416 a
    shared cache would keep, a root that is a symbolic link switched to
    another release, a cached file whose path became a directory."""
    top = os.path.join(tmp, "review")
    os.makedirs(os.path.join(top, "www", "example.com"))
    os.makedirs(os.path.join(top, "rel1"))
    os.makedirs(os.path.join(top, "rel2"))
    for rel, text in (("rel1", b"v1\n"), ("rel2", b"v2\n")):
        with open(os.path.join(top, rel, "v.txt"), "wb") as f:
            f.write(text)
    os.symlink("rel1", os.path.join(top, "current"))
    os.makedirs(os.path.join(top, "www", "docs"))
    with open(os.path.join(top, "www", "docs", "index.html"), "wb") as f:
        f.write(b"docs\n")
    with open(os.path.join(top, "www", "cc.txt"), "wb") as f:
        f.write(b"cc\n")
    cfg = {"listen": ["127.0.0.1:0"], "workers": 1,
           "modules_dir": hwtest.MODULES_DIR,
           "routes": [
               route("/", "static.so",
                     {"root": os.path.join(top, "www"),
                      "cache_control": "public, max-age=60",
                      "open_file_cache_valid_ms": 100}),
               route("/cur", "static.so",
                     {"root": os.path.join(top, "current"),
                      "open_file_cache_valid_ms": 100})]}
    with hwtest.Server(config=cfg, name="static-review") as srv:
        p = srv.port
        with t.block("no redirect to another host"):
            for target in ("//example.com", "/%2Fexample.com",
                           "///example.com"):
                r = raw(p, target)
                t.is_((r.status, r.header("Location")),
                      (301, "/example.com/"),
                      "%s: 301 to a path, never to \"//host\"" % target)
        with t.block("Cache-Control"):
            r = ask(p, "/cc.txt")
            t.is_(r.header("Cache-Control"), "public, max-age=60",
                  "on a 200")
            r = ask(p, "/cc.txt", headers=[("Range", "bytes=999-")])
            t.is_((r.status, r.header("Cache-Control")), (416, None),
                  "not on a 416 (a shared cache would keep it for the URL)")
        with t.block("a root that is a symbolic link"):
            r = ask(p, "/cur/v.txt")
            t.is_(r.body, b"v1\n", "serves the release it names")
            os.symlink("rel2", os.path.join(top, "next"))
            os.replace(os.path.join(top, "next"), os.path.join(top, "current"))
            time.sleep(0.3)
            r = ask(p, "/cur/v.txt")
            t.is_(r.body, b"v2\n", "follows it to the next release")
            shutil.rmtree(os.path.join(top, "rel1"))
            time.sleep(0.3)
            r = ask(p, "/cur/v.txt")
            t.is_((r.status, r.body), (200, b"v2\n"),
                  "the old release deleted: still served")
        with t.block("a cached file's path becomes something else"):
            r = ask(p, "/docs/")
            t.is_(r.body, b"docs\n", "an index, cached")
            os.unlink(os.path.join(top, "www", "docs", "index.html"))
            time.sleep(0.3)
            r = ask(p, "/docs/")
            t.is_(r.status, 403, "gone: a directory without an index")
            r = ask(p, "/docs/")
            deleted = [f for f in worker_fds(srv)
                       if f.endswith("index.html (deleted)")]
            t.is_(deleted, [], "the deleted file's descriptor is let go")
        hwtest.assert_clean_stop(srv, name="server")


def main():
    tmp = hwtest.make_tmpdir("static")
    www, outside, dev = make_tree(tmp)
    common = {"root": www, "cache_control": "public, max-age=60",
              "open_file_cache_valid_ms": VALID_MS}
    cfg = {"listen": ["127.0.0.1:0"], "workers": 1,
           "modules_dir": hwtest.MODULES_DIR,
           # Room for the long paths and the 1,000 tags below.
           "limits": {"request_line": 131072, "header_bytes": 65536},
           "routes": [
               route("/s", "static.so",
                     dict(common, precompressed=["br", "gz"])),
               route("/l", "static.so",
                     {"root": os.path.join(www, "listed"), "listing": True}),
               route("/lh", "static.so",
                     {"root": os.path.join(www, "listed"), "listing": True,
                      "hidden": True}),
               route("/h", "static.so", {"root": www, "hidden": True})]}
    with hwtest.Server(config=cfg, name="static") as srv:
        p = srv.port
        test_files(p, www)
        test_directories(p)
        test_listing(p)
        test_hidden(p)
        test_traversal(p)
        test_long(p)
        test_special(p, dev)
        test_ranges(p, www)
        test_sparse(p)
        test_conditionals(p, www)
        test_precompressed(p, www)
        test_revalidation(p, www)
        test_concurrent(p, www)
        copy = os.path.join(tmp, "copy")
        cfg2 = {"listen": ["127.0.0.1:0"], "workers": 1,
                "modules_dir": hwtest.MODULES_DIR,
                "routes": [route("/c", "static.so", {"root": copy})]}
        os.makedirs(copy, exist_ok=True)
        with hwtest.Server(config=cfg2, name="static-copy") as srv2:
            test_etag_agrees((p, srv2.port), www, tmp)
        hwtest.assert_clean_stop(srv, name="server")
    test_after_review(tmp)
    test_cache_sync(tmp, www)
    test_cache_bound(tmp)
    test_mime(tmp, www)
    test_bad_configs(tmp, www)


hwtest.run(main)
