/*
 * proto_select.h - which HTTP a connection speaks (proto_select.c): a
 * protocol (hw__proto) that chooses, once, between HTTP/1.1 and HTTP/2 for
 * its connection and then passes every call to the one it chose, whose
 * state lives inside its own.  HTTP/2 is chosen when TLS's ALPN chose
 * "h2" (RFC 9113 section 3.2), or, on a listener that takes HTTP/2 with
 * prior knowledge, when the first bytes are the client connection preface
 * (section 3.3); anything else is HTTP/1.1.
 */
#ifndef HW_PROTO_SELECT_H
#define HW_PROTO_SELECT_H

#include "transport.h"

/** What a listener's connections choose between. */
typedef struct hw__proto_select_env {
  hw__proto proto;        /* the chooser, sized for either protocol's state
                             after its own */
  const hw__proto *h1;    /* HTTP/1.1 and its env */
  void *h1_env;
  const hw__proto *h2;    /* HTTP/2 and its env */
  void *h2_env;
  int prior_knowledge;    /* the preface chooses HTTP/2 (plain TCP) */
} hw__proto_select_env;

/** Sets up `env` to choose between `h1` and `h2` (borrowed, with their
 *  envs); with `prior_knowledge` the preface chooses HTTP/2, else only
 *  ALPN does. */
void hw__proto_select_init(hw__proto_select_env *env, const hw__proto *h1,
                           void *h1_env, const hw__proto *h2, void *h2_env,
                           int prior_knowledge);

#endif /* HW_PROTO_SELECT_H */
