/*
 * test_module.c - unit tests of the module loader (server/module.c) and of
 * the part of generation building that calls each route's init.  Each
 * fixture in tests/fixtures is broken in exactly one way; the loader must
 * refuse it with one line that names the file and the reason, and must
 * accept the shipped modules and the valid fixtures.
 *
 * Files are found under $HW_BUILDDIR (set by `make check`), or under the
 * current directory when it is unset.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generation.h"
#include "host.h"
#include "portable.h"
#include "tap.h"

static const char *builddir;

static const char *path_of(const char *dir, const char *name) {
  static char bufs[4][1024];
  static int next;
  char *buf = bufs[next++ % 4];

  snprintf(buf, sizeof(bufs[0]), "%s/%s/%s" HWT_MODULE_EXT, builddir, dir,
           name);
  return buf;
}

static const char *fixture(const char *name) {
  return path_of("tests/fixtures", name);
}

static const char *module(const char *name) { return path_of("modules", name); }

/*
 * Loads `path` expecting failure with `reason` in the message, and checks
 * the message's shape: it starts with the path and is a single line.
 */
static void load_fails(const char *what, const char *path, const char *reason) {
  static hw__module sentinel;
  hw__module *m = &sentinel; /* the loader must reset it to NULL */
  char err[1024] = "";
  char name[256];
  int r = hw__module_load(path, &m, err, sizeof(err));

  snprintf(name, sizeof(name), "%s: load fails", what);
  ok(r < 0, "%s (r=%d)", name, r);
  snprintf(name, sizeof(name), "%s: *out is NULL", what);
  ok(m == NULL, "%s", name);
  snprintf(name, sizeof(name), "%s: message starts with the path", what);
  ok(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':', "%s",
     name);
  if (reason != NULL) {
    snprintf(name, sizeof(name), "%s: message mentions \"%s\"", what, reason);
    contains(err, reason, name);
  }
  snprintf(name, sizeof(name), "%s: message is one line", what);
  ok(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL, "%s", name);
  diag("%s: %s", what, err);
  if (r == 0)
    hw__module_unload(m);
}

/* Loads `path` expecting success; returns the module (caller unloads). */
static hw__module *load_ok(const char *path, const char *want_name) {
  hw__module *m = NULL;
  char err[1024] = "";
  char name[256];
  int r = hw__module_load(path, &m, err, sizeof(err));

  snprintf(name, sizeof(name), "%s loads", want_name);
  if (!ok(r == 0 && m != NULL, "%s", name)) {
    diag("%s", err);
    return NULL;
  }
  snprintf(name, sizeof(name), "%s: path is kept", want_name);
  is_str(m->path, path, name);
  snprintf(name, sizeof(name), "%s: desc->name", want_name);
  is_str(m->desc->name, want_name, name);
  snprintf(name, sizeof(name), "%s: desc->abi_major", want_name);
  is_int(m->desc->abi_major, HW_ABI_MAJOR, name);
  snprintf(name, sizeof(name), "%s: desc->size", want_name);
  is_int(m->desc->size, sizeof(hw_module), name);
  snprintf(name, sizeof(name), "%s: has init and handle", want_name);
  ok(m->desc->init != NULL && m->desc->handle != NULL, "%s", name);
  return m;
}

