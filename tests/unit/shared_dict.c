/*
 * Unit tests for src/shared_dict.c: values, add/incr/delete, TTL, LRU
 * eviction, the zone, the rate limiter's step, many processes at once, and
 * recovery when a process dies holding a dict's lock (mid-update, with the
 * index scribbled over). The file is included, as h2o's unit tests include
 * theirs, so the tests can take the lock and walk the heap themselves.
 */
#include "../../src/shared_dict.c"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

#define KEY(s) (s), strlen(s)

static mt_buf_t copy;

/* Everything the index and the free lists say agrees with the heap walk. */
static int consistent(mt_shared_dict_t *d, char *why, size_t size)
{
    uint32_t i = 0, prev = 0, used = 0, free_chunks = 0, free_blocks = 0, listed = 0, lru = 0;
    int prev_free = 0;
    while (i < d->num_chunks) {
        block_t *b = block_at(d, i);
        uint32_t len = block_len(b);
        if (len < MIN_FREE_CHUNKS || len > d->num_chunks - i)
            return snprintf(why, size, "block at %u has length %u", i, len), 0;
        if (b->prev != prev)
            return snprintf(why, size, "block at %u: back-length %u, want %u", i, b->prev, prev), 0;
        int is_free = block_state(b) == BLOCK_FREE;
        if (is_free && prev_free)
            return snprintf(why, size, "two free blocks side by side at %u", i), 0;
        if (is_free) {
            free_blocks++;
            free_chunks += len;
        } else {
            used++;
            if (lookup(d, b->data, b->key_len, b->hash) != i + 1)
                return snprintf(why, size, "entry at %u is not in its hash chain", i), 0;
        }
        prev_free = is_free;
        prev = len;
        i += len;
    }
    for (unsigned c = 0; c < NUM_CLASSES; c++)
        for (uint32_t at = d->free_lists[c]; at != 0 && listed <= free_blocks; at = block_at(d, at - 1)->next, listed++)
            if (block_state(block_at(d, at - 1)) != BLOCK_FREE || size_class(block_len(block_at(d, at - 1))) != c)
                return snprintf(why, size, "free list %u holds a wrong block", c), 0;
    for (uint32_t at = d->lru_head; at != 0 && lru <= used; at = block_at(d, at - 1)->lru_next)
        lru++;
    if (listed != free_blocks || lru != used || used != d->entries || free_chunks != d->free_chunks)
        return snprintf(why, size, "counts: %u/%u free blocks listed, %u/%u entries in the LRU list, entries %u, "
                                   "free chunks %u/%u", listed, free_blocks, lru, used, d->entries, free_chunks,
                        d->free_chunks), 0;
    return 1;
}

#define CONSISTENT(d, what)                                                                                             \
    do {                                                                                                                \
        char why_[256] = "";                                                                                            \
        int ok_ = consistent((d), why_, sizeof(why_));                                                                  \
        ok(ok_, "%s: the dict is consistent%s%s", (what), ok_ ? "" : ": ", why_);                                        \
    } while (0)

static mt_shared_status_t set_str(mt_shared_dict_t *d, const char *key, const char *value, double ttl)
{
    mt_shared_value_t v = {.type = MT_SHARED_STRING, .str = value, .len = strlen(value)};
    return mt_shared_dict_set(d, KEY(key), &v, ttl, 0);
}

static mt_shared_status_t set_num(mt_shared_dict_t *d, const char *key, double n, int only_if_absent)
{
    mt_shared_value_t v = {.type = MT_SHARED_NUMBER, .number = n};
    return mt_shared_dict_set(d, KEY(key), &v, 0, only_if_absent);
}

static int get_is_str(mt_shared_dict_t *d, const char *key, const char *want)
{
    mt_shared_value_t v;
    return mt_shared_dict_get(d, KEY(key), &v, &copy) == MT_SHARED_OK && v.type == MT_SHARED_STRING &&
           v.len == strlen(want) && memcmp(v.str, want, v.len) == 0;
}

static int get_is_num(mt_shared_dict_t *d, const char *key, double want)
{
    mt_shared_value_t v;
    return mt_shared_dict_get(d, KEY(key), &v, &copy) == MT_SHARED_OK && v.type == MT_SHARED_NUMBER && v.number == want;
}

