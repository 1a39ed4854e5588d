/*
 * check_win32.c - the configuration check's child on Windows (see
 * check.h).  Windows has no fork, so the child is this binary started
 * again as `haywire -t -c <config> [--listen <address>]...` with
 * HAYWIRE_CHECK_CHILD in its environment: its hw__check_config sees that
 * and runs the check itself instead of starting another child.  Its
 * descriptor 3 is a pipe for the verdict and its descriptor 4 the note
 * page (a region the platform unit makes shareable by descriptor; libuv
 * hands descriptors above 2 to a child through the C runtime's inherited
 * table).  uv_spawn puts every child in a job object that is closed, and
 * its processes killed, when this process ends: a check whose parent is
 * gone does not live on in a module's endless init.
 */
#include "autoconf.h"

#include <io.h> /* _get_osfhandle */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* close */
#include <uv.h>
#include <windows.h>

#include "check.h"
#include "module.h"
#include "os.h"
#include "process.h"

#define CHILD_ENV "HAYWIRE_CHECK_CHILD"
#define VERDICT_FD 3
#define NOTE_FD 4
#define MAX_ARGS (5 + 2 * 64)

/* What the parent gathers from its child. */
typedef struct check_run {
  uv_process_t proc;
  uv_pipe_t out;
  char *buf;    /* the verdict, as it comes */
  size_t cap;   /* its room, with a NUL */
  size_t got;
  int64_t exit_status;
  int term_signal;
  int open;     /* handles not closed yet */
} check_run;

static void closed(uv_handle_t *h) { ((check_run *)h->data)->open--; }

static void exited(uv_process_t *p, int64_t status, int sig) {
  check_run *c = p->data;
  c->exit_status = status;
  c->term_signal = sig;
  uv_close((uv_handle_t *)p, closed);
}

static void room(uv_handle_t *h, size_t want, uv_buf_t *b) {
  check_run *c = h->data;
  (void)want;
  *b = uv_buf_init(c->buf + c->got, (unsigned)(c->cap - 1 - c->got));
}

/* Reads until the child's end closes (at its exit, or when the verdict
 * fills the buffer): no process a module starts holds it, since the child
 * makes its handles of the pipe and the page uninheritable first. */
static void got_bytes(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  check_run *c = s->data;
  (void)b;
  if (n > 0)
    c->got += (size_t)n;
  if (n < 0 || c->got >= c->cap - 1) {
    uv_read_stop(s);
    if (!uv_is_closing((uv_handle_t *)s))
      uv_close((uv_handle_t *)s, closed);
  }
}

