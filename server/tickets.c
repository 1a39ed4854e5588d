/*
 * tickets.c - the TLS session-ticket keys of a server: the region of one
 * page the maker (the master, or a single process) makes and rotates, the
 * read-only mapping of it each worker takes from an inherited descriptor,
 * the rotation timer, and the callback OpenSSL calls to encrypt and
 * decrypt tickets with those keys.
 *
 * The region is a memfd (an anonymous shared mapping does not survive the
 * exec of a worker; a descriptor does), kept out of core dumps.  Its ring
 * holds the current key, which encrypts, and two older ones, which only
 * decrypt: a ticket made just before a rotation still decrypts for two
 * more periods, and is then replaced by one under the current key (the
 * callback answers 2).  The maker writes the ring under a sequence number
 * it makes odd first and even after (a seqlock, with the fences metrics.c
 * uses); a reader copies the ring, wiped again before it returns, and
 * retries while the sequence is odd or has moved.  The maker is another
 * process and may die in the middle of a write: a reader waits a few
 * milliseconds at most, then gives up (no ticket, no resumption: a full
 * handshake), and gives up at once while the sequence stays that same odd
 * value.  No key is ever logged.
 */
#define _GNU_SOURCE
#include "autoconf.h"

#include "tickets.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "log.h"
#include "os.h"

#define MAGIC 0x48575449434b4554ull /* "HWTICKET" */
#define PAGE 4096
#define KEYS HW__TICKETS_KEYS
#define WORDS HW__TICKETS_KEY_WORDS
/* A reader that finds the ring mid-write spins this many times, then
 * yields, for at most READ_WAIT_NS (see read_ring). */
#define READ_SPINS 64
#define READ_WAIT_NS 5000000ull

_Static_assert(sizeof(hw__tickets_region) <= PAGE,
               "the ticket keys fit in one page");

/* One key as this process holds it (on its stack, wiped after use). */
typedef struct key {
  unsigned char name[16];
  unsigned char aes[32];
  unsigned char hmac[32];
  uint64_t created; /* CLOCK_REALTIME seconds; 0: no key */
} key;

_Static_assert(sizeof(((key *)0)->name) + sizeof(((key *)0)->aes) +
                       sizeof(((key *)0)->hmac) + sizeof(uint64_t) ==
                   WORDS * sizeof(uint64_t),
               "a key is HW__TICKETS_KEY_WORDS words");

static hw__tickets_region *region; /* the mapping, or NULL */
static int region_fd = -1;         /* the maker's, for its workers */
static int maker;                  /* this process writes the region */
/* An odd sequence a reader gave up on (a maker that died writing); 0
 * (even) when none.  Per process, read and written as an atomic. */
static uint64_t stuck_at;

static uv_timer_t timer;
static enum { TIMER_NONE, TIMER_RUNNING, TIMER_CLOSING } timer_state;

/* ---- keys and words ---------------------------------------------------- */

static void to_words(const key *k, uint64_t w[WORDS]) {
  memcpy(w, k->name, 16);
  memcpy(w + 2, k->aes, 32);
  memcpy(w + 6, k->hmac, 32);
  w[10] = k->created;
}

static void from_words(const uint64_t w[WORDS], key *k) {
  memcpy(k->name, w, 16);
  memcpy(k->aes, w + 2, 32);
  memcpy(k->hmac, w + 6, 32);
  k->created = w[10];
}

/* `n` random bytes: OpenSSL's generator, else the kernel's. */
static int random_bytes(unsigned char *p, size_t n) {
  if (RAND_bytes(p, (int)n) == 1)
    return 0;
  return hw__os_random(p, n);
}

static int make_key(key *k) {
  struct timespec ts;
  int rc;

  if ((rc = random_bytes(k->name, sizeof(k->name))) != 0 ||
      (rc = random_bytes(k->aes, sizeof(k->aes))) != 0 ||
      (rc = random_bytes(k->hmac, sizeof(k->hmac))) != 0) {
    OPENSSL_cleanse(k, sizeof(*k));
    return rc;
  }
  clock_gettime(CLOCK_REALTIME, &ts);
  k->created = ts.tv_sec > 0 ? (uint64_t)ts.tv_sec : 1;
  return 0;
}

/* ---- the region -------------------------------------------------------- */

/* The maker writes the whole ring: the sequence is odd before any key
 * changes (the fence keeps the stores after it) and even after the last. */
