/*
 * signals_win32.c - commands without POSIX signals (see signals.h).
 *
 * Ctrl-C and Ctrl-Break reach every process of the console (libuv turns
 * them into SIGINT and SIGBREAK watchers): the fast and the graceful stop,
 * as a terminal's ^C and ^\ reach a POSIX process group.  Everything else
 * comes over a named pipe, "\\.\pipe\haywire-<pid>", that the master (or
 * the single process) creates when it starts: `haywire -s WORD` reads the
 * pid from the pid file as on POSIX, opens that pipe, writes "WORD\n" and
 * reads "ok\n" (or "refused ...\n") before the pipe closes.  The name is
 * the pid's, not the pid file's path, so that the client and the server
 * need not agree on a path's spelling (drive letter case, '/' or '\',
 * relative -c) and -s keeps one way of finding a server (the pid file,
 * with its stale and foreign checks).  libuv's uv_pipe_bind creates the
 * first instance with FILE_FLAG_FIRST_PIPE_INSTANCE: if another process
 * made that name first (squatting on a pid to come), binding fails and the
 * server refuses to start instead of taking commands on a pipe whose
 * first instance, and so whose security, is someone else's.  (Wine 8
 * ignores that flag: a look at the name before binding stands in there.)
 *
 * A master's commands to its workers go as control-pipe messages
 * (control.c): uv_process_kill on Windows only terminates.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "control.h"
#include "signals.h"

#define PIPE_PREFIX "\\\\.\\pipe\\haywire-"
#define MAX_WORD 32

struct hw__signals {
  uv_loop_t *loop;
  hw__signals_cb cb;
  void *arg;
  uv_signal_t ctrl_c, ctrl_break;
  uv_pipe_t server;
  struct client *clients;
  unsigned watched;
  int open; /* handles of this struct not yet closed */
  int consoles, serving, closing;
};

/* A `haywire -s` connected to the command pipe (in its server's list, so
 * that closing the server closes one that never sent its line). */
typedef struct client {
  struct client *next, **prev;
  int answering; /* its answer is on its way: it closes itself then */
  uv_pipe_t pipe;
  uv_write_t write;
  hw__signals *s;
  size_t n;
  char word[MAX_WORD];
  char answer[64];
} client;

static const char *const words[HW__SIGNALS_NCMDS] = {
    [HW__SIGNALS_RELOAD] = "reload", [HW__SIGNALS_STOP] = "stop",
    [HW__SIGNALS_QUIT] = "quit",     [HW__SIGNALS_TERM] = "term",
    [HW__SIGNALS_REOPEN] = "reopen", [HW__SIGNALS_UPGRADE] = "upgrade",
};

/* What reaches a worker instead of each command's signal (-1: nothing). */
static int control_kind(int cmd) {
  switch (cmd) {
  case HW__SIGNALS_STOP: return HW__CONTROL_STOP;
  case HW__SIGNALS_QUIT: return HW__CONTROL_QUIT;
  case HW__SIGNALS_TERM: return HW__CONTROL_TERM;
  case HW__SIGNALS_REOPEN: return HW__CONTROL_REOPEN;
  default: return -1;
  }
}

hw__signals *hw__signals_new(uv_loop_t *loop, hw__signals_cb cb, void *arg) {
  hw__signals *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->loop = loop;
  s->cb = cb;
  s->arg = arg;
  return s;
}

/* Hands `cmd` to the process.  The loop's time first: libuv on Windows can
 * run a pipe's or the console's callback in an iteration whose time was
 * taken before a long wait, and what the command starts (a drain's
 * deadlines, HTTP/2's second GOAWAY a second after the notice) counts
 * from now, not from then. */
static void deliver(hw__signals *s, int cmd) {
  uv_update_time(s->loop);
  s->cb(s->arg, cmd);
}

static void on_console(uv_signal_t *h, int signum) {
  hw__signals *s = h->data;
  int cmd = h == &s->ctrl_c ? HW__SIGNALS_STOP : HW__SIGNALS_QUIT;
  (void)signum;
  if (s->watched & HW__SIGNALS_BIT(cmd))
    deliver(s, cmd);
}

int hw__signals_watch(hw__signals *s, unsigned cmds) {
  int r;
  s->watched |= cmds;
  if (s->consoles)
    return 0;
  /* Both at once: watched or not, a console event must not kill the
   * process (libuv's handler says "handled" only while a watcher exists);
   * one that is not watched yet is dropped in on_console. */
  s->consoles = 1;
  uv_signal_init(s->loop, &s->ctrl_c);
  uv_signal_init(s->loop, &s->ctrl_break);
  s->ctrl_c.data = s->ctrl_break.data = s;
  s->open += 2;
  if ((r = uv_signal_start(&s->ctrl_c, on_console, SIGINT)) != 0 ||
      (r = uv_signal_start(&s->ctrl_break, on_console, SIGBREAK)) != 0)
    return r;
  return 0;
}

