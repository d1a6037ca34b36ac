/*
 * Unit tests for src/shared_redis.c's value encoding: what a Redis dict
 * stores for a string, a number and a boolean, and that it reads back as the
 * same Lua type and value.
 */
#include <math.h>
#include <string.h>
#include "shared_redis.h"
#include "tap.h"

static int number_round_trips(double n, const char *want)
{
    char text[32];
    size_t len = mt_shared_redis_encode_number(n, text, sizeof(text));
    mt_shared_value_t v;
    int same = mt_shared_redis_decode(text, len, &v) == 0 && v.type == MT_SHARED_NUMBER &&
               (v.number == n || (isnan(n) && isnan(v.number)));
    return same && (want == NULL || (strlen(want) == len && memcmp(text, want, len) == 0));
}

int main(void)
{
    ok(number_round_trips(42, "42"), "an integer is stored as its digits");
    ok(number_round_trips(1.5, "1.5"), "a fraction as its shortest text");
    ok(number_round_trips(0.1 + 0.2, "0.30000000000000004"), "17 digits when 15 do not read back exactly");
    ok(number_round_trips(-1e300, NULL) && number_round_trips(HUGE_VAL, NULL) && number_round_trips(NAN, NULL),
       "large, infinite and NaN numbers read back");
    mt_shared_value_t v;
    ok(mt_shared_redis_decode("shello", 6, &v) == 0 && v.type == MT_SHARED_STRING && v.len == 5 &&
           memcmp(v.str, "hello", 5) == 0,
       "s + bytes is a string");
    ok(mt_shared_redis_decode("s", 1, &v) == 0 && v.type == MT_SHARED_STRING && v.len == 0, "s alone is \"\"");
    ok(mt_shared_redis_decode("s42", 3, &v) == 0 && v.type == MT_SHARED_STRING, "a string of digits stays a string");
    ok(mt_shared_redis_decode("b1", 2, &v) == 0 && v.type == MT_SHARED_BOOLEAN && v.number == 1 &&
           mt_shared_redis_decode("b0", 2, &v) == 0 && v.type == MT_SHARED_BOOLEAN && v.number == 0,
       "b1 and b0 are true and false");
    ok(mt_shared_redis_decode("hello", 5, &v) != 0 && mt_shared_redis_decode("", 0, &v) != 0 &&
           mt_shared_redis_decode("12abc", 5, &v) != 0 && mt_shared_redis_decode("b2", 2, &v) != 0,
       "anything else was not written by moontide");
    return tap_done();
}
