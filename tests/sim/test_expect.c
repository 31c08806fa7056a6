/* test_expect.c -- expectations (scenarios/expect.c): what parses and what is
 * refused with which one-line message; names checked against the scenario
 * (libsim's label templates); verdicts with expected and actual values.
 * Also the pieces of the regression checks in libsim: the JUnit writer's
 * escaping of hostile strings and the golden comparison. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"
#include "golden.h"
#include "junit.h"
#include "scenario_file.h"
#include "sim.h"

/* ---- helpers ---- */

static const char DIAMOND[] =
    "{\"services\": [{\"name\": \"api\", \"concurrent\": 2, \"rate\": \"1/1\"},"
    "                {\"name\": \"local\"}],"
    " \"tasks\": [{\"name\": \"fetch\", \"service\": \"api\", \"latency_ms\": 200, \"jitter\": 0},"
    "           {\"name\": \"combine\", \"service\": \"local\", \"latency_ms\": 50, \"jitter\": "
    "0}],"
    " \"work\": [{\"task\": \"fetch\", \"label\": \"fetch_{i}\", \"produces\": [\"doc/{i}\"],"
    "            \"repeat\": 2},"
    "           {\"task\": \"combine\", \"label\": \"combine\", \"needs\": [\"doc/0\", "
    "\"doc/1\"]}]}";

static sim *diamond(void)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 1;
    sim *s = NULL;
    cr_assert_eq(sim_new(&s, &cfg), 0);
    char err[512];
    cr_assert_eq(scenario_file_load_string(s, "d.json", DIAMOND, err, sizeof err), 0, "%s", err);
    return s;
}

static bool one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20) return false;
    return true;
}

/* ---- parsing ---- */

Test(expect_parse, accepts_every_kind)
{
    static const char *const ok[] = {
        "no stall",
        "stall",
        "stall cycle A B",
        "stall cycle 'a b', \"c,d\"",
        "stall missing stats/summary",
        "stall failed item_0004",
        "duration <= 5",
        "duration<=5s",
        "duration < 500ms",
        "throughput >= 20/s",
        "throughput > 2.5",
        "queue_wait.p50 < 1",
        "queue_wait.p95 <= 2s",
        "run_time.p99 == 0.1",
        "completed == 61",
        "completed = 61",
        "failed != 0",
        "retries <= 3",
        "violations == 0",
        "submitted > 1",
        "skipped == 0",
        "cancelled == 0",
        "pending == 2",
        "running == 0",
        "invalidations >= 1",
        "service api peak_in_flight <= 2",
        "service 'my api' queue_wait.p95 <= 1.5s",
        "service api throughput > 1/s",
        "service api completed == 2",
        "service api failed == 0",
        "service api violations == 0",
        "label report completes before t=4",
        "label report completes before t = 4",
        "label report completes before 4s",
        "label report starts after 100ms",
        "label report starts after store_19 completes",
        "label report starts after label store_19 completes",
        "label 'a b' completes before \"c d\" starts",
        "\tno\tstall\t",
    };
    expect_set *set = expect_set_new();
    char err[512];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        cr_expect_eq(expect_add(set, ok[i], "--expect", err, sizeof err), 0, "'%s': %s", ok[i],
                     err);
    cr_assert_eq(expect_count(set), sizeof ok / sizeof *ok);
    cr_assert_str_eq(expect_get(set, 1).text, "stall");
    cr_assert_str_eq(expect_get(set, 1).origin, "--expect");
    cr_assert(!expect_get(set, 1).checked);
    expect_set_free(set);
}

