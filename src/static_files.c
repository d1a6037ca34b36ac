/*
 * Static files. A request whose path no route matches is looked up in the
 * app's static mounts (the longest prefix first); GET and HEAD are served,
 * any other method gets 405. The rest of the path must name a file plainly:
 * every segment non-empty, not "." or "..", not starting with a dot (no
 * hidden files), no backslash or NUL, and no percent-encoded slash or
 * backslash; anything else is a 404, as is a directory. The file is then
 * opened beneath the mount's directory (openat2 with RESOLVE_BENEATH, so a
 * symlink may point elsewhere inside the directory but never out of it) and
 * sent in 64 KiB reads as the client takes them.
 *
 * In a built app the files come from the executable (bundle.c), carrying
 * the size and modification time they had when built: the ETag ("mtime-size"
 * in hex, as h2o's file handler makes it) and Last-Modified are the same
 * as served from disk. If-None-Match (weak comparison, "*") and, without
 * it, If-Modified-Since answer 304; one `Range: bytes=` range answers 206
 * (416 when it starts past the end); several ranges, or an If-Range that
 * does not match the ETag or Last-Modified, get the whole file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lauxlib.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "bundle.h"
#include "response.h"
#include "static_files.h"

#define CHUNK (64 * 1024)

void mt_static_free(mt_app_t *app)
{
    for (size_t i = 0; i != app->num_statics; i++) {
        mt_static_mount_t *m = app->statics + i;
        if (m->dirfd >= 0)
            close(m->dirfd);
        free(m->prefix);
        free(m->dir);
        free(m->real_dir);
        free(m->where);
    }
    free(app->statics);
    app->statics = NULL;
    app->num_statics = 0;
}

void mt_static_configure(mt_app_t *app, int app_index)
{
    lua_State *L = app->L;
    lua_getfield(L, app_index, "_static");
    size_t n = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
    app->statics = n != 0 ? calloc(n, sizeof(*app->statics)) : NULL;
    for (size_t i = 1; app->statics != NULL && i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        lua_getfield(L, -1, "prefix");
        lua_getfield(L, -2, "dir");
        lua_getfield(L, -3, "where");
        const char *prefix = lua_tostring(L, -3), *dir = lua_tostring(L, -2), *where = lua_tostring(L, -1);
        mt_static_mount_t *m = app->statics + app->num_statics++;
        *m = (mt_static_mount_t){.prefix = strdup(prefix), .prefix_len = strlen(prefix), .dirfd = -1,
                                 .where = strdup(where)};
        /* relative to the app's directory, like require */
        size_t len = strlen(dir) + strlen(app->dir) + 2;
        if ((m->dir = malloc(len)) != NULL) {
            snprintf(m->dir, len, "%s%s%s", dir[0] == '/' ? "" : app->dir, dir[0] == '/' ? "" : "/", dir);
            for (size_t end = strlen(m->dir); end > 1 && m->dir[end - 1] == '/';)
                m->dir[--end] = '\0';
        }
        if (m->prefix == NULL || m->dir == NULL || m->where == NULL) {
            mt_schema_problem_line(app->schema, "out of memory");
        } else if (mt_bundle == NULL) { /* a built app has its files inside */
            struct stat st;
            if ((m->dirfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(m->dirfd, &st) != 0 ||
                (m->real_dir = realpath(m->dir, NULL)) == NULL)
                mt_schema_problem_line(app->schema, "%s: static: %s: %s", where, m->dir, strerror(errno));
        }
        lua_pop(L, 4);
    }
    lua_pop(L, 1);
}

