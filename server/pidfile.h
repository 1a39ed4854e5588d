/*
 * pidfile.h - the files a running server keeps beside each other so that
 * another process can find and ask it (pidfile.c): the pid file, naming the
 * master (or the single process), and the reload record, the outcome of the
 * last reload, which `haywire -s reload` waits for.
 */
#ifndef HW_PIDFILE_H
#define HW_PIDFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** The outcome of one reload, as the master records it. */
typedef struct hw__pidfile_record {
  long pid;           /* the process that reloaded */
  uint64_t sequence;  /* 1 for its first reload, then counting */
  uint64_t started;   /* uv_hrtime() (CLOCK_MONOTONIC, ns) when it began */
  unsigned generation; /* in force afterwards */
  int ok;
  char reason[4096];  /* why it failed; empty when ok */
} hw__pidfile_record;

/**
 * Takes `path` (borrowed) as this process's pid file: locks it (flock, held
 * until hw__pidfile_remove or exit) and writes the pid.  Refuses (UV_EEXIST)
 * when another running server holds it, so two servers never answer to one
 * pid file.  Returns 0 or a negative code with a message naming the file in
 * `err`.
 */
int hw__pidfile_write(const char *path, char *err, size_t err_len);
/** Removes `path` and its reload and upgrade records if the pid file still names this
 *  process (a successor's is left alone).  NULL: nothing. */
void hw__pidfile_remove(const char *path);
/**
 * Reads `path` and checks what it names: a running Haywire process.
 * Returns 0 with `*pid` set, or a negative code with a message in `err`:
 * UV_ENOENT (no file: no server), UV_ESRCH (stale: the process is gone,
 * or is a Haywire process that does not hold the file), UV_EPERM (the
 * process is not Haywire), UV_EINVAL (not a pid file).
 */
int hw__pidfile_read(const char *path, pid_t *pid, char *err, size_t err_len);
/** 1 if `pid` is a Haywire process (its command name), 0 if not or gone. */
int hw__pidfile_is_haywire(pid_t pid);
/** 1 while `pid` exists and is not a zombie. */
int hw__pidfile_alive(pid_t pid);
/** The reload record's path beside pid file `pid_file`: "<pid_file>.reload". */
void hw__pidfile_record_path(const char *pid_file, char *buf, size_t len);
/** The upgrade record's path beside pid file `pid_file`:
 *  "<pid_file>.upgrade" (same format as the reload record). */
void hw__pidfile_upgrade_path(const char *pid_file, char *buf, size_t len);
/**
 * A binary upgrade's new master takes `path` over from the old one (which
 * has linked it as "<path>.oldbin" and keeps its lock): writes its pid to
 * a new file, locked, and renames it over `path`, so `path` always names
 * one of the two.  Returns 0 or a negative code with a message in `err`.
 */
int hw__pidfile_take_over(const char *path, char *err, size_t err_len);
/** Replaces the record at `path` in one rename (a reader sees the old or the
 *  new one, never half).  Returns 0 or a negative code. */
int hw__pidfile_record_write(const char *path, const hw__pidfile_record *r);
/** Reads the record at `path`.  Returns 0, UV_ENOENT or UV_EINVAL. */
int hw__pidfile_record_read(const char *path, hw__pidfile_record *r);

#endif /* HW_PIDFILE_H */
