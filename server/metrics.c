/*
 * metrics.c - the server's counters: the region the master makes and each
 * worker maps (a header the master writes, then one block per worker slot
 * that only its worker writes), the route series of a slot, and the
 * snapshot that sums the slots for host->metrics (ABI 1.4).
 *
 * The region is a memfd: shared by descriptor (each worker inherits it), in
 * no file system, so its pages are never written back to a disk, and a
 * block's pages are only allocated once something is counted there.  A
 * worker that dies leaves its counters where they were: its successor
 * takes the same slot and counts on.  A single process (no master) makes a
 * private region with one slot.  `haywire -t` makes none: nothing counts.
 *
 * Why per-slot blocks rather than shared counters: a counter that two
 * processes increment needs an atomic read-modify-write (a locked
 * instruction, a cache line bouncing between cores) on every request; a
 * counter with one writer is a plain load and store, and the reader, which
 * runs once a scrape, pays for the sum.
 */
#define _GNU_SOURCE
#include "autoconf.h"

#include "metrics.h"
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x48574d4554524943ull /* "HWMETRIC" */
#define PAGE 4096
#define HEADER_SIZE PAGE
#define SLOT_SIZE ((sizeof(hw__metrics_slot) + PAGE - 1) / PAGE * PAGE)
/* A reader that finds a series mid-update spins this many times, then
 * yields, for at most READ_WAIT_NS (see read_series). */
#define READ_SPINS 64
#define READ_HARD_NS 1000000000u /* a reader gives a busy writer 1 s */
#define READ_WAIT_NS 20000000ull

#define STR2(x) #x
#define STR(x) STR2(x)
#define ABI_STRING STR(HW_ABI_MAJOR) "." STR(HW_ABI_MINOR)

const uint64_t hw__metrics_bounds_ns[HW__METRICS_NBOUNDS] = {
    500000ull,    1000000ull,    2500000ull,    5000000ull,   10000000ull,
    25000000ull,  50000000ull,   100000000ull,  250000000ull, 500000000ull,
    1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull};

