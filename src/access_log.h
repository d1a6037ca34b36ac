/*
 * The access log: one line per request (time, client, method, path and
 * query, protocol, status, bytes, duration in seconds, request ID), formatted by h2o's
 * log formatter and written with one write(2) so workers never interleave.
 */
#ifndef MT_ACCESS_LOG_H
#define MT_ACCESS_LOG_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

/* Opens FILE for appending, or returns stdout's descriptor for "-"; -1 with a reason on failure. */
int mt_access_log_open(const char *target, char *err, size_t errsize);

void mt_access_log_register(h2o_pathconf_t *pathconf, int fd);

#endif
