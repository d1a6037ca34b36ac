/*
 * The command line: `moontide COMMAND APP [options]`, parsed into one struct
 * that the master and its workers read.
 */
#ifndef MT_OPTIONS_H
#define MT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef struct st_mt_options_t {
    const char *command; /* "run" */
    const char *app_path;
    const char *host;
    int port;
    int workers;
    const char *tls_cert;
    const char *tls_key;
    size_t max_body;
    size_t max_url;         /* request target (path and query) in bytes: longer gets 414 */
    int max_headers;        /* header fields: more gets 431 */
    size_t max_header_size; /* bytes of all header fields together: more gets 431 */
    double client_timeout;  /* seconds a client has to send a request (HTTP/1) or stay idle (HTTP/2) */
    int max_connections;    /* open connections per worker; past it the worker stops accepting */
    size_t max_lua_memory;  /* bytes an app's Lua state may hold while a handler runs (0: no cap) */
    double timeout;     /* handler deadline in seconds */
    double grace;       /* seconds in-flight requests get at shutdown */
    size_t shared_memory; /* bytes of the zone moontide.shared dicts are carved from */
    const char *redis;  /* --redis URL: limits and {backend="redis"} dicts shared by several instances */
    const char *access_log;
    int log_level;
    int show_help;
    int show_version;
    int dev; /* moontide dev: reload on change, tracebacks in error responses */
    const char *output; /* build: -o OUT */
} mt_options_t;

/* Returns 0, or -1 with a one-line reason in err. */
int mt_options_parse(mt_options_t *opts, int argc, char **argv, char *err, size_t errsize);
void mt_options_usage(FILE *out);

#endif
