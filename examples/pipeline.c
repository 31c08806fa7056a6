/*
 * pipeline.c -- a small extract -> transform -> load pipeline with runcue.
 *
 * Every item i passes through three tasks, linked only by artifacts: files
 * in one directory, named by their artifact keys.
 *
 *   extract    service "local" (2 at once)              -> raw-<i>.txt
 *   transform  service "api" (20/sec, 3 at once)  raw-<i>.txt -> clean-<i>.txt
 *   load       service "local"                  clean-<i>.txt -> loaded-<i>.txt
 *
 * All the work is submitted at once.  runcue starts a piece when its input
 * exists (is_ready) and skips it when its output already does (is_stale), so
 * a second round -- or a second run on the same --dir -- skips everything.
 * extract and load finish a few ms later on a loop timer; transform runs on
 * a worker thread and completes from there, as a network call would.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runcue.h"
#include "runcue_shm.h"
#include "shm_cleanup.h"

typedef struct stage {
    const char *task;
    const char *service;
    const char *input;  /* artifact prefix of the input, NULL for none */
    const char *output; /* artifact prefix of the output */
    bool on_thread;     /* work on a worker thread, else on a loop timer */
} stage;

static const stage stages[] = {
    {"extract", "local", NULL, "raw", false},
    {"transform", "api", "raw", "clean", true},
    {"load", "local", "clean", "loaded", false},
};
enum { N_STAGES = sizeof stages / sizeof stages[0] };

typedef struct pipeline {
    const char *dir;
    rc_time start;
} pipeline;

/* ---- artifacts: files named by their keys ---- */

static void artifact_key(char *key, size_t len, const char *prefix, int item)
{
    snprintf(key, len, "%s-%03d.txt", prefix, item);
}

static bool artifact_exists(const pipeline *p, const char *key)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", p->dir, key);
    return access(path, F_OK) == 0;
}

/* ---- the work itself ---- */

typedef struct job {
    rc_cue *cue;
    rc_token token;
    int item;
    bool uppercase;
    char input[PATH_MAX]; /* "" for none */
    char output[PATH_MAX];
} job;

/* Read the input (or make a record), convert it, write the output atomically. */
static int run_job(const job *j, char *err, size_t errlen)
{
    char text[256];
    snprintf(text, sizeof text, "record %d\n", j->item);
    if (j->input[0]) {
        FILE *in = fopen(j->input, "r");
        const size_t n = in ? fread(text, 1, sizeof text - 1, in) : 0;
        if (in) fclose(in);
        if (!in || n == 0) {
            snprintf(err, errlen, "cannot read %s", j->input);
            return -1;
        }
        text[n] = '\0';
    }
    for (char *c = text; j->uppercase && *c; c++)
        *c = (char)toupper((unsigned char)*c);

    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", j->output);
    FILE *out = fopen(tmp, "w");
    const bool written = out && fputs(text, out) >= 0;
    if (!out || fclose(out) != 0 || !written || rename(tmp, j->output) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", j->output, strerror(errno));
        return -1;
    }
    return 0;
}

/* Do the job and finish its attempt.  Safe on any thread: rc_complete and
 * rc_fail may be called from outside the loop. */
static void finish_job(job *j)
{
    char err[PATH_MAX + 64];
    rc_cue *cue = j->cue;
    const rc_token token = j->token;
    const int rc = run_job(j, err, sizeof err);
    free(j);
    if (rc == 0)
        rc_complete(cue, token, NULL);
    else
        rc_fail(cue, token, err);
}

static void local_job_due(rc_loop *loop, void *arg)
{
    (void)loop;
    finish_job(arg);
}

static void *api_job_thread(void *arg)
{
    nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL); /* the "network" */
    finish_job(arg);
    return NULL;
}

static job *job_from_work(rc_cue *cue, const rc_work *work, rc_token token, const stage *s)
{
    const cJSON *params = rc_work_params(work);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(params, "item");
    const char *input = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "input"));
    const char *output = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "output"));
    job *j = calloc(1, sizeof *j);
    if (!j || !cJSON_IsNumber(item) || !output) {
        free(j);
        return NULL;
    }
    *j = (job){.cue = cue, .token = token, .item = item->valueint, .uppercase = s->on_thread};
    snprintf(j->input, sizeof j->input, "%s", input ? input : "");
    snprintf(j->output, sizeof j->output, "%s", output);
    return j;
}

