/* criterion.h -- a stand-in for Criterion's header in the ThreadSanitizer
 * build (tests/tsan/).  Criterion's runner forks each test and maps an
 * arena at a fixed address, which TSan's shadow memory refuses, so under
 * TSan the same test files are compiled against this header and run one
 * after another in one process by runner.c.  Only what those tests use is
 * here: Test, TestSuite (its options are meson's business) and the cr_assert
 * family, whose messages are printed when an assertion fails, which ends
 * the run. */
#ifndef TSAN_CRITERION_SHIM_H
#define TSAN_CRITERION_SHIM_H
/* Like the real one, a system header: its macros may be called without a
 * message (C11 wants at least one argument for a "..."). */
#pragma GCC system_header

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Register a test; called from constructors, before main. */
void tsan_register(const char *suite, const char *name, void (*fn)(void));
/* Report a failed assertion (cond as written, then the test's message)
 * and end the run with status 1. */
_Noreturn void tsan_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define TestSuite(suite, ...) _Static_assert(1, #suite)
#define Test(suite, name, ...)                                                                     \
    static void suite##_##name(void);                                                              \
    __attribute__((constructor)) static void register_##suite##_##name(void)                       \
    {                                                                                              \
        tsan_register(#suite, #name, suite##_##name);                                              \
    }                                                                                              \
    static void suite##_##name(void)

/* The message, if any, is a string literal and its arguments. */
#define cr_assert(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) tsan_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                       \
    } while (0)
#define cr_assert_not(cond, ...) cr_assert(!(cond), __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) cr_assert(strcmp((a), (b)) != 0, __VA_ARGS__)
#define cr_assert_fail(...) cr_assert(false, __VA_ARGS__)

#endif
