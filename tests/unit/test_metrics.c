/*
 * test_metrics.c - unit tests of the server's counters (server/metrics.c):
 * the region a master makes and its workers map (here the same process
 * plays both, attaching to a slot through a copy of the descriptor), route
 * series by prefix (kept for a prefix seen again, the overflow series past
 * the capacity), counting (status codes, past the table of codes, the
 * histogram's bounds, bodies), the snapshot summing the slots (sorted,
 * merged by prefix, cumulative buckets), a writer that died mid-update,
 * what the master writes (reloads, restarts, a dead worker's gauges), the
 * processes read from /proc and the clock.
 */
#include "autoconf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef _WIN32
#include <sys/wait.h> /* test_concurrent's writer */
#endif
#include <unistd.h>

#include "metrics.h"
#include "portable.h"
#include "tap.h"

/* The snapshot's allocations, freed together (as a request's are). */
static void *blocks[1 << 16];
static size_t nblocks;

static void *take(void *ctx, size_t n) {
  (void)ctx;
  if (nblocks == sizeof(blocks) / sizeof(blocks[0]))
    return NULL;
  return blocks[nblocks++] = malloc(n);
}

static void drop(void) {
  while (nblocks > 0)
    free(blocks[--nblocks]);
}

static const hw_metrics_route *route(const hw_metrics *m, const char *prefix) {
  for (size_t i = 0; m != NULL && i < m->nroutes; i++)
    if (m->routes[i].prefix.len == strlen(prefix) &&
        memcmp(m->routes[i].prefix.data, prefix, strlen(prefix)) == 0)
      return &m->routes[i];
  return NULL;
}

static uint64_t code(const hw_metrics_route *r, unsigned c) {
  for (size_t i = 0; r != NULL && i < r->ncodes; i++)
    if (r->codes[i].code == c)
      return r->codes[i].count;
  return 0;
}

static uint64_t named(const hw_metrics_count *c, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(c[i].name, name) == 0)
      return c[i].count;
  return (uint64_t)-1;
}

/* Becomes the worker of `slot`, as a worker process does. */
static hw__metrics_slot *become(unsigned slot) {
  int fd = dup(hw__metrics_fd());
  return hw__metrics_attach(fd, slot) == 0 ? hw__metrics_mine() : NULL;
}

static void count(hw__metrics_series *s, unsigned status, uint64_t ns,
                  uint64_t in, uint64_t out) {
  hw__metrics_request(s, status, ns, in, out);
}

