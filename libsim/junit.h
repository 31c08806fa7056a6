/* junit.h -- test results as JUnit XML, the format CI test reporters read
 * (GitLab, Jenkins, GitHub's test-report actions): the Ant/Jenkins schema,
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <testsuites name=".." tests="N" failures="F" errors="E" time="S">
 *     <testsuite name=".." tests="N" failures="F" errors="E" skipped="0" time="S">
 *       <testcase name=".." classname=".." time="S">
 *         <failure message="one line" type="expectation">the text</failure>
 *       </testcase>
 *     </testsuite>
 *   </testsuites>
 *
 * Every string is hostile and is escaped: markup characters become entities,
 * tabs, newlines and carriage returns in attributes become character
 * references, and what XML 1.0 cannot hold at all (other control characters,
 * bytes that are not valid UTF-8, U+FFFE and U+FFFF) becomes U+FFFD, so the
 * output is always well-formed UTF-8.  Times are written with 6 decimals
 * whatever the locale.  Pure: writes only to the caller's FILE; any thread,
 * one FILE at a time.
 */
#ifndef SIM_JUNIT_H
#define SIM_JUNIT_H

#include <stddef.h>
#include <stdio.h>

typedef struct sim_junit_case {
    const char *name;      /* NULL: "" */
    const char *classname; /* NULL: the suite's name */
    const char *failure;   /* NULL: passed; else why it failed */
    const char *error;     /* NULL, or why the test could not run at all */
    const char *output;    /* NULL, or text for <system-out> */
    double time_s;         /* < 0 or not finite: 0 */
} sim_junit_case;

typedef struct sim_junit_suite {
    const char *name;
    const sim_junit_case *cases;
    size_t n_cases;
    double time_s;
} sim_junit_suite;

/* Write one document holding suites[0, n) to out.  Returns 0, or RC_ESYS if
 * the FILE reported an error (RC_EINVAL for a NULL out).  Does not close
 * out. */
int sim_junit_write(FILE *out, const char *name, const sim_junit_suite *suites, size_t n);

/* Write s to out escaped as XML text (attr: as an attribute value).  For
 * other XML writers and the tests. */
void sim_junit_escape(FILE *out, const char *s, int attr);

#endif
