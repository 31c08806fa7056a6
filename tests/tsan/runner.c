/* runner.c -- runs the tests registered through the stand-in criterion.h
 * (see there), in registration order, in this one process and on this one
 * thread, so ThreadSanitizer watches every thread the tests start.  Exits
 * 0 if all passed, 1 at the first failure. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "criterion/criterion.h"

enum { MAX_TESTS = 256 };

static struct {
    const char *suite, *name;
    void (*fn)(void);
} tests[MAX_TESTS];
static size_t n_tests;
static const char *current = "";

void tsan_register(const char *suite, const char *name, void (*fn)(void))
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "tsan runner: more than %d tests\n", MAX_TESTS);
        exit(1);
    }
    tests[n_tests].suite = suite;
    tests[n_tests].name = name;
    tests[n_tests++].fn = fn;
}

void tsan_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "[FAIL] %s: %s:%d: %s\n      ", current, file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

int main(void)
{
    static char label[256];
    for (size_t i = 0; i < n_tests; i++) {
        snprintf(label, sizeof label, "%s::%s", tests[i].suite, tests[i].name);
        current = label;
        tests[i].fn();
        printf("[PASS] %s\n", label);
        fflush(stdout);
    }
    printf("[====] Synthesis: Tested: %zu | Passing: %zu | Failing: 0 | Crashing: 0\n", n_tests,
           n_tests);
    return n_tests ? 0 : 1;
}