static void test_counting(void) {
  hw__metrics_slot *w1, *w2;
  hw__metrics_series *a1, *a2, *b1;
  const hw_metrics *m;
  const hw_metrics_route *r;

  ok(hw__metrics_create(2) == 0, "a region of 2 slots");
  ok(hw__metrics_fd() >= 0, "shared by a descriptor");
  ok(hw__metrics_mine() == NULL, "the master writes no slot");
  is_int(hw__metrics_attach(dup(hw__metrics_fd()), 3), -EINVAL,
         "slot 3 of 2 is refused");
  is_int(hw__metrics_attach(dup(0), 1), -EINVAL,
         "a descriptor that is no region is refused");
  w1 = become(1);
  ok(w1 != NULL, "worker 1 attaches");
  a1 = hw__metrics_series_for(w1, "/a", 2);
  b1 = hw__metrics_series_for(w1, "/b/c", 4);
  ok(a1 != NULL && b1 != NULL && a1 != b1, "a series per prefix");
  ok(hw__metrics_series_for(w1, "/a", 2) == a1,
     "the same prefix again (a reload) finds its series");
  count(a1, 200, 1000, 0, 13);
  count(a1, 200, 500000, 10, 13);  /* on the first bound: le */
  count(a1, 404, 500001, 0, 0);    /* just past it */
  count(b1, 200, 20000000000ull, 0, 0); /* 20 s: past every bound */
  count(b1, 200, (uint64_t)-5000, 0, 0); /* a clock that went back */

  w2 = become(2);
  ok(w2 != NULL && w2 != w1, "worker 2 attaches to its own slot");
  a2 = hw__metrics_series_for(w2, "/a", 2);
  count(a2, 200, 3000000, 5, 7);
  count(&w2->series[HW__METRICS_NO_ROUTE], 400, 100, 0, 16);

  m = hw__metrics_snapshot(take, NULL);
  ok(m != NULL, "a snapshot");
  if (m == NULL)
    return;
  is_int((long long)m->size, (long long)sizeof(hw_metrics), "its size");
  is_str(m->abi, "1.7", "the ABI it was built with");
  is_int((long long)m->nroutes, 3, "three series: none, /a, /b/c");
  ok(m->nroutes == 3 && m->routes[0].prefix.len == 0 &&
         m->routes[1].prefix.len == 2 && m->routes[2].prefix.len == 4,
     "sorted by prefix, the requests without a route first");
  r = route(m, "/a");
  ok(r != NULL, "/a is there once, summed over the slots");
  if (r == NULL)
    return;
  is_int((long long)r->requests, 4, "/a: 4 requests");
  is_int((long long)code(r, 200), 3, "/a: 3 of them 200 (2 slots)");
  is_int((long long)code(r, 404), 1, "/a: one 404");
  ok(r->ncodes == 2 && r->codes[0].code == 200 && r->codes[1].code == 404,
     "/a: codes ascending");
  is_int((long long)r->buckets[0], 2, "/a: 2 within 0.5 ms (one exactly)");
  is_int((long long)r->buckets[1], 3, "/a: 3 within 1 ms (cumulative)");
  is_int((long long)r->buckets[2], 3, "/a: still 3 within 2.5 ms");
  is_int((long long)r->buckets[3], 4, "/a: 4 within 5 ms (3 ms)");
  is_int((long long)r->buckets[HW__METRICS_NBOUNDS], 4,
         "/a: +Inf counts them all");
  is_int((long long)r->duration_ns, 1000 + 500000 + 500001 + 3000000,
         "/a: the durations summed");
  is_int((long long)r->request_body_bytes, 15, "/a: request bodies");
  is_int((long long)r->response_body_bytes, 33, "/a: response bodies");
  r = route(m, "/b/c");
  ok(r != NULL && r->buckets[HW__METRICS_NBOUNDS - 1] == 1 &&
         r->buckets[0] == 1 && r->buckets[HW__METRICS_NBOUNDS] == 2,
     "20 s is past the last bound (10 s), in +Inf only");
  ok(r != NULL && r->duration_ns == 20000000000ull,
     "a duration that wrapped round counts as none");
  r = route(m, "");
  ok(r != NULL && r->requests == 1 && code(r, 400) == 1,
     "a request without a route in the empty prefix's series");
  is_int((long long)m->nbounds, HW__METRICS_NBOUNDS, "14 bounds");
  ok(m->bounds[0] == 0.0005 && m->bounds[13] == 10, "0.0005 s .. 10 s");
  drop();
}

static void test_limits(void) {
  hw__metrics_slot *w = become(1);
  hw__metrics_series *s = hw__metrics_series_for(w, "/codes", 6), *o;
  const hw_metrics *m;
  const hw_metrics_route *r;
  char name[32];
  int overflowed = 0;

  for (unsigned c = 200; c < 200 + HW__METRICS_CODES + 2; c++)
    count(s, c, 0, 0, 0);
  m = hw__metrics_snapshot(take, NULL);
  r = route(m, "/codes");
  ok(r != NULL && r->ncodes == HW__METRICS_CODES && r->other_codes == 2 &&
         r->requests == HW__METRICS_CODES + 2,
     "codes past the table of 24 are counted as other");
  drop();

  /* Fill the slot's table: the series past it share the overflow one. */
  for (int i = 0; i < HW__METRICS_SERIES + 10; i++) {
    snprintf(name, sizeof(name), "/r%d", i);
    o = hw__metrics_series_for(w, name, strlen(name));
    overflowed += o == &w->series[HW__METRICS_OVERFLOW];
  }
  /* The slot had /a, /b/c and /codes: 4093 more fit. */
  is_int(overflowed, HW__METRICS_SERIES + 10 - (HW__METRICS_SERIES - 3),
         "past 4096 prefixes a slot has, the overflow series");
  count(o, 200, 0, 0, 0);
  m = hw__metrics_snapshot(take, NULL);
  r = route(m, "*");
  ok(r != NULL && r->requests == 1, "counted under the prefix \"*\"");
  ok(route(m, "/r4000") != NULL && route(m, "/r4000")->requests == 0,
     "a route never asked for is shown with 0");
  drop();
}

