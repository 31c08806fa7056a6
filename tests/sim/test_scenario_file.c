/* test_scenario_file.c -- the JSON scenario-file loader: valid files build the
 * expected services, tasks and work; every mistake gives a one-line message
 * naming the file, the place and the problem; no input crashes it. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario_file.h"
#include "scenarios.h"
#include "sim.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

/* ---- helpers ---- */

static sim *new_sim_with(const sim_config *cfg)
{
    sim *s = NULL;
    sim_config keep = *cfg;
    keep.keep_finished = true; /* the tests inspect finished work */
    cr_assert_eq(sim_new(&s, &keep), 0);
    cr_assert_not_null(s);
    return s;
}

static sim *new_sim(void)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 1;
    return new_sim_with(&cfg);
}

/* Load json into s; on success err is "". */
static int load(sim *s, const char *json, char *err, size_t errlen)
{
    return scenario_file_load_string(s, "test.json", json, err, errlen);
}

static void load_ok(sim *s, const char *json)
{
    char err[512] = "x";
    int rc = load(s, json, err, sizeof err);
    cr_assert_eq(rc, 0, "load failed: %s", err);
    cr_assert_str_eq(err, "");
}

/* A nonempty message on one line. */
static bool is_one_line(const char *err)
{
    for (const char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20) return false;
    return *err != 0;
}

/* Loading json fails with RC_EINVAL and a one-line message naming the file
 * that holds want (and also, if not NULL).  A failure names the case, and
 * the checks after it still run. */
static void check_error(const char *name, const char *json, const char *want, const char *also)
{
    sim *s = new_sim();
    char err[512] = "";
    int rc = load(s, json, err, sizeof err);
    cr_expect_eq(rc, RC_EINVAL, "%s: expected an error for %s (got %d, '%s')", name, json, rc, err);
    cr_expect(is_one_line(err), "%s: message '%s' is not one line", name, err);
    cr_expect(strncmp(err, "test.json:", 10) == 0, "%s: message '%s' does not name the file", name,
              err);
    cr_expect(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", name, err, want);
    if (also) cr_expect(strstr(err, also) != NULL, "%s: message '%s' lacks '%s'", name, err, also);
    sim_free(s);
}

static void service(sim *s, size_t i, rc_service_info *out)
{
    cr_assert_eq(rc_service_get(sim_cue(s), i, out), 0, "no service %zu", i);
}

/* After sim_start: work id's task, label, needs and produces as one string
 * "task|label|n1,n2|p1,p2". */
static const char *describe(sim *s, rc_work_id id, char *buf, size_t n)
{
    const rc_work *w = rc_get(sim_cue(s), id);
    cr_assert_not_null(w, "no work %llu", (unsigned long long)id);
    const char *label = rc_work_label(w);
    int len = snprintf(buf, n, "%s|%s|", rc_work_task(w), label ? label : "-");
    const char *const *keys;
    size_t k = rc_work_needs(w, &keys);
    for (size_t i = 0; i < k; i++)
        len += snprintf(buf + len, n - (size_t)len, "%s%s", i ? "," : "", keys[i]);
    len += snprintf(buf + len, n - (size_t)len, "|");
    k = rc_work_produces(w, &keys);
    for (size_t i = 0; i < k; i++)
        len += snprintf(buf + len, n - (size_t)len, "%s%s", i ? "," : "", keys[i]);
    return buf;
}

static void assert_work(sim *s, rc_work_id id, const char *want)
{
    char buf[512];
    cr_assert_str_eq(describe(s, id, buf, sizeof buf), want, "work %llu", (unsigned long long)id);
}

/* A fresh directory for files; remove_tmpdir at the end of the test. */
static void make_tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/test_scenario_file.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_tmpdir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Write n bytes to dir/name; path receives the file's path. */
static void write_file(const char *dir, const char *name, const char *bytes, size_t n, char *path,
                       size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static const char MINIMAL[] = "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\"}]}";

/* ---- valid files ---- */

Test(scenario_file, a_minimal_file_has_one_task_and_one_work_item)
{
    sim *s = new_sim();
    load_ok(s, MINIMAL);
    cr_assert_eq(rc_service_count(sim_cue(s)), 0);
    cr_assert_eq(sim_start(s), 0);
    assert_work(s, 1, "t|-||");
    cr_assert_null(rc_get(sim_cue(s), 2));
    sim_free(s);
}

Test(scenario_file, the_diamond_example_builds_and_runs_to_the_end)
{
    sim *s = new_sim();
    char err[512] = "";
    int rc = scenario_file_load(s, SOURCE_ROOT "/scenarios/examples/diamond.json", err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    rc_service_info si;
    cr_assert_eq(rc_service_count(sim_cue(s)), 2);
    service(s, 0, &si);
    cr_assert_str_eq(si.name, "api");
    cr_assert_eq(si.concurrent, 2);
    cr_assert_eq(si.rate_count, 1);
    cr_assert_float_eq(si.rate_window, 1.0, 1e-9);
    service(s, 1, &si);
    cr_assert_str_eq(si.name, "local");
    cr_assert_eq(si.concurrent, RC_NO_LIMIT);
    cr_assert_eq(si.rate_count, 0);

    cr_assert_eq(sim_run(s), SIM_DONE);
    const sim_summary *sum = sim_get_summary(s);
    cr_assert_eq(sum->submitted, 4);
    cr_assert_eq(sum->completed, 4);
    cr_assert_eq(sum->pending, 0);
    cr_assert_eq(sum->violations, 0);
    sim_free(s);
}

Test(scenario_file, the_diamond_work_declares_its_keys)
{
    sim *s = new_sim();
    char err[512] = "";
    cr_assert_eq(
        scenario_file_load(s, SOURCE_ROOT "/scenarios/examples/diamond.json", err, sizeof err), 0,
        "%s", err);
    cr_assert_eq(sim_start(s), 0);
    assert_work(s, 1, "fetch|fetch_a|config|doc/a");
    assert_work(s, 2, "fetch|fetch_b|config|doc/b");
    assert_work(s, 3, "combine|combine|doc/a,doc/b|combined");
    assert_work(s, 4, "publish|publish|combined|published");
    cr_assert_str_eq(rc_work_service(rc_get(sim_cue(s), 1)), "api");
    cr_assert_str_eq(rc_work_service(rc_get(sim_cue(s), 3)), "local");
    sim_free(s);
}

Test(scenario_file, the_cycle_fixture_stalls_after_the_healthy_work)
{
    sim *s = new_sim();
    char err[512] = "";
    cr_assert_eq(
        scenario_file_load(s, SOURCE_ROOT "/fixtures/deadlock/cycle.json", err, sizeof err), 0,
        "%s", err);
    cr_assert_eq(sim_run(s), SIM_STALLED);
    const sim_summary *sum = sim_get_summary(s);
    cr_assert_eq(sum->submitted, 8);
    cr_assert_eq(sum->completed, 6);
    cr_assert_eq(sum->pending, 2);
    cr_assert(sum->stalled);
    sim_free(s);
}

Test(scenario_file, the_missing_producer_fixture_stalls_after_the_healthy_work)
{
    sim *s = new_sim();
    char err[512] = "";
    cr_assert_eq(scenario_file_load(s, SOURCE_ROOT "/fixtures/deadlock/missing_producer.json", err,
                                    sizeof err),
                 0, "%s", err);
    cr_assert_eq(sim_run(s), SIM_STALLED);
    const sim_summary *sum = sim_get_summary(s);
    cr_assert_eq(sum->submitted, 7);
    cr_assert_eq(sum->completed, 6);
    cr_assert_eq(sum->pending, 1);
    sim_free(s);
}

Test(scenario_file, the_fixtures_stall_whatever_the_command_line_error_rate)
{
    /* Their tasks set error_rate 0 themselves: -e does not change the shape. */
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 3;
    cfg.error_rate = 0.9;
    sim *s = new_sim_with(&cfg);
    char err[512] = "";
    cr_assert_eq(
        scenario_file_load(s, SOURCE_ROOT "/fixtures/deadlock/cycle.json", err, sizeof err), 0,
        "%s", err);
    cr_assert_eq(sim_run(s), SIM_STALLED);
    cr_assert_eq(sim_get_summary(s)->completed, 6);
    sim_free(s);
}

Test(scenario_file, service_limits_numbers_null_and_omitted)
{
    sim *s = new_sim();
    load_ok(s, "{\"services\": ["
               " {\"name\": \"a\", \"concurrent\": 3, \"rate\": \"20/1\"},"
               " {\"name\": \"b\", \"concurrent\": null, \"rate\": \"60/min\"},"
               " {\"name\": \"c\", \"rate\": null},"
               " {\"name\": \"d\", \"concurrent\": 1000000, \"rate\": \"5/0.5\"}],"
               " \"tasks\": [{\"name\": \"t\", \"service\": \"a\"}],"
               " \"work\": [{\"task\": \"t\"}]}");
    rc_service_info si;
    cr_assert_eq(rc_service_count(sim_cue(s)), 4);
    service(s, 0, &si);
    cr_assert_str_eq(si.name, "a");
    cr_assert_eq(si.concurrent, 3);
    cr_assert_eq(si.rate_count, 20);
    cr_assert_float_eq(si.rate_window, 1.0, 1e-9);
    service(s, 1, &si);
    cr_assert_eq(si.concurrent, RC_NO_LIMIT);
    cr_assert_eq(si.rate_count, 60);
    cr_assert_float_eq(si.rate_window, 60.0, 1e-9);
    service(s, 2, &si);
    cr_assert_eq(si.concurrent, RC_NO_LIMIT);
    cr_assert_eq(si.rate_count, 0);
    service(s, 3, &si);
    cr_assert_eq(si.concurrent, 1000000);
    cr_assert_eq(si.rate_count, 5);
    cr_assert_float_eq(si.rate_window, 0.5, 1e-9);
    sim_free(s);
}

Test(scenario_file, cli_limits_come_from_the_config)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.concurrent = 7;
    cfg.rate_count = 30;
    cfg.rate_window_s = 60;
    sim *s = new_sim_with(&cfg);
    load_ok(s, "{\"services\": [{\"name\": \"api\", \"concurrent\": \"cli\", \"rate\": \"cli\"}],"
               " \"tasks\": [{\"name\": \"t\", \"service\": \"api\"}],"
               " \"work\": [{\"task\": \"t\"}]}");
    rc_service_info si;
    service(s, 0, &si);
    cr_assert_eq(si.concurrent, 7);
    cr_assert_eq(si.rate_count, 30);
    cr_assert_float_eq(si.rate_window, 60.0, 1e-9);
    sim_free(s);
}

Test(scenario_file, a_cli_rate_without_a_rate_limit_option_is_no_limit)
{
    sim *s = new_sim(); /* the defaults: -c 5, no -r */
    load_ok(s, "{\"services\": [{\"name\": \"api\", \"concurrent\": \"cli\", \"rate\": \"cli\"}],"
               " \"tasks\": [{\"name\": \"t\", \"service\": \"api\"}],"
               " \"work\": [{\"task\": \"t\"}]}");
    rc_service_info si;
    service(s, 0, &si);
    cr_assert_eq(si.concurrent, 5);
    cr_assert_eq(si.rate_count, 0);
    sim_free(s);
}

/* Run a one-item file and return the p50 run time in seconds. */
static double run_time_of(const sim_config *cfg, const char *task_json, uint64_t *failed)
{
    sim *s = new_sim_with(cfg);
    char json[512];
    snprintf(json, sizeof json, "{\"tasks\": [%s], \"work\": [{\"task\": \"t\", \"repeat\": 20}]}",
             task_json);
    load_ok(s, json);
    cr_assert_eq(sim_run(s), SIM_DONE);
    const sim_summary *sum = sim_get_summary(s);
    double p50 = sum->run_time_s.p50;
    if (failed) *failed = sum->failed;
    sim_free(s);
    return p50;
}

Test(scenario_file, task_profiles_default_to_the_config)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 5;
    cfg.latency_ms = 123;
    cfg.jitter = 0;
    cfg.outlier_chance = 0;
    uint64_t failed;
    cr_assert_float_eq(run_time_of(&cfg, "{\"name\": \"t\"}", &failed), 0.123, 1e-6);
    cr_assert_eq(failed, 0);
    /* The file's own numbers win. */
    cr_assert_float_eq(run_time_of(&cfg, "{\"name\": \"t\", \"latency_ms\": 40}", NULL), 0.040,
                       1e-6);
    /* -e 1: every attempt fails, unless the task says otherwise. */
    cfg.error_rate = 1;
    run_time_of(&cfg, "{\"name\": \"t\"}", &failed);
    cr_assert_eq(failed, 20);
    run_time_of(&cfg, "{\"name\": \"t\", \"error_rate\": 0}", &failed);
    cr_assert_eq(failed, 0);
    /* Outliers: always, times 3 x U(0.8, 1.5). */
    cfg.error_rate = 0;
    double t = run_time_of(
        &cfg, "{\"name\": \"t\", \"latency_ms\": 100, \"outliers\": 1, \"outlier_mult\": 3}", NULL);
    cr_assert(t >= 0.24 - 1e-9 && t <= 0.45 + 1e-9, "outlier run time %g", t);
    /* Jitter from the file: +/- 50%. */
    t = run_time_of(&cfg, "{\"name\": \"t\", \"latency_ms\": 100, \"jitter\": 0.5}", NULL);
    cr_assert(t >= 0.05 - 1e-9 && t <= 0.15 + 1e-9, "jittered run time %g", t);
}

Test(scenario_file, repeat_substitutes_the_index)
{
    sim *s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\"}, {\"name\": \"u\"}],"
               " \"work\": ["
               "  {\"task\": \"u\", \"label\": \"first {i}\"},"
               "  {\"task\": \"t\", \"label\": \"item_{i4}\", \"needs\": [\"in/{i}\", \"fixed\"],"
               "   \"produces\": [\"out/{i}/{i4}/{i}\"], \"repeat\": 3},"
               "  {\"task\": \"u\", \"produces\": [\"{i}{i}{i4}{x}{i\"], \"repeat\": 2},"
               "  {\"task\": \"u\", \"label\": \"same\", \"repeat\": 2}]}");
    cr_assert_eq(sim_start(s), 0);
    /* Without "repeat" the text is taken as it is. */
    assert_work(s, 1, "u|first {i}||");
    assert_work(s, 2, "t|item_0000|in/0,fixed|out/0/0000/0");
    assert_work(s, 3, "t|item_0001|in/1,fixed|out/1/0001/1");
    assert_work(s, 4, "t|item_0002|in/2,fixed|out/2/0002/2");
    assert_work(s, 5, "u|-||000000{x}{i");
    assert_work(s, 6, "u|-||110001{x}{i");
    assert_work(s, 7, "u|same||");
    assert_work(s, 8, "u|same||");
    cr_assert_null(rc_get(sim_cue(s), 9));
    sim_free(s);
}

