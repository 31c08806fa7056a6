/* fuzz_expect.c -- a libFuzzer target for the expectation parser
 * (scenarios/expect.c): the words, quotes, numbers and units of one
 * --expect string; an expectation that parses is then prepared against a
 * small scenario and checked after a run, so every verdict is formatted.
 *
 * Every input must either parse (the message left empty, one more
 * expectation in the set) or be refused with RC_EINVAL and one line naming
 * --expect; the same for prepare; verdicts are one line each.  Anything else
 * aborts, as do the sanitizers. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "scenario_file.h"
#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SCENARIO[] =
    "{\"services\": [{\"name\": \"api\", \"concurrent\": 2}, {\"name\": \"my api\"}],"
    " \"tasks\": [{\"name\": \"fetch\", \"service\": \"api\", \"latency_ms\": 10},"
    "            {\"name\": \"join\", \"service\": \"my api\", \"latency_ms\": 5}],"
    " \"work\": [{\"task\": \"fetch\", \"label\": \"f_{i}\", \"produces\": [\"k/{i}\"], "
    "\"repeat\": 3},"
    "           {\"task\": \"join\", \"label\": \"join\", \"needs\": [\"k/0\", \"k/2\", \"x\"]}]}";

static void fail(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_expect: %s ('%s')\n", what, msg);
    abort();
}

static void check_line(const char *what, const char *msg)
{
    for (const char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20) fail(what, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    expect_set *set = expect_set_new();
    if (!set) abort();
    char err[512] = "x";
    int rc = expect_add(set, text, "--expect", err, sizeof err);
    if (rc == 0) {
        if (*err) fail("a parse succeeded with a message", err);
        if (expect_count(set) != 1) fail("a parse added no expectation", text);
    } else {
        if (rc != RC_EINVAL && rc != RC_ENOMEM) fail("a parse failed with an unexpected code", err);
        if (strncmp(err, "--expect: ", 10) != 0) fail("a message does not name --expect", err);
        check_line("a message is not one line", err);
        if (expect_count(set) != 0) fail("a refused expectation was added", text);
    }
    if (rc == 0) {
        sim_config cfg;
        sim_config_defaults(&cfg);
        cfg.seed = 1;
        sim *s = NULL;
        if (sim_new(&s, &cfg) || scenario_file_load_string(s, "f.json", SCENARIO, err, sizeof err))
            fail("the scenario does not load", err);
        rc = expect_prepare(set, s, true, err, sizeof err);
        if (rc) {
            if (strncmp(err, "--expect: ", 10) != 0) fail("a prepare message lacks --expect", err);
            check_line("a prepare message is not one line", err);
        } else {
            int out = sim_run(s);
            if (out != SIM_STALLED) fail("the scenario did not stall", "");
            expect_check(set, s);
            for (size_t i = 0; i < expect_count(set); i++) {
                expect_result r = expect_get(set, i);
                if (!r.checked) fail("an expectation was not checked", r.text);
                check_line("a verdict is not one line", r.expected);
                check_line("a verdict is not one line", r.actual);
            }
        }
        sim_free(s);
    }
    expect_set_free(set);
    free(text);
    return 0;
}
