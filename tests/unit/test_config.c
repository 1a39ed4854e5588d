/*
 * test_config.c - unit tests of config.c: every validation error names the
 * file and the key, and good configs come out resolved.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_write.h"
#include "tap.h"

static char dir[256];
static char cfgpath[512];

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f != NULL) {
    fputs(text, f);
    fclose(f);
  }
}

/* Parses `json` as if read from cfgpath; expects an error containing each
 * of the given fragments (the file name is always expected). */
static void bad(const char *name, const char *json, const char *frag1,
                const char *frag2) {
  char err[1024] = "";
  hw__config *cfg = NULL;
  int r = hw__config_parse(json, strlen(json), cfgpath, &cfg, err, sizeof(err));
  char t[256];

  snprintf(t, sizeof(t), "%s: refused", name);
  ok(r < 0 && cfg == NULL, "%s", t);
  snprintf(t, sizeof(t), "%s: names the file", name);
  contains(err, cfgpath, t);
  snprintf(t, sizeof(t), "%s: says \"%s\"", name, frag1);
  contains(err, frag1, t);
  if (frag2 != NULL) {
    snprintf(t, sizeof(t), "%s: says \"%s\"", name, frag2);
    contains(err, frag2, t);
  }
  ok(strchr(err, '\n') == NULL, "%s: one line", name);
  hw__config_free(cfg);
}

static hw__config *good(const char *name, const char *json) {
  char err[1024] = "";
  hw__config *cfg = NULL;
  int r = hw__config_parse(json, strlen(json), cfgpath, &cfg, err, sizeof(err));
  ok(r == 0 && cfg != NULL, "%s: accepted", name);
  if (r != 0)
    diag("error: %s", err);
  return cfg;
}

#define R(x) "{\"modules_dir\":\"mods\",\"routes\":[" x "]}"

