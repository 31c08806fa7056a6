/* prefixes.c -- output prefixes, idempotency and a chord on the thread pool.
 *
 *   runcue-example-prefixes DIR [PARTS]
 *
 * Counts the words of DIR/input.txt in PARTS slices (default 4), each a
 * child with its own sub-prefix DIR/out/part-K, then adds them up in a
 * chord callback under DIR/out/total.  Every work writes result.json under
 * its prefix and nowhere else; rc_prefix_is_stale skips work whose
 * result.json is there, so a second run does nothing, and deleting one
 * part's directory reruns only that part (delete DIR/out/total too to add
 * them up again).  A skipped part hands the callback null (its result is on
 * disk, not in memory): the callback then reads the part's result.json.
 * The counting functions report progress with rc_job_progress. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runcue_canvas.h"
#include "runcue_transport.h"

static const char *input_path;

/* Write {"words": n} as PREFIX/result.json. */
static int write_result(const char *prefix, double words, char *err, size_t errlen)
{
    char path[4096];
    if (mkdir(prefix, 0777) && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", prefix, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/result.json", prefix);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "{\"words\": %.0f}\n", words) < 0 || fclose(f)) {
        snprintf(err, errlen, "write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Words in the slice-th of `parts` slices of the input's lines. */
static rc_job_status count(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)ud;
    const cJSON *p = job->params;
    int slice = cJSON_GetObjectItem(p, "slice")->valueint;
    int parts = cJSON_GetObjectItem(p, "parts")->valueint;
    FILE *f = fopen(input_path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", input_path, strerror(errno));
        return RC_JOB_FAIL;
    }
    char line[4096];
    double words = 0;
    for (int n = 0; fgets(line, sizeof line, f); n++) {
        if (n % parts != slice) continue;
        for (char *t = strtok(line, " \t\n"); t; t = strtok(NULL, " \t\n")) words++;
        rc_job_progress(job, 0.5, "counting");
    }
    fclose(f);
    const char *prefix = cJSON_GetStringValue(cJSON_GetObjectItem(p, RC_PREFIX_PARAM));
    if (write_result(prefix, words, err, errlen)) return RC_JOB_FAIL;
    *result = cJSON_CreateNumber(words);
    return RC_JOB_OK;
}

/* A part's count from its result.json (the part was skipped), or -1. */
static double read_part(const char *parts_dir, int k)
{
    char path[4096], text[64] = "";
    snprintf(path, sizeof path, "%s/part-%d/result.json", parts_dir, k);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    double words = cJSON_IsNumber(cJSON_GetObjectItem(j, "words"))
                       ? cJSON_GetObjectItem(j, "words")->valuedouble
                       : -1;
    cJSON_Delete(j);
    return words;
}

/* The chord's callback: the sum of the parts' counts, in the order given. */
static rc_job_status total(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)ud;
    double sum = 0;
    int k = 0;
    const cJSON *r;
    const char *parts_dir = cJSON_GetStringValue(cJSON_GetObjectItem(job->params, "parts_dir"));
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(job->params, RC_CHORD_PARAM))
    {
        double words = cJSON_IsNumber(r) ? r->valuedouble : read_part(parts_dir, k);
        if (words < 0) {
            snprintf(err, errlen, "part %d has no count", k);
            return RC_JOB_FAIL;
        }
        sum += words;
        k++;
    }
    const char *prefix = cJSON_GetStringValue(cJSON_GetObjectItem(job->params, RC_PREFIX_PARAM));
    if (write_result(prefix, sum, err, errlen)) return RC_JOB_FAIL;
    *result = cJSON_CreateNumber(sum);
    return RC_JOB_OK;
}

static void on_skip(rc_cue *cue, const rc_work *w, void *ud)
{
    (void)cue;
    (void)ud;
    printf("skipped %s: result.json is under %s\n", rc_work_label(w), rc_prefix_of(w));
}

static void on_complete(rc_cue *cue, const rc_work *w, const cJSON *result, double s, void *ud)
{
    (void)cue;
    (void)s;
    (void)ud;
    printf("done    %s: %.0f words -> %s/result.json\n", rc_work_label(w),
           cJSON_GetNumberValue(result), rc_prefix_of(w));
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s DIR [PARTS]\n", argv[0]);
        return 2;
    }
    int parts = argc == 3 ? atoi(argv[2]) : 4;
    if (parts < 1 || parts > 64) {
        fprintf(stderr, "%s: PARTS must be 1 to 64\n", argv[0]);
        return 2;
    }
    char input[4096], out[4096], child[4096];
    snprintf(input, sizeof input, "%s/input.txt", argv[1]);
    snprintf(out, sizeof out, "%s/out", argv[1]);
    input_path = input;
    if (mkdir(out, 0777) && errno != EEXIST) {
        fprintf(stderr, "%s: mkdir %s: %s\n", argv[0], out, strerror(errno));
        return 1;
    }

    rc_loop *loop;
    rc_cue *cue;
    rc_pool *pool;
    rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC});
    rc_cue_new(&cue, loop, NULL);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_stale = rc_prefix_is_stale,
                                      .on_skip = on_skip,
                                      .on_complete = on_complete});
    rc_service(cue, "cpu", NULL, 2);
    if (rc_pool_new(&pool, cue, 2)) return 1;
    rc_pool_task(pool, "count", "cpu", count, NULL);
    rc_pool_task(pool, "total", "cpu", total, NULL);

    /* The header: one child per slice, each under its own sub-prefix. */
    rc_sig header[64];
    cJSON *params[65];
    for (int k = 0; k < parts; k++) {
        char name[32];
        snprintf(name, sizeof name, "part-%d", k);
        rc_prefix_child(child, sizeof child, out, name);
        params[k] = cJSON_CreateObject();
        cJSON_AddNumberToObject(params[k], "slice", k);
        cJSON_AddNumberToObject(params[k], "parts", parts);
        cJSON_AddStringToObject(params[k], RC_PREFIX_PARAM, child);
        header[k] = (rc_sig){"count", params[k], NULL};
    }
    rc_prefix_child(child, sizeof child, out, "total");
    params[parts] = cJSON_CreateObject();
    cJSON_AddStringToObject(params[parts], RC_PREFIX_PARAM, child);
    cJSON_AddStringToObject(params[parts], "parts_dir", out);
    rc_sig callback = {"total", params[parts], "total"};

    rc_flow flow;
    int rc = rc_chord(cue, "words", header, (size_t)parts, &callback, &flow);
    for (int k = 0; k <= parts; k++) cJSON_Delete(params[k]);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[0], rc_cue_errmsg(cue));
        return 1;
    }
    rc = rc_flow_wait(cue, &flow, 60);
    rc_status st = rc_flow_status(cue, &flow);
    printf("workflow %s (%s)\n", rc_status_name(st), rc ? rc_strerror(rc) : "all finished");
    rc_flow_free(&flow);
    rc_pool_shutdown(pool, 5, NULL);
    rc_pool_free(pool);
    rc_cue_free(cue);
    rc_loop_free(loop);
    return st == RC_ST_COMPLETED ? 0 : 1;
}