Test(scenario_file, repeat_pads_to_four_digits_and_grows_past_them)
{
    sim *s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\"}],"
               " \"work\": [{\"task\": \"t\", \"label\": \"{i4}:{i}\", \"repeat\": 12345}]}");
    cr_assert_eq(sim_start(s), 0);
    assert_work(s, 1, "t|0000:0||");
    assert_work(s, 10, "t|0009:9||");
    assert_work(s, 12345, "t|12344:12344||");
    cr_assert_null(rc_get(sim_cue(s), 12346));
    sim_free(s);
}

Test(scenario_file, repeat_runs_to_the_end_with_a_submit_rate)
{
    /* The workload is generated as it is due: same items, spaced in time. */
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 2;
    cfg.submit_rate = 100;
    sim *s = new_sim_with(&cfg);
    load_ok(s, "{\"tasks\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
               " \"work\": [{\"task\": \"a\", \"produces\": [\"k{i}\"], \"repeat\": 50},"
               "  {\"task\": \"b\", \"needs\": [\"k{i}\"], \"repeat\": 50}]}");
    cr_assert_eq(sim_run(s), SIM_DONE);
    const sim_summary *sum = sim_get_summary(s);
    cr_assert_eq(sum->submitted, 100);
    cr_assert_eq(sum->completed, 100);
    cr_assert(sum->duration_s >= 0.99, "duration %g", sum->duration_s);
    sim_free(s);
}

Test(scenario_file, ten_million_items_load_without_expanding_them)
{
    sim *s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\"}],"
               " \"work\": [{\"task\": \"t\", \"label\": \"{i}\", \"repeat\": 9999999},"
               "  {\"task\": \"t\"}]}");
    sim_free(s);
}

Test(scenario_file, inputs_are_valid_from_the_start)
{
    sim *s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\"}], \"inputs\": [\"in/a\", \"in/b\"],"
               " \"work\": [{\"task\": \"t\", \"needs\": [\"in/a\", \"in/b\"], \"repeat\": 3}]}");
    cr_assert_eq(sim_run(s), SIM_DONE);
    cr_assert_eq(sim_get_summary(s)->completed, 3);
    sim_free(s);

    /* Without them the same work waits forever. */
    s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\"}],"
               " \"work\": [{\"task\": \"t\", \"needs\": [\"in/a\", \"in/b\"], \"repeat\": 3}]}");
    cr_assert_eq(sim_run(s), SIM_STALLED);
    sim_free(s);
}

Test(scenario_file, name_description_empty_arrays_and_a_byte_order_mark_are_fine)
{
    sim *s = new_sim();
    load_ok(s, "\xEF\xBB\xBF{\"name\": \"n\", \"description\": \"multi\\nline\","
               " \"services\": [], \"inputs\": [],"
               " \"tasks\": [{\"name\": \"t\"}],"
               " \"work\": [{\"task\": \"t\", \"needs\": [], \"produces\": []}]}");
    sim_free(s);
}

Test(scenario_file, a_file_with_a_mistake_adds_nothing)
{
    sim *s = new_sim();
    char err[512];
    cr_assert_eq(load(s,
                      "{\"services\": [{\"name\": \"api\"}], \"tasks\": [{\"name\": \"t\"}],"
                      " \"work\": [{\"task\": \"nope\"}]}",
                      err, sizeof err),
                 RC_EINVAL);
    cr_assert_eq(rc_service_count(sim_cue(s)), 0);
    /* So a corrected file still loads into the same sim. */
    load_ok(s, "{\"services\": [{\"name\": \"api\"}], \"tasks\": [{\"name\": \"t\"}],"
               " \"work\": [{\"task\": \"t\"}]}");
    sim_free(s);
}

