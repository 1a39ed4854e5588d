#!/usr/bin/env python3
"""Request bodies: Content-Length and chunked (split across reads), empty,
at and over limits.body (413), a large body with the default limit, and
binary / UTF-8 bytes round-tripped through echo's JSON."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, Conn, request, route, chunked  # noqa: E402

LIMIT = 1024


def echo_body(r):
    """The "body" echo saw, as bytes (echo passes bytes >= 0x80 through
    raw and escapes control characters)."""
    doc = json.loads(r.body.decode("utf-8", "surrogateescape"))
    return doc["body"].encode("utf-8", "surrogateescape"), doc


def post(body, target="/echo", headers=None):
    return request("POST", target, headers=headers, body=body)


def te_chunked(target="/echo"):
    return request("POST", target,
                   headers=[("Transfer-Encoding", "chunked")])


def test_content_length(srv):
    with t.block("Content-Length"):
        with Conn(srv.port) as c:
            c.send(post(b"hello body"))
            r = c.read_response()
            t.is_(r.status, 200, "POST with a body is 200")
            body, doc = echo_body(r)
            t.is_(body, b"hello body", "echo sees the body")
            t.is_(doc.get("method"), "POST", "echo sees POST")
            t.is_(doc.get("headers", {}).get("content-length"), "10",
                  "echo sees content-length (lower-cased name)")
            # the head and the body in separate writes
            c.send_slowly([b"PUT /echo?x=2 HTTP/1.1\r\nHost: h\r\n"
                           b"Content-Length: 12\r\n\r\n", b"split", b" body!!"])
            r = c.read_response()
            body, doc = echo_body(r)
            t.is_((r.status, body, doc.get("method"), doc.get("query")),
                  (200, b"split body!!", "PUT", "x=2"),
                  "body arriving in three reads is delivered whole")


def test_chunked(srv):
    with t.block("chunked"):
        with Conn(srv.port) as c:
            enc = chunked([b"Wiki", b"pedia ", b"in \r\n", b"chunks."])
            c.send(te_chunked() + enc)
            r = c.read_response()
            body, doc = echo_body(r)
            t.is_((r.status, body), (200, b"Wikipedia in \r\nchunks."),
                  "chunked body de-chunked")
            t.is_(doc["headers"].get("transfer-encoding"), "chunked",
                  "echo sees transfer-encoding: chunked")
            # Split at awkward places across several writes with pauses.
            whole = te_chunked() + enc
            cuts = [len(te_chunked()) - 3, len(te_chunked()) + 1,
                    len(te_chunked()) + 6, len(whole) - 7, len(whole) - 2]
            pieces, prev = [], 0
            for cut in cuts:
                pieces.append(whole[prev:cut])
                prev = cut
            pieces.append(whole[prev:])
            c.send_slowly(pieces, 0.03)
            r = c.read_response()
            body, _ = echo_body(r)
            t.is_((r.status, body), (200, b"Wikipedia in \r\nchunks."),
                  "chunked body split over 6 writes")
            # extensions and a trailer
            c.send(te_chunked() + b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n"
                   b"X-Trailer: yes\r\n\r\n")
            r = c.read_response()
            body, _ = echo_body(r)
            t.is_((r.status, body), (200, b"abcde"),
                  "chunk extensions and a trailer are accepted")
            c.send(te_chunked() + b"0\r\n\r\n")
            r = c.read_response()
            body, _ = echo_body(r)
            t.is_((r.status, body), (200, b""), "empty chunked body")
            c.send(request("GET", "/echo?after=1"))
            r = c.read_response()
            t.is_(echo_body(r)[1].get("query"), "after=1",
                  "connection still in step after chunked bodies")


def test_empty(srv):
    with t.block("empty"):
        with Conn(srv.port) as c:
            c.send(post(b""))
            r = c.read_response()
            body, doc = echo_body(r)
            t.is_((r.status, body), (200, b""), "Content-Length: 0 body")
            c.send(request("GET", "/echo"))
            r = c.read_response()
            t.is_((r.status, echo_body(r)[0]), (200, b""), "GET: no body")
            c.send(request("DELETE", "/echo"))
            r = c.read_response()
            t.is_((r.status, echo_body(r)[1].get("method")), (200, "DELETE"),
                  "DELETE without a body")


def test_limit(srv):
    with t.block("at the limit"):
        data = bytes((i * 7 + 3) % 26 + 97 for i in range(LIMIT))
        with Conn(srv.port) as c:
            c.send(post(data))
            r = c.read_response()
            t.is_(r.status, 200, "Content-Length body of exactly 1024 is 200")
            t.ok(r.status == 200 and echo_body(r)[0] == data,
                 "and arrives intact")
            c.send(te_chunked() + chunked([data[:1000], data[1000:]]))
            r = c.read_response()
            t.is_(r.status, 200, "chunked body of exactly 1024 is 200")
            t.ok(r.status == 200 and echo_body(r)[0] == data,
                 "and arrives intact")

    with t.block("413 Content-Length"):
        with Conn(srv.port) as c:
            c.send(post(b"y" * (LIMIT + 1)))
            r = c.read_response()
            t.is_(r.status, 413, "1025-byte body is 413")
            t.ok("close" in r.connection_tokens(),
                 "413 carries Connection: close", r.headers)
            c.expect_closed("connection closed after 413")
        with Conn(srv.port) as c:
            # announced far too big, only 2 KiB of it sent
            c.send(request("POST", "/echo",
                           headers=[("Content-Length", "999999999")]) +
                   b"w" * 2048)
            r = c.read_response()
            t.is_(r.status, 413, "Content-Length 999999999 (2 KiB sent) is 413")
            c.expect_closed("connection closed")

    with t.block("413 chunked"):
        with Conn(srv.port) as c:
            c.send(te_chunked() + chunked([b"z" * 1000, b"z" * 25]))
            r = c.read_response()
            t.is_(r.status, 413, "chunked total 1025 is 413")
            t.ok("close" in r.connection_tokens(),
                 "413 carries Connection: close", r.headers)
            c.expect_closed("connection closed after 413")
        with Conn(srv.port) as c:
            c.send(te_chunked() + chunked([b"q" * (LIMIT + 1)]))
            r = c.read_response()
            t.is_(r.status, 413, "one chunk announcing 1025 bytes is 413")
            c.expect_closed("connection closed")

    with t.block("413 after a good pipelined request"):
        with Conn(srv.port) as c:
            c.send(post(b"ok") + post(b"n" * (LIMIT + 1)) + post(b"never"))
            rs = c.read_responses(2)
            t.is_([r.status for r in rs], [200, 413], "200 then 413")
            c.expect_closed("then closed, the third is not answered")

    with t.block("healthy after 413s"):
        r = hwtest.one(srv.port, post(b"still fine"))
        t.is_((r.status, echo_body(r)[0]), (200, b"still fine"),
              "fresh connection works")


def test_encodings(srv):
    with t.block("utf-8 and binary"):
        text = 'h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e "q" \\ ' \
               '\t\n\r\x00\x01\x1f\x7f \U0001f600'
        data = text.encode("utf-8")
        with Conn(srv.port) as c:
            c.send(post(data, headers=[("Content-Type",
                                        "text/plain; charset=utf-8")]))
            r = c.read_response()
            t.is_(r.status, 200, "UTF-8 body is 200")
            try:
                doc = json.loads(r.body.decode("utf-8"))
                t.ok(True, "echo answers valid UTF-8 JSON")
                t.is_(doc.get("body"), text, "UTF-8 text round-trips")
            except ValueError as e:
                t.fail("echo answers valid UTF-8 JSON", str(e),
                       repr(r.body[:200]))
                t.fail("UTF-8 text round-trips")
            binary = bytes(range(256)) * 4
            c.send(post(binary, headers=[("Content-Type",
                                          "application/octet-stream")]))
            r = c.read_response()
            t.is_(r.status, 200, "1024 bytes of 0..255 is 200")
            t.is_(echo_body(r)[0], binary, "every byte value round-trips")


def test_big(srv):
    with t.block("large body, default limit"):
        n = 1000 * 1000
        data = bytes(b"0123456789abcdef"[i % 16] for i in range(16)) * (n // 16)
        with Conn(srv.port, timeout=20) as c:
            c.send(post(data))
            r = c.read_response(timeout=20)
            t.is_(r.status, 200, "1,000,000-byte body is 200")
            body = echo_body(r)[0] if r.status == 200 else b""
            t.is_(len(body), n, "echo saw all of it")
            t.ok(body == data, "intact")
            # chunked in 64 KiB chunks over many writes
            pieces = [te_chunked()]
            for i in range(0, n, 65536):
                pieces.append(chunked([data[i:i + 65536]])[:-5])
            pieces.append(b"0\r\n\r\n")
            for p in pieces:
                c.send(p)
            r = c.read_response(timeout=20)
            t.is_(r.status, 200, "1,000,000-byte chunked body is 200")
            t.ok(r.status == 200 and echo_body(r)[0] == data, "intact")


def test_curl(srv):
    with t.block("curl"):
        if not hwtest.have_curl():
            t.skip("curl not installed", 2)
            return
        rc, out, err = hwtest.curl("http://127.0.0.1:%d/echo" % srv.port,
                                   "-H", "Expect:", "--data-binary",
                                   "posted by curl")
        t.is_(rc, 0, "curl POST exits 0 " + err.strip())
        try:
            doc = json.loads(out)
        except ValueError:
            doc = {}
        t.is_((doc.get("method"), doc.get("body")), ("POST", "posted by curl"),
              "echo saw curl's POST body")


def main():
    with hwtest.Server(routes=[route("/echo", "echo.so")],
                       limits={"body": LIMIT}, name="small") as srv:
        test_content_length(srv)
        test_chunked(srv)
        test_empty(srv)
        test_limit(srv)
        test_encodings(srv)
        test_curl(srv)
        with t.block("shutdown"):
            hwtest.assert_clean_stop(srv, name="server")
    with hwtest.Server(routes=[route("/echo", "echo.so")],
                       name="default") as srv:
        test_big(srv)
        with t.block("shutdown"):
            hwtest.assert_clean_stop(srv, name="server (default limit)")


hwtest.run(main)
