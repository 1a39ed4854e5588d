/*
 * signals_posix.c - commands as POSIX signals (see signals.h): the
 * watcher is one libuv signal handle per command, `haywire -s` is kill(2),
 * and a master signals its workers with uv_process_kill.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signals.h"

struct hw__signals {
  uv_loop_t *loop;
  hw__signals_cb cb;
  void *arg;
  uv_signal_t sig[HW__SIGNALS_NCMDS];
  unsigned watched; /* HW__SIGNALS_BIT of the started handles */
  int open;         /* handles not yet closed */
};

/* Each command's signal (0: none). */
static const int signal_of[HW__SIGNALS_NCMDS] = {
    [HW__SIGNALS_RELOAD] = SIGHUP,  [HW__SIGNALS_STOP] = SIGINT,
    [HW__SIGNALS_QUIT] = SIGQUIT,   [HW__SIGNALS_TERM] = SIGTERM,
    [HW__SIGNALS_REOPEN] = SIGUSR1, [HW__SIGNALS_UPGRADE] = SIGUSR2,
    [HW__SIGNALS_PIPE] = SIGPIPE,
};

static int sig_of(int cmd) {
  return cmd > 0 && cmd < HW__SIGNALS_NCMDS ? signal_of[cmd] : 0;
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

static void on_signal(uv_signal_t *h, int signum) {
  hw__signals *s = h->data;
  s->cb(s->arg, (int)(h - s->sig));
  (void)signum;
}

int hw__signals_watch(hw__signals *s, unsigned cmds) {
  for (int c = 1; c < HW__SIGNALS_NCMDS; c++) {
    int r;
    if (!(cmds & HW__SIGNALS_BIT(c)) || (s->watched & HW__SIGNALS_BIT(c)) ||
        sig_of(c) == 0)
      continue;
    if ((r = uv_signal_init(s->loop, &s->sig[c])) != 0)
      return r;
    s->sig[c].data = s;
    s->open++;
    s->watched |= HW__SIGNALS_BIT(c);
    if ((r = uv_signal_start(&s->sig[c], on_signal, sig_of(c))) != 0)
      return r;
  }
  return 0;
}

int hw__signals_serve(hw__signals *s, char *err, size_t err_len) {
  (void)s, (void)err, (void)err_len; /* kill(2) needs no channel */
  return 0;
}

void hw__signals_take(hw__signals *s, int cmd) {
  if (s != NULL && cmd > 0 && cmd < HW__SIGNALS_NCMDS &&
      (s->watched & HW__SIGNALS_BIT(cmd)))
    s->cb(s->arg, cmd);
}

static void closed(uv_handle_t *h) {
  hw__signals *s = h->data;
  if (--s->open == 0)
    free(s);
}

void hw__signals_close(hw__signals *s) {
  unsigned watched;
  if (s == NULL)
    return;
  watched = s->watched;
  s->watched = 0;
  if (watched == 0) {
    free(s);
    return;
  }
  for (int c = 1; c < HW__SIGNALS_NCMDS; c++)
    if (watched & HW__SIGNALS_BIT(c))
      uv_close((uv_handle_t *)&s->sig[c], closed);
}

int hw__signals_send(long pid, int cmd, char *err, size_t err_len) {
  if (kill((pid_t)pid, sig_of(cmd)) == 0)
    return 0;
  snprintf(err, err_len, "cannot signal process %ld: %s", pid,
           strerror(errno));
  return -1;
}

int hw__signals_tell(uv_process_t *child, uv_stream_t *ctl, int cmd) {
  (void)ctl; /* a signal reaches the worker before it reads anything */
  return uv_process_kill(child, sig_of(cmd));
}

void hw__signals_block(unsigned cmds, int block) {
  sigset_t set;
  sigemptyset(&set);
  for (int c = 1; c < HW__SIGNALS_NCMDS; c++)
    if ((cmds & HW__SIGNALS_BIT(c)) && sig_of(c) != 0)
      sigaddset(&set, sig_of(c));
  sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

void hw__signals_ignore(unsigned cmds) {
  for (int c = 1; c < HW__SIGNALS_NCMDS; c++)
    if ((cmds & HW__SIGNALS_BIT(c)) && sig_of(c) != 0)
      signal(sig_of(c), SIG_IGN);
}

const char *hw__signals_cmd_name(int cmd) {
  return hw__signals_signame(sig_of(cmd));
}

const char *hw__signals_signame(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGKILL: return "SIGKILL";
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGQUIT: return "SIGQUIT";
  case SIGHUP: return "SIGHUP";
  case SIGPIPE: return "SIGPIPE";
  case SIGUSR1: return "SIGUSR1";
  case SIGUSR2: return "SIGUSR2";
  default: return "unknown signal";
  }
}

int hw__signals_pipe_name(long pid, char *buf, size_t len) {
  (void)pid; /* no command pipe: signals */
  if (len > 0)
    buf[0] = '\0';
  return 0;
}

const char *hw__signals_describe(int sig) { return strsignal(sig); }