static const double bounds_s[HW__METRICS_NBOUNDS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static const char *const timeout_names[HW__TIMEOUT_KINDS] = {
    "keepalive", "head", "body", "body_rate", "write", "linger"};
static const char *const restart_names[HW__RESTART_CAUSES] = {"signal",
                                                              "exit"};

/* The master's part, written by the master (or by a single process). */
typedef struct header {
  uint64_t magic;
  uint32_t nslots;
  uint32_t workers;        /* configured: 0 for a single process */
  int64_t master_pid;      /* 0 for a single process */
  double start_time;       /* Unix seconds */
  hw__mcount generation;
  hw__mcount reloads_ok, reloads_failed;
  hw__mcount last_reload_ms; /* Unix ms of the last success, 0 if none */
  hw__mcount restarts[HW__RESTART_CAUSES];
} header;

int hw__metrics_tsc;
uint64_t hw__metrics_tsc_mult = (uint64_t)1 << 32;

static header *region;       /* the mapping, or NULL */
static size_t region_size;
static int region_fd = -1;   /* the master's, for its workers */
static hw__metrics_slot *mine;

static hw__metrics_slot *slot_at(unsigned k) {
  return (hw__metrics_slot *)((char *)region + HEADER_SIZE + k * SLOT_SIZE);
}

static double unix_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each slot's two series of its own, named before any worker runs. */
static void name_slot(hw__metrics_slot *s) {
  s->series[HW__METRICS_OVERFLOW].name_off = 0;
  s->series[HW__METRICS_OVERFLOW].name_len = 1;
  s->names[0] = '*';
  s->names_used = 1;
  atomic_store_explicit(&s->nseries, HW__METRICS_FIRST, memory_order_release);
}

static int make(unsigned nslots, int shared) {
  size_t size = HEADER_SIZE + (size_t)nslots * SLOT_SIZE;
  void *p = NULL;
  int fd = -1;
  int r = shared ? hw__os_pages_create("haywire-metrics", size, &fd, &p)
                 : hw__os_pages_anon(size, 0, &p);

  if (r != 0)
    return r;
  region = p;
  region_size = size;
  region_fd = fd;
  region->magic = MAGIC;
  region->nslots = nslots;
  region->start_time = unix_now();
  for (unsigned k = 0; k < nslots; k++)
    name_slot(slot_at(k));
  return 0;
}

/* ---- the clock --------------------------------------------------------- */

uint64_t hw__metrics_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
/* The kernel's word on the counter: it only keeps time by it when the
 * counter runs at a constant rate and agrees across cores. */
static int kernel_uses_tsc(void) {
  char buf[32] = "";
  FILE *f = fopen(
      "/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
  if (f == NULL)
    return 0;
  if (fgets(buf, sizeof(buf), f) == NULL)
    buf[0] = '\0';
  fclose(f);
  return strcmp(buf, "tsc\n") == 0;
}

/* A (counter, nanoseconds) pair read close together: the counter on both
 * sides of the clock, again if something came between them. */
static void pair(uint64_t *tick, uint64_t *ns) {
  for (int i = 0; i < 100; i++) {
    uint64_t a = __builtin_ia32_rdtsc(), t = hw__metrics_mono_ns(),
             b = __builtin_ia32_rdtsc();
    *tick = a + (b - a) / 2;
    *ns = t;
    if (b - a < 20000)
      return;
  }
}
#endif

void hw__metrics_clock_init(void) {
  hw__metrics_tsc = 0;
  hw__metrics_tsc_mult = (uint64_t)1 << 32; /* nanoseconds already */
#if defined(__x86_64__)
  uint64_t t0, n0, t1, n1, mult;
  if (!kernel_uses_tsc())
    return;
  pair(&t0, &n0);
  /* Asleep rather than spinning: the same work however long it takes. */
  nanosleep(&(struct timespec){0, 2000000}, NULL);
  pair(&t1, &n1);
  if (t1 <= t0 || n1 <= n0)
    return;
  mult = (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0));
  if (mult > 0) {
    hw__metrics_tsc_mult = mult;
    hw__metrics_tsc = 1;
  }
#endif
}

/* ---- the region -------------------------------------------------------- */

int hw__metrics_create(unsigned nslots) {
  int r;
  if (nslots == 0)
    return -EINVAL;
  if ((r = make(nslots, 1)) != 0)
    return r;
  region->workers = nslots;
  region->master_pid = (int64_t)getpid();
  return 0;
}

int hw__metrics_fd(void) { return region_fd; }

int hw__metrics_create_single(void) {
  int r = make(1, 0);
  if (r != 0)
    return r;
  mine = slot_at(0);
  atomic_store_explicit(&mine->pid, (int64_t)getpid(), memory_order_relaxed);
  hw__metrics_clock_init();
  return 0;
}

/* Makes a slot's odd sequences even: its writer is gone. */
static void even_sequences(hw__metrics_slot *s) {
  uint32_t n = atomic_load_explicit(&s->nseries, memory_order_relaxed);
  for (uint32_t i = 0; i < n && i < HW__METRICS_FIRST + HW__METRICS_SERIES;
       i++) {
    uint64_t q = atomic_load_explicit(&s->series[i].seq, memory_order_relaxed);
    if (q & 1)
      atomic_store_explicit(&s->series[i].seq, q + 1, memory_order_relaxed);
  }
}

int hw__metrics_attach(int fd, unsigned slot) {
  size_t size = 0;
  header h;
  void *p = NULL;
  hw__metrics_slot *s;
  int r;

  if (hw__os_pages_size(fd, &size) != 0 || size < HEADER_SIZE ||
      hw__os_pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != MAGIC ||
      slot < 1 || slot > h.nslots ||
      size != HEADER_SIZE + (size_t)h.nslots * SLOT_SIZE) {
    close(fd);
    return -EINVAL;
  }
  r = hw__os_pages_map(fd, size, 1, &p);
  close(fd);
  if (r != 0)
    return r;
  region = p;
  region_size = size;
  s = mine = slot_at(slot - 1);
  /* The slot's last worker may have died in the middle of a count (and a
   * master that died too could not clear it). */
  even_sequences(s);
  for (int g = 0; g < HW__CONNS_STATES; g++)
    hw__metrics_set(&s->conns[g], 0);
  hw__metrics_set(&s->draining, 0);
  atomic_store_explicit(&s->pid, (int64_t)getpid(), memory_order_relaxed);
  hw__metrics_clock_init();
  return 0;
}

hw__metrics_slot *hw__metrics_mine(void) { return mine; }


hw__metrics_series *hw__metrics_series_for(hw__metrics_slot *s,
                                           const char *prefix, size_t len) {
  uint32_t n = atomic_load_explicit(&s->nseries, memory_order_relaxed);
  hw__metrics_series *e;

  for (uint32_t i = HW__METRICS_FIRST; i < n; i++) {
    e = &s->series[i];
    if (e->name_len == len && memcmp(s->names + e->name_off, prefix, len) == 0)
      return e;
  }
  if (n >= HW__METRICS_FIRST + HW__METRICS_SERIES ||
      len > HW__METRICS_NAMES - s->names_used)
    return &s->series[HW__METRICS_OVERFLOW];
  e = &s->series[n];
  memcpy(s->names + s->names_used, prefix, len);
  e->name_off = s->names_used;
  e->name_len = (uint32_t)len;
  s->names_used += (uint32_t)len;
  /* The name is in place before a reader can see the series. */
  atomic_store_explicit(&s->nseries, n + 1, memory_order_release);
  return e;
}

unsigned hw__metrics_code_slot(hw__metrics_series *s, unsigned status) {
  unsigned i;
  for (i = 0; i < HW__METRICS_CODES; i++) {
    uint32_t c = atomic_load_explicit(&s->code[i], memory_order_relaxed);
    if (c == status)
      break;
    if (c == 0) {
      atomic_store_explicit(&s->code[i], status, memory_order_relaxed);
      break;
    }
  }
  return i; /* HW__METRICS_CODES: the count of codes past the table */
}

unsigned hw__metrics_bucket(uint64_t *ns) {
  unsigned b = 0;
  /* A request's stamp later than its end (the counter went back, or was
   * never taken) wraps round to an enormous duration: none at all. */
  if (*ns > (UINT64_C(1) << 62)) {
    *ns = 0;
    return 0;
  }
  while (b < HW__METRICS_NBOUNDS && *ns > hw__metrics_bounds_ns[b])
    b++;
  return b;
}

void hw__metrics_slot_dead(unsigned slot) {
  hw__metrics_slot *s;
  if (region == NULL || slot < 1 || slot > region->nslots)
    return;
  s = slot_at(slot - 1);
  /* Reaped, the worker writes no more: a sequence it left odd (killed in
   * the middle of a count) is made even, so readers need not wait for its
   * successor. */
  even_sequences(s);
  atomic_store_explicit(&s->pid, 0, memory_order_relaxed);
  for (int g = 0; g < HW__CONNS_STATES; g++)
    hw__metrics_set(&s->conns[g], 0);
  hw__metrics_set(&s->draining, 0);
}

void hw__metrics_restart(enum hw__metrics_restart cause) {
  if (region != NULL && cause < HW__RESTART_CAUSES)
    hw__metrics_add(&region->restarts[cause], 1);
}

void hw__metrics_reloaded(int ok, unsigned generation) {
  if (region == NULL)
    return;
  if (!ok) {
    hw__metrics_add(&region->reloads_failed, 1);
    return;
  }
  hw__metrics_add(&region->reloads_ok, 1);
  hw__metrics_set(&region->generation, generation);
  hw__metrics_set(&region->last_reload_ms, (uint64_t)(unix_now() * 1000));
}

void hw__metrics_started(unsigned generation) {
  if (region != NULL)
    hw__metrics_set(&region->generation, generation);
}

void hw__metrics_close(void) {
  if (region != NULL)
    hw__os_pages_unmap(region, region_size);
  if (region_fd >= 0)
    close(region_fd);
  region = NULL;
  region_fd = -1;
  mine = NULL;
}

/* ---- the snapshot ------------------------------------------------------ */

static uint64_t get(const hw__mcount *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}

/* One series as read from one slot. */
typedef struct copy {
  uint32_t code[HW__METRICS_CODES];
  uint64_t count[HW__METRICS_CODES + 1]; /* the last: past the table */
  uint64_t bucket[HW__METRICS_NBOUNDS + 1];
  uint64_t duration_ns, in, out;
} copy;

/* Reads a series whole.  While its sequence is odd its writer is in the
 * middle of it: a worker preempted there, or faulting in a new page, is
 * waited for (spinning a little, then yielding), up to READ_WAIT_NS; a
 * writer that has died there (its slot has no pid until its successor
 * clears the sequence, and the master clears it when it reaps the worker)
 * is not. */
static uint64_t gave_up; /* reads that took a series its writer was in */

uint64_t hw__metrics_gave_up(void) { return gave_up; }

static void read_series(const hw__metrics_slot *s, const hw__metrics_series *e,
                        copy *c) {
  uint64_t deadline = 0, hard = 0, seen = 1; /* (1: no odd value is) */
  int give_up = 0;

  for (unsigned tries = 0;; tries++) {
    uint64_t q = atomic_load_explicit(&e->seq, memory_order_acquire);
    if (!(q & 1) || give_up) {
      for (int i = 0; i < HW__METRICS_CODES; i++) {
        c->code[i] = atomic_load_explicit(&e->code[i], memory_order_relaxed);
        c->count[i] = get(&e->count[i]);
      }
      c->count[HW__METRICS_CODES] = get(&e->count[HW__METRICS_CODES]);
      for (int b = 0; b <= HW__METRICS_NBOUNDS; b++)
        c->bucket[b] = get(&e->bucket[b]);
      c->duration_ns = get(&e->duration_ns);
      c->in = get(&e->request_bytes);
      c->out = get(&e->response_bytes);
      atomic_thread_fence(memory_order_acquire);
      if (give_up || atomic_load_explicit(&e->seq, memory_order_relaxed) == q)
        return;
    }
    if (atomic_load_explicit(&s->pid, memory_order_relaxed) == 0) {
      give_up = 1; /* no writer: what is there is all there will be */
    } else if (tries >= READ_SPINS) {
      /* The wait starts again while the sequence moves (the writer is
       * alive and busy, not paused), up to a hard bound for a writer
       * that never lets go. */
      uint64_t now = hw__metrics_mono_ns();
      if (hard == 0)
        hard = now + READ_HARD_NS;
      if (q != seen)
        seen = q, deadline = now + READ_WAIT_NS;
      else if (now >= deadline || now >= hard)
        give_up = 1, gave_up++;
      sched_yield();
    }
  }
}

static uint64_t copy_requests(const copy *c) {
  uint64_t n = 0;
  for (int i = 0; i <= HW__METRICS_CODES; i++)
    n += c->count[i];
  return n;
}

/* A series of some slot, by its prefix (for sorting them all). */
typedef struct entry {
  const char *name;
  uint32_t len;
  uint32_t slot, index;
} entry;

static int by_name(const void *a, const void *b) {
  const entry *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int r = n > 0 ? memcmp(x->name, y->name, n) : 0;
  return r != 0 ? r : (x->len > y->len) - (x->len < y->len);
}

static int by_code(const void *a, const void *b) {
  const hw_metrics_code *x = a, *y = b;
  return (x->code > y->code) - (x->code < y->code);
}

/* Adds one slot's copy of a series to its route. */
static void add(hw_metrics_route *r, uint64_t *buckets, hw_metrics_code *codes,
                const copy *c) {
  for (int i = 0; i < HW__METRICS_CODES && c->code[i] != 0; i++) {
    size_t k = 0;
    while (k < r->ncodes && codes[k].code != c->code[i])
      k++;
    if (k == r->ncodes)
      codes[r->ncodes++] = (hw_metrics_code){c->code[i], 0};
    codes[k].count += c->count[i];
  }
  r->other_codes += c->count[HW__METRICS_CODES];
  for (int b = 0; b <= HW__METRICS_NBOUNDS; b++)
    buckets[b] += c->bucket[b];
  r->duration_ns += c->duration_ns;
  r->request_body_bytes += c->in;
  r->response_body_bytes += c->out;
}

/* Every series of every slot, sorted by prefix and summed into one block
 * of the caller's memory.  Each slot is read up to the number of series it
 * had when the snapshot began (one added since shows in the next). */
static int routes(hw_metrics *m, hw__metrics_alloc alloc, void *ctx) {
  uint32_t *had = calloc(region->nslots, sizeof(*had));
  size_t total = 0, n = 0, groups = 0, i, j;
  entry *e = NULL;
  char *block;
  hw_metrics_route *r;
  uint64_t *buckets;
  hw_metrics_code *codes;
  int rc = -1;

  if (had == NULL)
    return -1;
  for (unsigned k = 0; k < region->nslots; k++)
    total += had[k] =
        atomic_load_explicit(&slot_at(k)->nseries, memory_order_acquire);
  if ((e = malloc((total > 0 ? total : 1) * sizeof(*e))) == NULL)
    goto out;
  for (unsigned k = 0; k < region->nslots; k++) {
    const hw__metrics_slot *s = slot_at(k);
    for (uint32_t x = 0; x < had[k]; x++) {
      const hw__metrics_series *se = &s->series[x];
      e[n++] = (entry){s->names + se->name_off, se->name_len, k, x};
    }
  }
  qsort(e, n, sizeof(*e), by_name);
  for (i = 0; i < n; i = j, groups++)
    for (j = i + 1; j < n && by_name(&e[i], &e[j]) == 0; j++)
      ;
  /* One block: the routes, their buckets, their codes (at most every code
   * of every copy; the codes of a route follow each other). */
  block = alloc(ctx, groups * sizeof(*r) +
                         groups * (HW__METRICS_NBOUNDS + 1) * sizeof(*buckets) +
                         n * HW__METRICS_CODES * sizeof(*codes) + 1);
  if (block == NULL)
    goto out;
  r = (hw_metrics_route *)block;
  buckets = (uint64_t *)(r + groups);
  codes = (hw_metrics_code *)(buckets + groups * (HW__METRICS_NBOUNDS + 1));
  memset(block, 0, groups * sizeof(*r) +
                       groups * (HW__METRICS_NBOUNDS + 1) * sizeof(*buckets));
  m->routes = r;
  m->nroutes = 0;
  for (i = 0; i < n; i = j) {
    hw_metrics_route *out = &r[m->nroutes];
    uint64_t *bk = buckets + m->nroutes * (HW__METRICS_NBOUNDS + 1);
    uint64_t seen = 0;
    memset(out, 0, sizeof(*out)); /* (a skipped group may have used it) */
    memset(bk, 0, (HW__METRICS_NBOUNDS + 1) * sizeof(*bk));
    out->prefix = (hw_str){e[i].name, e[i].len};
    out->codes = codes;
    for (j = i; j < n && by_name(&e[i], &e[j]) == 0; j++) {
      copy c;
      read_series(slot_at(e[j].slot), &slot_at(e[j].slot)->series[e[j].index],
                  &c);
      add(out, bk, codes, &c);
      seen += copy_requests(&c);
    }
    /* A slot's own two series show once something was counted in them;
     * every route's series does, counted or not. */
    if (seen == 0 && (e[i].len == 0 || (e[i].len == 1 && e[i].name[0] == '*'
                                        && e[i].index == HW__METRICS_OVERFLOW)))
      continue;
    for (int b = 1; b <= HW__METRICS_NBOUNDS; b++)
      bk[b] += bk[b - 1]; /* cumulative, as Prometheus's `le` is */
    qsort(codes, out->ncodes, sizeof(*codes), by_code);
    out->requests = out->other_codes;
    for (size_t k = 0; k < out->ncodes; k++)
      out->requests += codes[k].count;
    out->buckets = bk;
    codes += out->ncodes;
    m->nroutes++;
  }
  rc = 0;
out:
  free(had);
  free(e);
  return rc;
}

/* A process's resident memory and open descriptors (left 0 when the
 * system cannot tell). */
static void read_proc(hw_metrics_process *p) {
  uint64_t resident, fds;
  int known = hw__os_process_usage(p->pid, &resident, &fds);

  if (known & HW__OS_USAGE_RESIDENT)
    p->resident_bytes = resident;
  if (known & HW__OS_USAGE_FDS)
    p->open_fds = fds;
}

static int processes(hw_metrics *m, hw__metrics_alloc alloc, void *ctx) {
  hw_metrics_process *p =
      alloc(ctx, (1 + (size_t)region->nslots) * sizeof(*p));
  size_t n = 0;

  if (p == NULL)
    return -1;
  if (region->master_pid != 0) {
    memset(&p[n], 0, sizeof(*p));
    p[n].role = "master";
    p[n].pid = region->master_pid;
    read_proc(&p[n++]);
  }
  for (unsigned k = 0; k < region->nslots; k++) {
    const hw__metrics_slot *s = slot_at(k);
    int64_t pid = atomic_load_explicit(&s->pid, memory_order_relaxed);
    if (pid == 0)
      continue;
    memset(&p[n], 0, sizeof(*p));
    p[n].role = region->master_pid != 0 ? "worker" : "single";
    p[n].slot = region->master_pid != 0 ? k + 1 : 0;
    p[n].pid = pid;
    p[n].generation = get(&s->generation);
    read_proc(&p[n++]);
  }
  m->processes = p;
  m->nprocesses = n;
  return 0;
}

/* A list of named counts, from names and values. */
static hw_metrics_count *counts(const char *const *names,
                                const uint64_t *values, size_t n,
                                hw__metrics_alloc alloc, void *ctx) {
  hw_metrics_count *c = alloc(ctx, n * sizeof(*c));
  if (c != NULL)
    for (size_t i = 0; i < n; i++)
      c[i] = (hw_metrics_count){names[i], values[i]};
  return c;
}

const hw_metrics *hw__metrics_snapshot(hw__metrics_alloc alloc, void *ctx) {
  static const char *const reload_names[2] = {"ok", "failed"};
  uint64_t reloads[2], restarts[HW__RESTART_CAUSES];
  static const char *const handshake_names[HW__HANDSHAKE_KINDS] = {
      "full", "resumed", "failed"};
  uint64_t timeouts[HW__TIMEOUT_KINDS] = {0};
  uint64_t handshakes[HW__HANDSHAKE_KINDS] = {0};
  hw_metrics *m;

  if (region == NULL || (m = alloc(ctx, sizeof(*m))) == NULL)
    return NULL;
  memset(m, 0, sizeof(*m));
  m->size = sizeof(*m);
  m->version = PACKAGE_VERSION;
  m->abi = ABI_STRING;
  m->start_time = region->start_time;
  m->generation = get(&region->generation);
  m->last_reload_time = (double)get(&region->last_reload_ms) / 1000.0;
  m->workers = region->workers;
  for (unsigned k = 0; k < region->nslots; k++) {
    const hw__metrics_slot *s = slot_at(k);
    m->generations_draining += get(&s->draining);
    m->connections_accepted += get(&s->accepted);
    m->connections_reading += get(&s->conns[HW__CONNS_READING]);
    m->connections_writing += get(&s->conns[HW__CONNS_WRITING]);
    m->connections_waiting += get(&s->conns[HW__CONNS_WAITING]);
    m->accepts_paused += get(&s->paused);
    for (int t = 0; t < HW__TIMEOUT_KINDS; t++)
      timeouts[t] += get(&s->timeouts[t]);
    for (int h = 0; h < HW__HANDSHAKE_KINDS; h++)
      handshakes[h] += get(&s->handshakes[h]);
  }
  reloads[0] = get(&region->reloads_ok);
  reloads[1] = get(&region->reloads_failed);
  for (int c = 0; c < HW__RESTART_CAUSES; c++)
    restarts[c] = get(&region->restarts[c]);
  m->reloads = counts(reload_names, reloads, 2, alloc, ctx);
  m->nreloads = 2;
  m->restarts = counts(restart_names, restarts, HW__RESTART_CAUSES, alloc, ctx);
  m->nrestarts = HW__RESTART_CAUSES;
  m->timeouts = counts(timeout_names, timeouts, HW__TIMEOUT_KINDS, alloc, ctx);
  m->ntimeouts = HW__TIMEOUT_KINDS;
  m->tls_handshakes =
      counts(handshake_names, handshakes, HW__HANDSHAKE_KINDS, alloc, ctx);
  m->ntls_handshakes = HW__HANDSHAKE_KINDS;
  m->bounds = bounds_s;
  m->nbounds = HW__METRICS_NBOUNDS;
  if (m->reloads == NULL || m->restarts == NULL || m->timeouts == NULL ||
      m->tls_handshakes == NULL ||
      routes(m, alloc, ctx) != 0 || processes(m, alloc, ctx) != 0)
    return NULL;
  return m;
}
