/*
 * The payload sits at the end of the executable:
 *
 *   "MTBUNDLE" u32 count, then per file: u32 len + name, u32 len + bytecode,
 *   u32 len + annotations; then u32 count of static files, per file: u32 len
 *   + name, u64 mtime, u32 len + bytes (little-endian numbers)
 *   trailer: "MTAPP001" u64 payload length, u64 FNV-1a 64 of the payload
 *
 * The trailer is read first, so plain moontide (no trailer) costs one small
 * read at start. A payload whose length or checksum does not hold is refused:
 * a damaged download must not run half an app.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "bundle.h"
#include "static_files.h"

#define PAYLOAD_MAGIC "MTBUNDLE"
#define TRAILER_MAGIC "MTAPP001"
#define TRAILER_SIZE 24

const mt_bundle_t *mt_bundle;

static uint64_t fnv1a64(const char *data, size_t len)
{
    uint64_t hash = UINT64_C(14695981039346656037);
    for (size_t i = 0; i != len; i++)
        hash = (hash ^ (unsigned char)data[i]) * UINT64_C(1099511628211);
    return hash;
}

static void put_u32(mt_buf_t *out, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    mt_buf_append(out, b, 4);
}

static void put_u64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static int cmp_static(const void *a, const void *b)
{
    return strcmp(((const mt_bundle_static_t *)a)->name, ((const mt_bundle_static_t *)b)->name);
}

static uint64_t get_u64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* Reads a u32-length-prefixed piece at *p; NULL when it runs past `end`. */
static const char *get_piece(const char **p, const char *end, size_t *len)
{
    if (end - *p < 4)
        return NULL;
    const unsigned char *b = (const unsigned char *)*p;
    *len = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    *p += 4;
    if ((size_t)(end - *p) < *len)
        return NULL;
    const char *piece = *p;
    *p += *len;
    return piece;
}

static void bundle_free(mt_bundle_t *bundle)
{
    if (bundle == NULL)
        return;
    for (size_t i = 0; i != bundle->num_files; i++)
        free((char *)bundle->files[i].name);
    free(bundle->files);
    for (size_t i = 0; i != bundle->num_statics; i++)
        free((char *)bundle->statics[i].name);
    free(bundle->statics);
    free(bundle->payload);
    free(bundle);
}

