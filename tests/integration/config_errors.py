#!/usr/bin/env python3
"""Configuration errors: each bad config makes `haywire -t` exit 1 with one
stderr line naming the file (or the module) and the key, and makes a normal
start exit 1 with the same reason without ever listening.  A good config
passes -t (which opens no socket); --version, -h and bad options."""

import os
import re
import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, route, fixture, module  # noqa: E402


def base(**over):
    cfg = {"listen": ["127.0.0.1:0"], "modules_dir": hwtest.MODULES_DIR,
           "workers": 1, "limits": {"body": 4096},
           "routes": [route("/hello", "hello.so")]}
    cfg.update(over)
    return cfg


def with_route(extra):
    return base(routes=[route("/hello", "hello.so"), extra])


def cases():
    """(name, config, [patterns every error line must match],
    [optional 'reason' patterns, each its own TAP line])."""
    e = re.escape
    nope = hwtest.module("nope")
    # (Never read: these configs fail before the files are opened.)
    tls_pair = {"cert": "site.crt", "key": "site.key"}
    out = [
        ("invalid JSON", '{"listen": ["127.0.0.1:0"], "routes": [', [], []),
        ("JSON not an object", '["127.0.0.1:0"]', [], []),
        ("unknown top-level key", base(bogus_key=1), ["bogus_key"], []),
        ("unknown route key",
         base(routes=[{"prefix": "/hello", "module": "hello.so",
                       "bogus_rkey": True}]),
         [r"routes\[0\]", "bogus_rkey"], []),
        ("prefix is a number",
         base(routes=[{"prefix": 5, "module": "hello.so"}]),
         [r"routes\[0\]\.prefix"], []),
        ("listen is not an array", base(listen="127.0.0.1:0"),
         [r"\blisten\b"], []),
        ("listen entry malformed", base(listen=["127.0.0.1:99999"]),
         [r"\blisten\b"], []),
        ("workers is a string", base(workers="two"), [r"\bworkers\b"], []),
        ("limits.body is a string", base(limits={"body": "big"}),
         [r"\blimits\b", r"\bbody\b"], []),
        ("routes is an object", base(routes={"/hello": "hello.so"}),
         [r"\broutes\b"], []),
        ("route without module", base(routes=[{"prefix": "/hello"}]),
         [r"routes\[0\]", r"\bmodule\b"], []),
        ("duplicate prefix",
         base(routes=[route("/hello", "hello.so"), route("/echo", "echo.so"),
                      route("/hello", "echo.so")]),
         [r"routes\[2\]\.prefix"], [r"(?i)duplicate"]),
        ("prefix without leading slash",
         base(routes=[route("hello", "hello.so")]),
         [r"routes\[0\]\.prefix"], []),
        ("missing module file", with_route(route("/nope", "nope.so")),
         [r"routes\[1\]\.module", e(nope)], [r"(?i)no such file"]),
        ("module rejects its config",
         base(routes=[route("/hello", "hello.so", {"bogus_opt": 1})]),
         [r"routes\[0\]", "bogus_opt"], []),
        ("http2 is not an object", base(http2=True),
         [r": http2: "], [r"must be an object, not a boolean"]),
        ("http2 unknown key", base(http2={"max_streams": 10}),
         [r"http2\.max_streams: "], [r"unknown key"]),
        ("http2.max_concurrent_streams 0",
         base(http2={"max_concurrent_streams": 0}),
         [r"http2\.max_concurrent_streams: "],
         [r"must be an integer from 1 to 1000000 \(streams\)$"]),
        ("http2.initial_window_size a string",
         base(http2={"initial_window_size": "64k"}),
         [r"http2\.initial_window_size: "],
         [r"must be an integer from 1 to 2147483647 \(bytes\)$"]),
        ("http2.max_frame_size below 16384",
         base(http2={"max_frame_size": 1024}),
         [r"http2\.max_frame_size: "],
         [r"must be an integer from 16384 to 16777215 \(bytes\)$"]),
        ("http2.max_header_list_size negative",
         base(http2={"max_header_list_size": -1}),
         [r"http2\.max_header_list_size: "],
         [r"must be an integer from 0 to 2147483647 "
          r"\(bytes, 0 for limits\.header_bytes\)$"]),
        ("listen http2 not a boolean",
         base(listen=[{"address": "127.0.0.1:0", "http2": "yes"}]),
         [r"listen\[0\]\.http2: "], [r"must be true or false, not a string"]),
        ("listen http2 true, alpn without h2",
         base(listen=["127.0.0.1:0",
                      {"address": "127.0.0.1:0", "http2": True,
                       "tls": {"certificates": [tls_pair],
                               "alpn": ["http/1.1"]}}]),
         [r"listen\[1\]\.http2: ", r"listen\[1\]\.tls\.alpn"],
         [r"true, but .* does not offer \"h2\""]),
        ("listen http2 false, alpn with h2",
         base(listen=[{"address": "127.0.0.1:0", "http2": False,
                       "tls": {"certificates": [tls_pair],
                               "alpn": ["h2", "http/1.1"]}}]),
         [r"listen\[0\]\.http2: ", r"listen\[0\]\.tls\.alpn"],
         [r"false, but .* offers \"h2\""]),
        ("listen alpn names a protocol it does not speak",
         base(listen=[{"address": "127.0.0.1:0",
                       "tls": {"certificates": [tls_pair],
                               "alpn": ["h2", "h3"]}}]),
         [r"listen\[0\]\.tls\.alpn\[1\]: "],
         [r"\"h3\" is not a protocol this server speaks"]),
        ("drain_notice without health_route",
         base(timeouts_ms={"drain_notice": 2000}),
         [r": timeouts_ms\.drain_notice: "], [r"needs \"health_route\""]),
        ("drain_notice negative",
         base(health_route="/health", timeouts_ms={"drain_notice": -5}),
         [r": timeouts_ms\.drain_notice: "],
         [r"must be an integer from 0 to 86400000 \(milliseconds\)$"]),
        ("health_route without a leading slash",
         base(health_route="health"),
         [r": health_route: "], [r"must start with '/'$"]),
        ("health_route a number", base(health_route=200),
         [r": health_route: "], [r"must be a path string"]),
    ]
    reasons = {
        "nodesc": r"(?i)hw_module_entry|symbol|descriptor",
        "abi_major": r"ABI major 2, this server speaks 1",
        "too_small": r"(?i)size|small",
        "init_fails": r"init_fails: refusing to start \(fixture\)",
        "handle_null": r"(?i)handle",
    }
    for name in ("nodesc", "abi_major", "too_small", "init_fails",
                 "handle_null"):
        so = fixture(name)
        keys = [r"routes\[1\]"]
        if name != "init_fails":
            keys.append(e(so))
        out.append(("fixture " + name,
                    with_route(route("/bad", so)), keys, [reasons[name]]))
    return out


