/* test_eventlog.c -- the event log's two formats: JSON Lines that parse back
 * to the same strings with stable key order, and text whose columns stay put
 * for any record; both byte-deterministic. */
#include <criterion/criterion.h>

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eventlog.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

typedef struct capture {
    FILE *fp;
    char *buf;
    size_t len;
} capture;

static void capture_open(capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->fp = open_memstream(&c->buf, &c->len);
    cr_assert_not_null(c->fp);
}

/* Close the stream; c->buf holds everything written (caller frees). */
static void capture_close(capture *c)
{
    cr_assert_eq(fclose(c->fp), 0);
    c->fp = NULL;
}

/* Write all records in the given format; return the bytes (caller frees). */
static char *render(const sim_eventlog_opts *opts, const sim_event_record *recs, size_t n)
{
    capture c;
    capture_open(&c);
    sim_eventlog *log;
    cr_assert_eq(sim_eventlog_open(&log, c.fp, opts), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(sim_eventlog_write(log, &recs[i]), 0, "record %zu", i);
    cr_assert_eq(sim_eventlog_count(log), n);
    cr_assert_eq(sim_eventlog_close(log), 0);
    capture_close(&c);
    return c.buf;
}

static char *render_one(const sim_eventlog_opts *opts, const sim_event_record *rec)
{
    return render(opts, rec, 1);
}

static const sim_eventlog_opts jsonl = {.format = SIM_EVENTLOG_JSONL};
static const sim_eventlog_opts text_utf8 = {.format = SIM_EVENTLOG_TEXT, .utf8 = true};
static const sim_eventlog_opts text_ascii = {.format = SIM_EVENTLOG_TEXT, .utf8 = false};
static const sim_eventlog_opts text_bare = {.format = SIM_EVENTLOG_TEXT, .no_header = true};

/* Records that try to break things: odd bytes, long fields, NULLs, big times. */
static const sim_event_record nasty[] = {
    {12.5, "queued", "api_fetch", "api", "17", "first try"},
    {12.75, "started", "api_fetch", "api", "17", NULL},
    {13.0, "completed", "api_fetch", "api", "17", "250ms"},
    {14.0, "failed", "a\"quoted\\task", NULL, "18", "line1\nline2\ttab\r\x01\x1f\x7f end"},
    {15.0, "invalidated", "caf\xC3\xA9_\xE2\x9C\x93", NULL, NULL, "emoji \xF0\x9F\x98\x80 ok"},
    {16.0, "retry", "a_task_name_that_is_far_too_long_for_its_column", "svc",
     "a-work-id-that-is-also-much-too-long", "attempt 2"},
    {17.0, "pending_warning", NULL, NULL, NULL, NULL},
    {18.0, "stall_warning", NULL, NULL, NULL, "3 pending"},
    {19.0, "an_event_name_longer_than_fifteen", "t", NULL, "w", ""},
    {0.0, "skipped", "bad\xFF\xFEutf8\xC0\xAF", NULL, "\xE2\x9C", "\xED\xA0\x80 surrogate"},
    {-0.0, "cancelled", "", "", "", " "},
    {12345678.9, "timeout", "slow", NULL, "99", "way later"},
    {1e300, "stalled", "x", NULL, "1", "absurd"},
    {-3.25, "queued", "neg", NULL, "2", "before the start"},
    {1e-9, "queued", "tiny", NULL, "3", NULL},
};
#define N_NASTY (sizeof nasty / sizeof nasty[0])

/* Split text into lines (in place); returns how many. */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *p = text; *p && n < max;) {
        char *nl = strchr(p, '\n');
        cr_assert_not_null(nl, "output does not end in a newline");
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

/* The byte offset of character (code point) `col` in a UTF-8 line, or -1 if
 * the line is shorter. */
static long byte_at_col(const char *line, size_t col)
{
    size_t c = 0;
    for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue; /* continuation byte */
        if (c == col) return (long)((const char *)p - line);
        c++;
    }
    return -1;
}

static bool col_is(const char *line, size_t col, const char *what)
{
    const long at = byte_at_col(line, col);
    return at >= 0 && strncmp(line + at, what, strlen(what)) == 0;
}

static bool col_is_space(const char *line, size_t col)
{
    return col_is(line, col, " ");
}

/* ------------------------------------------------------------------ */
/* JSON Lines                                                          */
/* ------------------------------------------------------------------ */

