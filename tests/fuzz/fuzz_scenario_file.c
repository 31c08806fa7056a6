/* fuzz_scenario_file.c -- a libFuzzer target for the scenario-file loader:
 * the strict JSON check, cJSON, the schema checks and, for a file that
 * loads, a short run that expands the work templates.
 *
 * Every input must either load (the message buffer left empty) or fail
 * with RC_EINVAL and a one-line message naming the file; anything else
 * aborts, as do the sanitizers. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_file.h"
#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop with the input's verdict on stderr. */
static void fail(const char *what, int rc, const char *err)
{
    fprintf(stderr, "fuzz_scenario_file: %s (rc %d, message '%s')\n", what, rc, err);
    abort();
}

static void check_message(int rc, const char *err)
{
    if (rc != RC_EINVAL && rc != RC_ENOMEM) fail("a load failed with an unexpected code", rc, err);
    if (strncmp(err, "fuzz.json", 9) != 0) fail("a message does not name the file", rc, err);
    for (const char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20) fail("a message is not one line", rc, err);
}

/* Load data into a fresh sim; if it loads, run 50 ms of virtual time with
 * the work submitted at 1000 items a second, so a few dozen are expanded. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 1;
    cfg.submit_rate = 1000;
    cfg.duration_s = 0.05;
    sim *s = NULL;
    if (sim_new(&s, &cfg) != 0) abort();
    char err[512] = "x";
    int rc = scenario_file_load_buffer(s, "fuzz.json", data, size, err, sizeof err);
    if (rc) {
        check_message(rc, err);
    } else {
        if (*err) fail("a load succeeded with a message", rc, err);
        int out = sim_run(s);
        if (out != SIM_DONE && out != SIM_STALLED && out != SIM_CUT)
            fail("a loaded file ran to an unexpected outcome", out, "");
    }
    sim_free(s);
    return 0;
}