Test(scenario_file, loading_twice_names_the_clash)
{
    sim *s = new_sim();
    const char *json = "{\"services\": [{\"name\": \"api\"}], \"tasks\": [{\"name\": \"t\"}],"
                       " \"work\": [{\"task\": \"t\"}]}";
    load_ok(s, json);
    char err[512];
    cr_assert_eq(load(s, json, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "test.json: services[0]: ") == err, "%s", err);
    cr_assert(strstr(err, "api") != NULL, "%s", err);
    sim_free(s);
}

/* ---- files ---- */

Test(scenario_file, a_missing_file_cannot_be_read)
{
    char tmpdir[64];
    make_tmpdir(tmpdir, sizeof tmpdir);
    sim *s = new_sim();
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/nope.json", tmpdir);
    cr_assert_eq(scenario_file_load(s, path, err, sizeof err), RC_EINVAL);
    char want[600];
    snprintf(want, sizeof want, "%s: cannot read: %s", path, strerror(ENOENT));
    cr_assert_str_eq(err, want);
    /* A directory neither. */
    cr_assert_eq(scenario_file_load(s, tmpdir, err, sizeof err), RC_EINVAL);
    snprintf(want, sizeof want, "%s: cannot read: %s", tmpdir, strerror(EISDIR));
    cr_assert_str_eq(err, want);
    sim_free(s);
    remove_tmpdir(tmpdir);
}

