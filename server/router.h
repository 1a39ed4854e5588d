/*
 * router.h - URL path prefix to route (router.c): longest prefix on whole
 * segments, in one hash table probed once per segment of the path.
 */
#ifndef HW_ROUTER_H
#define HW_ROUTER_H

#include <stddef.h>

typedef struct hw__router hw__router;

/** A new empty router (the caller's; free with hw__router_free), or NULL. */
hw__router *hw__router_new(void);
void hw__router_free(hw__router *r);
/** Adds a prefix (borrowed: it must outlive the router).  Returns 0,
 *  UV_EEXIST for a duplicate, UV_EINVAL for a malformed prefix or
 *  UV_ENOMEM. */
int hw__router_add(hw__router *r, const char *prefix, size_t len, void *value);
/**
 * Finds the longest prefix of `path` shorter than `max_len` bytes that ends
 * on a segment boundary.  Pass SIZE_MAX first; after a module declines, pass
 * the previous match's length to get the next shorter one.  Returns the
 * value and sets `*match_len`, or NULL.  The query string must already be
 * cut off.  Cost depends on the path, not on the number of routes.
 */
void *hw__router_match(const hw__router *r, const char *path, size_t len,
                       size_t max_len, size_t *match_len);

#endif /* HW_ROUTER_H */
