/*
 * Shared dicts: key/value stores in memory every worker process maps.
 *
 * The zone is one MAP_SHARED anonymous mapping, made before the workers are
 * forked, that starts with a table of dicts (name, offset, size) guarded by
 * the zone's lock; a dict is carved from the zone's free end the first time
 * its name is opened and lives as long as the instance. Each dict is a
 * header (its own lock, the LRU ends, the free lists), a hash bucket array
 * and a heap. Everything inside is addressed by offsets from the dict's
 * header, so the layout means the same in every process.
 *
 * The heap is cut into 16-byte chunks and tiled by blocks. A block starts
 * with one 64-bit word holding its length in chunks and whether it is free
 * or holds an entry; walking the heap from its start by these lengths visits
 * every block. An entry's block holds its key and value and its links in the
 * index: the hash chain and the LRU list (most recently used first). Free
 * blocks are kept in lists by size class and merged with free neighbours
 * when freed. When a new entry does not fit, expired entries go first, then
 * the least recently used ones (at most MAX_EVICTIONS per store, which then
 * fails with "no memory"), as nginx's shared dicts do.
 *
 * A worker can die anywhere, holding a dict's lock too (SIGKILL, the
 * watchdog, a crash). The lock is a robust process-shared mutex: the next
 * process to take it gets EOWNERDEAD and repairs the dict before marking the
 * lock consistent, so nobody waits forever. Repair trusts only the heap
 * walk, which every update keeps valid at every store: a block changes its
 * length and state in one 64-bit store; a new entry is written into a block
 * that is still free and only then marked as used (a release store); a
 * replaced entry is freed only after its successor is committed. The rest --
 * hash chains, the LRU list, free lists, the back-lengths used to merge free
 * neighbours, the counts -- is rebuilt from the walk; of two entries for one
 * key (a store that died between committing the new and freeing the old) the
 * newer wins. A string is never rewritten in place, so no reader meets half
 * of one; a number is updated in place by one 8-byte store.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "log.h"
#include "shared_dict.h"

#define ZONE_MAGIC 0x6d6f6f6e74696465ULL
#define MAX_DICTS 128
#define CHUNK 16
#define MIN_FREE_CHUNKS 2 /* a free block's header (word, prev, next, free-list prev) takes 24 bytes */
#define NUM_CLASSES 32
#define CLASS_SCAN 32     /* blocks looked at in the size class that may be too small */
#define MAX_EVICTIONS 64
#define BLOCK_FREE 0u
#define BLOCK_USED 1u

typedef struct st_block_t {
    uint64_t word;     /* length in chunks | state << 32: one store changes both */
    uint32_t prev;     /* length of the block before (0: the first block) */
    uint32_t hash;
    uint32_t next;     /* entry: next in its hash chain; free: next in its free list (index + 1; 0: none) */
    uint32_t lru_prev; /* entry: toward the most recent; free: previous in its free list */
    uint32_t lru_next; /* entry: toward the least recent */
    uint32_t value_len;
    uint16_t key_len;
    uint8_t type;
    uint8_t unused1_;
    uint32_t unused2_;
    uint64_t stamp;    /* commit order: repair keeps the newer of two entries for one key */
    double expires_ms; /* monotonic; 0: never */
    double number;     /* a number, or 0/1 for a boolean */
    char data[];       /* the key, then a string value */
} block_t;

_Static_assert(sizeof(block_t) % CHUNK == 0, "entry data follows the header in whole chunks");

struct st_mt_shared_dict_t {
    pthread_mutex_t lock;
    char name[MT_SHARED_NAME_MAX + 1];
    uint32_t num_chunks;
    uint32_t num_buckets; /* a power of two */
    uint64_t buckets_at;  /* offsets from this header */
    uint64_t heap_at;
    uint32_t lru_head, lru_tail; /* index + 1 of the most and the least recently used entry */
    uint32_t free_lists[NUM_CLASSES];
    uint32_t entries;
    uint32_t free_chunks;
    uint64_t stamp;
};

typedef struct st_zone_entry_t {
    char name[MT_SHARED_NAME_MAX + 1];
    uint64_t offset, size;
} zone_entry_t;