Test(scenario_file, a_file_loads_like_its_text)
{
    char tmpdir[64];
    make_tmpdir(tmpdir, sizeof tmpdir);
    char path[512], err[512] = "";
    write_file(tmpdir, "ok.json", MINIMAL, strlen(MINIMAL), path, sizeof path);
    sim *s = new_sim();
    cr_assert_eq(scenario_file_load(s, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sim_run(s), SIM_DONE);
    cr_assert_eq(sim_get_summary(s)->completed, 1);
    sim_free(s);
    remove_tmpdir(tmpdir);
}

Test(scenario_file, errors_in_a_file_name_it)
{
    char tmpdir[64];
    make_tmpdir(tmpdir, sizeof tmpdir);
    const char *json = "{\n  \"tasks\": [{\"name\": \"t\", \"latncy_ms\": 5}],\n"
                       "  \"work\": [{\"task\": \"t\"}]\n}\n";
    char path[512], err[512];
    write_file(tmpdir, "typo.json", json, strlen(json), path, sizeof path);
    sim *s = new_sim();
    cr_assert_eq(scenario_file_load(s, path, err, sizeof err), RC_EINVAL);
    char want[700];
    snprintf(want, sizeof want,
             "%s: tasks[0]: unknown key 'latncy_ms' (did you mean 'latency_ms'?)", path);
    cr_assert_str_eq(err, want);
    sim_free(s);
    remove_tmpdir(tmpdir);
}

Test(scenario_file, a_nul_byte_is_a_syntax_error_at_its_place)
{
    char tmpdir[64];
    make_tmpdir(tmpdir, sizeof tmpdir);
    static const char bytes[] = "{\n  \"tasks\": [\0]\n}";
    char path[512], err[512];
    write_file(tmpdir, "nul.json", bytes, sizeof bytes - 1, path, sizeof path);
    sim *s = new_sim();
    cr_assert_eq(scenario_file_load(s, path, err, sizeof err), RC_EINVAL);
    char want[600];
    snprintf(want, sizeof want, "%s:2:13: ", path);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
    cr_assert(strstr(err, "NUL byte") != NULL, "%s", err);
    sim_free(s);
    remove_tmpdir(tmpdir);
}

Test(scenario_file, an_empty_file_says_so)
{
    char tmpdir[64];
    make_tmpdir(tmpdir, sizeof tmpdir);
    char path[512], err[512];
    write_file(tmpdir, "empty.json", "", 0, path, sizeof path);
    sim *s = new_sim();
    cr_assert_eq(scenario_file_load(s, path, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, ":1:1: JSON syntax error: the file is empty") != NULL, "%s", err);
    sim_free(s);
    remove_tmpdir(tmpdir);
}

Test(scenario_file, a_buffer_loads_its_bytes_only)
{
    /* Not NUL-terminated: the bytes after len are not read. */
    char bytes[sizeof MINIMAL + 8];
    memcpy(bytes, MINIMAL, strlen(MINIMAL));
    memcpy(bytes + strlen(MINIMAL), "garbage", 8);
    sim *s = new_sim();
    char err[512] = "x";
    cr_assert_eq(scenario_file_load_buffer(s, "b.json", bytes, strlen(MINIMAL), err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(err, "");
    cr_assert_eq(sim_run(s), SIM_DONE);
    sim_free(s);
    /* A NUL byte is an error at its place, as in a file; no name: "<buffer>". */
    s = new_sim();
    static const char nul[] = "{\n  \"tasks\": [\0]\n}";
    cr_assert_eq(scenario_file_load_buffer(s, NULL, nul, sizeof nul - 1, err, sizeof err),
                 RC_EINVAL);
    cr_assert(strncmp(err, "<buffer>:2:13: JSON syntax error: a NUL byte", 44) == 0, "%s", err);
    cr_assert_eq(scenario_file_load_buffer(s, NULL, NULL, 0, err, sizeof err), RC_EINVAL);
    cr_assert_str_eq(err, "<buffer>:1:1: JSON syntax error: the file is empty");
    sim_free(s);
}

/* ---- JSON syntax ---- */

/* A text that is not JSON: the message starts "test.json:LINE:COL: " and
 * holds what. */
typedef struct syntax_case {
    const char *name;
    const char *json;
    int line, col;
    const char *what;
} syntax_case;

/* Check one case; a failure names the case, and the other cases still run. */
static void check_syntax(const char *name, const char *json, int line, int col, const char *what)
{
    sim *s = new_sim();
    char err[512] = "", want[64];
    cr_expect_eq(load(s, json, err, sizeof err), RC_EINVAL, "%s: loaded", name);
    cr_expect(is_one_line(err), "%s: message '%s' is not one line", name, err);
    snprintf(want, sizeof want, "test.json:%d:%d: ", line, col);
    cr_expect(strncmp(err, want, strlen(want)) == 0, "%s: '%s' does not start with '%s'", name, err,
              want);
    cr_expect(strstr(err, what) != NULL, "%s: '%s' lacks '%s'", name, err, what);
    sim_free(s);
}

static const syntax_case SYNTAX_CASES[] = {
    /* A missing comma: at the next key. */
    {"missing comma between members", "{\n  \"tasks\": [{\"name\": \"t\"}]\n  \"work\": []\n}", 3,
     3, "JSON syntax error: expected ',' or '}' after a member, near '\"work\": []'"},
    {"missing comma between elements", "{\"tasks\": [1 2]}", 1, 14,
     "expected ',' or ']' after an element, near '2]}'"},
    /* Trailing commas. */
    {"trailing comma in an array", "{\n  \"tasks\": [\n    {\"name\": \"t\"},\n  ]\n}", 4, 3,
     "a trailing comma before ']'"},
    {"trailing comma in an object", "{\n  \"name\": \"x\",\n}", 3, 1,
     "a trailing comma before '}'"},
    /* Keys. */
    {"unquoted key", "{\n  name: 1}", 2, 3, "expected a key in double quotes, near 'name: 1}'"},
    {"no colon after a key", "{\"name\" 1}", 1, 9, "expected ':' after the key"},
    /* Comments and single quotes, as keys and as values. */
    {"// comment", "{\n  // services\n  \"tasks\": []\n}", 2, 3, "JSON has no comments"},
    {"# comment", "{\"tasks\": [] # x\n}", 1, 14, "JSON has no comments"},
    {"single-quoted value", "{\"tasks\": ['t']}", 1, 12, "JSON strings take double quotes"},
    {"single-quoted key", "{'tasks': []}", 1, 2, "JSON strings take double quotes"},
    /* Words JSON does not have. */
    {"NaN", "{\"tasks\": [{\"name\": \"t\", \"latency_ms\": NaN}]}", 1, 40,
     "expected a value, near 'NaN}]}'"},
    {"Infinity", "{\"a\": Infinity}", 1, 7, "expected a value, near 'Infinity}'"},
    {"nul", "{\"a\": nul}", 1, 7, "expected a value"},
    {"True", "{\"a\": True}", 1, 7, "expected a value"},
    /* Numbers. */
    {"leading zero", "{\"a\": 01}", 1, 7, "a number with a leading zero"},
    {"no digits after the point", "{\"a\": 1.}", 1, 7, "a malformed number"},
    {"a lone minus", "{\"a\": -}", 1, 7, "a malformed number"},
    {"no exponent digits", "{\"a\": 1e}", 1, 7, "a malformed number"},
    {"no digits before the point", "{\"a\": .5}", 1, 7, "expected a value"},
    {"a plus sign", "{\"a\": +5}", 1, 7, "expected a value"},
    /* Garbage after the document. */
    {"text after the document", "{}\n\n  x", 3, 3,
     "unexpected text after the end of the document, near 'x'"},
    {"a second document", "{} {}", 1, 4, "unexpected text after the end"},
    /* Columns count characters, not bytes. */
    {"columns in characters", "{\"name\": \"\xC3\xA9\xC3\xA9\" x}", 1, 15, "near 'x}'"},
    /* Blank and truncated input. */
    {"empty", "", 1, 1, "JSON syntax error: the file is empty"},
    {"only white space", " \n\t\n", 1, 1, "the file is empty"},
    {"ends in an array", "{\n  \"tasks\": [\n", 3, 1, "JSON syntax error: unexpected end of file"},
    {"ends after an element", "{\"tasks\": [1, 2", 1, 16, "unexpected end of file"},
    {"ends after a key", "{\"tasks\"", 1, 9, "unexpected end of file"},
    /* Strings: unterminated (where it starts), escapes, control characters. */
    {"unterminated string on its line", "{\n\"name\": \"abc\n}", 2, 9,
     "a string that does not end (no closing quote on its line), near '\"abc'"},
    {"unterminated string at the end", "{\"name\": \"abc", 1, 10, "a string that does not end"},
    {"unknown escape", "{\"name\": \"a\\qb\"}", 1, 12, "an unknown escape"},
    {"short \\u escape", "{\"name\": \"a\\u12\"}", 1, 12,
     "\\u must be followed by four hex digits"},
    {"raw tab in a string", "{\"name\": \"a\tb\"}", 1, 12, "a control character in a string"},
    {"\\u0000", "{\n  \"name\": \"a\\u0000b\"\n}", 2, 13, "\\u0000 is not allowed in strings"},
};

Test(scenario_file, syntax_errors_give_line_and_column)
{
    for (size_t i = 0; i < sizeof SYNTAX_CASES / sizeof *SYNTAX_CASES; i++) {
        const syntax_case *c = &SYNTAX_CASES[i];
        check_syntax(c->name, c->json, c->line, c->col, c->what);
    }
}

Test(scenario_file, deep_nesting_is_refused_not_crashed)
{
    size_t depth = 5000;
    char *json = malloc(2 * depth + 1);
    cr_assert_not_null(json);
    memset(json, '[', depth);
    memset(json + depth, ']', depth);
    json[2 * depth] = 0;
    check_syntax("5000 levels", json, 1, 1001, "nested too deeply (more than 1000 levels)");
    /* Within cJSON's limit it parses, then is the wrong shape. */
    memset(json, '[', 900);
    memset(json + 900, ']', 900);
    json[1800] = 0;
    check_error("900 levels", json, "the top level must be an object (got an array)", NULL);
    /* Deep junk inside a valid document. */
    char *doc = malloc(2 * 900 + 200);
    cr_assert_not_null(doc);
    snprintf(doc, 2 * 900 + 200, "{\"tasks\": [{\"name\": \"t\", \"jitter\": %s}], \"work\": []}",
             json);
    check_error("900 levels as a value", doc,
                "tasks[0].jitter: must be a number from 0 to 1 (got an array)", NULL);
    free(doc);
    free(json);
}

/* ---- the schema's errors ---- */

#define T1 "\"tasks\": [{\"name\": \"t\"}]"
#define W1 "\"work\": [{\"task\": \"t\"}]"

/* A valid JSON text with a mistake in its schema: loading fails with
 * RC_EINVAL and a one-line message naming test.json that holds want (and
 * also, if not NULL). */
typedef struct error_case {
    const char *name;
    const char *json;
    const char *want;
    const char *also;
} error_case;

static void run_error_cases(const error_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_error(cases[i].name, cases[i].json, cases[i].want, cases[i].also);
}

#define RUN_ERROR_CASES(table) run_error_cases(table, sizeof table / sizeof *table)

static const error_case TOP_LEVEL_CASES[] = {
    {"an array", "[]", "test.json: the top level must be an object (got an array)", NULL},
    {"a number", "42", "must be an object (got 42)", NULL},
    {"a string", "\"x\"", "must be an object (got 'x')", NULL},
    {"null", "null", "must be an object (got null)", NULL},
    {"a misspelt key", "{" T1 ", " W1 ", \"servies\": []}",
     "test.json: unknown key 'servies' (did you mean 'services'?)", NULL},
    {"an unknown key", "{" T1 ", " W1 ", \"zzzzzz\": 1}", "test.json: unknown key 'zzzzzz'", NULL},
    {"an unknown key with controls", "{" T1 ", " W1 ", \"z\\u001b\\u009b2J\": 1}",
     "test.json: unknown key 'z???2J'", NULL},
    {"no tasks", "{" W1 "}", "test.json: missing required key 'tasks'", NULL},
    {"no work", "{" T1 "}", "test.json: missing required key 'work'", NULL},
    {"empty tasks", "{\"tasks\": [], " W1 "}", "test.json: tasks: must list at least one task",
     NULL},
    {"empty work", "{" T1 ", \"work\": []}", "test.json: work: must list at least one work item",
     NULL},
    {"tasks an object", "{\"tasks\": {}, " W1 "}",
     "test.json: tasks: must be an array (got an object)", NULL},
    {"work a string", "{" T1 ", \"work\": \"t\"}", "work: must be an array (got 't')", NULL},
    {"services null", "{" T1 ", " W1 ", \"services\": null}",
     "services: must be an array (got null)", NULL},
    {"name a number", "{" T1 ", " W1 ", \"name\": 5}", "test.json: name: must be a string (got 5)",
     NULL},
    {"name empty", "{" T1 ", " W1 ", \"name\": \"\"}",
     "test.json: name: must be a non-empty string", NULL},
    {"description an array", "{" T1 ", " W1 ", \"description\": []}",
     "test.json: description: must be a string (got an array)", NULL},
    {"a key twice", "{" T1 ", " W1 ", " T1 "}", "test.json: key 'tasks' appears twice", NULL},
};

Test(scenario_file, the_top_level)
{
    RUN_ERROR_CASES(TOP_LEVEL_CASES);
}

#define SVC(x) "{\"services\": [{\"name\": \"api\"}, " x "], " T1 ", " W1 "}"
static const error_case SERVICE_CASES[] = {
    {"duplicate name", SVC("{\"name\": \"api\"}"),
     "test.json: services[1].name: duplicate service name 'api' (first declared at services[0])",
     NULL},
    {"a number", SVC("5"), "test.json: services[1]: must be an object (got 5)", NULL},
    {"no name", SVC("{}"), "test.json: services[1]: missing required key 'name'", NULL},
    {"empty name", SVC("{\"name\": \"\"}"),
     "test.json: services[1].name: must be a non-empty string (got '')", NULL},
    {"name a number", SVC("{\"name\": 7}"), "services[1].name: must be a non-empty string (got 7)",
     NULL},
    {"name with a newline", SVC("{\"name\": \"a\\nb\"}"),
     "services[1].name: must not contain control", NULL},
    {"name with a C1 control", SVC("{\"name\": \"a\\u009b2Jb\"}"),
     "services[1].name: must not contain control", NULL},
    {"name with a lone CSI byte", SVC("{\"name\": \"a\x9b" "2Jb\"}"),
     "services[1].name: must not contain control", NULL},
    {"misspelt key", SVC("{\"name\": \"x\", \"concurent\": 5}"),
     "test.json: services[1]: unknown key 'concurent' (did you mean 'concurrent'?)", NULL},
    {"concurrent 0", SVC("{\"name\": \"x\", \"concurrent\": 0}"),
     "test.json: services[1].concurrent: must be a positive integer or null", "(got 0)"},
    {"concurrent negative", SVC("{\"name\": \"x\", \"concurrent\": -3}"),
     "services[1].concurrent: must be a positive integer or null", "(got -3)"},
    {"concurrent fractional", SVC("{\"name\": \"x\", \"concurrent\": 2.5}"),
     "services[1].concurrent: must be a positive integer or null", "(got 2.5)"},
    {"concurrent a string", SVC("{\"name\": \"x\", \"concurrent\": \"5\"}"),
     "services[1].concurrent: must be a positive integer or null", "(got '5')"},
    {"concurrent CLI", SVC("{\"name\": \"x\", \"concurrent\": \"CLI\"}"),
     "services[1].concurrent: must be a positive integer or null", NULL},
    {"concurrent true", SVC("{\"name\": \"x\", \"concurrent\": true}"),
     "services[1].concurrent: must be a positive integer or null", "(got true)"},
    {"concurrent too large", SVC("{\"name\": \"x\", \"concurrent\": 1e300}"),
     "services[1].concurrent: must be at most 1000000 (got 1e+300)", NULL},
    {"concurrent infinite", SVC("{\"name\": \"x\", \"concurrent\": 1e999}"),
     "services[1].concurrent: must be a positive integer or null", "(got inf)"},
    {"rate without a window", SVC("{\"name\": \"x\", \"rate\": \"20\"}"),
     "test.json: services[1].rate: bad rate '20'", NULL},
    {"rate count 0", SVC("{\"name\": \"x\", \"rate\": \"0/1\"}"),
     "services[1].rate: bad rate '0/1'", "count"},
    {"rate unknown unit", SVC("{\"name\": \"x\", \"rate\": \"5/fortnight\"}"),
     "services[1].rate: bad rate '5/fortnight'", "unknown unit"},
    {"rate empty", SVC("{\"name\": \"x\", \"rate\": \"\"}"), "services[1].rate: bad rate ''", NULL},
    {"rate a number", SVC("{\"name\": \"x\", \"rate\": 20}"),
     "services[1].rate: must be a rate such as \"20/1\" or \"60/min\"", "(got 20)"},
    {"rate an object", SVC("{\"name\": \"x\", \"rate\": {}}"), "services[1].rate: must be a rate",
     "(got an object)"},
    {"a key twice", SVC("{\"name\": \"x\", \"name\": \"y\"}"),
     "services[1]: key 'name' appears twice", NULL},
};
#undef SVC

Test(scenario_file, services)
{
    RUN_ERROR_CASES(SERVICE_CASES);
}

Test(scenario_file, long_names_are_refused)
{
    char json[2048], name[208];
    memset(name, 'n', 201);
    name[201] = 0;
    snprintf(json, sizeof json, "{\"tasks\": [{\"name\": \"%s\"}], " W1 "}", name);
    check_error("201 bytes", json, "tasks[0].name: must be at most 200 bytes long (got 201)", NULL);
    name[200] = 0; /* 200 is fine */
    snprintf(json, sizeof json,
             "{\"services\": [{\"name\": \"%s\"}], \"tasks\": [{\"name\": \"%s\", \"service\": "
             "\"%s\"}], \"work\": [{\"task\": \"%s\"}]}",
             name, name, name, name);
    sim *s = new_sim();
    load_ok(s, json);
    sim_free(s);
}

#define TSK(x)                                                                                     \
    "{\"services\": [{\"name\": \"api\"}], \"tasks\": [{\"name\": \"t\"}, " x "], " W1 "}"
static const error_case TASK_CASES[] = {
    {"duplicate name", TSK("{\"name\": \"t\"}"),
     "test.json: tasks[1].name: duplicate task name 't' (first declared at tasks[0])", NULL},
    {"an array", TSK("[]"), "test.json: tasks[1]: must be an object (got an array)", NULL},
    {"no name", TSK("{\"service\": \"api\"}"), "tasks[1]: missing required key 'name'", NULL},
    {"misspelt service", TSK("{\"name\": \"f\", \"service\": \"apii\"}"),
     "test.json: tasks[1].service: unknown service 'apii' (did you mean 'api'?)", NULL},
    {"unknown service", TSK("{\"name\": \"f\", \"service\": \"storage\"}"),
     "test.json: tasks[1].service: unknown service 'storage'", NULL},
    {"service null", TSK("{\"name\": \"f\", \"service\": null}"),
     "tasks[1].service: must be a non-empty string (got null)", NULL},
    {"misspelt key", TSK("{\"name\": \"f\", \"latncy_ms\": 5}"),
     "test.json: tasks[1]: unknown key 'latncy_ms' (did you mean 'latency_ms'?)", NULL},
    {"latency negative", TSK("{\"name\": \"f\", \"latency_ms\": -1}"),
     "tasks[1].latency_ms: must be a number of milliseconds from 0 to 1e9 (got -1)", NULL},
    {"latency times outlier_mult beyond what time can hold",
     TSK("{\"name\": \"f\", \"latency_ms\": 1e9, \"outlier_mult\": 1e6}"),
     "test.json: tasks[1].latency_ms: latency 1e+09 ms with outlier_mult 1e+06 can draw latencies "
     "beyond 1e+12 ms",
     NULL},
    {"outlier_mult beyond what time can hold",
     TSK("{\"name\": \"f\", \"outlier_mult\": 1e6, \"latency_ms\": 1e7}"),
     "tasks[1].latency_ms: latency 1e+07 ms with outlier_mult 1e+06", NULL},
    {"latency too large", TSK("{\"name\": \"f\", \"latency_ms\": 1e10}"),
     "tasks[1].latency_ms: must be a number", "(got 10000000000)"},
    {"latency infinite", TSK("{\"name\": \"f\", \"latency_ms\": 1e999}"),
     "tasks[1].latency_ms: must be a number", "(got inf)"},
    {"latency minus infinite", TSK("{\"name\": \"f\", \"latency_ms\": -1e999}"),
     "tasks[1].latency_ms: must be a number", "(got -inf)"},
    {"latency a string", TSK("{\"name\": \"f\", \"latency_ms\": \"100\"}"),
     "tasks[1].latency_ms: must be a number", "(got '100')"},
    {"jitter above 1", TSK("{\"name\": \"f\", \"jitter\": 1.5}"),
     "tasks[1].jitter: must be a number from 0 to 1 (got 1.5)", NULL},
    {"outliers negative", TSK("{\"name\": \"f\", \"outliers\": -0.1}"),
     "tasks[1].outliers: must be a number from 0 to 1 (got -0.1)", NULL},
    {"outlier_mult below 1", TSK("{\"name\": \"f\", \"outlier_mult\": 0.5}"),
     "tasks[1].outlier_mult: must be a number from 1 to 1e6 (got 0.5)", NULL},
    {"outlier_mult too large", TSK("{\"name\": \"f\", \"outlier_mult\": 2e6}"),
     "tasks[1].outlier_mult: must be a number from 1 to 1e6", NULL},
    {"error_rate above 1", TSK("{\"name\": \"f\", \"error_rate\": 2}"),
     "tasks[1].error_rate: must be a number from 0 to 1 (got 2)", NULL},
    {"error_rate false", TSK("{\"name\": \"f\", \"error_rate\": false}"),
     "tasks[1].error_rate: must be a number from 0 to 1 (got false)", NULL},
    {"a service when none are declared",
     "{\"tasks\": [{\"name\": \"t\", \"service\": \"api\"}], " W1 "}",
     "tasks[0].service: unknown service 'api' (the file declares no services)", NULL},
};
#undef TSK

Test(scenario_file, tasks)
{
    RUN_ERROR_CASES(TASK_CASES);
}

#define WRK(x) "{\"tasks\": [{\"name\": \"fetch\"}], \"work\": [{\"task\": \"fetch\"}, " x "]}"
static const error_case WORK_CASES[] = {
    {"a string", WRK("\"fetch\""), "test.json: work[1]: must be an object (got 'fetch')", NULL},
    {"no task", WRK("{}"), "test.json: work[1]: missing required key 'task'", NULL},
    {"misspelt task", WRK("{\"task\": \"fetc\"}"),
     "test.json: work[1].task: unknown task 'fetc' (did you mean 'fetch'?)", NULL},
    {"unknown task", WRK("{\"task\": \"upload\"}"), "work[1].task: unknown task 'upload'", NULL},
    {"empty task", WRK("{\"task\": \"\"}"), "work[1].task: must be a non-empty string (got '')",
     NULL},
    {"misspelt label", WRK("{\"task\": \"fetch\", \"lable\": \"x\"}"),
     "work[1]: unknown key 'lable' (did you mean 'label'?)", NULL},
    {"misspelt needs", WRK("{\"task\": \"fetch\", \"need\": []}"),
     "work[1]: unknown key 'need' (did you mean 'needs'?)", NULL},
    {"label a number", WRK("{\"task\": \"fetch\", \"label\": 3}"),
     "work[1].label: must be a non-empty string (got 3)", NULL},
    {"needs a string", WRK("{\"task\": \"fetch\", \"needs\": \"k\"}"),
     "work[1].needs: must be an array of strings (got 'k')", NULL},
    {"an empty key", WRK("{\"task\": \"fetch\", \"needs\": [\"a\", \"\"]}"),
     "test.json: work[1].needs[1]: must be a non-empty string", NULL},
    {"a key an array", WRK("{\"task\": \"fetch\", \"needs\": [\"a\", [\"b\"]]}"),
     "work[1].needs[1]: must be a non-empty string (got an array)", NULL},
    {"a key null", WRK("{\"task\": \"fetch\", \"produces\": [null]}"),
     "work[1].produces[0]: must be a non-empty string (got null)", NULL},
    {"a key with a tab", WRK("{\"task\": \"fetch\", \"produces\": [\"a\\tb\"]}"),
     "work[1].produces[0]: must not contain control characters", NULL},
    {"repeat 0", WRK("{\"task\": \"fetch\", \"repeat\": 0}"),
     "work[1].repeat: must be a whole number from 1 to 10000000 (got 0)", NULL},
    {"repeat fractional", WRK("{\"task\": \"fetch\", \"repeat\": 1.5}"),
     "work[1].repeat: must be a whole number", "(got 1.5)"},
    {"repeat a string", WRK("{\"task\": \"fetch\", \"repeat\": \"3\"}"),
     "work[1].repeat: must be a whole number", "(got '3')"},
    {"repeat too large", WRK("{\"task\": \"fetch\", \"repeat\": 1e18}"),
     "work[1].repeat: must be a whole number from 1 to 10000000 (got 1e+18)", NULL},
    {"one item past the limit",
     WRK("{\"task\": \"fetch\", \"repeat\": 9999999}, {\"task\": \"fetch\"}"),
     "test.json: work[2]: the work adds up to more than 10000000 items", NULL},
    {"a repeat past the limit",
     WRK("{\"task\": \"fetch\", \"repeat\": 6000000}, {\"task\": \"fetch\", \"repeat\": 5000000}"),
     "test.json: work[2].repeat: the work adds up to more than 10000000 items", NULL},
    {"an input a number",
     "{\"tasks\": [{\"name\": \"fetch\"}], \"inputs\": [\"ok\", 5], \"work\": [{\"task\": "
     "\"fetch\"}]}",
     "test.json: inputs[1]: must be a non-empty string (got 5)", NULL},
    {"inputs a string",
     "{\"tasks\": [{\"name\": \"fetch\"}], \"inputs\": \"ok\", \"work\": [{\"task\": \"fetch\"}]}",
     "test.json: inputs: must be an array of strings (got 'ok')", NULL},
};
#undef WRK

Test(scenario_file, work)
{
    RUN_ERROR_CASES(WORK_CASES);
}

Test(scenario_file, messages_clip_long_values_and_stay_on_one_line)
{
    char json[4096], junk[2001];
    memset(junk, 'k', 2000);
    junk[2000] = 0;
    snprintf(json, sizeof json, "{" T1 ", " W1 ", \"%s\\n\": 1}", junk);
    sim *s = new_sim();
    char err[512];
    cr_assert_eq(load(s, json, err, sizeof err), RC_EINVAL);
    cr_assert(is_one_line(err), "%s", err);
    cr_assert(strstr(err, "unknown key 'kkkk") != NULL, "%s", err);
    cr_assert(strstr(err, "...'") != NULL, "%s", err);
    cr_assert(strlen(err) < 200, "%s", err);
    sim_free(s);
}

Test(scenario_file, the_first_mistake_in_file_order_is_reported)
{
    check_error("tasks before work",
                "{\"work\": [{\"task\": \"nope\"}], \"tasks\": [{\"name\": \"t\", \"jitter\": 9}]}",
                "tasks[0].jitter", NULL);
    check_error("the earliest second name",
                "{\"tasks\": [{\"name\": \"t\"}, {\"name\": \"u\"}, {\"name\": \"t\"},"
                " {\"name\": \"u\"}], " W1 "}",
                "tasks[2].name: duplicate task name 't' (first declared at tasks[0])", NULL);
}

Test(scenario_file, small_or_missing_error_buffers_are_safe)
{
    sim *s = new_sim();
    char err[8];
    cr_assert_eq(load(s, "{", err, sizeof err), RC_EINVAL);
    cr_assert_eq(strlen(err), 7);
    cr_assert_eq(load(s, "{", NULL, 0), RC_EINVAL);
    cr_assert_eq(load(s, "{", err, 0), RC_EINVAL);
    cr_assert_eq(scenario_file_load_string(s, NULL, "{", err, sizeof err), RC_EINVAL);
    cr_assert_eq(scenario_file_load_string(s, "x", NULL, err, sizeof err), RC_EINVAL);
    cr_assert_eq(scenario_file_load_string(NULL, "x", MINIMAL, err, sizeof err), RC_EINVAL);
    cr_assert_eq(scenario_file_load(s, NULL, err, sizeof err), RC_EINVAL);
    char big[512];
    cr_assert_eq(scenario_file_load_string(s, NULL, "{", big, sizeof big), RC_EINVAL);
    cr_assert(strncmp(big, "<string>:1:2: ", 14) == 0, "%s", big);
    sim_free(s);
}

/* ---- fuzzing ---- */

static const char FULL[] =
    "{\n"
    "  \"name\": \"full\",\n"
    "  \"description\": \"every key\",\n"
    "  \"services\": [\n"
    "    {\"name\": \"api\", \"concurrent\": 2, \"rate\": \"5/1\"},\n"
    "    {\"name\": \"cpu\", \"concurrent\": \"cli\", \"rate\": \"cli\"},\n"
    "    {\"name\": \"io\", \"concurrent\": null, \"rate\": null}\n"
    "  ],\n"
    "  \"tasks\": [\n"
    "    {\"name\": \"fetch\", \"service\": \"api\", \"latency_ms\": 30, \"jitter\": 0.2,\n"
    "     \"outliers\": 0.1, \"outlier_mult\": 3, \"error_rate\": 0.1},\n"
    "    {\"name\": \"parse\", \"service\": \"cpu\"},\n"
    "    {\"name\": \"store\", \"service\": \"io\", \"latency_ms\": 5}\n"
    "  ],\n"
    "  \"inputs\": [\"seed/a\", \"seed/b\"],\n"
    "  \"work\": [\n"
    "    {\"task\": \"fetch\", \"label\": \"f{i4}\", \"needs\": [\"seed/a\"],\n"
    "     \"produces\": [\"raw/{i}\"], \"repeat\": 4},\n"
    "    {\"task\": \"parse\", \"label\": \"p{i}\", \"needs\": [\"raw/{i}\", \"seed/b\"],\n"
    "     \"produces\": [\"parsed/{i}\"], \"repeat\": 4},\n"
    "    {\"task\": \"store\", \"needs\": [\"parsed/0\", \"parsed/3\"], \"produces\": [\"out\"]}\n"
    "  ]\n"
    "}\n";

/* Load text; an error must be RC_EINVAL with a one-line message naming the
 * file; a success must run to an outcome.  Returns the load's code. */
static int load_and_run(const char *text)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 7;
    sim *s = new_sim_with(&cfg);
    char err[512] = "";
    int rc = scenario_file_load_string(s, "fuzz.json", text, err, sizeof err);
    if (rc) {
        cr_assert_eq(rc, RC_EINVAL, "code %d for %s", rc, text);
        cr_assert(is_one_line(err), "%s", err);
        cr_assert(strncmp(err, "fuzz.json", 9) == 0, "%s", err);
    } else {
        cr_assert_str_eq(err, "");
        int out = sim_run(s);
        cr_assert(out == SIM_DONE || out == SIM_STALLED || out == SIM_CUT, "outcome %d for %s", out,
                  text);
    }
    sim_free(s);
    return rc;
}

Test(scenario_file, fuzz_the_full_document_is_valid)
{
    cr_assert_eq(load_and_run(FULL), 0);
}

Test(scenario_file, fuzz_every_truncation_fails_cleanly)
{
    size_t n = strlen(FULL);
    char *buf = malloc(n + 1);
    cr_assert_not_null(buf);
    for (size_t cut = 0; cut < n - 1; cut++) { /* all but the final "}\n" */
        memcpy(buf, FULL, cut);
        buf[cut] = 0;
        cr_assert_eq(load_and_run(buf), RC_EINVAL, "a prefix of %zu bytes loaded", cut);
    }
    free(buf);
}

/* A small deterministic generator for the mutations (xorshift64). */
static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

Test(scenario_file, fuzz_random_byte_mutations_never_crash)
{
    static const char alphabet[] = "{}[]\",:0123456789.-+eE nul tru fals \\u00{i}\n\x01\xff\xc3";
    size_t n = strlen(FULL);
    char *buf = malloc(n + 64);
    cr_assert_not_null(buf);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, FULL, n + 1);
        int edits = 1 + (int)(next_rand(&x) % 4);
        for (int e = 0; e < edits; e++) {
            size_t len = strlen(buf);
            size_t at = next_rand(&x) % len;
            char c = alphabet[next_rand(&x) % (sizeof alphabet - 1)];
            switch (next_rand(&x) % 3) {
            case 0:
                buf[at] = c;
                break; /* replace */
            case 1:
                memmove(buf + at, buf + at + 1, len - at);
                break; /* delete */
            default:   /* insert */
                memmove(buf + at + 1, buf + at, len - at + 1);
                buf[at] = c;
                break;
            }
        }
        load_and_run(buf);
    }
    free(buf);
}

