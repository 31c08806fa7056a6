/*
 * fuzz_runqy_line.c -- the runqy line parser on arbitrary bytes.
 *
 * The input is one line of a worker's stdout, parsed in both phases.  Beyond
 * "no crash, no leak, no read past the line", the reply must be consistent:
 * a known kind, a NUL-terminated task_id within its bound, an error text
 * only on a failure, a result only on a successful answer.  A result goes
 * back out as the payload of a request line, which must be exactly one line
 * and parse back as an answer to its task_id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "protocol.h"

/* A request carrying the result must be one line that reads back as ours. */
static void check_round_trip(const cJSON *result)
{
    size_t len;
    char *line = runqy_format_request("7.3", result, &len);
    if (!line) return; /* out of memory */
    CHECK(len > 0 && line[len - 1] == '\n' && strlen(line) == len);
    CHECK(memchr(line, '\n', len) == line + len - 1);
    if (len - 1 <= RUNQY_LINE_MAX) {
        runqy_reply back;
        CHECK(runqy_parse_line(line, len - 1, RUNQY_SERVING, &back) == RUNQY_ANSWER);
        CHECK(runqy_answers(&back, "7.3"));
        runqy_reply_clear(&back);
    }
    free(line);
}

static void check_reply(const runqy_reply *r, runqy_phase phase)
{
    CHECK(r->kind >= RUNQY_BLANK && r->kind <= RUNQY_PROGRESS);
    if (phase == RUNQY_LOADING) CHECK(r->kind != RUNQY_ANSWER && r->kind != RUNQY_PROGRESS);
    if (phase == RUNQY_SERVING) CHECK(r->kind != RUNQY_READY && r->kind != RUNQY_LOAD_ERROR);
    CHECK(memchr(r->task_id, '\0', sizeof r->task_id) != NULL);
    if (r->kind == RUNQY_ANSWER || r->kind == RUNQY_PROGRESS) {
        size_t kept = strlen(r->task_id);
        CHECK(kept <= RUNQY_TASK_ID_MAX && kept <= r->task_id_len);
        CHECK(kept == r->task_id_len || kept == RUNQY_TASK_ID_MAX);
        CHECK(runqy_answers(r, r->task_id) == (kept == r->task_id_len));
    } else {
        CHECK(r->task_id_len == 0 && r->task_id[0] == '\0');
    }
    if (r->kind == RUNQY_LOAD_ERROR) CHECK(r->failed && !r->retry && !r->result);
    if (r->failed) CHECK(r->kind == RUNQY_LOAD_ERROR || r->kind == RUNQY_ANSWER);
    if (!r->failed) CHECK(r->error == NULL && !r->retry);
    if (r->result) CHECK(r->kind == RUNQY_ANSWER && !r->failed);
    if (r->kind == RUNQY_PROGRESS) CHECK(r->progress >= 0 && r->progress <= 1 && !r->failed);
    if (r->message) CHECK(r->kind == RUNQY_PROGRESS && strlen(r->message) <= RUNQY_MESSAGE_MAX);
}

/* After runqy_defang no control character is left for a terminal: no C0
 * but tab (and newline when kept), no DEL, no UTF-8 C1. */
static void check_defang(const char *s, size_t size, bool keep_newlines)
{
    char *t = malloc(size ? size : 1);
    CHECK(t != NULL);
    memcpy(t, s, size);
    runqy_defang(t, size, keep_newlines);
    for (size_t i = 0; i < size; i++) {
        const unsigned char c = (unsigned char)t[i];
        CHECK(c >= 0x20 || c == '\t' || (keep_newlines && c == '\n'));
        CHECK(c != 0x7f);
        CHECK(!(c == 0xc2 && i + 1 < size && (unsigned char)t[i + 1] >= 0x80 &&
                (unsigned char)t[i + 1] <= 0x9f));
        if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] != 0x7f && c != '?')
            CHECK(t[i] == s[i]); /* printable bytes are left as they were */
    }
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    static const runqy_phase phases[] = {RUNQY_LOADING, RUNQY_SERVING};
    for (size_t i = 0; i < 2; i++) {
        runqy_reply r;
        runqy_kind k = runqy_parse_line(s, size, phases[i], &r);
        CHECK(k == r.kind);
        check_reply(&r, phases[i]);
        if (r.result) check_round_trip(r.result);
        runqy_reply_clear(&r);
        CHECK(r.kind == RUNQY_BLANK && !r.error && !r.result);
    }
    char q[4 * RUNQY_QUOTE_MAX + 4];
    runqy_quote(q, sizeof q, s, size);
    CHECK(strlen(q) < sizeof q);
    check_defang(s, size, false);
    check_defang(s, size, true);
    return 0;
}
