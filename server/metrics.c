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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x48574d4554524943ull /* "HWMETRIC" */
#define PAGE 4096
#define HEADER_SIZE PAGE
#define SLOT_SIZE ((sizeof(hw__metrics_slot) + PAGE - 1) / PAGE * PAGE)
/* A reader that keeps finding a series mid-update (its writer died there,
 * before the master cleared it) takes what it read after this many tries. */
#define READ_TRIES 1000

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
  void *p;
  int fd = -1;

  if (shared) {
    fd = memfd_create("haywire-metrics", MFD_CLOEXEC);
    if (fd < 0)
      return -errno;
    if (ftruncate(fd, (off_t)size) != 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  } else {
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
  }
  if (p == MAP_FAILED) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return -e;
  }
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
  return 0;
}

int hw__metrics_attach(int fd, unsigned slot) {
  struct stat st;
  header h;
  void *p;
  hw__metrics_slot *s;
  uint32_t n;

  if (fstat(fd, &st) != 0 || (size_t)st.st_size < HEADER_SIZE ||
      pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != MAGIC ||
      slot < 1 || slot > h.nslots ||
      (size_t)st.st_size != HEADER_SIZE + (size_t)h.nslots * SLOT_SIZE) {
    close(fd);
    return -EINVAL;
  }
  p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
           0);
  close(fd);
  if (p == MAP_FAILED)
    return -errno;
  region = p;
  region_size = (size_t)st.st_size;
  s = mine = slot_at(slot - 1);
  /* The slot's last worker may have died in the middle of a count: its
   * sequence is odd, which readers would wait on; make it even again. */
  n = atomic_load_explicit(&s->nseries, memory_order_relaxed);
  for (uint32_t i = 0; i < n && i < HW__METRICS_FIRST + HW__METRICS_SERIES;
       i++) {
    uint64_t q = atomic_load_explicit(&s->series[i].seq, memory_order_relaxed);
    if (q & 1)
      atomic_store_explicit(&s->series[i].seq, q + 1, memory_order_relaxed);
  }
  for (int g = 0; g < HW__CONNS_STATES; g++)
    hw__metrics_set(&s->conns[g], 0);
  hw__metrics_set(&s->draining, 0);
  atomic_store_explicit(&s->pid, (int64_t)getpid(), memory_order_relaxed);
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

void hw__metrics_slot_dead(unsigned slot) {
  hw__metrics_slot *s;
  if (region == NULL || slot < 1 || slot > region->nslots)
    return;
  s = slot_at(slot - 1);
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
    munmap(region, region_size);
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
  const char *name;
  uint32_t len;
  uint32_t code[HW__METRICS_CODES];
  uint64_t count[HW__METRICS_CODES];
  uint64_t other;
  uint64_t bucket[HW__METRICS_NBOUNDS + 1];
  uint64_t duration_ns, in, out;
} copy;

/* Reads a series whole: again while its writer is in the middle of it. */
static void read_series(const hw__metrics_slot *s, const hw__metrics_series *e,
                        copy *c) {
  for (int tries = 0; tries < READ_TRIES; tries++) {
    uint64_t q = atomic_load_explicit(&e->seq, memory_order_acquire);
    if ((q & 1) && tries + 1 < READ_TRIES)
      continue;
    for (int i = 0; i < HW__METRICS_CODES; i++) {
      c->code[i] = atomic_load_explicit(&e->code[i], memory_order_relaxed);
      c->count[i] = get(&e->count[i]);
    }
    c->other = get(&e->other);
    for (int b = 0; b <= HW__METRICS_NBOUNDS; b++)
      c->bucket[b] = get(&e->bucket[b]);
    c->duration_ns = get(&e->duration_ns);
    c->in = get(&e->request_bytes);
    c->out = get(&e->response_bytes);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&e->seq, memory_order_relaxed) == q)
      break;
  }
  c->name = s->names + e->name_off;
  c->len = e->name_len;
}

static int by_name(const void *a, const void *b) {
  const copy *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int r = n > 0 ? memcmp(x->name, y->name, n) : 0;
  return r != 0 ? r : (x->len > y->len) - (x->len < y->len);
}

static int by_code(const void *a, const void *b) {
  const hw_metrics_code *x = a, *y = b;
  return (x->code > y->code) - (x->code < y->code);
}

static uint64_t copy_requests(const copy *c) {
  uint64_t n = c->other;
  for (int i = 0; i < HW__METRICS_CODES; i++)
    n += c->count[i];
  return n;
}

/* Sums `n` copies of one prefix into `r`; `codes` has room for all their
 * codes.  Returns 0, or -1 when out of memory. */