struct st_mt_shared_zone_t {
    uint64_t magic;
    uint64_t size;
    pthread_mutex_t lock;
    uint32_t num_dicts; /* raised last: a dict counts once it is whole */
    zone_entry_t dicts[MAX_DICTS];
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The clock of expiries. */
static double now_ms(void)
{
    return (double)now_us() / 1e3;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static int init_robust_mutex(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    int rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
}

/* ---- blocks ------------------------------------------------------------ */

static inline block_t *block_at(mt_shared_dict_t *d, uint32_t i)
{
    return (block_t *)((char *)d + d->heap_at + (uint64_t)i * CHUNK);
}

static inline uint32_t *buckets(mt_shared_dict_t *d)
{
    return (uint32_t *)((char *)d + d->buckets_at);
}

static inline uint32_t block_len(const block_t *b)
{
    return (uint32_t)b->word;
}

static inline uint32_t block_state(const block_t *b)
{
    return (uint32_t)(b->word >> 32);
}

/* The one store that changes what the heap walk sees. */
static inline void block_mark(block_t *b, uint32_t len, uint32_t state)
{
    __atomic_store_n(&b->word, (uint64_t)len | (uint64_t)state << 32, __ATOMIC_RELEASE);
}

static unsigned size_class(uint32_t len)
{
    return 31u - (unsigned)__builtin_clz(len);
}

static void set_prev_of_next(mt_shared_dict_t *d, uint32_t i, uint32_t len)
{
    if (i + len < d->num_chunks)
        block_at(d, i + len)->prev = len;
}

static void free_list_push(mt_shared_dict_t *d, uint32_t i)
{
    block_t *b = block_at(d, i);
    uint32_t *head = d->free_lists + size_class(block_len(b));
    b->next = *head;
    b->lru_prev = 0;
    if (*head != 0)
        block_at(d, *head - 1)->lru_prev = i + 1;
    *head = i + 1;
}

static void free_list_remove(mt_shared_dict_t *d, uint32_t i)
{
    block_t *b = block_at(d, i);
    if (b->lru_prev != 0)
        block_at(d, b->lru_prev - 1)->next = b->next;
    else
        d->free_lists[size_class(block_len(b))] = b->next;
    if (b->next != 0)
        block_at(d, b->next - 1)->lru_prev = b->lru_prev;
}

/* Frees a block (its entry already out of the index), merged with free neighbours. */
static void free_block(mt_shared_dict_t *d, uint32_t i)
{
    block_t *b = block_at(d, i);
    uint32_t len = block_len(b);
    block_mark(b, len, BLOCK_FREE);
    d->free_chunks += len;
    if (i + len < d->num_chunks) {
        block_t *next = block_at(d, i + len);
        if (block_state(next) == BLOCK_FREE) {
            free_list_remove(d, i + len);
            len += block_len(next);
            block_mark(b, len, BLOCK_FREE);
        }
    }
    if (b->prev != 0) {
        uint32_t p = i - b->prev;
        block_t *before = block_at(d, p);
        if (block_state(before) == BLOCK_FREE) {
            free_list_remove(d, p);
            len += block_len(before);
            i = p;
            block_mark(before, len, BLOCK_FREE);
        }
    }
    set_prev_of_next(d, i, len);
    free_list_push(d, i);
}

/* A free block of at least `need` chunks, out of the free lists but still marked free; index + 1, or 0. */
static uint32_t alloc_block(mt_shared_dict_t *d, uint32_t need)
{
    unsigned c = size_class(need);
    uint32_t found = 0;
    int scanned = 0;
    for (uint32_t at = d->free_lists[c]; at != 0 && scanned < CLASS_SCAN; at = block_at(d, at - 1)->next, scanned++) {
        if (block_len(block_at(d, at - 1)) >= need) {
            found = at;
            break;
        }
    }
    for (unsigned k = c + 1; found == 0 && k < NUM_CLASSES; k++)
        found = d->free_lists[k];
    if (found == 0)
        return 0;
    uint32_t i = found - 1;
    block_t *b = block_at(d, i);
    uint32_t len = block_len(b);
    free_list_remove(d, i);
    if (len - need >= MIN_FREE_CHUNKS) {
        /* the rest becomes a block of its own (inside b, so the walk skips it) before b shrinks */
        block_t *rest = block_at(d, i + need);
        rest->prev = need;
        block_mark(rest, len - need, BLOCK_FREE);
        set_prev_of_next(d, i + need, len - need);
        block_mark(b, need, BLOCK_FREE);
        free_list_push(d, i + need);
        len = need;
    }
    d->free_chunks -= len;
    return found;
}

static uint32_t entry_chunks(size_t klen, const mt_shared_value_t *value)
{
    size_t bytes = sizeof(block_t) + klen + (value->type == MT_SHARED_STRING ? value->len : 0);
    size_t chunks = (bytes + CHUNK - 1) / CHUNK;
    return chunks > UINT32_MAX ? UINT32_MAX : (uint32_t)chunks;
}

/* Fills a reserved block and commits it: only the last store makes it an entry. */
static void write_entry(mt_shared_dict_t *d, uint32_t i, const char *key, size_t klen, uint32_t hash,
                        const mt_shared_value_t *value, double expires_ms)
{
    block_t *b = block_at(d, i);
    b->hash = hash;
    b->next = b->lru_prev = b->lru_next = 0;
    b->key_len = (uint16_t)klen;
    b->type = (uint8_t)value->type;
    b->value_len = value->type == MT_SHARED_STRING ? (uint32_t)value->len : 0;
    b->stamp = ++d->stamp;
    b->expires_ms = expires_ms;
    b->number = value->type == MT_SHARED_STRING ? 0 : value->number;
    memcpy(b->data, key, klen);
    if (value->type == MT_SHARED_STRING && value->len != 0)
        memcpy(b->data + klen, value->str, value->len);
    block_mark(b, block_len(b), BLOCK_USED);
}

static int entry_is_whole(const block_t *b, uint32_t len)
{
    size_t bytes = sizeof(block_t) + b->key_len + (b->type == MT_SHARED_STRING ? b->value_len : 0);
    return b->key_len != 0 && b->type >= MT_SHARED_STRING && b->type <= MT_SHARED_BOOLEAN && bytes <= (size_t)len * CHUNK;
}

/* ---- the index: hash chains and the LRU list ---------------------------- */

static uint32_t hash_key(const char *key, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i != len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h;
}

static void lru_unlink(mt_shared_dict_t *d, uint32_t i)
{
    block_t *b = block_at(d, i);
    if (b->lru_prev != 0)
        block_at(d, b->lru_prev - 1)->lru_next = b->lru_next;
    else
        d->lru_head = b->lru_next;
    if (b->lru_next != 0)
        block_at(d, b->lru_next - 1)->lru_prev = b->lru_prev;
    else
        d->lru_tail = b->lru_prev;
}

static void lru_push_front(mt_shared_dict_t *d, uint32_t i)
{
    block_t *b = block_at(d, i);
    b->lru_prev = 0;
    b->lru_next = d->lru_head;
    if (d->lru_head != 0)
        block_at(d, d->lru_head - 1)->lru_prev = i + 1;
    else
        d->lru_tail = i + 1;
    d->lru_head = i + 1;
}

static void touch(mt_shared_dict_t *d, uint32_t i)
{
    if (d->lru_head != i + 1) {
        lru_unlink(d, i);
        lru_push_front(d, i);
    }
}

static void index_insert(mt_shared_dict_t *d, uint32_t i)
{
    block_t *b = block_at(d, i);
    uint32_t *bucket = buckets(d) + (b->hash & (d->num_buckets - 1));
    b->next = *bucket;
    *bucket = i + 1;
    lru_push_front(d, i);
    d->entries++;
}

static void index_remove(mt_shared_dict_t *d, uint32_t i)
{
    block_t *b = block_at(d, i);
    uint32_t *link = buckets(d) + (b->hash & (d->num_buckets - 1));
    while (*link != 0 && *link != i + 1)
        link = &block_at(d, *link - 1)->next;
    if (*link != 0)
        *link = b->next;
    lru_unlink(d, i);
    d->entries--;
}

static void remove_entry(mt_shared_dict_t *d, uint32_t i)
{
    index_remove(d, i);
    free_block(d, i);
}

static uint32_t lookup(mt_shared_dict_t *d, const char *key, size_t klen, uint32_t hash)
{
    for (uint32_t at = buckets(d)[hash & (d->num_buckets - 1)]; at != 0; at = block_at(d, at - 1)->next) {
        block_t *b = block_at(d, at - 1);
        if (b->hash == hash && b->key_len == klen && memcmp(b->data, key, klen) == 0)
            return at;
    }
    return 0;
}

static int expired(const block_t *b, double now)
{
    return b->expires_ms != 0 && b->expires_ms <= now;
}

/* The live entry for key (index + 1), or 0; an expired one found on the way is removed. */
static uint32_t find(mt_shared_dict_t *d, const char *key, size_t klen, uint32_t hash, double now)
{
    uint32_t at = lookup(d, key, klen, hash);
    if (at != 0 && expired(block_at(d, at - 1), now)) {
        remove_entry(d, at - 1);
        return 0;
    }
    return at;
}

/*
 * A block for a new entry: from free space, else after dropping expired
 * entries, else after evicting the least recently used (never `pinned`, the
 * entry being replaced). Index + 1, or 0.
 */
static uint32_t alloc_entry(mt_shared_dict_t *d, uint32_t need, uint32_t pinned, double now)
{
    if (need > d->num_chunks)
        return 0;
    uint32_t at = alloc_block(d, need);
    if (at != 0)
        return at;
    for (uint32_t e = d->lru_tail; e != 0;) {
        uint32_t up = block_at(d, e - 1)->lru_prev;
        if (e != pinned && expired(block_at(d, e - 1), now))
            remove_entry(d, e - 1);
        e = up;
    }
    for (int n = 0; (at = alloc_block(d, need)) == 0 && n < MAX_EVICTIONS; n++) {
        uint32_t victim = d->lru_tail;
        if (victim != 0 && victim == pinned)
            victim = block_at(d, victim - 1)->lru_prev;
        if (victim == 0)
            return 0;
        remove_entry(d, victim - 1);
    }
    return at;
}

/* ---- repair and the lock ------------------------------------------------- */

static void clear_index(mt_shared_dict_t *d)
{
    memset(buckets(d), 0, (size_t)d->num_buckets * sizeof(uint32_t));
    memset(d->free_lists, 0, sizeof(d->free_lists));
    d->lru_head = d->lru_tail = 0;
    d->entries = 0;
    d->free_chunks = 0;
}

/* Empties the dict: one free block over the whole heap. */
static void reset_heap(mt_shared_dict_t *d)
{
    clear_index(d);
    block_t *b = block_at(d, 0);
    b->prev = 0;
    block_mark(b, d->num_chunks, BLOCK_FREE);
    d->free_chunks = d->num_chunks;
    free_list_push(d, 0);
}

/* Checks the heap walk, merges neighbouring free blocks and sets back-lengths; 0 when the walk is broken. */
static int repair_walk(mt_shared_dict_t *d)
{
    uint32_t i = 0, prev = 0, free_run = UINT32_MAX;
    while (i < d->num_chunks) {
        block_t *b = block_at(d, i);
        uint32_t len = block_len(b), state = block_state(b);
        if (len < MIN_FREE_CHUNKS || len > d->num_chunks - i || state > BLOCK_USED)
            return 0;
        if (state == BLOCK_USED && !entry_is_whole(b, len)) {
            block_mark(b, len, BLOCK_FREE);
            state = BLOCK_FREE;
        }
        if (state == BLOCK_FREE && free_run != UINT32_MAX) {
            block_t *run = block_at(d, free_run);
            prev = block_len(run) + len;
            block_mark(run, prev, BLOCK_FREE);
            i += len;
            continue;
        }
        b->prev = prev;
        free_run = state == BLOCK_FREE ? i : UINT32_MAX;
        prev = len;
        i += len;
    }
    return 1;
}

/* Rebuilds the free lists and the index from the walk; of two entries for a key the newer stays. */
static size_t repair_index(mt_shared_dict_t *d)
{
    size_t stale = 0;
    clear_index(d);
    for (uint32_t i = 0; i < d->num_chunks; i += block_len(block_at(d, i))) {
        block_t *b = block_at(d, i);
        if (block_state(b) == BLOCK_USED) {
            uint32_t other = lookup(d, b->data, b->key_len, b->hash);
            if (other == 0 || block_at(d, other - 1)->stamp < b->stamp) {
                if (other != 0) {
                    block_t *older = block_at(d, other - 1);
                    index_remove(d, other - 1);
                    block_mark(older, block_len(older), BLOCK_FREE);
                    d->free_chunks += block_len(older);
                    free_list_push(d, other - 1);
                    stale++;
                }
                index_insert(d, i);
                continue;
            }
            block_mark(b, block_len(b), BLOCK_FREE);
            stale++;
        }
        d->free_chunks += block_len(b);
        free_list_push(d, i);
    }
    return stale;
}

/*
 * Rebuilds everything but the heap walk from the walk (see the top of the
 * file). Stale copies freed by the index pass may sit beside free blocks, so
 * then the walk is merged once more.
 */
static void repair(mt_shared_dict_t *d)
{
    size_t stale = 0, found;
    do {
        if (!repair_walk(d)) {
            mt_log_error("shared dict '%s': a process died holding its lock and its heap is damaged; emptying it",
                         d->name);
            reset_heap(d);
            return;
        }
        stale += found = repair_index(d);
    } while (found != 0);
    mt_log_warn("shared dict '%s': a process died holding its lock; repaired (%u entries kept, %zu stale copies freed)",
                d->name, d->entries, stale);
}

/* Takes the dict's lock, repairing the dict first when its last holder died with it. */
static int lock_dict(mt_shared_dict_t *d)
{
    int rc = pthread_mutex_lock(&d->lock);
    if (rc == EOWNERDEAD) {
        repair(d);
        rc = pthread_mutex_consistent(&d->lock);
    }
    if (rc != 0)
        mt_log_error("shared dict '%s': cannot take its lock: %s", d->name, strerror(rc));
    return rc;
}

static void unlock_dict(mt_shared_dict_t *d)
{
    pthread_mutex_unlock(&d->lock);
}

/* ---- the zone ------------------------------------------------------------ */

mt_shared_zone_t *mt_shared_zone_create(size_t size)
{
    size = size < sizeof(mt_shared_zone_t) + MT_SHARED_DICT_MIN ? sizeof(mt_shared_zone_t) + MT_SHARED_DICT_MIN : size;
    mt_shared_zone_t *zone = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (zone == MAP_FAILED)
        return NULL;
    zone->magic = ZONE_MAGIC;
    zone->size = size;
    zone->num_dicts = 0;
    int rc = init_robust_mutex(&zone->lock);
    if (rc != 0) {
        munmap(zone, size);
        errno = rc;
        return NULL;
    }
    return zone;
}

void mt_shared_zone_destroy(mt_shared_zone_t *zone)
{
    if (zone != NULL)
        munmap(zone, zone->size);
}

static int init_dict(mt_shared_dict_t *d, const char *name, size_t size)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    size_t header = round_up(sizeof(*d), 64), rest = size - header;
    uint32_t num_buckets = 16;
    while ((size_t)num_buckets * 2 <= rest / CHUNK / 8)
        num_buckets *= 2;
    size_t bucket_bytes = round_up((size_t)num_buckets * sizeof(uint32_t), CHUNK);
    size_t chunks = (rest - bucket_bytes) / CHUNK;
    d->num_buckets = num_buckets;
    d->num_chunks = chunks > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)chunks;
    d->buckets_at = header;
    d->heap_at = header + bucket_bytes;
    reset_heap(d);
    return init_robust_mutex(&d->lock);
}

