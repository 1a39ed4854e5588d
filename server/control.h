/*
 * control.h - the pipe between the master and each worker (control.c): one
 * text line per message, from one table of messages.
 *
 *   master -> worker   reload <id> <snapshot>   build generation <id> from
 *                                               the config at <snapshot>
 *   worker -> master   ready <id>               serving generation <id>
 *                      reloaded <id>            now serving <id>
 *                      failed <id> <reason>     could not build <id>
 *   master -> worker   handover 0               another master serves the
 *                                               sockets now: stop softly
 *   master -> worker   stop 0, quit 0, term 0,  a command (signals.h) where
 *                      reopen 0                 signals cannot carry it
 *                                               (Windows)
 *   master -> worker   listen <i>               the socket of listen
 *                                               address i comes with this
 *                                               message (Windows: an IPC
 *                                               pipe carries it), in order
 */
#ifndef HW_CONTROL_H
#define HW_CONTROL_H

#include <uv.h>

enum hw__control_kind {
  HW__CONTROL_RELOAD = 0,
  HW__CONTROL_READY,
  HW__CONTROL_RELOADED,
  HW__CONTROL_FAILED,
  HW__CONTROL_HANDOVER,
  HW__CONTROL_STOP,
  HW__CONTROL_QUIT,
  HW__CONTROL_TERM,
  HW__CONTROL_REOPEN,
  HW__CONTROL_LISTEN
};

/** One message; `text` (the snapshot or the reason) is borrowed from the
 *  line it was parsed from, or "" when the message has none. */
typedef struct hw__control_msg {
  int kind; /* enum hw__control_kind */
  unsigned id;
  const char *text;
} hw__control_msg;

/** Sends a message on `stream` (a line; a newline in `text` becomes a
 *  space, and a long text is cut).  `text` may be NULL. */
void hw__control_send(uv_stream_t *stream, int kind, unsigned id,
                      const char *text);
/** Sends a message on `stream` (an IPC pipe) with `handle` travelling
 *  along (uv_write2): the receiver takes it when it reads the line. */
void hw__control_send_handle(uv_stream_t *stream, int kind, unsigned id,
                             uv_stream_t *handle);
/** Parses a line (without its newline) into `msg`.  Returns 0, or -1 for a
 *  line that is no message. */
int hw__control_parse(const char *line, hw__control_msg *msg);

#endif /* HW_CONTROL_H */
