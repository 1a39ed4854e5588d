#!/usr/bin/env python3
"""Conformance against llhttp's request vectors.

The corpus is not part of the repository: it is read from
$HW_SRCDIR/../shared/conformance/llhttp-request/*.md (see the README next to
it for the format).  Without it the file skips.

Only cases whose meta type is exactly "request" count (the request-lenient-*
types turn a leniency of llhttp on and say nothing about strict HTTP; a case
without a meta line has no type and is left out too).  A case with the meta
flag "skipBody" is left out as well: llhttp's test runner then skips the
body the headers announce, as for a response to HEAD, which is no verdict on
how a request is framed.

llhttp's verdict is read from the log block: an `error code=N` line, except
codes 5, 21, 22 and 23 (pause, upgrade, data after close), is a rejection;
otherwise one or more "message complete" lines are an acceptance; otherwise
(the input ends inside a message) there is no verdict.

Each case is sent on its own connection to a live server that answers every
path (echo.so mounted on "/"), after adding "Host: localhost" after each
HTTP/1.1 request line when the case has no Host field; then the client
half-closes and reads until the server closes.  Then:
  * every case llhttp rejects must be rejected by us: a response with one of
    REJECT_STATUSES, or the connection closed without an answer to the
    message llhttp failed on.  The only exceptions are listed method tokens
    llhttp's fixed list lacks, which we route like any method (RFC 9110
    section 9.1); such a case must then get a routed answer.
  * a case llhttp accepts is accepted by us when the messages llhttp
    completed all got an answer that is not a rejection.
  * a case without a verdict must not be rejected by us so far.
Cases whose verdict differs on purpose are listed with the reason in
tests/conformance-exceptions.txt and show as SKIP; every reason must cite an
RFC section.  The last line asserts that we accept at least 95% of the
HTTP/1.x cases llhttp accepts that are not listed, and the diagnostics give
the rate with the listed ones counted as refused.
"""

import json
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

_HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("HW_SRCDIR") or
                         os.path.join(_HERE, "..", ".."))
CORPUS = os.path.join(SRCDIR, "..", "shared", "conformance", "llhttp-request")
EXCEPTIONS = os.path.join(SRCDIR, "tests", "conformance-exceptions.txt")

if not os.path.isdir(CORPUS):
    print("1..0 # SKIP shared corpus not found")
    sys.exit(0)

sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, route  # noqa: E402

REJECT_STATUSES = {400, 411, 413, 414, 431, 501, 505}
NOT_PARSE_ERRORS = {5, 21, 22, 23}  # pause, upgrade, data after close
MIN_ACCEPT_RATE = 0.95
CASE_TIMEOUT = 5.0


# ---------------------------------------------------------------------------
# The corpus

