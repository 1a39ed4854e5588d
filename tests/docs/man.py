#!/usr/bin/env python3
"""The man pages cannot drift from the code or from the README.

docs/haywire.8.in and docs/haywire-module.3.in are roff written by hand;
this test reads them beside the sources they describe and fails when one
says what the other does not:

  * every option of server/main.c's getopt table (long and short, the
    master's internal ones excepted) is in haywire(8), and every option
    haywire(8) mentions anywhere exists there;
  * every configuration key server/config.c, server/config_listen.c (and
    server/modconf.c) accept is a key of haywire(8)'s CONFIGURATION
    section, and every key there is accepted.  The keys are read from the C
    source the way the parser checks them: the literals compared with the
    key of each json_object_foreach (strcmp(k, "...")) and the key tables it
    looks keys up in (limit_keys[], whose entries may come from an X-macro
    list such as config.h's HW__CONFIG_LIMITS), under the path the function
    names the key by in its messages: the text before the %s the key fills
    ("limits.%s", "routes[%zu].%s", "%s.tls.certificates[%zu].%s: unknown
    key"), indices dropped ("routes[]."), and a %s there followed to what
    it holds: a snprintf into that variable earlier in the function
    ("listen[%zu]"), or, for a parameter, the argument every caller passes
    (so config_listen.c's "%s.tls.%s" is "listen[].tls."); a %s that
    cannot be followed so fails the test rather than lose its keys.  A key
    table that is itself a parameter (config.c's parse_ints, given
    limit_keys with "limits", timeout_keys with "timeouts_ms") is read call
    by call: each call's table under the path made from that call's
    arguments alone;
  * the same between README.md's "Configuration reference" and the page,
    and between README.md's option table ("Running") and the page;
  * every signal the master and the worker handle is in SIGNALS, and every
    signal there is handled: the commands' signals of server/signals_posix.c
    (its table, SIGPIPE aside: ignored, not handled), and any
    uv_signal_start of their own in master.c and worker.c;
  * every module `make install` installs (Makefile.am's
    module_LTLIBRARIES) is named in haywire(8)'s FILES and in README.md's
    "Shipped modules" table, and neither names another;
  * every member of hw_host and hw_module in include/haywire.h is a member
    tag of haywire-module(3) with the minor version that added it (taken
    from the header's "ABI 1.N" section comments), and no tag names a
    member the header lacks; every HW_E* code (and HW_CONGESTED) appears
    with its value; VERSIONS has one entry per minor; every public name of
    the header appears in the page;
  * the pages the build made (docs/*.8 and docs/*.3 in $HW_BUILDDIR) have
    no placeholder left, and render without a warning: `groff -man -Tutf8
    -ww -Wbreak -z` prints nothing (a long install path is a word groff
    cannot break), and `man -l` exits 0 with the NAME section
    (skipped without groff or man).

Conventions the pages keep for this test (they say so in their first
comment): options are written \\-x and \\-\\-long; in CONFIGURATION,
SIGNALS, THE DESCRIPTOR, THE HOST TABLE and VERSIONS every .TP tag is one
key, signal, member or version, its first bold word the name.

Output is TAP.  Sources are read from $HW_SRCDIR (default: this tree), the
built pages from $HW_BUILDDIR (default: the same).
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("HW_SRCDIR") or
                      os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(os.environ.get("HW_BUILDDIR") or SRC)
PAGES = {"haywire.8": "haywire(8)", "haywire-module.3": "haywire-module(3)"}
# Options the master passes to its workers; usage() does not show them.
INTERNAL_OPTIONS = {"--worker", "--generation", "--listen-fds", "--slot-file",
                    "--metrics-fd", "--tickets-fd"}
# Files whose json_object_foreach loops check configuration keys.
CONFIG_SOURCES = ["server/config.c", "server/config_listen.c",
                  "server/modconf.c"]
CONFIG_WHAT = "server/config.c and server/config_listen.c"
SIGNAL_SOURCES = ["server/master.c", "server/worker.c"]
SIGNAL_TABLE = "server/signals_posix.c"

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
    sys.stdout.flush()
    return cond


def skip(name, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, why))


def read(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as f:
        return f.read()


def names(s):
    return ", ".join(sorted(s)) or "(none)"


def both_ways(name, code, doc, code_what, doc_what):
    """One TAP line: the two sets are equal; the diagnostics name what
    each side lacks."""
    missing, extra = code - doc, doc - code
    return ok(not missing and not extra, name,
              *([("in %s, not in %s: %s" % (code_what, doc_what,
                                            names(missing)))]
                if missing else []) +
              ([("in %s, not in %s: %s" % (doc_what, code_what,
                                           names(extra)))]
               if extra else []))


# ---------------------------------------------------------------------------
# C source

def blank_comments(text):
    """`text` with comments, string and character literals blanked out
    (same length, newlines kept), so that braces and semicolons in them do
    not count.  Returns (code, literals) where literals keeps the strings."""
    out = list(text)
    i, nt = 0, len(text)
    while i < nt:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = nt if j < 0 else j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = nt if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < nt and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
            # keep the quotes, blank the inside
            for k in range(i + 1, min(j - 1, nt)):
                if out[k] != "\n":
                    out[k] = " "
            i = j
            continue
        else:
            i += 1
            continue
        for k in range(i, min(j, nt)):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


STRING_LITS = r'(?:"(?:[^"\\\n]|\\.)*"\s*)+'
CONVERSION = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?"
                        r"(?:hh|h|ll|l|z|j|t|L)?([diouxXcspfeEgGaA%])")


def literal_text(lits):
    """The text of adjacent C string literals, concatenated (escapes kept
    as written)."""
    return "".join(re.findall(r'"((?:[^"\\\n]|\\.)*)"', lits))


def split_args(code, text, start):
    """The arguments of the call whose "(" is at `start` in the blanked
    `code`: [(offset, text)] from the original `text`, and the offset of
    the closing ")"."""
    depth, i, args, begin = 0, start, [], start + 1
    while i < len(code):
        c = code[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                break
        elif c == "," and depth == 1:
            args.append((begin, text[begin:i]))
            begin = i + 1
        i += 1
    if text[begin:i].strip():
        args.append((begin, text[begin:i]))
    return [(o + len(a) - len(a.lstrip()), a.strip()) for o, a in args], i


def c_calls(body):
    """[(offset, name, [(offset, argument text)])] of the calls in a
    function body."""
    code = blank_comments(body)
    out = []
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\(", code):
        if m.group(1) in ("if", "while", "for", "switch", "return", "sizeof"):
            continue
        args, _ = split_args(code, body, m.end() - 1)
        out.append((m.start(), m.group(1), args))
    return out


def c_defines(text):
    """{name: (params, body)} of the function-like macros in `text`, with
    continuation lines joined."""
    joined = text.replace("\\\n", " ")
    return {m.group(1): ([p.strip() for p in m.group(2).split(",")],
                         m.group(3))
            for m in re.finditer(r"^\s*#\s*define\s+(\w+)\(([^)]*)\)(.*)$",
                                 joined, re.M)}


def included_text(rel, text):
    """`text` followed by the server headers it includes (recursively), so
    that a macro defined in a header is found."""
    seen, out, todo = {rel}, [text], [text]
    while todo:
        for h in re.findall(r'^\s*#\s*include\s+"([\w.]+)"', todo.pop(), re.M):
            path = os.path.join(SRC, "server", h)
            if h not in seen and os.path.exists(path):
                seen.add(h)
                out.append(read(path))
                todo.append(out[-1])
    return "\n".join(out)


def c_table_names(text, table, macros=None):
    """The first string of each element of `table[] = {...};`: a literal
    ({"body", ...}), or the argument an X-macro list hands to the entry
    macro that the table's body expands it with, when that macro
    stringifies it first ({#name, ...}: HW__CONFIG_LIMITS(LIMIT_KEY))."""
    m = re.search(r"\b%s\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\}\s*;" % re.escape(table),
                  text, re.S)
    if m is None:
        return set()
    found = set(re.findall(r"\{\s*\"([^\"]+)\"", m.group(1)))
    macros = macros if macros is not None else c_defines(text)
    for lst, entry in re.findall(r"\b(\w+)\s*\(\s*(\w+)\s*\)", m.group(1)):
        if lst not in macros or entry not in macros or \
                len(macros[lst][0]) != 1:
            continue
        eparams, ebody = macros[entry]
        first = re.match(r"\s*\{\s*#\s*(\w+)", ebody)
        if first is None or first.group(1) not in eparams:
            continue
        at = eparams.index(first.group(1))
        (x,), lbody = macros[lst]
        lcode = blank_comments(lbody)
        for xm in re.finditer(r"\b%s\s*\(" % re.escape(x), lcode):
            args, _ = split_args(lcode, lbody, xm.end() - 1)
            if len(args) > at:
                found.add(args[at][1])
    return found


def c_function_table(sources):
    """{name: [(rel, params, body, body offset in the file, static)]} of
    the functions of `sources`."""
    funcs = {}
    for rel, text in sources.items():
        code = blank_comments(text)
        for m in re.finditer(
                r"^([A-Za-z_][\w \t\*]*?)\b(\w+)\s*\(([^;{}]*)\)\s*\{",
                code, re.M):
            depth, i = 0, m.end() - 1
            while i < len(code):
                if code[i] == "{":
                    depth += 1
                elif code[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            params = [re.search(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", p).group(1)
                      if re.search(r"\w", p) else ""
                      for p in m.group(3).split(",")]
            funcs.setdefault(m.group(2), []).append(
                (rel, params, text[m.end():i], m.end(),
                 "static" in m.group(1).split()))
    return funcs


class KeyPaths:
    """What a variable naming a key holds at a point of a function: the
    paths it can be, read from the snprintf that filled it, the branch that
    compared it, or the callers that passed it."""

    def __init__(self, funcs):
        self.funcs = funcs
        self.unresolved = []
        # (fn, caller, offset, args): fn's parameters are that call's
        # arguments, not every caller's (set while a table passed as a
        # parameter is read).
        self.call = None

    def formats(self, body):
        """[(offset, format text, [argument texts after it])] of the calls
        in `body` with a string literal argument that has a conversion."""
        out = []
        for off, _name, args in c_calls(body):
            for j, (_o, a) in enumerate(args):
                if re.fullmatch(STRING_LITS, a) and "%" in a:
                    out.append((off, literal_text(a),
                                [x for _, x in args[j + 1:]]))
                    break
        return out

    def expand(self, fmt, args, upto, fn, at, depth):
        """The paths the text of `fmt` before its conversion number `upto`
        (None: all of it) can be, each %s followed to what its argument
        holds and every other conversion (an index) dropped; None when a
        %s cannot be followed."""
        outs, pos, argi, n = {""}, 0, 0, 0
        for c in CONVERSION.finditer(fmt):
            outs = {o + fmt[pos:c.start()] for o in outs}
            pos = c.end()
            if c.group(3) == "%":
                outs = {o + "%" for o in outs}
                continue
            if n == upto:
                return outs
            argi += (c.group(1) == "*") + (c.group(2) == "*")
            arg = args[argi] if argi < len(args) else ""
            argi += 1
            n += 1
            if c.group(3) == "s":
                held = self.held(arg, fn, at, depth + 1)
                if held is None:
                    return None
                outs = {o + h for o in outs for h in held}
        return {o + fmt[pos:] for o in outs} if upto is None else None

    def conversion_of(self, fmt, args, var):
        """The number of the %s conversion that `var` fills in `fmt`, or
        None."""
        argi, n = 0, 0
        for c in CONVERSION.finditer(fmt):
            if c.group(3) == "%":
                continue
            argi += (c.group(1) == "*") + (c.group(2) == "*")
            if c.group(3) == "s" and argi < len(args) and args[argi] == var:
                return n
            argi += 1
            n += 1
        return None

    def held(self, arg, fn, at, depth=0):
        """The paths variable (or literal) `arg` can hold at offset `at` of
        function `fn` ((rel, params, body, ...)), or None."""
        rel, params, body = fn[0], fn[1], fn[2]
        if re.fullmatch(STRING_LITS, arg):
            return {literal_text(arg)}
        if depth > 8 or not re.fullmatch(r"\w+", arg):
            return None
        last = None
        for off, name, args in c_calls(body):
            if off < at and name == "snprintf" and args and \
                    args[0][1] == arg and len(args) >= 3 and \
                    re.fullmatch(STRING_LITS, args[2][1]):
                last = (off, literal_text(args[2][1]),
                        [x for _, x in args[3:]])
        if last is not None:
            return self.expand(last[1], last[2], None, fn, last[0], depth)
        loops = re.findall(r"json_object_foreach\s*\(\s*[^,]+,\s*(\w+)\s*,",
                           body)
        if arg in loops:
            cmp = [m for m in re.finditer(
                r"strcmp\s*\(\s*%s\s*,\s*\"([^\"]+)\"\s*\)\s*==\s*0"
                % re.escape(arg), body) if m.start() < at]
            return {cmp[-1].group(1)} if cmp else None
        if arg in params:
            index = params.index(arg)
            if self.call is not None and self.call[0] == fn:
                _, caller, off, args = self.call
                return (self.held(args[index][1], caller, off, depth + 1)
                        if index < len(args) else None)
            return self.passed(fn, index, depth)
        return None

    def calls_of(self, fn):
        """[(caller, offset, [(offset, argument text)])] of the calls of
        `fn`."""
        name = next(n for n, defs in self.funcs.items() if fn in defs)
        out = []
        for defs in self.funcs.values():
            for caller in defs:
                if fn[4] and caller[0] != fn[0]:
                    continue  # a static function is called from its file
                out += [(caller, off, args)
                        for off, callee, args in c_calls(caller[2])
                        if callee == name]
        return out

    def passed(self, fn, index, depth):
        """The paths every caller passes as argument `index` of `fn`."""
        out = set()
        for caller, off, args in self.calls_of(fn):
            if len(args) <= index:
                continue
            held = self.held(args[index][1], caller, off, depth + 1)
            if held is None:
                return None
            out |= held
        return out or None

    def prefixes(self, fn, k):
        """The paths before loop key `k` of function `fn`: from each
        message whose %s `k` fills (none: the key is named alone)."""
        found = set()
        for off, fmt, args in self.formats(fn[2]):
            n = self.conversion_of(fmt, args, k)
            if n is None:
                continue
            got = self.expand(fmt, args, n, fn, off, 0)
            if got is None:
                self.unresolved.append("%s: %s" % (fn[0], fmt))
                continue
            found |= {p for p in got if p == "" or p.endswith(".")}
        return found or {""}


def config_keys_in_code():
    """The configuration keys the C parser accepts, as paths: "listen",
    "limits", "limits.body", "routes", "routes[].prefix",
    "listen[].tls.certificates[].cert"...; notes on where each came from,
    for the diagnostics; and the messages whose path could not be
    followed."""
    keys, notes = set(), []
    sources = {rel: read(SRC, rel) for rel in CONFIG_SOURCES
               if os.path.exists(os.path.join(SRC, rel))}
    funcs = c_function_table(sources)
    paths = KeyPaths(funcs)
    for fname, defs in sorted(funcs.items()):
        for fn in defs:
            rel, body = fn[0], fn[2]
            text = sources[rel]
            macros = c_defines(included_text(rel, text))
            for loop in re.finditer(
                    r"json_object_foreach\s*\(\s*[^,]+,\s*(\w+)\s*,", body):
                k = re.escape(loop.group(1))
                lits = set(re.findall(r"strcmp\s*\(\s*%s\s*,\s*\"([^\"]+)\"" % k,
                                      body))
                lits |= set(re.findall(r"strcmp\s*\(\s*\"([^\"]+)\"\s*,\s*%s\s*\)"
                                       % k, body))
                passed = []
                for table in re.findall(
                        r"strcmp\s*\(\s*%s\s*,\s*(\w+)\s*\[[^\]]*\]\s*\.\s*\w+"
                        % k, body):
                    if table in fn[1]:
                        passed.append(fn[1].index(table))
                    else:
                        lits |= c_table_names(text, table, macros)
                found = set()
                if lits:
                    prefixes = paths.prefixes(fn, loop.group(1))
                    found |= {re.sub(r"\[[^\]]*\]", "[]", p) + x
                              for p in prefixes for x in lits}
                # A table passed in: each call's table under each call's
                # path, so that two calls' keys do not mix.
                for index in passed:
                    for call in paths.calls_of(fn):
                        caller, args = call[0], call[2]
                        if len(args) <= index:
                            continue
                        tlits = c_table_names(sources[caller[0]],
                                              args[index][1], macros)
                        paths.call = (fn,) + call
                        prefixes = paths.prefixes(fn, loop.group(1))
                        paths.call = None
                        found |= {re.sub(r"\[[^\]]*\]", "[]", p) + x
                                  for p in prefixes for x in tlits}
                if not found:
                    continue
                keys |= found
                notes.append("%s %s(): %s" % (rel, fname, names(found)))
    return keys, notes, paths.unresolved


def close_containers(keys):
    """A container ("limits", "routes") counts as named when one of its
    children is ("limits.body"), so that a table of leaves and a list that
    also names the containers compare equal."""
    out = set(keys)
    for key in keys:
        for m in re.finditer(r"(\[\])?\.", key):
            out.add(key[:m.start()])
    return out


def options_in_main():
    """(all long and short options of main.c's getopt table, the internal
    ones, {short: long})."""
    text = read(SRC, "server", "main.c")
    m = re.search(r"struct\s+option\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\}\s*;",
                  text, re.S)
    raw = m.group(1) if m else ""
    longs = {}
    for e in re.finditer(r"\{\s*\"([\w-]+)\"\s*,\s*\w+\s*,\s*\w+\s*,\s*"
                         r"('(.)'|\w+)\s*\}", raw):
        longs["--" + e.group(1)] = e.group(3)
    so = re.search(r"getopt_long\s*\(\s*\w+\s*,\s*\w+\s*,\s*\"([^\"]*)\"", text)
    shorts = set(re.findall(r"[A-Za-z]", so.group(1))) if so else set()
    pairs = {"-" + s: lo for lo, s in longs.items() if s in shorts}
    allopts = set(longs) | {"-" + s for s in shorts}
    return allopts, INTERNAL_OPTIONS & set(longs), pairs


def signals_in_code():
    sigs = set()
    for rel in SIGNAL_SOURCES:
        code = blank_comments(read(SRC, rel))
        sigs |= set(re.findall(
            r"uv_signal_start\s*\([^;]*?,\s*(SIG[A-Z0-9]+)\s*\)", code))
    table = blank_comments(read(SRC, SIGNAL_TABLE))
    sigs |= set(re.findall(r"\[HW__SIGNALS_[A-Z]+\]\s*=\s*(SIG[A-Z0-9]+)",
                           table)) - {"SIGPIPE"}
    return sigs


# ---------------------------------------------------------------------------
# haywire.h

def header_struct(code, text, name):
    """[(member, offset)] of `typedef struct name {...} name;` in the
    blanked header `code`, and the body's start in `text`."""
    m = re.search(r"typedef\s+struct\s+%s\s*\{(.*?)\n\}\s*%s\s*;" % (name, name),
                  code, re.S)
    if m is None:
        return [], (0, 0)
    body = m.group(1)
    body = re.sub(r"^\s*#.*$", lambda x: " " * len(x.group(0)), body,
                  flags=re.M)
    members, pos = [], 0
    for stmt in body.split(";"):
        at = m.start(1) + pos
        name = (re.search(r"\(\s*\*\s*(\w+)\s*\)", stmt) or
                re.search(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", stmt))
        if stmt.strip() and name:
            members.append((name.group(1), at + name.start(1)))
        pos += len(stmt) + 1
    return members, (m.start(1), m.end(1))


def member_versions(text, code, name, major):
    """{member: "1.N"}: the minor that added each member, from the
    header's "---- ABI 1.N" section comments (1.0 before the first)."""
    members, (start, end) = header_struct(code, text, name)
    marks = [(mm.start(), mm.group(1)) for mm in
             re.finditer(r"/\*\s*-+\s*ABI\s+(\d+\.\d+)", text)
             if start <= mm.start() < end]
    out = {}
    for member, off in members:
        v = "%s.0" % major
        for at, ver in marks:
            if at < off:
                v = ver
        out[member] = v
    return out


def header_public_names(code, text):
    """Every public name the header declares: its HW_ macros (not HW__
    internals or the include guard), its hw_ types and callback types, its
    enumerators."""
    found = set(re.findall(r"#\s*define\s+(HW_[A-Z0-9_]+)", text))
    found |= set(re.findall(r"\btypedef\b[^;]*?\b(hw_\w+)\s*;", code))
    found |= set(re.findall(r"\(\s*\*\s*(hw_\w+)\s*\)\s*\(", code))
    for body in re.findall(r"typedef\s+enum\s+\w+\s*\{(.*?)\}", code, re.S):
        found |= set(re.findall(r"\b(HW_[A-Z0-9_]+)\b", body))
    found |= set(re.findall(r"\b(hw_module_entry)\b", code))
    return {x for x in found if not x.startswith("HW__")}


# ---------------------------------------------------------------------------
# roff

ESCAPES = [(r"\(em", "\u2014"), (r"\(en", "\u2013"), (r"\(dq", '"'),
           (r"\(bu", "*"), (r"\(->", "->"), (r"\-", "-"), (r"\e", "\\"),
           (r"\&", ""), (r"\%", ""), (r"\ ", " "), (r"\~", " ")]


def plain(s):
    """roff text as it reads: font changes dropped, escapes resolved."""
    s = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", s)
    for a, b in ESCAPES:
        s = s.replace(a, b)
    return s


def macro_args(line):
    """The arguments of a macro line, with roff's double quoting."""
    rest = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""
    args, cur, quoted, i = [], "", False, 0
    while i < len(rest):
        c = rest[i]
        if c == '"':
            if quoted and rest[i + 1:i + 2] == '"':
                cur += '"'
                i += 2
                continue
            quoted = not quoted
        elif c in " \t" and not quoted:
            if cur:
                args.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        args.append(cur)
    return args


def text_of(line):
    """The text a line contributes (a font macro's arguments, joined as
    the macro joins them), in plain form."""
    if line.startswith((".", "'")):
        mac = line[1:].split(None, 1)[0] if line[1:].split() else ""
        args = macro_args(line)
        if mac in ("B", "I", "SM", "SB"):
            return plain(" ".join(args))
        if re.fullmatch(r"[BIR]{2}", mac):
            return plain("".join(args))
        return plain(" ".join(args)) if mac in ("OP", "SY", "SH", "SS") \
            else ""
    return plain(line)


def tag_name(line):
    """The first bold word of a .TP tag line."""
    if re.match(r"\.(B|BR|BI)\s", line):
        args = macro_args(line)
        return plain(args[0]) if args else ""
    m = re.search(r"\\fB(.*?)\\f[RPI]", line)
    if m:
        return plain(m.group(1))
    words = text_of(line).split()
    return words[0] if words else ""


class Page:
    def __init__(self, path):
        self.path = path
        self.lines = [l for l in read(path).splitlines()
                      if not l.startswith(('.\\"', "'\\\""))]

    def sections(self):
        """{SECTION: [lines]} (subsections stay inside their section)."""
        out, cur = {}, None
        for line in self.lines:
            if re.match(r"\.SH\b", line):
                cur = plain(" ".join(macro_args(line))).upper()
                out[cur] = []
            elif cur is not None:
                out[cur].append(line)
        return out

    def tags(self, section):
        """The .TP tag lines of a section."""
        lines = self.sections().get(section, [])
        return [lines[i + 1] for i, l in enumerate(lines[:-1])
                if re.match(r"\.TP\b", l)]

    def text(self):
        return "\n".join(text_of(l) for l in self.lines)

    def options(self):
        t = self.text()
        longs = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", t))
        shorts = set(re.findall(r"(?<![\w-])(-[A-Za-z])(?![\w-])", t))
        return longs | shorts


# ---------------------------------------------------------------------------
# README

def readme_section(text, title):
    m = re.search(r"^## %s\s*$(.*?)(?=^## |\Z)" % re.escape(title), text,
                  re.M | re.S)
    return m.group(1) if m else ""


def readme_config_keys(text):
    sec = readme_section(text, "Configuration reference")
    return set(re.findall(r"^\|\s*`([^`]+)`\s*\|", sec, re.M))


def readme_shipped_modules(text):
    """The modules of the first table under "### Shipped modules" (the
    examples' table follows it)."""
    m = re.search(r"^### Shipped modules\s*$(.*?)(?=^#{1,3} |\Z)", text,
                  re.M | re.S)
    rows, started = [], False
    for line in (m.group(1) if m else "").splitlines():
        if line.startswith("|"):
            started = True
            rows.append(line)
        elif started:
            break
    return {x for r in rows[2:] for x in
            re.findall(r"^\|\s*`([\w-]+\.so)`", r)}


def shipped_modules():
    """The modules `make install` installs: Makefile.am's
    module_LTLIBRARIES (with its continuation lines)."""
    text = read(SRC, "Makefile.am")
    m = re.search(r"^module_LTLIBRARIES\s*=((?:.*\\\n)*.*)$", text, re.M)
    return {os.path.basename(x)[:-3] + ".so"
            for x in re.findall(r"\S+\.la", m.group(1) if m else "")}


def readme_options(text):
    sec = readme_section(text, "Running")
    opts = set()
    for row in re.findall(r"^\|([^|]*)\|", sec, re.M):
        for code in re.findall(r"`([^`]+)`", row):
            opts |= set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", code))
    return opts


# ---------------------------------------------------------------------------

def check_haywire8(page, readme):
    code_opts, internal, pairs = options_in_main()
    public = code_opts - internal
    ok(bool(public), "main.c's getopt table is readable",
       "no struct option table or getopt_long string found in server/main.c")
    in_page = page.options()
    missing = public - in_page
    ok(not missing, "every option of main.c is in haywire(8)",
       "not in docs/haywire.8.in: %s" % names(missing))
    unknown = in_page - code_opts
    ok(not unknown, "every option haywire(8) mentions exists in main.c",
       "not in server/main.c: %s" % names(unknown))
    opt_sec = "\n".join(text_of(l) for l in page.sections().get("OPTIONS", []))
    unpaired = ["%s, %s" % (s, lo) for s, lo in sorted(pairs.items())
                if not re.search(r"%s,\s*%s\b" % (re.escape(s), re.escape(lo)),
                                 opt_sec)]
    ok(not unpaired, "OPTIONS gives each short option with its long one",
       "not as \"-x, --long\" in OPTIONS: %s" % "; ".join(unpaired))
    hidden = internal & in_page
    ok(not hidden, "haywire(8) leaves out the master's internal options",
       "documented: %s" % names(hidden))

    code_keys, notes, unresolved = config_keys_in_code()
    ok(len(code_keys) > 5, "config keys are read from %s" % CONFIG_WHAT,
       "found: %s" % names(code_keys))
    ok(not unresolved, "every message naming a config key gives its whole "
       "path", "cannot follow the %s before the key in:", *unresolved)
    page_keys = {tag_name(t) for t in page.tags("CONFIGURATION")}
    code_c, page_c = close_containers(code_keys), close_containers(page_keys)
    missing = code_c - page_c
    ok(not missing, "every config key of %s is in haywire(8)'s " % CONFIG_WHAT +
       "CONFIGURATION", "not in docs/haywire.8.in: %s" % names(missing),
       "keys read from the code:", *notes)
    unknown = page_keys - code_c
    ok(not unknown, "every key of haywire(8)'s CONFIGURATION is accepted by "
       + CONFIG_WHAT, "not in the code: %s" % names(unknown))
    readme_keys = readme_config_keys(readme)
    ok(bool(readme_keys), "README.md's Configuration reference has a table "
       "of keys")
    both_ways("README.md's Configuration reference and haywire(8) name the "
              "same keys", close_containers(readme_keys), page_c,
              "README.md", "docs/haywire.8.in")
    both_ways("README.md's Configuration reference and %s name the same "
              "keys" % CONFIG_WHAT, code_c, close_containers(readme_keys),
              CONFIG_WHAT, "README.md")
    readme_opts = readme_options(readme)
    both_ways("README.md's option table (Running) and haywire(8) name the "
              "same options", readme_opts, in_page - internal, "README.md",
              "docs/haywire.8.in")

    mods = shipped_modules()
    ok(len(mods) >= 4, "Makefile.am's shipped modules are read",
       "found: %s" % names(mods))
    files = "\n".join(text_of(l) for l in page.sections().get("FILES", []))
    both_ways("haywire(8)'s FILES names every shipped module", mods,
              set(re.findall(r"\b([\w-]+\.so)\b", files)),
              "Makefile.am (module_LTLIBRARIES)", "docs/haywire.8.in FILES")
    both_ways("README.md's Shipped modules table names every shipped module",
              mods, readme_shipped_modules(readme),
              "Makefile.am (module_LTLIBRARIES)", "README.md")

    code_sigs = signals_in_code()
    page_sigs = {tag_name(t) for t in page.tags("SIGNALS")}
    both_ways("haywire(8)'s SIGNALS are the signals the master and worker "
              "handle", code_sigs, page_sigs,
              " and ".join(SIGNAL_SOURCES + [SIGNAL_TABLE]), "docs/haywire.8.in SIGNALS")
    need = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS",
            "CONFIGURATION", "HOT RELOAD", "FILES", "EXIT STATUS", "EXAMPLES",
            "SEE ALSO"]
    have = page.sections()
    ok(all(s in have for s in need), "haywire(8) has its sections",
       "missing: %s" % names(set(need) - set(have)))
    ok("haywire-module(3)" in page.text(),
       "haywire(8) refers to haywire-module(3)")


def check_module3(page):
    text = read(SRC, "include", "haywire.h")
    code = blank_comments(text)
    major = re.search(r"#\s*define\s+HW_ABI_MAJOR\s+(\d+)", text).group(1)
    minor = int(re.search(r"#\s*define\s+HW_ABI_MINOR\s+(\d+)", text).group(1))
    for struct, section in (("hw_module", "THE DESCRIPTOR"),
                            ("hw_host", "THE HOST TABLE")):
        want = member_versions(text, code, struct, major)
        tags = page.tags(section)
        got = {}
        for t in tags:
            v = re.search(r"ABI\s+(\d+\.\d+)\s*$", text_of(t))
            got[tag_name(t)] = v.group(1) if v else None
        ok(len(want) > 5, "%s's members are read from haywire.h" % struct,
           "found: %s" % names(want))
        both_ways("every member of %s is in haywire-module(3)'s %s, and no "
                  "other" % (struct, section), set(want), set(got),
                  "include/haywire.h", "docs/haywire-module.3.in")
        wrong = ["%s: header %s, page %s" % (m, want[m], got[m])
                 for m in sorted(set(want) & set(got)) if want[m] != got[m]]
        ok(not wrong, "haywire-module(3) gives each %s member the minor "
           "version that added it" % struct, *wrong)

    plain_page = page.text()
    codes = re.findall(r"#\s*define\s+(HW_E[A-Z]+|HW_CONGESTED)\s+"
                       r"\(?\s*(-?\d+)\s*\)?", text)
    ok(any(c.startswith("HW_E") for c, _ in codes),
       "haywire.h's error codes are readable")
    bad = ["%s (%s)" % (c, v) for c, v in codes
           if not re.search(r"\b%s\s*\(%s\)" % (c, re.escape(v)), plain_page)]
    ok(not bad, "every HW_E* code (and HW_CONGESTED) is in haywire-module(3) "
       "with its value", "not written as NAME (value): %s" % ", ".join(bad))
    versions = {tag_name(t) for t in page.tags("VERSIONS")}
    want = {"%s.%d" % (major, i) for i in range(minor + 1)}
    both_ways("haywire-module(3)'s VERSIONS has one entry per minor up to "
              "HW_ABI_MINOR", want, versions, "include/haywire.h",
              "docs/haywire-module.3.in")
    public = header_public_names(code, text)
    missing = {x for x in public
               if not re.search(r"(?<!\w)%s(?!\w)" % re.escape(x), plain_page)}
    ok(not missing, "every public name of haywire.h is in haywire-module(3)",
       "not in docs/haywire-module.3.in: %s" % names(missing))
    need = ["NAME", "SYNOPSIS", "DESCRIPTION", "THE DESCRIPTOR",
            "THE HOST TABLE", "OWNERSHIP", "RETURN VALUE", "VERSIONS",
            "EXAMPLES", "SEE ALSO"]
    have = page.sections()
    ok(all(s in have for s in need), "haywire-module(3) has its sections",
       "missing: %s" % names(set(need) - set(have)))
    ok("haywire(8)" in plain_page, "haywire-module(3) refers to haywire(8)")


def check_rendering():
    groff, man = shutil.which("groff"), shutil.which("man")
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat",
               LC_ALL=os.environ.get("LC_ALL") or "C.UTF-8")
    env.pop("MANOPT", None)
    for page, title in sorted(PAGES.items()):
        built = os.path.join(BUILD, "docs", page)
        if not ok(os.path.exists(built), "%s was built" % title,
                  "%s is missing: run make" % built):
            continue
        text = read(built)
        left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
        ok(not left, "%s has no placeholder left" % title,
           "not substituted (Makefile.am's MAN_SUBST): %s" % ", ".join(left))
        if groff is None:
            skip("%s renders without warnings (groff)" % title, "no groff")
        else:
            # -Wbreak: an install path (a long --prefix, as distcheck's) is
            # one word groff cannot break; every other warning counts.
            p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-Wbreak",
                                "-z", built],
                               capture_output=True, text=True, timeout=60,
                               env=env)
            ok(p.returncode == 0 and p.stderr.strip() == "",
               "%s renders without warnings (groff -man -ww)" % title,
               "exit %d" % p.returncode, p.stderr)
        if man is None:
            skip("%s renders with man -l" % title, "no man")
        else:
            p = subprocess.run([man, "-P", "cat", "-l", built],
                               capture_output=True, text=True, timeout=60,
                               env=env)
            name = page.rsplit(".", 1)[0]
            warned = [x for x in p.stderr.splitlines()
                      if x.strip() and "can't break line" not in x]
            ok(p.returncode == 0 and re.search(r"^NAME\s*$", p.stdout, re.M)
               and re.search(r"^\s+%s - " % re.escape(name), p.stdout, re.M)
               and not warned,
               "%s renders with man -l (NAME, no warning)" % title,
               "exit %d" % p.returncode, p.stderr, p.stdout[:600])


def main():
    readme = read(SRC, "README.md")
    pages = {}
    for page, title in sorted(PAGES.items()):
        src = os.path.join(SRC, "docs", page + ".in")
        if ok(os.path.exists(src), "%s source is there" % title, src):
            pages[page] = Page(src)
    if "haywire.8" in pages:
        check_haywire8(pages["haywire.8"], readme)
    if "haywire-module.3" in pages:
        check_module3(pages["haywire-module.3"])
    check_rendering()
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