static void client_closed(uv_handle_t *h) {
  client *c = h->data;
  hw__signals *s = c->s;
  if ((*c->prev = c->next) != NULL)
    c->next->prev = c->prev;
  free(c);
  if (--s->open == 0 && s->closing)
    free(s);
}

static void answered(uv_write_t *req, int status) {
  client *c = req->data;
  (void)status;
  if (!uv_is_closing((uv_handle_t *)&c->pipe))
    uv_close((uv_handle_t *)&c->pipe, client_closed);
}

/* One line came: answer, then act (the answer goes before the command's
 * effects, which may close this very loop's handles). */
static void command(client *c) {
  hw__signals *s = c->s;
  uv_buf_t buf;
  int cmd = 0;

  for (int k = 1; k < HW__SIGNALS_NCMDS; k++)
    if (words[k] != NULL && strcmp(words[k], c->word) == 0)
      cmd = k;
  /* (No binary upgrade here: its sockets and pid-file links are POSIX's.) */
  if (cmd != 0 && cmd != HW__SIGNALS_UPGRADE &&
      (s->watched & HW__SIGNALS_BIT(cmd)) && !s->closing)
    snprintf(c->answer, sizeof(c->answer), "ok\n");
  else
    snprintf(c->answer, sizeof(c->answer), "refused %.30s\n", c->word);
  buf = uv_buf_init(c->answer, (unsigned)strlen(c->answer));
  c->write.data = c;
  c->answering = 1;
  if (uv_write(&c->write, (uv_stream_t *)&c->pipe, &buf, 1, answered) != 0)
    uv_close((uv_handle_t *)&c->pipe, client_closed);
  if (c->answer[0] == 'o')
    deliver(s, cmd);
}

static void client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  client *c = h->data;
  (void)hint;
  *buf = uv_buf_init(c->word + c->n, (unsigned)(sizeof(c->word) - 1 - c->n));
}

static void client_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  client *c = st->data;
  char *nl;
  (void)buf;
  if (n < 0) {
    uv_close((uv_handle_t *)st, client_closed);
    return;
  }
  c->n += (size_t)n;
  c->word[c->n] = '\0';
  if ((nl = strchr(c->word, '\n')) == NULL) {
    if (c->n == sizeof(c->word) - 1) /* no command is that long */
      uv_close((uv_handle_t *)st, client_closed);
    return;
  }
  *nl = '\0';
  if (nl > c->word && nl[-1] == '\r')
    nl[-1] = '\0';
  uv_read_stop(st);
  command(c);
}

static void on_client(uv_stream_t *server, int status) {
  hw__signals *s = server->data;
  client *c;
  if (status != 0 || (c = calloc(1, sizeof(*c))) == NULL)
    return;
  c->s = s;
  uv_pipe_init(s->loop, &c->pipe, 0);
  c->pipe.data = c;
  if ((c->next = s->clients) != NULL)
    c->next->prev = &c->next;
  c->prev = &s->clients;
  s->clients = c;
  s->open++;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, client_alloc, client_read) != 0)
    uv_close((uv_handle_t *)&c->pipe, client_closed);
}

int hw__signals_serve(hw__signals *s, char *err, size_t err_len) {
  char name[64];
  int r;

  hw__signals_pipe_name((long)GetCurrentProcessId(), name, sizeof(name));
  uv_pipe_init(s->loop, &s->server, 0);
  s->server.data = s;
  s->open++;
  s->serving = 1;
  /* Wine 8 ignores FILE_FLAG_FIRST_PIPE_INSTANCE (measured): look first
   * whether the name is served, without taking an instance of it. */
  if (WaitNamedPipeA(name, 1) || GetLastError() != ERROR_FILE_NOT_FOUND)
    r = UV_EADDRINUSE;
  else
    r = uv_pipe_bind(&s->server, name);
  if (r == 0)
    r = uv_listen((uv_stream_t *)&s->server, 4, on_client);
  if (r == UV_EADDRINUSE)
    snprintf(err, err_len, "another process owns the command pipe %s: "
                           "refusing to start", name);
  else if (r != 0)
    snprintf(err, err_len, "cannot make the command pipe %s: %s", name,
             uv_strerror(r));
  else /* commands are served while something else keeps the loop up */
    uv_unref((uv_handle_t *)&s->server);
  return r;
}

