/*
 * file_pipeline.c -- a rate-limited pipeline over files on disk, driven by
 * subprocess workers (runcue_transport.h).
 *
 * For every INPUT_DIR/NAME.txt:
 *
 *   upper  service "cpu" (2 at once)     C worker        NAME.txt   -> out/NAME.upper
 *   count  service "counter" (10/sec)    Python worker   NAME.upper -> out/NAME.count.json
 *
 * Both stages are submitted at once for every file; runcue decides when each
 * runs.  The checks are Make's: a stage is stale when its output is missing
 * or older than its input, and skipped otherwise; "count" is ready only when
 * NAME.upper exists and is not older than NAME.txt, so it waits for "upper"
 * to (re)write it.  A second run does nothing; touching one input re-runs
 * only its chain.
 *
 *   runcue-example-files --demo docs     # write a few sample .txt files
 *   runcue-example-files docs            # run: 2 x N work items
 *   runcue-example-files docs            # again: everything skipped
 *   touch docs/03.txt && runcue-example-files docs   # one chain re-runs
 *
 * Built with RUNCUE_EXAMPLE_REDIS (examples/distributed) it is the scheduler
 * of the same pipeline spread over machines: --redis URL binds both tasks
 * to services in a Redis namespace (runcue_redis.h), where runcue-agent
 * processes claim and run them with the same workers.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runcue.h"
#include "runcue_transport.h"
#ifdef RUNCUE_EXAMPLE_REDIS
#include "runcue_redis.h"
#endif

#ifndef UPPER_WORKER
#define UPPER_WORKER "runcue-example-upper-worker"
#endif
#ifndef COUNT_WORKER
#define COUNT_WORKER "wordcount_worker.py"
#endif
#ifndef PYTHON
#define PYTHON "python3"
#endif

enum { STAGE_UPPER, STAGE_COUNT, N_STAGES };
static const char *const stage_task[N_STAGES] = {"upper", "count"};

typedef struct pipeline {
    rc_time t0;
    bool quiet;
    /* per stage */
    int ran[N_STAGES], skipped[N_STAGES], failed[N_STAGES];
} pipeline;

/* ---- files, Make-style ---- */

/* mtime of path, or false if it does not exist. */
static bool file_mtime(const char *path, struct timespec *out)
{
    struct stat st;
    if (stat(path, &st) != 0) return false;
    *out = st.st_mtim;
    return true;
}