Test(expect_parse, refuses_with_one_line_naming_the_problem)
{
    static const struct {
        const char *text, *part;
    } bad[] = {
        {"", "--expect: '': empty"},
        {"   ", "empty"},
        {"completd == 4", "unknown metric 'completd' (did you mean 'completed'?)"},
        {"queue_wait.p90 < 1", "unknown metric 'queue_wait.p90' (did you mean 'queue_wait.p50'?)"},
        {"peak_in_flight <= 2", "'peak_in_flight' is a figure of a service"},
        {"service api duration < 1", "'duration' is a figure of the whole run"},
        {"service api skipped == 0", "figure of the whole run"},
        {"service", "expected a service name"},
        {"service api", "expected a metric at the end"},
        {"completed", "expected a comparison"},
        {"completed =< 3", "expected a comparison (< <= > >= == !=), got '=<'"},
        {"completed ==", "expected a whole number at the end"},
        {"completed == 3.5", "must be a whole number"},
        {"completed == 3s", "unknown unit 's' (a count has none)"},
        {"duration <= 3h", "unknown unit 'h' (use s or ms)"},
        {"throughput > 3/min", "unknown unit '/min' (use /s)"},
        {"duration <= -1", "no sign"},
        {"duration <= nan", "expected a number of seconds, got 'nan'"},
        {"duration <= inf", "got 'inf'"},
        {"duration <= 1e300", "got '1e300'"},
        {"duration <= 'five'", "got the name 'five'"},
        {"duration <= 5 or so", "unexpected 'or' at the end"},
        {"no", "'no' must be followed by 'stall'"},
        {"no stall please", "unexpected 'please'"},
        {"stall cycle", "needs the labels"},
        {"stall missing", "expected an artifact key at the end"},
        {"stall failed a b", "unexpected 'b'"},
        {"stall forever", "after 'stall'"},
        {"label", "expected a label at the end"},
        {"label x", "expected 'starts' or 'completes' at the end"},
        {"label x ends", "expected 'starts' or 'completes', got 'ends'"},
        {"label x starts", "expected 'before' or 'after' at the end"},
        {"label x starts during y", "got 'during'"},
        {"label x starts after", "expected a time or a label at the end"},
        {"label x starts after y", "expected 'starts' or 'completes' at the end"},
        {"label x starts after t=", "expected a time at the end"},
        {"label x starts after y completes now", "unexpected 'now'"},
        {"label 'x completes before 3", "a quote ' is not closed"},
        {"label '' completes before 3", "an empty name in quotes"},
        {"label 'x'y completes before 3", "a closing quote must be followed by a space"},
        {"label x\x01 completes before 3", "a control character"},
        {"label <= completes before 3", "expected a label, got '<='"},
    };
    expect_set *set = expect_set_new();
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[512] = "";
        cr_expect_eq(expect_add(set, bad[i].text, "--expect", err, sizeof err), RC_EINVAL, "'%s'",
                     bad[i].text);
        cr_expect(strstr(err, bad[i].part) != NULL, "'%s': got '%s', wanted '%s'", bad[i].text, err,
                  bad[i].part);
        cr_expect(one_line(err), "'%s': not one line: %s", bad[i].text, err);
        cr_expect(strncmp(err, "--expect: ", 10) == 0, "%s", err);
    }
    cr_assert_eq(expect_count(set), 0, "nothing was added");
    expect_set_free(set);
}

Test(expect_parse, bounds)
{
    expect_set *set = expect_set_new();
    char err[512], text[2048];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = 0;
    cr_assert_eq(expect_add(set, text, "--expect", err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "an expectation of 2047 bytes (at most 1024)"), "%s", err);
    /* Too many words. */
    strcpy(text, "stall cycle");
    for (int i = 0; i < 100; i++)
        strcat(text, " a");
    cr_assert_eq(expect_add(set, text, "--expect", err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "too many words"), "%s", err);
    /* A word as long as the text: fine. */
    memset(text, 0, sizeof text);
    strcpy(text, "stall missing ");
    memset(text + 14, 'k', 1000);
    cr_assert_eq(expect_add(set, text, "--expect", err, sizeof err), 0, "%s", err);
    for (int i = 1; i < EXPECT_MAX; i++)
        cr_assert_eq(expect_add(set, "no stall", "--expect", err, sizeof err), 0);
    cr_assert_eq(expect_add(set, "no stall", "--expect", err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "too many expectations (at most 1000)"), "%s", err);
    expect_set_free(set);
}

