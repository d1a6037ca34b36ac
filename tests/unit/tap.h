/*
 * A minimal TAP producer for the C unit tests: one "ok N - what" or
 * "not ok N - what" line per check, the plan at the end. tests/runner.py
 * counts these lines.
 */
#ifndef MT_TAP_H
#define MT_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 4, 5))) static int tap_check(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list args;
    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    if (!pass) {
        printf(" (at %s:%d)", file, line);
        tap_failures++;
    }
    printf("\n");
    return pass;
}

#define ok(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failures != 0;
}

#endif
