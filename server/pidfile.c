/*
 * pidfile.c - the pid file and the reload record (see pidfile.h).
 *
 * The server holds an exclusive flock(2) on its pid file for its whole
 * life: that is what makes it the file's owner (two servers started at once
 * cannot both pass a read-then-write check), and what tells a reader that
 * the pid in it is still the server's and not a number the kernel has since
 * given to another process, even to another Haywire's worker.  The pid is
 * written over the old one in place (the lock is the open file's; a rename
 * would drop it), then the file is cut to its length: a reader sees the old
 * number or the new one, each ending in a newline.  The reload record is
 * replaced by rename(2), so a reader never sees half of one.  A pid file no
 * process holds is told apart by whether its pid is still a Haywire (its
 * command name in /proc, which os_posix.c reads): a process that is not
 * is never signalled.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "os.h"
#include "pidfile.h"

/* The pid file this process holds locked (-1: none), and its path. */
static int held_fd = -1;
static char held_path[4200];

/* Keeps `fd`, locked, as the pid file at `path`. */
static void hold(int fd, const char *path) {
  if (held_fd >= 0)
    close(held_fd);
  held_fd = fd;
  snprintf(held_path, sizeof(held_path), "%s", path);
}

/* 1 if some process holds `path` locked (a running server owns it). */
static int locked_by_other(const char *path) {
  int fd = open(path, O_RDONLY | HW__O_CLOEXEC), held = 0;
  if (fd < 0)
    return 0;
  held = hw__os_lock_file(fd, 0) == 1;
  close(fd);
  return held;
}

/* Writes `text` to `path` through a temporary file beside it. */
static int replace_file(const char *path, const char *text, size_t len) {
  char tmp[4200];
  int fd, e = 0;
  ssize_t n;

  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
      sizeof(tmp))
    return UV_ENAMETOOLONG;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | HW__O_CLOEXEC, 0644);
  if (fd < 0)
    return hw__os_uv_err(errno);
  n = write(fd, text, len);
  if (n < 0 || (size_t)n != len)
    e = n < 0 ? hw__os_uv_err(errno) : UV_EIO;
  if (close(fd) != 0 && e == 0)
    e = hw__os_uv_err(errno);
  if (e == 0 && hw__os_rename_over(tmp, path) != 0)
    e = hw__os_uv_err(errno);
  if (e != 0)
    unlink(tmp);
  return e;
}

int hw__pidfile_alive(pid_t pid) {
  if (pid <= 0 || !hw__os_process_alive((long)pid))
    return 0;
  /* A process that has exited but is not yet reaped still answers kill().
   * (Where the system cannot tell, kill() is all there is.) */
  return !hw__os_process_exited((long)pid);
}

int hw__pidfile_is_haywire(pid_t pid) {
  char comm[64], self[64];
  if (!hw__pidfile_alive(pid))
    return 0;
  if (hw__os_process_name((long)pid, comm, sizeof(comm)) != 0)
    return !hw__os_process_names_known(); /* cannot tell */
  /* The installed name, libtool's uninstalled one, or whatever this very
   * binary is called (a renamed copy asks its own kind). */
  return strcmp(comm, "haywire") == 0 || strcmp(comm, "lt-haywire") == 0 ||
         (hw__os_process_name(0, self, sizeof(self)) == 0 &&
          strcmp(comm, self) == 0);
}

int hw__pidfile_read(const char *path, pid_t *pid, char *err, size_t err_len) {
  char text[64], *end;
  long v;
  ssize_t n = hw__os_read_small(path, text, sizeof(text));

  if (n < 0) {
    if (n == UV_ENOENT)
      snprintf(err, err_len,
               "%s does not exist: no server is running with this pid file",
               path);
    else
      snprintf(err, err_len, "cannot read %s: %s", path, uv_strerror((int)n));
    return (int)n;
  }
  errno = 0;
  v = strtol(text, &end, 10);
  if (errno != 0 || end == text || v <= 0 || v > (long)INT32_MAX ||
      (*end != '\n' && *end != '\0')) {
    snprintf(err, err_len, "%s does not hold a process id", path);
    return UV_EINVAL;
  }
  *pid = (pid_t)v;
  if (!hw__pidfile_alive(*pid)) {
    snprintf(err, err_len,
             "%s is stale: process %ld is not running (no server is running "
             "with this pid file)",
             path, v);
    return UV_ESRCH;
  }
  if (!hw__pidfile_is_haywire(*pid)) {
    snprintf(err, err_len,
             "%s names process %ld, which is not Haywire: refusing to signal "
             "it",
             path, v);
    return UV_EPERM;
  }
  /* A Haywire, but is it the one that wrote the file?  Its server would
   * hold the file locked (this process's own file is its own). */
  if (*pid != getpid() && !locked_by_other(path)) {
    snprintf(err, err_len,
             "%s is stale: no server holds it (process %ld is another "
             "Haywire process)",
             path, v);
    return UV_ESRCH;
  }
  return 0;
}

