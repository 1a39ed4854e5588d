/*
 * tls_plain.c - plain HTTP sent to a TLS port (see tls_plain.h): an
 * `http://` URL where `https://` was meant.  nginx answers such a request
 * with a 400 in plain text; the listener's "plain_http" may ask for a 308
 * to the https URL instead (RFC 9110 section 15.4.9: the method and body
 * are kept), built from the request's own Host (its name, checked as
 * uri-host so that nothing can be injected into the Location) and target,
 * on this listener's port.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "os.h"
#include "target.h"
#include "tls_plain.h"

/* The https URL of a head (`n` bytes, through its empty line) into `loc`:
 * 0, or -1 when the head cannot say. */
static int location(const char *head, size_t n, int port, char *loc,
                    size_t cap) {
  const char *sp = memchr(head, ' ', n), *t, *te, *h = NULL, *he, *colon;
  if (sp == NULL || (te = memchr(sp + 1, ' ', n - (size_t)(sp + 1 - head))) ==
                        NULL)
    return -1;
  t = sp + 1;
  for (const char *q = t; q < te; q++)
    if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
      return -1;
  for (size_t i = 0; i + 5 < n; i++)
    if (head[i] == '\n' && strncasecmp(head + i + 1, "host:", 5) == 0) {
      if (h != NULL)
        return -1; /* two Host lines: a 400 (RFC 9112 section 3.2) */
      h = head + i + 6;
    }
  if (h == NULL)
    return -1;
  while (h < head + n && (*h == ' ' || *h == '\t'))
    h++;
  for (he = h; he < head + n && *he != '\r' && *he != '\n'; he++)
    ;
  while (he > h && (he[-1] == ' ' || he[-1] == '\t'))
    he--;
  if (he == h || !hw__target_host_ok(h, (uint32_t)(he - h)))
    return -1;
  colon = he;
  for (const char *q = he; q > h && q[-1] != ']'; q--)
    if (q[-1] == ':') {
      colon = q - 1;
      break;
    }
  if (colon == h) /* ":8443": no https URI with an empty host (RFC 9110
                     section 4.2.2) */
    return -1;
  if (port == 443)
    snprintf(loc, cap, "https://%.*s%.*s", (int)(colon - h), h,
             *t == '/' ? (int)(te - t) : 1, *t == '/' ? t : "/");
  else
    snprintf(loc, cap, "https://%.*s:%d%.*s", (int)(colon - h), h, port,
             *t == '/' ? (int)(te - t) : 1, *t == '/' ? t : "/");
  return 0;
}

size_t hw__tls_plain_answer(const char *head, size_t n, int redirect,
                            int port, char *out, size_t cap) {
  static const char body[] =
      "This port speaks HTTPS: the request was sent as plain HTTP.\n";
  char loc[HW__TLS_PLAIN_HEAD + 64];
  const char *crlf, *lf;
  int r;

  if (redirect) {
    /* The empty line ends the head ("\n\r\n" or a bare "\n\n"; memmem,
     * since the bytes may hold a NUL); a Host line after it (a body, the
     * next request) is not this request's. */
    crlf = hw__os_memmem(head, n, "\n\r\n", 3);
    lf = hw__os_memmem(head, n, "\n\n", 2);
    if (crlf == NULL && lf == NULL) {
      if (n < HW__TLS_PLAIN_HEAD)
        return 0;
      redirect = 0;
    } else {
      n = crlf != NULL && (lf == NULL || crlf < lf)
              ? (size_t)(crlf - head) + 3
              : (size_t)(lf - head) + 2;
      redirect = location(head, n, port, loc, sizeof(loc)) == 0;
    }
  }
  if (redirect)
    r = snprintf(out, cap,
                 "HTTP/1.1 308 Permanent Redirect\r\nLocation: %s\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n",
                 loc);
  else
    r = snprintf(out, cap,
                 "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 sizeof(body) - 1, body);
  return r > 0 && (size_t)r < cap ? (size_t)r : 0;
}