def one_line(err):
    return [line for line in err.splitlines() if line.strip()]


def check_case(name, cfg, keys, reasons, d):
    path = hwtest.write_config(os.path.join(d, name.replace(" ", "_") +
                                            ".json"), cfg)
    with t.block(name + " (-t)"):
        rc, out, err = hwtest.check_config(path)
        lines = one_line(err)
        t.is_(rc, 1, "exits 1")
        t.is_(len(lines), 1, "exactly one stderr line")
        line = lines[0] if lines else ""
        sos = [so for so in re.findall(r"/\S+\.(?:so|dll)", cfg if isinstance(cfg, str)
                                       else str(cfg))
               if so.startswith(hwtest.FIXTURES_DIR)]
        t.ok(path in line or any(so in line for so in sos),
             "names the config file (or the module)", "line: %r" % line)
        for k in keys:
            t.like(line, k, "names " + k.replace("\\", ""))
        for r in reasons:
            t.like(line, r, "reason matches " + r)
        t.unlike(out, r"configuration OK", "does not claim OK")
    with t.block(name + " (start-up)"):
        rc, out, err = hwtest.run_haywire(
            ["-c", path, "--listen", "127.0.0.1:0"], timeout=10)
        t.is_(rc, 1, "exits 1")
        for k in keys + reasons:
            t.like(err, k, "log names " + k.replace("\\", ""))
        t.unlike(err, r"listening on", "never listens")


