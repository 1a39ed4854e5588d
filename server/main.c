/*
 * main.c - the haywire command: parses the command line, checks or loads the
 * configuration and runs the worker.
 *
 *   haywire [-c FILE] [--listen HOST:PORT]... [-t] [--version] [-h]
 *   haywire [-c FILE | --pid-file FILE] -s reload|stop|quit|reopen|upgrade
 *
 * `-t` builds the whole configuration exactly as start-up would (every module
 * loaded, every route's init called, then fini) without opening a socket, so
 * it can run beside a live server and tells the truth about what start-up
 * would do.  `-s` signals a running server found through its pid file
 * (sigcmd.c).  Exit codes: 0 done, 1 failed, 2 a usage error.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "generation.h"
#include "host.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "metrics.h"
#include "tickets.h"
#include "master.h"
#include "upgrade.h"
#include "pidfile.h"
#include "process.h"
#include "procenv.h"
#include "reload.h"
#include "sigcmd.h"
#include "signals.h"
#include "worker.h"

/* The installed config (the build passes its path). */
#ifdef HW_DEFAULT_CONFIG
#define DEFAULT_CONFIG HW_DEFAULT_CONFIG
#else
#define DEFAULT_CONFIG "etc/routes.json"
#endif
/* The pid file when neither the config nor --pid-file names one. */
#ifdef HW_DEFAULT_PID_FILE
#define DEFAULT_PID_FILE HW_DEFAULT_PID_FILE
#else
#define DEFAULT_PID_FILE "haywire.pid"
#endif
#define VERSION_STRING "haywire " PACKAGE_VERSION

enum { OPT_WORKERS = 256, OPT_SINGLE, OPT_PID_FILE, OPT_WORKER,
       OPT_GENERATION, OPT_LISTEN_FDS, OPT_SLOT_FILE, OPT_METRICS_FD,
       OPT_TICKETS_FD };

/* What the master tells a worker it starts (not options for people). */
typedef struct worker_args {
  int id, nfds, gen_id, metrics_fd, tickets_fd;
  const char *note_file;
} worker_args;

/* How long -s waits: a reload is a preflight (at most 60 s) and the
 * workers' answers (at most 60 s), and the one -s asked for may have to wait
 * for one already running; a graceful stop is the drain and the master's
 * 5 s of grace before it kills. */
#define WAIT_RELOAD_MS 240000
#define WAIT_STOP_MS 20000
#define WAIT_SLACK_MS 10000
/* An upgrade: the new master's first check and its workers (the old
 * master gives it 90 s). */
#define WAIT_UPGRADE_MS 100000
#define MAX_LISTEN 64

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: haywire [-c FILE] [--listen HOST:PORT]... [-t] [--version] "
      "[-h]\n"
      "       haywire [-c FILE | --pid-file FILE] -s "
      "reload|stop|quit|reopen|upgrade\n"
      "  -c, --config FILE     routes file (default " DEFAULT_CONFIG ")\n"
      "  -l, --listen ADDR     listen on ADDR instead of the config's list\n"
      "                        (127.0.0.1:8080, [::1]:8080, *:8080, 8080;"
      " repeatable)\n"
      "  -t, --test            check the config and its modules, then exit\n"
      "  -s, --signal WORD     signal the running server (found through its\n"
      "                        pid file) and wait for the result: reload,\n"
      "                        stop (fast), quit (graceful), reopen (logs),\n"
      "                        upgrade (start a new master from the binary)\n"
      "      --workers N       worker processes (default: the config's\n"
      "                        \"workers\", \"auto\" = one per CPU; 0 = "
      "single\n"
      "                        process)\n"
      "      --single          the single-process mode (same as --workers 0)\n"
      "      --pid-file FILE   the (master's) pid file (default: the config's\n"
      "                        \"pid_file\", else " DEFAULT_PID_FILE ")\n"
      "      --run-dir DIR     where private module copies go (default\n"
      "                        $TMPDIR or /tmp)\n"
      "  -v, --version         print the version and exit\n"
      "  -h, --help            print this help and exit\n");
}