static void test_refusals(void) {
  char missing[1100], not_elf[1100];
  FILE *f;

  load_fails("nodesc", fixture("nodesc"), HW_MODULE_SYMBOL);
  load_fails("abi_major", fixture("abi_major"), "ABI major");
  load_fails("too_small", fixture("too_small"), "too small");
  load_fails("handle_null", fixture("handle_null"), "handle");

  snprintf(missing, sizeof(missing),
           "%s/tests/fixtures/no-such-module" HWT_MODULE_EXT, builddir);
  load_fails("missing file", missing, NULL);

  /* A file that exists but is not a shared object at all. */
  snprintf(not_elf, sizeof(not_elf), "%s/tests/tmp", builddir);
  if (hwt_mkdir(not_elf, 0777) != 0 && errno != EEXIST)
    diag("mkdir %s: %s", not_elf, strerror(errno));
  snprintf(not_elf, sizeof(not_elf), "%s/tests/tmp/not-elf" HWT_MODULE_EXT,
           builddir);
  f = fopen(not_elf, "w");
  if (f != NULL) {
    fputs("this is not a shared object\n", f);
    fclose(f);
  }
  ok(f != NULL, "wrote %s", not_elf);
  load_fails("not an ELF file", not_elf, NULL);
  remove(not_elf);
}

static void test_accepted(void) {
  hw__module *m, *again;
  char err[1024] = "";

  /* init failing is the generation's business: the object itself is fine. */
  if ((m = load_ok(fixture("init_fails"), "init_fails")) != NULL)
    hw__module_unload(m);
  if ((m = load_ok(module("hello"), "hello")) != NULL)
    hw__module_unload(m);
  if ((m = load_ok(module("echo"), "echo")) != NULL)
    hw__module_unload(m);
  if ((m = load_ok(module("delay"), "delay")) != NULL) {
    ok(m->desc->abort != NULL, "delay: provides the optional abort");
    hw__module_unload(m);
  }

  m = load_ok(fixture("behave"), "behave");
  if (m != NULL) {
    /* A second load of the same file is independent of the first. */
    again = NULL;
    ok(hw__module_load(fixture("behave"), &again, err, sizeof(err)) == 0,
       "behave: loads a second time while loaded");
    ok(again != NULL && again != m && again->desc == m->desc,
       "behave: a second hw__module sharing the descriptor");
    hw__module_unload(again);
    hw__module_unload(m);
  }
  hw__module_unload(NULL);
  ok(1, "unloading NULL is a no-op");
}

/*
 * Builds a generation from one route and returns its status; `err` gets
 * the message.  The config text is parsed by the real config reader, so
 * the route's config reaches init exactly as it would from a file.
 */
static int build(const char *dir, const char *module_file,
                 const char *route_config, char *err, size_t err_len) {
  char text[2048];
  char cfg_path[1100];
  hw__config *cfg = NULL;
  hw__generation *g = NULL;
  int r;

  snprintf(text, sizeof(text),
           "{\"listen\":[\"127.0.0.1:0\"],\"modules_dir\":\"%s/%s\","
           "\"routes\":[{\"prefix\":\"/x\",\"module\":\"%s\"%s%s}]}",
           builddir, dir, module_file, route_config ? ",\"config\":" : "",
           route_config ? route_config : "");
  snprintf(cfg_path, sizeof(cfg_path), "%s/tests/test_module.json", builddir);
  err[0] = '\0';
  r = hw__config_parse(text, strlen(text), cfg_path, &cfg, err, err_len);
  if (r != 0) {
    diag("config rejected: %s", err);
    return r;
  }
  r = hw__generation_build(cfg, 1, &hw__host, &g, err, err_len);
  if (r == 0) {
    ok(g != NULL && g->nroutes == 1 && g->routes[0].inited,
       "%s: generation has its route initialised", module_file);
    hw__generation_free(g);
  } else {
    ok(g == NULL, "%s: no generation on failure", module_file);
  }
  return r;
}

