/*
 * tickets.h - TLS session-ticket keys shared by every process of a server
 * (tickets.c): one page of memory the maker (the master, or a single
 * process) fills with a ring of keys and rotates, and every worker maps
 * read-only from a descriptor it inherits, so a ticket one worker issued
 * resumes on any other (TLS 1.3 resumes by tickets only, and SO_REUSEPORT
 * spreads one client's connections over the workers).
 *
 * The ring holds HW__TICKETS_KEYS keys: the first encrypts new tickets,
 * the others only decrypt, so a ticket issued just before a rotation still
 * decrypts for HW__TICKETS_KEYS - 1 more periods.  A sequence number the
 * maker makes odd while it writes lets a reader take the ring whole.
 */
#ifndef HW_TICKETS_H
#define HW_TICKETS_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <uv.h>

/** Keys in the ring: the current one and the older ones that decrypt. */
#define HW__TICKETS_KEYS 3
/** How often the server makes a new current key (hw__tickets_start). */
#define HW__TICKETS_ROTATE_MS (60ull * 60ull * 1000ull)
/** The session timeout the TLS contexts set (SSL_CTX_set_timeout), in
 *  seconds: one rotation period. */
#define HW__TICKETS_LIFETIME_S 3600
/** A key's size in the region, in 64-bit words: the name (16 bytes), the
 *  AES-256 key (32), the HMAC-SHA256 key (32), the time it was made. */
#define HW__TICKETS_KEY_WORDS 11

/** The region's layout, as the maker writes it and the workers read it.
 *  Every word is read and written as an atomic (relaxed, ordered by the
 *  sequence's fences), since the other side is another process.  Exposed
 *  for tests that play a writer; the server goes through the functions. */
typedef struct hw__tickets_region {
  uint64_t magic;
  uint64_t seq;       /* odd while the maker writes */
  uint64_t rotations; /* how many times the ring has turned */
  /* [0] the current key; each: name (2 words), AES key (4), HMAC key (4),
   * created (CLOCK_REALTIME seconds; 0: no key in this place yet) */
  uint64_t key[HW__TICKETS_KEYS][HW__TICKETS_KEY_WORDS];
} hw__tickets_region;

/** The maker (the master, or a single process): makes the region (a memfd
 *  of one page, owned by this module until hw__tickets_close) with a fresh
 *  current key.  Returns 0 or a negative error code (UV_EBUSY when this
 *  process has a region already; -ENOSYS and the like without memfd). */
int hw__tickets_create(void);
/** The region's descriptor, for the maker to pass to its workers; -1 if
 *  this process did not make one.  The descriptor stays owned here (it is
 *  close-on-exec: the spawner passes it on, as the metrics' one). */
int hw__tickets_fd(void);
/** A worker: maps the region read-only from `fd`, which it inherited, and
 *  closes `fd` (owned by this call, whatever it returns).  Returns 0 or a
 *  negative error code (UV_EINVAL: not a region; UV_EBUSY: this process
 *  has one already); the worker then issues no tickets. */
int hw__tickets_attach(int fd);
/** The maker: the ring turns (the current key becomes the first older one,
 *  the oldest is overwritten and gone) and a fresh current key is made.
 *  Does nothing in a worker or without a region; with no randomness to be
 *  had it logs that and leaves the ring as it was. */
void hw__tickets_rotate(void);
/** The maker: rotates every `period_ms` on `loop` (borrowed; it must run
 *  until hw__tickets_stop's close completes) with a timer that keeps no
 *  loop alive.  Returns 0 or a negative error code (UV_EINVAL: not the
 *  maker, or a period of 0; UV_EBUSY: started, or still closing). */
int hw__tickets_start(uv_loop_t *loop, uint64_t period_ms);
/** Stops the rotation: closes the timer (the close completes on the loop's
 *  next turn).  Nothing without a timer. */
void hw__tickets_stop(void);
/** The callback for SSL_CTX_set_tlsext_ticket_key_evp_cb (any process with
 *  a region, any SSL; every argument is borrowed).  `enc` 1: sets
 *  `key_name`, a random `iv`, `ctx` (AES-256-CBC) and `hctx` (HMAC-SHA256)
 *  from the current key and returns 1, or 0 for no ticket (no region, or
 *  the ring could not be read).  `enc` 0: finds the key named `key_name`
 *  and sets `ctx` and `hctx` from it: 1 for the current key, 2 for an older
 *  one (OpenSSL then issues a fresh ticket), 0 when none has that name (a
 *  full handshake follows).  Never waits long: a sequence left odd by a
 *  maker that died while writing is given up on after a few milliseconds,
 *  and at once while it stays that odd value.  Keys are wiped from the
 *  stack before it returns and never logged. */
int hw__tickets_cb(SSL *s, unsigned char key_name[16], unsigned char iv[16],
                   EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc);
/** Copies the current key's name (not secret: every ticket carries it in
 *  clear) into `name`, and the number of rotations into `*rotations` when
 *  it is not NULL.  Returns 0, UV_ENOENT without a region, or UV_EAGAIN
 *  when the ring could not be read whole. */
int hw__tickets_current(unsigned char name[16], uint64_t *rotations);
/** Unmaps the region and closes the descriptor this process owns (at exit;
 *  a worker's mapping outlives the maker's), stopping the timer first if
 *  it runs (hw__tickets_stop: its close completes on the loop). */
void hw__tickets_close(void);

#endif /* HW_TICKETS_H */