static bool older(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static const char *param(const rc_work *work, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rc_work_params(work), name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int stage_of(const rc_work *work)
{
    return strcmp(rc_work_task(work), "upper") == 0 ? STAGE_UPPER : STAGE_COUNT;
}

/* upper: its input exists.  count: NAME.upper exists and is not older than
 * NAME.txt (else "upper" has yet to (re)write it). */
static int is_ready(rc_cue *cue, const rc_work *work, rc_check *check, void *ud)
{
    struct timespec in, src;
    if (!file_mtime(param(work, "in"), &in)) {
        if (stage_of(work) == STAGE_COUNT) rc_check_wait_on(check, param(work, "after"));
        rc_check_detail(check, "input %s missing", param(work, "in"));
        return 0;
    }
    if (stage_of(work) == STAGE_COUNT && file_mtime(param(work, "src"), &src) && older(in, src)) {
        rc_check_wait_on(check, param(work, "after"));
        rc_check_detail(check, "input %s is older than %s", param(work, "in"), param(work, "src"));
        return 0;
    }
    return 1;
}

/* Stale when the output is missing or older than the input. */
static int is_stale(rc_cue *cue, const rc_work *work, rc_check *check, void *ud)
{
    struct timespec in, out;
    if (!file_mtime(param(work, "out"), &out)) return 1;
    if (!file_mtime(param(work, "in"), &in)) return 1;
    return older(out, in) ? 1 : 0;
}

/* ---- reporting ---- */

static double since(const pipeline *p, rc_time now)
{
    return rc_to_seconds(now - p->t0);
}

/* The core says "attempt 1 failed: WHY; attempt 2 at t=ABS" on the loop's
 * clock; say it on this program's clock, which counts from the start. */
static void retry_line(const pipeline *p, const rc_event *ev, char *line, size_t cap)
{
    const char *at = strstr(ev->detail, "; attempt ");
    const char *t = at ? strstr(at, " at t=") : NULL;
    char *end;
    double when = t ? strtod(t + 6, &end) : 0;
    if (!t || end == t + 6) {
        snprintf(line, cap, "retrying: %s", ev->detail);
        return;
    }
    double in = when - rc_to_seconds(ev->time);
    snprintf(line, cap, "retrying: %.*s; attempt %u at [%.3fs], in %.3fs", (int)(at - ev->detail),
             ev->detail, rc_work_attempt(ev->work), when - rc_to_seconds(p->t0), in > 0 ? in : 0);
}

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    pipeline *p = ud;
    if (!ev->work) return;
    int s = stage_of(ev->work);
    const char *label = rc_work_label(ev->work);
    char line[800];
    switch (ev->kind) {
    case RC_EV_STARTED:
        snprintf(line, sizeof line, "started");
        break;
    case RC_EV_COMPLETED: {
        p->ran[s]++;
        char *r = cJSON_PrintUnformatted(rc_work_result(ev->work));
        snprintf(line, sizeof line, "done in %.3fs -> %s  %s", ev->duration, param(ev->work, "out"),
                 r ? r : "");
        cJSON_free(r);
        break;
    }
    case RC_EV_SKIPPED:
        p->skipped[s]++;
        snprintf(line, sizeof line, "fresh, skipped (%s)", param(ev->work, "out"));
        break;
    case RC_EV_FAILED:
        p->failed[s]++;
        snprintf(line, sizeof line, "FAILED: %s", ev->detail);
        break;
    case RC_EV_RETRY:
        retry_line(p, ev, line, sizeof line);
        break;
    default:
        return;
    }
    if (!p->quiet)
        printf("[%7.3fs] %-5s %-16s %s\n", since(p, ev->time), stage_task[s], label, line);
}

static void on_worker_log(rc_workers *w, int pid, const char *line, void *ud)
{
    printf("           worker %d: %s\n", pid, line);
}

/* ---- setup ---- */

static _Noreturn void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "runcue-example-files: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see --help)\n");
    va_end(ap);
    exit(2);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "runcue-example-files: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void check_rc(int rc, const char *what, rc_cue *cue)
{
    if (rc)
        die("%s: %s%s%s", what, rc_strerror(rc), cue ? ": " : "", cue ? rc_cue_errmsg(cue) : "");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAME of every NAME.txt in dir, sorted. */
static size_t list_inputs(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d) die("cannot open %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".txt") != 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            names = realloc(names, cap * sizeof *names);
            if (!names) die("out of memory");
        }
        names[n] = strndup(e->d_name, len - 4);
        if (!names[n++]) die("out of memory");
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static char *path_join(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *s = malloc(n);
    if (!s) die("out of memory");
    snprintf(s, n, "%s/%s%s", dir, name, ext);
    return s;
}

static void submit_stage(rc_cue *cue, int stage, const char *name, const char *src, const char *in,
                         const char *out)
{
    char after[300], produces[300];
    snprintf(after, sizeof after, "upper:%s", name);
    snprintf(produces, sizeof produces, "%s:%s", stage_task[stage], name);
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "src", src);
    cJSON_AddStringToObject(params, "in", in);
    cJSON_AddStringToObject(params, "out", out);
    cJSON_AddStringToObject(params, "after", after);
    const char *needs[] = {after};
    const char *prod[] = {produces};
    rc_submit_opts o = {.params = params,
                        .needs = stage == STAGE_COUNT ? needs : NULL,
                        .n_needs = stage == STAGE_COUNT ? 1 : 0,
                        .produces = prod,
                        .n_produces = 1,
                        .label = name};
    int rc = rc_submit(cue, stage_task[stage], &o, NULL);
    if (rc) {
        cJSON_Delete(params);
        check_rc(rc, "rc_submit", cue);
    }
}

