/* expect.h -- what must hold at the end of a run: expectations, written as
 * short sentences in a scenario file's "expect" section or with runcue-sim
 * --expect, checked against the run's results.
 *
 *   no stall | stall | stall cycle A B ... | stall missing KEY | stall failed LABEL
 *   [service NAME] METRIC OP NUMBER[UNIT]         OP: < <= > >= == (=) !=
 *       METRIC: submitted completed failed skipped cancelled pending running
 *               retries invalidations violations peak_in_flight duration
 *               throughput queue_wait.p50|p95|p99 run_time.p50|p95|p99
 *       UNIT:   s or ms for times, /s for throughput, none for counts
 *   label X starts|completes before|after T        (T: 2.5, 2.5s, 2500ms, t=2.5)
 *   label X starts|completes before|after [label] Y starts|completes
 *
 * Names with spaces or operator characters are quoted, '...' or "...".
 * "X completes before T" means every work labelled X completed, the last at
 * or before T; "X starts after Y completes" means no X started before the
 * last Y completed.  The grammar is in SCENARIO_FILES.md ("Expectations").
 *
 * Three steps: parse (expect_add, expect_add_json: syntax and metric names,
 * before any sim exists), prepare (expect_prepare: the names of labels and
 * services checked against the built sim, which is told what to keep), and
 * check (expect_check, after the run).  Errors are one line each.
 *
 * A set is used from one thread at a time; it owns copies of everything.
 */
#ifndef EXPECT_H
#define EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sim.h"

/* Bounds on hostile input. */
#define EXPECT_TEXT_MAX 1024 /* bytes in one expectation */
#define EXPECT_MAX 1000      /* expectations in one set */
#define EXPECT_SEEDS_MAX 1000
#define EXPECT_NAMES_MAX 64 /* names in one "stall cycle" */

typedef struct expect_set expect_set;

/* A new empty set (NULL: no memory); free with expect_set_free (NULL ok). */
expect_set *expect_set_new(void);
void expect_set_free(expect_set *set);

/*
 * Parse one expectation and add it.  origin (e.g. "--expect" or
 * "plan.json: expect[2]") names it in messages; both strings are copied.
 * Returns 0, RC_EINVAL with a one-line message in err ("ORIGIN: 'TEXT':
 * unknown metric 'completd' (did you mean 'completed'?)"), or RC_ENOMEM.
 */
int expect_add(expect_set *set, const char *text, const char *origin, char *err, size_t errlen);

/*
 * Add a scenario file's "expect" member: an array of expectation strings, or
 * an object {"seeds": [N, ...], "checks": [...]}.  file names the file in
 * messages ("FILE: expect.checks[1]: ...").  Returns as expect_add.
 */
int expect_add_json(expect_set *set, const cJSON *v, const char *file, char *err, size_t errlen);

/* Move what src holds (expectations and seeds) to the end of dst; src is
 * left empty.  0 or RC_ENOMEM (then nothing moved). */
int expect_merge(expect_set *dst, expect_set *src);

/* How many expectations (defaults included once prepared). */
size_t expect_count(const expect_set *set);
/* The seeds a scenario file asked for, in file order (none: 0). */
size_t expect_seeds(const expect_set *set, const uint64_t **seeds);

/*
 * Before the run: check every label and service named against s (unknown
 * ones are an error with a did-you-mean) and ask s to keep what the checks
 * will need (labels' times, services' percentiles, nothing else).  With
 * defaults, add "no stall" and "violations == 0" unless the set says
 * something about them.  Prepare a set once, for one sim.  0, RC_EINVAL
 * (message in err) or RC_ENOMEM.
 */
int expect_prepare(expect_set *set, sim *s, bool defaults, char *err, size_t errlen);

/* After the run (sim_run or sim_finish): check every expectation against
 * s's results.  Returns how many are broken. */
size_t expect_check(expect_set *set, sim *s);

/* One expectation and, once checked, its verdict.  Strings belong to the
 * set. */
typedef struct expect_result {
    const char *text;   /* as written */
    const char *origin; /* "--expect", "FILE: expect[2]", "default" */
    bool checked, held;
    const char *expected; /* "<= 1.5", "no stall", ... */
    const char *actual;   /* "2.104", "a stall at t=0.461s (cycle A -> B)" */
} expect_result;

/* The i-th expectation, 0 <= i < expect_count(set). */
expect_result expect_get(const expect_set *set, size_t i);

#endif
