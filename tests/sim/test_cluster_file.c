/* test_cluster_file.c -- the "cluster" section of scenario files
 * (scenario_file_load_cluster): the example loads into the configuration it
 * says, a file without the section is left alone, the one-cue loader
 * refuses the section, and each mistake gets its one-line message. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "scenario_file.h"

static int load(const char *json, cluster_config *cc, bool *is, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cluster-file-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(json, f);
    fclose(f);
    sim_config cfg;
    sim_config_defaults(&cfg);
    int rc = scenario_file_load_cluster(path, &cfg, cc, is, err, errlen);
    unlink(path);
    return rc;
}

Test(cluster_file, the_example_loads)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cluster_config cc;
    bool is;
    char err[512];
    int rc = scenario_file_load_cluster(SOURCE_ROOT "/scenarios/examples/cluster.json", &cfg, &cc,
                                        &is, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(is);
    cr_assert_eq(cc.schedulers, 2);
    cr_assert_eq(cc.agents, 4);
    cr_assert_eq(cc.slots, 3);
    cr_assert_eq(cc.count, 240);
    cr_assert_float_eq(cc.link_latency_ms, 2, 1e-9);
    cr_assert_eq(cc.n_services, 2);
    cr_assert_str_eq(cc.services[0].name, "api");
    cr_assert_eq(cc.services[0].concurrent, 6);
    cr_assert_eq(cc.services[0].rate_count, 20);
    cr_assert_float_eq(cc.services[0].rate_window_s, 1, 1e-9);
    cr_assert_eq(cc.services[1].max_deliveries, 5);
    cr_assert_float_eq(cc.services[1].latency_ms, 600, 1e-9);
    cr_assert_float_eq(cc.services[1].jitter, cfg.jitter, 1e-9); /* left out: the command line's */
    cr_assert_eq(cc.n_faults, 4);
    cr_assert_eq(cc.faults[1].kind, CF_PAUSE);
    cr_assert_float_eq(cc.faults[3].loss_s, 1, 1e-9);
}

Test(cluster_file, defaults_and_no_section)
{
    cluster_config cc;
    bool is;
    char err[512];
    cr_assert_eq(
        load("{\"cluster\": {\"services\": [{\"name\": \"a\"}]}}", &cc, &is, err, sizeof err), 0,
        "%s", err);
    cr_assert(is);
    cr_assert_eq(cc.schedulers, 2);
    cr_assert_eq(cc.agents, 4);
    cr_assert_eq(cc.services[0].concurrent, -1);
    cr_assert_eq(cc.services[0].rate_count, 0);
    cr_assert_eq(cc.n_faults, 0);
    cr_assert_eq(load("{\"tasks\": []}", &cc, &is, err, sizeof err), 0, "%s", err);
    cr_assert(!is);
}

Test(cluster_file, the_one_cue_loader_refuses_the_section)
{
    sim *s;
    sim_config cfg;
    sim_config_defaults(&cfg);
    cr_assert_eq(sim_new(&s, &cfg), 0);
    char err[512];
    int rc = scenario_file_load_string(
        s, "f.json", "{\"cluster\": {}, \"tasks\": [], \"work\": []}", err, sizeof err);
    cr_assert_eq(rc, RC_EINVAL);
    cr_assert(strstr(err, "f.json: cluster: a cluster scenario runs on the simulated cluster"),
              "%s", err);
    sim_free(s);
}

Test(cluster_file, mistakes_are_one_line)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"cluster\": 3}", "cluster: must be an object (got 3)"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\"}], \"slot\": 3}}",
         "cluster: unknown key 'slot' (did you mean 'slots'?)"},
        {"{\"cluster\": {}}", "missing required key 'cluster.services'"},
        {"{\"cluster\": {\"agents\": 0, \"services\": [{\"name\": \"a\"}]}}",
         "cluster.agents: must be a whole number from 1 to 48 (got 0)"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\", \"rate\": \"5/fortnight\"}]}}",
         "cluster.services[0].rate: bad rate '5/fortnight'"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\", \"lease_s\": 0}]}}",
         "cluster.services[0].lease_s: must be a number from 0.01 to 86400 (got 0)"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}}",
         "cluster.services[1]: service 'a' is declared twice"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\"}], \"faults\": \"crash:agent9@1s\"}}",
         "cluster.faults: 'crash:agent9@1s': no such agent"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\"}], \"faults\": 5}}",
         "cluster.faults: must be a fault list"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\"}]}, \"work\": []}", "unknown key 'work'"},
        {"{\"cluster\": {\"services\": [{\"name\": \"a\"}], \"work\": 1.5}}",
         "cluster.work: must be a whole number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cluster_config cc;
        bool is;
        char err[512];
        cr_assert_eq(load(cases[i].json, &cc, &is, err, sizeof err), RC_EINVAL, "%s",
                     cases[i].json);
        cr_assert(strstr(err, cases[i].want), "%s\n got: %s", cases[i].json, err);
        cr_assert(!strchr(err, '\n'), "%s", err);
    }
}