def test_good(d):
    cfg = base(routes=[route("/hello", "hello.so"),
                       route("/echo", "echo.so"),
                       route("/delay", "delay.so", {"ms": 5}),
                       route("/b", fixture("behave"), {"name": "b"}),
                       route("/abs", module("hello"), {"body": "abs"})])
    with t.block("good config (-t)"):
        path = hwtest.write_config(os.path.join(d, "good.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 0, "exits 0")
        t.like(out, r"configuration OK", "prints configuration OK")
        t.unlike(err, r"listening on|Sanitizer|runtime error",
                 "neither listens nor reports errors")
    with t.block("good http2 settings (-t)"):
        path = hwtest.write_config(os.path.join(d, "good-h2.json"), dict(
            cfg, listen=["127.0.0.1:0",
                         {"address": "127.0.0.1:0", "http2": True}],
            http2={"max_concurrent_streams": 100,
                        "initial_window_size": 1048576,
                        "max_frame_size": 16777215,
                        "max_header_list_size": 0}))
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 0, "exits 0")
        t.like(out, r"configuration OK", "prints configuration OK")
    with t.block("-t opens no socket"):
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            held.bind(("127.0.0.1", 0))
            held.listen(1)
            port = held.getsockname()[1]
            cfg2 = dict(cfg, listen=["127.0.0.1:%d" % port])
            path = hwtest.write_config(os.path.join(d, "held.json"), cfg2)
            rc, out, err = hwtest.check_config(path)
            t.is_(rc, 0, "-t succeeds while we hold the listen port")
            t.like(out, r"configuration OK", "prints configuration OK")
            rc, out, err = hwtest.run_haywire(["-c", path], timeout=10)
            t.is_(rc, 1, "a real start on the held port exits 1")
            t.like(err, r"127\.0\.0\.1:%d" % port, "naming the address")
            t.unlike(err, r"listening on", "never claims to listen")
        finally:
            held.close()
    with t.block("missing config file"):
        path = os.path.join(d, "does-not-exist.json")
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 1, "-t exits 1")
        t.is_(len(one_line(err)), 1, "one stderr line")
        t.like(err, re.escape(path), "naming the file")


def test_cli():
    with t.block("command line"):
        rc, out, err = hwtest.run_haywire(["--version"])
        t.is_(rc, 0, "--version exits 0")
        t.like(out, r"haywire", "--version prints haywire")
        rc, out, err = hwtest.run_haywire(["-h"])
        t.is_(rc, 0, "-h exits 0")
        t.like(out + err, r"--listen", "-h mentions --listen")
        rc, out, err = hwtest.run_haywire(["--no-such-option"])
        t.ok(rc not in (0, None), "unknown option exits non-zero",
             "rc=%r" % rc)
        t.unlike(err, r"listening on", "and does not listen")
        d = hwtest.make_tmpdir("cli")
        path = hwtest.write_config(os.path.join(d, "ok.json"), base())
        rc, out, err = hwtest.run_haywire(["-c", path, "--listen",
                                           "not-an-address"])
        t.is_(rc, 1, "bad --listen exits 1")
        t.like(err, r"not-an-address", "naming the bad address")
        t.unlike(err, r"listening on", "and does not listen")


def main():
    d = hwtest.make_tmpdir("cfg")
    for name, cfg, keys, reasons in cases():
        check_case(name, cfg, keys, reasons, d)
    test_good(d)
    test_cli()


hwtest.run(main)