/* Every node in preorder. */
static void collect(cJSON *node, cJSON **out, size_t *n, size_t max)
{
    for (cJSON *c = node->child; c; c = c->next) {
        if (*n < max) out[(*n)++] = c;
        collect(c, out, n, max);
    }
}

static cJSON *parent_of(cJSON *root, cJSON *node)
{
    for (cJSON *c = root->child; c; c = c->next) {
        if (c == node) return root;
        cJSON *p = parent_of(c, node);
        if (p) return p;
    }
    return NULL;
}

Test(scenario_file, fuzz_wrong_types_everywhere)
{
    static const char *const junk[] = {
        "null",       "true",       "false",          "0",          "-1",
        "1.5",        "1e300",      "-1e300",         "1e999",      "\"\"",
        "\"cli\"",    "\"x\"",      "\"{i}\"",        "[]",         "{}",
        "[[[[[]]]]]", "[\"a\", 1]", "{\"name\": {}}", "4294967296", "\"20/0\"",
    };
    cJSON *probe = cJSON_Parse(FULL);
    cr_assert_not_null(probe);
    cJSON *nodes[512];
    size_t n_nodes = 0;
    collect(probe, nodes, &n_nodes, 512);
    cJSON_Delete(probe);
    cr_assert(n_nodes > 50);
    size_t loaded = 0, tried = 0;
    for (size_t k = 0; k < n_nodes; k++) {
        for (size_t j = 0; j <= sizeof junk / sizeof *junk; j++) {
            cJSON *root = cJSON_Parse(FULL);
            cJSON *all[512];
            size_t n = 0;
            collect(root, all, &n, 512);
            cJSON *target = all[k], *parent = parent_of(root, target);
            cr_assert_not_null(parent);
            if (j == sizeof junk / sizeof *junk) {
                /* Drop the node instead. */
                cJSON_Delete(cJSON_DetachItemViaPointer(parent, target));
            } else {
                cJSON *rep = cJSON_Parse(junk[j]);
                cr_assert_not_null(rep, "%s", junk[j]);
                if (target->string) /* keep the member's key */
                    cr_assert(cJSON_ReplaceItemInObjectCaseSensitive(parent, target->string, rep));
                else
                    cr_assert(cJSON_ReplaceItemViaPointer(parent, target, rep));
            }
            char *text = cJSON_Print(root);
            cr_assert_not_null(text);
            if (load_and_run(text) == 0) loaded++;
            tried++;
            free(text);
            cJSON_Delete(root);
        }
    }
    /* Some replacements are fine (a label for a label), most are not. */
    cr_assert(loaded > 0 && loaded < tried, "%zu of %zu loaded", loaded, tried);
}