Test(expect_parse, json_section)
{
    char err[512];
    expect_set *set = expect_set_new();
    cJSON *v = cJSON_Parse("{\"seeds\": [3, 1, 9007199254740992], \"checks\": [\"no stall\"]}");
    cr_assert_eq(expect_add_json(set, v, "f.json", err, sizeof err), 0, "%s", err);
    const uint64_t *seeds;
    cr_assert_eq(expect_seeds(set, &seeds), 3);
    cr_assert_eq(seeds[0], 3);
    cr_assert_eq(seeds[2], 9007199254740992ull);
    cr_assert_str_eq(expect_get(set, 0).origin, "f.json: expect.checks[0]");
    cJSON_Delete(v);

    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"5", "f.json: expect: must be an array of expectations or an object"},
        {"[\"no stall\", 1]", "f.json: expect[1]: must be a non-empty string (got a number)"},
        {"[\"\"]", "f.json: expect[0]: must be a non-empty string (got a string)"},
        {"[\"nostall\"]", "f.json: expect[0]: 'nostall': unknown metric"},
        {"{\"check\": []}", "f.json: expect: unknown key 'check' (did you mean 'checks'?)"},
        {"{\"seeds\": [1], \"seeds\": [2]}", "f.json: expect: key 'seeds' appears twice"},
        {"{\"seeds\": []}", "f.json: expect.seeds: must be an array of at least one seed"},
        {"{\"seeds\": [-1]}", "f.json: expect.seeds: [0]: must be a whole number from 0 to 2^53"},
        {"{\"seeds\": [1e300]}", "[0]: must be a whole number"},
        {"{\"seeds\": [\"1\"]}", "[0]: must be a whole number"},
        {"{\"checks\": {}}", "f.json: expect.checks: must be an array of strings (got an object)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = cJSON_Parse(bad[i].json);
        cr_assert_not_null(v, "%s", bad[i].json);
        *err = 0;
        cr_expect_eq(expect_add_json(set, v, "f.json", err, sizeof err), RC_EINVAL, "%s",
                     bad[i].json);
        cr_expect(strstr(err, bad[i].msg) != NULL && strncmp(err, "f.json: expect", 14) == 0,
                  "%s: got '%s'", bad[i].json, err);
        cJSON_Delete(v);
    }
    expect_set_free(set);
}

/* ---- names: the label catalogue and prepare ---- */

Test(expect_labels, templates_match_without_expanding)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim *s = NULL;
    cr_assert_eq(sim_new(&s, &cfg), 0);
    char hint[96];
    cr_assert_eq(sim_label_known(s, "anything", hint, sizeof hint), SIM_LABEL_UNDECLARED);
    cr_assert_eq(sim_declare_labels(s, "x_{i4}", 12, 0), 0);
    cr_assert_eq(sim_declare_labels(s, "api_{i}", 1500, 3), 0);
    cr_assert_eq(sim_declare_labels(s, "p{i}/q{i}", 10, 0), 0);
    cr_assert_eq(sim_declare_labels(s, "a{i}1", 200, 0), 0);
    cr_assert_eq(sim_declare_labels(s, "plain {i}", 0, 0), 0); /* count 0: literal */
    cr_assert_eq(sim_declare_labels(s, "", 1, 0), RC_EINVAL);
    static const struct {
        const char *label;
        bool known;
    } cases[] = {
        {"x_0000", true},    {"x_0011", true},   {"x_0012", false},
        {"x_011", false},    {"x_00011", false}, {"x_", false},
        {"api_007", true},   {"api_7", false},   {"api_1499", true},
        {"api_1500", false}, {"p3/q3", true},    {"p3/q4", false},
        {"a121", true},      {"a1991", true},    {"a2001", false},
        {"plain {i}", true}, {"plain 0", false}, {"x_99999999999999999999999", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_expect_eq(sim_label_known(s, cases[i].label, hint, sizeof hint) == SIM_LABEL_KNOWN,
                     cases[i].known, "%s", cases[i].label);
    cr_assert_eq(sim_label_known(s, "y_0007", hint, sizeof hint), SIM_LABEL_UNKNOWN);
    cr_assert_str_eq(hint, " (did you mean 'x_0007'?)");
    sim_free(s);
}

Test(expect_labels, every_index_expression_of_a_file_matches)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    sim *s = NULL;
    cr_assert_eq(sim_new(&s, &cfg), 0);
    char hint[96];
    cr_assert_eq(sim_declare_labels(s, "store_{i2+1}", 10, 0), 0);   /* store_01 .. store_10 */
    cr_assert_eq(sim_declare_labels(s, "step_{i-1}", 3, 0), 0);      /* step_-1, step_0, step_1 */
    cr_assert_eq(sim_declare_labels(s, "ring_{i+1%5}", 1000, 0), 0); /* ring_0 .. ring_4 */
    /* w002/0, w003/1, w000/2, w001/3, ... */
    cr_assert_eq(sim_declare_labels(s, "w{i3-2%4}/{i}", 6, 0), 0);
    cr_assert_eq(sim_declare_labels(s, "pair_{i%2}_{i%3}", 4, 0), 0);
    static const struct {
        const char *label;
        bool known;
    } cases[] = {
        {"store_01", true}, {"store_10", true}, {"store_00", false}, {"store_11", false},
        {"store_1", false}, {"step_-1", true},  {"step_1", true},    {"step_2", false},
        {"step_-2", false}, {"ring_0", true},   {"ring_4", true},    {"ring_5", false},
        {"ring_04", false}, {"w002/0", true},   {"w001/3", true},    {"w001/5", false},
        {"w1/5", false},    {"pair_1_0", true}, {"pair_0_0", true},  {"pair_1_2", false},
        {"pair_0_2", true}, {"pair_1_1", true}, {"ring_0x", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_expect_eq(sim_label_known(s, cases[i].label, hint, sizeof hint) == SIM_LABEL_KNOWN,
                     cases[i].known, "%s", cases[i].label);
    sim_free(s);
}

Test(expect_prepare, names_checked_against_the_scenario)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"label fetch_2 completes before 1", "unknown label 'fetch_2' (did you mean 'fetch_1'?)"},
        {"label combine starts after combien completes",
         "unknown label 'combien' (did you mean 'combine'?)"},
        {"stall cycle fetch_0 comb", "unknown label 'comb'"},
        {"stall failed fetchh_0", "unknown label 'fetchh_0' (did you mean 'fetch_0'?)"},
        {"service apii completed == 1", "unknown service 'apii' (did you mean 'api'?)"},
        {"service lokal run_time.p50 < 1", "unknown service 'lokal' (did you mean 'local'?)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sim *s = diamond();
        expect_set *set = expect_set_new();
        char err[512];
        cr_assert_eq(expect_add(set, bad[i].text, "x.json: expect[0]", err, sizeof err), 0, "%s",
                     err);
        cr_expect_eq(expect_prepare(set, s, false, err, sizeof err), RC_EINVAL, "%s", bad[i].text);
        cr_expect(strstr(err, bad[i].msg) != NULL, "'%s': got '%s'", bad[i].text, err);
        cr_expect(strncmp(err, "x.json: expect[0]: '", 20) == 0, "%s", err);
        expect_set_free(set);
        sim_free(s);
    }
}