mt_shared_dict_t *mt_shared_dict_open(mt_shared_zone_t *zone, const char *name, size_t size, char *err, size_t errsize)
{
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len > MT_SHARED_NAME_MAX) {
        snprintf(err, errsize, "a dict's name must have 1 to %d bytes", MT_SHARED_NAME_MAX);
        return NULL;
    }
    size = round_up(size < MT_SHARED_DICT_MIN ? MT_SHARED_DICT_MIN : size, 64);
    int rc = pthread_mutex_lock(&zone->lock);
    if (rc == EOWNERDEAD) /* nothing to repair: a dict being carved counts only once num_dicts says so */
        rc = pthread_mutex_consistent(&zone->lock);
    if (rc != 0) {
        snprintf(err, errsize, "cannot take the shared memory zone's lock: %s", strerror(rc));
        return NULL;
    }
    mt_shared_dict_t *dict = NULL;
    uint32_t n = zone->num_dicts;
    for (uint32_t i = 0; i != n && dict == NULL; i++)
        if (strcmp(zone->dicts[i].name, name) == 0)
            dict = (mt_shared_dict_t *)((char *)zone + zone->dicts[i].offset);
    if (dict == NULL) {
        uint64_t offset = n != 0 ? zone->dicts[n - 1].offset + zone->dicts[n - 1].size : round_up(sizeof(*zone), 64);
        if (n == MAX_DICTS) {
            snprintf(err, errsize, "dict '%s': there are already %d shared dicts, the most there can be", name, MAX_DICTS);
        } else if (offset + size > zone->size) {
            snprintf(err, errsize, "dict '%s' needs %zu bytes but the shared memory zone has %llu left "
                                   "(make it larger with --shared-memory)",
                     name, size, (unsigned long long)(zone->size > offset ? zone->size - offset : 0));
        } else if ((rc = init_dict((mt_shared_dict_t *)((char *)zone + offset), name, size)) != 0) {
            snprintf(err, errsize, "dict '%s': cannot make its lock: %s", name, strerror(rc));
        } else {
            zone_entry_t *entry = zone->dicts + n;
            snprintf(entry->name, sizeof(entry->name), "%s", name);
            entry->offset = offset;
            entry->size = size;
            __atomic_store_n(&zone->num_dicts, n + 1, __ATOMIC_RELEASE);
            dict = (mt_shared_dict_t *)((char *)zone + offset);
        }
    }
    pthread_mutex_unlock(&zone->lock);
    return dict;
}