/* ---- hostile sizes ---- */

/* A growing JSON text. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    cr_assert_geq(n, 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        cr_assert_not_null(t->s);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* 1000 services limited to 10000000 starts per second, one work item each:
 * every rate ring was once allocated (80 MB) and zeroed up front, and a
 * file like this one took tens of GB.  Now it runs in a few MB (held to
 * 1 GiB of address space, except under ASan, which reserves its shadow). */
Test(scenario_file, a_thousand_huge_rates_cost_memory_only_for_their_starts)
{
#ifndef UNDER_ASAN
    struct rlimit lim = {1u << 30, 1u << 30};
    cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
#endif
    text t = {0};
    put(&t, "{\"services\": [");
    for (unsigned i = 0; i < SCENARIO_FILE_MAX_SERVICES; i++)
        put(&t, "%s{\"name\": \"s%u\", \"rate\": \"10000000/1\"}", i ? "," : "", i);
    put(&t, "], \"tasks\": [");
    for (unsigned i = 0; i < SCENARIO_FILE_MAX_SERVICES; i++)
        put(&t, "%s{\"name\": \"t%u\", \"service\": \"s%u\"}", i ? "," : "", i, i);
    put(&t, "], \"work\": [");
    for (unsigned i = 0; i < SCENARIO_FILE_MAX_SERVICES; i++)
        put(&t, "%s{\"task\": \"t%u\", \"repeat\": 3}", i ? "," : "", i);
    put(&t, "]}");
    sim *s = new_sim();
    load_ok(s, t.s);
    free(t.s);
    cr_assert_eq(sim_run(s), SIM_DONE);
    const sim_summary *sum = sim_get_summary(s);
    cr_assert_eq(sum->completed, 3 * SCENARIO_FILE_MAX_SERVICES);
    cr_assert_eq(sum->violations, 0);
    sim_free(s);
}