static void test_dead_writer(void) {
  hw__metrics_slot *w = become(2);
  hw__metrics_series *s = hw__metrics_series_for(w, "/a", 2);
  ptrdiff_t at = (char *)s - (char *)w; /* a new mapping moves it */
  const hw_metrics *m;

  /* A worker killed in the middle of a count leaves its sequence odd. */
  atomic_store(&s->seq, atomic_load(&s->seq) | 1);
  hw__metrics_set(&w->conns[HW__CONNS_WAITING], 7);
  hw__metrics_add(&w->accepted, 5);
  m = hw__metrics_snapshot(take, NULL);
  ok(m != NULL && route(m, "/a") != NULL,
     "a reader does not wait for ever on a series left odd");
  ok(m != NULL && m->connections_waiting >= 7, "gauges summed");
  drop();
  hw__metrics_slot_dead(2);
  m = hw__metrics_snapshot(take, NULL);
  ok(m != NULL && m->connections_waiting == 0,
     "the master clears a dead worker's gauges");
  ok(m != NULL && m->connections_accepted >= 5, "and keeps its counters");
  drop();
  w = become(2);
  ok((atomic_load(&w->series[HW__METRICS_FIRST].seq) & 1) == 0,
     "its successor makes the sequence even again");
  ok((char *)hw__metrics_series_for(w, "/a", 2) - (char *)w == at,
     "and finds the series its predecessor had");
}

/* A writer in another process, flat out, while this one takes snapshots:
 * every snapshot has each route whole (its requests, histogram and bodies
 * agree), and a slot that grows meanwhile hides no other slot's series. */
static void test_concurrent(void) {
  hw__metrics_slot *w1, *w2;
  hw__metrics_series *c;
  int torn = 0, missing = 0, snaps = 0;
#ifndef _WIN32
  pid_t pid;
#endif

  /* A region of its own: the others' slot 1 is full. */
  ok(hw__metrics_create(2) == 0, "a fresh region");
  w1 = become(1);
  c = hw__metrics_series_for(w1, "/c", 2);
  w2 = become(2);
  hw__metrics_series_for(w2, "/z", 2);
#ifdef _WIN32
  /* (The writer must be another process mapping the region: the child of
   * a fork(), which Windows has not.) */
  (void)c;
  (void)torn;
  (void)missing;
  (void)snaps;
  skip(3, "no fork() on Windows: a writer in another process");
#else
  pid = fork();
  if (pid == 0) {
    /* The writer: slot 1's worker, for 0.4 s. */
    char name[32];
    uint64_t end = hw__metrics_mono_ns() + 400000000u;
    for (unsigned i = 0; hw__metrics_mono_ns() < end; i++) {
      for (int k = 0; k < 100; k++)
        hw__metrics_request(c, 200 + k % 3, (uint64_t)k * 20000, 7, 11);
      if (i % 10 == 0 && i < 30000) {
        snprintf(name, sizeof(name), "/g%u", i);
        hw__metrics_series_for(w1, name, strlen(name));
      }
    }
    _exit(0);
  }
  for (int k = 0; k < 100000 && waitpid(pid, NULL, WNOHANG) == 0; k++) {
    const hw_metrics *m = hw__metrics_snapshot(take, NULL);
    const hw_metrics_route *r = route(m, "/c");
    snaps++;
    if (r == NULL || r->requests != r->buckets[HW__METRICS_NBOUNDS] ||
        r->request_body_bytes != 7 * r->requests ||
        r->response_body_bytes != 11 * r->requests ||
        code(r, 200) + code(r, 201) + code(r, 202) != r->requests)
      torn++;
    if (route(m, "/z") == NULL)
      missing++;
    drop();
  }
  waitpid(pid, NULL, 0);
  diag("%d snapshots beside the writer", snaps);
  ok(snaps > 10, "snapshots were taken while it wrote");
  /* (On an overloaded machine a writer may stall mid-update past the
   * reader's wait: those reads, and only those, may disagree.) */
  diag("%llu reads gave up on a stalled writer",
       (unsigned long long)hw__metrics_gave_up());
  ok((uint64_t)torn <= hw__metrics_gave_up(),
     "no snapshot had a route half counted, but where the reader gave up "
     "on a stalled writer");
  is_int(missing, 0, "none lost another slot's series while one grew");
#endif
}

