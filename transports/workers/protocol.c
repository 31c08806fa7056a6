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

/* The text of a non-null "error": a string as is, anything else as JSON,
 * with its control characters made harmless (runqy_defang; newlines stay):
 * it becomes failure messages that reach logs and terminals.  NULL if out
 * of memory. */
static char *error_text(const cJSON *error)
{
    char *text = NULL;
    if (cJSON_IsString(error)) {
        text = strdup(error->valuestring);
    } else {
        char *printed = cJSON_PrintUnformatted(error);
        if (!printed) return NULL;
        text = strdup(printed);
        cJSON_free(printed);
    }
    if (text) runqy_defang(text, strlen(text), true);
    return text;
}

/* LOADING: "ready", "error" with its message, or noise (any other object). */
static runqy_kind parse_status(const cJSON *j, runqy_reply *out)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    const char *status = cJSON_IsString(st) ? st->valuestring : "";
    if (strcmp(status, "ready") == 0) return RUNQY_READY;
    if (strcmp(status, "error") != 0) return RUNQY_NOISE;
    out->failed = true;
    out->error = error_text(cJSON_GetObjectItemCaseSensitive(j, "error"));
    return RUNQY_LOAD_ERROR;
}

/* SERVING, the progress extension: a number 0..1 and an optional message
 * string; anything else is noise (logged and skipped). */
static runqy_kind parse_progress(const cJSON *j, runqy_reply *out)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "progress");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (!cJSON_IsNumber(p) || !(p->valuedouble >= 0 && p->valuedouble <= 1))
        return RUNQY_NOISE;
    if (m && !cJSON_IsString(m) && !cJSON_IsNull(m)) return RUNQY_NOISE;
    out->progress = p->valuedouble;
    if (cJSON_IsString(m) && (out->message = strndup(m->valuestring, RUNQY_MESSAGE_MAX)))
        runqy_defang(out->message, strlen(out->message), false);
    return RUNQY_PROGRESS;
}

/* SERVING: an answer if task_id is a string (else noise); takes "result"
 * out of j.  nul: the line holds a "\u0000" escape. */
static runqy_kind parse_answer(cJSON *j, bool nul, runqy_reply *out)
{
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(j, "task_id");
    if (!cJSON_IsString(tid)) return RUNQY_NOISE;
    out->task_id_len = strlen(tid->valuestring);
    size_t keep = out->task_id_len < RUNQY_TASK_ID_MAX ? out->task_id_len : RUNQY_TASK_ID_MAX;
    memcpy(out->task_id, tid->valuestring, keep);
    out->task_id[keep] = '\0';
    if (cJSON_GetObjectItemCaseSensitive(j, "progress") &&
        !cJSON_GetObjectItemCaseSensitive(j, "result") &&
        !cJSON_GetObjectItemCaseSensitive(j, "error")) {
        /* A "\u0000" in it may cut the task_id or the message where cJSON
         * ends the string: such a line can name no task for sure. */
        runqy_kind k = nul ? RUNQY_NOISE : parse_progress(j, out);
        if (k != RUNQY_PROGRESS) { /* a reply that answers nothing names no task */
            out->task_id_len = 0;
            out->task_id[0] = '\0';
        }
        return k;
    }

    if (nul) {
        out->failed = out->nul = true;
        out->error = strdup(RUNQY_NUL_ERROR);
        return RUNQY_ANSWER;
    }
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

bool runqy_has_nul_escape(const char *s, size_t n)
{
    /* Outside strings valid JSON has no backslash; inside, "\u0000" is a NUL
     * when an odd run of backslashes ends right before "u0000". */
    for (size_t i = 0; i + 5 <= n; i++) {
        if (memcmp(s + i, "u0000", 5) != 0) continue;
        size_t k = 0;
        while (k < i && s[i - 1 - k] == '\\')
            k++;
        if (k % 2) return true;
    }
    return false;
}

runqy_kind runqy_parse_line_max(const char *s, size_t n, size_t max, runqy_phase phase,
                                runqy_reply *out)
{
    *out = (runqy_reply){.kind = RUNQY_BLANK};
    if (n > max) return out->kind = RUNQY_OVERLONG;
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
        out->kind = parse_answer(j, runqy_has_nul_escape(s, n), out);
    cJSON_Delete(j);
    return out->kind;
}

runqy_kind runqy_parse_line(const char *s, size_t n, runqy_phase phase, runqy_reply *out)
{
    return runqy_parse_line_max(s, n, RUNQY_LINE_MAX, phase, out);
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

/* A JSON string for s (NULL: ""); NULL if out of memory.  Free with
 * cJSON_free. */
static char *json_string(const char *s)
{
    cJSON *str = cJSON_CreateString(s ? s : "");
    char *printed = str ? cJSON_PrintUnformatted(str) : NULL;
    cJSON_Delete(str);
    return printed;
}

char *runqy_format_task(const runqy_request *req, size_t *len)
{
    *len = 0;
    char *id = json_string(req->task_id), *type = json_string(req->type);
    char *queue = json_string(req->queue);
    char *payload = req->payload ? cJSON_PrintUnformatted(req->payload) : NULL;
    char *line = NULL;
    if (id && type && queue && (payload || !req->payload)) {
        const char *p = payload ? payload : "null";
        size_t n = strlen(id) + strlen(type) + strlen(p) + strlen(queue) + 96;
        line = malloc(n);
        if (line)
            *len = (size_t)snprintf(line, n,
                                    "{\"task_id\":%s,\"type\":%s,\"payload\":%s,"
                                    "\"retry_count\":%u,\"max_retry\":%u,\"queue\":%s}\n",
                                    id, type, p, req->retry_count, req->max_retry, queue);
    }
    cJSON_free(id);
    cJSON_free(type);
    cJSON_free(queue);
    cJSON_free(payload);
    return line;
}

char *runqy_format_request(const char *task_id, const cJSON *payload, size_t *len)
{
    *len = 0;
    if (!payload) return NULL;
    return runqy_format_task(&(runqy_request){.task_id = task_id, .payload = payload}, len);
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

/* The length of the well-formed UTF-8 sequence at s (at most n bytes), 0
 * if there is none there; the C1 controls (U+0080..U+009F) count as none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    const unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, lo = c == 0xc2 ? 0xa0 : 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0; /* a continuation byte, C0 overlong forms or F5..FF as a lead */
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xbf) return 0;
    return len;
}

void runqy_defang(char *s, size_t n, bool keep_newlines)
{
    unsigned char *u = (unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] >= 0x80) {
            /* A character as it is; a C1 control in UTF-8 (C2 80..9F: 9B
             * is CSI), or a byte 80..9F that is in no character (a lone 9B
             * is CSI on a Latin-1 terminal), as '?' a byte.  Other bytes
             * that are no character are text to such a terminal: kept. */
            const size_t len = utf8_len(u + i, n - i);
            if (len)
                i += len - 1;
            else if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
                u[i] = u[i + 1] = '?', i++;
            else if (u[i] <= 0x9f)
                u[i] = '?';
        } else if ((u[i] < 0x20 && u[i] != '\t' && !(keep_newlines && u[i] == '\n')) ||
                   u[i] == 0x7f) {
            u[i] = '?';
        }
    }
}