/* Past each documented limit: one line naming the key, never an attempt to
 * allocate it. */
Test(scenario_file, counts_and_lengths_beyond_the_limits_are_named)
{
    text t = {0};
    put(&t, "{\"services\": [");
    for (unsigned i = 0; i <= SCENARIO_FILE_MAX_SERVICES; i++)
        put(&t, "%s{\"name\": \"s%u\"}", i ? "," : "", i);
    put(&t, "], \"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\"}]}");
    check_error("too many services", t.s,
                "test.json: services: holds 1001 services, more than 1000", NULL);
    t.len = 0;

    put(&t, "{\"tasks\": [");
    for (unsigned i = 0; i <= SCENARIO_FILE_MAX_TASKS; i++)
        put(&t, "%s{\"name\": \"t%u\"}", i ? "," : "", i);
    put(&t, "], \"work\": [{\"task\": \"t0\"}]}");
    check_error("too many tasks", t.s, "test.json: tasks: holds 1001 tasks, more than 1000", NULL);
    t.len = 0;

    put(&t, "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"needs\": [");
    for (unsigned i = 0; i <= SCENARIO_FILE_MAX_KEYS_PER_ITEM; i++)
        put(&t, "%s\"k%u\"", i ? "," : "", i);
    put(&t, "]}]}");
    check_error("too many needs", t.s, "test.json: work[0].needs: holds more than 100 keys", NULL);
    t.len = 0;

    put(&t, "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"label\": \"");
    for (unsigned i = 0; i <= SCENARIO_FILE_MAX_STRING; i++)
        put(&t, "x");
    put(&t, "\"}]}");
    check_error("a long label", t.s, "test.json: work[0].label: must be at most 1000 bytes long",
                "(got 1001)");
    t.len = 0;

    /* 10 million items of 900-byte keys: 9 GB of strings. */
    put(&t, "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"repeat\": "
            "10000000, \"produces\": [\"");
    for (unsigned i = 0; i < 900; i++)
        put(&t, "k");
    put(&t, "{i}\"]}]}");
    check_error("too many bytes of keys", t.s,
                "test.json: work[0].repeat: the labels and keys of the work add up to more than "
                "1024 MiB",
                NULL);
    free(t.s);
}

/* Latencies inside the documented ranges once overflowed rc_time: slow work
 * "completed" at once, or the run ended "finished" with work running.  A
 * library caller that skips the loaders' checks gets saturated latencies. */
Test(scenario_file, extreme_latencies_saturate_and_the_run_really_finishes)
{
    sim *s = new_sim();
    cr_assert_eq(sim_add_service(s, "api", 5, 0, 0), 0);
    sim_profile slow = {
        .latency_ms = 1e9, .jitter = 0, .outlier_chance = 1, .outlier_mult = 1e6, .error_rate = 0};
    cr_assert_eq(sim_add_task(s, "t", "api", &slow, NULL, NULL), 0);
    for (int i = 0; i < 3; i++) {
        sim_work_spec w = {.task = "t"};
        cr_assert_eq(sim_add_initial(s, &w), 0);
    }
    cr_assert_eq(sim_run(s), SIM_DONE);
    const sim_summary *sum = sim_get_summary(s);
    cr_assert_eq(sum->completed, 3);
    cr_assert_eq(sum->pending + sum->running, 0);
    cr_assert_geq(sum->duration_s, 1e8, "slow work takes its time (%g s)", sum->duration_s);
    sim_free(s);
}

/* ---- timing, retries, actions and index expressions ---- */

Test(scenario_file, index_expressions_offset_pad_and_wrap)
{
    sim *s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\"}],"
               " \"work\": [{\"task\": \"t\", \"label\": \"l{i3+1}\","
               "  \"needs\": [\"c/{i-1}\", \"r/{i+1%3}\", \"p/{i4-2%3}\"],"
               "  \"produces\": [\"c/{i}\", \"{i+10}{id}\"], \"repeat\": 3}]}");
    cr_assert_eq(sim_start(s), 0);
    assert_work(s, 1, "t|l001|c/-1,r/1,p/0001|c/0,10{id}");
    assert_work(s, 2, "t|l002|c/0,r/2,p/0002|c/1,11{id}");
    assert_work(s, 3, "t|l003|c/1,r/0,p/0000|c/2,12{id}");
    sim_free(s);
}

Test(scenario_file, delay_and_not_before_hold_an_item)
{
    sim *s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\", \"latency_ms\": 0}],"
               " \"work\": [{\"task\": \"t\", \"delay_s\": 2},"
               "            {\"task\": \"t\", \"not_before\": 3.5}]}");
    cr_assert_eq(sim_run(s), SIM_DONE);
    cr_assert_float_eq(rc_to_seconds(rc_work_started(rc_get(sim_cue(s), 1))), 2.0, 1e-9);
    cr_assert_float_eq(rc_to_seconds(rc_work_started(rc_get(sim_cue(s), 2))), 3.5, 1e-9);
    sim_free(s);
}

Test(scenario_file, a_task_retry_retries_its_failures_then_gives_up)
{
    sim *s = new_sim();
    load_ok(s,
            "{\"tasks\": [{\"name\": \"t\", \"latency_ms\": 10, \"jitter\": 0, \"error_rate\": 1,"
            "  \"retry\": {\"attempts\": 4, \"backoff_s\": 1, \"exponential\": true}}],"
            " \"work\": [{\"task\": \"t\"}]}");
    cr_assert_eq(sim_run(s), SIM_DONE);
    const sim_summary *sm = sim_get_summary(s);
    cr_assert_eq(sm->retries, 3);
    cr_assert_eq(sm->failed, 1);
    /* Backoffs 1 + 2 + 4 s, four runs of 10 ms. */
    cr_assert_float_eq(sm->duration_s, 7.04, 1e-6);
    sim_free(s);
}

Test(scenario_file, actions_cancel_invalidate_and_submit_at_their_time)
{
    sim *s = new_sim();
    load_ok(s,
            "{\"tasks\": [{\"name\": \"t\", \"latency_ms\": 100, \"jitter\": 0}],"
            " \"work\": [{\"task\": \"t\", \"label\": \"late\", \"delay_s\": 5},"
            "            {\"task\": \"t\", \"produces\": [\"k\"]}],"
            " \"actions\": [{\"at\": 1, \"cancel\": \"late\"},"
            "             {\"at\": 2, \"invalidate\": \"k\"},"
            "             {\"at\": 3, \"submit\": [{\"task\": \"t\", \"label\": \"more_{i}\","
            "                                     \"needs\": [\"k\"], \"repeat\": 2}]},"
            "             {\"at\": 4, \"submit\": [{\"task\": \"t\", \"produces\": [\"k\"]}]}]}");
    cr_assert_eq(sim_run(s), SIM_DONE);
    const sim_summary *sm = sim_get_summary(s);
    cr_assert_eq(sm->submitted, 5);
    cr_assert_eq(sm->cancelled, 1);
    cr_assert_eq(sm->completed, 4);
    cr_assert_eq(sm->invalidations, 1);
    char buf[128];
    cr_assert_str_eq(describe(s, 3, buf, sizeof buf), "t|more_0|k|");
    /* The two submitted at t=3 waited for the resubmitted producer (t=4). */
    cr_assert_float_eq(rc_to_seconds(rc_work_started(rc_get(sim_cue(s), 3))), 4.1, 1e-9);
    sim_free(s);
}