/* The task handler: start the job and return; it finishes later. */
static void stage_handler(rc_cue *cue, const rc_work *work, rc_token token, void *ud)
{
    const stage *s = ud;
    job *j = job_from_work(cue, work, token, s);
    if (!j) {
        rc_fail(cue, token, "bad params or out of memory");
        return;
    }
    if (s->on_thread) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, api_job_thread, j) == 0) {
            pthread_detach(thread);
            return;
        }
    } else {
        rc_loop *loop = rc_cue_loop(cue);
        if (rc_loop_call_at(loop, rc_loop_now(loop) + rc_seconds(0.003), local_job_due, j) == 0)
            return;
    }
    free(j);
    rc_fail(cue, token, "cannot start the job");
}

/* ---- the application's side of the contract ---- */

static int inputs_ready(rc_cue *cue, const rc_work *work, rc_check *check, void *ud)
{
    (void)cue;
    const char *const *needs;
    const size_t n = rc_work_needs(work, &needs);
    for (size_t i = 0; i < n; i++) {
        if (!artifact_exists(ud, needs[i])) {
            rc_check_wait_on(check, needs[i]); /* re-checked when needs[i] is announced */
            rc_check_detail(check, "input %s missing", needs[i]);
            return 0;
        }
    }
    return 1;
}

static int outputs_stale(rc_cue *cue, const rc_work *work, rc_check *check, void *ud)
{
    (void)cue, (void)check;
    const char *const *produces;
    const size_t n = rc_work_produces(work, &produces);
    for (size_t i = 0; i < n; i++)
        if (!artifact_exists(ud, produces[i])) return 1;
    return 0; /* every output is there: skip */
}

static void print_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    const pipeline *p = ud;
    printf("%8.3f  %-10s", rc_to_seconds(ev->time - p->start), rc_event_name(ev->kind));
    if (ev->work)
        printf(" %-9s #%-4" PRIu64 " %s", rc_work_task(ev->work), rc_work_get_id(ev->work),
               rc_work_label(ev->work) ? rc_work_label(ev->work) : "");
    printf("%s%s\n", ev->detail[0] ? "  " : "", ev->detail);
}

/* ---- setup ---- */

static int submit_item(rc_cue *cue, const pipeline *p, int item)
{
    for (size_t s = 0; s < N_STAGES; s++) {
        char in_key[64] = "", out_key[64], label[32], in_path[PATH_MAX], out_path[PATH_MAX];
        if (stages[s].input) artifact_key(in_key, sizeof in_key, stages[s].input, item);
        artifact_key(out_key, sizeof out_key, stages[s].output, item);
        snprintf(in_path, sizeof in_path, "%s/%s", p->dir, in_key);
        snprintf(out_path, sizeof out_path, "%s/%s", p->dir, out_key);
        snprintf(label, sizeof label, "item-%03d", item);

        cJSON *params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "item", item);
        if (stages[s].input) cJSON_AddStringToObject(params, "input", in_path);
        cJSON_AddStringToObject(params, "output", out_path);

        const char *const needs[] = {in_key};
        const char *const produces[] = {out_key};
        const rc_submit_opts opts = {.params = params,
                                     .needs = needs,
                                     .n_needs = stages[s].input ? 1 : 0,
                                     .produces = produces,
                                     .n_produces = 1,
                                     .label = label};
        const int rc = rc_submit(cue, stages[s].task, &opts, NULL);
        if (rc < 0) {
            cJSON_Delete(params); /* still ours on error */
            return rc;
        }
    }
    return 0;
}

