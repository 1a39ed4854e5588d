/*
 * fuzz_config.c - libFuzzer target for the config loader: the input is the
 * text of a routes.json.  hw__config_parse must accept or refuse it without
 * crashing or leaking; an accepted config must survive hw__config_write_json
 * (what the reload preflight reads back) unchanged: parsed again it is
 * accepted, and written again it gives the same text.  An accepted config
 * whose modules are the fuzz build's own is also built into a generation,
 * which hands each route's "config" to the module's init (hello, echo and
 * delay parse it by hand), then finalised and freed.
 *
 * The config's "file" is HW_FUZZ_MODULES_DIR/routes.json, so that without a
 * modules_dir the seeds' "hello.so" and the like resolve to the fuzz build's
 * modules (validation stats the module files).
 */
#include "autoconf.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_write.h"
#include "generation.h"
#include "host.h"
#include "log.h"

#ifndef HW_FUZZ_MODULES_DIR
#define HW_FUZZ_MODULES_DIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cfg_path[PATH_MAX + 16];
static char mod_dir[PATH_MAX];
static size_t mod_dir_len;
static int debug; /* HW_FUZZ_DEBUG=1: say what became of each input */

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_config: invariant failed: %s (%s:%d): ", #cond,    \
              __FILE__, __LINE__);                                             \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      abort();                                                                 \
    }                                                                          \
  } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  static const char *const mods[] = {"hello.so", "echo.so", "delay.so"};
  const char *mdir = getenv("HW_FUZZ_MODULES_DIR");

  (void)argc;
  (void)argv;
  if (mdir == NULL || mdir[0] == '\0')
    mdir = HW_FUZZ_MODULES_DIR;
  hw__log_set_level(HW_LOG_ERROR);
  debug = getenv("HW_FUZZ_DEBUG") != NULL;
  if (realpath(mdir, mod_dir) == NULL) {
    fprintf(stderr, "fuzz_config: %s: cannot resolve\n", mdir);
    exit(2);
  }
  mod_dir_len = strlen(mod_dir);
  snprintf(cfg_path, sizeof(cfg_path), "%s/routes.json", mod_dir);
  /* Keep the modules mapped for the whole run, so that building and freeing
   * a generation per input only counts references. */
  for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
    char p[PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/%s", mod_dir, mods[i]);
    if (dlopen(p, RTLD_NOW | RTLD_LOCAL) == NULL) {
      fprintf(stderr,
              "fuzz_config: %s\n(set HW_FUZZ_MODULES_DIR to the directory of "
              "the fuzz build's hello.so, echo.so and delay.so)\n",
              dlerror());
      exit(2);
    }
  }
  return 0;
}

/* Only the fuzz build's own modules are loaded: a config may name any file
 * on the machine, and loading arbitrary shared objects is not the point. */
static int own_modules(const hw__config *cfg) {
  for (size_t i = 0; i < cfg->nroutes; i++) {
    char real[PATH_MAX];
    const char *base;
    if (realpath(cfg->routes[i].module_path, real) == NULL ||
        strncmp(real, mod_dir, mod_dir_len) != 0 || real[mod_dir_len] != '/')
      return 0;
    base = real + mod_dir_len + 1;
    if (strcmp(base, "hello.so") != 0 && strcmp(base, "echo.so") != 0 &&
        strcmp(base, "delay.so") != 0)
      return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hw__config *cfg = NULL, *again = NULL;
  hw__generation *gen = NULL;
  char err[2048];
  char *text, *text2;

  err[0] = '\0';
  if (hw__config_parse((const char *)data, size, cfg_path, &cfg, err,
                       sizeof(err)) != 0) {
    CHECK(cfg == NULL, "a refused config is returned");
    CHECK(err[0] != '\0', "refused without a message");
    if (debug)
      fprintf(stderr, "refused: %s\n", err);
    return 0;
  }
  CHECK(cfg != NULL, "accepted without a config");

  /* The round trip the reload preflight depends on. */
  text = hw__config_write_json(cfg);
  CHECK(text != NULL, "hw__config_write_json failed");
  err[0] = '\0';
  CHECK(hw__config_parse(text, strlen(text), "snapshot.json", &again, err,
                         sizeof(err)) == 0,
        "its own JSON is refused: %s\n--- input ---\n%.*s\n--- JSON ---\n%s",
        err, (int)size, (const char *)data, text);
  text2 = hw__config_write_json(again);
  CHECK(text2 != NULL, "hw__config_write_json failed the second time");
  CHECK(strcmp(text, text2) == 0,
        "the round trip changed it\n--- first ---\n%s\n--- second ---\n%s",
        text, text2);
  CHECK(again->nroutes == cfg->nroutes && again->nlisten == cfg->nlisten &&
            again->workers == cfg->workers &&
            again->limit_body == cfg->limit_body &&
            again->timeout_head_ms == cfg->timeout_head_ms,
        "the round trip changed a value");
  for (size_t i = 0; i < cfg->nroutes; i++)
    CHECK(strcmp(cfg->routes[i].prefix, again->routes[i].prefix) == 0 &&
              strcmp(cfg->routes[i].module_path,
                     again->routes[i].module_path) == 0 &&
              strcmp(cfg->routes[i].config_json,
                     again->routes[i].config_json) == 0,
          "the round trip changed routes[%zu]", i);
  free(text);
  free(text2);
  hw__config_free(again);

  /* Build it: every route's init sees its "config" text. */
  if (own_modules(cfg)) {
    int r = hw__generation_build(cfg, 1, &hw__host, &gen, err, sizeof(err));
    if (debug)
      fprintf(stderr, "accepted, %s%s\n", r == 0 ? "built" : "not built: ",
              r == 0 ? "" : err);
    if (r == 0)
      hw__generation_free(gen);
  } else {
    if (debug)
      fprintf(stderr, "accepted (not built: other modules)\n");
    hw__config_free(cfg);
  }
  return 0;
}
