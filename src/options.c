/*
 * Command-line parsing. Every option of `moontide run` is listed in the
 * usage text below and in the long-option table next to it; a value that does
 * not parse is a one-line error naming the option.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "options.h"
#include "redis.h"
#include "shared.h"

void mt_options_usage(FILE *out)
{
    fputs("moontide " MT_VERSION " - serve an HTTP API whose handlers are Lua functions\n"
          "\n"
          "usage:\n"
          "  moontide run APP [options]   serve APP (a .lua file, or a directory holding app.lua)\n"
          "  moontide dev APP [options]   serve APP, reloading it when a file of it changes; tracebacks in 500s\n"
          "  moontide check APP           load APP and check its annotations: FILE:LINE: message per problem\n"
          "  moontide openapi APP         print APP's OpenAPI 3.1 document (what /openapi.json serves)\n"
          "  moontide build APP -o OUT    write OUT: this executable with APP built in (OUT [options] serves it,\n"
          "                               OUT openapi prints its document)\n"
          "  moontide --version | --help\n"
          "\n"
          "options:\n"
          "  --host HOST            address to listen on (default 127.0.0.1)\n"
          "  --port PORT            port to listen on (default 8000)\n"
          "  --workers N            worker processes (default: the number of CPUs; 1 for dev)\n"
          "  --tls-cert FILE        certificate chain (PEM); with --tls-key, serve HTTPS (h2, http/1.1)\n"
          "  --tls-key FILE         private key (PEM)\n"
          "  --max-body BYTES       largest request body, e.g. 1048576, 64k, 8m (default 1m); larger gets 413\n"
          "  --max-url BYTES        longest request target, path and query (default 8k); longer gets 414\n"
          "  --max-headers N        most header fields in a request (default 64, at most 100); more gets 431\n"
          "  --max-header-size BYTES  largest sum of header field sizes (default 16k); larger gets 431\n"
          "  --client-timeout SECONDS  time a client has to send a whole request, and the longest an\n"
          "                         idle connection stays open (default 10)\n"
          "  --max-connections N    open connections per worker (default 16384); past it the worker\n"
          "                         stops accepting until one closes\n"
          "  --max-lua-memory SIZE  memory a worker's Lua state may hold while a handler runs (default 1g,\n"
          "                         0: no cap); a handler going past it gets a 500\n"
          "  --timeout SECONDS      handler deadline (default 30); a handler holding the CPU past it\n"
          "                         (plus 1 s) has its worker replaced\n"
          "  --grace SECONDS        time in-flight requests get to finish on SIGTERM/SIGINT (default 10)\n"
          "  --shared-memory SIZE   memory for moontide.shared dicts and rate limits, shared by all workers,\n"
          "                         e.g. 64m (the default), 512k, 1g\n"
          "  --redis URL            redis://[:PASSWORD@]HOST[:PORT][/DB]: rate limits, and dicts opened with\n"
          "                         {backend = \"redis\"}, kept in Redis and shared by every instance using it\n"
          "  --access-log FILE|-    one line per request to FILE, or - for stdout (default: none)\n"
          "  --log-level LEVEL      debug, info, warn or error (default info)\n"
          "  --help                 show this text\n"
          "  --version              print the version\n",
          out);
}

static int parse_size(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || errno != 0 || text[0] == '-')
        return -1;
    unsigned long long unit = 1;
    if (*end == 'k' || *end == 'K')
        unit = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        unit = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        unit = 1024 * 1024 * 1024, end++;
    if (*end != '\0' || n > (unsigned long long)SIZE_MAX / unit)
        return -1;
    *out = (size_t)(n * unit);
    return 0;
}

static int parse_int(const char *text, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || n < min || n > max)
        return -1;
    *out = (int)n;
    return 0;
}

static int parse_seconds(const char *text, double *out)
{
    char *end;
    errno = 0;
    double n = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(n > 0) || n > 86400 * 365)
        return -1;
    *out = n;
    return 0;
}

int mt_options_parse(mt_options_t *opts, int argc, char **argv, char *err, size_t errsize)
{
    enum { OPT_HOST = 256, OPT_PORT, OPT_WORKERS, OPT_TLS_CERT, OPT_TLS_KEY, OPT_MAX_BODY, OPT_TIMEOUT, OPT_GRACE,
           OPT_ACCESS_LOG, OPT_LOG_LEVEL, OPT_SHARED_MEMORY, OPT_MAX_URL, OPT_MAX_HEADERS, OPT_MAX_HEADER_SIZE,
           OPT_CLIENT_TIMEOUT, OPT_MAX_CONNECTIONS, OPT_MAX_LUA_MEMORY, OPT_REDIS, OPT_HELP, OPT_VERSION, OPT_OUTPUT = 'o' };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"grace", required_argument, NULL, OPT_GRACE},
        {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"shared-memory", required_argument, NULL, OPT_SHARED_MEMORY},
        {"max-url", required_argument, NULL, OPT_MAX_URL},
        {"max-headers", required_argument, NULL, OPT_MAX_HEADERS},
        {"max-header-size", required_argument, NULL, OPT_MAX_HEADER_SIZE},
        {"client-timeout", required_argument, NULL, OPT_CLIENT_TIMEOUT},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"max-lua-memory", required_argument, NULL, OPT_MAX_LUA_MEMORY},
        {"redis", required_argument, NULL, OPT_REDIS},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {NULL, 0, NULL, 0},
    };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int workers_given = 0;
    *opts = (mt_options_t){.host = "127.0.0.1", .port = 8000, .workers = ncpu > 0 ? (int)ncpu : 1,
                           .max_body = 1024 * 1024, .timeout = 30, .grace = 10, .log_level = MT_LOG_INFO,
                           .shared_memory = MT_SHARED_ZONE_DEFAULT, .max_url = 8 * 1024, .max_headers = 64,
                           .max_header_size = 16 * 1024, .client_timeout = 10, .max_connections = 16384,
                           .max_lua_memory = 1024 * 1024 * 1024};
    opterr = 0;
    optind = 1;
    int c;
    /* "+" stops at the first non-option so that `moontide run APP --port 1` reads left to right */
    while (optind < argc) {
        if ((c = getopt_long(argc, argv, "+:o:", longopts, NULL)) == -1) {
            /* a positional word: the command, then APP */
            const char *word = argv[optind++];
            if (opts->command == NULL)
                opts->command = word;
            else if (opts->app_path == NULL)
                opts->app_path = word;
            else
                return snprintf(err, errsize, "unexpected argument '%s'", word), -1;
            continue;
        }
        const char *arg = optarg;
        switch (c) {
        case OPT_HOST: opts->host = arg; break;
        case OPT_PORT:
            if (parse_int(arg, 0, 65535, &opts->port) != 0)
                return snprintf(err, errsize, "--port: '%s' is not a port number (0-65535)", arg), -1;
            break;
        case OPT_WORKERS:
            if (parse_int(arg, 1, 1024, &opts->workers) != 0)
                return snprintf(err, errsize, "--workers: '%s' is not a number from 1 to 1024", arg), -1;
            workers_given = 1;
            break;
        case OPT_TLS_CERT: opts->tls_cert = arg; break;
        case OPT_TLS_KEY: opts->tls_key = arg; break;
        case OPT_MAX_BODY:
            if (parse_size(arg, &opts->max_body) != 0)
                return snprintf(err, errsize, "--max-body: '%s' is not a size (like 1048576, 64k or 8m)", arg), -1;
            break;
        case OPT_TIMEOUT:
            if (parse_seconds(arg, &opts->timeout) != 0)
                return snprintf(err, errsize, "--timeout: '%s' is not a positive number of seconds", arg), -1;
            break;
        case OPT_OUTPUT:
            opts->output = arg;
            break;
        case OPT_GRACE:
            if (parse_seconds(arg, &opts->grace) != 0)
                return snprintf(err, errsize, "--grace: '%s' is not a positive number of seconds", arg), -1;
            break;
        case OPT_SHARED_MEMORY:
            if (parse_size(arg, &opts->shared_memory) != 0 || opts->shared_memory < 64 * 1024)
                return snprintf(err, errsize, "--shared-memory: '%s' is not a size of at least 64k (like 512k or 64m)",
                                arg), -1;
            break;
        case OPT_MAX_URL:
            if (parse_size(arg, &opts->max_url) != 0 || opts->max_url < 64)
                return snprintf(err, errsize, "--max-url: '%s' is not a size of at least 64 (like 8k)", arg), -1;
            break;
        case OPT_MAX_HEADERS: /* h2o refuses more than 100 fields itself (400) */
            if (parse_int(arg, 1, 100, &opts->max_headers) != 0)
                return snprintf(err, errsize, "--max-headers: '%s' is not a number from 1 to 100", arg), -1;
            break;
        case OPT_MAX_HEADER_SIZE:
            if (parse_size(arg, &opts->max_header_size) != 0 || opts->max_header_size < 256)
                return snprintf(err, errsize, "--max-header-size: '%s' is not a size of at least 256 (like 16k)", arg),
                       -1;
            break;
        case OPT_CLIENT_TIMEOUT:
            if (parse_seconds(arg, &opts->client_timeout) != 0)
                return snprintf(err, errsize, "--client-timeout: '%s' is not a positive number of seconds", arg), -1;
            break;
        case OPT_MAX_CONNECTIONS:
            if (parse_int(arg, 1, 1000000, &opts->max_connections) != 0)
                return snprintf(err, errsize, "--max-connections: '%s' is not a number from 1 to 1000000", arg), -1;
            break;
        case OPT_MAX_LUA_MEMORY:
            if (parse_size(arg, &opts->max_lua_memory) != 0 || (opts->max_lua_memory != 0 && opts->max_lua_memory < 16 << 20))
                return snprintf(err, errsize, "--max-lua-memory: '%s' is not 0 or a size of at least 16m", arg), -1;
            break;
        case OPT_REDIS: {
            mt_redis_url_t url;
            char reason[400];
            if (mt_redis_parse_url(arg, &url, reason, sizeof(reason)) != 0)
                return snprintf(err, errsize, "--redis: %s", reason), -1;
            opts->redis = arg;
            break;
        }
        case OPT_ACCESS_LOG: opts->access_log = arg; break;
        case OPT_LOG_LEVEL:
            if ((opts->log_level = mt_log_parse_level(arg)) < 0)
                return snprintf(err, errsize, "--log-level: '%s' is not one of debug, info, warn, error", arg), -1;
            break;
        case OPT_HELP: opts->show_help = 1; break;
        case OPT_VERSION: opts->show_version = 1; break;
        case ':':
            return snprintf(err, errsize, "%s needs a value", argv[optind - 1]), -1;
        default:
            if (optopt != 0 && optopt < 256)
                return snprintf(err, errsize, "unknown option '-%c' (see --help)", optopt), -1;
            return snprintf(err, errsize, "unknown option '%s' (see --help)", argv[optind - 1]), -1;
        }
    }
    if (opts->show_help || opts->show_version)
        return 0;
    if (opts->command == NULL)
        return snprintf(err, errsize, "no command given (see --help)"), -1;
    opts->dev = strcmp(opts->command, "dev") == 0;
    if (opts->dev && !workers_given)
        opts->workers = 1;
    if (strcmp(opts->command, "run") != 0 && !opts->dev && strcmp(opts->command, "check") != 0 &&
        strcmp(opts->command, "openapi") != 0 && strcmp(opts->command, "build") != 0)
        return snprintf(err, errsize, "unknown command '%s' (see --help)", opts->command), -1;
    if (strcmp(opts->command, "build") == 0 && opts->output == NULL)
        return snprintf(err, errsize, "build: say where to write the executable with -o OUT"), -1;
    if (opts->app_path == NULL)
        return snprintf(err, errsize, "%s: no APP given (a .lua file or a directory holding app.lua)", opts->command), -1;
    if ((opts->tls_cert == NULL) != (opts->tls_key == NULL))
        return snprintf(err, errsize, "--tls-cert and --tls-key go together"), -1;
    return 0;
}
