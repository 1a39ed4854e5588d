/*
 * status.c - reason phrases of HTTP status codes, generated from
 * HW__STATUS_MAP (status.h): the compiler turns the switch into a table.
 */
#include "autoconf.h"

#include "status.h"

const char *hw__status_reason(int status, size_t *len) {
  switch (status) {
#define XX(code, reason)                                                       \
  case code: *len = sizeof(reason) - 1; return reason;
    HW__STATUS_MAP(XX)
#undef XX
  default: *len = 0; return "";
  }
}