Test(eventlog_jsonl, a_record_is_one_line_with_keys_in_fixed_order)
{
    char *out = render_one(&jsonl, &nasty[0]);
    cr_assert_str_eq(out, "{\"t\":12.500000,\"event\":\"queued\",\"task\":\"api_fetch\","
                          "\"service\":\"api\",\"work_id\":\"17\",\"detail\":\"first try\"}\n");
    free(out);
}

Test(eventlog_jsonl, absent_strings_are_null)
{
    char *out = render_one(&jsonl, &nasty[6]);
    cr_assert_str_eq(out, "{\"t\":17.000000,\"event\":\"pending_warning\",\"task\":null,"
                          "\"service\":null,\"work_id\":null,\"detail\":null}\n");
    free(out);
}

Test(eventlog_jsonl, keys_appear_in_order_on_every_line)
{
    char *out = render(&jsonl, nasty, N_NASTY);
    char *lines[64];
    const size_t n = split_lines(out, lines, 64);
    cr_assert_eq(n, N_NASTY);
    static const char *const keys[] = {
        "{\"t\":", ",\"event\":", ",\"task\":", ",\"service\":", ",\"work_id\":", ",\"detail\":"};
    for (size_t i = 0; i < n; i++) {
        const char *at = lines[i];
        cr_assert(strncmp(at, keys[0], strlen(keys[0])) == 0, "line %zu: %s", i, lines[i]);
        for (size_t k = 1; k < 6; k++) {
            const char *next = strstr(at, keys[k]);
            cr_assert_not_null(next, "line %zu lacks %s", i, keys[k]);
            cr_assert_gt(next, at);
            at = next;
        }
        cr_assert_eq(lines[i][strlen(lines[i]) - 1], '}');
    }
    free(out);
}

static void assert_string_field(const cJSON *obj, const char *key, const char *want, size_t line)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    cr_assert_not_null(item, "line %zu: no key %s", line, key);
    if (!want) {
        cr_assert(cJSON_IsNull(item), "line %zu: %s should be null", line, key);
        return;
    }
    cr_assert(cJSON_IsString(item), "line %zu: %s should be a string", line, key);
    cr_assert_str_eq(item->valuestring, want, "line %zu: %s does not round-trip", line, key);
}

/* Invalid UTF-8 cannot round-trip; it comes back as U+FFFD per bad byte. */
static bool is_valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n;
        if (*p < 0x80)
            n = 1;
        else if (*p >= 0xC2 && *p <= 0xDF)
            n = 2;
        else if (*p >= 0xE0 && *p <= 0xEF)
            n = 3;
        else if (*p >= 0xF0 && *p <= 0xF4)
            n = 4;
        else
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) return false;
        if (n == 3 && p[0] == 0xE0 && p[1] < 0xA0) return false;
        if (n == 3 && p[0] == 0xED && p[1] > 0x9F) return false;
        if (n == 4 && p[0] == 0xF0 && p[1] < 0x90) return false;
        if (n == 4 && p[0] == 0xF4 && p[1] > 0x8F) return false;
        p += n;
    }
    return true;
}

Test(eventlog_jsonl, every_line_parses_and_strings_round_trip)
{
    char *out = render(&jsonl, nasty, N_NASTY);
    char *lines[64];
    const size_t n = split_lines(out, lines, 64);
    cr_assert_eq(n, N_NASTY);
    for (size_t i = 0; i < n; i++) {
        cJSON *obj = cJSON_Parse(lines[i]);
        cr_assert_not_null(obj, "line %zu is not JSON: %s", i, lines[i]);
        cr_assert_eq(cJSON_GetArraySize(obj), 6);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "t");
        cr_assert(cJSON_IsNumber(t));
        cr_assert(fabs(t->valuedouble - nasty[i].t) <= 5e-7 * fmax(1.0, fabs(nasty[i].t)),
                  "line %zu: t %f != %f", i, t->valuedouble, nasty[i].t);
        const char *strings[] = {nasty[i].event, nasty[i].task, nasty[i].service, nasty[i].work_id,
                                 nasty[i].detail};
        const char *keys[] = {"event", "task", "service", "work_id", "detail"};
        for (size_t k = 0; k < 5; k++)
            if (!strings[k] || is_valid_utf8(strings[k]))
                assert_string_field(obj, keys[k], strings[k], i);
        cJSON_Delete(obj);
    }
    free(out);
}

