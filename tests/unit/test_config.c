/*
 * test_config.c - unit tests of config.c: every validation error names the
 * file and the key, and good configs come out resolved.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_write.h"
#include "portable.h"
#include "tap.h"

static char dir[160]; /* (room for it in the 512 of the texts below) */
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

/* As bad(), and the whole message is "<file>: " followed by `tail`. */
static void bad_exact(const char *name, const char *json, const char *tail) {
  char err[1024] = "", want[1024];
  hw__config *cfg = NULL;
  int r = hw__config_parse(json, strlen(json), cfgpath, &cfg, err, sizeof(err));
  ok(r < 0 && cfg == NULL, "%s: refused", name);
  snprintf(want, sizeof(want), "%s: %s", cfgpath, tail);
  is_str(err, want, name);
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

  snprintf(dir, sizeof(dir), "%s/hw-config-test-XXXXXX", hwt_tmp());
  if (hwt_mkdtemp(dir) == NULL)
    return 1;
  snprintf(cfgpath, sizeof(cfgpath), "%s/routes.json", dir);
  snprintf(path, sizeof(path), "%s/mods", dir);
  hwt_mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/mods/m.so", dir);
  write_file(path, "not really a module; config.c only checks it exists");
  snprintf(path, sizeof(path), "%s/mods/sub.so", dir);
  hwt_mkdir(path, 0755);

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

  /* "http2": RFC 9113's SETTINGS values, each in its range. */
  bad_exact("http2 not an object", "{\"http2\":true}",
            "http2: must be an object, not a boolean");
  bad_exact("http2 unknown key", "{\"http2\":{\"max_streams\":10}}",
            "http2.max_streams: unknown key");
  bad_exact("http2 SETTINGS name is not a key",
            "{\"http2\":{\"SETTINGS_MAX_FRAME_SIZE\":16384}}",
            "http2.SETTINGS_MAX_FRAME_SIZE: unknown key");
  bad_exact("http2.max_concurrent_streams 0",
            "{\"http2\":{\"max_concurrent_streams\":0}}",
            "http2.max_concurrent_streams: must be an integer from 1 to "
            "1000000 (streams)");
  bad_exact("http2.max_concurrent_streams past 1000000",
            "{\"http2\":{\"max_concurrent_streams\":1000001}}",
            "http2.max_concurrent_streams: must be an integer from 1 to "
            "1000000 (streams)");
  bad_exact("http2.max_concurrent_streams a string",
            "{\"http2\":{\"max_concurrent_streams\":\"128\"}}",
            "http2.max_concurrent_streams: must be an integer from 1 to "
            "1000000 (streams)");
  bad_exact("http2.initial_window_size 0",
            "{\"http2\":{\"initial_window_size\":0}}",
            "http2.initial_window_size: must be an integer from 1 to "
            "2147483647 (bytes)");
  bad_exact("http2.initial_window_size 2^31",
            "{\"http2\":{\"initial_window_size\":2147483648}}",
            "http2.initial_window_size: must be an integer from 1 to "
            "2147483647 (bytes)");
  bad_exact("http2.initial_window_size a number",
            "{\"http2\":{\"initial_window_size\":65535.0}}",
            "http2.initial_window_size: must be an integer from 1 to "
            "2147483647 (bytes)");
  bad_exact("http2.max_frame_size 16383",
            "{\"http2\":{\"max_frame_size\":16383}}",
            "http2.max_frame_size: must be an integer from 16384 to "
            "16777215 (bytes)");
  bad_exact("http2.max_frame_size 2^24",
            "{\"http2\":{\"max_frame_size\":16777216}}",
            "http2.max_frame_size: must be an integer from 16384 to "
            "16777215 (bytes)");
  bad_exact("http2.max_frame_size null",
            "{\"http2\":{\"max_frame_size\":null}}",
            "http2.max_frame_size: must be an integer from 16384 to "
            "16777215 (bytes)");
  bad_exact("http2.max_header_list_size negative",
            "{\"http2\":{\"max_header_list_size\":-1}}",
            "http2.max_header_list_size: must be an integer from 0 to "
            "2147483647 (bytes, 0 for limits.header_bytes)");
  bad_exact("http2.max_header_list_size 2^31",
            "{\"http2\":{\"max_header_list_size\":2147483648}}",
            "http2.max_header_list_size: must be an integer from 0 to "
            "2147483647 (bytes, 0 for limits.header_bytes)");
  bad_exact("http2.max_header_list_size a boolean",
            "{\"http2\":{\"max_header_list_size\":false}}",
            "http2.max_header_list_size: must be an integer from 0 to "
            "2147483647 (bytes, 0 for limits.header_bytes)");
  bad_exact("timeouts_ms.head 0 (the same parser)",
            "{\"timeouts_ms\":{\"head\":0}}",
            "timeouts_ms.head: must be an integer from 1 to 86400000 "
            "(milliseconds)");
  bad_exact("timeouts_ms unknown key", "{\"timeouts_ms\":{\"idle\":5}}",
            "timeouts_ms.idle: unknown key");
  bad_exact("timeouts_ms.drain_notice negative",
            "{\"health_route\":\"/h\",\"timeouts_ms\":{\"drain_notice\":-1}}",
            "timeouts_ms.drain_notice: must be an integer from 0 to 86400000 "
            "(milliseconds)");
  bad_exact("timeouts_ms.drain_notice without health_route",
            "{\"timeouts_ms\":{\"drain_notice\":3000}}",
            "timeouts_ms.drain_notice: needs \"health_route\" (the path that "
            "answers 503 during the notice)");
  bad_exact("health_route not a string", "{\"health_route\":true}",
            "health_route: must be a path string such as \"/health\"");
  bad_exact("health_route without '/'", "{\"health_route\":\"health\"}",
            "health_route: must start with '/'");
  bad_exact("health_route with a query", "{\"health_route\":\"/h?x=1\"}",
            "health_route: must not contain spaces, control characters, '?' "
            "or '#'");
  bad_exact("limits.body_min_rate negative",
            "{\"limits\":{\"body_min_rate\":-1}}",
            "limits.body_min_rate: must be a non-negative integer (bytes per "
            "second, 0 for none)");

  /* A listen entry's "http2", alone and with "tls" (whose "alpn" it must
   * agree with). */
  bad_exact("listen http2 not a boolean",
            "{\"listen\":[{\"address\":\"127.0.0.1:1\",\"http2\":1}]}",
            "listen[0].http2: must be true or false, not an integer");
  bad_exact("listen http2 a string",
            "{\"listen\":[\"127.0.0.1:1\",{\"address\":\"127.0.0.1:2\","
            "\"http2\":\"yes\"}]}",
            "listen[1].http2: must be true or false, not a string");
  bad_exact("listen entry unknown key",
            "{\"listen\":[{\"address\":\"127.0.0.1:1\",\"h2c\":true}]}",
            "listen[0].h2c: unknown key (address, tls, http2, proxy_protocol, "
            "proxy_from)");
  bad_exact("listen http2 true, alpn without h2",
            "{\"listen\":[{\"address\":\"127.0.0.1:1\",\"http2\":true,"
            "\"tls\":{\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
            "\"alpn\":[\"http/1.1\"]}}]}",
            "listen[0].http2: true, but listen[0].tls.alpn does not offer "
            "\"h2\" (add it, or leave alpn out for [\"h2\", \"http/1.1\"])");
  bad_exact("listen http2 false, alpn with h2",
            "{\"listen\":[\"127.0.0.1:1\",{\"address\":\"127.0.0.1:2\","
            "\"tls\":{\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
            "\"alpn\":[\"http/1.1\",\"h2\"]},\"http2\":false}]}",
            "listen[1].http2: false, but listen[1].tls.alpn offers \"h2\" "
            "(HTTP/2)");
  bad_exact("listen alpn h3",
            "{\"listen\":[{\"address\":\"127.0.0.1:1\",\"tls\":{"
            "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
            "\"alpn\":[\"h2\",\"h3\"]}}]}",
            "listen[0].tls.alpn[1]: \"h3\" is not a protocol this server "
            "speaks (\"h2\", \"http/1.1\")");
  bad_exact("listen alpn h2 twice",
            "{\"listen\":[{\"address\":\"127.0.0.1:1\",\"tls\":{"
            "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
            "\"alpn\":[\"h2\",\"http/1.1\",\"h2\"]}}]}",
            "listen[0].tls.alpn[2]: \"h2\" is named twice");
  bad_exact("listen alpn empty",
            "{\"listen\":[{\"address\":\"127.0.0.1:1\",\"http2\":true,"
            "\"tls\":{\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
            "\"alpn\":[]}}]}",
            "listen[0].tls.alpn: must be a non-empty array of protocol names "
            "(\"h2\", \"http/1.1\")");

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
    is_int((long long)cfg->h2_max_streams, 128,
           "default http2.max_concurrent_streams 128");
    is_int((long long)cfg->h2_window, 65535,
           "default http2.initial_window_size 65535 (RFC 9113's)");
    is_int((long long)cfg->h2_max_frame, 16384,
           "default http2.max_frame_size 16384 (RFC 9113's)");
    is_int((long long)cfg->h2_max_header_list, 0,
           "default http2.max_header_list_size 0: limits.header_bytes");
    is_int((long long)cfg->timeout_head_ms, 10000, "default timeouts_ms.head");
    is_int((long long)cfg->drain_notice_ms, 0, "default drain_notice 0: off");
    ok(cfg->health_route == NULL, "default: no health_route");
    is_int((long long)cfg->limit_body_min_rate, 500,
           "default limits.body_min_rate");
    is_int((long long)cfg->tls[0].http2, 0,
           "the default listen address: HTTP/1.1 only");
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

  /* Every http2 key at both ends of its range, and back through the
   * snapshot config_write makes. */
  {
    static const char *const ends[][2] = {
        {"{\"http2\":{\"max_concurrent_streams\":1,\"initial_window_size\":1,"
         "\"max_frame_size\":16384,\"max_header_list_size\":0}}",
         "lowest"},
        {"{\"http2\":{\"max_concurrent_streams\":1000000,"
         "\"initial_window_size\":2147483647,\"max_frame_size\":16777215,"
         "\"max_header_list_size\":2147483647}}",
         "highest"}};
    static const unsigned long long want[][4] = {
        {1, 1, 16384, 0}, {1000000, 2147483647, 16777215, 2147483647}};
    for (size_t i = 0; i < 2; i++) {
      char t[128];
      snprintf(t, sizeof(t), "http2 keys at their %s", ends[i][1]);
      cfg = good(t, ends[i][0]);
      if (cfg == NULL)
        continue;
      ok(cfg->h2_max_streams == want[i][0] && cfg->h2_window == want[i][1] &&
             cfg->h2_max_frame == want[i][2] &&
             cfg->h2_max_header_list == want[i][3],
         "%s: each read into its field", t);
      hw__config_free(cfg);
    }
  }
  cfg = good("http2 with some keys",
             "{\"limits\":{\"header_bytes\":9000},\"http2\":{"
             "\"max_concurrent_streams\":100,\"max_header_list_size\":32768}}");
  if (cfg != NULL) {
    char *text = hw__config_write_json(cfg);
    hw__config *back = NULL;
    is_int((long long)cfg->h2_max_streams, 100, "max_concurrent_streams read");
    is_int((long long)cfg->h2_window, 65535, "initial_window_size defaulted");
    is_int((long long)cfg->h2_max_header_list, 32768,
           "max_header_list_size read, not tied to header_bytes");
    ok(text != NULL && strstr(text, "\"http2\": {") != NULL &&
           strstr(text, "\"max_concurrent_streams\": 100") != NULL &&
           strstr(text, "\"initial_window_size\": 65535") != NULL &&
           strstr(text, "\"max_frame_size\": 16384") != NULL &&
           strstr(text, "\"max_header_list_size\": 32768") != NULL,
       "config_write writes the http2 object, every key's value in force");
    ok(text != NULL && hw__config_parse(text, strlen(text), cfgpath, &back,
                                        err, sizeof(err)) == 0,
       "the snapshot parses");
    ok(back != NULL && back->h2_max_streams == 100 &&
           back->h2_window == 65535 && back->h2_max_frame == 16384 &&
           back->h2_max_header_list == 32768 &&
           back->limit_header_bytes == 9000,
       "every http2 key survives the round trip");
    hw__config_free(back);
    free(text);
  }
  hw__config_free(cfg);
  cfg = good("drain notice and health route",
             "{\"health_route\":\"/health\","
             "\"timeouts_ms\":{\"drain_notice\":2500}}");
  if (cfg != NULL) {
    char *text = hw__config_write_json(cfg);
    hw__config *back = NULL;
    is_int((long long)cfg->drain_notice_ms, 2500, "drain_notice read");
    is_str(cfg->health_route, "/health", "health_route read");
    is_int((long long)cfg->health_len, 7, "health_route's length");
    ok(text != NULL && hw__config_parse(text, strlen(text), cfgpath, &back,
                                        err, sizeof(err)) == 0 &&
           back->drain_notice_ms == 2500 && back->health_route != NULL &&
           strcmp(back->health_route, "/health") == 0,
       "drain_notice and health_route survive the snapshot");
    hw__config_free(back);
    free(text);
  }
  hw__config_free(cfg);
  cfg = good("health_route alone (the notice off)",
             "{\"health_route\":\"/\"}");
  if (cfg != NULL) {
    is_int((long long)cfg->drain_notice_ms, 0, "default drain_notice: 0, off");
    is_str(cfg->health_route, "/", "health_route \"/\" read");
  }
  hw__config_free(cfg);
  cfg = good("http2 absent", "{}");
  if (cfg != NULL) {
    char *text = hw__config_write_json(cfg);
    hw__config *back = NULL;
    ok(text != NULL && strstr(text, "\"max_header_list_size\": 0") != NULL,
       "the snapshot keeps max_header_list_size 0 (limits.header_bytes)");
    ok(text != NULL &&
           hw__config_parse(text, strlen(text), cfgpath, &back, err,
                            sizeof(err)) == 0 &&
           back->h2_max_streams == 128 && back->h2_window == 65535 &&
           back->h2_max_frame == 16384 && back->h2_max_header_list == 0,
       "the defaults survive the round trip");
    hw__config_free(back);
    free(text);
  }
  hw__config_free(cfg);

  /* Which listeners speak HTTP/2, and what ALPN then offers. */
  cfg = good("listen entries with and without http2",
             "{\"listen\":[\"127.0.0.1:8080\","
             "{\"address\":\"127.0.0.1:8081\",\"http2\":true},"
             "{\"address\":\"127.0.0.1:8082\",\"http2\":false},"
             "{\"address\":\"127.0.0.1:8443\",\"http2\":true,\"tls\":{"
             "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}]}},"
             "{\"address\":\"127.0.0.1:8444\",\"tls\":{"
             "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}]}},"
             "{\"address\":\"127.0.0.1:8445\",\"tls\":{"
             "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
             "\"alpn\":[\"http/1.1\",\"h2\"]}},"
             "{\"address\":\"127.0.0.1:8446\",\"http2\":true,\"tls\":{"
             "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
             "\"alpn\":[\"h2\"]}},"
             "{\"address\":\"127.0.0.1:8447\",\"http2\":false,\"tls\":{"
             "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}],"
             "\"alpn\":[\"http/1.1\"]}}]}");
  if (cfg != NULL && cfg->nlisten == 8) {
    const hw__config_tls *t = cfg->tls;
    char *text = hw__config_write_json(cfg);
    hw__config *back = NULL, *next = NULL;
    hw__config_tls copy;
    ok(!t[0].http2 && t[0].ncerts == 0, "a string entry: HTTP/1.1 only");
    ok(t[1].http2 && t[1].ncerts == 0 && t[1].nalpn == 0,
       "a plain entry with http2 true: h2c by prior knowledge");
    ok(!t[2].http2 && t[2].ncerts == 0, "http2 false: HTTP/1.1 only");
    ok(t[3].http2 && t[3].nalpn == 2 && strcmp(t[3].alpn[0], "h2") == 0 &&
           strcmp(t[3].alpn[1], "http/1.1") == 0,
       "TLS, http2 true, no alpn: alpn [\"h2\", \"http/1.1\"]");
    ok(!t[4].http2 && t[4].nalpn == 1 && strcmp(t[4].alpn[0], "http/1.1") == 0,
       "TLS without http2: alpn [\"http/1.1\"], HTTP/1.1 only");
    ok(t[5].http2 && t[5].nalpn == 2 && strcmp(t[5].alpn[0], "http/1.1") == 0,
       "an alpn with h2 sets http2 (and keeps the user's order)");
    ok(t[6].http2 && t[6].nalpn == 1, "alpn [\"h2\"] alone, with http2 true");
    ok(!t[7].http2 && t[7].nalpn == 1, "http2 false, alpn without h2");
    ok(text != NULL && strstr(text, "\"127.0.0.1:8080\",") != NULL &&
           strstr(text, "\"127.0.0.1:8082\",") != NULL,
       "config_write: HTTP/1.1-only plain entries stay strings");
    ok(hw__config_listen_copy(&copy, &t[1]) == 0 && copy.http2 &&
           copy.ncerts == 0,
       "hw__config_listen_copy keeps a plain listener's http2");
    hw__config_listen_free(&copy);
    ok(text != NULL && hw__config_parse(text, strlen(text), cfgpath, &back,
                                        err, sizeof(err)) == 0 &&
           back->nlisten == 8,
       "the snapshot with http2 listeners parses");
    if (back != NULL && back->nlisten == 8) {
      int same = 1;
      for (size_t i = 0; i < 8; i++) {
        same &= back->tls[i].http2 == t[i].http2 &&
                back->tls[i].ncerts == t[i].ncerts &&
                back->tls[i].nalpn == t[i].nalpn;
        for (size_t j = 0; same && j < t[i].nalpn; j++)
          same &= strcmp(back->tls[i].alpn[j], t[i].alpn[j]) == 0;
      }
      ok(same, "every listener's http2 and alpn survive the round trip");
    }
    /* A reload keeps the addresses: each one's http2 comes from the new
     * file, or, for an address it no longer names, stays as it started
     * (--listen, which passes no tls, gives a new address plain HTTP/1.1). */
    next = good("a reloaded file naming one address",
                "{\"listen\":[{\"address\":\"127.0.0.1:8443\",\"tls\":{"
                "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}]}}]}");
    if (next != NULL) {
      ok(hw__config_keep_listen(next, cfg->listen, cfg->tls, cfg->nlisten) ==
                 7 &&
             next->nlisten == 8,
         "keep_listen: seven addresses the new file does not name");
      ok(next->nlisten == 8 && next->tls[1].http2 &&
             next->tls[1].ncerts == 0 && !next->tls[0].http2 &&
             next->tls[6].http2 && next->tls[6].nalpn == 1,
         "an address no longer named keeps its http2");
      ok(next->nlisten == 8 && !next->tls[3].http2 &&
             next->tls[3].nalpn == 1,
         "an address named again takes the new file's (no http2)");
    }
    hw__config_free(next);
    {
      hw__config_listen two[2];
      ok(hw__listen_parse("127.0.0.1:8081", &two[0], err, sizeof(err)) == 0 &&
             hw__listen_parse("127.0.0.1:9999", &two[1], err, sizeof(err)) ==
                 0 &&
             hw__config_keep_listen(back, two, NULL, 2) == 1 &&
             back->tls[0].http2 && !back->tls[1].http2,
         "--listen: a named address keeps http2, a new one is HTTP/1.1");
    }
    hw__config_free(back);
    free(text);
  }
  hw__config_free(cfg);

  /* "proxy_protocol" and "proxy_from" (the balancers trusted to send it). */
#define LP(x) "{\"listen\":[{\"address\":\"127.0.0.1:1\"," x "}]}"
  bad_exact("proxy_protocol an integer", LP("\"proxy_protocol\":1"),
            "listen[0].proxy_protocol: must be true or false, not an integer");
  bad_exact("proxy_protocol without proxy_from", LP("\"proxy_protocol\":true"),
            "listen[0].proxy_from: missing: with proxy_protocol, name the "
            "balancers that may send the header (e.g. [\"127.0.0.1/32\"])");
  bad_exact("proxy_from without proxy_protocol",
            LP("\"proxy_from\":[\"10.0.0.0/8\"]"),
            "listen[0].proxy_from: only with \"proxy_protocol\": true");
  bad_exact("proxy_from with proxy_protocol false",
            LP("\"proxy_protocol\":false,\"proxy_from\":[\"10.0.0.0/8\"]"),
            "listen[0].proxy_from: only with \"proxy_protocol\": true");
#define FROM_SHAPE                                                             \
  "listen[0].proxy_from: must be an array of 1 to 256 address ranges "        \
  "(\"10.0.0.0/8\", \"::1\"), the balancers that may send a PROXY header"
  bad_exact("proxy_from empty",
            LP("\"proxy_protocol\":true,\"proxy_from\":[]"), FROM_SHAPE);
  bad_exact("proxy_from a string",
            LP("\"proxy_protocol\":true,\"proxy_from\":\"10.0.0.0/8\""),
            FROM_SHAPE);
  bad_exact("proxy_from an integer element",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"::1\",1]"),
            "listen[0].proxy_from[1]: must be a string, not an integer");
  bad_exact("proxy_from a bad IPv4 address",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"10.0.0.300/8\"]"),
            "listen[0].proxy_from[0]: \"10.0.0.300/8\": not a numeric IPv4 "
            "or IPv6 address");
  bad_exact("proxy_from a host name",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"localhost\"]"),
            "listen[0].proxy_from[0]: \"localhost\": not a numeric IPv4 or "
            "IPv6 address");
  bad_exact("proxy_from an IPv4 prefix past 32",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"10.0.0.0/33\"]"),
            "listen[0].proxy_from[0]: \"10.0.0.0/33\": prefix length must be "
            "0-32");
  bad_exact("proxy_from an IPv6 prefix past 128",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"::/129\"]"),
            "listen[0].proxy_from[0]: \"::/129\": prefix length must be "
            "0-128");
  bad_exact("proxy_from a prefix that is not a number",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"10.0.0.0/x\"]"),
            "listen[0].proxy_from[0]: \"10.0.0.0/x\": prefix length must be "
            "0-32");
  bad_exact("proxy_from an empty prefix",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"10.0.0.0/\"]"),
            "listen[0].proxy_from[0]: \"10.0.0.0/\": prefix length must be "
            "0-32");
  bad_exact("proxy_from an empty string",
            LP("\"proxy_protocol\":true,\"proxy_from\":[\"\"]"),
            "listen[0].proxy_from[0]: \"\": expected ADDRESS or "
            "ADDRESS/BITS");
