#!/usr/bin/env python3
"""The Rust SDK's own tests, as TAP: `cargo test` of sdk/rust (offline,
--locked), one TAP line per Rust test (sys.rs against haywire.h compiled by
the C compiler of this build, the trampolines against a fake server, the doc
examples), then that cargo exits 0 and prints no warning, that the layout
was really compared (not skipped for want of a C compiler), and that the
example module (examples/rust) builds without a warning too.  cargo's output
goes to rust-target/ of the build tree, never into the source tree.

Skipped when configure found no cargo (HW_CARGO empty, or --without-rust).
The server itself is not needed: tests/integration/rust.py serves the
example."""

import os
import re
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean

CARGO = os.environ.get("HW_CARGO", "")
if not CARGO:
    print("1..0 # SKIP no cargo (configure found none, or --without-rust)")
    sys.exit(0)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t  # noqa: E402

TIMEOUT = 900  # a first build from nothing on a slow machine

TEST_LINE = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)\s*$")
RUNNING = re.compile(r"^\s*Running (?:unittests )?(\S+)")
DOCTESTS = re.compile(r"^\s*Doc-tests (\S+)")
# rustc's and cargo's warnings; not cargo's summary line of them.
WARNING = re.compile(r"^warning(\[\w+\])?: (?!.*generated \d+ warnings?)")


def cargo(args, target):
    """Runs cargo with its output in rust-target/<target> of the build tree;
    returns (exit status or None on timeout, output, the command line).
    stderr (cargo's "Running <binary>" lines) shares stdout's pipe (the
    test lines) so that each test line follows the name of its binary."""
    env = dict(os.environ,
               CARGO_TARGET_DIR=os.path.join(hwtest.BUILDDIR, "rust-target",
                                             target),
               HAYWIRE_INCLUDE_DIR=os.path.join(hwtest.SRCDIR, "include"),
               CC=" ".join(hwtest.CC),
               CARGO_TERM_COLOR="never")
    # The tests panic on purpose: no backtraces in the log.  make's
    # jobserver descriptors are not passed down here, so cargo must not
    # look for them (it would warn that it cannot).
    for k in ("RUST_BACKTRACE", "MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"):
        env.pop(k, None)
    argv = [CARGO] + args
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=TIMEOUT)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        rc = None
    return rc, out.decode("utf-8", "replace"), " ".join(argv)


def test_sdk():
    manifest = os.path.join(hwtest.SRCDIR, "sdk", "rust", "Cargo.toml")
    rc, text, argv = cargo(["test", "--offline", "--locked",
                            "--manifest-path", manifest, "--",
                            "--show-output"], "sdk")

    binary = "?"
    ran = 0
    for line in text.splitlines():
        m = RUNNING.match(line) or DOCTESTS.match(line)
        if m:
            binary = m.group(1) if m.re is RUNNING else "doc-tests"
            continue
        m = TEST_LINE.match(line)
        if not m:
            continue
        ran += 1
        name = "%s: %s" % (binary, m.group(1))
        if m.group(2) == "ignored":
            t.skip("ignored by the crate", name=name)
        else:
            t.ok(m.group(2) == "ok", name)
    tail = "\n".join(text.splitlines()[-40:])
    t.ok(rc == 0, "cargo test of sdk/rust exits 0", argv, tail)
    # 3 layout tests, 21 against the fake server, 2 doc examples.
    t.cmp_ok(ran, ">=", 15, "cargo ran every test of the crate")
    warnings = [l for l in text.splitlines() if WARNING.match(l)]
    t.ok(not warnings, "the crate and its tests build without a warning",
         *warnings[:20])
    if "layout: skipped" in text:
        t.skip("no C compiler to compare sys.rs with (%s)" %
               " ".join(hwtest.CC), name="layout compared")
    else:
        t.like(text, r"layout: \d+ sizes, offsets and constants agree",
               "layout compared with the C compiler's")


def test_example():
    # make check built it already into the same directory: this run is
    # fresh, and cargo replays the warnings it kept from the build.
    manifest = os.path.join(hwtest.SRCDIR, "examples", "rust", "Cargo.toml")
    rc, text, argv = cargo(["build", "--release", "--offline", "--locked",
                            "--manifest-path", manifest], "example")
    t.ok(rc == 0, "examples/rust builds", argv, text[-3000:])
    warnings = [l for l in text.splitlines() if WARNING.match(l)]
    t.ok(not warnings, "examples/rust builds without a warning",
         *warnings[:20])


def main():
    test_sdk()
    test_example()


hwtest.run(main)
