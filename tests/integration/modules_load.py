#!/usr/bin/env python3
"""Loading modules: an out-of-tree module compiled with $HW_CC against the
public header only, found through a modules_dir relative to the config file
(whatever the working directory), or through an absolute module path; the
same shared object on several routes with different configs."""

import os
import re
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


hwtest.run(main)
