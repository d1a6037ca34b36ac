/*
 * moontide's entry point: parse the command line, load the app (so a broken
 * app fails before anything listens), open the listener, then hand over to
 * the master, which forks the workers.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "access_log.h"
#include "bundle.h"
#include "listener.h"
#include "log.h"
#include "lua_memory.h"
#include "master.h"
#include "options.h"
#include "redis.h"
#include "shared.h"

static int fail(const char *reason)
{
    fprintf(stderr, "moontide: error: %s\n", reason);
    return 1;
}

static int run(const mt_options_t *opts)
{
    char err[1024];
    int status = 1;
    mt_worker_config_t config = {.opts = opts, .listen_fd = -1, .access_log_fd = -1};

    /* before the app loads: its limiters count in Redis when it is there */
    if (opts->redis != NULL && mt_redis_configure(opts->redis, err, sizeof(err)) != 0)
        return fail(err);
    mt_problems_t problems;
    if ((config.app = mt_app_load(opts->app_path, &problems)) == NULL) {
        if (problems.count > 1)
            fprintf(stderr, "moontide: error: %s (and %zu more: `moontide check %s` lists them all)\n", problems.lines[0],
                    problems.count - 1, opts->app_path);
        else
            fprintf(stderr, "moontide: error: %s\n", problems.count ? problems.lines[0] : "the app failed to load");
        mt_problems_free(&problems);
        return 1;
    }
    if (opts->tls_cert != NULL && (config.ssl_ctx = mt_listener_tls(opts->tls_cert, opts->tls_key, err, sizeof(err))) == NULL)
        goto fail;
    if (opts->access_log != NULL && (config.access_log_fd = mt_access_log_open(opts->access_log, err, sizeof(err))) < 0)
        goto fail;
    if ((config.listen_fd = mt_listener_open(opts->host, opts->port, err, sizeof(err))) < 0)
        goto fail;

    int port = mt_listener_port(config.listen_fd);
    int ipv6 = strchr(opts->host, ':') != NULL;
    mt_log_info("serving %s on %s://%s%s%s:%d with %d worker(s)%s%s", config.app->path,
                config.ssl_ctx ? "https" : "http", ipv6 ? "[" : "", opts->host, ipv6 ? "]" : "", port, opts->workers,
                opts->redis != NULL ? ", Redis at " : "", opts->redis != NULL ? mt_redis_address() : "");
    status = mt_master_run(&config);
    config.listen_fd = -1; /* the master closed it when shutdown began */
    goto cleanup;

fail:
    fprintf(stderr, "moontide: error: %s\n", err);
cleanup:
    if (config.listen_fd >= 0)
        close(config.listen_fd);
    if (config.access_log_fd > STDERR_FILENO)
        close(config.access_log_fd);
    SSL_CTX_free(config.ssl_ctx);
    mt_app_free(config.app);
    return status;
}

/* Orders "FILE:LINE: message" lines by file, then by line number. */
static int compare_problems(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    const char *xc = strchr(x, ':'), *yc = strchr(y, ':');
    size_t xf = xc ? (size_t)(xc - x) : strlen(x), yf = yc ? (size_t)(yc - y) : strlen(y);
    int files = strncmp(x, y, xf < yf ? xf : yf);
    if (files != 0 || xf != yf)
        return files != 0 ? files : (xf < yf ? -1 : 1);
    long xl = xc ? strtol(xc + 1, NULL, 10) : 0, yl = yc ? strtol(yc + 1, NULL, 10) : 0;
    return (xl > yl) - (xl < yl);
}

/* Loads APP for a command that does not serve; NULL after printing every problem to stderr. */
static mt_app_t *load_or_report(const char *app_path, const char *consequence)
{
    mt_problems_t problems;
    mt_app_t *app = mt_app_load(app_path, &problems);
    if (app == NULL) {
        for (size_t i = 0; i != problems.count; i++)
            fprintf(stderr, "%s\n", problems.lines[i]);
        fprintf(stderr, "moontide: %zu problem(s) in %s%s\n", problems.count, app_path, consequence);
        mt_problems_free(&problems);
    }
    return app;
}

/* moontide openapi APP: the document /openapi.json serves, byte for byte, without serving. */
static int openapi(const mt_options_t *opts)
{
    mt_app_t *app = load_or_report(opts->app_path, "");
    if (app == NULL)
        return 1;
    int rc = fwrite(app->openapi.data, 1, app->openapi.len, stdout) == app->openapi.len && fflush(stdout) == 0 ? 0 : 1;
    mt_app_free(app);
    return rc;
}