def decode_http(lines):
    """The bytes of an http block, as llhttp's test runner makes them: the
    final newline dropped, a backslash at the end of a line joining it to
    the next, every other line break a CRLF, then the escapes \\r \\n \\t
    \\f \\xHH and octal \\NNN decoded."""
    text = "\n".join(lines)
    text = re.sub(r"\\\n", "", text)
    text = text.replace("\n", "\r\n")
    out = bytearray()
    i = 0
    simple = {"r": b"\r", "n": b"\n", "t": b"\t", "f": b"\f"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nx = text[i + 1]
            if nx in simple:
                out += simple[nx]
                i += 2
                continue
            m = re.match(r"x([0-9a-fA-F]{2})", text[i + 1:i + 4])
            if m:
                out.append(int(m.group(1), 16))
                i += 4
                continue
            m = re.match(r"[0-7]{1,3}", text[i + 1:i + 4])
            if m:
                out.append(int(m.group(0), 8) & 0xFF)
                i += 1 + len(m.group(0))
                continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def read_cases():
    """Yields every case of every file: heading, meta (dict or None), the
    http block's lines and the log block's lines."""
    for fn in sorted(os.listdir(CORPUS)):
        if not fn.endswith(".md"):
            continue
        with open(os.path.join(CORPUS, fn), encoding="utf-8") as f:
            lines = f.read().split("\n")
        heading, meta, http, i = None, None, None, 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("#"):
                heading, meta, http = line.lstrip("#").strip(), None, None
            m = re.match(r"\s*<!--\s*meta=(\{.*\})\s*-->", line)
            if m:
                meta = json.loads(m.group(1))
            if line.startswith("```"):
                kind, j, block = line[3:].strip(), i + 1, []
                while j < len(lines) and not lines[j].startswith("```"):
                    block.append(lines[j])
                    j += 1
                if kind == "http":
                    http = (block, i + 1)
                elif kind == "log" and http is not None:
                    yield {"file": fn, "line": http[1], "name": heading,
                           "meta": meta, "http": http[0], "log": block}
                    http, meta = None, None
                i = j
            i += 1


def verdict(log):
    """("reject", messages completed before the error), ("accept", messages
    completed) or ("none", 0); and the method of each message."""
    complete, methods = 0, []
    for line in log:
        if "message begin" in line:
            methods.append("")
        m = re.search(r'span\[method\]="([^"]*)"', line)
        if m and methods:
            methods[-1] += m.group(1)
        m = re.search(r"error code=(\d+)", line)
        if m and int(m.group(1)) not in NOT_PARSE_ERRORS:
            return "reject", complete, methods
        if "message complete" in line:
            complete += 1
    return ("accept" if complete else "none"), complete, methods


REQUEST_LINE = re.compile(rb"(?m)^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \r\n]+ "
                          rb"HTTP/1\.1\r\n")


def add_host(data):
    """Adds "Host: localhost" after each HTTP/1.1 request line (ending in
    CRLF) when the case has no Host field at all."""
    if re.search(rb"(?im)^host[ \t]*:", data):
        return data
    return REQUEST_LINE.sub(lambda m: m.group(0) + b"Host: localhost\r\n",
                            data)


def is_http1x(data):
    """True when the first request line of the case names HTTP/1.x."""
    first = data.lstrip(b"\r\n").split(b"\n", 1)[0]
    return re.match(rb"[^ ]+ [^ ]+ HTTP/1\.\d\r?$", first) is not None


def load_exceptions():
    """{(file, heading): reason} from tests/conformance-exceptions.txt:
    lines "file.md | heading | reason", '#' comments."""
    out = {}
    if not os.path.exists(EXCEPTIONS):
        return out
    with open(EXCEPTIONS, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 3:
                raise ValueError("bad line in %s: %r" % (EXCEPTIONS, line))
            if not re.search(r"RFC \d+ section \d", parts[2]):
                raise ValueError("exception without an RFC section in %s: %r"
                                 % (EXCEPTIONS, line))
            out[(parts[0], parts[1])] = parts[2]
    return out


# ---------------------------------------------------------------------------
# Talking to the server

def exchange(port, data):
    """Sends `data`, half-closes, and reads until the server closes.
    Returns (bytes, closed): closed is False when CASE_TIMEOUT passed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=CASE_TIMEOUT)
    got, closed = bytearray(), False
    deadline = time.monotonic() + CASE_TIMEOUT
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may already have closed after an error
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            got += chunk
    finally:
        s.close()
    return bytes(got), closed


def parse_responses(raw, methods):
    """The statuses of the complete responses in `raw`; the i-th response
    answers a HEAD (no body) when methods[i] is HEAD."""
    statuses, pos, i = [], 0, 0
    while pos < len(raw):
        end = raw.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        lines = raw[pos:end].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0] + " ")
        if not m:
            break
        status = int(m.group(1))
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        head_req = i < len(methods) and methods[i] == "HEAD"
        if head_req or status in (204, 304) or status < 200:
            length = 0
        pos = end + 4 + length
        if pos > len(raw):
            break
        statuses.append(status)
        i += 1
    return statuses


# ---------------------------------------------------------------------------

def main():
    exceptions = load_exceptions()
    used_exceptions = set()
    cases = list(read_cases())
    kinds = {"untyped": 0, "other type": 0, "skipBody": 0}
    todo = []
    for c in cases:
        ty = (c["meta"] or {}).get("type")
        if ty is None:
            kinds["untyped"] += 1
        elif ty != "request":
            kinds["other type"] += 1
        elif (c["meta"] or {}).get("skipBody"):
            kinds["skipBody"] += 1
        else:
            todo.append(c)
    t.diag("%d cases in the corpus; %d of type \"request\" tested "
           "(left out: %d without meta, %d of another type, %d skipBody)" %
           (len(cases), len(todo), kinds["untyped"], kinds["other type"],
            kinds["skipBody"]))

    acc_total = acc_ok = rej_total = rej_ok = not_1x = 0
    acc_listed = rej_listed = unlisted_ok = 0
    with hwtest.Server(routes=[route("/", "echo.so")],
                       name="conformance") as srv:
        for c in todo:
            data = decode_http(c["http"])
            kind, complete, methods = verdict(c["log"])
            name = "%s:%d %s (llhttp: %s)" % (c["file"], c["line"], c["name"],
                                             kind)
            key = (c["file"], c["name"])
            if kind == "accept" and not is_http1x(data):
                # RTSP, ICE and HTTP/0.9 requests are not HTTP/1.x.
                not_1x += 1
                t.skip("llhttp accepts it but it is not HTTP/1.x", name=name)
                continue
            raw, closed = exchange(srv.port, add_host(data))
            statuses = parse_responses(raw, methods)
            detail = ("sent %r" % add_host(data)[:300],
                      "statuses %r, closed=%s, got %r" %
                      (statuses, closed, raw[:300]))
            if kind == "reject":
                rej_total += 1
                ok = (any(s in REJECT_STATUSES for s in statuses) or
                      (closed and len(statuses) <= complete))
                if key in exceptions and not ok:
                    # Listed: a method token we route on purpose.  It must
                    # have been answered as a routed request, nothing else.
                    used_exceptions.add(key)
                    rej_listed += 1
                    if statuses and all(s < 400 for s in statuses):
                        t.skip(exceptions[key], name="rejects " + name)
                    else:
                        t.ok(False, "rejects %s: listed, but not answered "
                             "as a routed request" % name, *detail)
                    continue
                rej_ok += bool(ok)
                t.ok(ok, "rejects " + name, *detail)
                continue
            if kind == "accept":
                acc_total += 1
                ok = (len(statuses) >= complete and
                      not any(s in REJECT_STATUSES
                              for s in statuses[:complete]))
            else:
                ok = not any(s in REJECT_STATUSES for s in statuses)
            if key in exceptions:
                used_exceptions.add(key)
                acc_listed += kind == "accept"
                if ok:
                    acc_ok += kind == "accept"
                    t.ok(True, "accepts %s (listed as an exception, but "
                         "accepted)" % name)
                else:
                    t.skip(exceptions[key], name="accepts " + name)
                continue
            acc_ok += bool(ok and kind == "accept")
            unlisted_ok += bool(ok and kind == "accept")
            t.ok(ok, ("accepts " if kind == "accept" else "does not reject ")
                 + name, *detail)
        hwtest.assert_clean_stop(srv, name="conformance server")

    for key in sorted(set(exceptions) - used_exceptions):
        if key[0] != "-":  # "-": a deviation with no llhttp vector
            t.diag("exception matches no tested case: %s | %s" % key)
    t.diag("accepted %d/%d (%d listed as refused on purpose), rejected "
           "%d/%d (%d listed as routed on purpose)" %
           (acc_ok, acc_total, acc_listed, rej_ok, rej_total, rej_listed))
    t.diag("(%d accepted llhttp cases are not HTTP/1.x and were skipped)" %
           not_1x)
    raw = acc_ok / acc_total if acc_total else 1.0
    t.diag("accept rate with the listed cases counted as refused: %.1f%%" %
           (raw * 100))
    unlisted = acc_total - acc_listed
    rate = unlisted_ok / unlisted if unlisted else 1.0
    t.ok(rate >= MIN_ACCEPT_RATE,
         "accepts at least %d%% of the HTTP/1.x cases llhttp accepts that "
         "are not listed (%.1f%%)" % (MIN_ACCEPT_RATE * 100, rate * 100))


hwtest.run(main)