void hw__signals_take(hw__signals *s, int cmd) {
  if (s != NULL && cmd > 0 && cmd < HW__SIGNALS_NCMDS &&
      (s->watched & HW__SIGNALS_BIT(cmd)))
    deliver(s, cmd);
}

static void closed(uv_handle_t *h) {
  hw__signals *s = h->data;
  if (--s->open == 0)
    free(s);
}

void hw__signals_close(hw__signals *s) {
  if (s == NULL || s->closing)
    return;
  s->closing = 1;
  s->watched = 0;
  if (s->open == 0) {
    free(s);
    return;
  }
  for (client *c = s->clients; c != NULL; c = c->next)
    if (!c->answering && !uv_is_closing((uv_handle_t *)&c->pipe))
      uv_close((uv_handle_t *)&c->pipe, client_closed);
  if (s->consoles) {
    uv_close((uv_handle_t *)&s->ctrl_c, closed);
    uv_close((uv_handle_t *)&s->ctrl_break, closed);
  }
  if (s->serving)
    uv_close((uv_handle_t *)&s->server, closed);
}

/* Opens the server's pipe, waiting a little while all its instances are
 * busy (another -s).  The handle, or INVALID_HANDLE_VALUE. */
static HANDLE open_pipe(const char *name) {
  for (int tries = 0; tries < 20; tries++) {
    HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                           OPEN_EXISTING, 0, NULL);
    if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY)
      return h;
    WaitNamedPipeA(name, 500);
  }
  SetLastError(ERROR_PIPE_BUSY);
  return INVALID_HANDLE_VALUE;
}

int hw__signals_send(long pid, int cmd, char *err, size_t err_len) {
  char name[64], line[64], answer[64];
  DWORD n, got = 0;
  HANDLE h;

  if (cmd == HW__SIGNALS_UPGRADE || cmd <= 0 || cmd >= HW__SIGNALS_NCMDS ||
      words[cmd] == NULL) {
    snprintf(err, err_len, "a binary upgrade is not available on Windows");
    return -1;
  }
  hw__signals_pipe_name(pid, name, sizeof(name));
  if ((h = open_pipe(name)) == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    snprintf(err, err_len, "cannot reach process %ld through %s: %s", pid,
             name, e == ERROR_FILE_NOT_FOUND ? "no such pipe (not a haywire "
                                               "server, or it is stopping)"
                                             : "the pipe is busy or denied");
    return -1;
  }
  snprintf(line, sizeof(line), "%s\n", words[cmd]);
  if (!WriteFile(h, line, (DWORD)strlen(line), &n, NULL)) {
    snprintf(err, err_len, "cannot write to %s (error %lu)", name,
             (unsigned long)GetLastError());
    CloseHandle(h);
    return -1;
  }
  /* The server answers, then closes its end. */
  while (got < sizeof(answer) - 1 &&
         ReadFile(h, answer + got, (DWORD)(sizeof(answer) - 1 - got), &n,
                  NULL) &&
         n > 0)
    got += n;
  answer[got] = '\0';
  CloseHandle(h);
  if (strcmp(answer, "ok\n") == 0)
    return 0;
  answer[strcspn(answer, "\n")] = '\0';
  snprintf(err, err_len, "process %ld did not take \"%s\": %s", pid,
           words[cmd], got > 0 ? answer : "no answer");
  return -1;
}

int hw__signals_tell(uv_process_t *child, uv_stream_t *ctl, int cmd) {
  int kind = control_kind(cmd);
  (void)child;
  if (kind < 0)
    return UV_ENOSYS;
  hw__control_send(ctl, kind, 0, NULL);
  return 0;
}

void hw__signals_block(unsigned cmds, int block) {
  (void)cmds, (void)block; /* nothing arrives before a watcher exists */
}

void hw__signals_ignore(unsigned cmds) {
  (void)cmds; /* no signal of those ends a process here */
}

const char *hw__signals_cmd_name(int cmd) {
  /* The -s word, however the command came (Ctrl-C is "stop", Ctrl-Break
   * "quit"): what an operator typed, or reads in the README. */
  return cmd > 0 && cmd < HW__SIGNALS_NCMDS && words[cmd] != NULL
             ? words[cmd]
             : "unknown command";
}

const char *hw__signals_signame(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGKILL: return "SIGKILL";
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGBREAK: return "SIGBREAK";
  case SIGHUP: return "SIGHUP";
  default: return "unknown signal";
  }
}

int hw__signals_pipe_name(long pid, char *buf, size_t len) {
  int n = snprintf(buf, len, PIPE_PREFIX "%ld", pid);
  return n < 0 || (size_t)n >= len ? -1 : n;
}

const char *hw__signals_describe(int sig) { return hw__signals_signame(sig); }