static void publish(const uint64_t w[KEYS][WORDS], uint64_t rotations) {
  uint64_t q = __atomic_load_n(&region->seq, __ATOMIC_RELAXED);

  __atomic_store_n(&region->seq, q + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  for (int i = 0; i < KEYS; i++)
    for (int j = 0; j < WORDS; j++)
      __atomic_store_n(&region->key[i][j], w[i][j], __ATOMIC_RELAXED);
  __atomic_store_n(&region->rotations, rotations, __ATOMIC_RELAXED);
  __atomic_store_n(&region->seq, q + 2, __ATOMIC_RELEASE);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copies the ring whole into `w` (which the caller wipes), with the
 * rotation count.  While the sequence is odd the maker is writing: it is
 * waited for (spinning, then yielding) up to READ_WAIT_NS, as is a
 * sequence that keeps moving; then UV_EAGAIN.  An odd value given up on
 * once is remembered, and given up on at once while it stays. */
static int read_ring(const hw__tickets_region *r, uint64_t w[KEYS][WORDS],
                     uint64_t *rotations) {
  uint64_t deadline = 0;

  for (unsigned tries = 0;; tries++) {
    uint64_t q = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
    if (!(q & 1)) {
      for (int i = 0; i < KEYS; i++)
        for (int j = 0; j < WORDS; j++)
          w[i][j] = __atomic_load_n(&r->key[i][j], __ATOMIC_RELAXED);
      *rotations = __atomic_load_n(&r->rotations, __ATOMIC_RELAXED);
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) == q)
        return 0;
    } else if (q == __atomic_load_n(&stuck_at, __ATOMIC_RELAXED)) {
      return UV_EAGAIN; /* the same dead writer as last time */
    }
    if (tries >= READ_SPINS) {
      uint64_t now = mono_ns();
      if (deadline == 0) {
        deadline = now + READ_WAIT_NS;
      } else if (now >= deadline) {
        if (q & 1)
          __atomic_store_n(&stuck_at, q, __ATOMIC_RELAXED);
        return UV_EAGAIN;
      }
      sched_yield();
    }
  }
}

int hw__tickets_create(void) {
  uint64_t w[KEYS][WORDS] = {{0}};
  key k;
  void *p = NULL;
  int fd = -1, rc;

  if (region != NULL)
    return UV_EBUSY;
  /* Without memfd there is no region a worker could inherit through exec
   * (an anonymous shared mapping is lost there): an error, and no
   * tickets, rather than keys each worker would make for itself. */
  if ((rc = hw__os_pages_create("haywire-tickets", PAGE, &fd, &p)) != 0)
    return rc;
  if ((rc = make_key(&k)) != 0) {
    hw__os_pages_unmap(p, PAGE);
    close(fd);
    return rc;
  }
  hw__os_pages_nodump(p, PAGE); /* keys stay out of core files */
  region = p;
  region_fd = fd;
  maker = 1;
  __atomic_store_n(&stuck_at, 0, __ATOMIC_RELAXED);
  to_words(&k, w[0]);
  publish(w, 0);
  __atomic_store_n(&region->magic, MAGIC, __ATOMIC_RELEASE);
  OPENSSL_cleanse(&k, sizeof(k));
  OPENSSL_cleanse(w, sizeof(w));
  return 0;
}

int hw__tickets_fd(void) { return region_fd; }

int hw__tickets_attach(int fd) {
  size_t size = 0;
  void *p = NULL;
  int rc;

  if (region != NULL) {
    close(fd);
    return UV_EBUSY;
  }
  if (hw__os_pages_size(fd, &size) != 0 || size != PAGE) {
    close(fd);
    return UV_EINVAL;
  }
  rc = hw__os_pages_map(fd, PAGE, 0, &p);
  close(fd);
  if (rc != 0)
    return rc;
  if (__atomic_load_n(&((hw__tickets_region *)p)->magic, __ATOMIC_ACQUIRE) !=
      MAGIC) {
    hw__os_pages_unmap(p, PAGE);
    return UV_EINVAL;
  }
  hw__os_pages_nodump(p, PAGE);
  region = p;
  maker = 0;
  __atomic_store_n(&stuck_at, 0, __ATOMIC_RELAXED);
  return 0;
}