int mt_bundle_open_self(char *err, size_t errsize)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return snprintf(err, errsize, "cannot read this executable: %s", strerror(errno)), -1;
    struct stat st;
    unsigned char trailer[TRAILER_SIZE];
    if (fstat(fd, &st) != 0 || st.st_size < TRAILER_SIZE ||
        pread(fd, trailer, TRAILER_SIZE, st.st_size - TRAILER_SIZE) != TRAILER_SIZE ||
        memcmp(trailer, TRAILER_MAGIC, 8) != 0) {
        /* no trailer: plain moontide, unless bytes follow the ELF image (an app cut short) */
        Elf64_Ehdr elf;
        int cut = pread(fd, &elf, sizeof(elf), 0) == (ssize_t)sizeof(elf) && memcmp(elf.e_ident, ELFMAG, SELFMAG) == 0 &&
                  (off_t)(elf.e_shoff + (uint64_t)elf.e_shnum * elf.e_shentsize) < st.st_size;
        close(fd);
        if (cut)
            return snprintf(err, errsize, "this executable's app is truncated: build it again with moontide build"), -1;
        return 0;
    }
    uint64_t len = get_u64(trailer + 8), sum = get_u64(trailer + 16);
    mt_bundle_t *bundle = calloc(1, sizeof(*bundle));
    if (len > (uint64_t)st.st_size - TRAILER_SIZE || len < strlen(PAYLOAD_MAGIC) + 4 || bundle == NULL ||
        (bundle->payload = malloc(len)) == NULL ||
        pread(fd, bundle->payload, len, st.st_size - TRAILER_SIZE - (off_t)len) != (ssize_t)len) {
        close(fd);
        snprintf(err, errsize, "this executable's app is truncated or damaged: build it again with moontide build");
        goto fail;
    }
    close(fd);
    if (fnv1a64(bundle->payload, len) != sum || memcmp(bundle->payload, PAYLOAD_MAGIC, strlen(PAYLOAD_MAGIC)) != 0) {
        snprintf(err, errsize, "this executable's app is damaged (checksum mismatch): build it again with moontide build");
        goto fail;
    }
    const char *p = bundle->payload + strlen(PAYLOAD_MAGIC), *end = bundle->payload + len;
    size_t count, piece_len;
    const char *count_bytes = p;
    if (end - p < 4)
        goto damaged;
    count = (size_t)(unsigned char)count_bytes[0] | (size_t)(unsigned char)count_bytes[1] << 8 |
            (size_t)(unsigned char)count_bytes[2] << 16 | (size_t)(unsigned char)count_bytes[3] << 24;
    p += 4;
    if (count == 0 || count > 100000 || (bundle->files = calloc(count, sizeof(*bundle->files))) == NULL)
        goto damaged;
    for (size_t i = 0; i != count; i++) {
        mt_bundle_file_t *f = bundle->files + bundle->num_files++;
        const char *name = get_piece(&p, end, &piece_len);
        if (name == NULL || (f->name = strndup(name, piece_len)) == NULL ||
            (f->bytecode = get_piece(&p, end, &f->bytecode_len)) == NULL ||
            (f->annotations = get_piece(&p, end, &f->annotations_len)) == NULL)
            goto damaged;
    }
    const unsigned char *b = (const unsigned char *)p;
    if (end - p < 4)
        goto damaged;
    count = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    p += 4;
    if (count > (size_t)(end - p) / 16 || (count != 0 && (bundle->statics = calloc(count, sizeof(*bundle->statics))) == NULL))
        goto damaged;
    for (size_t i = 0; i != count; i++) {
        mt_bundle_static_t *f = bundle->statics + bundle->num_statics++;
        const char *name = get_piece(&p, end, &piece_len);
        if (name == NULL || (f->name = strndup(name, piece_len)) == NULL || end - p < 8)
            goto damaged;
        f->mtime = (int64_t)get_u64((const unsigned char *)p);
        p += 8;
        if ((f->data = get_piece(&p, end, &f->len)) == NULL)
            goto damaged;
    }
    if (bundle->num_statics != 0) /* qsort's array may not be NULL, even empty */
        qsort(bundle->statics, bundle->num_statics, sizeof(*bundle->statics), cmp_static);
    if (p != end)
        goto damaged;
    mt_bundle = bundle;
    return 0;
damaged:
    snprintf(err, errsize, "this executable's app is damaged (bad layout): build it again with moontide build");
fail:
    bundle_free(bundle);
    return -1;
}

void mt_bundle_close(void)
{
    bundle_free((mt_bundle_t *)mt_bundle);
    mt_bundle = NULL;
}

const mt_bundle_file_t *mt_bundle_find(const char *name)
{
    for (size_t i = 0; mt_bundle != NULL && i != mt_bundle->num_files; i++)
        if (strcmp(mt_bundle->files[i].name, name) == 0)
            return mt_bundle->files + i;
    return NULL;
}

const mt_bundle_static_t *mt_bundle_find_static(const char *name)
{
    if (mt_bundle == NULL || mt_bundle->num_statics == 0)
        return NULL;
    mt_bundle_static_t key = {.name = name};
    return bsearch(&key, mt_bundle->statics, mt_bundle->num_statics, sizeof(key), cmp_static);
}

static int dump_writer(lua_State *L, const void *p, size_t size, void *ud)
{
    (void)L;
    return mt_buf_append(ud, p, size);
}

/* The file's `---` lines as they are, every other line empty: the annotations, at their line numbers. */
static void annotation_lines(const char *text, size_t len, mt_buf_t *out)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n')
            continue;
        size_t s = start;
        while (s < i && (text[s] == ' ' || text[s] == '\t'))
            s++;
        if (i - s >= 3 && memcmp(text + s, "---", 3) == 0)
            mt_buf_append(out, text + start, i - start);
        if (i < len)
            mt_buf_append(out, "\n", 1);
        start = i + 1;
    }
}

struct static_files {
    mt_buf_t *payload;
    size_t count_at; /* where the count goes */
    uint32_t count;
};