/* ---- operations ------------------------------------------------------------ */

mt_shared_status_t mt_shared_dict_get(mt_shared_dict_t *d, const char *key, size_t klen, mt_shared_value_t *value,
                                      mt_buf_t *copy)
{
    uint32_t hash = hash_key(key, klen);
    double now = now_ms();
    if (lock_dict(d) != 0)
        return MT_SHARED_BROKEN;
    mt_shared_status_t status = MT_SHARED_NOT_FOUND;
    uint32_t at = find(d, key, klen, hash, now);
    if (at != 0) {
        block_t *b = block_at(d, at - 1);
        touch(d, at - 1);
        value->type = (mt_shared_type_t)b->type;
        value->number = b->number;
        value->str = "";
        value->len = 0;
        status = MT_SHARED_OK;
        if (b->type == MT_SHARED_STRING) {
            copy->len = 0;
            if (mt_buf_append(copy, b->data + klen, b->value_len) != 0)
                status = MT_SHARED_NO_MEMORY;
            else if (b->value_len != 0)
                value->str = copy->data, value->len = b->value_len;
        }
    }
    unlock_dict(d);
    return status;
}

/* Stores a new entry for a key whose current entry (index + 1, or 0) is `old`. */
static mt_shared_status_t store(mt_shared_dict_t *d, const char *key, size_t klen, uint32_t hash,
                                const mt_shared_value_t *value, double expires_ms, uint32_t old, double now)
{
    uint32_t at = alloc_entry(d, entry_chunks(klen, value), old, now);
    if (at == 0)
        return MT_SHARED_NO_MEMORY;
    write_entry(d, at - 1, key, klen, hash, value, expires_ms);
    if (old != 0)
        remove_entry(d, old - 1);
    index_insert(d, at - 1);
    return MT_SHARED_OK;
}

