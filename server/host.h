/*
 * host.h - the function table a module is given (host.c): hw_host, the
 * whole of what a module may ask of the server.  Each function reads or
 * writes a request through the request core; loop() is the one that takes
 * no request, and answers from the module call running (module.c).
 */
#ifndef HW_HOST_H
#define HW_HOST_H

#include "haywire.h"

/** The table, handed to every module's init; the server's, read-only,
 *  valid for the process's life. */
extern const hw_host hw__host;

#endif /* HW_HOST_H */
