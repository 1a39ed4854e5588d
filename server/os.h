/*
 * os.h - the platform unit's portable interface (os_posix.c on Linux;
 * os_win32.c on Windows, issue 21): what the server needs of the
 * operating system that has no portable spelling, and nothing else.  It
 * owns the shared pages between a master and its workers (a region by
 * descriptor, a page in a named file, anonymous pages), the staging of
 * files (copies in binary mode, the private run directory, removing a
 * retired generation's directory), files at offsets and gathered writes, a
 * socket's writes from memory and from files, a process's memory,
 * descriptors, name and state, the pid file's lock, and the few C library
 * calls one of the systems lacks (gmtime_r, strndup, memmem, setenv,
 * random bytes).  (Loading modules is dl.h's.)  A unit calls down into
 * it; it calls nothing of ours and logs nothing: it answers with error
 * codes (or, where the caller's messages name files, writes the message
 * into the caller's buffer).
 */
#ifndef HW_OS_H
#define HW_OS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <direct.h> /* _mkdir */
#endif
#include <sys/types.h> /* ssize_t (mingw has it there too) */
#include <time.h>

/* ---- sockets and addresses ---------------------------------------------- */

/* The headers for sockets, their addresses and the address functions
 * (inet_pton, inet_ntop, htons...), for both systems: a unit that needs
 * them includes this header instead of naming the system's own.  On
 * Windows, winsock2.h before anything that includes windows.h (uv.h does
 * the same; autoconf.h defines WIN32_LEAN_AND_MEAN there). */
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#endif
#include <uv.h> /* uv_os_sock_t */

/* ---- printf-like functions ---------------------------------------------- */

/** Marks a function whose argument `fmt` is a printf format and whose
 *  variable arguments start at `args`, for the compiler to check.  On
 *  mingw, gnu_printf: the C library there is msvcrt's, and the "printf"
 *  archetype would warn on %zu and %lld, which __USE_MINGW_ANSI_STDIO
 *  (autoconf.h) makes work. */
#if defined(__MINGW32__)
#define HW__PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define HW__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HW__PRINTF(fmt, args)
#endif

/* ---- error codes ---------------------------------------------------------- */

/** The libuv error code for the C library's `errno` value `e`: -e on POSIX,
 *  where libuv's codes are negated errno values; on Windows libuv has codes
 *  of its own (UV_ENOENT is -4058 there), so the C runtime's errno values
 *  a unit sees (open, rename, write...) are mapped, UV_EIO for the rare
 *  others.  For messages (uv_strerror) and comparisons with UV_E*. */