mt_shared_status_t mt_shared_dict_set(mt_shared_dict_t *d, const char *key, size_t klen,
                                      const mt_shared_value_t *value, double ttl, int only_if_absent)
{
    uint32_t hash = hash_key(key, klen);
    double now = now_ms(), expires_ms = ttl > 0 ? now + ttl * 1e3 : 0;
    if (lock_dict(d) != 0)
        return MT_SHARED_BROKEN;
    mt_shared_status_t status;
    uint32_t at = find(d, key, klen, hash, now);
    if (at != 0 && only_if_absent) {
        status = MT_SHARED_EXISTS;
    } else if (at != 0 && value->type != MT_SHARED_STRING && block_at(d, at - 1)->type == value->type) {
        block_t *b = block_at(d, at - 1); /* a number over a number: one store, in place */
        b->number = value->number;
        b->expires_ms = expires_ms;
        touch(d, at - 1);
        status = MT_SHARED_OK;
    } else {
        status = store(d, key, klen, hash, value, expires_ms, at, now);
    }
    unlock_dict(d);
    return status;
}

mt_shared_status_t mt_shared_dict_incr(mt_shared_dict_t *d, const char *key, size_t klen, double by,
                                       const double *init, double init_ttl, double *result)
{
    uint32_t hash = hash_key(key, klen);
    double now = now_ms();
    if (lock_dict(d) != 0)
        return MT_SHARED_BROKEN;
    mt_shared_status_t status = MT_SHARED_NOT_FOUND;
    uint32_t at = find(d, key, klen, hash, now);
    if (at != 0) {
        block_t *b = block_at(d, at - 1);
        if (b->type != MT_SHARED_NUMBER) {
            status = MT_SHARED_NOT_A_NUMBER;
        } else {
            *result = b->number = b->number + by;
            touch(d, at - 1);
            status = MT_SHARED_OK;
        }
    } else if (init != NULL) {
        mt_shared_value_t value = {.type = MT_SHARED_NUMBER, .number = *init + by};
        status = store(d, key, klen, hash, &value, init_ttl > 0 ? now + init_ttl * 1e3 : 0, 0, now);
        *result = value.number;
    }
    unlock_dict(d);
    return status;
}