static void test_init(void) {
  char err[2048];
  int r;

  r = build("tests/fixtures", "init_fails" HWT_MODULE_EXT, NULL, err,
            sizeof(err));
  ok(r != 0, "init_fails: the generation is refused");
  contains(err, "init_fails" HWT_MODULE_EXT,
           "init_fails: message names the module");
  contains(err, "refusing to start", "init_fails: message has the reason");
  ok(strchr(err, '\n') == NULL, "init_fails: message is one line");
  diag("init_fails: %s", err);

  r = build("tests/fixtures", "behave" HWT_MODULE_EXT, NULL, err, sizeof(err));
  is_int(r, 0, "behave: builds without config");
  r = build("tests/fixtures", "behave" HWT_MODULE_EXT, "{\"name\":\"a\\\"b\"}",
            err, sizeof(err));
  is_int(r, 0, "behave: builds with a name");
  r = build("tests/fixtures", "behave" HWT_MODULE_EXT, "{\"nam\":\"x\"}", err,
            sizeof(err));
  ok(r != 0, "behave: unknown key refused");
  contains(err, "unknown key \"nam\"", "behave: message names the key");

  r = build("modules", "hello" HWT_MODULE_EXT, NULL, err, sizeof(err));
  is_int(r, 0, "hello: builds without config");
  r = build("modules", "hello" HWT_MODULE_EXT,
            "{\"body\":\"\\u00e9\\ud83d\\ude00\\n\",\"content_type\":\"a/b\"}",
            err, sizeof(err));
  is_int(r, 0, "hello: builds with escapes and both keys");
  r = build("modules", "hello" HWT_MODULE_EXT, "{\"x\":1}", err, sizeof(err));
  ok(r != 0, "hello: unknown key refused");
  contains(err, "unknown key \"x\"", "hello: message names the key");
  r = build("modules", "hello" HWT_MODULE_EXT, "{\"body\":1}", err,
            sizeof(err));
  ok(r != 0, "hello: non-string body refused");
  contains(err, "routes[0].config.body: expected a string, not an integer",
           "hello: message names the place and says why");
  ok(strchr(err, '\n') == NULL, "hello: message is one line");
  diag("hello: %s", err);
  r = build("modules", "hello" HWT_MODULE_EXT, "{\"content_type\":\"a\\rb\"}",
            err, sizeof(err));
  ok(r != 0, "hello: a CR in content_type refused");
  contains(err, "routes[0].config.content_type: not a valid field value",
           "hello: message names the place");
  r = build("modules", "hello" HWT_MODULE_EXT, "[]", err, sizeof(err));
  ok(r != 0, "hello: non-object config refused");
  contains(err, "routes[0].config: expected an object, not an array",
           "hello: message says why");

  r = build("modules", "echo" HWT_MODULE_EXT, "{}", err, sizeof(err));
  is_int(r, 0, "echo: builds with {}");
  r = build("modules", "echo" HWT_MODULE_EXT, "{\"pretty\":true}", err,
            sizeof(err));
  ok(r != 0, "echo: any key refused");
  contains(err, "unknown key \"pretty\"", "echo: message names the key");

  r = build("modules", "delay" HWT_MODULE_EXT, "{\"ms\":600000}", err,
            sizeof(err));
  is_int(r, 0, "delay: builds with ms=600000");
  r = build("modules", "delay" HWT_MODULE_EXT, "{\"ms\":600001}", err,
            sizeof(err));
  ok(r != 0, "delay: ms above 600000 refused");
  contains(err, "routes[0].config.ms: must be from 0 to 600000",
           "delay: message names the key and the range");
  r = build("modules", "delay" HWT_MODULE_EXT, "{\"ms\":1.5}", err,
            sizeof(err));
  ok(r != 0, "delay: fractional ms refused");
  contains(err, "routes[0].config.ms: expected an integer, not a number",
           "delay: message names the key and the type");
  r = build("modules", "delay" HWT_MODULE_EXT, "{\"sec\":1}", err, sizeof(err));
  ok(r != 0, "delay: unknown key refused");
  contains(err, "unknown key \"sec\"", "delay: message names the key");
}

int main(void) {
  builddir = getenv("HW_BUILDDIR");
  if (builddir == NULL || builddir[0] == '\0')
    builddir = ".";
  diag("HW_BUILDDIR=%s", builddir);

  test_refusals();
  test_accepted();
  test_init();
  return done_testing();
}