int hw__pidfile_write(const char *path, char *err, size_t err_len) {
  char text[32], why[512];
  pid_t other;
  ssize_t w;
  int n, fd, e;

  fd = open(path, O_RDWR | O_CREAT | HW__O_CLOEXEC, 0644);
  if (fd < 0) {
    e = hw__os_uv_err(errno);
    snprintf(err, err_len, "cannot write the pid file %s: %s", path,
             uv_strerror(e));
    return e;
  }
  if ((e = hw__os_lock_file(fd, 1)) != 0) {
    e = e == 1 ? UV_EEXIST : e;
    close(fd);
    if (e != UV_EEXIST) {
      snprintf(err, err_len, "cannot lock the pid file %s: %s", path,
               uv_strerror(e));
      return e;
    }
    if (hw__pidfile_read(path, &other, why, sizeof(why)) == 0)
      snprintf(err, err_len,
               "the pid file %s is held by Haywire process %ld, which is "
               "running: stop it first (haywire -s quit) or give this server "
               "another pid file (--pid-file, \"pid_file\")",
               path, (long)other);
    else
      snprintf(err, err_len,
               "the pid file %s is held by another running server: stop it "
               "first or give this server another pid file (--pid-file, "
               "\"pid_file\")",
               path);
    return UV_EEXIST;
  }
  n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
  w = hw__os_pwrite(fd, text, (size_t)n, 0);
  if (w != n || ftruncate(fd, n) != 0) {
    e = w < 0 ? (int)w : w == n ? hw__os_uv_err(errno) : UV_EIO;
    close(fd);
    snprintf(err, err_len, "cannot write the pid file %s: %s", path,
             uv_strerror(e));
    return e;
  }
  hold(fd, path);
  return 0;
}

void hw__pidfile_record_path(const char *pid_file, char *buf, size_t len) {
  snprintf(buf, len, "%s.reload", pid_file);
}

void hw__pidfile_upgrade_path(const char *pid_file, char *buf, size_t len) {
  snprintf(buf, len, "%s.upgrade", pid_file);
}

int hw__pidfile_take_over(const char *path, char *err, size_t err_len) {
  char tmp[4200], text[32];
  int fd, n, e = 0;

  /* A master that wrote the file at its start holds it already: nothing to
   * take (and Windows could not rename over a file open here). */
  if (held_fd >= 0 && strcmp(held_path, path) == 0)
    return 0;
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
                       (long)getpid()) >= sizeof(tmp))
    e = UV_ENAMETOOLONG;
  else if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | HW__O_CLOEXEC, 0644)) < 0)
    e = hw__os_uv_err(errno);
  if (e != 0) {
    snprintf(err, err_len, "cannot write the pid file %s: %s", path,
             uv_strerror(e));
    return e;
  }
  /* The lock is the open file's: it stays with the file through the
   * rename (it is the file replaced by a rename that loses its lock). */
  n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
  if (hw__os_lock_file(fd, 1) != 0 || write(fd, text, (size_t)n) != n ||
      rename(tmp, path) != 0) {
    e = errno != 0 ? hw__os_uv_err(errno) : UV_EIO;
    close(fd);
    unlink(tmp);
    snprintf(err, err_len, "cannot write the pid file %s: %s", path,
             uv_strerror(e));
    return e;
  }
  hold(fd, path);
  return 0;
}

void hw__pidfile_remove(const char *path) {
  char text[64], record[4200];
  if (path == NULL || hw__os_read_small(path, text, sizeof(text)) <= 0 ||
      strtol(text, NULL, 10) != (long)getpid())
    return;
  hw__pidfile_record_path(path, record, sizeof(record));
  unlink(record);
  hw__pidfile_upgrade_path(path, record, sizeof(record));
  unlink(record);
  /* The file goes before its lock: a server starting now creates a new
   * one rather than lock this one.  Windows cannot remove a file that is
   * open here: there it goes after the lock (only there), unless a
   * starting server has opened it meanwhile (then its open stops the
   * removal). */
  int removed = unlink(path) == 0;
  if (held_fd >= 0) {
    close(held_fd);
    held_fd = -1;
    held_path[0] = '\0';
  }
  if (!removed && !HW__OS_UNLINK_OPEN)
    unlink(path);
}

int hw__pidfile_record_write(const char *path, const hw__pidfile_record *r) {
  char text[4600];
  int n = snprintf(text, sizeof(text),
                   "pid %ld\nsequence %llu\nstarted %llu\ngeneration %u\n"
                   "result %s\nreason ",
                   r->pid, (unsigned long long)r->sequence,
                   (unsigned long long)r->started, r->generation,
                   r->ok ? "ok" : "failed");
  /* The reason is the rest of the file, on one line: messages are one line
   * already, but a module's text may hold anything. */
  for (const char *p = r->reason; *p != '\0' && n < (int)sizeof(text) - 2;
       p++)
    text[n++] = *p == '\n' || *p == '\r' ? ' ' : *p;
  text[n++] = '\n';
  return replace_file(path, text, (size_t)n);
}

int hw__pidfile_record_read(const char *path, hw__pidfile_record *r) {
  char text[4700], result[16] = "";
  unsigned long long seq, started;
  const char *reason;
  ssize_t n = hw__os_read_small(path, text, sizeof(text));

  if (n < 0)
    return n == UV_ENOENT ? UV_ENOENT : UV_EINVAL;
  memset(r, 0, sizeof(*r));
  if (sscanf(text,
             "pid %ld\nsequence %llu\nstarted %llu\ngeneration %u\n"
             "result %15s\n",
             &r->pid, &seq, &started, &r->generation, result) != 5 ||
      (reason = strstr(text, "\nreason ")) == NULL)
    return UV_EINVAL;
  r->sequence = seq;
  r->started = started;
  r->ok = strcmp(result, "ok") == 0;
  snprintf(r->reason, sizeof(r->reason), "%s", reason + 8);
  r->reason[strcspn(r->reason, "\n")] = '\0';
  return 0;
}