/* Run the diamond with these expectations; returns the set, checked. */
static expect_set *run_diamond(const char *const *texts, size_t n, bool defaults)
{
    sim *s = diamond();
    expect_set *set = expect_set_new();
    char err[512];
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(expect_add(set, texts[i], "t", err, sizeof err), 0, "%s", err);
    cr_assert_eq(expect_prepare(set, s, defaults, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sim_run(s), SIM_DONE);
    expect_check(set, s);
    sim_free(s);
    return set;
}

Test(expect_check, verdicts_with_expected_and_actual)
{
    /* fetch_0 and fetch_1 start at 0 and 1 (rate 1/1), finish at 0.2 and
     * 1.2; combine runs 1.2 .. 1.25.  Queue waits count from submission
     * (t=0): 0, 1 and 1.2. */
    static const struct {
        const char *text;
        bool held;
        const char *expected, *actual;
    } cases[] = {
        {"completed == 3", true, "== 3", "3"},
        {"completed > 3", false, "> 3", "3"},
        {"duration <= 1.25", true, "<= 1.25s", "1.25s"},
        {"duration < 1250ms", false, "< 1.25s", "1.25s"},
        {"throughput >= 2.4/s", true, ">= 2.4/s", "2.4/s"},
        {"queue_wait.p99 == 1.2", true, "== 1.2s", "1.2s"},
        {"queue_wait.p50 == 1", true, "== 1s", "1s"},
        {"run_time.p50 == 0.2", true, "== 0.2s", "0.2s"},
        {"service api queue_wait.p95 == 1", true, "== 1s", "1s"},
        {"service local queue_wait.p95 == 1.2", true, "== 1.2s", "1.2s"},
        {"service local run_time.p99 < 0.05", false, "< 0.05s", "0.05s"},
        {"service api throughput == 1.6", true, "== 1.6/s", "1.6/s"},
        {"service api peak_in_flight == 1", true, "== 1", "1"},
        {"service api completed == 2", true, "== 2", "2"},
        {"no stall", true, "no stall", "no stall (the run ended at t=1.25s)"},
        {"stall", false, "a stall", "no stall (the run ended at t=1.25s)"},
        {"label combine starts after fetch_1 completes", true,
         "'combine' starts at or after 'fetch_1' completes",
         "the first start at t=1.2s, 'fetch_1' completes at t=1.2s"},
        {"label fetch_1 starts before fetch_0 completes", false,
         "'fetch_1' starts at or before 'fetch_0' completes",
         "the last start at t=1s, 'fetch_0' completes at t=0.2s"},
        {"label combine completes before t=1.25", true, "'combine' completes at or before t=1.25s",
         "the last completion at t=1.25s"},
        {"label fetch_1 starts after 1001ms", false, "'fetch_1' starts at or after t=1.001s",
         "the first start at t=1s"},
    };
    size_t n = sizeof cases / sizeof *cases;
    const char *texts[sizeof cases / sizeof *cases];
    for (size_t i = 0; i < n; i++)
        texts[i] = cases[i].text;
    expect_set *set = run_diamond(texts, n, true);
    cr_assert_eq(expect_count(set), n + 1, "the default violations == 0 was added");
    for (size_t i = 0; i < n; i++) {
        expect_result r = expect_get(set, i);
        cr_expect(r.checked);
        cr_expect_eq(r.held, cases[i].held, "%s: %s / %s", r.text, r.expected, r.actual);
        cr_expect_str_eq(r.expected, cases[i].expected, "%s", r.text);
        cr_expect_str_eq(r.actual, cases[i].actual, "%s", r.text);
    }
    expect_result d = expect_get(set, n);
    cr_assert_str_eq(d.text, "violations == 0");
    cr_assert_str_eq(d.origin, "default");
    cr_assert(d.held);
    expect_set_free(set);
}

Test(expect_check, merge_keeps_order_and_seeds)
{
    expect_set *a = expect_set_new(), *b = expect_set_new();
    char err[256];
    cr_assert_eq(expect_add(a, "no stall", "a", err, sizeof err), 0);
    cr_assert_eq(expect_add(b, "failed == 0", "b", err, sizeof err), 0);
    cJSON *v = cJSON_Parse("{\"seeds\": [5]}");
    cr_assert_eq(expect_add_json(b, v, "b.json", err, sizeof err), 0);
    cJSON_Delete(v);
    cr_assert_eq(expect_merge(a, b), 0);
    cr_assert_eq(expect_count(a), 2);
    cr_assert_eq(expect_count(b), 0);
    cr_assert_str_eq(expect_get(a, 1).text, "failed == 0");
    const uint64_t *seeds;
    cr_assert_eq(expect_seeds(a, &seeds), 1);
    cr_assert_eq(seeds[0], 5);
    expect_set_free(a);
    expect_set_free(b);
}

/* ---- JUnit ---- */

static char *junit_text(const char *s, int attr)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sim_junit_escape(f, s, attr);
    fclose(f);
    return buf;
}