int main(void) {
  char path[512], err[1024];
  hw__config *cfg;
  hw__config_listen l;

  strcpy(dir, "/tmp/hw-config-test-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return 1;
  snprintf(cfgpath, sizeof(cfgpath), "%s/routes.json", dir);
  snprintf(path, sizeof(path), "%s/mods", dir);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/mods/m.so", dir);
  write_file(path, "not really a module; config.c only checks it exists");
  snprintf(path, sizeof(path), "%s/mods/sub.so", dir);
  mkdir(path, 0755);

  /* Syntax and top level. */
  bad("invalid JSON", "{\"listen\": [", "invalid JSON", ":1:");
  bad("duplicate JSON key", "{\"routes\":[],\"routes\":[]}", "invalid JSON",
      "duplicate");
  bad("top level not an object", "[1,2]", "(top level)", "object");
  bad("unknown key", "{\"lisen\":[\"127.0.0.1:1\"]}", "lisen", "unknown key");
  bad("listen not an array", "{\"listen\":\"127.0.0.1:80\"}", "listen",
      "array");
  bad("listen empty", "{\"listen\":[]}", "listen", "non-empty");
  bad("listen element not a string", "{\"listen\":[80]}", "listen[0]",
      "string");
  bad("listen port out of range", "{\"listen\":[\"127.0.0.1:70000\"]}",
      "listen[0]", "port");
  bad("listen host not numeric", "{\"listen\":[\"example.com:80\"]}",
      "listen[0]", "numeric");
  bad("listen bare IPv6", "{\"listen\":[\"::1:80\"]}", "listen[0]", "IPv6");
  bad("modules_dir not a string", "{\"modules_dir\":5}", "modules_dir",
      "string");
  bad("workers not a number", "{\"workers\":\"many\"}", "workers", "integer");
  bad("workers negative", "{\"workers\":-1}", "workers", "0 (single process)");
  bad("workers too many", "{\"workers\":100000}", "workers", "256");
  bad("limits not an object", "{\"limits\":5}", "limits", "object");
  bad("limits unknown key", "{\"limits\":{\"bodyy\":1}}", "limits.bodyy",
      "unknown");
  bad("limits.body negative", "{\"limits\":{\"body\":-1}}", "limits.body",
      "non-negative");
  bad("limits.body a string", "{\"limits\":{\"body\":\"1M\"}}", "limits.body",
      "integer");
  bad("limits.request_line negative", "{\"limits\":{\"request_line\":-1}}",
      "limits.request_line", "non-negative integer (bytes)");
  bad("limits.request_line a number", "{\"limits\":{\"request_line\":8.5}}",
      "limits.request_line", "integer");
  bad("limits.header_bytes a string",
      "{\"limits\":{\"header_bytes\":\"16k\"}}", "limits.header_bytes",
      "non-negative integer (bytes)");
  bad("limits.headers negative", "{\"limits\":{\"headers\":-5}}",
      "limits.headers", "non-negative integer (header fields)");
  bad("limits.headers null", "{\"limits\":{\"headers\":null}}",
      "limits.headers", "integer");
  bad("limits.connections negative", "{\"limits\":{\"connections\":-1}}",
      "limits.connections", "non-negative integer (connections)");
  bad("limits.backlog a boolean", "{\"limits\":{\"backlog\":true}}",
      "limits.backlog", "non-negative integer (connections)");
  bad("limits unknown key names it", "{\"limits\":{\"header\":1}}",
      "limits.header", "unknown key");

  /* Routes. */
  bad("routes not an array", "{\"routes\":{}}", "routes", "array");
  bad("route not an object", R("5"), "routes[0]", "object");
  bad("route unknown key",
      R("{\"prefix\":\"/a\",\"module\":\"m.so\",\"modul\":1}"),
      "routes[0].modul", "unknown key");
  bad("prefix missing", R("{\"module\":\"m.so\"}"), "routes[0].prefix",
      "missing");
  bad("prefix not a string", R("{\"prefix\":5,\"module\":\"m.so\"}"),
      "routes[0].prefix", "string");
  bad("prefix without slash", R("{\"prefix\":\"a\",\"module\":\"m.so\"}"),
      "routes[0].prefix", "start with '/'");
  bad("prefix trailing slash", R("{\"prefix\":\"/a/\",\"module\":\"m.so\"}"),
      "routes[0].prefix", "end with '/'");
  bad("prefix empty segment", R("{\"prefix\":\"/a//b\",\"module\":\"m.so\"}"),
      "routes[0].prefix", "empty segment");
  bad("prefix with query", R("{\"prefix\":\"/a?b\",\"module\":\"m.so\"}"),
      "routes[0].prefix", "'?'");
  bad("duplicate prefix",
      R("{\"prefix\":\"/a\",\"module\":\"m.so\"},"
        "{\"prefix\":\"/b\",\"module\":\"m.so\"},"
        "{\"prefix\":\"/a\",\"module\":\"m.so\"}"),
      "routes[2].prefix", "duplicate prefix \"/a\" (also routes[0])");
  bad("module missing", R("{\"prefix\":\"/a\"}"), "routes[0].module",
      "missing");
  bad("module not a string", R("{\"prefix\":\"/a\",\"module\":true}"),
      "routes[0].module", "string");
  bad("module relative path", R("{\"prefix\":\"/a\",\"module\":\"x/m.so\"}"),
      "routes[0].module", "file name");
  bad("module file missing",
      R("{\"prefix\":\"/a\",\"module\":\"m.so\"},"
        "{\"prefix\":\"/b\",\"module\":\"nope.so\"}"),
      "routes[1].module", "mods/nope.so: No such file");
  bad("module is a directory", R("{\"prefix\":\"/a\",\"module\":\"sub.so\"}"),
      "routes[0].module", "not a regular file");
  bad("absolute module missing",
      R("{\"prefix\":\"/a\",\"module\":\"/nonexistent/m.so\"}"),
      "routes[0].module", "/nonexistent/m.so");

  bad("thread_pool too small", "{\"thread_pool\":1}", "thread_pool",
      "from 2 to 1024");
  bad("thread_pool a string", "{\"thread_pool\":\"4\"}", "thread_pool",
      "integer");
  bad("route body mode unknown",
      R("{\"prefix\":\"/a\",\"module\":\"m.so\",\"body\":\"streams\"}"),
      "routes[0].body", "\"buffer\" or \"stream\"");
  bad("route body_limit zero",
      R("{\"prefix\":\"/a\",\"module\":\"m.so\",\"body_limit\":0}"),
      "routes[0].body_limit", "positive integer");

  /* Good configs. */
  cfg = good("streamed bodies and the pool",
             "{\"thread_pool\":8,\"modules_dir\":\"mods\",\"routes\":["
             "{\"prefix\":\"/u\",\"module\":\"m.so\",\"body\":\"stream\","
             "\"body_limit\":5000000000},"
             "{\"prefix\":\"/b\",\"module\":\"m.so\",\"body\":\"buffer\"}]}");
  if (cfg != NULL) {
    char *text = hw__config_write_json(cfg);
    hw__config *again = NULL;
    char err2[512];
    ok(cfg->thread_pool == 8 && cfg->routes[0].body_stream &&
           cfg->routes[0].body_limit == 5000000000u &&
           !cfg->routes[1].body_stream && cfg->routes[1].body_limit == 0,
       "thread_pool, routes[].body and body_limit read");
    ok(text != NULL &&
           hw__config_parse(text, strlen(text), cfg->path, &again, err2,
                            sizeof(err2)) == 0 &&
           again->thread_pool == 8 && again->routes[0].body_stream &&
           again->routes[0].body_limit == 5000000000u,
       "and written back for the workers' snapshot");
    hw__config_free(again);
    free(text);
  }
  hw__config_free(cfg);
  cfg = good("minimal config", "{}");
  if (cfg != NULL) {
    is_int((long long)cfg->nlisten, 1, "default: one listen address");
    is_str(cfg->listen[0].text, "127.0.0.1:8080", "default listen address");
    is_int((long long)cfg->limit_body, 1048576, "default body limit 1 MiB");
    is_int((long long)cfg->limit_request_line, 8192,
           "default request line limit 8192");
    is_int((long long)cfg->limit_header_bytes, 16384,
           "default header bytes limit 16384");
    is_int((long long)cfg->limit_headers, 100,
           "default header fields limit 100");
    is_int((long long)cfg->limit_connections, 10000,
           "default connections limit 10000");
    is_int((long long)cfg->limit_backlog, 4096, "default backlog 4096");
    is_int((long long)cfg->thread_pool, 4, "default thread_pool 4");
    is_str(cfg->modules_dir, dir, "default modules_dir is the config's dir");
    is_int((long long)cfg->nroutes, 0, "no routes");
  }
  hw__config_free(cfg);

  snprintf(
      path, sizeof(path),
      "{\"listen\":[\"127.0.0.1:8080\",\"[::1]:8081\",\"9000\"],"
      "\"modules_dir\":\"mods\",\"workers\":1,"
      "\"limits\":{\"body\":10,\"request_line\":0,\"header_bytes\":11,"
      "\"headers\":12,\"connections\":13,\"backlog\":14},\"routes\":["
      "{\"prefix\":\"/a\",\"module\":\"m.so\",\"config\":{\"k\":[1,\"v\"]}},"
      "{\"prefix\":\"/\",\"module\":\"m.so\",\"config\":7},"
      "{\"prefix\":\"/c\",\"module\":\"%s/mods/m.so\"}]}",
      dir);
  cfg = good("full config with absolute module", path);
  if (cfg != NULL) {
    char want[600];
    is_int((long long)cfg->nlisten, 3, "three listen addresses");
    is_int(cfg->listen[1].addr.ss_family, AF_INET6, "[::1] is IPv6");
    is_int(cfg->listen[2].addr.ss_family, AF_INET, "a bare port is IPv4");
    is_int((long long)cfg->limit_body, 10, "limits.body read");
    is_int((long long)cfg->limit_request_line, 0, "limits.request_line read");
    is_int((long long)cfg->limit_header_bytes, 11, "limits.header_bytes read");
    is_int((long long)cfg->limit_headers, 12, "limits.headers read");
    is_int((long long)cfg->limit_connections, 13, "limits.connections read");
    is_int((long long)cfg->limit_backlog, 14, "limits.backlog read");
    {
      /* The reload preflight reads the config back from this text. */
      char *text = hw__config_write_json(cfg);
      hw__config *back = NULL;
      ok(text != NULL && hw__config_parse(text, strlen(text), cfgpath, &back,
                                          err, sizeof(err)) == 0,
         "config written back as JSON parses");
      ok(back != NULL && back->limit_request_line == 0 &&
             back->limit_header_bytes == 11 && back->limit_headers == 12 &&
             back->limit_connections == 13 && back->limit_backlog == 14,
         "every limit survives the round trip");
      hw__config_free(back);
      free(text);
    }
    is_int((long long)cfg->nroutes, 3, "three routes");
    snprintf(want, sizeof(want), "%s/mods/m.so", dir);
    is_str(cfg->routes[0].module_path, want,
           "module resolved against modules_dir, relative to the config");
    is_str(cfg->routes[0].config_json, "{\"k\":[1,\"v\"]}",
           "route config passed on as compact JSON text");
    is_str(cfg->routes[1].config_json, "7", "a non-object config is text too");
    is_str(cfg->routes[2].config_json, "{}", "absent config is {}");
    is_str(cfg->routes[2].module_path, want, "absolute module path kept");
  }
  hw__config_free(cfg);

  /* Loading from a file. */
  write_file(cfgpath, "{\"listen\":[\"127.0.0.1:0\"]}");
  ok(hw__config_load(cfgpath, &cfg, err, sizeof(err)) == 0, "file loads");
  hw__config_free(cfg);
  snprintf(path, sizeof(path), "%s/missing.json", dir);
  ok(hw__config_load(path, &cfg, err, sizeof(err)) < 0, "missing file fails");
  contains(err, path, "missing file error names it");

  /* Listen addresses on their own (also used by --listen). */
  ok(hw__listen_parse("[::1]:0", &l, err, sizeof(err)) == 0,
     "[::1]:0 parses");
  ok(hw__listen_parse("*:80", &l, err, sizeof(err)) == 0, "*:80 parses");
  ok(hw__listen_parse("localhost:80", &l, err, sizeof(err)) == 0,
     "localhost:80 parses");
  ok(hw__listen_parse("1.2.3.4:", &l, err, sizeof(err)) < 0,
     "empty port fails");
  ok(hw__listen_parse("[::1]80", &l, err, sizeof(err)) < 0,
     "[::1]80 fails");

  unlink(cfgpath);
  snprintf(path, sizeof(path), "%s/mods/m.so", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/mods/sub.so", dir);
  rmdir(path);
  snprintf(path, sizeof(path), "%s/mods", dir);
  rmdir(path);
  rmdir(dir);
  return done_testing();
}