Test(eventlog_jsonl, special_characters_are_escaped_as_specified)
{
    const sim_event_record rec = {1, "failed", "q\"b\\s", NULL, "1", "\n\t\x01\x1f\x7f\xC3\xA9"};
    char *out = render_one(&jsonl, &rec);
    cr_assert(strstr(out, "\"task\":\"q\\\"b\\\\s\""), "%s", out);
    cr_assert(strstr(out, "\"detail\":\"\\u000a\\u0009\\u0001\\u001f\\u007f\xC3\xA9\""), "%s", out);
    free(out);
}

Test(eventlog_jsonl, invalid_utf8_becomes_replacement_characters)
{
    /* a, a stray byte, b, an overlong '/', c, a cut-off 3-byte sequence */
    static const char bad[] = "a\xFF"
                              "b\xC0\xAF"
                              "c\xE2\x9C";
    static const char replaced[] = "a\xEF\xBF\xBD"
                                   "b\xEF\xBF\xBD\xEF\xBF\xBD"
                                   "c\xEF\xBF\xBD\xEF\xBF\xBD";
    const sim_event_record rec = {1, "failed", bad, NULL, NULL, NULL};
    char *out = render_one(&jsonl, &rec);
    cr_assert(strstr(out, "\"task\":\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\""), "%s", out);
    cJSON *obj = cJSON_Parse(out);
    cr_assert_not_null(obj);
    cr_assert_str_eq(cJSON_GetObjectItem(obj, "task")->valuestring, replaced);
    cJSON_Delete(obj);
    free(out);
}

Test(eventlog_jsonl, time_is_fixed_point_with_six_decimals_and_no_exponent)
{
    static const struct {
        double t;
        const char *want;
    } cases[] = {
        {0.0, "0.000000"},
        {-0.0, "0.000000"},
        {1e-9, "0.000000"},
        {-1e-9, "0.000000"},
        {0.0000005, "0.000000"},
        {0.0000015, "0.000002"},
        {12.5, "12.500000"},
        {-3.25, "-3.250000"},
        {3600.123456, "3600.123456"},
        {1e20, "100000000000000000000.000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sim_event_record rec = {cases[i].t, "queued", "x", NULL, NULL, NULL};
        char *out = render_one(&jsonl, &rec);
        char want[128];
        snprintf(want, sizeof want, "{\"t\":%s,", cases[i].want);
        cr_assert(strncmp(out, want, strlen(want)) == 0, "t=%g: %s", cases[i].t, out);
        free(out);
    }
}

Test(eventlog_jsonl, huge_times_stay_plain_decimals)
{
    const sim_event_record rec = {1e300, "queued", "x", NULL, NULL, NULL};
    char *out = render_one(&jsonl, &rec);
    const char *t = out + strlen("{\"t\":");
    const size_t len = strcspn(t, ",");
    cr_assert_eq(strspn(t, "0123456789."), len, "not a plain decimal: %.*s", (int)len, t);
    cr_assert_eq(len, 301 + 7);
    cr_assert(strncmp(t + len - 7, ".000000", 7) == 0);
    cJSON *obj = cJSON_Parse(out);
    cr_assert_not_null(obj);
    cr_assert_eq(cJSON_GetObjectItem(obj, "t")->valuedouble, 1e300);
    cJSON_Delete(obj);
    free(out);
}

/* ------------------------------------------------------------------ */
/* Determinism                                                         */
/* ------------------------------------------------------------------ */

Test(eventlog, same_records_give_the_same_bytes)
{
    const sim_eventlog_opts *all[] = {&jsonl, &text_utf8, &text_ascii, &text_bare};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        char *a = render(all[i], nasty, N_NASTY);
        char *b = render(all[i], nasty, N_NASTY);
        cr_assert_str_eq(a, b, "format %zu differs between runs", i);
        free(a);
        free(b);
    }
}

