/*
 * upgrade_win32.c - the file operations of a binary upgrade on Windows
 * (see upgrade.h).  `haywire -s upgrade` is refused on Windows (a socket
 * cannot be inherited by number across the new master's start), so these
 * only keep upgrade.c one file for both systems: a hard link is
 * CreateHardLinkA, and a descriptor is private once its handle is not
 * inheritable.
 */
#include "autoconf.h"

#include <errno.h>
#include <io.h>
#include <windows.h>

#include "upgrade.h"

int hw__upgrade_link(const char *from, const char *to) {
  DWORD e;
  if (CreateHardLinkA(to, from, NULL))
    return 0;
  e = GetLastError();
  errno = e == ERROR_ALREADY_EXISTS   ? EEXIST
          : e == ERROR_FILE_NOT_FOUND ? ENOENT
          : e == ERROR_ACCESS_DENIED  ? EACCES
                                      : EIO;
  return -1;
}

void hw__upgrade_private(int fd) {
  intptr_t h = _get_osfhandle(fd);
  if (h != -1)
    SetHandleInformation((HANDLE)h, HANDLE_FLAG_INHERIT, 0);
}