static const char *const demo_texts[] = {
    "The quick brown fox jumps over the lazy dog.\nThe dog sleeps.\n",
    "runcue decides when work runs; the application decides what it does.\n",
    "Workers print a ready line, then answer one line per task.\n",
    "A stale output is rebuilt; a fresh one is skipped, the way Make does it.\n",
    "Rate limits hold in every window: never more than ten starts a second.\n",
    "stderr is a log, never a result.\nstderr is a log.\n",
};

static void make_demo(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) die("mkdir %s: %s", dir, strerror(errno));
    enum { N_DEMO = 16 };
    for (int i = 0; i < N_DEMO; i++) {
        char name[16];
        snprintf(name, sizeof name, "%02d", i + 1);
        char *path = path_join(dir, name, ".txt");
        FILE *f = fopen(path, "w");
        if (!f) die("cannot write %s: %s", path, strerror(errno));
        for (int k = 0; k <= i % 4; k++)
            fputs(demo_texts[(size_t)(i + k) % (sizeof demo_texts / sizeof *demo_texts)], f);
        fclose(f);
        free(path);
    }
    printf("wrote %d sample files to %s/\n", N_DEMO, dir);
}

/* ---- the distributed variant: both stages run remotely (runcue_redis.h) ---- */

#ifdef RUNCUE_EXAMPLE_REDIS
typedef rc_redis remote;

/* Connect cue to the namespace and bind both stages to its services (the
 * same limits as the local run, kept by the server for every agent). */
static remote *remote_new(rc_cue *cue, const char *url, const char *ns, const char *pwfile,
                          const char *rate)
{
    rc_redis *r;
    rc_redis_opts o = {.conn = {.url = url, .ns = ns, .password_file = pwfile},
                       .owner = "files-scheduler"};
    if (rc_redis_new(&r, cue, &o)) die("--redis: %s", rc_redis_last_error());
    if (rc_redis_service(r, "cpu", NULL, 2, 30, 3) ||
        rc_redis_service(r, "counter", rate, 2, 30, 3) || rc_redis_task(r, "upper", "cpu") ||
        rc_redis_task(r, "count", "counter"))
        die("--redis: %s", rc_redis_errmsg(r));
    if (rc_redis_wait_ready(r, 10)) die("--redis %s: %s", url, rc_redis_errmsg(r));
    return r;
}

/* Run until no work is running and all that is pending waits (on something
 * that will not come), or the connection fails. */
static void remote_run(remote *r, rc_cue *cue)
{
    rc_stats st;
    for (rc_cue_stats(cue, &st); st.running > 0 || st.pending > st.waiting;
         rc_cue_stats(cue, &st)) {
        if (rc_redis_status(r) == RC_REDIS_FAILED) die("redis: %s", rc_redis_errmsg(r));
        if (rc_loop_run(rc_cue_loop(cue), RC_RUN_ONCE) < 0) die("rc_loop_run failed");
    }
}

static void remote_print_and_free(remote *r)
{
    rc_redis_stats st;
    rc_redis_stats_get(r, &st);
    printf("redis: %llu enqueued, %llu re-attached, %llu results, %llu redelivered\n",
           (unsigned long long)st.enqueued, (unsigned long long)st.reattached,
           (unsigned long long)st.results, (unsigned long long)st.redelivered);
    rc_redis_free(r);
}
#else
typedef struct remote remote;
static remote *remote_new(rc_cue *cue, const char *url, const char *ns, const char *pwfile,
                          const char *rate)
{
    (void)cue, (void)url, (void)ns, (void)pwfile, (void)rate;
    return NULL;
}
static void remote_run(remote *r, rc_cue *cue)
{
    (void)r, (void)cue;
}
static void remote_print_and_free(remote *r)
{
    (void)r;
}
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: runcue-example-files [options] INPUT_DIR\n"
            "       runcue-example-files --demo DIR\n"
            "\n"
            "For each INPUT_DIR/NAME.txt: upper-case it into OUT/NAME.upper (a C worker),\n"
            "then count its words into OUT/NAME.count.json (a Python worker, rate-limited).\n"
            "Outputs newer than their inputs are skipped, as Make would; run it twice and\n"
            "the second run does nothing, touch one input and only its chain re-runs.\n"
            "\n"
            "options:\n"
            "  -o, --out DIR         output directory (default INPUT_DIR/out)\n"
            "  -r, --rate RATE       rate limit of the counting stage (default 10/sec)\n"
            "  -q, --quiet           no line per event, only the summary\n"
            "      --demo DIR        write sample .txt files into DIR and exit\n"
            "      --upper-worker P  the C worker (default %s)\n"
            "      --count-worker P  the Python worker (default %s)\n"
            "      --python P        the Python interpreter (default %s)\n"