Test(eventlog, output_does_not_follow_the_numeric_locale)
{
    char *before_json = render(&jsonl, nasty, N_NASTY);
    char *before_text = render(&text_utf8, nasty, N_NASTY);
    static const char *const comma_locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE",
                                                "ru_RU.UTF-8"};
    const char *set = NULL;
    for (size_t i = 0; !set && i < sizeof comma_locales / sizeof comma_locales[0]; i++)
        set = setlocale(LC_NUMERIC, comma_locales[i]);
    if (!set) {
        free(before_json);
        free(before_text);
        cr_skip_test("no locale with a decimal comma is installed");
    }
    char *after_json = render(&jsonl, nasty, N_NASTY);
    char *after_text = render(&text_utf8, nasty, N_NASTY);
    setlocale(LC_NUMERIC, "C");
    cr_assert_str_eq(after_json, before_json);
    cr_assert_str_eq(after_text, before_text);
    free(before_json);
    free(before_text);
    free(after_json);
    free(after_text);
}

Test(eventlog, counts_only_records_written)
{
    capture c;
    capture_open(&c);
    sim_eventlog *log;
    cr_assert_eq(sim_eventlog_open(&log, c.fp, &jsonl), 0);
    cr_assert_eq(sim_eventlog_count(log), 0);
    cr_assert_eq(sim_eventlog_write(log, &nasty[0]), 0);
    cr_assert_eq(sim_eventlog_write(log, &nasty[1]), 0);
    cr_assert_eq(sim_eventlog_count(log), 2);

    const sim_event_record no_event = {1, NULL, "x", NULL, NULL, NULL};
    const sim_event_record nan_time = {NAN, "queued", "x", NULL, NULL, NULL};
    const sim_event_record inf_time = {INFINITY, "queued", "x", NULL, NULL, NULL};
    cr_assert_eq(sim_eventlog_write(log, &no_event), RC_EINVAL);
    cr_assert_eq(sim_eventlog_write(log, &nan_time), RC_EINVAL);
    cr_assert_eq(sim_eventlog_write(log, &inf_time), RC_EINVAL);
    cr_assert_eq(sim_eventlog_write(log, NULL), RC_EINVAL);
    cr_assert_eq(sim_eventlog_count(log), 2);
    cr_assert_eq(sim_eventlog_close(log), 0);
    capture_close(&c);
    char *lines[8];
    cr_assert_eq(split_lines(c.buf, lines, 8), 2, "a rejected record wrote something");
    free(c.buf);
}

Test(eventlog, open_rejects_bad_arguments)
{
    sim_eventlog *log = (sim_eventlog *)&log;
    cr_assert_eq(sim_eventlog_open(&log, NULL, NULL), RC_EINVAL);
    cr_assert_null(log);
    cr_assert_eq(sim_eventlog_open(NULL, stdout, NULL), RC_EINVAL);
    const sim_eventlog_opts bad = {.format = (sim_eventlog_format)7};
    cr_assert_eq(sim_eventlog_open(&log, stdout, &bad), RC_EINVAL);
    cr_assert_eq(sim_eventlog_close(NULL), 0);
}

static void *failing_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) free(p);
    return NULL;
}

Test(eventlog, open_reports_out_of_memory)
{
    const rc_allocator fail = {failing_realloc, NULL};
    const sim_eventlog_opts opts = {.format = SIM_EVENTLOG_TEXT, .alloc = &fail};
    capture c;
    capture_open(&c);
    sim_eventlog *log;
    cr_assert_eq(sim_eventlog_open(&log, c.fp, &opts), RC_ENOMEM);
    cr_assert_null(log);
    capture_close(&c);
    cr_assert_eq(c.len, 0, "nothing should be written when open fails");
    free(c.buf);
}

