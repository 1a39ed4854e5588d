/*
 * dl_win32.c - loading modules on Windows (see dl.h): LoadLibraryExW
 * (the loader binds every import at load: nothing lazy to force),
 * GetModuleHandleExW without loading (is it still loaded) and from an
 * address (which module it lies in).
 *
 * When a DLL cannot be loaded for want of another ("The specified module
 * could not be found", error 126, while the file itself is there), the
 * system does not say which: this unit reads the DLL's import table from
 * the file (the PE format's import directory) and names the first
 * dependency that the loader's search finds neither beside the DLL nor
 * where LoadLibrary looks (haywire.exe's directory, the system's, PATH).
 * A dependency that is found but cannot load itself is named as "or one of
 * its own dependencies".  Paths are UTF-8 and go to the wide ("W") calls.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "dl.h"

#define MAX_IMAGE (64u << 20) /* a module larger than this is not read */

/* `s` (UTF-8) as a wide string in `out` (`cap` characters): 0, or -1. */
static int wide(const char *s, wchar_t *out, int cap) {
  return MultiByteToWideChar(CP_UTF8, 0, s, -1, out, cap) > 0 ? 0 : -1;
}

/* The whole file at `w`, malloc'd, its size in *len; NULL if unreadable. */
static uint8_t *read_image(const wchar_t *w, size_t *len) {
  HANDLE f = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, 0, NULL);
  LARGE_INTEGER size;
  uint8_t *p = NULL;
  DWORD got = 0;

  if (f == INVALID_HANDLE_VALUE)
    return NULL;
  if (GetFileSizeEx(f, &size) && size.QuadPart > 0 &&
      (uint64_t)size.QuadPart <= MAX_IMAGE &&
      (p = malloc((size_t)size.QuadPart)) != NULL &&
      (!ReadFile(f, p, (DWORD)size.QuadPart, &got, NULL) ||
       got != (DWORD)size.QuadPart)) {
    free(p);
    p = NULL;
  }
  CloseHandle(f);
  *len = (size_t)got;
  return p;
}

/* The file offset of relative virtual address `rva` in the image, through
 * its section table; 0 when no section holds it. */
static size_t offset_of(const uint8_t *img, size_t len,
                        const IMAGE_NT_HEADERS *nt, uint32_t rva) {
  const IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);
  for (unsigned i = 0; i < nt->FileHeader.NumberOfSections; i++, sec++) {
    if ((const uint8_t *)(sec + 1) > img + len)
      return 0;
    if (rva >= sec->VirtualAddress &&
        rva - sec->VirtualAddress < sec->SizeOfRawData)
      return sec->PointerToRawData + (rva - sec->VirtualAddress);
  }
  return 0;
}

/* 1 if the DLL `name` is found beside the module (`dir`, ending in '\')
 * or where the loader looks, and can be opened. */
static int findable(const wchar_t *dir, const char *name) {
  wchar_t wname[MAX_PATH], path[MAX_PATH * 2];
  HMODULE h;
  if (wide(name, wname, MAX_PATH) != 0)
    return 1; /* (unreadable name: not the one to blame) */
  if (_snwprintf(path, MAX_PATH * 2, L"%ls%ls", dir, wname) > 0 &&
      GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES)
    return 1;
  if ((h = LoadLibraryExW(wname, NULL, LOAD_LIBRARY_AS_DATAFILE)) == NULL)
    return 0;
  FreeLibrary(h);
  return 1;
}

/* Writes into `out` the first import of the DLL at `w` that cannot be
 * found; 0, or -1 when the file cannot be read as a PE image or every
 * import is there. */
