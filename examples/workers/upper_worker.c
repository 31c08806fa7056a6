/*
 * upper_worker.c -- stage 1 of the file pipeline: a worker in C speaking the
 * runqy protocol (see runcue_transport.h).
 *
 * Prints {"status": "ready"}, then for each request line
 *   {"task_id": "3.1", "payload": {"in": "docs/a.txt", "out": "docs/out/a.upper"}}
 * writes the input upper-cased to `out` -- through out.tmp and rename(2), so
 * no reader ever sees half a file -- and answers
 *   {"task_id": "3.1", "result": {"bytes": 1234}, "error": null, "retry": false}
 * A missing input is a final error; a failed write may pass, so it asks for a
 * retry.  Notes go to stderr, which the pipeline prints as a log.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void answer(const char *task_id, cJSON *result, const char *error, bool retry)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "task_id", task_id);
    cJSON_AddItemToObject(r, "result", result ? result : cJSON_CreateNull());
    cJSON_AddItemToObject(r, "error", error ? cJSON_CreateString(error) : cJSON_CreateNull());
    cJSON_AddBoolToObject(r, "retry", retry);
    char *line = cJSON_PrintUnformatted(r);
    printf("%s\n", line);
    fflush(stdout);
    cJSON_free(line);
    cJSON_Delete(r);
}

/* Upper-case in -> out.  Returns the byte count, or -1 with a message. */
static long upper_file(const char *in, const char *out, char *err, size_t errlen, bool *retry)
{
    FILE *src = fopen(in, "rb");
    if (!src) {
        snprintf(err, errlen, "cannot read %.400s: %s", in, strerror(errno));
        return -1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *dst = fopen(tmp, "wb");
    if (!dst) {
        snprintf(err, errlen, "cannot write %.400s: %s", tmp, strerror(errno));
        fclose(src);
        *retry = true;
        return -1;
    }
    long bytes = 0;
    int c;
    while ((c = fgetc(src)) != EOF) {
        fputc(toupper(c), dst);
        bytes++;
    }
    bool ok = !ferror(src) && fflush(dst) == 0 && !ferror(dst);
    fclose(src);
    ok = fclose(dst) == 0 && ok;
    if (!ok || rename(tmp, out) != 0) {
        snprintf(err, errlen, "cannot write %.400s: %s", out, strerror(errno));
        remove(tmp);
        *retry = true;
        return -1;
    }
    return bytes;
}

int main(void)
{
    printf("{\"status\": \"ready\"}\n");
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        cJSON *req = cJSON_Parse(line);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "task_id");
        const cJSON *payload = cJSON_GetObjectItemCaseSensitive(req, "payload");
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(payload, "in");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(payload, "out");
        if (!cJSON_IsString(id)) {
            fprintf(stderr, "upper_worker: ignoring a request without a task_id\n");
        } else if (!cJSON_IsString(in) || !cJSON_IsString(out)) {
            answer(id->valuestring, NULL, "payload needs \"in\" and \"out\" paths", false);
        } else {
            char err[512];
            bool retry = false;
            long bytes = upper_file(in->valuestring, out->valuestring, err, sizeof err, &retry);
            if (bytes < 0) {
                answer(id->valuestring, NULL, err, retry);
            } else {
                cJSON *result = cJSON_CreateObject();
                cJSON_AddNumberToObject(result, "bytes", (double)bytes);
                answer(id->valuestring, result, NULL, false);
            }
        }
        cJSON_Delete(req);
    }
    free(line);
    return 0;
}
