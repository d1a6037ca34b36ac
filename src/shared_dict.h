/*
 * Shared dicts (SPEC §7, moontide.shared.dict): key/value stores that every
 * worker process of an instance sees, in one zone of MAP_SHARED memory that
 * the process which loads the app maps before it forks the workers. Dicts
 * are carved out of the zone by name on first use, each with its own size
 * and its own process-shared robust lock; a full dict evicts its least
 * recently used entries. shared_dict.c explains the layout and what happens
 * when a process dies holding a lock.
 */
#ifndef MT_SHARED_DICT_H
#define MT_SHARED_DICT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

typedef struct st_mt_shared_zone_t mt_shared_zone_t;
typedef struct st_mt_shared_dict_t mt_shared_dict_t;

#define MT_SHARED_NAME_MAX 63     /* bytes of a dict's name */
#define MT_SHARED_KEY_MAX 65535   /* bytes of a key */
#define MT_SHARED_DICT_MIN (8 * 1024)

typedef enum {
    MT_SHARED_OK = 0,
    MT_SHARED_NOT_FOUND,
    MT_SHARED_EXISTS,       /* add: the key is there */
    MT_SHARED_NO_MEMORY,    /* the entry does not fit even after evicting */
    MT_SHARED_NOT_A_NUMBER, /* incr on a string or boolean */
    MT_SHARED_BROKEN,       /* the dict's lock cannot be taken (ENOTRECOVERABLE) */
} mt_shared_status_t;

typedef enum { MT_SHARED_STRING = 1, MT_SHARED_NUMBER, MT_SHARED_BOOLEAN } mt_shared_type_t;

typedef struct st_mt_shared_value_t {
    mt_shared_type_t type;
    double number;   /* a number, or 0/1 for a boolean */
    const char *str; /* a string (for get: in the caller's buffer) */
    size_t len;
} mt_shared_value_t;

/* What one step of the rate limiter decided (all durations in milliseconds). */
typedef struct st_mt_shared_limit_t {
    int allowed;
    double remaining;      /* requests allowed right after this one */
    double reset_ms;       /* until the bucket is full again */
    double retry_after_ms; /* when refused: until one more request is allowed */
} mt_shared_limit_t;

/* Maps a zone of `size` bytes (MAP_SHARED, anonymous): do it before forking. NULL with errno set. */
mt_shared_zone_t *mt_shared_zone_create(size_t size);
void mt_shared_zone_destroy(mt_shared_zone_t *zone);

/*
 * The dict called `name`, carved out of the zone with `size` bytes on first
 * use; later opens (any process, any app generation) get the same dict
 * whatever size they ask for. NULL with a reason in err when the name is too
 * long or the zone is full.
 */
mt_shared_dict_t *mt_shared_dict_open(mt_shared_zone_t *zone, const char *name, size_t size, char *err, size_t errsize);

/* OK with the value (a string is copied into `copy`, which value->str then points into) or NOT_FOUND. */
mt_shared_status_t mt_shared_dict_get(mt_shared_dict_t *dict, const char *key, size_t klen, mt_shared_value_t *value,
                                      mt_buf_t *copy);

/* Stores the value; ttl in seconds (0: no expiry). With only_if_absent, EXISTS when the key is live. */
mt_shared_status_t mt_shared_dict_set(mt_shared_dict_t *dict, const char *key, size_t klen,
                                      const mt_shared_value_t *value, double ttl, int only_if_absent);

/*
 * Adds `by` to a number in place (its expiry kept). An absent key is
 * NOT_FOUND, or, with `init` given, stored as *init + by with init_ttl.
 */
mt_shared_status_t mt_shared_dict_incr(mt_shared_dict_t *dict, const char *key, size_t klen, double by,
                                       const double *init, double init_ttl, double *result);

mt_shared_status_t mt_shared_dict_delete(mt_shared_dict_t *dict, const char *key, size_t klen);

/*
 * One request through the GCRA rate limiter stored under `key`: a bucket of
 * `capacity` requests that refills one every `interval_us`. Atomic under the
 * dict's lock; the entry expires when the bucket would be full again.
 */
mt_shared_status_t mt_shared_dict_limit(mt_shared_dict_t *dict, const char *key, size_t klen, int64_t interval_us,
                                        int64_t capacity, mt_shared_limit_t *out);

/* 2^53: whole microseconds below it (285 years) are exact in a double, the limiter's sums too. */
#define MT_SHARED_EXACT_US 9007199254740992.0

/*
 * The limiter's arithmetic, in whole microseconds so that it never rounds: a
 * request at `now_us` against the theoretical arrival time `tat_us` (0: a
 * fresh bucket). Fills `out`; returns the TAT to store, or 0 when refused.
 */
int64_t mt_shared_gcra_step(int64_t tat_us, int64_t now_us, int64_t interval_us, int64_t capacity,
                            mt_shared_limit_t *out);

/* Live entries and free bytes (for tests and diagnostics). */
void mt_shared_dict_stats(mt_shared_dict_t *dict, size_t *entries, size_t *free_bytes);

#endif