static int absent(mt_shared_dict_t *d, const char *key)
{
    mt_shared_value_t v;
    return mt_shared_dict_get(d, KEY(key), &v, &copy) == MT_SHARED_NOT_FOUND;
}

static void test_values(mt_shared_zone_t *zone)
{
    char err[256];
    mt_shared_dict_t *d = mt_shared_dict_open(zone, "values", 64 * 1024, err, sizeof(err));
    ok(d != NULL, "a dict opens");
    ok(absent(d, "nope"), "a missing key is not found");
    ok(set_str(d, "s", "hello", 0) == MT_SHARED_OK && get_is_str(d, "s", "hello"), "a string goes in and out");
    ok(set_str(d, "e", "", 0) == MT_SHARED_OK && get_is_str(d, "e", ""), "so does an empty one");
    ok(set_num(d, "n", 2.5, 0) == MT_SHARED_OK && get_is_num(d, "n", 2.5), "a number");
    mt_shared_value_t t = {.type = MT_SHARED_BOOLEAN, .number = 1}, v;
    ok(mt_shared_dict_set(d, KEY("b"), &t, 0, 0) == MT_SHARED_OK &&
           mt_shared_dict_get(d, KEY("b"), &v, &copy) == MT_SHARED_OK && v.type == MT_SHARED_BOOLEAN && v.number == 1,
       "a boolean");
    ok(set_str(d, "s", "a longer value than before", 0) == MT_SHARED_OK &&
           get_is_str(d, "s", "a longer value than before"), "set replaces a string");
    ok(set_num(d, "s", 7, 0) == MT_SHARED_OK && get_is_num(d, "s", 7), "set replaces a string by a number");
    ok(set_num(d, "s", 8, 1) == MT_SHARED_EXISTS && get_is_num(d, "s", 7), "add refuses a key that is there");
    ok(set_num(d, "fresh", 1, 1) == MT_SHARED_OK && get_is_num(d, "fresh", 1), "add stores a new key");

    double r = 0, init = 10;
    ok(mt_shared_dict_incr(d, KEY("n"), 1, NULL, 0, &r) == MT_SHARED_OK && r == 3.5 && get_is_num(d, "n", 3.5),
       "incr adds to a number");
    ok(mt_shared_dict_incr(d, KEY("none"), 1, NULL, 0, &r) == MT_SHARED_NOT_FOUND && absent(d, "none"),
       "incr without init: not found");
    ok(mt_shared_dict_incr(d, KEY("none"), 2, &init, 0, &r) == MT_SHARED_OK && r == 12 && get_is_num(d, "none", 12),
       "incr with init stores init + by");
    set_str(d, "word", "abc", 0);
    ok(mt_shared_dict_incr(d, KEY("word"), 1, &init, 0, &r) == MT_SHARED_NOT_A_NUMBER && get_is_str(d, "word", "abc"),
       "incr on a string: not a number, and the string stays");

    ok(mt_shared_dict_delete(d, KEY("word")) == MT_SHARED_OK && absent(d, "word"), "delete removes");
    ok(mt_shared_dict_delete(d, KEY("word")) == MT_SHARED_NOT_FOUND, "deleting again finds nothing");
    CONSISTENT(d, "after the value tests");

    char name[70];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ok(mt_shared_dict_open(zone, name, 1024, err, sizeof(err)) == NULL && strstr(err, "name") != NULL,
       "a name over 63 bytes is refused: %s", err);
    ok(mt_shared_dict_open(zone, "values", 1 << 20, err, sizeof(err)) == d, "opening a name again gives the same dict");
}