mt_shared_status_t mt_shared_dict_delete(mt_shared_dict_t *d, const char *key, size_t klen)
{
    uint32_t hash = hash_key(key, klen);
    double now = now_ms();
    if (lock_dict(d) != 0)
        return MT_SHARED_BROKEN;
    uint32_t at = find(d, key, klen, hash, now);
    if (at != 0)
        remove_entry(d, at - 1);
    unlock_dict(d);
    return at != 0 ? MT_SHARED_OK : MT_SHARED_NOT_FOUND;
}

/*
 * GCRA: a request at `now` is allowed when the theoretical arrival time (TAT)
 * after it stays within capacity * interval of now; a fresh client gets a
 * burst of `capacity`, after which requests are spaced by `interval`.
 */
int64_t mt_shared_gcra_step(int64_t tat_us, int64_t now_us, int64_t interval_us, int64_t capacity,
                            mt_shared_limit_t *out)
{
    if (tat_us < now_us)
        tat_us = now_us;
    int64_t next_tat = tat_us + interval_us, allow_at = next_tat - capacity * interval_us;
    if (now_us < allow_at) {
        *out = (mt_shared_limit_t){.allowed = 0, .remaining = 0, .reset_ms = (double)(tat_us - now_us) / 1e3,
                                   .retry_after_ms = (double)(allow_at - now_us) / 1e3};
        return 0;
    }
    *out = (mt_shared_limit_t){.allowed = 1, .remaining = (double)((now_us - allow_at) / interval_us),
                               .reset_ms = (double)(next_tat - now_us) / 1e3};
    return next_tat;
}