void hw__tickets_rotate(void) {
  uint64_t w[KEYS][WORDS];
  uint64_t rotations;
  key k;
  int rc;

  if (region == NULL || !maker)
    return;
  if ((rc = make_key(&k)) != 0) {
    hw__log(HW_LOG_ERROR, "tickets: no random bytes for a new key (%s): "
                          "the current key stays",
            strerror(-rc));
    return;
  }
  /* Only this process writes: its own reads need no sequence.  The
   * oldest key is not copied: the shift overwrites its words. */
  for (int i = KEYS - 1; i > 0; i--)
    for (int j = 0; j < WORDS; j++)
      w[i][j] = __atomic_load_n(&region->key[i - 1][j], __ATOMIC_RELAXED);
  to_words(&k, w[0]);
  rotations = __atomic_load_n(&region->rotations, __ATOMIC_RELAXED) + 1;
  publish(w, rotations);
  OPENSSL_cleanse(&k, sizeof(k));
  OPENSSL_cleanse(w, sizeof(w));
}

/* ---- the rotation timer ------------------------------------------------ */

static void on_tick(uv_timer_t *t) {
  (void)t;
  hw__tickets_rotate();
}

static void on_timer_closed(uv_handle_t *h) {
  (void)h;
  timer_state = TIMER_NONE;
}

int hw__tickets_start(uv_loop_t *loop, uint64_t period_ms) {
  int rc;

  if (region == NULL || !maker || period_ms == 0)
    return UV_EINVAL;
  if (timer_state != TIMER_NONE)
    return UV_EBUSY;
  if ((rc = uv_timer_init(loop, &timer)) != 0)
    return rc;
  if ((rc = uv_timer_start(&timer, on_tick, period_ms, period_ms)) != 0) {
    uv_close((uv_handle_t *)&timer, on_timer_closed);
    timer_state = TIMER_CLOSING;
    return rc;
  }
  uv_unref((uv_handle_t *)&timer); /* it keeps no loop alive */
  timer_state = TIMER_RUNNING;
  return 0;
}

void hw__tickets_stop(void) {
  if (timer_state != TIMER_RUNNING)
    return;
  uv_close((uv_handle_t *)&timer, on_timer_closed);
  timer_state = TIMER_CLOSING;
}

/* ---- OpenSSL's callback ------------------------------------------------ */

/* Sets the cipher (AES-256-CBC with `iv`) and the MAC (HMAC-SHA256) from
 * `k`, to encrypt or decrypt.  Both copy the key material. */
static int set_contexts(const key *k, const unsigned char *iv,
                        EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc) {
  OSSL_PARAM params[3];

  params[0] = OSSL_PARAM_construct_octet_string(
      OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac));
  params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               (char *)"SHA256", 0);
  params[2] = OSSL_PARAM_construct_end();
  if (enc ? EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1
          : EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
    return 0;
  return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

int hw__tickets_cb(SSL *s, unsigned char key_name[16], unsigned char iv[16],
                   EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc) {
  const hw__tickets_region *r = region;
  uint64_t w[KEYS][WORDS];
  uint64_t rotations;
  key k;
  int rc = 0;

  (void)s;
  memset(&k, 0, sizeof(k));
  /* Every failure is 0: for a new ticket, none is issued (the connection
   * goes on); for one presented, a full handshake follows.  A negative
   * return would end the handshake instead. */
  if (r == NULL || read_ring(r, w, &rotations) != 0)
    goto out;
  if (enc) {
    from_words(w[0], &k);
    if (k.created != 0 && RAND_bytes(iv, 16) == 1 &&
        set_contexts(&k, iv, ctx, hctx, 1)) {
      memcpy(key_name, k.name, sizeof(k.name));
      rc = 1;
    }
    goto out;
  }
  for (int i = 0; i < KEYS; i++) {
    from_words(w[i], &k);
    if (k.created == 0 || CRYPTO_memcmp(k.name, key_name, sizeof(k.name)))
      continue;
    /* An older key decrypts, and OpenSSL then issues a ticket under the
     * current one. */
    if (set_contexts(&k, iv, ctx, hctx, 0))
      rc = i == 0 ? 1 : 2;
    break;
  }
out:
  OPENSSL_cleanse(&k, sizeof(k));
  OPENSSL_cleanse(w, sizeof(w));
  return rc;
}

int hw__tickets_current(unsigned char name[16], uint64_t *rotations) {
  uint64_t w[KEYS][WORDS];
  uint64_t n;
  int rc;

  if (region == NULL)
    return UV_ENOENT;
  if ((rc = read_ring(region, w, &n)) == 0) {
    memcpy(name, w[0], 16);
    if (rotations != NULL)
      *rotations = n;
  }
  OPENSSL_cleanse(w, sizeof(w));
  return rc;
}

void hw__tickets_close(void) {
  hw__tickets_stop();
  if (region != NULL)
    hw__os_pages_unmap(region, PAGE);
  if (region_fd >= 0)
    close(region_fd);
  region = NULL;
  region_fd = -1;
  maker = 0;
}