static int missing_import(const wchar_t *w, char *out, size_t cap) {
  size_t len = 0, off;
  uint8_t *img = read_image(w, &len);
  const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)img;
  const IMAGE_NT_HEADERS *nt;
  const IMAGE_DATA_DIRECTORY *dd;
  wchar_t dir[MAX_PATH * 2], *slash;
  int found = -1;

  if (img == NULL)
    return -1;
  wcsncpy(dir, w, MAX_PATH * 2 - 1);
  dir[MAX_PATH * 2 - 1] = L'\0';
  slash = wcsrchr(dir, L'\\');
  if (wcsrchr(dir, L'/') > slash)
    slash = wcsrchr(dir, L'/');
  if (slash != NULL)
    slash[1] = L'\0';
  else
    dir[0] = L'\0';
  if (len < sizeof(*dos) || dos->e_magic != IMAGE_DOS_SIGNATURE ||
      (size_t)dos->e_lfanew + sizeof(IMAGE_NT_HEADERS) > len)
    goto done;
  nt = (const IMAGE_NT_HEADERS *)(img + dos->e_lfanew);
  if (nt->Signature != IMAGE_NT_SIGNATURE ||
      nt->OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR_MAGIC)
    goto done;
  dd = &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
  if (dd->Size == 0 || (off = offset_of(img, len, nt, dd->VirtualAddress)) == 0)
    goto done;
  for (; off + sizeof(IMAGE_IMPORT_DESCRIPTOR) <= len;
       off += sizeof(IMAGE_IMPORT_DESCRIPTOR)) {
    const IMAGE_IMPORT_DESCRIPTOR *d =
        (const IMAGE_IMPORT_DESCRIPTOR *)(img + off);
    size_t name_off;
    const char *name;
    if (d->Name == 0)
      break;
    name_off = offset_of(img, len, nt, d->Name);
    if (name_off == 0 || memchr(img + name_off, '\0', len - name_off) == NULL)
      break;
    name = (const char *)img + name_off;
    if (!findable(dir, name)) {
      snprintf(out, cap, "%s", name);
      found = 0;
      break;
    }
  }
done:
  free(img);
  return found;
}

/* The system's text for error `e`, without its trailing period and line
 * end. */
static void system_message(DWORD e, char *msg, size_t cap) {
  DWORD n = FormatMessageA(
      FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e,
      MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), msg, (DWORD)cap, NULL);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' ||
                   msg[n - 1] == ' ' || msg[n - 1] == '.'))
    msg[--n] = '\0';
  if (n == 0)
    snprintf(msg, cap, "error %lu", (unsigned long)e);
}

void *hw__dl_open_now(const char *path, char *why, size_t why_len) {
  wchar_t w[MAX_PATH * 2];
  char msg[512], dep[MAX_PATH];
  HMODULE h;
  DWORD e;

  if (wide(path, w, MAX_PATH * 2) != 0) {
    snprintf(why, why_len, "cannot load: the path is too long");
    return NULL;
  }
  /* A DLL's own dependencies: beside it (the altered search path puts its
   * directory first), else beside haywire.exe or on PATH (the standard
   * order, which the altered one leaves out the executable's directory
   * of). */
  if ((h = LoadLibraryExW(w, NULL, LOAD_WITH_ALTERED_SEARCH_PATH)) != NULL ||
      (GetLastError() == ERROR_MOD_NOT_FOUND &&
       (h = LoadLibraryExW(w, NULL, 0)) != NULL))
    return (void *)h;
  e = GetLastError();
  system_message(e, msg, sizeof(msg));
  if (e == ERROR_MOD_NOT_FOUND && GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES) {
    if (missing_import(w, dep, sizeof(dep)) == 0)
      snprintf(why, why_len,
               "cannot load: it needs %s, which is neither beside it nor "
               "where Windows looks for DLLs (beside haywire.exe, the "
               "system's directories, PATH) (error %lu)",
               dep, (unsigned long)e);
    else
      snprintf(why, why_len,
               "cannot load: a DLL it needs, or one of that DLL's own, "
               "cannot be found: %s (error %lu)",
               msg, (unsigned long)e);
    return NULL;
  }
  snprintf(why, why_len, "cannot load: %s (error %lu)", msg, (unsigned long)e);
  return NULL;
}

void hw__dl_close(void *handle) { FreeLibrary((HMODULE)handle); }

int hw__dl_loaded(const char *path) {
  wchar_t w[MAX_PATH * 2];
  HMODULE h;
  /* GetModuleHandleEx never loads (RTLD_NOLOAD); the count is left. */
  if (wide(path, w, MAX_PATH * 2) != 0)
    return 0;
  return GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, w,
                            &h) != 0;
}

int hw__dl_owns(const void *known, const void *addr) {
  const DWORD how = GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT;
  HMODULE a, b;
  if (addr == NULL || !GetModuleHandleExW(how, (LPCWSTR)known, &a) ||
      !GetModuleHandleExW(how, (LPCWSTR)addr, &b))
    return 0;
  return a == b;
}