static int setup_cue(rc_cue *cue, pipeline *p)
{
    int rc = rc_service(cue, "local", NULL, 2);
    if (rc == 0) rc = rc_service(cue, "api", "20/sec", 3);
    for (size_t s = 0; rc == 0 && s < N_STAGES; s++)
        rc = rc_task(cue, stages[s].task, stages[s].service, stage_handler, (void *)&stages[s]);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = inputs_ready,
                                      .is_stale = outputs_stale,
                                      .on_event = print_event,
                                      .ud = p});
    return rc;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    if (d) closedir(d);
    rmdir(dir);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: runcue-example-pipeline [-n ITEMS] [--rounds R] [--dir DIR]\n"
                 "Runs extract -> transform -> load over ITEMS items (default 12).\n"
                 "  -n ITEMS      number of items\n"
                 "  --rounds R    submit everything R times (default 1); later rounds skip\n"
                 "                work whose output is already there\n"
                 "  --dir DIR     keep artifacts in DIR (kept afterwards; a second run skips);\n"
                 "                default: a temporary directory removed at exit\n"
                 "  --shm NAME    publish live state as shared memory NAME (watch it with\n"
                 "                runcue-top NAME)\n"
                 "  --help        this text\n");
}

int main(int argc, char **argv)
{
    int items = 12, rounds = 1;
    const char *dir = NULL, *shm = NULL;
    const struct option long_opts[] = {{"rounds", required_argument, NULL, 'r'},
                                       {"shm", required_argument, NULL, 's'},
                                       {"dir", required_argument, NULL, 'd'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "n:h", long_opts, NULL)) != -1;) {
        switch (c) {
        case 'n':
            items = atoi(optarg);
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        case 'd':
            dir = optarg;
            break;
        case 's':
            shm = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (items < 1 || items > 999 || rounds < 1 || optind < argc) {
        usage(stderr);
        return 2;
    }

    char tmp_dir[PATH_MAX];
    if (!dir) {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(tmp_dir, sizeof tmp_dir, "%s/runcue-pipeline-XXXXXX", base);
        if (!mkdtemp(tmp_dir)) {
            perror("mkdtemp");
            return 1;
        }
    } else if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    pipeline p = {.dir = dir ? dir : tmp_dir};

    rc_loop *loop = NULL;
    rc_cue *cue = NULL;
    int rc = rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC});
    if (rc == 0) rc = rc_cue_new(&cue, loop, NULL);
    if (rc == 0) rc = setup_cue(cue, &p);
    /* One call makes the running cue watchable (runcue-top, the harness). */
    char shm_err[256] = "";
    rc_shm_writer *writer = NULL;
    if (rc == 0 && shm &&
        (rc = rc_shm_publish(&writer, cue, shm, "runcue-example-pipeline", shm_err,
                             sizeof shm_err)) == 0)
        shm_cleanup_on_signals(writer);
    p.start = loop ? rc_loop_now(loop) : 0;

    rc_stats before = {0}, after = {0};
    for (int round = 1; rc == 0 && round <= rounds; round++) {
        printf("-- round %d: %d items in %s\n", round, items, p.dir);
        for (int item = 0; rc == 0 && item < items; item++)
            rc = submit_item(cue, &p, item);
        if (rc == 0) rc = rc_loop_run(loop, RC_RUN_DEFAULT) < 0 ? RC_ESYS : 0;
        rc_cue_stats(cue, &after);
        printf("-- round %d: %" PRIu64 " completed, %" PRIu64 " skipped, %" PRIu64 " failed\n",
               round, after.completed - before.completed, after.skipped - before.skipped,
               after.failed - before.failed);
        before = after;
    }
    if (rc < 0)
        fprintf(stderr, "pipeline: %s: %s\n", rc_strerror(rc),
                *shm_err ? shm_err
                : cue    ? rc_cue_errmsg(cue)
                : loop ? rc_loop_errmsg(loop)
                       : "");

    const bool ok = rc == 0 && after.failed == 0 && after.pending == 0;
    printf("summary: %" PRIu64 " completed, %" PRIu64 " skipped, %" PRIu64 " failed, "
           "%zu left pending, wall %.3f s\n",
           after.completed, after.skipped, after.failed, after.pending,
           loop ? rc_to_seconds(rc_loop_now(loop) - p.start) : 0.0);

    for (size_t i = 0; cue && i < rc_service_count(cue); i++) {
        rc_service_info info;
        if (rc_service_get(cue, i, &info) == 0)
            printf("service %-6s started %3" PRIu64 ", at most %zu running at once\n", info.name,
                   info.started, info.peak_running);
    }
    if (cue) rc_cue_free(cue);
    if (loop) rc_loop_free(loop);
    if (!dir) remove_dir(tmp_dir);
    return ok ? 0 : 1;
}
