/*
 * worker_spawn.c - starting one worker process (see worker_spawn.h).
 *
 * The worker runs this same binary (process.c says which file) with the
 * options main.c reads as a worker's; the shared regions' descriptors
 * follow the sockets, so that their numbers depend only on how many
 * addresses there are (on Windows the sockets' places stay empty: they
 * come over the control pipe, an IPC pipe there).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen.h"
#include "procenv.h"
#include "worker_spawn.h"

int hw__worker_spawn_start(uv_loop_t *loop, uv_process_t *proc, uv_pipe_t *ctl,
                           const hw__worker_spawn *a) {
  char exe[4096], path[4096], id[16], gen[16], nfds[16], mfd[16], tfd[16];
  size_t exe_len = sizeof(exe), n = a->nfds;
  char *args[] = {exe,         "--worker",      id,    "--generation",
                  gen,         "--listen-fds",  nfds,  "--slot-file",
                  (char *)a->slot_file,         "-c",  (char *)a->snapshot,
                  "--metrics-fd", mfd,          "--tickets-fd",  tfd,   NULL};
  uv_stdio_container_t *stdio;
  uv_process_options_t opt;
  int r;

  stdio = calloc(6 + n, sizeof(*stdio));
  if (stdio == NULL)
    return UV_ENOMEM;
  uv_pipe_init(loop, ctl, hw__listen_shared()); /* IPC: sockets travel */
  uv_exepath(exe, &exe_len); /* argv[0]: what ps shows */
  snprintf(id, sizeof(id), "%d", a->id);
  snprintf(gen, sizeof(gen), "%u", a->gen);
  snprintf(nfds, sizeof(nfds), "%zu", n);
  snprintf(mfd, sizeof(mfd), "%d", a->metrics_fd >= 0 ? (int)(4 + n) : -1);
  snprintf(tfd, sizeof(tfd), "%d", a->tickets_fd >= 0 ? (int)(5 + n) : -1);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 1;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  stdio[3].flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
  stdio[3].data.stream = (uv_stream_t *)ctl;
  for (size_t i = 0; i < n; i++) {
    /* Shared sockets (Windows) go over the control pipe instead
     * (master_sockets.c), and the numbers stay where they are. */
    stdio[4 + i].flags = hw__listen_shared() ? UV_IGNORE : UV_INHERIT_FD;
    stdio[4 + i].data.fd = (int)a->fds[i];
  }
  stdio[4 + n].flags = a->metrics_fd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
  stdio[4 + n].data.fd = a->metrics_fd;
  stdio[5 + n].flags = a->tickets_fd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
  stdio[5 + n].data.fd = a->tickets_fd;
  memset(&opt, 0, sizeof(opt));
  opt.file = hw__procenv_exec_path(path, sizeof(path));
  if (opt.file == NULL)
    opt.file = exe;
  opt.args = args;
  opt.exit_cb = a->exit_cb;
  opt.stdio = stdio;
  opt.stdio_count = (int)(6 + n);
  r = uv_spawn(loop, proc, &opt);
  free(stdio);
  return r;
}