Test(junit, escapes_hostile_strings)
{
    static const struct {
        const char *in;
        int attr;
        const char *out;
    } cases[] = {
        {"<a & \"b\" 'c'>", 1, "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"},
        {"]]>", 0, "]]&gt;"},
        {"tab\there\nline\rcr", 1, "tab&#9;here&#10;line&#13;cr"},
        {"tab\there\nline\rcr", 0, "tab\there\nline&#13;cr"},
        {"bell\x07 esc\x1b del\x7f", 0, "bell\xEF\xBF\xBD esc\xEF\xBF\xBD del\x7f"},
        {"bad \xff byte", 0, "bad \xEF\xBF\xBD byte"},
        {"overlong \xc0\xaf", 0, "overlong \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"surrogate \xed\xa0\x80", 0, "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"cut \xe4\xb8", 0, "cut \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"nonchar \xef\xbf\xbe \xef\xbf\xbf", 0, "nonchar \xEF\xBF\xBD \xEF\xBF\xBD"},
        {"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 1, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"},
        {"", 1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = junit_text(cases[i].in, cases[i].attr);
        cr_expect_str_eq(got, cases[i].out, "case %zu", i);
        free(got);
    }
}

Test(junit, document_counts_and_structure)
{
    sim_junit_case cases[] = {
        {.name = "ok"},
        {.name = "bad <one>", .classname = "c", .failure = "expected 1, got 2", .time_s = 1.5},
        {.name = "broken", .error = "cannot load \x01", .output = "out & about", .time_s = -3},
    };
    sim_junit_suite suites[] = {{"s<1>", cases, 3, 2.25}, {"empty", NULL, 0, NAN}};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(sim_junit_write(f, "all", suites, 2), 0);
    fclose(f);
    const char *want =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites name=\"all\" tests=\"3\" failures=\"1\" errors=\"1\" time=\"2.250000\">\n"
        "  <testsuite name=\"s&lt;1&gt;\" tests=\"3\" failures=\"1\" errors=\"1\" "
        "time=\"2.250000\" skipped=\"0\">\n"
        "    <testcase name=\"ok\" classname=\"s&lt;1&gt;\" time=\"0.000000\"/>\n"
        "    <testcase name=\"bad &lt;one&gt;\" classname=\"c\" time=\"1.500000\">\n"
        "      <failure message=\"expected 1, got 2\" type=\"failure\">expected 1, got "
        "2</failure>\n"
        "    </testcase>\n"
        "    <testcase name=\"broken\" classname=\"s&lt;1&gt;\" time=\"0.000000\">\n"
        "      <error message=\"cannot load \xEF\xBF\xBD\" type=\"error\">cannot load "
        "\xEF\xBF\xBD</error>\n"
        "      <system-out>out &amp; about</system-out>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "  <testsuite name=\"empty\" tests=\"0\" failures=\"0\" errors=\"0\" time=\"0.000000\" "
        "skipped=\"0\">\n"
        "  </testsuite>\n"
        "</testsuites>\n";
    cr_assert_str_eq(buf, want);
    free(buf);
    cr_assert_eq(sim_junit_write(NULL, "x", NULL, 0), RC_EINVAL);
}

/* ---- golden ---- */

static FILE *from(const char *text)
{
    FILE *f = tmpfile();
    fputs(text, f);
    rewind(f);
    return f;
}

static int compare(const char *want, const char *got, char **report)
{
    FILE *a = from(want), *b = from(got);
    size_t len = 0;
    FILE *out = open_memstream(report, &len);
    int rc = sim_golden_compare(a, b, "g.jsonl", out);
    fclose(out);
    fclose(a);
    fclose(b);
    return rc;
}

#define REC(t, ev)                                                                                 \
    "{\"t\":" t ",\"event\":\"" ev                                                                 \
    "\",\"task\":\"w\",\"service\":null,\"work_id\":\"1\",\"detail\":null}\n"

Test(golden, a_difference_shows_control_characters_as_marks)
{
    char *report = NULL;
    /* ESC, a C1 CSI (C2 9B) and DEL in the run's line; a no-break space
     * (C2 A0) and a euro sign are text. */
    cr_assert_eq(compare("{\"t\":1}\n",
                         "{\"t\":1,\"x\":\"\x1b[2J\xc2\x9b" "1m\x7f\xc2\xa0\x9b" "3m\xe2\x82\xac\"}\n",
                         &report),
                 1);
    /* A lone 9B (CSI to a Latin-1 terminal) too; the 82 in a euro sign
     * (E2 82 AC) is part of a character. */
    cr_assert(strstr(report, "?[2J??1m?\xc2\xa0?3m\xe2\x82\xac"), "%s", report);
    for (const char *p = report; *p; p++) {
        const unsigned char c = (unsigned char)*p;
        cr_assert(c >= 0x20 || c == '\n', "a control byte 0x%02x in the report", c);
        cr_assert(c != 0x7f && !(c == 0xc2 && (unsigned char)p[1] >= 0x80 &&
                                 (unsigned char)p[1] <= 0x9f));
    }
    free(report);
}

Test(golden, same_and_different)
{
    char *report = NULL;
    const char *a = REC("0.1", "queued") REC("0.2", "started") REC("0.3", "completed");
    cr_assert_eq(compare(a, a, &report), 0);
    cr_assert_str_eq(report, "");
    free(report);
    cr_assert_eq(compare("", "", &report), 0);
    free(report);

    const char *b =
        REC("0.1", "queued") REC("0.2", "started") REC("0.3", "failed") REC("0.4", "stalled");
    cr_assert_eq(compare(a, b, &report), 1);
    cr_assert(strstr(report, "golden: g.jsonl: the run differs at line 3 (t=0.3):\n"), "%s",
              report);
    cr_assert(strstr(report, "  expected: " REC("0.3", "completed")), "%s", report);
    cr_assert(strstr(report, "  found:    " REC("0.3", "failed")), "%s", report);
    cr_assert(strstr(report, "           1  " REC("0.1", "queued")), "%s", report);
    cr_assert(strstr(report, "  -        3  " REC("0.3", "completed")), "%s", report);
    cr_assert(strstr(report, "  +        4  " REC("0.4", "stalled")), "%s", report);
    cr_assert(strstr(report, "from line 3 on: 1 events expected, 2 found; by kind (expected -> "
                             "found): completed 1 -> 0, failed 0 -> 1, stalled 0 -> 1\n"),
              "%s", report);
    free(report);

    /* The recording is longer: the run's side shows the end. */
    cr_assert_eq(compare(b, a, &report), 1);
    cr_assert(strstr(report, "  -        4  " REC("0.4", "stalled")), "%s", report);
    free(report);
    cr_assert_eq(compare(a, REC("0.1", "queued"), &report), 1);
    cr_assert(strstr(report, "  found:    (end of log)\n"), "%s", report);
    free(report);
}

Test(golden, long_and_hostile_lines)
{
    size_t n = SIM_GOLDEN_LINE_MAX * 2;
    char *x = malloc(n + 2), *y = malloc(n + 2);
    memset(x, 'a', n);
    x[n] = '\n';
    x[n + 1] = 0;
    memcpy(y, x, n + 2);
    char *report = NULL;
    cr_assert_eq(compare(x, y, &report), 0, "long identical lines are the same");
    free(report);
    y[n - 1] = 'b'; /* past the kept prefix */
    cr_assert_eq(compare(x, y, &report), 1, "a difference past the prefix is seen");
    cr_assert(strstr(report, "...\n"), "a long line is shown cut");
    free(report);
    free(x);
    free(y);
    cr_assert_eq(compare("{\"t\":1,\"event\":\"\x01\x02\"}\n", "x\n", &report), 1);
    for (const char *p = report; *p; p++)
        cr_assert((unsigned char)*p >= 0x20 || *p == '\n', "no control character echoed");
    cr_assert(strstr(report, "the same number of each kind"), "%s", report);
    free(report);
}

/* An endless input given as the recording (/dev/zero, a pipe that never
 * ends) is read up to the limit, then refused in words; a log of exactly
 * the limit is compared as usual, one byte more is refused. */
Test(golden, endless_inputs_stop_at_the_byte_limit, .timeout = 30)
{
    enum { LIMIT = 1 << 20 };
    char *report = NULL;
    size_t len = 0;
    FILE *zero = fopen("/dev/zero", "r"), *ok = from(REC("0.1", "queued"));
    cr_assert_not_null(zero);
    FILE *out = open_memstream(&report, &len);
    cr_assert_eq(sim_golden_compare_max(zero, ok, "zero", out, LIMIT), RC_EINVAL);
    fclose(out);
    cr_assert(strstr(report, "golden: zero: the recording goes on past 1048576 bytes"), "%s",
              report);
    free(report);
    fclose(zero);
    fclose(ok);

    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        static const char rec[] = REC("0.1", "queued");
        while (write(fds[1], rec, sizeof rec - 1) > 0) {
        }
        _exit(0);
    }
    close(fds[1]);
    FILE *endless = fdopen(fds[0], "r"), *same = from(REC("0.1", "queued"));
    out = open_memstream(&report, &len);
    cr_assert_eq(sim_golden_compare_max(same, endless, "pipe", out, LIMIT), RC_EINVAL);
    fclose(out);
    cr_assert(strstr(report, "the run's log goes on past"), "%s", report);
    free(report);
    fclose(endless); /* the writer gets EPIPE (or SIGPIPE) and leaves */
    fclose(same);
    waitpid(pid, NULL, 0);

    char *text = malloc(LIMIT + 2);
    memset(text, 'a', LIMIT - 1);
    text[LIMIT - 1] = '\n';
    text[LIMIT] = 0;
    FILE *a = from(text), *b = from(text);
    out = open_memstream(&report, &len);
    cr_assert_eq(sim_golden_compare_max(a, b, "edge", out, LIMIT), 0, "%s", report);
    fclose(out);
    free(report);
    fclose(a);
    fclose(b);
    text[LIMIT] = '\n';
    text[LIMIT + 1] = 0;
    a = from(text);
    b = from(text);
    out = open_memstream(&report, &len);
    cr_assert_eq(sim_golden_compare_max(a, b, "edge", out, LIMIT), RC_EINVAL);
    fclose(out);
    free(report);
    fclose(a);
    fclose(b);
    free(text);
}