static inline int hw__os_uv_err(int e) {
#ifdef _WIN32
  static const int map[][2] = {
      {ENOENT, UV_ENOENT},   {EACCES, UV_EACCES}, {EEXIST, UV_EEXIST},
      {EINVAL, UV_EINVAL},   {ENOMEM, UV_ENOMEM}, {EAGAIN, UV_EAGAIN},
      {EBADF, UV_EBADF},     {ENOSPC, UV_ENOSPC}, {EPIPE, UV_EPIPE},
      {ENOTDIR, UV_ENOTDIR}, {EISDIR, UV_EISDIR}, {EPERM, UV_EPERM},
      {ESRCH, UV_ESRCH},     {EMFILE, UV_EMFILE}, {EBUSY, UV_EBUSY},
      {ENAMETOOLONG, UV_ENAMETOOLONG}, {EROFS, UV_EROFS},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (map[i][0] == e)
      return map[i][1];
  return UV_EIO;
#else
  return -e;
#endif
}

/* ---- paths ---------------------------------------------------------------- */

/** 1 if `c` separates a path's components: '/', and on Windows '\\' too. */
static inline int hw__os_path_sep(char c) {
#ifdef _WIN32
  return c == '/' || c == '\\';
#else
  return c == '/';
#endif
}

/** 1 if `p` names a file from the root: "/..." (on Windows also "\\...",
 *  a UNC path, and "C:\\..." or "C:/...", a drive letter's root), else 0
 *  (a path taken from a base directory). */
static inline int hw__os_path_absolute(const char *p) {
#ifdef _WIN32
  if (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
      p[1] == ':' && hw__os_path_sep(p[2]))
    return 1;
#endif
  return hw__os_path_sep(p[0]);
}

/** The last separator in `p` (hw__os_path_sep), or NULL. */
static inline const char *hw__os_path_last_sep(const char *p) {
  const char *last = NULL;
  for (; *p != '\0'; p++)
    if (hw__os_path_sep(*p))
      last = p;
  return last;
}

/** 1 if every user of the system may read the file at `path` (a private
 *  key should not be): its mode's "other" read bit.  Always 0 on Windows,
 *  where access is an ACL's business and the C runtime's stat() sets the
 *  read bits of every readable file: nothing can be told from them. */
static inline int hw__os_world_readable(const char *path) {
#ifdef _WIN32
  (void)path;
  return 0;
#else
  struct stat st;
  return stat(path, &st) == 0 && (st.st_mode & S_IROTH) != 0;
#endif
}

/** mkdir(2) with its mode (mingw's takes none: a directory's access is
 *  its ACL's there): 0, or -1 with errno. */
static inline int hw__os_mkdir(const char *path, unsigned mode) {
#ifdef _WIN32
  (void)mode;
  return _mkdir(path);
#else
  return mkdir(path, (mode_t)mode);
#endif
}

/** 1 where a file can be removed while it is open (POSIX); 0 on Windows,
 *  where the C runtime's opens do not allow it. */
#ifdef _WIN32
#define HW__OS_UNLINK_OPEN 0
#else
#define HW__OS_UNLINK_OPEN 1
#endif

/* ---- descriptors --------------------------------------------------------- */

/** The flag a unit's open(2) adds so that no child inherits the file:
 *  O_CLOEXEC; on Windows O_NOINHERIT, and O_BINARY so that the bytes are
 *  the same as on Linux (no CR added before LF, no ^Z end). */
#ifdef _WIN32
#define HW__O_CLOEXEC (O_NOINHERIT | O_BINARY)
#else
#define HW__O_CLOEXEC O_CLOEXEC
#endif

/** One buffer of a gathered write: struct iovec where there is one (the
 *  fields are iov_base and iov_len on both systems). */
#ifdef _WIN32
typedef struct hw__os_iov {
  void *iov_base;
  size_t iov_len;
} hw__os_iov;
#else
typedef struct iovec hw__os_iov;
#endif

/** A duplicate of `fd`, not inherited by children, numbered above the
 *  standard three: the new descriptor, or -errno (-EBADF: `fd` is none). */
int hw__os_dup_cloexec(int fd);

/** Reads up to `n` bytes of `fd` at `off`, not using (on Windows: not
 *  relying on) its file position: the count (0 at the end), or -errno.
 *  An interrupted call is retried. */
ssize_t hw__os_pread(int fd, void *buf, size_t n, uint64_t off);

/** Writes up to `n` bytes to `fd` at `off`: the count, or -errno. */
ssize_t hw__os_pwrite(int fd, const void *buf, size_t n, uint64_t off);

/** Replaces `to` with `from` in one step, as rename(2) (Windows' C
 *  runtime refuses to replace: MoveFileEx there): 0, or -1 with errno. */
int hw__os_rename_over(const char *from, const char *to);

/** Opens the log file `path` for appending, not inherited by children,
 *  made (mode 0644) when missing if `create`: the descriptor, or -1 with
 *  errno.  As on POSIX, the file may be renamed or removed while it is
 *  open (Windows: FILE_SHARE_DELETE, which the C runtime's open never
 *  asks for), so that a rotation can move it away and ask for a reopen. */
int hw__os_open_log(const char *path, int create);

/** Appends the `n` buffers to the file `fd` (opened O_APPEND) with one
 *  write, so that they land in one piece at its end even while other
 *  processes append to it (writev; on Windows one WriteFile of their
 *  concatenation at the end-of-file offset, which is atomic as O_APPEND
 *  is): the count written, or -errno.  Never retries a short write. */
ssize_t hw__os_append_v(int fd, const hw__os_iov *iov, int n);

/* ---- sockets' writes ---------------------------------------------------- */

/** Sends the `n` buffers on the non-blocking socket `s` (no SIGPIPE);
 *  `more`: a file region follows, hold the packet for it where the system
 *  can (MSG_MORE; nothing on Windows).  The count sent, -EAGAIN when the
 *  socket is full, or -errno. */
ssize_t hw__os_send_gather(uv_os_sock_t s, const hw__os_iov *iov, size_t n,
                           int more);

/** Sends up to `len` bytes of file `fd` from `off` on the non-blocking
 *  socket `s`, without moving `fd`'s position: the count sent, 0 when the
 *  file ends before `off`, -EAGAIN when the socket is full, or -errno.
 *  sendfile(2) on Linux; on Windows a read into a buffer and a send. */
ssize_t hw__os_send_file(uv_os_sock_t s, int fd, uint64_t off, size_t len);

/** Gives a socket to watch for writability with a uv_poll_t beside the
 *  libuv handle that owns `s` (one loop cannot watch one descriptor
 *  twice on Linux: a close-on-exec duplicate; Windows polls the socket
 *  itself).  0 with *out, or -errno. */
int hw__os_sock_watch(uv_os_sock_t s, uv_os_sock_t *out);

/** Lets go of what hw__os_sock_watch gave. */
void hw__os_sock_unwatch(uv_os_sock_t w);

/* ---- the C library ------------------------------------------------------ */

/** UTC broken-down time of `sec` since 1970 (64 bits on both systems):
 *  0, or -EINVAL. */
int hw__os_gmtime(int64_t sec, struct tm *out);

/** `n` bytes from the kernel's random generator: 0, or -errno. */
int hw__os_random(void *p, size_t n);

/** strndup(3): a malloc'd copy of at most `n` bytes of `s`, or NULL. */
char *hw__os_strndup(const char *s, size_t n);

/** memmem(3): the first `nl` bytes `needle` in `hl` bytes `hay`, or NULL. */
void *hw__os_memmem(const void *hay, size_t hl, const void *needle,
                    size_t nl);

/** Sets the environment variable `name` to `value` (replacing it): 0, or
 *  -errno. */
int hw__os_setenv(const char *name, const char *value);

/* ---- shared pages ------------------------------------------------------- */

/** Makes a region of `size` bytes in no file system, shared by its
 *  descriptor (close-on-exec; a worker is handed it explicitly), `name`
 *  for debuggers.  0 with *fd and the read-write mapping *out, or -errno
 *  with nothing left open. */
int hw__os_pages_create(const char *name, size_t size, int *fd, void **out);

/** Maps `size` bytes of a region's descriptor `fd` (not closed), shared,
 *  read-write or read-only.  0 with *out, or -errno. */
int hw__os_pages_map(int fd, size_t size, int writable, void **out);

/** The size of the region behind `fd`: 0 with *size, or -errno. */
int hw__os_pages_size(int fd, size_t *size);

/** Anonymous read-write pages: private to this process, or (`shared`)
 *  shared with the children it forks.  0 with *out, or -errno. */
int hw__os_pages_anon(size_t size, int shared, void **out);

/** Maps `size` bytes of the file `path`, shared and read-write: made anew
 *  (mode 0600, cut to `size`) when `create`, else opened as it is.  The
 *  file stays; the mapping is kept after the descriptor is closed.  0 with
 *  *out, or -errno. */
int hw__os_pages_file(const char *path, size_t size, int create, void **out);

/** Gives back private anonymous pages (hw__os_pages_anon, not shared):
 *  the next touch reads zeros.  0, or -errno. */
int hw__os_pages_discard(void *p, size_t size);

/** Unmaps what one of the calls above mapped (its `size`). */
void hw__os_pages_unmap(void *p, size_t size);

/** Keeps the pages out of core dumps (secrets), where the system can. */
void hw__os_pages_nodump(void *p, size_t size);

/* ---- files and directories ---------------------------------------------- */

/** Copies `from` to `to`, byte for byte, created with `mode` and never
 *  overwritten; `mode` 0: readable by whom the original is (owner read,
 *  plus the original's group and other read bits).  0, or -1 with the
 *  reason in `why` ("<file>: <error>", "cannot create <to>: <error>",
 *  "cannot write <to>: <error>"). */
int hw__os_copy_file(const char *from, const char *to, unsigned mode,
                     char *why, size_t why_len);

/** Makes a private directory "haywire.<pid>.XXXXXX" under `parent` (NULL:
 *  $TMPDIR, else the system's temporary directory), on a file system that
 *  may hold executable code.  0 with *out its absolute path (malloc'd), or
 *  a libuv error code with the message in `err`. */
int hw__os_run_dir(const char *parent, char **out, char *err, size_t err_len);

/** Removes `dir` and its files, `depth` levels of subdirectories deep.  Its
 *  files may still be loaded (a retired generation's module copies). */
void hw__os_remove_tree(const char *dir, int depth);

/* ---- processes ---------------------------------------------------------- */

#define HW__OS_USAGE_RESIDENT 1 /* *resident was set */
#define HW__OS_USAGE_FDS 2      /* *fds was set */

/** The resident memory (bytes) and the open descriptors of process `pid`
 *  (this one's not counting the look itself): which of the two it could
 *  read, as HW__OS_USAGE_* bits. */
int hw__os_process_usage(long long pid, uint64_t *resident, uint64_t *fds);

/** Reads a small file whole into `buf` (`cap` bytes, NUL-terminated):
 *  its length, or a libuv error code (hw__os_uv_err). */
ssize_t hw__os_read_small(const char *path, char *buf, size_t cap);

/** The command name of process `pid` (0: this one), as the system keeps
 *  it ("haywire"), into buf: 0, or -1 when it cannot be read. */
int hw__os_process_name(long pid, char *buf, size_t cap);

/** 1 if the system can tell processes' names (hw__os_process_name). */
int hw__os_process_names_known(void);

/** 1 if process `pid` exists (kill(pid, 0) succeeds or is refused for
 *  want of permission; on Windows, OpenProcess finds it), else 0. */
int hw__os_process_alive(long pid);

/** 1 if process `pid`, which still answers a signal, has exited and waits
 *  to be reaped (or is gone); 0 if it runs, or if the system cannot tell. */
int hw__os_process_exited(long pid);

/* ---- the pid file's lock ------------------------------------------------ */

/** Locks the open file `fd` without waiting, shared or exclusive: 0; 1
 *  when another process holds a lock that conflicts; -errno else.  The
 *  lock is the open file's and goes with its last descriptor. */
int hw__os_lock_file(int fd, int exclusive);

#endif