#undef FROM_SHAPE
#undef LP
  cfg = good("PROXY listeners: plain, with http2, with TLS",
             "{\"listen\":[\"127.0.0.1:8080\","
             "{\"address\":\"127.0.0.1:8081\",\"proxy_protocol\":true,"
             "\"proxy_from\":[\"127.0.0.1\",\"10.1.2.3/8\",\"::1\","
             "\"2001:db8::/32\"]},"
             "{\"address\":\"127.0.0.1:8082\",\"http2\":true,"
             "\"proxy_protocol\":true,\"proxy_from\":[\"0.0.0.0/0\"]},"
             "{\"address\":\"127.0.0.1:8443\",\"proxy_protocol\":true,"
             "\"proxy_from\":[\"192.168.0.0/16\"],\"tls\":{"
             "\"certificates\":[{\"cert\":\"c\",\"key\":\"k\"}]}}]}");
  if (cfg != NULL && cfg->nlisten == 4) {
    const hw__config_tls *t = cfg->tls;
    char *text = hw__config_write_json(cfg);
    hw__config *back = NULL;
    hw__config_tls copy;
    ok(!t[0].proxy && t[0].nproxy_from == 0, "a string entry: no PROXY");
    ok(t[1].proxy && t[1].nproxy_from == 4 && !t[1].http2,
       "proxy_protocol true with four ranges");
    ok(t[2].proxy && t[2].http2 && t[3].proxy && t[3].ncerts == 1,
       "proxy_protocol beside http2 and beside tls");
    ok(text != NULL && strstr(text, "\"proxy_protocol\": true") != NULL &&
           strstr(text, "\"127.0.0.1/32\"") != NULL &&
           strstr(text, "\"10.0.0.0/8\"") != NULL &&
           strstr(text, "\"::1/128\"") != NULL &&
           strstr(text, "\"2001:db8::/32\"") != NULL &&
           strstr(text, "10.1.2.3") == NULL,
       "config_write writes the ranges, host bits cleared");
    ok(hw__config_listen_copy(&copy, &t[1]) == 0 && copy.proxy &&
           copy.nproxy_from == 4 &&
           memcmp(copy.proxy_from, t[1].proxy_from,
                  4 * sizeof(*copy.proxy_from)) == 0,
       "hw__config_listen_copy copies the ranges");
    hw__config_listen_free(&copy);
    ok(text != NULL &&
           hw__config_parse(text, strlen(text), cfgpath, &back, err,
                            sizeof(err)) == 0 &&
           back->nlisten == 4 && back->tls[1].proxy &&
           back->tls[1].nproxy_from == 4 && back->tls[2].proxy &&
           back->tls[2].http2 && back->tls[3].proxy &&
           back->tls[3].ncerts == 1 && !back->tls[0].proxy &&
           memcmp(back->tls[1].proxy_from, t[1].proxy_from,
                  4 * sizeof(*t[1].proxy_from)) == 0,
       "every listener's PROXY settings survive the round trip");
    hw__config_free(back);
    free(text);
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