static void wait_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_ttl(mt_shared_zone_t *zone)
{
    char err[256];
    mt_shared_dict_t *d = mt_shared_dict_open(zone, "ttl", 64 * 1024, err, sizeof(err));
    double r, init = 0;
    set_str(d, "short", "v", 0.05);
    set_str(d, "long", "v", 60);
    mt_shared_dict_incr(d, KEY("counter"), 1, &init, 0.05, &r);
    ok(get_is_str(d, "short", "v") && get_is_num(d, "counter", 1), "an entry with a ttl is there at first");
    double started = now_ms();
    while ((!absent(d, "short") || !absent(d, "counter")) && now_ms() - started < 5000)
        wait_ms(5); /* polling, with a deadline */
    double took = now_ms() - started;
    ok(absent(d, "short") && absent(d, "counter"), "... and gone once it expired (after %.0f ms)", took);
    ok(took >= 40, "... not before its time (%.0f ms for a ttl of 50 ms)", took);
    ok(get_is_str(d, "long", "v"), "an entry with a long ttl stays");
    ok(set_str(d, "short", "again", 0) == MT_SHARED_OK && set_num(d, "short2", 1, 1) == MT_SHARED_OK,
       "an expired key can be stored again (add too)");
    CONSISTENT(d, "after expiry");
}

static void test_eviction(mt_shared_zone_t *zone)
{
    char err[256], key[32], value[200];
    mt_shared_dict_t *d = mt_shared_dict_open(zone, "small", MT_SHARED_DICT_MIN, err, sizeof(err));
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    int stored = 0;
    set_str(d, "keep", "me", 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        stored += set_str(d, key, value, 0) == MT_SHARED_OK;
        if (i % 10 == 0)
            get_is_str(d, "keep", "me"); /* used now and then: never the least recent */
    }
    size_t entries, free_bytes;
    mt_shared_dict_stats(d, &entries, &free_bytes);
    ok(stored == 1000, "every store into a full dict succeeds by evicting (%d of 1000)", stored);
    ok(entries < 100 && entries > 10, "the dict holds what fits (%zu entries)", entries);
    ok(absent(d, "key0") && get_is_str(d, "key999", value), "the least recently used went, the newest is there");
    ok(get_is_str(d, "keep", "me"), "an entry read often survives the churn");
    CONSISTENT(d, "after eviction");

    char *big = malloc(MT_SHARED_DICT_MIN * 2);
    memset(big, 'b', MT_SHARED_DICT_MIN * 2 - 1);
    big[MT_SHARED_DICT_MIN * 2 - 1] = '\0';
    ok(set_str(d, "big", big, 0) == MT_SHARED_NO_MEMORY && absent(d, "big"), "a value larger than the dict: no memory");
    ok(get_is_str(d, "keep", "me") && get_is_str(d, "key999", value), "... and nothing was evicted for it");
    free(big);
}

static void test_zone_limits(void)
{
    char err[256];
    mt_shared_zone_t *zone = mt_shared_zone_create(256 * 1024);
    ok(zone != NULL, "a small zone maps");
    ok(mt_shared_dict_open(zone, "a", 128 * 1024, err, sizeof(err)) != NULL, "a dict of half of it fits");
    ok(mt_shared_dict_open(zone, "b", 128 * 1024, err, sizeof(err)) == NULL && strstr(err, "--shared-memory") != NULL,
       "one more that does not fit is refused: %s", err);
    ok(mt_shared_dict_open(zone, "c", 16 * 1024, err, sizeof(err)) != NULL, "a smaller one still fits");
    mt_shared_zone_destroy(zone);
}

/* Random operations against a model (no eviction: the dict is big enough). */
static void test_against_a_model(mt_shared_zone_t *zone)
{
    char err[256], key[16], value[400];
    mt_shared_dict_t *d = mt_shared_dict_open(zone, "model", 256 * 1024, err, sizeof(err));
    enum { KEYS = 100 };
    int model_len[KEYS]; /* -1: absent; else the length of a value of repeated (key % 26 + 'a') */
    for (int k = 0; k < KEYS; k++)
        model_len[k] = -1;
    srand(42);
    int mismatches = 0, checks = 0;
    for (int n = 0; n < 20000; n++) {
        int k = rand() % KEYS, op = rand() % 4;
        snprintf(key, sizeof(key), "k%d", k);
        if (op <= 1) {
            int len = rand() % (int)sizeof(value);
            memset(value, 'a' + k % 26, (size_t)len);
            value[len] = '\0';
            mismatches += set_str(d, key, value, 0) != MT_SHARED_OK;
            model_len[k] = len;
        } else if (op == 2) {
            mt_shared_dict_delete(d, KEY(key));
            model_len[k] = -1;
        } else {
            mt_shared_value_t v;
            mt_shared_status_t status = mt_shared_dict_get(d, KEY(key), &v, &copy);
            checks++;
            if (model_len[k] < 0)
                mismatches += status != MT_SHARED_NOT_FOUND;
            else
                mismatches += status != MT_SHARED_OK || (int)v.len != model_len[k] ||
                              (v.len != 0 && (v.str[0] != 'a' + k % 26 || v.str[v.len - 1] != 'a' + k % 26));
        }
    }
    ok(mismatches == 0, "20,000 random sets, deletes and gets agree with a model (%d gets, %d mismatches)", checks,
       mismatches);
    CONSISTENT(d, "after the random operations");
}

