/*
 * fuzz_cluster.c -- the simulated cluster's parsers on arbitrary bytes:
 * a scenario file's "cluster" section (input starting with '{'), or else
 * runcue-sim's --cluster shape and --faults list (the input split at its
 * first NUL).  Every input is accepted into a configuration that holds to
 * the limits, or refused with a one-line message.
 */
#include <stdbool.h>
#include <string.h>

#include "cluster.h"
#include "fuzz.h"
#include "scenario_file.h"
#include "sim.h"

/* One line.  strict: no DEL or UTF-8 C1 either (the spec parsers' own
 * quoting; a scenario file's messages quote its keys as the loader does
 * for every file, C0 made harmless). */
static void check_message(const char *err, bool strict)
{
    CHECK(*err);
    for (const char *p = err; *p; p++) {
        CHECK((unsigned char)*p >= 0x20);
        if (!strict) continue;
        CHECK((unsigned char)*p != 0x7f);
        CHECK(!((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] >= 0x80 &&
                (unsigned char)p[1] <= 0x9f));
    }
}

static void check_config(const cluster_config *cc)
{
    CHECK(cc->schedulers >= 1 && cc->agents >= 1);
    CHECK(cc->n_services <= CLUSTER_MAX_SERVICES);
    CHECK(cc->n_faults <= CLUSTER_MAX_FAULTS);
    for (size_t i = 0; i < cc->n_faults; i++) {
        const cluster_fault *f = &cc->faults[i];
        if (f->kind != CF_ENGINE_RESTART)
            CHECK(f->target >= 1 && f->target <= (f->scheduler ? cc->schedulers : cc->agents));
        CHECK(f->at_s >= 0 && f->for_s >= 0 && f->loss_s >= 0);
        /* A fault as the spec writes it reads back as the same fault. */
        char text[128], again[128], err[256];
        cluster_fault_format(f, text, sizeof text);
        cluster_config back = *cc;
        back.n_faults = 0;
        CHECK(cluster_parse_faults(&back, text, err, sizeof err) == 0);
        CHECK(back.n_faults == 1);
        cluster_fault_format(&back.faults[0], again, sizeof again);
        CHECK(strcmp(text, again) == 0);
    }
    for (size_t i = 0; i < cc->n_services; i++)
        CHECK(memchr(cc->services[i].name, '\0', sizeof cc->services[i].name) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char err[512] = "";
    cluster_config cc;
    cluster_config_defaults(&cc);
    if (size && data[0] == '{') {
        sim_config cfg;
        sim_config_defaults(&cfg);
        bool is_cluster = false;
        const int rc = scenario_file_load_cluster_buffer("fuzz.json", (const char *)data, size,
                                                         &cfg, &cc, &is_cluster, err, sizeof err);
        if (rc) {
            CHECK(rc == RC_EINVAL || rc == RC_ENOMEM);
            check_message(err, false);
            CHECK(strncmp(err, "fuzz.json", 9) == 0);
        } else if (is_cluster) {
            check_config(&cc);
        }
        return 0;
    }
    char *buf = malloc(size + 2);
    CHECK(buf != NULL);
    if (size) memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    const char *shape = buf, *faults = buf + strlen(buf) + 1;
    if (faults > buf + size) faults = buf + size + 1;
    int rc = *shape ? cluster_parse_shape(&cc, shape, err, sizeof err) : 0;
    if (rc) {
        check_message(err, true);
    } else {
        rc = cluster_parse_faults(&cc, faults, err, sizeof err);
        if (rc)
            check_message(err, true);
        else
            check_config(&cc);
    }
    free(buf);
    return 0;
}