/* The mount with the longest prefix covering path, or NULL. */
static const mt_static_mount_t *find_mount(const mt_app_t *app, const char *path, size_t len)
{
    const mt_static_mount_t *best = NULL;
    for (size_t i = 0; i != app->num_statics; i++) {
        const mt_static_mount_t *m = app->statics + i;
        if (len >= m->prefix_len && memcmp(path, m->prefix, m->prefix_len) == 0 &&
            (len == m->prefix_len || path[m->prefix_len] == '/') && (best == NULL || m->prefix_len > best->prefix_len))
            best = m;
    }
    return best;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * The file's name below the mount, decoded, from the path after the prefix
 * ("/css/site.css"): NULL when it is not a plain relative file name.
 */
static char *relative_name(h2o_mem_pool_t *pool, const char *rest, size_t len)
{
    if (len < 2 || rest[0] != '/' || len > PATH_MAX)
        return NULL;
    char *out = h2o_mem_alloc_pool(pool, len + 1);
    size_t n = 0;
    for (size_t i = 1; i < len; i++) {
        char c = rest[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(rest[i + 1]) : -1, lo = hi >= 0 ? hex_value(rest[i + 2]) : -1;
            if (lo < 0)
                return NULL;
            c = (char)(hi << 4 | lo);
            i += 2;
            if (c == '/') /* an encoded slash is not a separator: refuse it rather than guess */
                return NULL;
        }
        if (c == '\0' || c == '\\')
            return NULL;
        out[n++] = c;
    }
    out[n] = '\0';
    /* every segment: non-empty, not ".", "..", nor any other name starting with a dot */
    for (const char *seg = out;; seg++) {
        if (*seg == '\0' || *seg == '/' || *seg == '.')
            return NULL;
        seg = strchr(seg, '/');
        if (seg == NULL)
            return out;
    }
}

/* Opens `rel` beneath the mount's directory; -1 (errno set) when it is not there or leads outside. */
static int open_beneath(const mt_static_mount_t *m, const char *rel, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, m->dirfd, rel, &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS)
        return (int)fd;
    /* a kernel before 5.6: resolve the whole path and check where it ends up */
    char path[PATH_MAX], real[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", m->real_dir, rel) >= sizeof(path) || realpath(path, real) == NULL)
        return -1;
    size_t dl = strlen(m->real_dir);
    if (strncmp(real, m->real_dir, dl) != 0 || (real[dl] != '/' && strcmp(m->real_dir, "/") != 0)) {
        errno = EXDEV;
        return -1;
    }
    return open(real, flags | O_CLOEXEC | O_NOCTTY);
}

typedef struct st_file_generator_t {
    h2o_generator_t super;
    int fd;
    off_t offset;
    size_t left;
    char *buf;
} file_generator_t;

static void close_file(void *p)
{
    file_generator_t *self = p;
    if (self->fd >= 0)
        close(self->fd);
}

static void read_and_send(h2o_generator_t *super, h2o_req_t *req)
{
    file_generator_t *self = (file_generator_t *)super;
    size_t want = self->left < CHUNK ? self->left : CHUNK;
    ssize_t got;
    while ((got = pread(self->fd, self->buf, want, self->offset)) < 0 && errno == EINTR)
        ;
    if (got <= 0) { /* the file shrank or failed under us: the response cannot be completed */
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    self->offset += got;
    self->left -= (size_t)got;
    h2o_iovec_t buf = h2o_iovec_init(self->buf, (size_t)got);
    h2o_send(req, &buf, 1, self->left == 0 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void stop_file(h2o_generator_t *super, h2o_req_t *req)
{
    (void)super, (void)req; /* the fd closes with the pool */
}

/* The opaque tags of an If-None-Match list include `etag` (weak comparison) or "*". */
static int etag_listed(h2o_iovec_t list, const char *etag, size_t etag_len)
{
    const char *p = list.base, *end = p + list.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p < end && *p == '*')
            return 1;
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *tag = p;
        if (p < end && *p == '"') {
            const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
            p = close != NULL ? close + 1 : end;
        } else {
            while (p < end && *p != ',')
                p++;
        }
        if ((size_t)(p - tag) == etag_len && memcmp(tag, etag, etag_len) == 0)
            return 1;
    }
    return 0;
}

static int header(h2o_req_t *req, const h2o_token_t *token, h2o_iovec_t *value)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    if (i >= 0)
        *value = req->headers.entries[i].value;
    return i >= 0;
}

static int parse_size(const char **p, const char *end, uint64_t *v)
{
    const char *start = *p;
    *v = 0;
    while (*p < end && **p >= '0' && **p <= '9' && *p - start < 18)
        *v = *v * 10 + (uint64_t)(*(*p)++ - '0');
    return *p != start && (*p == end || **p < '0' || **p > '9');
}

/* One "bytes=" range: 1 with *start and *len set; 0 to send the whole file; -1 when unsatisfiable. */
static int parse_range(h2o_iovec_t v, uint64_t size, uint64_t *start, uint64_t *len)
{
    const char *p = v.base, *end = v.base + v.len;
    while (p < end && *p == ' ')
        p++;
    if (end - p < 6 || strncasecmp(p, "bytes=", 6) != 0 || memchr(p, ',', (size_t)(end - p)) != NULL)
        return 0; /* another unit, or several ranges: ignored, as RFC 9110 allows */
    p += 6;
    while (p < end && *p == ' ')
        p++;
    uint64_t first, last;
    if (p < end && *p == '-') { /* the last N bytes */
        p++;
        if (!parse_size(&p, end, &last))
            return 0;
        if (last == 0 || size == 0)
            return -1;
        *start = last >= size ? 0 : size - last;
        *len = size - *start;
        return 1;
    }
    if (!parse_size(&p, end, &first) || p == end || *p++ != '-')
        return 0;
    int open_ended = p == end || *p == ' ';
    if (!open_ended && !parse_size(&p, end, &last))
        return 0;
    if (!open_ended && last < first)
        return 0;
    if (first >= size)
        return -1;
    *start = first;
    *len = (open_ended || last >= size ? size - 1 : last) - first + 1;
    return 1;
}

static void add(h2o_req_t *req, const h2o_token_t *token, const char *value, size_t len)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, len);
}

