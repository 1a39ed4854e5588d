/*
 * control.c - the master <-> worker pipe protocol (see control.h).  The
 * table below is the whole protocol: each message's word and whether it
 * carries text after its generation number.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

#define MAX_LINE 8192 /* a snapshot path can be 4 KiB and more */

static const struct message {
  const char *word;
  int has_text;
} messages[] = {
    [HW__CONTROL_RELOAD] = {"reload", 1},
    [HW__CONTROL_READY] = {"ready", 0},
    [HW__CONTROL_RELOADED] = {"reloaded", 0},
    [HW__CONTROL_FAILED] = {"failed", 1},
    [HW__CONTROL_HANDOVER] = {"handover", 0},
    [HW__CONTROL_STOP] = {"stop", 0},
    [HW__CONTROL_QUIT] = {"quit", 0},
    [HW__CONTROL_TERM] = {"term", 0},
    [HW__CONTROL_REOPEN] = {"reopen", 0},
    [HW__CONTROL_LISTEN] = {"listen", 0},
};

#define NMESSAGES (sizeof(messages) / sizeof(messages[0]))

static void written(uv_write_t *req, int status) {
  free(req);
}

static void send_msg(uv_stream_t *stream, int kind, unsigned id,
                     const char *text, uv_stream_t *handle) {
  uv_write_t *req;
  char *line;
  uv_buf_t buf;
  int n;

  if (stream == NULL || stream->loop == NULL ||
      uv_is_closing((uv_handle_t *)stream) || kind < 0 ||
      (size_t)kind >= NMESSAGES)
    return;
  req = malloc(sizeof(*req) + MAX_LINE + 1);
  if (req == NULL)
    return;
  line = (char *)(req + 1);
  n = snprintf(line, MAX_LINE, "%s %u%s%s", messages[kind].word, id,
               messages[kind].has_text ? " " : "",
               messages[kind].has_text && text != NULL ? text : "");
  if (n < 0)
    n = 0;
  if (n > MAX_LINE - 1)
    n = MAX_LINE - 1;
  /* One message is one line: a newline inside would split it. */
  for (int i = 0; i < n; i++)
    if (line[i] == '\n')
      line[i] = ' ';
  line[n++] = '\n';
  buf = uv_buf_init(line, (unsigned)n);
  if ((handle != NULL ? uv_write2(req, stream, &buf, 1, handle, written)
                      : uv_write(req, stream, &buf, 1, written)) != 0)
    free(req);
}

void hw__control_send(uv_stream_t *stream, int kind, unsigned id,
                      const char *text) {
  send_msg(stream, kind, id, text, NULL);
}

void hw__control_send_handle(uv_stream_t *stream, int kind, unsigned id,
                             uv_stream_t *handle) {
  send_msg(stream, kind, id, NULL, handle);
}

int hw__control_parse(const char *line, hw__control_msg *msg) {
  for (size_t k = 0; k < NMESSAGES; k++) {
    size_t wl = strlen(messages[k].word);
    const char *p = line + wl;
    char *end;
    unsigned long id;
    if (strncmp(line, messages[k].word, wl) != 0 || *p != ' ')
      continue;
    id = strtoul(p + 1, &end, 10);
    if (end == p + 1 || id > 0xFFFFFFFFul)
      return -1;
    msg->kind = (int)k;
    msg->id = (unsigned)id;
    msg->text = "";
    if (messages[k].has_text) {
      if (*end != ' ' || end[1] == '\0')
        return -1;
      msg->text = end + 1;
    } else if (*end != '\0') {
      return -1;
    }
    return 0;
  }
  return -1;
}
