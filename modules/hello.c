/*
 * hello.c - the smallest useful Haywire module.  It answers every request
 * with a fixed body, "Hello, World!" as text/plain unless the route's config
 * says otherwise: {"body": "...", "content_type": "..."}.  Everything the
 * answer needs is computed once in init, the Content-Type field prepared
 * (checked) there when the host offers it (ABI 1.1), so handling a request
 * allocates nothing and costs one copy of the field and one of the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

#define DEFAULT_BODY "Hello, World!"
#define DEFAULT_CONTENT_TYPE "text/plain"

typedef struct hello_state {
  const hw_host *host;
  char *body; /* may contain NUL bytes (from \u0000), hence the length */
  size_t body_len;
  char *content_type;
  size_t content_type_len;
  hw_header *field; /* the prepared Content-Type, or NULL on an older host */
} hello_state;

/* A cursor over the config text; `err` receives the first complaint. */
typedef struct json_cursor {
  const char *p;
  const char *end;
  char *err;
  size_t err_len;
} json_cursor;

static void skip_ws(json_cursor *c) {
  while (c->p < c->end &&
         (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static int hex4(json_cursor *c, unsigned *out) {
  unsigned v = 0;
  if (c->end - c->p < 4)
    return -1;
  for (int i = 0; i < 4; i++) {
    char ch = *c->p++;
    v <<= 4;
    if (ch >= '0' && ch <= '9')
      v |= (unsigned)(ch - '0');
    else if (ch >= 'a' && ch <= 'f')
      v |= (unsigned)(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F')
      v |= (unsigned)(ch - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* Appends the UTF-8 encoding of `cp` (at most 4 bytes) at `*q`. */
static void put_utf8(char **q, unsigned cp) {
  unsigned char *o = (unsigned char *)*q;
  if (cp < 0x80) {
    *o++ = (unsigned char)cp;
  } else if (cp < 0x800) {
    *o++ = (unsigned char)(0xC0 | (cp >> 6));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (unsigned char)(0xE0 | (cp >> 12));
    *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (unsigned char)(0xF0 | (cp >> 18));
    *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  }
  *q = (char *)o;
}

/*
 * Parses a JSON string at the cursor (which must be on the opening quote)
 * into a fresh heap buffer.  The decoded text is never longer than the
 * escaped text (a 6-byte \uXXXX yields at most 3 bytes, a 12-byte surrogate
 * pair 4), so one allocation of the raw length is enough.
 */
static int parse_string(json_cursor *c, char **out, size_t *out_len) {
  const char *start = ++c->p;
  char *buf, *q;

  /* Find the closing quote first so the buffer can be sized. */
  while (c->p < c->end && *c->p != '"') {
    if (*c->p == '\\' && c->p + 1 < c->end)
      c->p++;
    c->p++;
  }
  if (c->p >= c->end) {
    snprintf(c->err, c->err_len, "hello: unterminated string in config");
    return -1;
  }
  buf = malloc((size_t)(c->p - start) + 1);
  if (buf == NULL) {
    snprintf(c->err, c->err_len, "hello: out of memory");
    return -1;
  }
  c->p = start;
  q = buf;
  while (*c->p != '"') {
    unsigned char ch = (unsigned char)*c->p++;
    unsigned cp, lo;
    if (ch < 0x20) {
      snprintf(c->err, c->err_len, "hello: control character in config string");
      goto fail;
    }
    if (ch != '\\') {
      *q++ = (char)ch;
      continue;
    }
    switch (*c->p++) {
    case '"': *q++ = '"'; break;
    case '\\': *q++ = '\\'; break;
    case '/': *q++ = '/'; break;
    case 'n': *q++ = '\n'; break;
    case 't': *q++ = '\t'; break;
    case 'r': *q++ = '\r'; break;
    case 'b': *q++ = '\b'; break;
    case 'f': *q++ = '\f'; break;
    case 'u':
      if (hex4(c, &cp) != 0)
        goto bad_u;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        goto bad_surrogate;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* A high surrogate is only meaningful followed by a low one. */
        if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u')
          goto bad_surrogate;
        c->p += 2;
        if (hex4(c, &lo) != 0)
          goto bad_u;
        if (lo < 0xDC00 || lo > 0xDFFF)
          goto bad_surrogate;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      put_utf8(&q, cp);
      break;
    default:
      snprintf(c->err, c->err_len, "hello: invalid escape in config string");
      goto fail;
    }
  }
  c->p++; /* the closing quote */
  *q = '\0';
  *out = buf;
  *out_len = (size_t)(q - buf);
  return 0;

bad_u:
  snprintf(c->err, c->err_len, "hello: invalid \\u escape in config string");
  goto fail;
bad_surrogate:
  snprintf(c->err, c->err_len,
           "hello: unpaired UTF-16 surrogate in config string");
fail:
  free(buf);
  return -1;
}

/*
 * Replaces bytes that could break the one-line error message (controls,
 * including a NUL from \u0000) with '?', so the key can be quoted in it.
 */
static void printable(char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
      s[i] = '?';
}

/* strdup is POSIX, not C11; this is the same for a known length. */
static char *dup_mem(const char *s, size_t len) {
  char *p = malloc(len + 1);
  if (p != NULL) {
    memcpy(p, s, len);
    p[len] = '\0';
  }
  return p;
}

static void state_free(hello_state *st) {
  if (st == NULL)
    return;
  if (st->field != NULL)
    st->host->header_free(st->field);
  free(st->body);
  free(st->content_type);
  free(st);
}

/*
 * Reads {"body": "...", "content_type": "..."} into `st`.  Only a top-level
 * object with those string keys is accepted: a typo in a key should stop
 * the server at start-up rather than silently serve the default.
 */
static int parse_config(hello_state *st, const char *config, size_t len,
                        char *err, size_t err_len) {
  json_cursor c = {config, config + len, err, err_len};

  skip_ws(&c);
  if (c.p >= c.end || *c.p != '{') {
    snprintf(err, err_len, "hello: config must be a JSON object");
    return -1;
  }
  c.p++;
  skip_ws(&c);
  if (c.p < c.end && *c.p == '}') {
    c.p++;
  } else {
    for (;;) {
      char *key, *val, **slot;
      size_t key_len, val_len, *slot_len;

      skip_ws(&c);
      if (c.p >= c.end || *c.p != '"') {
        snprintf(err, err_len, "hello: malformed config object");
        return -1;
      }
      if (parse_string(&c, &key, &key_len) != 0)
        return -1;
      if (strcmp(key, "body") == 0 && key_len == 4) {
        slot = &st->body;
        slot_len = &st->body_len;
      } else if (strcmp(key, "content_type") == 0 && key_len == 12) {
        slot = &st->content_type;
        slot_len = &st->content_type_len;
      } else {
        printable(key, key_len);
        snprintf(err, err_len, "hello: unknown key \"%s\" in config", key);
        free(key);
        return -1;
      }
      skip_ws(&c);
      if (c.p >= c.end || *c.p != ':') {
        snprintf(err, err_len, "hello: expected ':' after \"%s\"", key);
        free(key);
        return -1;
      }
      c.p++;
      skip_ws(&c);
      if (c.p >= c.end || *c.p != '"') {
        snprintf(err, err_len, "hello: \"%s\" must be a string", key);
        free(key);
        return -1;
      }
      free(key);
      if (parse_string(&c, &val, &val_len) != 0)
        return -1;
      /* A repeated key replaces the earlier value, as most JSON readers do. */
      free(*slot);
      *slot = val;
      *slot_len = val_len;
      skip_ws(&c);
      if (c.p < c.end && *c.p == ',') {
        c.p++;
        continue;
      }
      if (c.p < c.end && *c.p == '}') {
        c.p++;
        break;
      }
      snprintf(err, err_len, "hello: malformed config object");
      return -1;
    }
  }
  skip_ws(&c);
  if (c.p != c.end) {
    snprintf(err, err_len, "hello: trailing characters after config object");
    return -1;
  }
  return 0;
}

static int hello_init(const hw_host *host, const char *config,
                      size_t config_len, void **state, char *err,
                      size_t err_len) {
  hello_state *st = calloc(1, sizeof(*st));

  if (st == NULL) {
    snprintf(err, err_len, "hello: out of memory");
    return -1;
  }
  st->host = host;
  if (parse_config(st, config, config_len, err, err_len) != 0) {
    state_free(st);
    return -1;
  }
  if (st->body == NULL) {
    st->body_len = sizeof(DEFAULT_BODY) - 1;
    st->body = dup_mem(DEFAULT_BODY, st->body_len);
  }
  if (st->content_type == NULL) {
    st->content_type_len = sizeof(DEFAULT_CONTENT_TYPE) - 1;
    st->content_type = dup_mem(DEFAULT_CONTENT_TYPE, st->content_type_len);
  }
  if (st->body == NULL || st->content_type == NULL) {
    snprintf(err, err_len, "hello: out of memory");
    state_free(st);
    return -1;
  }
  /*
   * The host refuses header values with CR or LF on every request; catching
   * them here turns a 500 on each request into one start-up error.
   */
  if (memchr(st->content_type, '\r', st->content_type_len) != NULL ||
      memchr(st->content_type, '\n', st->content_type_len) != NULL ||
      memchr(st->content_type, '\0', st->content_type_len) != NULL) {
    snprintf(err, err_len,
             "hello: \"content_type\" must not contain CR, LF or NUL");
    state_free(st);
    return -1;
  }
  if (HW_HOST_HAS(host, header_free) &&
      host->header_prepare("Content-Type", 12, st->content_type,
                           st->content_type_len, &st->field) != 0) {
    snprintf(err, err_len, "hello: \"content_type\" is not a valid field value");
    state_free(st);
    return -1;
  }
  *state = st;
  return 0;
}

static hw_handle_result hello_handle(void *state, hw_request *req,
                                     hw_response *res) {
  hello_state *st = state;

  if (st->field != NULL ? st->host->add_prepared(res, st->field) != 0
                        : st->host->add_header(res, "Content-Type", 12,
                                               st->content_type,
                                               st->content_type_len) != 0)
    return HW_ERROR;
  if (st->host->write(res, st->body, st->body_len) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static void hello_fini(void *state) { state_free(state); }

HW_MODULE_DEFINE("hello", "1.0", hello_init, hello_handle, hello_fini);
