/*
 * main.c - the haywire command: parses the command line, checks or loads the
 * configuration and runs the worker.
 *
 *   haywire [-c FILE] [--listen HOST:PORT]... [-t] [--version] [-h]
 *
 * `-t` builds the whole configuration exactly as start-up would (every module
 * loaded, every route's init called, then fini) without opening a socket, so
 * it can run beside a live server and tells the truth about what start-up
 * would do.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_CONFIG "etc/routes.json"
#define MAX_LISTEN 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: haywire [-c FILE] [--listen HOST:PORT]... [-t] [--version] "
          "[-h]\n"
          "  -c, --config FILE     routes file (default " DEFAULT_CONFIG ")\n"
          "  -l, --listen ADDR     listen on ADDR instead of the config's list\n"
          "                        (127.0.0.1:8080, [::1]:8080, *:8080, 8080;"
          " repeatable)\n"
          "  -t, --test            check the config and its modules, then exit\n"
          "      --run-dir DIR     where private module copies go (default\n"
          "                        $TMPDIR or /tmp)\n"
          "  -v, --version         print the version and exit\n"
          "  -h, --help            print this help and exit\n");
}

/* Many keep-alive connections need many descriptors: take all the system
 * allows this process. */
static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      hw__log(HW_LOG_WARN, "cannot raise the open file limit");
  }
}

/* Loads the config, applies --listen, builds generation 1 (from private
 * copies of the modules when `rl` is given, as every later reload does). */
static int load(const char *path, const hw__listen *listen, size_t nlisten,
                hw__reloader *rl, hw__generation **out, char *err,
                size_t err_len) {
  hw__config *cfg;
  int r = hw__config_load(path, &cfg, err, err_len);
  if (r != 0)
    return r;
  if (nlisten > 0 && (r = hw__config_set_listen(cfg, listen, nlisten)) != 0) {
    hw__config_free(cfg);
    snprintf(err, err_len, "out of memory");
    return r;
  }
  if (rl != NULL && (r = hw__stage(rl, cfg, 1, err, err_len)) != 0) {
    hw__config_free(cfg);
    return r;
  }
  return hw__generation_build(cfg, 1, out, err, err_len);
}

static int check_config(const char *path, const hw__listen *listen,
                        size_t nlisten) {
  char err[2048];
  hw__generation *g;
  uv_loop_t *loop = uv_default_loop();

  if (load(path, listen, nlisten, NULL, &g, err, sizeof(err)) != 0) {
    fprintf(stderr, "haywire: %s\n", err);
    return 1;
  }
  hw__generation_fini(g);
  /* Let handles that modules closed in fini finish closing while their
   * close callbacks are still loaded, then unload. */
  uv_run(loop, UV_RUN_NOWAIT);
  hw__generation_free(g);
  uv_loop_close(loop);
  printf("configuration OK\n");
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"listen", required_argument, NULL, 'l'},
      {"test", no_argument, NULL, 't'},
      {"run-dir", required_argument, NULL, 'r'},
      {"version", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *config = DEFAULT_CONFIG, *run_dir = NULL;
  hw__listen listen[MAX_LISTEN];
  size_t nlisten = 0;
  int test = 0, ch, r;
  char err[2048];
  hw__generation *gen;
  hw__worker w;
  uv_loop_t *loop;

  while ((ch = getopt_long(argc, argv, "c:l:tvh", opts, NULL)) != -1) {
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
      if (hw__listen_parse(optarg, &listen[nlisten], err, sizeof(err)) != 0) {
        fprintf(stderr, "haywire: --listen: %s\n", err);
        return 1;
      }
      nlisten++;
      break;
    case 't':
      test = 1;
      break;
    case 'r':
      run_dir = optarg;
      break;
    case 'v':
      printf("%s (module ABI %d.%d, libuv %s)\n", HW__VERSION_STRING,
             HW_ABI_MAJOR, HW_ABI_MINOR, uv_version_string());
      return 0;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "haywire: unexpected argument \"%s\"\n", argv[optind]);
    usage(stderr);
    return 1;
  }

  /* A peer that resets while we write must cost an error code, not the
   * process. */
  signal(SIGPIPE, SIG_IGN);

  if (test)
    return check_config(config, listen, nlisten);

  raise_nofile();
  loop = uv_default_loop();
  memset(&w, 0, sizeof(w));
  if (hw__rundir_create(&w.reload, run_dir, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    return 1;
  }
  w.reload.config_path = strdup(config);
  if (load(config, listen, nlisten, &w.reload, &gen, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    w.gen = NULL;
    hw__reload_destroy(&w);
    return 1;
  }
  if ((r = hw__worker_init(&w, loop, gen)) != 0) {
    hw__log(HW_LOG_ERROR, "cannot start: %s", uv_strerror(r));
    hw__worker_destroy(&w);
    return 1;
  }
  if (hw__worker_listen(&w, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    for (size_t i = 0; i < w.nlisteners; i++)
      uv_close((uv_handle_t *)&w.listeners[i], NULL);
    uv_close((uv_handle_t *)&w.date_timer, NULL);
    hw__generation_fini(w.gen);
    uv_run(loop, UV_RUN_DEFAULT);
    hw__worker_destroy(&w); /* unloads the modules */
    uv_loop_close(loop);
    return 1;
  }
  hw__log(HW_LOG_INFO, "%s started (pid %d, %zu routes)", HW__VERSION_STRING,
          (int)getpid(), w.gen->nroutes);
  hw__worker_run(&w);
  hw__worker_destroy(&w);
  if (uv_loop_close(loop) != 0)
    hw__log(HW_LOG_WARN, "a module left libuv handles open at exit");
  hw__log(HW_LOG_INFO, "stopped");
  return 0;
}
