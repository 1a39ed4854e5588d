/*
 * test_tls_plain.c - the answers to plain HTTP on a TLS port
 * (server/tls_plain.c): a 400 at once; a 308 to the https URL once the
 * head is whole, with the Host's name, this port (none for 443) and the
 * origin-form target; a 400 where the head cannot say where (no Host, two,
 * one with no name or bad bytes, an odd target, a head past 8 KiB); the
 * head's end found past a NUL and after a bare LF.
 */
#include "autoconf.h"

#include <string.h>

#include "tap.h"
#include "tls_plain.h"

static char out[HW__TLS_PLAIN_ANSWER];

static size_t answer(const char *head, int redirect, int port) {
  return hw__tls_plain_answer(head, strlen(head), redirect, port, out,
                              sizeof(out));
}

static int location_is(const char *head, int port, const char *want) {
  char line[512];
  const char *l;
  size_t n = answer(head, 1, port);
  if (n == 0 || strncmp(out, "HTTP/1.1 308 Permanent Redirect\r\n", 33) != 0 ||
      (l = strstr(out, "\r\nLocation: ")) == NULL)
    return 0;
  snprintf(line, sizeof(line), "\r\nLocation: %s\r\n", want);
  return strncmp(l, line, strlen(line)) == 0;
}

static int is_400(const char *head) {
  size_t n = answer(head, 1, 8443);
  return n > 0 && strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0 &&
         strstr(out, "Connection: close\r\n") != NULL;
}

int main(void) {
  static const char nul_head[] = "GET / HTTP/1.1\r\nX: \0\r\nHost: a\n\r\n";
  char big[HW__TLS_PLAIN_HEAD + 100];
  size_t n;

  n = answer("GET", 0, 8443);
  ok(n > 0 && strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0 &&
         strstr(out, "This port speaks HTTPS") != NULL &&
         strlen(out) == n,
     "400 mode: a 400 at once, saying why");
  ok(answer("GET / HTTP/1.1\r\nHost: a", 1, 8443) == 0,
     "redirect: a head not yet whole asks for more");
  ok(location_is("GET /a/b?c=d HTTP/1.1\r\nHost: Example.test:80\r\n\r\n", 8443,
                 "https://Example.test:8443/a/b?c=d"),
     "the Host's name, this port, the target");
  ok(location_is("GET /x HTTP/1.1\r\nhost:  a.test \r\n\r\n", 443,
                 "https://a.test/x"),
     "port 443: none in the URL; the field's name in any case, its value "
     "trimmed");
  ok(location_is("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 8443,
                 "https://[::1]:8443/"),
     "an IPv6 literal keeps its brackets");
  ok(location_is("GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", 8443,
                 "https://a:8443/"),
     "a target not in origin-form: the root");
  ok(location_is("GET / HTTP/1.1\nHost: a\n\n", 8443, "https://a:8443/"),
     "bare LF line ends");
  ok(hw__tls_plain_answer(nul_head, sizeof(nul_head) - 1, 1, 8443, out,
                          sizeof(out)) > 0 &&
         strncmp(out, "HTTP/1.1 308", 12) == 0,
     "a NUL in the head does not hide its end");
  ok(location_is("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n"
                 "Host: evil\r\n\r\n",
                 8443, "https://a:8443/"),
     "a Host after the head (the next request) is not this one's");
  ok(is_400("GET / HTTP/1.1\r\n\r\nHost: evil\r\n\r\n"),
     "no Host in the head: 400, even with one after it");
  ok(is_400("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
     "two Host lines: 400 (RFC 9112 section 3.2)");
  ok(is_400("GET / HTTP/1.1\r\nHost: :8443\r\n\r\n"),
     "a Host with no name: 400");
  ok(is_400("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") &&
         is_400("GET / HTTP/1.1\r\nHost: a\"\r\nX: y\r\n\r\n"),
     "a Host that is not uri-host: 400 (nothing reaches the Location)");
  ok(is_400("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n") &&
         is_400("GET HTTP/1.1\r\nHost: a\r\n\r\n"),
     "a target with a control byte, or none: 400");
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  memcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
  ok(hw__tls_plain_answer(big, HW__TLS_PLAIN_HEAD, 1, 8443, out,
                          sizeof(out)) > 0 &&
         strncmp(out, "HTTP/1.1 400", 12) == 0,
     "a head past 8 KiB without its end: 400");
  ok(hw__tls_plain_answer("GET", 3, 0, 8443, out, 10) == 0,
     "no room for the answer: nothing (0), never a cut answer");
  return done_testing();
}
