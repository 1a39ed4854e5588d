/*
 * process.c - what the server's processes share (see process.h).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "process.h"
#include "signals.h"

void hw__process_block_signals(int block) {
  hw__signals_block(HW__SIGNALS_CONTROL, block);
}

const char *hw__process_signame(int sig) { return hw__signals_signame(sig); }

/* The NTSTATUS codes a crashed Windows process exits with, by name (as
 * ntstatus.h spells them, in words). */
static const struct {
  uint32_t code;
  const char *name;
} crashes[] = {
    {0xC0000005u, "access violation"},
    {0xC0000006u, "in-page error"},
    {0xC000001Du, "illegal instruction"},
    {0xC0000025u, "noncontinuable exception"},
    {0xC000008Cu, "array bounds exceeded"},
    {0xC000008Du, "float denormal operand"},
    {0xC000008Eu, "float divide by zero"},
    {0xC0000090u, "float invalid operation"},
    {0xC0000091u, "float overflow"},
    {0xC0000094u, "integer divide by zero"},
    {0xC0000095u, "integer overflow"},
    {0xC0000096u, "privileged instruction"},
    {0xC00000FDu, "stack overflow"},
    {0xC0000135u, "DLL not found"},
    {0xC0000138u, "ordinal not found"},
    {0xC0000139u, "entry point not found"},
    {0xC000013Au, "control-C exit"},
    {0xC0000142u, "DLL initialization failed"},
    {0xC0000374u, "heap corruption"},
    {0xC0000409u, "stack buffer overrun"},
    {0xC0000417u, "invalid C runtime parameter"},
    {0x80000003u, "breakpoint"},
};

const char *hw__process_status_name(int64_t status) {
  /* An NTSTATUS error or warning has its top bit set: no exit(3) status
   * on POSIX (0-255) is one, so this says NULL there. */
  if (status < 0x80000000ll || status > 0xFFFFFFFFll)
    return NULL;
  for (size_t i = 0; i < sizeof(crashes) / sizeof(crashes[0]); i++)
    if (crashes[i].code == (uint32_t)status)
      return crashes[i].name;
  return status >= 0xC0000000ll ? "unknown NTSTATUS error" : NULL;
}

