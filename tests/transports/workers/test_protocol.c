/* test_protocol.c -- the runqy line protocol as a pure parser and formatter:
 * no process, no loop, no fd.  Each line is copied into a heap buffer of
 * exactly its length (no NUL after it), so a read past the end shows under
 * the address sanitizer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Parse n bytes of s from an exact-size copy. */
static runqy_kind parse(const char *s, size_t n, runqy_phase phase, runqy_reply *r)
{
    char *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, s, n);
    runqy_kind k = runqy_parse_line(copy, n, phase, r);
    free(copy);
    return k;
}

/* The reply's result as compact JSON, or NULL; the caller frees it. */
static char *result_text(const runqy_reply *r)
{
    return r->result ? cJSON_PrintUnformatted(r->result) : NULL;
}

static const char *kind_name(runqy_kind k)
{
    static const char *names[] = {"BLANK",      "GARBAGE", "OVERLONG", "READY",
                                  "LOAD_ERROR", "ANSWER",  "PROGRESS"};
    return (size_t)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define L(s) s, sizeof(s) - 1 /* a literal with its length (embedded NULs kept) */
#define NONE NULL

typedef struct line_case {
    const char *name;
    const char *line;
    size_t len;
    runqy_phase phase;
    runqy_kind kind;
    const char *task_id; /* ANSWER */
    bool failed, retry;
    const char *error;  /* expected error text; NONE: no text */
    const char *result; /* expected result as compact JSON; NONE: no result */
} line_case;

/* Rows: KIND (no answer, no error), ANSWER (a result or none), FAILED (an
 * error text, the retry flag). */
#define KIND(name, lit, phase, kind)                                                               \
    {                                                                                              \
        name, L(lit), phase, kind, NONE, false, false, NONE, NONE                                  \
    }
#define ANSWER(name, lit, id, result)                                                              \
    {                                                                                              \
        name, L(lit), RUNQY_SERVING, RUNQY_ANSWER, id, false, false, NONE, result                  \
    }
#define FAILED(name, lit, phase, kind, id, retry, error)                                           \
    {                                                                                              \
        name, L(lit), phase, kind, id, true, retry, error, NONE                                    \
    }
#define S RUNQY_SERVING
#define LD RUNQY_LOADING

static const line_case cases[] = {
    /* Loading: the status line. */
    KIND("ready", "{\"status\":\"ready\"}", LD, RUNQY_READY),
    KIND("ready, padded", "  \t{\"status\": \"ready\"}\t \r", LD, RUNQY_READY),
    KIND("ready, other keys", "{\"pid\":12,\"status\":\"ready\",\"x\":[1]}", LD, RUNQY_READY),
    KIND("ready, first of duplicate keys", "{\"status\":\"ready\",\"status\":\"error\"}", LD,
         RUNQY_READY),
    FAILED("load error, string", "{\"status\":\"error\",\"error\":\"ImportError: no x\"}", LD,
           RUNQY_LOAD_ERROR, NONE, false, "ImportError: no x"),
    FAILED("load error, object", "{\"status\":\"error\",\"error\":{\"code\":3}}", LD,
           RUNQY_LOAD_ERROR, NONE, false, "{\"code\":3}"),
    FAILED("load error, no message", "{\"status\":\"error\"}", LD, RUNQY_LOAD_ERROR, NONE, false,
           NONE),
    KIND("status is case-sensitive", "{\"status\":\"READY\"}", LD, RUNQY_GARBAGE),
    KIND("status not a string", "{\"status\":true}", LD, RUNQY_GARBAGE),
    KIND("status unknown", "{\"status\":\"loading\"}", LD, RUNQY_GARBAGE),
    KIND("no status", "{}", LD, RUNQY_GARBAGE),
    KIND("answer before ready", "{\"task_id\":\"1.1\",\"result\":1}", LD, RUNQY_GARBAGE),
    KIND("ready as a bare string", "\"ready\"", LD, RUNQY_GARBAGE),

    /* Serving: answers. */
    ANSWER("answer, full",
           "{\"task_id\":\"17.1\",\"result\":{\"x\":1},\"error\":null,\"retry\":false}", "17.1",
           "{\"x\":1}"),
    ANSWER("answer, task_id only", "{\"task_id\":\"17.1\"}", "17.1", NONE),
    ANSWER("answer, null result", "{\"task_id\":\"17.1\",\"result\":null}", "17.1", NONE),
    ANSWER("answer, array result", "{\"result\":[1,\"a\",false],\"task_id\":\"3.2\"}", "3.2",
           "[1,\"a\",false]"),
    ANSWER("answer, scalar result", "{\"task_id\":\"3.2\",\"result\":\"done\"}", "3.2", "\"done\""),
    ANSWER("answer, retry without error", "{\"task_id\":\"3.2\",\"retry\":true,\"result\":2}",
           "3.2", "2"),
    ANSWER("answer, CRLF", "{\"task_id\":\"3.2\"}\r", "3.2", NONE),
    ANSWER("answer, first of duplicate task_ids", "{\"task_id\":\"1.1\",\"task_id\":\"2.1\"}",
           "1.1", NONE),
    ANSWER("answer, huge work id", "{\"task_id\":\"99999999999999999999999.1\"}",
           "99999999999999999999999.1", NONE),
    ANSWER("answer, empty task_id", "{\"task_id\":\"\"}", "", NONE),
    ANSWER("answer, escaped NUL cuts the task_id", "{\"task_id\":\"1.1\\u0000x\"}", "1.1", NONE),
    ANSWER("a leading form feed is skipped as JSON space", "\f{\"task_id\":\"1.1\"}", "1.1", NONE),

    /* Serving: errors and the retry flag. */
    FAILED("error", "{\"task_id\":\"4.1\",\"error\":\"boom\"}", S, RUNQY_ANSWER, "4.1", false,
           "boom"),
    FAILED("error, retry", "{\"task_id\":\"4.1\",\"error\":\"busy\",\"retry\":true}", S,
           RUNQY_ANSWER, "4.1", true, "busy"),
    FAILED("error, retry false", "{\"task_id\":\"4.1\",\"error\":\"x\",\"retry\":false}", S,
           RUNQY_ANSWER, "4.1", false, "x"),
    FAILED("error, retry a string", "{\"task_id\":\"4.1\",\"error\":\"x\",\"retry\":\"true\"}", S,
           RUNQY_ANSWER, "4.1", false, "x"),
    FAILED("error, retry a number", "{\"task_id\":\"4.1\",\"error\":\"x\",\"retry\":1}", S,
           RUNQY_ANSWER, "4.1", false, "x"),
    FAILED("error, retry null", "{\"task_id\":\"4.1\",\"error\":\"x\",\"retry\":null}", S,
           RUNQY_ANSWER, "4.1", false, "x"),
    FAILED("error, an object", "{\"task_id\":\"4.1\",\"error\":{\"type\":\"E\",\"n\":[1]}}", S,
           RUNQY_ANSWER, "4.1", false, "{\"type\":\"E\",\"n\":[1]}"),
    FAILED("error, false is an error", "{\"task_id\":\"4.1\",\"error\":false}", S, RUNQY_ANSWER,
           "4.1", false, "false"),
    FAILED("error, empty string", "{\"task_id\":\"4.1\",\"error\":\"\"}", S, RUNQY_ANSWER, "4.1",
           false, ""),
    FAILED("error, result dropped", "{\"task_id\":\"4.1\",\"result\":5,\"error\":\"x\"}", S,
           RUNQY_ANSWER, "4.1", false, "x"),
    FAILED("error, multi-line traceback", "{\"task_id\":\"4.1\",\"error\":\"Traceback\\n  x\\nE\"}",
           S, RUNQY_ANSWER, "4.1", false, "Traceback\n  x\nE"),
    FAILED("error, invalid UTF-8 kept as is", "{\"task_id\":\"4.1\",\"error\":\"\xff\xfe bad\"}", S,
           RUNQY_ANSWER, "4.1", false, "\xff\xfe bad"),

    /* Serving: wrong types and missing fields. */
    KIND("task_id a number", "{\"task_id\":17.1,\"result\":1}", S, RUNQY_GARBAGE),
    KIND("task_id null", "{\"task_id\":null}", S, RUNQY_GARBAGE),
    KIND("task_id an object", "{\"task_id\":{\"id\":\"1.1\"}}", S, RUNQY_GARBAGE),
    KIND("task_id missing", "{\"result\":1,\"error\":null}", S, RUNQY_GARBAGE),
    KIND("task_id is case-sensitive", "{\"Task_Id\":\"1.1\"}", S, RUNQY_GARBAGE),
    KIND("ready while serving", "{\"status\":\"ready\"}", S, RUNQY_GARBAGE),
    KIND("an array", "[{\"task_id\":\"1.1\"}]", S, RUNQY_GARBAGE),
    KIND("a number", "42", S, RUNQY_GARBAGE),
    KIND("null", "null", S, RUNQY_GARBAGE),

    /* Numbers out of range: kept, never a crash. */
    ANSWER("result 1e999", "{\"task_id\":\"5.1\",\"result\":1e999}", "5.1", "null"),
    ANSWER("result -1e999", "{\"task_id\":\"5.1\",\"result\":[-1e999,1e-999]}", "5.1", "[null,0]"),
    ANSWER("result a huge integer",
           "{\"task_id\":\"5.1\",\"result\":123456789012345678901234567890}", "5.1",
           "1.2345678901234568e+29"),
    FAILED("retry 1e999", "{\"task_id\":\"5.1\",\"error\":\"x\",\"retry\":1e999}", S, RUNQY_ANSWER,
           "5.1", false, "x"),
    KIND("task_id 1e999", "{\"task_id\":1e999}", S, RUNQY_GARBAGE),

    /* Not JSON, or more than one value. */
    KIND("empty", "", S, RUNQY_BLANK),
    KIND("blank", " \t\r \r", S, RUNQY_BLANK),
    KIND("blank while loading", "\r", LD, RUNQY_BLANK),
    KIND("plain text", "loading model...", S, RUNQY_GARBAGE),
    KIND("plain text while loading", "hello", LD, RUNQY_GARBAGE),
    KIND("truncated", "{\"task_id\":\"1.1\"", S, RUNQY_GARBAGE),
    KIND("truncated string", "{\"task_id\":\"1.1", S, RUNQY_GARBAGE),
    KIND("trailing comma", "{\"task_id\":\"1.1\",}", S, RUNQY_GARBAGE),
    KIND("ends after a comma", "{\"task_id\":\"1.1\",", S, RUNQY_GARBAGE),
    KIND("ends after a comma while loading", "{\"status\":\"ready\",", LD, RUNQY_GARBAGE),
    KIND("single quotes", "{'task_id':'1.1'}", S, RUNQY_GARBAGE),
    KIND("trailing text", "{\"task_id\":\"1.1\"} ok", S, RUNQY_GARBAGE),
    KIND("two objects", "{\"task_id\":\"1.1\"}{\"task_id\":\"1.1\"}", S, RUNQY_GARBAGE),
    KIND("bad escape", "{\"task_id\":\"1.\\q\"}", S, RUNQY_GARBAGE),
    KIND("lone surrogate escape", "{\"task_id\":\"\\udc00\"}", S, RUNQY_GARBAGE),
    KIND("invalid UTF-8 outside strings", "\xff{\"task_id\":\"1.1\"}", S, RUNQY_GARBAGE),
    KIND("NUL after the object", "{\"task_id\":\"1.1\"}\0", S, RUNQY_GARBAGE),
    KIND("NUL inside a string", "{\"task_id\":\"1.\0001\"}", S, RUNQY_GARBAGE),
    KIND("NUL before the object", "\0{\"status\":\"ready\"}", LD, RUNQY_GARBAGE),
};

static void check_case(const line_case *c)
{
    runqy_reply r;
    runqy_kind k = parse(c->line, c->len, c->phase, &r);
    cr_expect_eq(k, c->kind, "%s: kind %s, expected %s", c->name, kind_name(k), kind_name(c->kind));
    cr_expect_eq(r.kind, k, "%s: reply kind", c->name);
    if (c->kind == RUNQY_ANSWER && k == RUNQY_ANSWER) {
        cr_expect_str_eq(r.task_id, c->task_id, "%s: task_id", c->name);
        cr_expect_eq(r.task_id_len, strlen(c->task_id), "%s: task_id_len", c->name);
        cr_expect(runqy_answers(&r, c->task_id), "%s: answers its task_id", c->name);
    }
    cr_expect_eq(r.failed, c->failed, "%s: failed", c->name);
    cr_expect_eq(r.retry, c->retry, "%s: retry", c->name);
    if (c->error)
        cr_expect(r.error && strcmp(r.error, c->error) == 0, "%s: error '%s', expected '%s'",
                  c->name, r.error ? r.error : "(none)", c->error);
    else
        cr_expect_null(r.error, "%s: no error text", c->name);
    char *res = result_text(&r);
    if (c->result)
        cr_expect(res && strcmp(res, c->result) == 0, "%s: result %s, expected %s", c->name,
                  res ? res : "(none)", c->result);
    else
        cr_expect_null(r.result, "%s: no result", c->name);
    cJSON_free(res);
    runqy_reply_clear(&r);
    cr_expect_eq(r.kind, RUNQY_BLANK, "%s: cleared", c->name);
    cr_expect_null(r.error);
    cr_expect_null(r.result);
}

Test(protocol, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

/* ------------------------------------------------------------------ */
/* Lengths                                                             */
/* ------------------------------------------------------------------ */

/* {"task_id":"1.1","result":"xxx..."} padded with trailing spaces to n. */
static char *line_of(size_t n, size_t payload)
{
    char *s = malloc(n);
    cr_assert_not_null(s);
    memset(s, ' ', n);
    const char *head = "{\"task_id\":\"1.1\",\"result\":\"";
    size_t h = strlen(head);
    cr_assert(h + payload + 2 <= n);
    memcpy(s, head, h);
    memset(s + h, 'x', payload);
    memcpy(s + h + payload, "\"}", 2);
    return s;
}

Test(protocol, line_at_the_limit_is_parsed)
{
    char *s = line_of(RUNQY_LINE_MAX, RUNQY_LINE_MAX - 64);
    runqy_reply r;
    cr_expect_eq(parse(s, RUNQY_LINE_MAX, RUNQY_SERVING, &r), RUNQY_ANSWER);
    cr_expect(cJSON_IsString(r.result));
    cr_expect_eq(strlen(r.result->valuestring), (size_t)RUNQY_LINE_MAX - 64);
    runqy_reply_clear(&r);
    free(s);
}

Test(protocol, line_over_the_limit_is_overlong)
{
    char *s = line_of(RUNQY_LINE_MAX + 1, 16);
    runqy_reply r;
    cr_expect_eq(parse(s, RUNQY_LINE_MAX + 1, RUNQY_SERVING, &r), RUNQY_OVERLONG);
    cr_expect_eq(parse(s, RUNQY_LINE_MAX + 1, RUNQY_LOADING, &r), RUNQY_OVERLONG);
    cr_expect_null(r.error);
    cr_expect_null(r.result);
    free(s);
}

Test(protocol, long_task_id_is_cut_and_never_matches)
{
    char id[201];
    memset(id, '7', 200);
    id[200] = '\0';
    char line[300];
    int n = snprintf(line, sizeof line, "{\"task_id\":\"%s\"}", id);
    runqy_reply r;
    cr_assert_eq(parse(line, (size_t)n, RUNQY_SERVING, &r), RUNQY_ANSWER);
    cr_expect_eq(r.task_id_len, 200);
    cr_expect_eq(strlen(r.task_id), RUNQY_TASK_ID_MAX);
    cr_expect_eq(memcmp(r.task_id, id, RUNQY_TASK_ID_MAX), 0);
    cr_expect_not(runqy_answers(&r, r.task_id), "a prefix of the task_id is not the task_id");
    runqy_reply_clear(&r);

    id[RUNQY_TASK_ID_MAX] = '\0';
    n = snprintf(line, sizeof line, "{\"task_id\":\"%s\"}", id);
    cr_assert_eq(parse(line, (size_t)n, RUNQY_SERVING, &r), RUNQY_ANSWER);
    cr_expect(runqy_answers(&r, id), "a task_id of exactly the kept length matches");
    runqy_reply_clear(&r);
}

Test(protocol, deep_nesting_is_garbage_not_a_crash)
{
    enum { DEPTH = 100000 };
    size_t n = strlen("{\"task_id\":\"1.1\",\"result\":") + 2 * DEPTH + 1;
    char *s = malloc(n);
    cr_assert_not_null(s);
    size_t o = (size_t)sprintf(s, "{\"task_id\":\"1.1\",\"result\":");
    memset(s + o, '[', DEPTH);
    memset(s + o + DEPTH, ']', DEPTH);
    s[n - 1] = '}';
    runqy_reply r;
    cr_expect_eq(parse(s, n, RUNQY_SERVING, &r), RUNQY_GARBAGE);
    free(s);
}

Test(protocol, answers_needs_the_exact_task_id)
{
    runqy_reply r;
    cr_assert_eq(parse(L("{\"task_id\":\"17.1\"}"), RUNQY_SERVING, &r), RUNQY_ANSWER);
    cr_expect(runqy_answers(&r, "17.1"));
    cr_expect_not(runqy_answers(&r, "17.10"));
    cr_expect_not(runqy_answers(&r, "17."));
    cr_expect_not(runqy_answers(&r, "7.1"));
    cr_expect_not(runqy_answers(&r, ""));
    runqy_reply_clear(&r);
    cr_expect_not(runqy_answers(&r, ""), "a cleared reply answers nothing");

    cr_assert_eq(parse(L("{\"status\":\"ready\"}"), RUNQY_LOADING, &r), RUNQY_READY);
    cr_expect_not(runqy_answers(&r, ""), "only an answer answers");
    runqy_reply_clear(&r);
}

Test(protocol, clear_twice_is_harmless)
{
    runqy_reply r;
    parse(L("{\"task_id\":\"1.1\",\"error\":\"x\"}"), RUNQY_SERVING, &r);
    runqy_reply_clear(&r);
    runqy_reply_clear(&r);
    cr_expect_eq(r.kind, RUNQY_BLANK);
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

Test(protocol, task_id)
{
    char buf[48];
    runqy_task_id(buf, sizeof buf, 17, 1);
    cr_expect_str_eq(buf, "17.1");
    runqy_task_id(buf, sizeof buf, UINT64_MAX, UINT32_MAX);
    cr_expect_str_eq(buf, "18446744073709551615.4294967295");
    runqy_task_id(buf, 4, 12345, 6);
    cr_expect_str_eq(buf, "123", "cut to the buffer");
}

Test(protocol, request_line)
{
    cJSON *payload = cJSON_Parse("{\"a\": [1, \"x\\ny\"], \"b\": null}");
    cr_assert_not_null(payload);
    size_t len = 0;
    char *line = runqy_format_request("17.1", payload, &len);
    cr_assert_not_null(line);
    const char *want = "{\"task_id\":\"17.1\",\"payload\":{\"a\":[1,\"x\\ny\"],\"b\":null}}\n";
    cr_expect_str_eq(line, want);
    cr_expect_eq(len, strlen(want));
    cr_expect_eq(memchr(line, '\n', len), line + len - 1, "one line, '\\n'-terminated");

    /* A request line is an object with our task_id: read back, it answers it. */
    runqy_reply r;
    cr_expect_eq(parse(line, len - 1, RUNQY_SERVING, &r), RUNQY_ANSWER);
    cr_expect(runqy_answers(&r, "17.1"));
    runqy_reply_clear(&r);
    free(line);
    cJSON_Delete(payload);
}

Test(protocol, request_line_with_empty_payload)
{
    cJSON *payload = cJSON_CreateObject();
    size_t len = 0;
    char *line = runqy_format_request("1.1", payload, &len);
    cr_expect_str_eq(line, "{\"task_id\":\"1.1\",\"payload\":{}}\n");
    free(line);
    cJSON_Delete(payload);
}

Test(protocol, request_line_without_payload)
{
    size_t len = 99;
    cr_expect_null(runqy_format_request("1.1", NULL, &len));
    cr_expect_eq(len, 0);
}

/* ------------------------------------------------------------------ */
/* Quoting a line for a message                                        */
/* ------------------------------------------------------------------ */

typedef struct quote_case {
    const char *in;
    size_t len;
    const char *out;
} quote_case;

Test(protocol, quote)
{
    static const quote_case qc[] = {
        {L("hello world"), "hello world"},
        {L(""), ""},
        {L("a\tb\n"), "a\\x09b\\x0a"},
        {L("back\\slash"), "back\\x5cslash"},
        {L("nul\0here"), "nul\\x00here"},
        {L("\xff\xfe"), "\\xff\\xfe"},
        {L("\x7f"), "\\x7f"},
        {L("0123456789012345678901234567890123456789012345678901234567890123456789"),
         "012345678901234567890123456789012345678901234567890123456789..."},
    };
    char buf[4 * RUNQY_QUOTE_MAX + 4];
    for (size_t i = 0; i < sizeof qc / sizeof qc[0]; i++) {
        runqy_quote(buf, sizeof buf, qc[i].in, qc[i].len);
        cr_expect_str_eq(buf, qc[i].out, "quote #%zu", i);
    }
}

Test(protocol, quote_fits_a_small_buffer)
{
    char buf[12];
    memset(buf, '#', sizeof buf);
    runqy_quote(buf, 8, "\x01\x02\x03\x04", 4);
    cr_expect_lt(strlen(buf), 8);
    cr_expect_eq(buf[8], '#', "nothing written past the length given");
    runqy_quote(buf, 8, "abcdefghijkl", 12);
    cr_expect_lt(strlen(buf), 8);
}

/* ------------------------------------------------------------------ */
/* The progress extension                                              */
/* ------------------------------------------------------------------ */

static runqy_kind parse_serving(const char *line, runqy_reply *r)
{
    return runqy_parse_line(line, strlen(line), RUNQY_SERVING, r);
}

Test(protocol, a_progress_line_is_progress_for_its_task)
{
    runqy_reply r;
    cr_assert_eq(parse_serving("{\"task_id\":\"3.1\",\"progress\":0.5,\"message\":\"half\"}", &r),
                 RUNQY_PROGRESS);
    cr_assert(runqy_answers(&r, "3.1"));
    cr_assert_float_eq(r.progress, 0.5, 1e-12);
    cr_assert_str_eq(r.message, "half");
    cr_assert(!r.failed);
    cr_assert_null(r.result);
    runqy_reply_clear(&r);
    cr_assert_null(r.message);
    cr_assert_eq(parse_serving("{\"task_id\":\"3.1\",\"progress\":1}", &r), RUNQY_PROGRESS);
    cr_assert_null(r.message);
    runqy_reply_clear(&r);
    cr_assert_eq(parse_serving("{\"task_id\":\"3.1\",\"progress\":0,\"message\":null}", &r),
                 RUNQY_PROGRESS);
    runqy_reply_clear(&r);
}

Test(protocol, a_bad_progress_line_is_garbage)
{
    static const char *const bad[] = {
        "{\"task_id\":\"3.1\",\"progress\":1.5}",
        "{\"task_id\":\"3.1\",\"progress\":-0.1}",
        "{\"task_id\":\"3.1\",\"progress\":\"half\"}",
        "{\"task_id\":\"3.1\",\"progress\":null}",
        "{\"task_id\":\"3.1\",\"progress\":0.5,\"message\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        runqy_reply r;
        cr_expect_eq(parse_serving(bad[i], &r), RUNQY_GARBAGE, "%s", bad[i]);
        runqy_reply_clear(&r);
    }
}

Test(protocol, an_answer_with_progress_is_an_answer)
{
    runqy_reply r;
    cr_assert_eq(parse_serving("{\"task_id\":\"3.1\",\"progress\":1,\"result\":2}", &r),
                 RUNQY_ANSWER);
    runqy_reply_clear(&r);
    cr_assert_eq(parse_serving("{\"task_id\":\"3.1\",\"progress\":1,\"error\":\"x\"}", &r),
                 RUNQY_ANSWER);
    cr_assert(r.failed);
    runqy_reply_clear(&r);
    /* Before ready, a progress line is no status line. */
    cr_assert_eq(runqy_parse_line(L("{\"task_id\":\"3.1\",\"progress\":1}"), RUNQY_LOADING, &r),
                 RUNQY_GARBAGE);
    runqy_reply_clear(&r);
}

Test(protocol, a_long_progress_message_is_cut)
{
    char line[600];
    char msg[400];
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = 0;
    snprintf(line, sizeof line, "{\"task_id\":\"1.1\",\"progress\":0.1,\"message\":\"%s\"}", msg);
    runqy_reply r;
    cr_assert_eq(parse_serving(line, &r), RUNQY_PROGRESS);
    cr_assert_eq(strlen(r.message), RUNQY_MESSAGE_MAX);
    runqy_reply_clear(&r);
}