static int merge(const copy *c, size_t n, hw_metrics_route *r,
                 hw_metrics_code *codes, hw__metrics_alloc alloc, void *ctx) {
  size_t nc = 0, k = 0;
  uint64_t *buckets = alloc(ctx, (HW__METRICS_NBOUNDS + 1) * sizeof(*buckets));
  hw_metrics_code *out;

  if (buckets == NULL)
    return -1;
  memset(r, 0, sizeof(*r));
  memset(buckets, 0, (HW__METRICS_NBOUNDS + 1) * sizeof(*buckets));
  r->prefix.data = c->name;
  r->prefix.len = c->len;
  for (size_t j = 0; j < n; j++) {
    for (int i = 0; i < HW__METRICS_CODES && c[j].code[i] != 0; i++)
      codes[nc++] = (hw_metrics_code){c[j].code[i], c[j].count[i]};
    r->other_codes += c[j].other;
    for (int b = 0; b <= HW__METRICS_NBOUNDS; b++)
      buckets[b] += c[j].bucket[b];
    r->duration_ns += c[j].duration_ns;
    r->request_body_bytes += c[j].in;
    r->response_body_bytes += c[j].out;
  }
  /* Cumulative, as Prometheus's `le` buckets are. */
  for (int b = 1; b <= HW__METRICS_NBOUNDS; b++)
    buckets[b] += buckets[b - 1];
  qsort(codes, nc, sizeof(*codes), by_code);
  for (size_t i = 0; i < nc; i++) {
    if (k > 0 && codes[k - 1].code == codes[i].code)
      codes[k - 1].count += codes[i].count;
    else
      codes[k++] = codes[i];
  }
  out = alloc(ctx, (k > 0 ? k : 1) * sizeof(*out));
  if (out == NULL)
    return -1;
  memcpy(out, codes, k * sizeof(*out));
  r->codes = out;
  r->ncodes = k;
  r->requests = r->other_codes;
  for (size_t i = 0; i < k; i++)
    r->requests += out[i].count;
  r->buckets = buckets;
  return 0;
}

/* Every series of every slot, read, sorted by prefix and summed. */
static int routes(hw_metrics *m, hw__metrics_alloc alloc, void *ctx) {
  size_t total = 0, n = 0, groups = 0, widest = 1, i, j;
  copy *c;
  hw_metrics_code *codes = NULL;
  hw_metrics_route *r;
  int rc = -1;

  for (unsigned k = 0; k < region->nslots; k++)
    total += atomic_load_explicit(&slot_at(k)->nseries, memory_order_acquire);
  c = malloc((total > 0 ? total : 1) * sizeof(*c));
  if (c == NULL)
    goto out;
  for (unsigned k = 0; k < region->nslots && n < total; k++) {
    const hw__metrics_slot *s = slot_at(k);
    uint32_t ns = atomic_load_explicit(&s->nseries, memory_order_acquire);
    for (uint32_t e = 0; e < ns && n < total; e++) {
      read_series(s, &s->series[e], &c[n]);
      /* A slot's own two series are shown once something was counted in
       * them; every route's series is, counted or not. */
      if (e >= HW__METRICS_FIRST || copy_requests(&c[n]) > 0)
        n++;
    }
  }
  qsort(c, n, sizeof(*c), by_name);
  for (i = 0; i < n; i = j) {
    for (j = i + 1; j < n && by_name(&c[i], &c[j]) == 0; j++)
      ;
    groups++;
    if (j - i > widest)
      widest = j - i;
  }
  r = alloc(ctx, (groups > 0 ? groups : 1) * sizeof(*r));
  codes = malloc(widest * HW__METRICS_CODES * sizeof(*codes));
  if (r == NULL || codes == NULL)
    goto out;
  m->routes = r;
  m->nroutes = 0;
  for (i = 0; i < n; i = j) {
    for (j = i + 1; j < n && by_name(&c[i], &c[j]) == 0; j++)
      ;
    if (merge(&c[i], j - i, &r[m->nroutes++], codes, alloc, ctx) != 0)
      goto out;
  }
  rc = 0;
out:
  free(c);
  free(codes);
  return rc;
}

/* A process's resident memory and open descriptors, from /proc. */
static void read_proc(hw_metrics_process *p) {
  char path[64], buf[256];
  unsigned long long size = 0, resident = 0;
  FILE *f;
  DIR *d;
  struct dirent *de;

  snprintf(path, sizeof(path), "/proc/%lld/statm", (long long)p->pid);
  if ((f = fopen(path, "re")) != NULL) {
    if (fgets(buf, sizeof(buf), f) != NULL &&
        sscanf(buf, "%llu %llu", &size, &resident) == 2)
      p->resident_bytes = resident * (uint64_t)sysconf(_SC_PAGESIZE);
    fclose(f);
  }
  snprintf(path, sizeof(path), "/proc/%lld/fd", (long long)p->pid);
  if ((d = opendir(path)) != NULL) {
    uint64_t n = 0;
    while ((de = readdir(d)) != NULL)
      if (de->d_name[0] != '.')
        n++;
    closedir(d);
    /* Reading our own list shows the directory being read too. */
    if (p->pid == (int64_t)getpid() && n > 0)
      n--;
    p->open_fds = n;
  }
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
  uint64_t timeouts[HW__TIMEOUT_KINDS] = {0};
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
  m->bounds = bounds_s;
  m->nbounds = HW__METRICS_NBOUNDS;
  if (m->reloads == NULL || m->restarts == NULL || m->timeouts == NULL ||
      routes(m, alloc, ctx) != 0 || processes(m, alloc, ctx) != 0)
    return NULL;
  return m;
}