static void test_limit(mt_shared_zone_t *zone)
{
    char err[256];
    mt_shared_dict_t *d = mt_shared_dict_open(zone, "limits", 64 * 1024, err, sizeof(err));
    mt_shared_limit_t out;
    int allowed = 0, remaining_ok = 1;
    for (int i = 0; i < 3; i++) {
        mt_shared_dict_limit(d, KEY("client"), 10000000, 3, &out);
        allowed += out.allowed;
        remaining_ok &= out.remaining == 2 - i;
    }
    ok(allowed == 3 && remaining_ok, "a fresh bucket of 3 lets 3 through, counting down what remains");
    mt_shared_status_t status = mt_shared_dict_limit(d, KEY("client"), 10000000, 3, &out);
    ok(status == MT_SHARED_OK && !out.allowed && out.retry_after_ms > 9000 && out.retry_after_ms <= 10000 && out.reset_ms > 29000,
       "the 4th is refused: retry after one interval (%.0f ms), full after three (%.0f ms)", out.retry_after_ms,
       out.reset_ms);
    mt_shared_dict_limit(d, KEY("other"), 10000000, 3, &out);
    ok(out.allowed && out.remaining == 2, "another key has its own bucket");
    mt_shared_dict_limit(d, KEY("quick"), 20000, 1, &out);
    ok(out.allowed, "a bucket of 1 refilled every 20 ms lets one through");
    mt_shared_dict_limit(d, KEY("quick"), 20000, 1, &out);
    ok(!out.allowed, "... then refuses");
    double started = now_ms();
    do {
        wait_ms(2);
        mt_shared_dict_limit(d, KEY("quick"), 20000, 1, &out);
    } while (!out.allowed && now_ms() - started < 5000);
    double took = now_ms() - started;
    ok(out.allowed && took >= 10, "... and lets one through again once it refilled (%.0f ms)", took);

    /* Counted in doubles of ms, a fresh bucket's sums rounded whenever now + interval crossed a power of two:
     * a quarter of the readings in the 300 s before 2^22 ms of uptime gave the first of 2 per 600 s 0 remaining. */
    int wrong = 0;
    for (int64_t now = (INT64_C(1) << 22) * 1000 - 300000000; now < (INT64_C(1) << 22) * 1000; now += 299993) {
        int64_t tat = mt_shared_gcra_step(0, now, 300000000, 2, &out);
        wrong += !out.allowed || out.remaining != 1 || out.reset_ms != 300000 || tat != now + 300000000;
        tat = mt_shared_gcra_step(tat, now + 1, 300000000, 2, &out);
        wrong += !out.allowed || out.remaining != 0;
        wrong += mt_shared_gcra_step(tat, now + 2, 300000000, 2, &out) != 0 || out.allowed;
        wrong += mt_shared_gcra_step(0, now, 333333, 1, &out) == 0 || out.remaining != 0;
    }
    ok(wrong == 0, "1,000 clock readings before 2^22 ms: 2 per 600 s lets 2 through (1, then 0 remaining), "
                   "a bucket of 1 its first (%d wrong)", wrong);
}