/* The entry holds the TAT in whole monotonic microseconds, a number below MT_SHARED_EXACT_US. */
mt_shared_status_t mt_shared_dict_limit(mt_shared_dict_t *d, const char *key, size_t klen, int64_t interval_us,
                                        int64_t capacity, mt_shared_limit_t *out)
{
    uint32_t hash = hash_key(key, klen);
    int64_t now_exact = now_us();
    double now = (double)now_exact / 1e3;
    if (lock_dict(d) != 0)
        return MT_SHARED_BROKEN;
    mt_shared_status_t status = MT_SHARED_OK;
    uint32_t at = find(d, key, klen, hash, now);
    block_t *b = at != 0 ? block_at(d, at - 1) : NULL;
    int64_t tat = 0;
    if (b != NULL && b->type == MT_SHARED_NUMBER && b->number > 0 && b->number < MT_SHARED_EXACT_US)
        tat = (int64_t)b->number; /* else a fresh bucket: a number some app wrote there is no TAT */
    int64_t next_tat = mt_shared_gcra_step(tat, now_exact, interval_us, capacity, out);
    if (next_tat != 0) {
        double expires_ms = (double)next_tat / 1e3; /* when the bucket would be full again */
        if (b != NULL && b->type == MT_SHARED_NUMBER) {
            b->number = (double)next_tat;
            b->expires_ms = expires_ms;
            touch(d, at - 1);
        } else {
            mt_shared_value_t value = {.type = MT_SHARED_NUMBER, .number = (double)next_tat};
            status = store(d, key, klen, hash, &value, expires_ms, at, now);
        }
    }
    unlock_dict(d);
    return status;
}

void mt_shared_dict_stats(mt_shared_dict_t *d, size_t *entries, size_t *free_bytes)
{
    *entries = *free_bytes = 0;
    if (lock_dict(d) != 0)
        return;
    *entries = d->entries;
    *free_bytes = (size_t)d->free_chunks * CHUNK;
    unlock_dict(d);
}
