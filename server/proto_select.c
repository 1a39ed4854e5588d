/*
 * proto_select.c - which HTTP a connection speaks (see proto_select.h).
 *
 * Over plain TCP nothing says which HTTP comes: a client with prior
 * knowledge starts with the 24-byte preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
 * (RFC 9113 section 3.4), which no HTTP/1.1 request can begin with past its
 * first bytes ("PRI" is a method name, but no HTTP/1.1 request says
 * "HTTP/2.0").  Bytes are taken while they match the preface; at the first
 * that does not, HTTP/1.1 gets what matched and the rest.  The preface
 * itself goes to HTTP/2, whose nghttp2 checks it again.  `Upgrade: h2c`
 * (RFC 7540 section 3.2) is not offered: RFC 9113 section 3.1 deprecates
 * it, and HTTP/1.1 ignores the field, answering the request itself.
 */
#include "autoconf.h"

#include <string.h>

#include "proto_select.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN ((size_t)24)

/* One connection's state; the chosen protocol's follows it. */
typedef struct sel {
  const hw__proto *p; /* chosen, or NULL */
  const hw__proto_select_env *env;
  hw__transport *t;
  uint8_t got; /* bytes of the preface matched so far */
} sel;

#define INNER_AT ((sizeof(sel) + 15) & ~(size_t)15)

static void *inner(sel *s) { return (char *)s + INNER_AT; }

static void choose(sel *s, int h2) {
  const hw__proto_select_env *env = s->env;
  s->p = h2 ? env->h2 : env->h1;
  s->p->open(inner(s), s->t, h2 ? env->h2_env : env->h1_env);
}

/* ALPN chose "h2": HTTP/2 from the first byte. */
static int alpn_h2(hw__transport *t) {
  hw__transport_tls info;
  return t->ops->tls != NULL && t->ops->tls(t, &info) == 0 &&
         strcmp(info.alpn, "h2") == 0;
}

static void s_open(void *p, hw__transport *t, void *env) {
  sel *s = p;
  s->env = env;
  s->t = t;
  if (alpn_h2(t))
    choose(s, 1);
  else if (!s->env->prior_knowledge)
    choose(s, 0);
  else
    t->phase = HW__PHASE_IDLE; /* as HTTP/1.1 waits for a first request */
}

static size_t s_data(void *p, const char *data, size_t len) {
  sel *s = p;
  size_t k, n;

  if (s->p != NULL)
    return s->p->data(inner(s), data, len);
  k = PREFACE_LEN - (size_t)s->got;
  if (k > len)
    k = len;
  if (memcmp(data, preface + s->got, k) == 0) {
    s->got = (uint8_t)(s->got + k);
    if (s->got < PREFACE_LEN)
      return len; /* all of it is the preface so far */
    choose(s, 1);
    if (s->p->data(inner(s), preface, PREFACE_LEN) < PREFACE_LEN)
      return len; /* (it refused the connection) */
    return k + (len > k ? s->p->data(inner(s), data + k, len - k) : 0);
  }
  choose(s, 0);
  /* What matched was HTTP/1.1 after all: it gets those bytes first.  A
   * protocol that stops within them has refused the request (they cannot
   * complete one that is well-formed): the rest is not read. */
  if (s->got > 0 && (n = s->p->data(inner(s), preface, s->got)) < s->got)
    return len;
  return s->p->data(inner(s), data, len);
}

/* Anything but bytes before a choice: HTTP/1.1 handles it, as it would
 * on a listener without HTTP/2. */
static void *chosen(sel *s) {
  if (s->p == NULL)
    choose(s, 0);
  return inner(s);
}

static void s_eof(void *p) {
  sel *s = p;
  void *in = chosen(s);
  s->p->eof(in);
}

static void s_timeout(void *p) {
  sel *s = p;
  void *in = chosen(s);
  s->p->timeout(in);
}

static void s_writable(void *p) {
  sel *s = p;
  if (s->p != NULL)
    s->p->writable(inner(s));
}

static void s_drain(void *p) {
  sel *s = p;
  void *in = chosen(s);
  s->p->drain(in);
}

static void s_close(void *p) {
  sel *s = p;
  if (s->p != NULL)
    s->p->close(inner(s));
}

void hw__proto_select_init(hw__proto_select_env *env, const hw__proto *h1,
                           void *h1_env, const hw__proto *h2, void *h2_env,
                           int prior_knowledge) {
  size_t n = h1->size > h2->size ? h1->size : h2->size;
  env->proto = (hw__proto){
      .size = INNER_AT + n,
      .open = s_open,
      .data = s_data,
      .eof = s_eof,
      .timeout = s_timeout,
      .writable = s_writable,
      .drain = s_drain,
      .close = s_close,
  };
  env->h1 = h1;
  env->h1_env = h1_env;
  env->h2 = h2;
  env->h2_env = h2_env;
  env->prior_knowledge = prior_knowledge;
}