/* A file found: fd >= 0 on disk, else `data` from the executable. */
static void send_file(h2o_req_t *req, const char *rel, int fd, const char *data, uint64_t size, int64_t mtime)
{
    /* the fd closes with the request's pool, whichever way the request ends */
    file_generator_t *gen = NULL;
    if (fd >= 0) {
        gen = h2o_mem_alloc_shared(&req->pool, sizeof(*gen), close_file);
        *gen = (file_generator_t){.super = {read_and_send, stop_file}, .fd = fd};
    }
    char *etag = h2o_mem_alloc_pool(&req->pool, 48), *last_modified = h2o_mem_alloc_pool(&req->pool, H2O_TIMESTR_RFC1123_LEN + 1);
    size_t etag_len = (size_t)snprintf(etag, 48, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)mtime, size);
    struct tm gmt;
    time_t t = (time_t)mtime;
    gmtime_r(&t, &gmt);
    h2o_time2str_rfc1123(last_modified, &gmt);
    add(req, H2O_TOKEN_ETAG, etag, etag_len);
    add(req, H2O_TOKEN_LAST_MODIFIED, last_modified, H2O_TIMESTR_RFC1123_LEN);

    h2o_iovec_t value;
    int not_modified = 0;
    if (header(req, H2O_TOKEN_IF_NONE_MATCH, &value)) {
        not_modified = etag_listed(value, etag, etag_len);
    } else if (header(req, H2O_TOKEN_IF_MODIFIED_SINCE, &value)) {
        struct tm tm;
        not_modified = h2o_time_parse_rfc1123(value.base, value.len, &tm) == 0 && (int64_t)timegm(&tm) >= mtime;
    }
    if (not_modified) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_send_inline(req, NULL, 0);
        return;
    }

    const char *dot = strrchr(rel, '.'), *slash = strrchr(rel, '/');
    h2o_mimemap_type_t *type = h2o_mimemap_get_type_by_extension(
        req->pathconf->mimemap, dot != NULL && (slash == NULL || dot > slash) ? h2o_iovec_init(dot + 1, strlen(dot + 1))
                                                                             : h2o_iovec_init("", 0));
    h2o_iovec_t mime = type->type == H2O_MIMEMAP_TYPE_MIMETYPE ? type->data.mimetype : h2o_iovec_init(H2O_STRLIT("application/octet-stream"));
    if (h2o_memis(mime.base, mime.len > 5 ? 5 : mime.len, H2O_STRLIT("text/")) && memchr(mime.base, ';', mime.len) == NULL)
        mime = h2o_concat(&req->pool, mime, h2o_iovec_init(H2O_STRLIT("; charset=utf-8")));
    add(req, H2O_TOKEN_CONTENT_TYPE, mime.base, mime.len);
    add(req, H2O_TOKEN_ACCEPT_RANGES, H2O_STRLIT("bytes"));

    uint64_t start = 0, len = size;
    int ranged = header(req, H2O_TOKEN_RANGE, &value) ? parse_range(value, size, &start, &len) : 0;
    h2o_iovec_t if_range;
    if (ranged != 0 && header(req, H2O_TOKEN_IF_RANGE, &if_range) &&
        !h2o_memis(if_range.base, if_range.len, etag, etag_len) &&
        !h2o_memis(if_range.base, if_range.len, last_modified, H2O_TIMESTR_RFC1123_LEN))
        ranged = 0, start = 0, len = size; /* the client's copy is another version: it gets the whole file */
    char *content_range = h2o_mem_alloc_pool(&req->pool, 64);
    if (ranged < 0) {
        add(req, H2O_TOKEN_CONTENT_RANGE, content_range, (size_t)snprintf(content_range, 64, "bytes */%" PRIu64, size));
        mt_response_send_detail(req, 416, "Range Not Satisfiable");
        return;
    }
    if (ranged > 0)
        add(req, H2O_TOKEN_CONTENT_RANGE, content_range,
            (size_t)snprintf(content_range, 64, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1, size));
    req->res.status = ranged > 0 ? 206 : 200;
    req->res.reason = ranged > 0 ? "Partial Content" : "OK";
    req->res.content_length = len;

    int head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (fd < 0 || head || len == 0) {
        static h2o_generator_t generator = {NULL, NULL};
        h2o_start_response(req, &generator);
        h2o_iovec_t body = h2o_iovec_init(data != NULL ? data + start : NULL, head ? 0 : len);
        h2o_send(req, &body, body.len != 0, H2O_SEND_STATE_FINAL);
        return;
    }
    gen->offset = (off_t)start;
    gen->left = len;
    gen->buf = h2o_mem_alloc_pool(&req->pool, len < CHUNK ? len : CHUNK);
    h2o_start_response(req, &gen->super);
    read_and_send(&gen->super, req);
}

