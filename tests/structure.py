#!/usr/bin/env python3
"""The shape of server/, checked on every `make check`:

  * calls go one way: the units (a .c file with its .h) form no cycle,
    judged from the symbols each compiled unit defines and uses (nm) and
    from the headers each file includes;
  * one header per unit: every unit but main.c has its own header, and the
    headers without a .c are the interfaces named below;
  * names: every hw__ symbol a unit defines starts with hw__<unit>;
  * each file begins with a paragraph that names it and says what it owns;
  * no file is over 720 lines, no function over 150;
  * one library per job, in one place: jansson only in the config units
    (config.c, config_listen.c, config_write.c, and modconf.c, the
    accessors it backs for modules),
    http_parser.h only in h1_parser.c.

Output is TAP.  The objects are read from $HW_BUILDDIR/server/.libs (the
build must have run); without nm or the objects, the nm part is skipped.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("HW_SRCDIR") or os.path.join(HERE, ".."))
BUILD = os.path.abspath(os.environ.get("HW_BUILDDIR") or SRC)
SERVER = os.path.join(SRC, "server")
# Headers that are interfaces or data types, with no code of their own.
HEADER_ONLY = {"bytes", "message", "transport"}
# Platform halves: a unit's implementation for one system is
# <unit>_posix.c or <unit>_win32.c, beside its header (os.h, signals.h,
# procenv.h) and, for some, a portable file of its own (check.c beside
# check_posix.c and check_win32.c): all of them are the one unit <unit>,
# its names hw__<unit>_....
PLATFORM_SUFFIXES = ("_posix", "_win32")
MAX_FILE_LINES = 720
MAX_FUNCTION_LINES = 150

n = 0
failed = 0


def ok(cond, name, *diags):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for d in diags:
            for line in str(d).splitlines():
                print("#   " + line)


def unit_of(name):
    for suffix in PLATFORM_SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def units():
    cs = {unit_of(os.path.basename(f)[:-2])
          for f in glob.glob(SERVER + "/*.c")}
    hs = {os.path.basename(f)[:-2] for f in glob.glob(SERVER + "/*.h")}
    return cs, hs


def find_cycle(graph):
    """A cycle in {node: set(nodes)} as a list, or None."""
    state, stack = {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            c = visit(v)
            if c:
                return c
    return None


def include_graph(all_units):
    g = {}
    for f in glob.glob(SERVER + "/*.[ch]"):
        u = unit_of(os.path.basename(f)[:-2])
        for inc in re.findall(r'^#include "([a-z0-9_]+)\.h"',
                              open(f).read(), re.M):
            if inc in all_units and inc != u:
                g.setdefault(u, set()).add(inc)
    return g


def symbol_graph(cs):
    """({unit: units it uses}, {unit: symbols it defines}) from nm."""
    nm = shutil.which("nm")
    objdir = os.path.join(BUILD, "server", ".libs")
    if nm is None or not os.path.isdir(objdir):
        return None, None
    defined, used = {}, {}
    files = {os.path.basename(f)[:-2] for f in glob.glob(SERVER + "/*.c")}
    for f in files:
        u = unit_of(f)
        obj = os.path.join(objdir, "libhwcore_la-%s.o" % f)
        if u == "main" or not os.path.exists(obj):
            continue
        out = subprocess.run([nm, obj], capture_output=True, text=True).stdout
        defined.setdefault(u, set()).update(
            re.findall(r"^\S*\s+[TDRB]\s+(hw__\w+)$", out, re.M))
        used.setdefault(u, set()).update(
            re.findall(r"^\s+U\s+(hw__\w+)$", out, re.M))
    owner = {s: u for u, ss in defined.items() for s in ss}
    g = {u: {owner[s] for s in ss if s in owner and owner[s] != u}
         for u, ss in used.items()}
    return g, defined


def functions(path):
    """(name, length in lines) of each function defined at column 0."""
    lines = open(path).read().split("\n")
    out, start, name = [], None, None
    for i, line in enumerate(lines):
        if start is None:
            m = re.match(r"^[A-Za-z_].*?\b(\w+)\(", line)
            if m and not line.rstrip().endswith(";") and \
                    not line.startswith(("typedef", "struct", "enum", "#")):
                j = i
                while j < len(lines) and not lines[j].rstrip().endswith(
                        ("{", ";")):
                    j += 1
                if j < len(lines) and lines[j].rstrip().endswith("{") and \
                        "=" not in lines[i]:
                    start, name = i, m.group(1)
        elif line == "}":
            out.append((name, i - start + 1))
            start = None
    return out


def main():
    cs, hs = units()
    all_units = cs | hs

    # One header per unit.
    no_header = sorted(u for u in cs if u not in hs and u != "main")
    ok(not no_header, "every unit has its own header", no_header)
    lone = sorted(u for u in hs - cs if u not in HEADER_ONLY)
    ok(not lone, "headers without a .c are only the interfaces %s" %
       sorted(HEADER_ONLY), lone)

    # Calls go one way.
    cyc = find_cycle(include_graph(all_units))
    ok(cyc is None, "no two units include each other in a loop",
       " -> ".join(cyc or []))
    g, defined = symbol_graph(cs)
    if g is None:
        print("ok %d - # SKIP no nm or no objects under %s" % (n + 1, BUILD))
        print("ok %d - # SKIP no nm or no objects" % (n + 2))
        globals()["n"] += 2
    else:
        cyc = find_cycle(g)
        ok(cyc is None, "no two units call each other in a loop (%d units, "
           "%d edges)" % (len(g), sum(len(v) for v in g.values())),
           " -> ".join(cyc or []))
        bad = sorted("%s defines %s" % (u, s) for u, ss in defined.items()
                     for s in ss
                     if not (s == "hw__" + u or s.startswith("hw__%s_" % u)))
        ok(not bad, "every symbol a unit defines is named hw__<unit>_...",
           "\n".join(bad))

    # One library per job, in one place.
    for header, allowed in (("jansson.h", {"config.c", "config_listen.c", "config_write.c", "modconf.c"}),
                            ("http_parser.h", {"h1_parser.c"})):
        users = sorted(os.path.basename(f)
                       for f in glob.glob(SERVER + "/*.[ch]")
                       if re.search(r'^#include [<"]%s[>"]' % re.escape(header),
                                    open(f).read(), re.M))
        ok(set(users) <= allowed and users,
           "%s is included only by %s" % (header, ", ".join(sorted(allowed))),
           users)

    # The paragraph at the top, the sizes.
    for f in sorted(glob.glob(SERVER + "/*.[ch]")):
        base = os.path.basename(f)
        text = open(f).read()
        ok(re.match(r"/\*\n \* %s - \S" % re.escape(base), text) is not None,
           "%s begins with a paragraph naming it" % base)
        nlines = text.count("\n")
        ok(nlines <= MAX_FILE_LINES, "%s: %d lines (at most %d)" %
           (base, nlines, MAX_FILE_LINES))
        if base.endswith(".c"):
            long_ = ["%s: %d lines" % fl for fl in functions(f)
                     if fl[1] > MAX_FUNCTION_LINES]
            ok(not long_, "%s: no function over %d lines" %
               (base, MAX_FUNCTION_LINES), "\n".join(long_))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
