#!/usr/bin/env python3
"""Loading modules: an out-of-tree module compiled with $HW_CC against the
public header only, found through a modules_dir relative to the config file
(whatever the working directory), or through an absolute module path; the
same shared object on several routes with different configs."""

import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hwtest  # noqa: E402
from hwtest import t, get, route  # noqa: E402

OOT = b"out of tree"


def build_oot(d):
    mods = os.path.join(d, "mods")
    os.makedirs(mods, exist_ok=True)
    so = os.path.join(mods, "oot" + hwtest.MODULE_EXT)
    rc, out = hwtest.compile_module(
        [os.path.join(hwtest.SRCDIR, "tests", "fixtures", "oot_module.c")], so)
    return rc, out, so


def check_oot(srv, target, label):
    r = hwtest.one(srv.port, get(target))
    t.is_((r.status, r.body), (200, OOT), label)
    return r


def main():
    d = hwtest.make_tmpdir("oot")
    with t.block("compile"):
        rc, out, so = build_oot(d)
        if not t.is_(rc, 0, "oot_module.c compiles with $HW_CC against "
                     "include/haywire.h only"):
            t.diag(out)
            return
        t.ok(os.path.isfile(so), "oot.so exists")

    cfg = {"listen": ["127.0.0.1:0"], "modules_dir": "../mods",
           "workers": 1,
           "routes": [route("/oot", "oot.so"),
                      route("/hello", hwtest.module("hello")),
                      route("/hi", hwtest.module("hello"),
                            {"body": "hi there", "content_type": "text/html"})]}
    conf_rel = os.path.join("conf", "routes.json")
    conf = hwtest.write_config(os.path.join(d, conf_rel), cfg)

    with t.block("relative modules_dir (-t)"):
        rc, out, err = hwtest.check_config(conf, cwd="/")
        t.is_(rc, 0, "-t accepts it from cwd /")
        t.like(out, "configuration OK", "configuration OK")
        if rc:
            t.diag(err)
        rc, out, err = hwtest.check_config(conf_rel, cwd=d)
        t.is_(rc, 0, "-t accepts a relative -c path too")

    with t.block("relative modules_dir, absolute -c, cwd /"):
        with hwtest.Server(config=cfg, workdir=d, config_rel=conf_rel,
                           cwd="/", name="rel") as srv:
            r = check_oot(srv, "/oot", "GET /oot answers out of tree")
            t.like(r.header("Content-Type") or "", "^text/plain",
                   "with the module's Content-Type")
            t.is_(r.header("Server"), "haywire", "host headers added")
            check_oot(srv, "/oot/deeper?x=1", "GET /oot/deeper?x=1 too")
            r = hwtest.one(srv.port, get("/hello"))
            t.is_(r.body, b"Hello, World!", "absolute path to hello.so")
            r = hwtest.one(srv.port, get("/hi"))
            t.is_((r.body, r.header("Content-Type")), (b"hi there",
                                                        "text/html"),
                  "same .so on another route with its own config")
            hwtest.assert_clean_stop(srv, name="server")

    with t.block("relative modules_dir, relative -c"):
        with hwtest.Server(config=cfg, workdir=d, config_rel=conf_rel,
                           config_arg=conf_rel, cwd=d, name="relc") as srv:
            check_oot(srv, "/oot", "GET /oot answers out of tree")
            hwtest.assert_clean_stop(srv, name="server")

    with t.block("absolute module path"):
        cfg_abs = {"listen": ["127.0.0.1:0"],
                   "modules_dir": hwtest.MODULES_DIR,
                   "workers": 1,
                   "routes": [route("/oot", so), route("/hello", "hello.so")]}
        with hwtest.Server(config=cfg_abs, name="abs") as srv:
            check_oot(srv, "/oot", "GET /oot via an absolute path")
            r = hwtest.one(srv.port, get("/hello"))
            t.is_(r.body, b"Hello, World!", "modules_dir still used for "
                  "relative names")
            hwtest.assert_clean_stop(srv, name="server")

    with t.block("modules_dir relative to the config, not the cwd"):
        # From cwd = d, "../mods" would be wrong; only the config's
        # directory (d/conf) makes it d/mods.  Put a decoy config elsewhere.
        other = os.path.join(d, "elsewhere", "deep", "routes.json")
        hwtest.write_config(other, cfg)
        rc, out, err = hwtest.check_config(other, cwd=os.path.join(d, "conf"))
        t.is_(rc, 1, "a config whose ../mods does not exist is refused even "
              "when ../mods exists from the cwd")
        t.like(err, re.escape("oot" + hwtest.MODULE_EXT), "naming the module")


    missing_dependency(d)
    foreign_object(d)