static void test_master(void) {
  const hw_metrics *m;

  hw__metrics_slot_dead(1);
  hw__metrics_started(1);
  hw__metrics_reloaded(1, 2);
  hw__metrics_reloaded(0, 2);
  hw__metrics_reloaded(1, 3);
  hw__metrics_restart(HW__RESTART_SIGNAL);
  hw__metrics_restart(HW__RESTART_EXIT);
  hw__metrics_restart(HW__RESTART_EXIT);
  m = hw__metrics_snapshot(take, NULL);
  if (!ok(m != NULL, "a snapshot of the master's part"))
    return;
  is_int((long long)m->generation, 3, "the generation of the last success");
  is_int((long long)named(m->reloads, m->nreloads, "ok"), 2, "reloads ok");
  is_int((long long)named(m->reloads, m->nreloads, "failed"), 1,
         "reloads failed");
  is_int((long long)named(m->restarts, m->nrestarts, "signal"), 1,
         "restarts after a signal");
  is_int((long long)named(m->restarts, m->nrestarts, "exit"), 2,
         "restarts after an exit");
  ok(m->last_reload_time > m->start_time - 1 &&
         m->last_reload_time < (double)time(NULL) + 1,
     "the last success's time, after the start");
  is_int((long long)m->ntimeouts, HW__TIMEOUT_KINDS, "every kind of timeout");
  is_str(m->timeouts[HW__TIMEOUT_BODY_RATE].name, "body_rate",
         "named as the counters' series are");
  is_int((long long)m->workers, 2, "2 workers");
  ok(m->nprocesses == 2 && strcmp(m->processes[0].role, "master") == 0 &&
         m->processes[0].pid == getpid(),
     "the master, then the running worker (slot 2 here)");
#ifdef _WIN32
  /* Windows has handles, not descriptors: their count is not reported. */
  ok(m->nprocesses == 2 && m->processes[1].slot == 2 &&
         m->processes[1].resident_bytes > 0,
     "resident memory from the process's working set");
#else
  ok(m->nprocesses == 2 && m->processes[1].slot == 2 &&
         m->processes[1].resident_bytes > 0 && m->processes[1].open_fds > 2,
     "resident memory and descriptors from /proc");
#endif
  drop();
}

static void test_clock(void) {
  uint64_t t0, t1, ns;

  hw__metrics_clock_init();
  diag("clock: %s", hw__metrics_tsc ? "time-stamp counter" : "monotonic");
  t0 = hw__metrics_ticks();
  nanosleep(&(struct timespec){0, 20000000}, NULL);
  t1 = hw__metrics_ticks();
  ns = hw__metrics_ns(t1 - t0);
  ok(ns >= 19000000 && ns < 200000000,
     "20 ms asleep measure 20 ms (%llu ns)", (unsigned long long)ns);
}

int main(void) {
  test_counting();
  test_limits();
  test_dead_writer();
  test_concurrent();
  test_master();
  test_clock();
  hw__metrics_close();
  return done_testing();
}