Test(eventlog, a_failing_file_is_reported)
{
    FILE *ro = fopen("/dev/null", "r");
    cr_assert_not_null(ro);
    sim_eventlog *log;
    cr_assert_eq(sim_eventlog_open(&log, ro, &text_utf8), RC_ESYS);
    cr_assert_eq(sim_eventlog_open(&log, ro, &jsonl), 0);
    cr_assert_eq(sim_eventlog_write(log, &nasty[0]), RC_ESYS);
    cr_assert_eq(sim_eventlog_count(log), 0);
    sim_eventlog_close(log);
    fclose(ro);
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

/* Where each column starts, in characters. */
enum { COL_TIME = 0, COL_EVENT = 13, COL_TASK = 32, COL_WORK = 52, COL_DETAILS = 70 };

Test(eventlog_text, header_and_rule_come_first)
{
    char *out = render(&text_ascii, NULL, 0);
    cr_assert_str_eq(out, "TIME         EVENT              TASK                WORK_ID           "
                          "DETAILS\n"
                          "---------------------------------------------------------------------"
                          "-----------\n");
    free(out);
    out = render(&text_bare, NULL, 0);
    cr_assert_str_eq(out, "");
    free(out);
}

Test(eventlog_text, a_record_looks_like_the_readme)
{
    const sim_event_record recs[] = {
        {12.5, "queued", "api_fetch", "api", "17", "first try"},
        {12.75, "completed", "api_fetch", "api", "17", "250ms"},
        {13.0, "invalidated", "api_fetch", NULL, "17", "checker"},
    };
    char *out = render(&text_bare, recs, 3);
    cr_assert_str_eq(
        out, "    12.500s  + queued           [api_fetch]         17                first try\n"
             "    12.750s  v completed        [api_fetch]         17                250ms\n"
             "    13.000s  ~ invalidated      [api_fetch]         17                checker\n");
    free(out);
    const sim_eventlog_opts utf8_bare = {.utf8 = true, .no_header = true};
    out = render(&utf8_bare, recs, 3);
    cr_assert_str_eq(
        out,
        "    12.500s  + queued           [api_fetch]         17                first try\n"
        "    12.750s  \xE2\x9C\x93 completed        [api_fetch]         17                250ms\n"
        "    13.000s  \xE2\x9F\xB3 invalidated      [api_fetch]         17                "
        "checker\n");
    free(out);
}

Test(eventlog_text, each_kind_has_its_symbol)
{
    static const struct {
        const char *event, *utf8, *ascii;
    } kinds[] = {
        {"queued", "+", "+"},
        {"started", "\xE2\x96\xB6", ">"},
        {"completed", "\xE2\x9C\x93", "v"},
        {"failed", "\xE2\x9C\x97", "x"},
        {"invalidated", "\xE2\x9F\xB3", "~"},
        {"retry", "\xE2\x9F\xB3", "~"},
        {"skipped", "\xC2\xB7", "."},
        {"cancelled", "\xC2\xB7", "."},
        {"pending_warning", "\xC2\xB7", "."},
        {"stall_warning", "\xC2\xB7", "."},
        {"timeout", "\xC2\xB7", "."},
        {"stalled", "\xC2\xB7", "."},
    };
    const sim_eventlog_opts utf8_bare = {.utf8 = true, .no_header = true};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const sim_event_record rec = {1, kinds[i].event, "t", NULL, "1", NULL};
        char want[64];
        char *out = render_one(&utf8_bare, &rec);
        snprintf(want, sizeof want, "%s %s ", kinds[i].utf8, kinds[i].event);
        cr_assert(col_is(out, COL_EVENT, want), "%s: %s", kinds[i].event, out);
        free(out);
        out = render_one(&text_bare, &rec);
        snprintf(want, sizeof want, "%s %s ", kinds[i].ascii, kinds[i].event);
        cr_assert(col_is(out, COL_EVENT, want), "%s: %s", kinds[i].event, out);
        free(out);
    }
}

static void assert_columns_hold(const sim_eventlog_opts *opts)
{
    char *out = render(opts, nasty, N_NASTY);
    char *lines[64];
    const size_t n = split_lines(out, lines, 64);
    cr_assert_eq(n, N_NASTY + 2);
    cr_assert(col_is(lines[0], COL_EVENT, "EVENT "));
    cr_assert(col_is(lines[0], COL_TASK, "TASK "));
    cr_assert(col_is(lines[0], COL_WORK, "WORK_ID "));
    cr_assert(col_is(lines[0], COL_DETAILS, "DETAILS"));
    for (size_t i = 2; i < n; i++) {
        const char *l = lines[i];
        /* time: 11 characters ending in 's', then the gap */
        cr_assert(col_is(l, 10, "s  "), "line %zu: %s", i, l);
        cr_assert(!col_is_space(l, 9), "line %zu: %s", i, l);
        /* event: symbol, space, name; then the gap before the task */
        cr_assert(!col_is_space(l, COL_EVENT), "line %zu: %s", i, l);
        cr_assert(col_is_space(l, COL_EVENT + 1), "line %zu: %s", i, l);
        cr_assert(!col_is_space(l, COL_EVENT + 2), "line %zu: %s", i, l);
        cr_assert(col_is(l, COL_TASK - 2, "  "), "line %zu: %s", i, l);
        /* task: "[...]" or "-" */
        cr_assert(col_is(l, COL_TASK, "[") || col_is(l, COL_TASK, "- "), "line %zu: %s", i, l);
        cr_assert(col_is(l, COL_WORK - 2, "  "), "line %zu: %s", i, l);
        /* work id, then details if any */
        cr_assert(!col_is_space(l, COL_WORK), "line %zu: %s", i, l);
        if (byte_at_col(l, COL_DETAILS) >= 0)
            cr_assert(col_is(l, COL_DETAILS - 2, "  "), "line %zu: %s", i, l);
        /* no trailing spaces, no control characters */
        cr_assert_neq(l[strlen(l) - 1], ' ', "line %zu ends in a space", i);
        for (const unsigned char *p = (const unsigned char *)l; *p; p++)
            cr_assert(*p >= 0x20 && *p != 0x7F, "line %zu has control byte %#x", i, *p);
    }
    free(out);
}