# A library a module links against, and the module.
DEP_C = b"int hw_test_dep(void) { return 7; }\n"
NEEDS_C = b"""#include "haywire.h"
int hw_test_dep(void);
static hw_handle_result handle(void *state, hw_request *req,
                               hw_response *res) {
  (void)state; (void)req; (void)res;
  return hw_test_dep() == 7 ? HW_DECLINED : HW_ERROR;
}
HW_MODULE_DEFINE("needs", "1.0", NULL, handle, NULL);
"""


def missing_dependency(d):
    """A module that needs a shared library the loader cannot find: -t and
    start-up refuse it with one line naming the module and the library
    (dlopen's reason on Linux; on Windows the server reads the DLL's
    import table for the name, which the system's message leaves out)."""
    with t.block("a module whose dependency is missing"):
        libdir = os.path.join(d, "deplib")
        os.makedirs(libdir, exist_ok=True)
        dep_name = ("hwtestdep.dll" if hwtest.WINE else "libhwtestdep.so")
        dep = os.path.join(libdir, dep_name)
        src = hwtest.write_config(os.path.join(d, "dep.c"), DEP_C)
        rc, out = hwtest.compile_module([src], dep)
        if not t.is_(rc, 0, "the library compiles"):
            t.diag(out)
            return
        needs = os.path.join(d, "needs" + hwtest.MODULE_EXT)
        src = hwtest.write_config(os.path.join(d, "needs.c"), NEEDS_C)
        # Linked against the library by name, with no path to find it by
        # at run time (no rpath; on Windows the DLL is not beside it).
        link = [dep] if hwtest.WINE else ["-L", libdir, "-lhwtestdep"]
        rc, out = hwtest.compile_module([src], needs, link)
        if not t.is_(rc, 0, "the module compiles against it"):
            t.diag(out)
            return
        cfg = {"listen": ["127.0.0.1:0"], "workers": 0,
               "routes": [route("/needs", needs)]}
        path = hwtest.write_config(os.path.join(d, "needs.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 1, "-t refuses it")
        t.like(err, r"routes\[0\]\.module: %s: cannot load: .*%s" % (
            re.escape(needs), re.escape(dep_name)),
            "one line naming the module and the missing library")
        rc, out, err = hwtest.run_haywire(["-c", path])
        t.is_(rc, 1, "start-up refuses it")
        t.like(err, re.escape(dep_name), "naming the library")


def foreign_object(d):
    """A module file built for another system (a Linux ELF object named
    x.dll under Windows; a Windows DLL's head on Linux): one line naming
    the file and the loader's reason, never a crash."""
    with t.block("a module built for another system"):
        bad = os.path.join(d, "foreign" + hwtest.MODULE_EXT)
        if hwtest.WINE:
            shutil.copyfile("/bin/true", bad)
        else:
            with open(bad, "wb") as f:
                f.write(b"MZ" + b"\0" * 58 + b"\x80\0\0\0" + b"\0" * 64 +
                        b"PE\0\0\x64\x86" + b"\0" * 4096)
        cfg = {"listen": ["127.0.0.1:0"], "workers": 0,
               "routes": [route("/f", bad)]}
        path = hwtest.write_config(os.path.join(d, "foreign.json"), cfg)
        rc, out, err = hwtest.check_config(path)
        t.is_(rc, 1, "-t refuses it")
        t.like(err, r"^haywire: .*routes\[0\]\.module: %s: cannot load: "
               r"\S" % re.escape(bad), "one line naming the file and why")
        t.is_(len(err.strip().splitlines()), 1, "one line")


hwtest.run(main)
