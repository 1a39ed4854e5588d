/*
 * config_write.h - a configuration written back as routes.json text
 * (config_write.c), for another process to read exactly what this one
 * read: the reload preflight and the workers start from such a snapshot.
 */
#ifndef HW_CONFIG_WRITE_H
#define HW_CONFIG_WRITE_H

#include "config.h"

/**
 * Writes `cfg` as JSON text (caller frees), with every module as the
 * absolute path in module_path and every file absolute, so that another
 * process (the reload preflight, a worker) reads exactly this
 * configuration.  NULL when out of memory.
 */
char *hw__config_write_json(const hw__config *cfg);

#endif /* HW_CONFIG_WRITE_H */
