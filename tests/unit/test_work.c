/*
 * test_work.c - unit tests of modules' thread-pool work (server/work.c) on
 * a real loop and pool: the cap (one thread stays the server's), the
 * queue behind it, the request held until its done callback has run even
 * if it is freed meanwhile, the generation's count, and cancelling what
 * has not started when a generation is given up.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "request.h"
#include "router.h"
#include "tap.h"
#include "work.h"

static int done_ok, done_cancelled, max_running;
static volatile int running;
static uv_mutex_t lock;

static void sleeper(void *arg) {
  (void)arg;
  uv_mutex_lock(&lock);
  if (++running > max_running)
    max_running = running;
  uv_mutex_unlock(&lock);
  usleep(30000);
  uv_mutex_lock(&lock);
  running--;
  uv_mutex_unlock(&lock);
}

static void done(hw_request *req, void *arg, int status) {
  int *seen = arg;
  (void)req;
  *seen = 1;
  if (status == 0)
    done_ok++;
  else if (status == HW_ECANCELED)
    done_cancelled++;
}

static void no_ready(hw_request *r) { (void)r; }
static int no_peer(const hw_request *r, char *b, size_t n) {
  (void)r, (void)b, (void)n;
  return -1;
}
static size_t no_unsent(const hw_request *r) {
  (void)r;
  return 0;
}
static const hw__request_sink sink = {no_ready, no_ready, no_peer, no_ready,
                                      no_unsent, NULL, NULL, NULL};

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  static const hw__module_site site = {"/w", 0, 1};
  hw__request_core core;
  hw__generation gen;
  hw__config cfg;
  hw__route rt;
  hw_request *reqs[8];
  int seen[8] = {0};
  int owner = 1;

  uv_mutex_init(&lock);
  hw__work_configure(4); /* before the first work: libuv reads it once */
  memset(&gen, 0, sizeof(gen));
  memset(&cfg, 0, sizeof(cfg));
  memset(&rt, 0, sizeof(rt));
  cfg.limit_body = 1024;
  gen.config = &cfg;
  gen.router = hw__router_new(); /* empty: requests route nowhere */
  rt.gen = &gen;
  hw__request_core_init(&core, &gen);
  for (int i = 0; i < 8; i++) {
    reqs[i] = hw__request_new(&core, &sink, &owner);
    hw__request_route(reqs[i]);
    reqs[i]->route = &rt;
    reqs[i]->state = HW__REQ_RUNNING;
    reqs[i]->deferred = 1;
  }
  {
    int bad = 0;
    for (int i = 0; i < 6; i++)
      bad |= hw__work_queue(loop, reqs[i], &site, sleeper, done, &seen[i]);
    is_int(bad, 0, "six items queued");
  }
  is_int((long long)hw__work_in_flight(), 3,
         "a pool of 4: three module items in flight");
  is_int((long long)hw__work_waiting(), 3, "the rest wait here, in order");
  is_int((long long)gen.work, 6, "the generation counts its work");

  /* A request freed while its work runs stays valid until done. */
  reqs[0]->owner = NULL;
  reqs[0]->state = HW__REQ_DONE;
  hw__request_free(reqs[0]);
  ok(reqs[0]->free_wanted && reqs[0]->holds == 1,
     "a request freed with work in flight is only marked");

  uv_run(loop, UV_RUN_DEFAULT);
  is_int(done_ok, 6, "every item's done callback ran, with status 0");
  is_int(max_running, 3, "never more than three at once");
  is_int((long long)gen.work, 0, "the generation's count is back to 0");
  is_int((long long)gen.live, 7, "the freed request was let go (7 left)");

  /* Items that have not started are cancelled with their generation. */
  for (int i = 1; i < 8; i++)
    seen[i] = 0;
  for (int i = 1; i < 8; i++)
    hw__work_queue(loop, reqs[i], &site, sleeper, done, &seen[i]);
  is_int((long long)hw__work_waiting(), 4, "four wait behind three");
  hw__work_cancel_generation(&gen);
  is_int(done_cancelled, 4, "cancelled: their done runs with HW_ECANCELED");
  is_int((long long)hw__work_waiting(), 0, "and they leave the queue");
  uv_run(loop, UV_RUN_DEFAULT);
  is_int(done_ok, 9, "those already on a thread complete");
  is_int((long long)gen.work, 0, "nothing is counted any more");

  for (int i = 1; i < 8; i++) {
    reqs[i]->state = HW__REQ_DONE;
    hw__request_free(reqs[i]);
  }
  is_int((long long)gen.live, 0, "every request unpinned");
  hw__request_core_stop(&core);
  uv_run(loop, UV_RUN_DEFAULT);
  hw__request_core_destroy(&core);
  hw__router_free(gen.router);
  is_int(uv_loop_close(loop), 0, "every handle was closed");
  uv_mutex_destroy(&lock);
  return done_testing();
}