/* Processes increment one counter at once: no increment is lost. */
static void test_processes(mt_shared_zone_t *zone)
{
    char err[256];
    mt_shared_dict_t *d = mt_shared_dict_open(zone, "counters", 64 * 1024, err, sizeof(err));
    enum { PROCS = 4, EACH = 20000 };
    for (int p = 0; p < PROCS; p++) {
        if (fork() == 0) {
            double r, init = 0;
            char key[16];
            for (int i = 0; i < EACH; i++) {
                snprintf(key, sizeof(key), "k%d", i % 50); /* churn through entries too */
                mt_shared_dict_incr(d, KEY(key), 1, &init, 0, &r);
                mt_shared_dict_incr(d, KEY("total"), 1, &init, 0, &r);
            }
            _exit(0);
        }
    }
    int clean = 1, status;
    for (int p = 0; p < PROCS; p++)
        clean &= wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    ok(clean, "%d processes incremented and exited", PROCS);
    ok(get_is_num(d, "total", PROCS * EACH), "the shared counter is exactly %d", PROCS * EACH);
    ok(get_is_num(d, "k0", PROCS * EACH / 50), "and so is each of the 50 others");
    CONSISTENT(d, "after concurrent increments");
}

/*
 * A process dies holding the lock in the middle of replacing an entry: the
 * new copy committed, the old not yet freed, the index scribbled over. The
 * next process to lock repairs the dict and nobody waits.
 */
static void test_death_holding_the_lock(mt_shared_zone_t *zone)
{
    char err[256], key[16];
    mt_shared_dict_t *d = mt_shared_dict_open(zone, "robust", 64 * 1024, err, sizeof(err));
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        set_num(d, key, i, 0);
    }
    set_str(d, "replaced", "old value", 0);
    for (int i = 0; i < 100; i += 3) { /* leave holes between entries */
        snprintf(key, sizeof(key), "k%d", i);
        mt_shared_dict_delete(d, KEY(key));
    }
    pid_t pid = fork();
    if (pid == 0) {
        lock_dict(d);
        mt_shared_value_t v = {.type = MT_SHARED_STRING, .str = "new value", .len = 9};
        uint32_t at = alloc_entry(d, entry_chunks(8, &v), 0, now_ms());
        write_entry(d, at - 1, "replaced", 8, hash_key("replaced", 8), &v, 0);
        memset(buckets(d), 0xab, d->num_buckets * sizeof(uint32_t)); /* an index update cut short, at its worst */
        d->lru_head = 12345;
        d->free_lists[3] = 777;
        d->entries = 0;
        raise(SIGKILL); /* dies holding the lock */
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "a child died (SIGKILL) holding the lock mid-update");
    ok(get_is_str(d, "replaced", "new value"), "the next lock repairs the dict: the newer copy of the key wins");
    int intact = 1;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        intact &= i % 3 == 0 ? absent(d, key) : get_is_num(d, key, i);
    }
    ok(intact, "every other entry is intact, the deleted ones stay deleted");
    size_t entries, free_bytes;
    mt_shared_dict_stats(d, &entries, &free_bytes);
    ok(entries == 66 + 1, "the repaired count is right (%zu entries)", entries);
    CONSISTENT(d, "after the repair");
    for (int i = 0; i < 2000; i++) { /* and it keeps working, evicting included */
        snprintf(key, sizeof(key), "more%d", i);
        set_str(d, key, "some value to fill the dict", 0);
    }
    CONSISTENT(d, "after filling the repaired dict");

    pid = fork();
    if (pid == 0) {
        lock_dict(d);
        raise(SIGKILL);
    }
    waitpid(pid, &status, 0);
    double r, init = 0;
    ok(mt_shared_dict_incr(d, KEY("after"), 1, &init, 0, &r) == MT_SHARED_OK && r == 1,
       "a second death holding the lock wedges nobody either");
    CONSISTENT(d, "after the second repair");
}

int main(void)
{
    mt_log_level = MT_LOG_ERROR; /* the repair's warning is expected */
    mt_shared_zone_t *zone = mt_shared_zone_create(8 * 1024 * 1024);
    ok(zone != NULL, "the zone maps");
    test_values(zone);
    test_ttl(zone);
    test_eviction(zone);
    test_zone_limits();
    test_against_a_model(zone);
    test_limit(zone);
    test_processes(zone);
    test_death_holding_the_lock(zone);
    mt_shared_zone_destroy(zone);
    mt_buf_free(&copy);
    return tap_done();
}