#define NEW(x) "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\"}]" x "}"
static const struct error_case SCHEMA_GROWTH_CASES[] = {
    {"bad index expression",
     "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"needs\": [\"a/{i-}\"], "
     "\"repeat\": 2}]}",
     "test.json: work[0].needs[0]: bad index expression in 'a/{i-}'", NULL},
    {"index width too large",
     "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"label\": \"{i21}\", "
     "\"repeat\": 2}]}",
     "work[0].label: bad index expression", NULL},
    {"modulus zero",
     "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"produces\": [\"{i%0}\"], "
     "\"repeat\": 2}]}",
     "work[0].produces[0]: bad index expression", NULL},
    {"negative delay",
     "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"delay_s\": -1}]}",
     "test.json: work[0].delay_s: must be a number of seconds from 0 to 1e9 (got -1)", NULL},
    {"not_before a string",
     "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"not_before\": \"1\"}]}",
     "work[0].not_before: must be a virtual time in seconds", "(got '1')"},
    {"retry without attempts",
     "{\"tasks\": [{\"name\": \"t\", \"retry\": {\"backoff_s\": 1}}], \"work\": [{\"task\": "
     "\"t\"}]}",
     "test.json: tasks[0].retry: missing required key 'attempts'", NULL},
    {"retry attempts 0",
     "{\"tasks\": [{\"name\": \"t\", \"retry\": {\"attempts\": 0}}], \"work\": [{\"task\": "
     "\"t\"}]}",
     "tasks[0].retry.attempts: must be a whole number from 1 to 100 (got 0)", NULL},
    {"retry misspelt",
     "{\"tasks\": [{\"name\": \"t\", \"retry\": {\"attempts\": 2, \"backof_s\": 1}}], "
     "\"work\": [{\"task\": \"t\"}]}",
     "tasks[0].retry: unknown key 'backof_s' (did you mean 'backoff_s'?)", NULL},
    {"retry exponential a number",
     "{\"tasks\": [{\"name\": \"t\", \"retry\": {\"attempts\": 2, \"exponential\": 1}}], "
     "\"work\": [{\"task\": \"t\"}]}",
     "tasks[0].retry.exponential: must be true or false (got 1)", NULL},
    {"actions an object", NEW(", \"actions\": {}"), "test.json: actions: must be an array", NULL},
    {"action without at", NEW(", \"actions\": [{\"cancel\": \"x\"}]"),
     "test.json: actions[0]: missing required key 'at'", NULL},
    {"action at negative", NEW(", \"actions\": [{\"at\": -2, \"cancel\": \"x\"}]"),
     "actions[0].at: must be a virtual time in seconds from 0 to 1e9 (got -2)", NULL},
    {"action with two kinds",
     NEW(", \"actions\": [{\"at\": 1, \"cancel\": \"x\", \"invalidate\": \"k\"}]"),
     "actions[0]: needs exactly one of 'cancel', 'invalidate' or 'submit' (got 2)", NULL},
    {"action with none", NEW(", \"actions\": [{\"at\": 1}]"),
     "actions[0]: needs exactly one of 'cancel', 'invalidate' or 'submit' (got 0)", NULL},
    {"action misspelt", NEW(", \"actions\": [{\"at\": 1, \"cancle\": \"x\"}]"),
     "actions[0]: unknown key 'cancle' (did you mean 'cancel'?)", NULL},
    {"action cancel empty", NEW(", \"actions\": [{\"at\": 1, \"cancel\": \"\"}]"),
     "actions[0].cancel: must be a non-empty string", NULL},
    {"action submit empty", NEW(", \"actions\": [{\"at\": 1, \"submit\": []}]"),
     "actions[0].submit: must list at least one work item", NULL},
    {"action submit unknown task",
     NEW(", \"actions\": [{\"at\": 1, \"submit\": [{\"task\": \"u\"}]}]"),
     "test.json: actions[0].submit[0].task: unknown task 'u'", NULL},
    {"action cancel of a label no work has",
     "{\"tasks\": [{\"name\": \"t\"}], \"work\": [{\"task\": \"t\", \"label\": \"model\"}, "
     "{\"task\": \"t\", \"label\": \"step_{i}\", \"repeat\": 3}], "
     "\"actions\": [{\"at\": 1, \"cancel\": \"step_2\"}, {\"at\": 1, \"cancel\": \"modle\"}]}",
     "test.json: actions[1].cancel: no work is labelled 'modle' (did you mean 'model'?)", NULL},
};
#undef NEW

Test(scenario_file, schema_growth)
{
    RUN_ERROR_CASES(SCHEMA_GROWTH_CASES);
}

/* ---- the built-in scenarios make room for their keys ---- */

static size_t key_room(sim *s)
{
    size_t room = 0;
    rc_key_counts(sim_cue(s), NULL, &room);
    return room;
}

/* The key table's room once `name` is built and started: none is made
 * before the start (a scenario only loaded costs nothing). */
static size_t room_after_start(sim *s, const char *name)
{
    const scenario *sc = scenario_find(name);
    cr_assert_not_null(sc);
    cr_assert_eq(sc->build(s), 0, "%s", sim_errmsg(s));
    cr_assert_eq(key_room(s), 0, "%s: room made before the start", name);
    cr_assert_eq(sim_start(s), 0);
    return key_room(s);
}

Test(scenario_file, builtins_submitted_at_once_make_room_for_every_key_up_front)
{
    static const struct {
        const char *name;
        size_t keys_per_item;
    } cases[] = {{"pipeline", 3}, {"fanout", 7}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sim_config cfg;
        sim_config_defaults(&cfg);
        cfg.seed = 3;
        cfg.count = 2000;
        cfg.latency_ms = 0;
        sim *s = new_sim_with(&cfg);
        const size_t room = room_after_start(s, cases[i].name);
        cr_assert_geq(room, 2000 * cases[i].keys_per_item, "%s: room %zu", cases[i].name, room);
        cr_assert_eq(sim_run_until(s, RC_TIME_NEVER), SIM_DONE);
        cr_assert_eq(key_room(s), room, "%s: the table grew during the run", cases[i].name);
        sim_free(s);
    }
}

Test(scenario_file, builtins_with_a_submit_rate_make_no_room_up_front)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 3;
    cfg.count = 2000;
    cfg.submit_rate = 100;
    sim *s = new_sim_with(&cfg);
    cr_assert_eq(room_after_start(s, "pipeline"), 0, "keys come and go: no room made");
    sim_free(s);
}

Test(scenario_file, reserve_keys_is_bounded_and_counts_initial_work_too)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 3;
    sim *s = new_sim_with(&cfg);
    sim_profile p = {1, 0, 0, 1, 0};
    cr_assert_eq(sim_add_service(s, "svc", 1, 0, 0), 0);
    cr_assert_eq(sim_add_task(s, "t", "svc", &p, NULL, NULL), 0);
    sim_work_spec spec = {"t", NULL, NULL, 0, NULL, 0, NULL};
    for (int i = 0; i < 10; i++) cr_assert_eq(sim_add_initial(s, &spec), 0);
    sim_reserve_keys(s, 50, 100); /* 10 items x 50, and 100 more */
    cr_assert_eq(key_room(s), 0, "made at the start");
    cr_assert_eq(sim_start(s), 0);
    const size_t room = key_room(s);
    cr_assert_geq(room, 600);
    cr_assert_lt(room, 2 * 600 / 0.7 + 2, "about the room asked for: %zu", room);
    sim_free(s);
    /* Items added after the hint count too; a later hint replaces it; and
     * however large the product, the room stops at 2^26 keys. */
    sim_config cfg2;
    sim_config_defaults(&cfg2);
    cfg2.seed = 3;
    s = new_sim_with(&cfg2);
    cr_assert_eq(sim_add_service(s, "svc", 1, 0, 0), 0);
    cr_assert_eq(sim_add_task(s, "t", "svc", &p, NULL, NULL), 0);
    sim_reserve_keys(s, 7, 0);
    sim_reserve_keys(s, UINT64_MAX, UINT64_MAX);
    for (int i = 0; i < 3; i++) cr_assert_eq(sim_add_initial(s, &spec), 0);
    cr_assert_eq(sim_start(s), 0);
    const size_t capped = key_room(s);
    cr_assert_geq(capped, (size_t)1 << 26);
    cr_assert_lt(capped, (size_t)1 << 27, "room %zu", capped);
    sim_free(s);
}

Test(scenario_file, a_file_makes_room_for_the_keys_its_repeated_work_produces)
{
    sim *s = new_sim();
    load_ok(s, "{\"tasks\": [{\"name\": \"t\"}],"
               " \"work\": ["
               "  {\"task\": \"t\", \"produces\": [\"a/{i}\", \"b/{i}\"], \"repeat\": 3000},"
               "  {\"task\": \"t\", \"produces\": [\"same\"], \"repeat\": 20000},"
               "  {\"task\": \"t\", \"label\": \"x{i}\", \"needs\": [\"in/fixed\"],"
               "   \"produces\": [\"fixed\"], \"repeat\": 20000}]}");
    cr_assert_eq(sim_start(s), 0);
    const size_t room = key_room(s);
    /* 6000 keys from the first item, one from the second (no index), one
     * from the third (its label holds the index, its produce not). */
    cr_assert_geq(room, 6002, "room %zu", room);
    cr_assert_lt(room, 2 * 6002 / 0.7 + 2, "room %zu: the same key counted once", room);
    sim_free(s);
}