/* moontide build APP -o OUT */
static int build(const mt_options_t *opts)
{
    char err[1024];
    mt_app_t *app = load_or_report(opts->app_path, ": nothing written");
    if (app == NULL)
        return 1;
    size_t num_static = 0;
    int rc = mt_bundle_write(app, opts->output, &num_static, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "moontide: error: %s\n", err);
    else if (num_static != 0)
        printf("wrote %s: %s and %zu Lua file(s), %zu static file(s)\n", opts->output, app->path, app->num_files,
               num_static);
    else
        printf("wrote %s: %s and %zu Lua file(s)\n", opts->output, app->path, app->num_files);
    mt_app_free(app);
    return rc != 0;
}

/*
 * A built app's command line: `OUT [options]` is `run APP [options]`, `OUT
 * openapi` is `openapi APP`; APP is the app inside. Returns a new argv (and
 * updates *argc), or NULL with err set.
 */
static char **built_app_argv(int *count, char **argv, char *err, size_t errsize)
{
    int argc = *count;
    const char *first = argc > 1 ? argv[1] : "";
    if (strcmp(first, "run") == 0 || strcmp(first, "dev") == 0 || strcmp(first, "check") == 0 ||
        strcmp(first, "build") == 0) {
        snprintf(err, errsize, "%s: this executable serves the app built into it: '%s [options]' serves it, "
                               "'%s openapi' prints its OpenAPI document", first, argv[0], argv[0]);
        return NULL;
    }
    char **out = calloc((size_t)argc + 3, sizeof(char *));
    if (out == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    int openapi = strcmp(first, "openapi") == 0;
    out[0] = argv[0];
    out[1] = openapi ? "openapi" : "run";
    out[2] = (char *)mt_bundle->files[0].name;
    int n = 3;
    for (int i = 1 + openapi; i < argc; i++)
        out[n++] = argv[i];
    *count = n;
    return out;
}

/* moontide check APP: every problem, one per line on stdout, in file order; exit 1 when there is any. */
static int check(const mt_options_t *opts)
{
    mt_problems_t problems;
    mt_app_t *app = mt_app_load(opts->app_path, &problems);
    if (app != NULL) {
        size_t num_routes = 0;
        for (size_t i = 0; i != app->num_routes; i++)
            num_routes += app->routes[i]->kind == MT_ROUTE_HANDLER;
        printf("%s: no problems (%zu route(s), %zu file(s))\n", app->path, num_routes, app->num_files);
        mt_app_free(app);
        return 0;
    }
    qsort(problems.lines, problems.count, sizeof(char *), compare_problems);
    for (size_t i = 0; i != problems.count; i++)
        printf("%s\n", problems.lines[i]);
    fprintf(stderr, "moontide: %zu problem(s) in %s\n", problems.count, opts->app_path);
    mt_problems_free(&problems);
    return 1;
}

/* The command named on the command line. */
static int command(int argc, char **argv)
{
    mt_options_t opts;
    char err[512];
    if (mt_options_parse(&opts, argc, argv, err, sizeof(err)) != 0)
        return fail(err);
    if (opts.show_help) {
        mt_options_usage(stdout);
        return 0;
    }
    if (opts.show_version) {
        printf("moontide %s\n", MT_VERSION);
        return 0;
    }
    mt_log_level = opts.log_level;
    /* before the app loads (it may open dicts) and before the workers fork: they all share it */
    mt_shared_zone_t *zone = mt_shared_zone_create(opts.shared_memory);
    if (zone == NULL) {
        snprintf(err, sizeof(err), "--shared-memory: cannot map %zu bytes: %s", opts.shared_memory, strerror(errno));
        return fail(err);
    }
    mt_shared_use_zone(zone);
    mt_lua_memory_set_cap(opts.max_lua_memory);
    int status = strcmp(opts.command, "check") == 0     ? check(&opts)
                 : strcmp(opts.command, "openapi") == 0 ? openapi(&opts)
                 : strcmp(opts.command, "build") == 0   ? build(&opts)
                                                        : run(&opts);
    mt_shared_use_zone(NULL);
    mt_shared_zone_destroy(zone);
    return status;
}

int main(int argc, char **argv)
{
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    if (mt_bundle_open_self(err, sizeof(err)) != 0)
        return fail(err);
    char **built_argv = NULL;
    if (mt_bundle != NULL && (argv = built_argv = built_app_argv(&argc, argv, err, sizeof(err))) == NULL) {
        mt_bundle_close();
        return fail(err);
    }
    int status = command(argc, argv);
    free(built_argv);
    mt_bundle_close();
    return status;
}
