/*
 * access_log.h - the access log of one worker process (access_log.c): its
 * open log files (a small table keyed by path and format), a line per
 * request in the combined or the JSON format with every byte escaped, each
 * file's buffer of whole lines written with one write(2) per flush (when
 * the next line would pass 64 KiB, every second, at exit), reopening after
 * a rotation, and the failures: reported once per file and kind, counted
 * per line.  The request core hands it a record; it knows no request.
 */
#ifndef HW_ACCESS_LOG_H
#define HW_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"

/** A file's buffer is written before a line would take it past this. */
#define HW__ACCESS_LOG_FLUSH_BYTES (64 * 1024)
/** ... and at least this often (ms), by a timer that keeps no loop alive. */
#define HW__ACCESS_LOG_FLUSH_MS 1000

/** One open log file with its format: where a route's lines go. */
typedef struct hw__access_file {
  struct hw__access_file *next;
  char *path;
  int json;    /* the JSON format, else combined */
  int fd;      /* -1: it could not be opened (lines are dropped) */
  hw__buf buf; /* whole lines not yet written */
  size_t nbuf; /* lines in it */
  /* counted for the file's life: */
  uint64_t lines;   /* written */
  uint64_t dropped; /* lost to a failed open or write */
  uint64_t flushes; /* write(2) calls */
  uint64_t dropped_told; /* `dropped` when the log last said it */
  int open_errno;   /* the last failure reported, so each is told once */
  int write_errno;
  int torn;         /* the last write stopped inside a line: the next
                       begins with a newline, so that line alone is bad */
} hw__access_file;

/** One worker's log files, and the clock its timestamps come from. */
typedef struct hw__access_log {
  hw__access_file *files;
  uv_timer_t *timer; /* the flush timer (NULL until a file is opened, or
                        without a loop) */
  uv_loop_t *loop;
  int worker;         /* the worker slot, logged with each line */
  uint64_t mono_base; /* uv_hrtime() when ... */
  int64_t wall_base;  /* ... the wall clock said this (ms since 1970) */
  int64_t stamp_sec;  /* the second the cached stamps below say */
  char iso[24];       /* "2026-11-27T00:28:11." */
  char clf[32];       /* "27/Nov/2026:00:28:11 +0000" */
  hw__buf line;       /* the line being formatted */
} hw__access_log;

/** A piece of text a record borrows (any bytes). */
typedef struct hw__access_text {
  const char *data;
  size_t len;
} hw__access_text;

/** What is logged of one request, borrowed for the call. */
typedef struct hw__access_record {
  uint64_t start;         /* uv_hrtime() when its first byte came */
  uint64_t end;           /* ... and when its response was handed over */
  hw__access_text remote; /* the client's address, without its port */
  hw__access_text host, method, target, referer, user_agent;
  int version; /* 10 or 11 */
  int status;  /* 499: the client went away first */
  uint64_t body_bytes;    /* of the response */
  uint64_t request_bytes; /* its head and body as received */
  const char *route;      /* the route's prefix, or NULL */
  const char *module;     /* its module's name, or NULL */
  unsigned generation;
  const char *tls;        /* "TLSv1.3", or NULL over plain TCP */
  const char *alpn;       /* what ALPN chose, or "" */
  hw__access_text sni;    /* the name the client asked for */
} hw__access_record;

/** Sets up an empty table for worker slot `worker` on `loop` (NULL: no
 *  timer, flushes are the caller's). */
void hw__access_log_init(hw__access_log *al, uv_loop_t *loop, int worker);
/** The file for `path` in the format: opened (O_APPEND, created 0644) the
 *  first time it is asked for, then shared.  An open that fails is
 *  reported once and the file drops its lines until a reopen succeeds.
 *  NULL only when out of memory. */
hw__access_file *hw__access_log_open(hw__access_log *al, const char *path,
                                     int json);
/** Formats one line into the file's buffer (flushing first when it would
 *  pass HW__ACCESS_LOG_FLUSH_BYTES). */
void hw__access_log_write(hw__access_log *al, hw__access_file *f,
                          const hw__access_record *r);
/** Writes every file's buffer (one write(2) each). */
void hw__access_log_flush(hw__access_log *al);
/** After a rotation: every file's buffer goes to the file it was meant
 *  for, then its path is opened anew and replaces it (a path that cannot be
 *  opened keeps the old file, and says so once).  Returns how many paths
 *  were opened anew. */
size_t hw__access_log_reopen(hw__access_log *al);
/** Flushes, and closes the timer (before the loop's last run). */
void hw__access_log_stop(hw__access_log *al);
/** Flushes and closes every file, frees the table. */
void hw__access_log_destroy(hw__access_log *al);

/** Whether `path` can be opened for appending (created if need be);
 *  0, or -errno with "<path>: <reason>" in `err`. */
int hw__access_log_probe(const char *path, char *err, size_t err_len);
/** Appends `s` escaped for a JSON string (json set: `"`, `\`, control
 *  characters and each byte of invalid UTF-8 as \u00XX) or for the
 *  combined format (nginx's: `"`, `\`, controls and bytes over 0x7e as
 *  \xXX).  Returns 0 or HW_ENOMEM. */
int hw__access_log_escape(hw__buf *out, const char *s, size_t n, int json);

#endif /* HW_ACCESS_LOG_H */
