/*
 * test_target.c - unit tests of the request-target and the host
 * (server/target.c): the forms of a target, the bytes it may hold, the
 * decoding and normalising of its path, and the grammar of a host.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "target.h"

/* Parses `target` as a message's; returns the status, and the path, query
 * and host (NUL-terminated copies) in `out`. */
typedef struct parsed {
  int status, asterisk;
  char path[256], query[256], host[256];
} parsed;

static parsed parse(const char *target) {
  hw__message m;
  parsed p;
  memset(&m, 0, sizeof(m));
  memset(&p, 0, sizeof(p));
  hw__buf_append(&m.head, target, strlen(target));
  m.target.off = 0;
  m.target.len = (uint32_t)strlen(target);
  p.status = hw__target_parse(&m);
  p.asterisk = m.asterisk;
  if (p.status == 0) {
    memcpy(p.path, m.head.data + m.path.off, m.path.len);
    memcpy(p.query, m.head.data + m.query.off, m.query.len);
    memcpy(p.host, m.head.data + m.host.off, m.host.len);
  }
  hw__buf_free(&m.head);
  return p;
}

static void test_targets(void) {
  static const struct {
    const char *target, *path, *query, *host;
    int status;
  } cases[] = {
      {"/a/b?q=1", "/a/b", "q=1", "", 0},
      {"/a/./b/../c", "/a/c", "", "", 0},
      {"/a/%2e%2E/b", "/b", "", "", 0},
      {"/%41%42", "/AB", "", "", 0},
      {"/a/..", "/", "", "", 0},
      {"/a/.", "/a/", "", "", 0},
      {"/?%zz", "/", "%zz", "", 0},
      {"/:@!$&'()*+,;=[]-._~?/?", "/:@!$&'()*+,;=[]-._~", "/?", "", 0},
      {"http://a.example/x?y", "/x", "y", "a.example", 0},
      {"http://a.example:81", "/", "", "a.example:81", 0},
      {"http://[::1]:80/x", "/x", "", "[::1]:80", 0},
      {"*", "*", "", "", 0},
      {"/../a", NULL, NULL, NULL, 400},
      {"/%2e%2e/a", NULL, NULL, NULL, 400},
      {"/a%00", NULL, NULL, NULL, 400},
      {"/a%4", NULL, NULL, NULL, 400},
      {"/a%g0", NULL, NULL, NULL, 400},
      {"/a#f", NULL, NULL, NULL, 400},
      {"/a?b#f", NULL, NULL, NULL, 400},
      {"/a\\b", NULL, NULL, NULL, 400},
      {"/a{b}", NULL, NULL, NULL, 400},
      {"/a?|", NULL, NULL, NULL, 400},
      {"/a\"", NULL, NULL, NULL, 400},
      {"/<>", NULL, NULL, NULL, 400},
      {"/^`", NULL, NULL, NULL, 400},
      {"a/b", NULL, NULL, NULL, 400},
      {"*x", NULL, NULL, NULL, 400},
      {"http:///x", NULL, NULL, NULL, 400},
      {"http://u@h/x", NULL, NULL, NULL, 400},
      {"http://h:8o/x", NULL, NULL, NULL, 400},
      {"http://h#/x", NULL, NULL, NULL, 400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    parsed p = parse(cases[i].target);
    if (cases[i].status != 0) {
      ok(p.status == cases[i].status, "%s: refused (%d)", cases[i].target,
         cases[i].status);
      continue;
    }
    ok(p.status == 0 && strcmp(p.path, cases[i].path) == 0 &&
           strcmp(p.query, cases[i].query) == 0 &&
           strcmp(p.host, cases[i].host) == 0,
       "%s: path %s, query %s, host %s", cases[i].target, cases[i].path,
       cases[i].query, cases[i].host);
    if (p.status != 0 || strcmp(p.path, cases[i].path) != 0)
      diag("got status %d, path %s, query %s, host %s", p.status, p.path,
           p.query, p.host);
  }
  ok(parse("*").asterisk, "* is the asterisk-form");
}

static void test_hosts(void) {
  static const struct {
    const char *host;
    int ok;
  } cases[] = {
      {"", 1},
      {"example.com", 1},
      {"example.com:8080", 1},
      {"example.com:", 1},
      {"127.0.0.1:80", 1},
      {"a_b-c~d.e", 1},
      {"a%41b", 1},
      {"!$&'()*+,;=", 1},
      {"[::1]", 1},
      {"[::1]:80", 1},
      {"[2001:db8::7]:443", 1},
      {"[::ffff:1.2.3.4]", 1},
      {"[v1.fe:x]", 1},
      {"example.com:abc", 0},
      {"example.com:80x", 0},
      {":80x", 0},
      {"a:1:2", 0},
      {"[::1", 0},
      {"[::1]x", 0},
      {"[::1]:8o", 0},
      {"[1.2.3.4]", 0},
      {"[::g]", 0},
      {"[v.x]", 0},
      {"[v1.]", 0},
      {"a[b]", 0},
      {"a%4", 0},
      {"a%zz", 0},
      {"u@h", 0},
      {"h/x", 0},
      {"h x", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    ok(hw__target_host_ok(cases[i].host, (uint32_t)strlen(cases[i].host)) ==
           cases[i].ok,
       "host \"%s\": %s", cases[i].host, cases[i].ok ? "valid" : "invalid");
}

int main(void) {
  test_targets();
  test_hosts();
  return done_testing();
}