Test(eventlog_text, columns_hold_for_any_record_in_utf8)
{
    assert_columns_hold(&text_utf8);
}

Test(eventlog_text, columns_hold_for_any_record_in_ascii)
{
    assert_columns_hold(&text_ascii);
}

Test(eventlog_text, ascii_mode_writes_only_ascii)
{
    char *out = render(&text_ascii, nasty, N_NASTY);
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        cr_assert_lt(*p, 0x80, "non-ASCII byte %#x at %zu", *p, (size_t)(p - (unsigned char *)out));
    free(out);
}

Test(eventlog_text, utf8_mode_passes_valid_utf8_and_replaces_the_rest)
{
    char *out = render(&text_utf8, nasty, N_NASTY);
    cr_assert(strstr(out, "[caf\xC3\xA9_\xE2\x9C\x93]"), "%s", out);
    cr_assert(strstr(out, "emoji \xF0\x9F\x98\x80 ok"));
    cr_assert(strstr(out, "[bad??utf8??]"), "%s", out);
    cr_assert(strstr(out, "?? surrogate") || strstr(out, "??? surrogate"), "%s", out);
    free(out);
}

Test(eventlog_text, long_fields_are_cut_with_a_marker)
{
    const sim_event_record rec = nasty[5];
    char *out = render_one(&text_bare, &rec);
    cr_assert(strstr(out, "[a_task_name_tha~]  a-work-id-that-~  attempt 2\n"), "%s", out);
    free(out);
    const sim_eventlog_opts utf8_bare = {.utf8 = true, .no_header = true};
    out = render_one(&utf8_bare, &rec);
    cr_assert(
        strstr(out, "[a_task_name_tha\xE2\x80\xA6]  a-work-id-that-\xE2\x80\xA6  attempt 2\n"),
        "%s", out);
    free(out);
}

Test(eventlog_text, control_characters_in_details_become_question_marks)
{
    char *out = render_one(&text_bare, &nasty[3]);
    cr_assert(strstr(out, "line1?line2?tab???? end\n"), "%s", out);
    free(out);
}

Test(eventlog_text, time_is_right_aligned_seconds_with_three_decimals)
{
    static const struct {
        double t;
        const char *want;
    } cases[] = {
        {0.0, "     0.000s"},        {-0.0, "     0.000s"},      {12.5, "    12.500s"},
        {-3.25, "    -3.250s"},      {3599.9996, "  3600.000s"}, {999999.999, "999999.999s"},
        {12345678.9, "  1.23e+07s"}, {1e300, " 1.00e+300s"},     {-1e300, "-1.00e+300s"},
        {-0.0001, "     0.000s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sim_event_record rec = {cases[i].t, "queued", "x", NULL, NULL, NULL};
        char *out = render_one(&text_bare, &rec);
        cr_assert(strncmp(out, cases[i].want, 11) == 0 && out[11] == ' ', "t=%g: '%s' want '%s'",
                  cases[i].t, out, cases[i].want);
        free(out);
    }
}

Test(eventlog_text, missing_task_and_work_id_show_a_dash)
{
    char *out = render_one(&text_bare, &nasty[7]);
    cr_assert_str_eq(out, "    18.000s  . stall_warning    -                   -                 "
                          "3 pending\n");
    free(out);
    out = render_one(&text_bare, &nasty[6]);
    cr_assert_str_eq(out, "    17.000s  . pending_warning  -                   -\n");
    free(out);
}