/* A usage error: the line, the usage, and exit status 2. */
static int usage_error(const char *fmt, const char *arg) {
  if (fmt != NULL) {
    fputs("haywire: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
  }
  usage(stderr);
  return 2;
}

/* -s WORD: one known word, once.  Returns 0 or the usage error's status. */
static int take_signal_word(const char **word, const char *arg) {
  if (*word != NULL)
    return usage_error("-s given twice (\"%s\" after another)", arg);
  if (!hw__sigcmd_known(arg))
    return usage_error("-s: unknown signal \"%s\" (reload, stop, quit, "
                       "reopen or upgrade)",
                       arg);
  *word = arg;
  return 0;
}

/* Many keep-alive connections need many descriptors: take all the system
 * allows this process. */
static void raise_nofile(void) {
  if (hw__procenv_raise_nofile() != 0)
    hw__log(HW_LOG_WARN, "cannot raise the open file limit");
}

/* Loads the config, applies --listen, builds generation 1 (from private
 * copies of the modules when `rl` is given, as every later reload does). */
static int load(const char *path, const hw__config_listen *listen,
                size_t nlisten, hw__reloader *rl, hw__generation **out,
                char *err, size_t err_len) {
  hw__config *cfg;
  int r = hw__config_load(path, &cfg, err, err_len);
  if (r != 0)
    return r;
  /* --listen's addresses: each with the "tls" the config gives it. */
  if (nlisten > 0 &&
      (r = hw__config_keep_listen(cfg, listen, NULL, nlisten)) < 0) {
    hw__config_free(cfg);
    snprintf(err, err_len, "out of memory");
    return r;
  }
  if (rl != NULL && (r = hw__reload_stage(rl, cfg, 1, err, err_len)) != 0) {
    hw__config_free(cfg);
    return r;
  }
  return hw__generation_build(cfg, 1, &hw__host, out, err, err_len);
}

static int check_config(const char *path, const hw__config_listen *listen,
                        size_t nlisten) {
  char err[4096];
  /* `haywire -t` is also the reload's preflight child: a logrotate's
   * `pkill -USR1 haywire` must not end it (its default action). */
  hw__signals_ignore(HW__SIGNALS_BIT(HW__SIGNALS_REOPEN) |
                     HW__SIGNALS_BIT(HW__SIGNALS_UPGRADE));
  if (hw__check_config(path, listen, nlisten, err, sizeof(err)) != 0) {
    fprintf(stderr, "haywire: %s\n", err);
    return 1;
  }
  printf("configuration OK\n");
  return 0;
}

/* Serves until stopped, then tears the worker down; returns the exit code. */
static int serve(hw__worker *w, uv_loop_t *loop) {
  int r = hw__worker_run(w);
  hw__worker_destroy(w);
  if (uv_loop_close(loop) != 0)
    hw__log(HW_LOG_WARN, "a module left libuv handles open at exit");
  hw__log(HW_LOG_INFO, "stopped");
  return r;
}

/* Where reloads are recorded: beside the pid file (none: nowhere). */
static char *record_path(const char *pid_file) {
  char path[4200];
  if (pid_file == NULL)
    return NULL;
  hw__pidfile_record_path(pid_file, path, sizeof(path));
  return strdup(path);
}

/* The single-process mode: this process loads the modules and serves. */
static int run_single(const char *config, const hw__config_listen *listen,
                      size_t nlisten, const char *run_dir,
                      const char *pid_file) {
  uv_loop_t *loop = uv_default_loop();
  hw__generation *gen;
  hw__worker w;
  char err[4096];
  int r;

  /* As the master checks each generation in a child before it serves it,
   * so does a single process before it loads its first one: a module that
   * crashes in init then costs a line naming its route. */
  if (hw__check_config(config, listen, nlisten, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    return 1;
  }
  memset(&w, 0, sizeof(w));
  if (hw__reload_rundir(&w.reload, run_dir, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    return 1;
  }
  w.reload.config_path = strdup(config);
  w.reload.record_path = record_path(pid_file);
  if (pid_file != NULL) {
    char path[4200];
    hw__pidfile_upgrade_path(pid_file, path, sizeof(path));
    w.upgrade_record = strdup(path);
  }
  if (load(config, listen, nlisten, &w.reload, &gen, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    hw__reload_unstage(&w.reload, 1);
    hw__reload_destroy(&w.reload);
    return 1;
  }
  if (gen->config->pid_file != NULL)
    w.reload.config_pid_file = strdup(gen->config->pid_file);
  w.reload.config_workers = gen->config->workers;
#ifndef HW_NO_METRICS
  if (hw__metrics_create_single() != 0)
    hw__log(HW_LOG_WARN, "cannot make the counters' memory: no metrics");
  hw__metrics_started(gen->id);
#endif
  if (hw__tickets_create() != 0 ||
      hw__tickets_start(loop, HW__TICKETS_ROTATE_MS) != 0)
    hw__log(HW_LOG_WARN, "cannot make TLS ticket keys: no resumption");
  if ((r = hw__worker_init(&w, loop, gen)) != 0) {
    hw__log(HW_LOG_ERROR, "cannot start: %s", uv_strerror(r));
    return hw__worker_abandon(&w);
  }
  if (hw__worker_listen(&w, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    return hw__worker_abandon(&w);
  }
  hw__log(HW_LOG_INFO, "%s started (pid %d, %zu routes)", VERSION_STRING,
          (int)getpid(), w.gen->nroutes);
  hw__notify_serving(w.gen->id);
  return serve(&w, loop);
}

/* A worker under a master: the config is the master's snapshot of one
 * generation (its modules already private copies), the sockets are
 * inherited on fds 4.., and fd 3 is the control channel. */
static int run_worker(const worker_args *wa, const char *snapshot) {
  int id = wa->id, nfds = wa->nfds;
  unsigned gen_id = (unsigned)wa->gen_id;
  uv_loop_t *loop = uv_default_loop();
  hw__generation *gen;
  hw__config *cfg;
  hw__worker w;
  char err[4096], prefix[32];
  int fds[MAX_LISTEN];

  snprintf(prefix, sizeof(prefix), "worker %d", id);
  hw__log_set_prefix(prefix);
  /* The master drives reloads; a SIGHUP sent to the whole process group
   * must not end a worker. */
  hw__signals_ignore(HW__SIGNALS_BIT(HW__SIGNALS_RELOAD) |
                     /* the master's; a pkill must not end it */
                     HW__SIGNALS_BIT(HW__SIGNALS_UPGRADE));
  if (nfds < 1 || nfds > MAX_LISTEN) {
    hw__log(HW_LOG_ERROR, "bad --listen-fds %d", nfds);
    return 1;
  }
  for (int i = 0; i < nfds; i++)
    fds[i] = 4 + i;
  /* The counters first: the generation's routes find their series. */
  if (wa->metrics_fd >= 0 && hw__metrics_attach(wa->metrics_fd, (unsigned)id))
    hw__log(HW_LOG_WARN, "cannot map the counters' memory: not counting");
  if (wa->tickets_fd >= 0 && hw__tickets_attach(wa->tickets_fd) != 0)
    hw__log(HW_LOG_WARN, "cannot map the TLS ticket keys: no resumption");
  memset(&w, 0, sizeof(w));
  w.id = id;
  if (hw__config_load(snapshot, &cfg, err, sizeof(err)) != 0 ||
      hw__generation_build(cfg, gen_id, &hw__host, &gen, err, sizeof(err)) !=
          0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    return 1;
  }
  if (hw__worker_init(&w, loop, gen) != 0)
    return hw__worker_abandon(&w);
  if (hw__worker_listen_fds(&w, fds, (size_t)nfds, err, sizeof(err)) != 0 ||
      hw__worker_attach(&w, 3, wa->note_file) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    return hw__worker_abandon(&w);
  }
  return serve(&w, loop);
}

/* `haywire -s WORD`: the pid file is --pid-file's, else the config's
 * "pid_file" (read alone, so that a config whose routes do not load still
 * lets a reload reach the server, which then says why it refuses it), else
 * the default. */
static int signal_server(const char *word, const char *config,
                         const char *pid_file, int other_options) {
  char err[4096], *from_config = NULL;
  hw__config *cfg;
  uint64_t wait_ms = WAIT_STOP_MS;
  int r;

  /* What -t, --listen, --workers or --run-dir would mean for a server that
   * is already running is nothing: say so rather than ignore them. */
  if (other_options)
    return usage_error("-s %s takes no option but -c and --pid-file", word);

  if (pid_file == NULL) {
    if (hw__config_pid_file(config, &from_config, err, sizeof(err)) != 0) {
      fprintf(stderr, "haywire: -s %s: %s (the server was not signalled)\n",
              word, err);
      return 1;
    }
    pid_file = from_config != NULL ? from_config : DEFAULT_PID_FILE;
  }
  if (strcmp(word, "reload") == 0) {
    wait_ms = WAIT_RELOAD_MS;
  } else if (strcmp(word, "upgrade") == 0) {
    wait_ms = WAIT_UPGRADE_MS;
  } else if (strcmp(word, "quit") == 0) {
    /* The drain the server will grant, if the config says (best effort:
     * the server's own config is what counts). */
    wait_ms = 30000 + WAIT_STOP_MS;
    if (hw__config_load(config, &cfg, err, sizeof(err)) == 0) {
      wait_ms = cfg->drain_ms + WAIT_STOP_MS;
      hw__config_free(cfg);
    }
  }
  r = hw__sigcmd_run(word, pid_file, wait_ms + WAIT_SLACK_MS);
  free(from_config);
  return r;
}

/* The pid file is --pid-file's, the config's "pid_file", or the built-in
 * default; a file asked for must be written, the default is best effort (a
 * server run by hand from a build tree may not own the system's run
 * directory): then *pid_file becomes NULL.  `deferred`: only the path is
 * decided.  Returns 0 or -1 (logged). */
static int take_pid_file(const hw__config *cfg, const char **pid_file,
                         char **owned, int deferred) {
  char err[4400];
  int r, by_default = 0;

  if (*pid_file == NULL && cfg->pid_file != NULL)
    *pid_file = *owned = strdup(cfg->pid_file);
  if (*pid_file == NULL) {
    *pid_file = DEFAULT_PID_FILE;
    by_default = 1;
  }
  /* A new master of an upgrade: the old one holds the file until this one
   * is ready (upgrade.c hands it over). */
  if (deferred)
    return 0;
  if ((r = hw__pidfile_write(*pid_file, err, sizeof(err))) == 0)
    return 0;
  if (by_default && r != UV_EEXIST) {
    hw__log(HW_LOG_WARN, "%s (haywire -s will not find this server)", err);
    *pid_file = NULL;
    return 0;
  }
  hw__log(HW_LOG_ERROR, "%s", err);
  free(*owned);
  *owned = NULL;
  return -1;
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

/* Takes a worker's option: 0, 1 for a bad value, -1 for another option. */
static int take_worker_opt(int ch, const char *arg, worker_args *wa) {
  switch (ch) {
  case OPT_WORKER:
    return parse_int(arg, 1, HW__CONFIG_WORKERS_MAX, &wa->id) != 0;
  case OPT_GENERATION:
    return parse_int(arg, 1, 1 << 30, &wa->gen_id) != 0;
  case OPT_LISTEN_FDS:
    return parse_int(arg, 1, MAX_LISTEN, &wa->nfds) != 0;
  case OPT_METRICS_FD:
    return parse_int(arg, -1, 1 << 20, &wa->metrics_fd) != 0; /* -1: none */
  case OPT_TICKETS_FD:
    return parse_int(arg, -1, 1 << 20, &wa->tickets_fd) != 0;
  case OPT_SLOT_FILE:
    wa->note_file = arg;
    return 0;
  default:
    return -1;
  }
}

/* What a binary upgrade starts again: this command line (before getopt
 * reorders it) and this binary's path, made absolute now (the current
 * directory could change; /proc/self/exe names a deleted file once the
 * binary is replaced).  Returns the copy of argv to free. */
static char **remember_command(int argc, char **argv, hw__master_opts *mo,
                               char *exe, size_t exe_len) {
  char **copy = calloc((size_t)argc + 1, sizeof(char *));
  for (int i = 0; copy != NULL && i < argc; i++)
    copy[i] = argv[i];
  if (hw__upgrade_exe_path(argv[0], exe, exe_len) == 0)
    mo->exe = exe;
  mo->argv = copy;
  return copy;
}

/* Started by a binary upgrade: the old master's sockets and pipe (not for
 * this one's children: the variables go), and errors told to it. */
static void take_inherited(hw__master_opts *mo) {
  const char *fd = getenv("HAYWIRE_UPGRADE_FD");
  const char *fds = getenv("HAYWIRE_LISTEN_FDS");

  if (fd != NULL && parse_int(fd, 3, 1 << 20, &mo->upgrade_fd) == 0)
    hw__log_tee(mo->upgrade_fd);
  if (fds != NULL)
    mo->inherited_fds = strdup(fds);
  hw__procenv_unset("HAYWIRE_UPGRADE_FD");
  hw__procenv_unset("HAYWIRE_LISTEN_FDS");
}

/* The command line's long options. */
static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"listen", required_argument, NULL, 'l'},
    {"test", no_argument, NULL, 't'},
    {"signal", required_argument, NULL, 's'},
    {"run-dir", required_argument, NULL, 'r'},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"single", no_argument, NULL, OPT_SINGLE},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"version", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    /* Used by the master to start its workers; not for people. */
    {"worker", required_argument, NULL, OPT_WORKER},
    {"generation", required_argument, NULL, OPT_GENERATION},
    {"listen-fds", required_argument, NULL, OPT_LISTEN_FDS},
    {"slot-file", required_argument, NULL, OPT_SLOT_FILE},
    {"metrics-fd", required_argument, NULL, OPT_METRICS_FD},
    {"tickets-fd", required_argument, NULL, OPT_TICKETS_FD},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv) {
  const char *config = DEFAULT_CONFIG, *run_dir = NULL, *pid_file = NULL;
  const char *signal_word = NULL;
  char *cfg_pid_file = NULL;
  hw__config_listen listen[MAX_LISTEN];
  size_t nlisten = 0;
  worker_args wa = {0, 0, 1, -1, -1, NULL};
  int test = 0, ch, workers = -2, r;
  char err[4096], exe[4096];
  hw__config *cfg;
  /* (Static: kept for the process's life, as the upgrade may need them at
   * any time; and reachable to the end, which leak checkers count.) */
  static hw__master_opts mo = {NULL, NULL, NULL, NULL, NULL, -1};
  static char **orig_argv;
  hw__procenv_init();
  orig_argv = remember_command(argc, argv, &mo, exe, sizeof(exe));

  while ((ch = getopt_long(argc, argv, "c:l:ts:vh", opts, NULL)) != -1) {
    switch (ch) {
    case 'c':
      config = optarg;
      break;
    case 'l':
      if (nlisten == MAX_LISTEN) {
        fprintf(stderr, "haywire: --listen: at most %d addresses\n",
                MAX_LISTEN);
        return 1;
      }
      if (hw__listen_parse(optarg, &listen[nlisten], err, sizeof(err)) !=
          0) {
        fprintf(stderr, "haywire: --listen: %s\n", err);
        return 1;
      }
      nlisten++;
      break;
    case 't':
      test = 1;
      break;
    case 's':
      if ((r = take_signal_word(&signal_word, optarg)) != 0)
        return r;
      break;
    case 'r':
      run_dir = optarg;
      break;
    case OPT_WORKERS:
      if (strcmp(optarg, "auto") == 0)
        workers = HW__CONFIG_WORKERS_AUTO;
      else if (parse_int(optarg, 0, HW__CONFIG_WORKERS_MAX, &workers) != 0) {
        fprintf(stderr, "haywire: --workers: 0 to %d, or auto\n",
                HW__CONFIG_WORKERS_MAX);
        return 1;
      }
      break;
    case OPT_SINGLE:
      workers = 0;
      break;
    case OPT_PID_FILE:
      pid_file = optarg;
      break;
    case 'v':
      printf("%s (module ABI %d.%d, libuv %s)\n", VERSION_STRING,
             HW_ABI_MAJOR, HW_ABI_MINOR, uv_version_string());
      return 0;
    case 'h':
      usage(stdout);
      return 0;
    default:
      if ((r = take_worker_opt(ch, optarg, &wa)) < 0)
        return usage_error(NULL, NULL);
      if (r != 0)
        return 1;
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument \"%s\"", argv[optind]);
  if (signal_word != NULL)
    return signal_server(signal_word, config, pid_file,
                         test || nlisten > 0 || workers != -2 || run_dir);

  /* A peer that resets while we write must cost an error code, not the
   * process. */
  hw__signals_ignore(HW__SIGNALS_BIT(HW__SIGNALS_PIPE));

  if (test)
    return check_config(config, listen, nlisten);
  /* Signals that stop or reload the server wait until their handlers are
   * in place (hw__worker_run, the master's start): arriving earlier, their
   * default action would kill the process and leave its run directory. */
  hw__process_block_signals(1);
  raise_nofile();
  if (wa.id > 0)
    return run_worker(&wa, config);
  take_inherited(&mo);

  /* The master or the single process: which is the config's (or the
   * command line's) call. */
  if (hw__config_load(config, &cfg, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    return 1;
  }
  if (workers == -2)
    workers = cfg->workers;
  if (workers == HW__CONFIG_WORKERS_AUTO)
    workers = (int)uv_available_parallelism();
  if (take_pid_file(cfg, &pid_file, &cfg_pid_file, mo.upgrade_fd >= 0) != 0) {
    hw__config_free(cfg);
    return 1;
  }
  if (workers == 0 && mo.upgrade_fd >= 0) {
    hw__log(HW_LOG_ERROR, "%s: a binary upgrade needs a master, and this "
                          "config runs a single process (\"workers\": 0)",
            cfg->path);
    hw__config_free(cfg);
    r = 1;
  } else if (workers == 0) {
    hw__config_free(cfg);
    r = run_single(config, listen, nlisten, run_dir, pid_file);
  } else if (nlisten > 0 &&
             hw__config_keep_listen(cfg, listen, NULL, nlisten) < 0) {
    hw__config_free(cfg);
    r = 1;
  } else {
    hw__log_set_prefix("master");
    mo.run_dir_parent = run_dir;
    mo.pid_file = pid_file;
    r = hw__master_run(cfg, workers, &mo);
  }
  hw__pidfile_remove(pid_file);
  free(cfg_pid_file);
  free((char *)mo.inherited_fds);
  free(orig_argv);
  return r;
}
