/*
 * upgrade_posix.c - the file operations of a binary upgrade on POSIX (see
 * upgrade.h): a hard link for the pid file's ".oldbin" name, and the pipe
 * to the old master kept from this master's own children.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <unistd.h>

#include "upgrade.h"

int hw__upgrade_link(const char *from, const char *to) {
  return link(from, to);
}

void hw__upgrade_private(int fd) { fcntl(fd, F_SETFD, FD_CLOEXEC); }