int mt_static_serve(h2o_req_t *req, const mt_app_t *app, const char *path, size_t len)
{
    const mt_static_mount_t *m = find_mount(app, path, len);
    if (m == NULL)
        return 0;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        add(req, H2O_TOKEN_ALLOW, H2O_STRLIT("GET, HEAD"));
        mt_response_send_detail(req, 405, "Method Not Allowed");
        return 1;
    }
    char *rel = relative_name(&req->pool, path + m->prefix_len, len - m->prefix_len);
    if (rel == NULL)
        goto not_found;
    if (m->dirfd < 0) { /* a built app */
        size_t dir_len = strlen(m->dir), rel_len = strlen(rel);
        char *name = h2o_mem_alloc_pool(&req->pool, dir_len + rel_len + 2);
        memcpy(name, m->dir, dir_len);
        name[dir_len] = '/';
        memcpy(name + dir_len + 1, rel, rel_len + 1);
        const mt_bundle_static_t *file = mt_bundle_find_static(name);
        if (file == NULL)
            goto not_found;
        send_file(req, rel, -1, file->data, file->len, file->mtime);
        return 1;
    }
    int fd = open_beneath(m, rel, O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        goto not_found;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        goto not_found;
    }
    send_file(req, rel, fd, NULL, (uint64_t)st.st_size, (int64_t)st.st_mtime);
    return 1;
not_found:
    mt_response_send_detail(req, 404, "Not Found");
    return 1;
}

/* Walks one directory (open at `dirfd`, named `name` in the bundle) depth first; depth bounds symlink loops. */
static int walk_dir(const mt_static_mount_t *m, const char *rel, int depth, mt_static_visit_t visit, void *ud, char *err,
                    size_t errsize)
{
    int fd = rel[0] == '\0' ? openat(m->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                            : open_beneath(m, rel, O_RDONLY | O_DIRECTORY);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return 0; /* leads outside, or vanished: not served, not embedded */
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '\\') != NULL)
            continue; /* hidden files are never served */
        char child[PATH_MAX];
        if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", e->d_name) >= sizeof(child))
            continue;
        int cfd = open_beneath(m, child, O_RDONLY | O_NONBLOCK);
        struct stat st;
        if (cfd < 0)
            continue;
        if (fstat(cfd, &st) == 0 && S_ISDIR(st.st_mode) && depth < 32) {
            close(cfd);
            rc = walk_dir(m, child, depth + 1, visit, ud, err, errsize);
        } else if (S_ISREG(st.st_mode)) {
            char name[PATH_MAX + 256];
            if ((size_t)snprintf(name, sizeof(name), "%s/%s", m->dir, child) >= sizeof(name)) {
                close(cfd);
                continue;
            }
            if (visit(ud, name, cfd, &st) != 0) {
                snprintf(err, errsize, "%s: %s", name, strerror(errno));
                rc = -1;
            }
            close(cfd);
        } else {
            close(cfd);
        }
    }
    closedir(d);
    return rc;
}

int mt_static_walk(const mt_app_t *app, mt_static_visit_t visit, void *ud, char *err, size_t errsize)
{
    for (size_t i = 0; i != app->num_statics; i++)
        if (walk_dir(app->statics + i, "", 0, visit, ud, err, errsize) != 0)
            return -1;
    return 0;
}
