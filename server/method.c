/*
 * method.c - the tables of request methods, generated from HW__METHOD_MAP
 * (method.h).
 */
#include "autoconf.h"

#include "method.h"

_Static_assert(HW__METHOD_COUNT < 64, "one bit per method, and OTHER");

const char *const hw__method_name[HW__METHOD_COUNT] = {
#define XX(num, sym, name, std) name,
    HW__METHOD_MAP(XX)
#undef XX
};

const char *const hw__method_name_sp[HW__METHOD_COUNT] = {
#define XX(num, sym, name, std) name " ",
    HW__METHOD_MAP(XX)
#undef XX
};

const uint8_t hw__method_len[HW__METHOD_COUNT] = {
#define XX(num, sym, name, std) sizeof(name) - 1,
    HW__METHOD_MAP(XX)
#undef XX
};
