/*
 * modconf.h - a route's "config" as its module reads it (modconf.c): the
 * accessors of ABI 1.2 (hw_host's config and conf_* members), backed by
 * jansson, so that a module needs no JSON parser of its own.  The value is
 * parsed for the duration of one route's init and gone after it; every
 * handle and string the accessors hand out goes with it.
 */
#ifndef HW_MODCONF_H
#define HW_MODCONF_H

#include <stddef.h>
#include <stdint.h>

#include "haywire.h"

/** The init of route `route` (its index in routes[]) begins, with `config`
 *  (the JSON text it is given; borrowed until hw__modconf_end). */
void hw__modconf_begin(size_t route, const char *config, size_t len);
/** That init has returned: everything the accessors handed out is freed. */
void hw__modconf_end(void);

/* The accessors, with the signatures of their hw_host members. */
const hw_conf *hw__modconf_config(const char *config);
const hw_conf *hw__modconf_find(const hw_conf *v, const char *path);
int hw__modconf_type(const hw_conf *v);
int hw__modconf_string(const hw_conf *v, const char *path, hw_str *out,
                       char *err, size_t err_len);
int hw__modconf_int(const hw_conf *v, const char *path, int64_t *out,
                    char *err, size_t err_len);
int hw__modconf_number(const hw_conf *v, const char *path, double *out,
                       char *err, size_t err_len);
int hw__modconf_bool(const hw_conf *v, const char *path, int *out, char *err,
                     size_t err_len);
size_t hw__modconf_count(const hw_conf *v);
const hw_conf *hw__modconf_at(const hw_conf *v, size_t index, hw_str *key);
int hw__modconf_keys(const hw_conf *v, const char *const *keys, char *err,
                     size_t err_len);
int hw__modconf_error(const hw_conf *v, const char *path, const char *what,
                      char *err, size_t err_len);

#endif /* HW_MODCONF_H */
