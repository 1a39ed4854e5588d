/*
 * log.h - the server's log (log.c): one line per event on stderr, with a
 * UTC timestamp, a level and the name of the process.
 */
#ifndef HW_LOG_H
#define HW_LOG_H

#include <stdarg.h>

#include "haywire.h"
#include "os.h"

/** Writes one line "<time> [<level>] <prefix>: <message>" to stderr with a
 *  single write(2); `fmt` is borrowed for the call. */
void hw__log(hw_log_level level, const char *fmt, ...)
    HW__PRINTF(2, 3);
/** As hw__log, with a va_list. */
void hw__log_v(hw_log_level level, const char *fmt, va_list ap);
/** Names the process in every line ("master", "worker 2"); NULL: none.
 *  Copied. */
void hw__log_set_prefix(const char *prefix);
/** Errors are also written to `fd` as "error <message>\n" (-1: no more):
 *  a new master tells the one that started it why it fails. */
void hw__log_tee(int fd);
/** Lines above `level` are dropped (default HW_LOG_INFO). */
void hw__log_set_level(hw_log_level level);

#endif /* HW_LOG_H */