#ifdef RUNCUE_EXAMPLE_REDIS
            "      --redis URL       run the stages on runcue-agent processes through Redis\n"
            "                        (unix:/path/redis.sock or redis://host:port)\n"
            "      --ns NAME         the Redis namespace (default files)\n"
            "      --password-file F the Redis password is the first line of F\n"
#endif
            "  -h, --help            this text\n",
            UPPER_WORKER, COUNT_WORKER, PYTHON);
}

int main(int argc, char **argv)
{
    const char *out_dir = NULL, *rate = "10/sec";
    const char *upper_worker = UPPER_WORKER, *count_worker = COUNT_WORKER, *python = PYTHON;
    pipeline p = {0};
    const char *redis_url = NULL, *redis_ns = "files", *redis_pwfile = NULL;
    enum { OPT_DEMO = 256, OPT_UPPER, OPT_COUNT, OPT_PYTHON, OPT_REDIS, OPT_NS, OPT_PWFILE };
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"rate", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},
        {"demo", required_argument, NULL, OPT_DEMO},
        {"upper-worker", required_argument, NULL, OPT_UPPER},
        {"count-worker", required_argument, NULL, OPT_COUNT},
        {"python", required_argument, NULL, OPT_PYTHON},
#ifdef RUNCUE_EXAMPLE_REDIS
        {"redis", required_argument, NULL, OPT_REDIS},
        {"ns", required_argument, NULL, OPT_NS},
        {"password-file", required_argument, NULL, OPT_PWFILE},
