/* junit.c -- JUnit XML; see junit.h. */
#include "junit.h"

#include <math.h>
#include <stdint.h>

#include "runcue.h"
#include "utf8.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

void sim_junit_escape(FILE *out, const char *s, int attr)
{
    if (!s) return;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned char c = *p;
        size_t n = sim_utf8_seq_len(p);
        if (n == 0) { /* not UTF-8: one byte becomes one U+FFFD */
            fputs(REPLACEMENT, out);
            p++;
            continue;
        }
        if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
            fputs(REPLACEMENT, out); /* U+FFFE, U+FFFF: not XML characters */
            p += 3;
            continue;
        }
        if (n > 1) {
            fwrite(p, 1, n, out);
            p += n;
            continue;
        }
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        case '\t':
            fputs(attr ? "&#9;" : "\t", out);
            break;
        case '\n':
            fputs(attr ? "&#10;" : "\n", out);
            break;
        case '\r':
            fputs("&#13;", out);
            break;
        default:
            if (c < 0x20)
                fputs(REPLACEMENT, out);
            else
                fputc(c, out);
        }
        p++;
    }
}

/* A time as seconds with 6 decimals, without printf's locale. */
static void put_time(FILE *out, double t)
{
    if (!isfinite(t) || t < 0) t = 0;
    if (t > 1e12) t = 1e12;
    uint64_t us = (uint64_t)llround(t * 1e6);
    fprintf(out, "%llu.%06llu", (unsigned long long)(us / 1000000),
            (unsigned long long)(us % 1000000));
}

static void count(const sim_junit_suite *s, size_t *failures, size_t *errors)
{
    for (size_t i = 0; i < s->n_cases; i++) {
        if (s->cases[i].error)
            (*errors)++;
        else if (s->cases[i].failure)
            (*failures)++;
    }
}

static void put_counts(FILE *out, size_t tests, size_t failures, size_t errors, double time_s)
{
    fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\"", tests, failures, errors);
    fputs(" time=\"", out);
    put_time(out, time_s);
    fputc('"', out);
}

/* <failure> or <error>: the message attribute and the same text inside. */
static void put_problem(FILE *out, const char *tag, const char *type, const char *text)
{
    fprintf(out, "      <%s message=\"", tag);
    sim_junit_escape(out, text, 1);
    fprintf(out, "\" type=\"%s\">", type);
    sim_junit_escape(out, text, 0);
    fprintf(out, "</%s>\n", tag);
}

static void put_case(FILE *out, const sim_junit_suite *s, const sim_junit_case *c)
{
    fputs("    <testcase name=\"", out);
    sim_junit_escape(out, c->name ? c->name : "", 1);
    fputs("\" classname=\"", out);
    sim_junit_escape(out, c->classname ? c->classname : s->name ? s->name : "", 1);
    fputs("\" time=\"", out);
    put_time(out, c->time_s);
    fputc('"', out);
    if (!c->error && !c->failure && !c->output) {
        fputs("/>\n", out);
        return;
    }
    fputs(">\n", out);
    if (c->error)
        put_problem(out, "error", "error", c->error);
    else if (c->failure)
        put_problem(out, "failure", "failure", c->failure);
    if (c->output) {
        fputs("      <system-out>", out);
        sim_junit_escape(out, c->output, 0);
        fputs("</system-out>\n", out);
    }
    fputs("    </testcase>\n", out);
}

int sim_junit_write(FILE *out, const char *name, const sim_junit_suite *suites, size_t n)
{
    if (!out) return RC_EINVAL;
    size_t tests = 0, failures = 0, errors = 0;
    double time_s = 0;
    for (size_t i = 0; i < n; i++) {
        tests += suites[i].n_cases;
        count(&suites[i], &failures, &errors);
        if (isfinite(suites[i].time_s) && suites[i].time_s > 0) time_s += suites[i].time_s;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"", out);
    sim_junit_escape(out, name ? name : "", 1);
    fputc('"', out);
    put_counts(out, tests, failures, errors, time_s);
    fputs(">\n", out);
    for (size_t i = 0; i < n; i++) {
        const sim_junit_suite *s = &suites[i];
        size_t f = 0, e = 0;
        count(s, &f, &e);
        fputs("  <testsuite name=\"", out);
        sim_junit_escape(out, s->name ? s->name : "", 1);
        fputc('"', out);
        put_counts(out, s->n_cases, f, e, s->time_s);
        fputs(" skipped=\"0\">\n", out);
        for (size_t k = 0; k < s->n_cases; k++)
            put_case(out, s, &s->cases[k]);
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
    return ferror(out) ? RC_ESYS : 0;
}