/* The child's side: the page, then the check; never returns. */
static void be_child(const char *path, const hw__config_listen *listen,
                     size_t nlisten) {
  void *p = NULL;
  _putenv_s(CHILD_ENV, ""); /* a process a module starts is no check */
  /* libuv hands them over inheritable: a helper a module starts with
   * inherited handles would hold the verdict's pipe open, and the parent
   * would wait for it. */
  SetHandleInformation((HANDLE)_get_osfhandle(VERDICT_FD),
                       HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation((HANDLE)_get_osfhandle(NOTE_FD), HANDLE_FLAG_INHERIT,
                       0);
  if (hw__os_pages_map(NOTE_FD, sizeof(hw__module_note), 1, &p) == 0)
    hw__module_note_attach(p);
  hw__check_child(VERDICT_FD, path, listen, nlisten);
}

/* Starts the child on `loop`: 0, or a libuv error code. */
static int start(uv_loop_t *loop, check_run *c, const char *path,
                 const hw__config_listen *listen, size_t nlisten,
                 int note_fd) {
  char exe[4096];
  size_t exe_len = sizeof(exe);
  char *args[MAX_ARGS];
  size_t n = 0;
  uv_stdio_container_t stdio[5];
  uv_process_options_t opt;
  int r;

  if ((r = uv_exepath(exe, &exe_len)) != 0)
    return r;
  args[n++] = exe;
  args[n++] = "-t";
  args[n++] = "-c";
  args[n++] = (char *)path;
  for (size_t i = 0; i < nlisten && n + 3 < MAX_ARGS; i++) {
    args[n++] = "--listen";
    args[n++] = (char *)listen[i].text;
  }
  args[n] = NULL;
  memset(stdio, 0, sizeof(stdio));
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 1;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  stdio[VERDICT_FD].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[VERDICT_FD].data.stream = (uv_stream_t *)&c->out;
  stdio[NOTE_FD].flags = UV_INHERIT_FD;
  stdio[NOTE_FD].data.fd = note_fd;
  memset(&opt, 0, sizeof(opt));
  opt.file = exe;
  opt.args = args;
  opt.stdio = stdio;
  opt.stdio_count = 5;
  opt.exit_cb = exited;
  opt.flags = UV_PROCESS_WINDOWS_HIDE;
  /* The environment is this process's, with the mark: set for the spawn
   * alone (the check runs before any module code in this process). */
  _putenv_s(CHILD_ENV, "1");
  r = uv_spawn(loop, &c->proc, &opt);
  _putenv_s(CHILD_ENV, "");
  return r;
}

/* A crash ends a Windows process with an exception's NTSTATUS as its exit
 * code (0xC0000005 for an access violation); a uv_process_kill (the
 * reload preflight's timeout) with a signal number.  `how` for those, or
 * NULL for an ordinary exit. */
static const char *died(const check_run *c, char *how, size_t cap) {
  unsigned long code = (unsigned long)(c->exit_status & 0xFFFFFFFF);
  const char *name;
  if (c->term_signal != 0) {
    snprintf(how, cap, "was killed with signal %d", c->term_signal);
    return how;
  }
  /* Severity "error" (the top two bits): an exception, not an exit. */
  if ((code & 0xC0000000UL) != 0xC0000000UL)
    return NULL;
  name = hw__process_status_name(c->exit_status);
  snprintf(how, cap, "crashed with 0x%08lX (%s)", code,
           name != NULL ? name : "an unhandled exception");
  return how;
}

int hw__check_config(const char *path, const hw__config_listen *listen,
                     size_t nlisten, char *err, size_t err_len) {
  const char *mark = getenv(CHILD_ENV);
  uv_loop_t loop;
  check_run c;
  void *p = NULL;
  int fd = -1, r;
  char how[128];

  if (mark != NULL && mark[0] != '\0')
    be_child(path, listen, nlisten);
  if ((r = hw__os_pages_create("check-note", sizeof(hw__module_note), &fd,
                               &p)) != 0) {
    snprintf(err, err_len, "cannot check %s: %s", path, uv_strerror(r));
    return 1;
  }
  memset(p, 0, sizeof(hw__module_note));
  memset(&c, 0, sizeof(c));
  c.buf = err;
  c.cap = err_len;
  err[0] = '\0';
  uv_loop_init(&loop);
  uv_pipe_init(&loop, &c.out, 0);
  c.out.data = &c;
  c.proc.data = &c;
  c.open = 1;
  fflush(stdout);
  fflush(stderr);
  if ((r = start(&loop, &c, path, listen, nlisten, fd)) != 0) {
    uv_close((uv_handle_t *)&c.out, closed);
    if (c.proc.loop != NULL) { /* (a failed spawn's handle is closed too) */
      c.open++;
      uv_close((uv_handle_t *)&c.proc, closed);
    }
  } else {
    c.open = 2;
    uv_read_start((uv_stream_t *)&c.out, room, got_bytes);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  err[c.got] = '\0';
  if (r != 0) {
    snprintf(err, err_len, "cannot check %s: cannot start a child: %s", path,
             uv_strerror(r));
    r = 1;
  } else {
    r = hw__check_judge(path, p, died(&c, how, sizeof(how)),
                        (int)c.exit_status, err, c.got, err_len);
  }
  hw__os_pages_unmap(p, sizeof(hw__module_note));
  close(fd);
  return r;
}
