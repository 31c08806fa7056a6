/* sim_check.h -- runcue-sim's regression checks: reporting a run's
 * expectations (one line per broken one, JUnit test cases), and --check, a
 * batch of scenario files run in parallel with their expectations and
 * seeds.  Used by runcue_sim.c on the main thread. */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "expect.h"
#include "junit.h"
#include "sim.h"

/* Exit statuses of runcue-sim (README, "Regression-test your pipeline"). */
enum {
    EXIT_USAGE = 2,   /* bad input: options, scenario files, expectations */
    EXIT_STALLED = 3, /* a stall no expectation asked for */
    EXIT_BROKEN = 4,  /* an expectation did not hold */
    EXIT_GOLDEN = 5,  /* the event log differs from --golden FILE */
};

/* One line on out per broken expectation of a checked set:
 * "PREFIXORIGIN: TEXT: expected X, got Y". */
void check_print_broken(FILE *out, const expect_set *set, const char *prefix);

/* JUnit test cases for a checked set, one per expectation, appended to
 * *cases (grown with realloc; *n counts them).  Names are "TEXT" plus
 * suffix (may be ""); classname is borrowed, the rest is allocated: release
 * everything with check_cases_free.  0 or RC_ENOMEM. */
int check_junit_cases(const expect_set *set, const char *classname, const char *suffix,
                      sim_junit_case **cases, size_t *n);
void check_cases_free(sim_junit_case *cases, size_t n);

/* Write a JUnit document to path.  0, or -1 with a message on stderr. */
int check_write_junit(const char *path, const sim_junit_suite *suites, size_t n);

/*
 * runcue-sim --check PATH...: every scenario file (a directory stands for the
 * *.json files in it, sorted by name) is run once per seed it lists (else
 * seed_given ? base->seed : 1) with its expectations and the defaults, on
 * as many threads as there are cores.  Prints one line per file in the
 * order given, writes junit_path (if not NULL) with one suite per file, and
 * returns the exit status: EXIT_USAGE if a file could not be loaded, else
 * EXIT_BROKEN if an expectation broke, else 0.
 */
int check_main(const sim_config *base, bool seed_given, char *const *paths, size_t n_paths,
               const char *junit_path);

#endif