#endif
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0; /* one line of our own instead */
    while ((c = getopt_long(argc, argv, "o:r:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_dir = optarg;
            break;
        case 'r':
            rate = optarg;
            break;
        case 'q':
            p.quiet = true;
            break;
        case OPT_DEMO:
            make_demo(optarg);
            return 0;
        case OPT_UPPER:
            upper_worker = optarg;
            break;
        case OPT_COUNT:
            count_worker = optarg;
            break;
        case OPT_PYTHON:
            python = optarg;
            break;
        case OPT_REDIS:
            redis_url = optarg;
            break;
        case OPT_NS:
            redis_ns = optarg;
            break;
        case OPT_PWFILE:
            redis_pwfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage_error("unknown option or missing value '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) usage_error("which directory? give INPUT_DIR");
    if (optind < argc - 1)
        usage_error("one INPUT_DIR only ('%s' is one too many)", argv[optind + 1]);
    char rate_err[200];
    unsigned rate_n;
    double rate_w;
    if (rc_parse_rate(rate, &rate_n, &rate_w, rate_err, sizeof rate_err))
        usage_error("--rate: %s", rate_err);
    const char *in_dir = argv[optind];
    char *default_out = path_join(in_dir, "out", "");
    if (!out_dir) out_dir = default_out;
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) die("mkdir %s: %s", out_dir, strerror(errno));

    char **names;
    size_t n = list_inputs(in_dir, &names);
    if (!n) die("no .txt files in %s (try --demo %s)", in_dir, in_dir);

    rc_loop *loop;
    rc_cue *cue;
    check_rc(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), "rc_loop_new", NULL);
    check_rc(rc_cue_new(&cue, loop, NULL), "rc_cue_new", NULL);
    rc_hooks hooks = {.is_ready = is_ready, .is_stale = is_stale, .on_event = on_event, .ud = &p};
    rc_cue_set_hooks(cue, &hooks);
    rc_workers *upper = NULL, *count = NULL;
    remote *r = redis_url ? remote_new(cue, redis_url, redis_ns, redis_pwfile, rate) : NULL;
    if (!r) {
        check_rc(rc_service(cue, "cpu", NULL, 2), "rc_service cpu", cue);
        check_rc(rc_service(cue, "counter", rate, 2), "rc_service counter", cue);

        const char *upper_argv[] = {upper_worker, NULL};
        /* -S: the worker needs only the standard library; skipping site-packages
         * makes the interpreter start several times faster. */
        const char *count_argv[] = {python, "-S", count_worker, NULL};
        rc_workers_opts uo = {.argv = upper_argv,
                              .name = "upper",
                              .processes = 2,
                              .task_timeout_s = 10,
                              .on_stderr = on_worker_log};
        rc_workers_opts co = {.argv = count_argv,
                              .name = "count",
                              .processes = 2,
                              .task_timeout_s = 10,
                              .on_stderr = on_worker_log};
        check_rc(rc_workers_new(&upper, cue, "upper", "cpu", &uo), "rc_workers_new upper", cue);
        check_rc(rc_workers_new(&count, cue, "count", "counter", &co), "rc_workers_new count", cue);
    }
    rc_retry_policy retry = {.max_attempts = 3, .base_s = 0.2, .exponential = true};
    check_rc(rc_task_retry(cue, "upper", &retry), "rc_task_retry", cue);
    check_rc(rc_task_retry(cue, "count", &retry), "rc_task_retry", cue);

    p.t0 = rc_loop_now(loop);
    for (size_t i = 0; i < n; i++) {
        char *src = path_join(in_dir, names[i], ".txt");
        char *up = path_join(out_dir, names[i], ".upper");
        char *cnt = path_join(out_dir, names[i], ".count.json");
        submit_stage(cue, STAGE_UPPER, names[i], src, src, up);
        submit_stage(cue, STAGE_COUNT, names[i], src, up, cnt);
        free(src);
        free(up);
        free(cnt);
    }
    printf("%zu input files in %s, outputs in %s\n", n, in_dir, out_dir);
    /* Runs until nothing is left to do: idle workers do not keep it alive. */
    if (r)
        remote_run(r, cue);
    else if (rc_loop_run(loop, RC_RUN_DEFAULT) < 0)
        die("rc_loop_run: %s", rc_loop_errmsg(loop));
    double took = rc_to_seconds(rc_loop_now(loop) - p.t0);

    printf("\n%-6s %6s %8s %7s\n", "stage", "ran", "skipped", "failed");
    for (int s = 0; s < N_STAGES; s++)
        printf("%-6s %6d %8d %7d\n", stage_task[s], p.ran[s], p.skipped[s], p.failed[s]);
    rc_workers *all[N_STAGES] = {upper, count};
    for (int s = 0; s < N_STAGES && !r; s++) {
        rc_workers_stats st;
        rc_workers_stats_get(all[s], &st);
        printf("workers '%s': %llu started, %llu crashed, %llu timed out\n", stage_task[s],
               (unsigned long long)st.spawned, (unsigned long long)st.crashed,
               (unsigned long long)st.task_timeouts);
    }
    rc_stats cs;
    rc_cue_stats(cue, &cs);
    if (cs.pending) {
        rc_blocked *blocked;
        size_t nb;
        if (rc_debug_blocked(cue, &blocked, &nb) == 0) {
            printf("%zu work items could not run:\n", nb);
            for (size_t i = 0; i < nb; i++)
                printf("  %s %s: %s\n", blocked[i].task, blocked[i].label ? blocked[i].label : "",
                       blocked[i].detail);
            rc_blocked_free(cue, blocked);
        }
    }

    int ran = p.ran[0] + p.ran[1], failed = p.failed[0] + p.failed[1];
    if (failed || cs.pending)
        printf("%.2fs; %d failed, %zu could not run: those outputs are missing or out of date\n",
               took, failed, cs.pending);
    else
        printf("%.2fs; %s\n", took,
               ran ? "outputs are up to date" : "nothing to do: all outputs fresh");
    if (r) remote_print_and_free(r);
    if (upper) {
        rc_workers_shutdown(upper, 2.0, NULL);
        rc_workers_shutdown(count, 2.0, NULL);
        rc_workers_free(upper);
        rc_workers_free(count);
    }
    rc_cue_free(cue);
    rc_loop_free(loop);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(default_out);
    return cs.failed || cs.pending ? 1 : 0;
}