static int add_static_file(void *ud, const char *name, int fd, const struct stat *st)
{
    struct static_files *sf = ud;
    if ((uint64_t)st->st_size > UINT32_MAX) {
        errno = EFBIG;
        return -1;
    }
    mt_buf_t *out = sf->payload;
    put_u32(out, (uint32_t)strlen(name));
    mt_buf_append(out, name, strlen(name));
    unsigned char mtime[8];
    put_u64(mtime, (uint64_t)st->st_mtime);
    mt_buf_append(out, mtime, 8);
    put_u32(out, (uint32_t)st->st_size);
    if (mt_buf_reserve(out, (size_t)st->st_size) != 0)
        return -1;
    size_t done = 0;
    while (done < (size_t)st->st_size) {
        ssize_t n = pread(fd, out->data + out->len + done, (size_t)st->st_size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* it shrank while we read it */
            return -1;
        }
        done += (size_t)n;
    }
    out->len += done;
    sf->count++;
    return 0;
}

int mt_bundle_write(const mt_app_t *app, const char *out_path, size_t *num_static, char *err, size_t errsize)
{
    mt_buf_t payload = {0}, piece = {0};
    lua_State *L = luaL_newstate();
    int rc = -1;
    if (L == NULL)
        return snprintf(err, errsize, "out of memory"), -1;
    mt_buf_append(&payload, PAYLOAD_MAGIC, strlen(PAYLOAD_MAGIC));
    put_u32(&payload, (uint32_t)app->num_files);
    for (size_t i = 0; i != app->num_files; i++) { /* files[0] is the main file */
        const char *name = app->files[i];
        size_t len;
        char *text = mt_read_file(name, &len);
        if (text == NULL) {
            snprintf(err, errsize, "%s: %s", name, strerror(errno));
            goto done;
        }
        char chunkname[4096];
        snprintf(chunkname, sizeof(chunkname), "@%s", name);
        piece.len = 0;
        if (luaL_loadbuffer(L, text, len, chunkname) != 0 || lua_dump(L, dump_writer, &piece) != 0) {
            snprintf(err, errsize, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "cannot compile");
            free(text);
            goto done;
        }
        lua_settop(L, 0);
        put_u32(&payload, (uint32_t)strlen(name));
        mt_buf_append(&payload, name, strlen(name));
        put_u32(&payload, (uint32_t)piece.len);
        mt_buf_append(&payload, piece.data, piece.len);
        piece.len = 0;
        annotation_lines(text, len, &piece);
        put_u32(&payload, (uint32_t)piece.len);
        mt_buf_append(&payload, piece.data, piece.len);
        free(text);
    }
    struct static_files statics = {.payload = &payload, .count_at = payload.len};
    put_u32(&payload, 0); /* the count, filled in after the walk */
    if (mt_static_walk(app, add_static_file, &statics, err, errsize) != 0)
        goto done;
    for (int i = 0; i < 4; i++)
        payload.data[statics.count_at + i] = (char)(statics.count >> (8 * i));
    *num_static = statics.count;
    size_t self_len;
    char *self = mt_read_file("/proc/self/exe", &self_len);
    if (self == NULL) {
        snprintf(err, errsize, "cannot read this executable: %s", strerror(errno));
        goto done;
    }
    unsigned char trailer[TRAILER_SIZE];
    memcpy(trailer, TRAILER_MAGIC, 8);
    put_u64(trailer + 8, payload.len);
    put_u64(trailer + 16, fnv1a64(payload.data, payload.len));
    FILE *out = fopen(out_path, "wb");
    int written = out != NULL && fwrite(self, 1, self_len, out) == self_len &&
                  fwrite(payload.data, 1, payload.len, out) == payload.len &&
                  fwrite(trailer, 1, TRAILER_SIZE, out) == TRAILER_SIZE;
    int saved_errno = errno;
    if (out != NULL && fclose(out) != 0 && written)
        written = 0, saved_errno = errno;
    if (!written || chmod(out_path, 0755) != 0) {
        snprintf(err, errsize, "%s: %s", out_path, strerror(written ? errno : saved_errno));
        unlink(out_path);
    } else {
        rc = 0;
    }
    free(self);
done:
    lua_close(L);
    mt_buf_free(&payload);
    mt_buf_free(&piece);
    return rc;
}
