/*
 * protocol.c -- the runqy worker protocol, one line at a time (see
 * protocol.h).  Pure functions over bytes and cJSON values.
 */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The padding a line may carry around its JSON: space, tab, CR. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

void runqy_trim(const char **s, size_t *n)
{
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
    while (*n && is_space(**s))
        (*s)++, (*n)--;
}

/* The text of a non-null "error": a string as is, anything else as JSON.
 * NULL if out of memory. */
static char *error_text(const cJSON *error)
{
    if (cJSON_IsString(error)) return strdup(error->valuestring);
    char *printed = cJSON_PrintUnformatted(error);
    if (!printed) return NULL;
    char *text = strdup(printed);
    cJSON_free(printed);
    return text;
}

/* LOADING: "ready", "error" with its message, or garbage. */
static runqy_kind parse_status(const cJSON *j, runqy_reply *out)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    const char *status = cJSON_IsString(st) ? st->valuestring : "";
    if (strcmp(status, "ready") == 0) return RUNQY_READY;
    if (strcmp(status, "error") != 0) return RUNQY_GARBAGE;
    out->failed = true;
    out->error = error_text(cJSON_GetObjectItemCaseSensitive(j, "error"));
    return RUNQY_LOAD_ERROR;
}

/* SERVING, the progress extension: a number 0..1 and an optional message
 * string; anything else is garbage. */
static runqy_kind parse_progress(const cJSON *j, runqy_reply *out)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "progress");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (!cJSON_IsNumber(p) || !(p->valuedouble >= 0 && p->valuedouble <= 1))
        return RUNQY_GARBAGE;
    if (m && !cJSON_IsString(m) && !cJSON_IsNull(m)) return RUNQY_GARBAGE;
    out->progress = p->valuedouble;
    if (cJSON_IsString(m)) out->message = strndup(m->valuestring, RUNQY_MESSAGE_MAX);
    return RUNQY_PROGRESS;
}

/* SERVING: an answer if task_id is a string; takes "result" out of j. */
static runqy_kind parse_answer(cJSON *j, runqy_reply *out)
{
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(j, "task_id");
    if (!cJSON_IsString(tid)) return RUNQY_GARBAGE;
    out->task_id_len = strlen(tid->valuestring);
    size_t keep = out->task_id_len < RUNQY_TASK_ID_MAX ? out->task_id_len : RUNQY_TASK_ID_MAX;
    memcpy(out->task_id, tid->valuestring, keep);
    out->task_id[keep] = '\0';
    if (cJSON_GetObjectItemCaseSensitive(j, "progress") &&
        !cJSON_GetObjectItemCaseSensitive(j, "result") &&
        !cJSON_GetObjectItemCaseSensitive(j, "error"))
        return parse_progress(j, out);

    const cJSON *error = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (error && !cJSON_IsNull(error)) {
        out->failed = true;
        out->retry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "retry"));
        out->error = error_text(error);
        return RUNQY_ANSWER;
    }
    cJSON *result = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
    if (cJSON_IsNull(result)) {
        cJSON_Delete(result);
        result = NULL;
    }
    out->result = result;
    return RUNQY_ANSWER;
}

runqy_kind runqy_parse_line(const char *s, size_t n, runqy_phase phase, runqy_reply *out)
{
    *out = (runqy_reply){.kind = RUNQY_BLANK};
    if (n > RUNQY_LINE_MAX) return out->kind = RUNQY_OVERLONG;
    runqy_trim(&s, &n);
    if (!n) return RUNQY_BLANK;
    if (memchr(s, '\0', n)) return out->kind = RUNQY_GARBAGE;

    /* cJSON before 1.7.18 can read one byte past the length it is given (an
     * object that ends after a comma): it gets a NUL-terminated copy. */
    char *text = malloc(n + 1);
    if (!text) return out->kind = RUNQY_GARBAGE;
    memcpy(text, s, n);
    text[n] = '\0';
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, false);
    bool whole = end == text + n;
    free(text);
    if (!cJSON_IsObject(j) || !whole)
        out->kind = RUNQY_GARBAGE;
    else if (phase == RUNQY_LOADING)
        out->kind = parse_status(j, out);
    else
        out->kind = parse_answer(j, out);
    cJSON_Delete(j);
    return out->kind;
}

void runqy_reply_clear(runqy_reply *r)
{
    free(r->error);
    free(r->message);
    cJSON_Delete(r->result);
    *r = (runqy_reply){.kind = RUNQY_BLANK};
}

bool runqy_answers(const runqy_reply *r, const char *task_id)
{
    return (r->kind == RUNQY_ANSWER || r->kind == RUNQY_PROGRESS) && r->task_id_len <= RUNQY_TASK_ID_MAX &&
           strcmp(r->task_id, task_id) == 0;
}

void runqy_task_id(char *buf, size_t len, rc_work_id work_id, unsigned attempt)
{
    snprintf(buf, len, "%llu.%u", (unsigned long long)work_id, attempt);
}

char *runqy_format_request(const char *task_id, const cJSON *payload, size_t *len)
{
    *len = 0;
    if (!payload) return NULL;
    char *printed = cJSON_PrintUnformatted(payload);
    if (!printed) return NULL;
    size_t n = strlen(printed) + strlen(task_id) + 32;
    char *line = malloc(n);
    if (line)
        *len = (size_t)snprintf(line, n, "{\"task_id\":\"%s\",\"payload\":%s}\n", task_id, printed);
    cJSON_free(printed);
    return line;
}

void runqy_quote(char *buf, size_t len, const char *s, size_t n)
{
    size_t o = 0, take = n > RUNQY_QUOTE_MAX ? RUNQY_QUOTE_MAX : n;
    for (size_t i = 0; i < take && o + 5 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
    }
    if (take < n && o + 4 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}
