/* test_workers.c -- the subprocess-worker transport, on a real clock, with
 * real worker processes: worker_c (C) and worker.py (Python, stdlib only).
 *
 * Their paths come from the environment (meson sets WORKER_C, WORKER_PY and
 * PYTHON).  Each test drives the loop until it goes idle -- the transport
 * stops watching idle workers, so "run until idle" returns -- under a
 * watchdog that stops the loop and fails the test after WATCHDOG_S. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runcue.h"
#include "runcue_canvas.h"
#include "runcue_transport.h"

#define MAX_WORK 64
#define MSG_LEN 640
#define MAX_LOG 128
#define WATCHDOG_S 8.0

/* ------------------------------------------------------------------ */
/* A recorder: hooks, the worker log, and the loop under a watchdog    */
/* ------------------------------------------------------------------ */

typedef struct recorder {
    rc_loop *loop;
    rc_cue *cue;
    rc_workers *w;
    rc_timer watchdog;
    bool watchdog_fired;

    int started, completed, failed, retries;
    int running, peak_running;
    size_t peak_busy, peak_alive;
    int ends[MAX_WORK + 1]; /* completions + failures per work id */
    char failure[MAX_WORK + 1][MSG_LEN];
    size_t failure_len[MAX_WORK + 1]; /* the whole message's */
    char failure_tail[MAX_WORK + 1][64]; /* its last bytes */
    cJSON *result[MAX_WORK + 1];
    char retry_detail[16][MSG_LEN];
    int n_retry_detail;
    int progress;         /* RC_EV_PROGRESS events */
    double last_progress; /* and the last one's fraction and message */
    char progress_msg[MSG_LEN];

    char log[MAX_LOG][256];
    int log_pid[MAX_LOG];
    int n_log;
    const char *kill_on; /* SIGKILL the worker the first time it logs this */
    bool killed;
    const char *stop_on; /* rc_loop_stop the first time a worker logs this */
    bool shut;           /* the test called rc_workers_shutdown itself */
} recorder;

static recorder R;

static double now_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static void sample_stats(void)
{
    if (!R.w) return;
    rc_workers_stats st;
    rc_workers_stats_get(R.w, &st);
    if (st.busy > R.peak_busy) R.peak_busy = st.busy;
    if (st.alive > R.peak_alive) R.peak_alive = st.alive;
}

static void on_start(rc_cue *cue, const rc_work *work, void *ud)
{
    R.started++;
    if (++R.running > R.peak_running) R.peak_running = R.running;
    sample_stats();
}

static void on_complete(rc_cue *cue, const rc_work *work, const cJSON *result, double d, void *ud)
{
    rc_work_id id = rc_work_get_id(work);
    R.completed++;
    R.running--;
    cr_assert_leq(id, MAX_WORK);
    R.ends[id]++;
    if (result) R.result[id] = cJSON_Duplicate(result, true);
    sample_stats();
}

static void on_failure(rc_cue *cue, const rc_work *work, rc_fail_kind kind, const char *error,
                       void *ud)
{
    rc_work_id id = rc_work_get_id(work);
    R.failed++;
    R.running--;
    cr_assert_leq(id, MAX_WORK);
    R.ends[id]++;
    snprintf(R.failure[id], sizeof R.failure[id], "%s", error);
    R.failure_len[id] = strlen(error);
    const size_t tail = sizeof R.failure_tail[id] - 1;
    snprintf(R.failure_tail[id], sizeof R.failure_tail[id], "%s",
             R.failure_len[id] > tail ? error + R.failure_len[id] - tail : error);
    sample_stats();
}

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    if (ev->kind == RC_EV_PROGRESS) {
        R.progress++;
        R.last_progress = ev->progress;
        snprintf(R.progress_msg, sizeof R.progress_msg, "%s", ev->detail);
        return;
    }
    if (ev->kind != RC_EV_RETRY) return;
    R.retries++;
    R.running--;
    if (R.n_retry_detail < 16)
        snprintf(R.retry_detail[R.n_retry_detail++], MSG_LEN, "%s", ev->detail);
}

static void on_worker_log(rc_workers *w, int pid, const char *line, void *ud)
{
    if (R.n_log < MAX_LOG) {
        snprintf(R.log[R.n_log], sizeof R.log[0], "%s", line);
        R.log_pid[R.n_log++] = pid;
    }
    if (R.kill_on && !R.killed && strcmp(line, R.kill_on) == 0) {
        R.killed = true;
        kill(pid, SIGKILL);
    }
    if (R.stop_on && strcmp(line, R.stop_on) == 0) rc_loop_stop(R.loop);
}

static void watchdog_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    R.watchdog_fired = true;
    rc_loop_stop(loop);
}

static void setup(void)
{
    memset(&R, 0, sizeof R);
    cr_assert_eq(rc_loop_new(&R.loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), RC_OK);
    cr_assert_eq(rc_cue_new(&R.cue, R.loop, NULL), RC_OK);
    rc_hooks h = {.on_start = on_start,
                  .on_complete = on_complete,
                  .on_failure = on_failure,
                  .on_event = on_event};
    rc_cue_set_hooks(R.cue, &h);
}

static void teardown(void)
{
    if (R.w) {
        if (!R.shut) cr_assert_eq(rc_workers_shutdown(R.w, 1.0, NULL), RC_OK);
        rc_workers_free(R.w);
    }
    rc_stats st;
    rc_cue_stats(R.cue, &st);
    cr_expect_eq(st.stale_finishes, 0, "no attempt is finished twice");
    rc_cue_free(R.cue);
    rc_loop_free(R.loop);
    for (int i = 0; i <= MAX_WORK; i++)
        cJSON_Delete(R.result[i]);
}

static const char *env_path(const char *name)
{
    const char *p = getenv(name);
    cr_assert(p && *p, "%s is not set (run the tests through meson)", name);
    return p;
}

/* argv for the C worker, then the Python one, with startup options. */
static const char **c_argv(const char *opt)
{
    static const char *argv[3];
    argv[0] = env_path("WORKER_C");
    argv[1] = opt;
    argv[2] = NULL;
    return argv;
}

/* python3 -S: the worker needs only the standard library, and skipping
 * site-packages saves most of the interpreter's start-up time. */
static const char **py_argv(const char *opt)
{
    static const char *argv[5];
    argv[0] = env_path("PYTHON");
    argv[1] = "-S";
    argv[2] = env_path("WORKER_PY");
    argv[3] = opt;
    argv[4] = NULL;
    return argv;
}

static void start_workers(const char *task, const char *service, rc_workers_opts opts)
{
    if (!opts.on_stderr) opts.on_stderr = on_worker_log;
    int rc = rc_workers_new(&R.w, R.cue, task, service, &opts);
    cr_assert_eq(rc, RC_OK, "rc_workers_new: %s (%s)", rc_strerror(rc), rc_cue_errmsg(R.cue));
}

static rc_work_id submit(const char *task, const char *fmt, ...)
{
    char json[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(json, sizeof json, fmt, ap);
    va_end(ap);
    cJSON *params = cJSON_Parse(json);
    cr_assert_not_null(params, "bad test JSON: %s", json);
    rc_work_id id = 0;
    int rc = rc_submit(R.cue, task, &(rc_submit_opts){.params = params}, &id);
    cr_assert_eq(rc, RC_OK, "rc_submit: %s", rc_cue_errmsg(R.cue));
    cr_assert_leq(id, MAX_WORK);
    return id;
}

/* Run the loop until it goes idle (or stops); fail if the watchdog fired. */
static void run(void)
{
    rc_timer_init(&R.watchdog, watchdog_fire, NULL);
    rc_timer_set_ref(&R.watchdog, false);
    rc_timer_start(R.loop, &R.watchdog, rc_loop_now(R.loop) + rc_seconds(WATCHDOG_S));
    int rc = rc_loop_run(R.loop, RC_RUN_DEFAULT);
    rc_timer_stop(R.loop, &R.watchdog);
    cr_assert_geq(rc, 0, "rc_loop_run: %s", rc_loop_errmsg(R.loop));
    cr_assert(!R.watchdog_fired, "the loop did not go idle within %.0fs", WATCHDOG_S);
}

static rc_workers_stats stats(void)
{
    rc_workers_stats st;
    rc_workers_stats_get(R.w, &st);
    return st;
}

/* Idle workers are not watched: what they do is read when work arrives.
 * These wait for what a test needs to have happened by then. */

/* The worker `pid` (our child) has exited; it is left for the transport to
 * reap. */
static void wait_exited(int pid)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
}

/* Bytes the worker `pid` wrote to its stdout that nobody has read yet. */
static int stdout_pending(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/1", pid);
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    int n = 0;
    if (fd >= 0) {
        if (ioctl(fd, FIONREAD, &n) != 0) n = 0;
        close(fd);
    }
    return n;
}

/* The worker `pid` answered a second time: the line waits in its pipe, or
 * the transport has already read it. */
static void wait_second_answer(int pid)
{
    double until = now_s() + WATCHDOG_S;
    while (stats().wrong_id == 0 && stdout_pending(pid) == 0 && now_s() < until)
        usleep(1000);
    cr_assert(stats().wrong_id == 1 || stdout_pending(pid) > 0,
              "the worker did not answer a second time within %.0fs", WATCHDOG_S);
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsNumber(v), "result has no number '%s'", name);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsString(v), "no string '%s'", name);
    return v->valuestring;
}

static bool logged(const char *needle)
{
    for (int i = 0; i < R.n_log; i++)
        if (strstr(R.log[i], needle)) return true;
    return false;
}

#define assert_contains(hay, needle)                                                               \
    cr_assert(strstr((hay), (needle)), "expected \"%s\" in \"%s\"", (needle), (hay))

/* ------------------------------------------------------------------ */
/* The happy path                                                      */
/* ------------------------------------------------------------------ */

static void happy_path(const char **argv, rc_worker_mode mode, unsigned processes, int n)
{
    setup();
    start_workers(
        "echo", NULL,
        (rc_workers_opts){.argv = argv, .name = "echo", .mode = mode, .processes = processes});
    for (int i = 1; i <= n; i++)
        submit("echo", "{\"i\": %d, \"text\": \"line\\nbreak\"}", i);
    run();

    cr_assert_eq(R.completed, n);
    cr_assert_eq(R.failed, 0);
    for (int id = 1; id <= n; id++) {
        cr_assert_eq(R.ends[id], 1);
        const cJSON *echo = cJSON_GetObjectItemCaseSensitive(R.result[id], "echo");
        cr_assert_not_null(echo, "work %d has its result", id);
        cr_assert_eq((int)num(echo, "i"), id, "each work gets its own result");
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(echo, "text")->valuestring,
                         "line\nbreak");
        cr_assert_eq((int)num(R.result[id], "attempt"), 1);
    }
    rc_workers_stats st = stats();
    cr_assert_eq(st.completed, (uint64_t)n);
    cr_assert_eq(st.crashed + st.garbage + st.wrong_id + st.task_timeouts, 0);
    cr_assert_eq(st.busy, 0);
    if (mode == RC_WORKERS_POOL) {
        cr_assert_eq(st.spawned, processes, "a pool starts its processes once");
        cr_assert_eq(st.ready, processes);
        cr_assert_eq(st.alive, processes, "a pool stays alive between work");
    } else {
        cr_assert_eq(st.spawned, (uint64_t)n, "one process per work item");
        cr_assert_eq(st.alive, 0, "one-shot workers have exited and been reaped");
    }
    teardown();
}

Test(transport, a_pool_of_c_workers_completes_every_work_with_its_own_result, .timeout = 20)
{
    happy_path(c_argv(NULL), RC_WORKERS_POOL, 3, 24);
}

Test(transport, a_pool_of_python_workers_completes_every_work_with_its_own_result, .timeout = 20)
{
    happy_path(py_argv(NULL), RC_WORKERS_POOL, 2, 12);
}

Test(transport, one_shot_c_workers_run_one_process_per_work, .timeout = 20)
{
    happy_path(c_argv(NULL), RC_WORKERS_ONE_SHOT, 0, 8);
}

Test(transport, one_shot_python_workers_run_one_process_per_work, .timeout = 20)
{
    happy_path(py_argv(NULL), RC_WORKERS_ONE_SHOT, 0, 4);
}

Test(transport, one_shot_workers_exiting_by_themselves_after_one_answer_are_not_crashes,
     .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = py_argv("--once"), .mode = RC_WORKERS_ONE_SHOT});
    for (int i = 1; i <= 3; i++)
        submit("t", "{}");
    run();
    cr_assert_eq(R.completed, 3);
    cr_assert_eq(stats().crashed, 0);
    cr_assert_eq(stats().alive, 0);
    teardown();
}

Test(transport, one_shot_processes_caps_how_many_run_at_once, .timeout = 20)
{
    setup();
    start_workers(
        "t", NULL,
        (rc_workers_opts){.argv = c_argv(NULL), .mode = RC_WORKERS_ONE_SHOT, .processes = 2});
    for (int i = 1; i <= 6; i++)
        submit("t", "{\"mode\": \"sleep\", \"ms\": 30}");
    run();
    cr_assert_eq(R.completed, 6);
    cr_assert_eq(stats().spawned, 6);
    cr_assert_leq(R.peak_alive, 2);
    teardown();
}

Test(transport, the_loop_goes_idle_once_a_pool_is_ready_with_nothing_to_do, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .processes = 2});
    run();
    rc_workers_stats st = stats();
    cr_assert_eq(st.ready, 2, "the loop ran until the workers were ready");
    cr_assert_eq(st.alive, 2);
    cr_assert_eq(st.busy, 0);
    teardown();
}

Test(transport, progress_lines_become_progress_events_and_the_answer_still_counts, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 1});
    rc_work_id id = submit("t", "{\"mode\": \"progress\", \"steps\": 4}");
    run();
    cr_assert_eq(R.completed, 1);
    cr_assert_eq(R.failed, 0);
    cr_assert_eq(R.progress, 3);
    cr_assert_float_eq(R.last_progress, 0.75, 1e-12);
    cr_assert_str_eq(R.progress_msg, "step 3/4");
    cr_assert_not_null(R.result[id]);
    teardown();
}

Test(transport, with_check_prefix_a_worker_writing_outside_its_prefix_fails, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = py_argv(NULL), .processes = 1, .check_prefix = true});
    rc_work_id ok = submit("t", "{\"mode\": \"outputs\", \"output_prefix\": \"out/a/\","
                                " \"outputs\": [\"out/a/result.json\", \"out/a/x/1.txt\"]}");
    rc_work_id bad = submit("t", "{\"mode\": \"outputs\", \"output_prefix\": \"out/a\","
                                 " \"outputs\": [\"out/a/result.json\", \"out/b/1.txt\"]}");
    rc_work_id up = submit("t", "{\"mode\": \"outputs\", \"output_prefix\": \"out/a\","
                                " \"outputs\": [\"out/a/../b\"]}");
    rc_work_id none = submit("t", "{\"mode\": \"outputs\", \"outputs\": [\"/etc/x\"]}");
    run();
    cr_assert_eq(R.completed, 2);
    cr_assert_not_null(R.result[ok]);
    cr_assert_not_null(R.result[none], "no prefix: nothing to check");
    cr_assert(strstr(R.failure[bad], "wrote 'out/b/1.txt' outside its prefix 'out/a'"), "%s",
              R.failure[bad]);
    cr_assert(strstr(R.failure[up], "outside its prefix"), "%s", R.failure[up]);
    teardown();
}

Test(transport, a_chain_over_workers_passes_each_result_on, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 2});
    cJSON *p = cJSON_Parse("{\"n\": 1}");
    rc_sig steps[] = {{"t", p, NULL}, {"t", NULL, NULL}};
    rc_flow f;
    cr_assert_eq(rc_chain(R.cue, "w", steps, 2, &f), 0);
    cJSON_Delete(p);
    run();
    cr_assert_eq(R.completed, 2);
    /* The second step's payload held the first's result (an echo of {"n": 1}). */
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(R.result[f.ids[1]], "echo"), RC_CHAIN_PARAM);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(prev, "echo"), "n");
    cr_assert(cJSON_IsNumber(n) && n->valueint == 1);
    rc_flow_free(&f);
    teardown();
}

Test(transport, prefix_helpers)
{
    char buf[64];
    cr_assert_eq(rc_prefix_child(buf, sizeof buf, "out/doc/", "part-1"), 0);
    cr_assert_str_eq(buf, "out/doc/part-1");
    cr_assert_eq(rc_prefix_child(buf, sizeof buf, "out", "a/b"), RC_EINVAL);
    cr_assert_eq(rc_prefix_child(buf, sizeof buf, "out", ".."), RC_EINVAL);
    cr_assert_eq(rc_prefix_child(buf, 6, "out", "long"), RC_EINVAL);
    cr_assert(rc_prefix_contains("out/a", "out/a/b"));
    cr_assert(!rc_prefix_contains("out/a", "out/ab"));
    cr_assert(!rc_prefix_contains("out/a", "out/a"));
    cr_assert(!rc_prefix_contains("out/a", "out/a/../../etc"));
    cr_assert(rc_prefix_contains("/", "/x"));
    /* The prefix itself, however spelt, is not inside it. */
    static const char *const itself[] = {"out/a/", "out/a//", "out/a/.", "out/a/./", "out/a/././/."};
    for (size_t i = 0; i < sizeof itself / sizeof *itself; i++)
        cr_assert(!rc_prefix_contains("out/a", itself[i]), "%s", itself[i]);
    cr_assert(!rc_prefix_contains("/", "/."));
    cr_assert(!rc_prefix_contains("/", "//"));
    cr_assert(rc_prefix_contains("out/a", "out/a/./b"));
    cr_assert(rc_prefix_contains("out/a", "out/a//b/"));
    cr_assert(rc_prefix_contains("out/a", "out/a/.b"));
    cr_assert(rc_prefix_contains("out/a/", "out/a/b"));
    char err[128];
    cJSON *r = cJSON_Parse("{\"outputs\": \"out/a/x\"}");
    cr_assert_eq(rc_prefix_check_outputs("out/a", r, err, sizeof err), RC_EINVAL);
    cJSON_Delete(r);
}

Test(transport, the_worker_runs_in_the_directory_given_by_cwd, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = c_argv(NULL), .processes = 1, .cwd = "/tmp"});
    rc_work_id id = submit("t", "{\"mode\": \"cwd\"}");
    run();
    cr_assert_eq(R.completed, 1);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(R.result[id], "cwd")->valuestring, "/tmp");
    teardown();
}

/* ------------------------------------------------------------------ */
/* stderr                                                              */
/* ------------------------------------------------------------------ */

Test(transport, worker_stderr_goes_to_the_log_callback_never_into_results, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 1});
    rc_work_id id = submit("t", "{\"stderr_lines\": 3, \"log\": \"note from the worker\"}");
    run();
    cr_assert_eq(R.completed, 1);
    cr_assert(logged("note from the worker"));
    cr_assert(logged("stderr line 3 of 3"));
    int pid = (int)num(R.result[id], "pid");
    bool right_pid = false;
    for (int i = 0; i < R.n_log; i++)
        if (strstr(R.log[i], "note from the worker")) right_pid = R.log_pid[i] == pid;
    cr_assert(right_pid, "the log line carries the worker's pid");
    char *printed = cJSON_PrintUnformatted(R.result[id]);
    cr_assert_null(strstr(printed, "stderr line"), "stderr is not in the result: %s", printed);
    cJSON_free(printed);
    teardown();
}

Test(transport, worker_stderr_reaches_the_log_with_its_control_characters_made_harmless,
     .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .processes = 1});
    submit("t", "{\"log\": \"\\u001b]0;owned\\u0007title \\u009b31mred\\u007f\\tok\"}");
    run();
    cr_assert_eq(R.completed, 1);
    cr_assert(logged("?]0;owned?title ??31mred?\tok"), "escapes are shown as '?', a tab stays");
    for (int i = 0; i < R.n_log; i++)
        for (const char *c = R.log[i]; *c; c++)
            cr_assert(((unsigned char)*c >= 0x20 && (unsigned char)*c != 0x7f) || *c == '\t',
                      "a control byte in a log line: %s", R.log[i]);
    teardown();
}

Test(transport, without_a_callback_worker_stderr_is_written_to_ours_with_name_and_pid,
     .timeout = 20)
{
    char path[] = "/tmp/runcue-workers-stderr-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);

    setup();
    rc_workers_opts o = {.argv = c_argv(NULL), .name = "shout", .processes = 1};
    cr_assert_eq(rc_workers_new(&R.w, R.cue, "t", NULL, &o), RC_OK);
    rc_work_id id = submit("t", "{\"log\": \"hello on stderr\"}");
    run();
    int pid = (int)num(R.result[id], "pid");
    teardown();

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[4096] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    cr_assert_gt(n, 0);
    char want[64];
    snprintf(want, sizeof want, "shout[%d]: hello on stderr\n", pid);
    assert_contains(buf, want);
}

/* ------------------------------------------------------------------ */
/* Crashes                                                             */
/* ------------------------------------------------------------------ */

Test(transport, a_worker_killed_mid_task_is_named_and_replaced_and_the_retry_succeeds,
     .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .name = "wc", .processes = 1});
    cr_assert_eq(rc_task_retry(R.cue, "t", &(rc_retry_policy){.max_attempts = 2, .base_s = 0.02}),
                 RC_OK);
    R.kill_on = "started";
    rc_work_id id = submit("t", "{\"mode\": \"sleep\", \"ms\": 200, \"log\": \"started\"}");
    run();

    cr_assert(R.killed);
    cr_assert_eq(R.n_retry_detail, 1);
    assert_contains(R.retry_detail[0], "worker 'wc' (pid ");
    assert_contains(R.retry_detail[0], "crashed: killed by signal 9");
    assert_contains(R.retry_detail[0], "while running work 1");
    cr_assert_eq(R.completed, 1, "the second attempt succeeds on the new worker");
    cr_assert_eq((int)num(R.result[id], "attempt"), 2);
    rc_workers_stats st = stats();
    cr_assert_eq(st.spawned, 2, "the dead worker was replaced");
    cr_assert_eq(st.crashed, 1);
    cr_assert_eq(st.retried, 1);
    cr_assert_eq(st.alive, 1);
    teardown();
}

static void crash_message(const char **argv, const char *mode, const char *want)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = argv, .name = "crashy", .processes = 1});
    rc_work_id id = submit("t", "{\"mode\": \"%s\", \"code\": 3}", mode);
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "worker 'crashy' (pid ");
    assert_contains(R.failure[id], want);
    assert_contains(R.failure[id], "while running work 1");
    cr_assert_eq(stats().crashed, 1);
    teardown();
}

Test(transport, a_worker_exiting_mid_task_reports_its_exit_status, .timeout = 20)
{
    crash_message(py_argv(NULL), "exit", "crashed: exited with status 3");
}

Test(transport, a_worker_aborting_mid_task_reports_the_signal, .timeout = 20)
{
    crash_message(c_argv(NULL), "abort", "crashed: killed by signal 6 (SIGABRT)");
}

Test(transport, a_worker_killing_itself_reports_signal_9, .timeout = 20)
{
    crash_message(py_argv(NULL), "kill9", "crashed: killed by signal 9 (SIGKILL)");
}

Test(transport, an_idle_worker_that_dies_is_replaced_without_charging_the_next_work, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .processes = 1});
    rc_work_id first = submit("t", "{}");
    run();
    int pid = (int)num(R.result[first], "pid");
    kill(pid, SIGKILL);
    wait_exited(pid);

    rc_work_id second = submit("t", "{}");
    run();
    cr_assert_eq(R.completed, 2);
    cr_assert_eq((int)num(R.result[second], "attempt"), 1, "not charged for the death");
    cr_assert_neq((int)num(R.result[second], "pid"), pid);
    cr_assert_eq(stats().crashed, 1);
    cr_assert_eq(stats().spawned, 2);
    cr_assert(logged("crashed while idle: killed by signal 9"));
    teardown();
}

/* ------------------------------------------------------------------ */
/* Protocol violations                                                 */
/* ------------------------------------------------------------------ */

Test(transport, garbage_output_fails_the_work_quoting_it_and_replaces_the_worker, .timeout = 20)
{
    setup();
    start_workers(
        "t", NULL,
        (rc_workers_opts){.argv = c_argv(NULL), .name = "wc", .processes = 1, .strict = true});
    rc_work_id bad = submit("t", "{\"mode\": \"garbage\"}");
    rc_work_id good = submit("t", "{}");
    run();
    cr_assert_eq(R.failed, 1);
    cr_assert_eq(R.completed, 1);
    assert_contains(R.failure[bad], "worker 'wc' (pid ");
    assert_contains(R.failure[bad], "printed garbage: 'this is not json {' while running work 1");
    cr_assert_not_null(R.result[good]);
    rc_workers_stats st = stats();
    cr_assert_eq(st.garbage, 1);
    cr_assert_eq(st.spawned, 2);
    teardown();
}

Test(transport, a_line_longer_than_the_line_limit_is_garbage, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = py_argv(NULL), .processes = 1, .line_limit = 1 << 20});
    rc_work_id id = submit("t", "{\"mode\": \"huge\"}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "printed a line longer than 1 MiB: '{\"x\":\"xxxx");
    assert_contains(R.failure[id], "...' while running work 1");
    teardown();
}

Test(transport, an_answer_with_the_wrong_task_id_names_both_ids, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = py_argv(NULL), .name = "py", .processes = 1});
    rc_work_id id = submit("t", "{\"mode\": \"wrong_id\"}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "worker 'py' (pid ");
    assert_contains(R.failure[id], "answered task_id '999999.1' while running '1.1'");
    cr_assert_eq(stats().wrong_id, 1);
    teardown();
}

Test(transport, a_second_answer_to_the_same_work_never_completes_it_twice, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .processes = 1});
    rc_work_id first = submit("t", "{\"mode\": \"twice\"}");
    run();
    cr_assert_eq(R.completed, 1);
    wait_second_answer((int)num(R.result[first], "pid"));

    /* The stray answer is read before the next work is given to that worker. */
    rc_work_id second = submit("t", "{}");
    run();
    cr_assert_eq(R.completed, 2);
    cr_assert_eq(R.ends[first], 1);
    cr_assert_eq((int)num(R.result[second], "attempt"), 1);
    cr_assert_neq(num(R.result[second], "pid"), num(R.result[first], "pid"),
                  "the worker that answered twice was replaced");
    cr_assert_eq(stats().wrong_id, 1);
    cr_assert(logged("answered task_id '1.1' while running nothing"));
    teardown();
}

/* ------------------------------------------------------------------ */
/* What runqy's own workers do                                         */
/* ------------------------------------------------------------------ */

/* A banner and a second ready line after ready are logged and skipped: each
 * worker starts once and runs its share of the work. */
Test(transport, a_banner_and_a_second_ready_line_are_logged_and_skipped, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv("--banner"), .processes = 2});
    for (int i = 0; i < 6; i++)
        submit("t", "{}");
    run();
    cr_assert_eq(R.completed, 6);
    rc_workers_stats st = stats();
    cr_assert_eq(st.spawned, 2, "no worker was replaced");
    cr_assert_eq(st.garbage + st.crashed, 0);
    cr_assert(logged("stdout: worker.py: model loaded, serving"));
    cr_assert(logged("stdout: {\"status\": \"ready\"}"));
    teardown();
}

/* Strict mode kills such a worker, but the replacements back off and stop
 * at the spawn budget, the work fails with the cause, and the loop returns
 * (once a storm of hundreds of processes that never ended). */
Test(transport, a_strict_pool_of_bad_workers_stays_within_its_spawn_budget, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = py_argv("--banner"),
                                    .name = "noisy",
                                    .processes = 2,
                                    .strict = true,
                                    .spawn_budget = 4,
                                    .ready_timeout_s = 2});
    double t0 = now_s();
    for (int i = 0; i < 6; i++)
        submit("t", "{}");
    run();
    double took = now_s() - t0;
    cr_assert_eq(R.failed, 6);
    for (int id = 1; id <= 6; id++) {
        assert_contains(R.failure[id], "worker 'noisy' (pid ");
        assert_contains(R.failure[id], "printed garbage");
    }
    rc_workers_stats st = stats();
    cr_assert_leq(st.spawned, 2 + 4, "spawned %llu", (unsigned long long)st.spawned);
    cr_assert_lt(took, 2.0 + 1.0, "the work failed within the ready timeout");
    teardown();
}

Test(transport, print_inside_a_handler_is_logged_and_the_work_completes, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 1});
    for (int i = 0; i < 3; i++)
        submit("t", "{\"mode\": \"print\"}");
    run();
    cr_assert_eq(R.completed, 3);
    cr_assert_eq(stats().spawned, 1);
    cr_assert(logged("stdout: print() from the handler of 2.1"));
    teardown();
}

/* 240,000 e-acutes, escaped as \u00e9 by Python's json: a 1.4 MB line. */
Test(transport, a_result_line_over_1_MiB_fits_the_default_line_limit, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 1});
    rc_work_id id = submit("t", "{\"mode\": \"accents\", \"n\": 240000}");
    run();
    cr_assert_eq(R.completed, 1, "%s", R.failure[id]);
    const char *text = str(R.result[id], "text");
    cr_assert_eq(strlen(text), 2 * 240000, "every character arrived");
    cr_assert_eq(memcmp(text, "\xc3\xa9\xc3\xa9", 4), 0);
    teardown();
}

Test(transport, a_NUL_inside_a_result_string_fails_the_work_naming_the_worker, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = py_argv(NULL), .name = "py", .processes = 1});
    rc_work_id bad = submit("t", "{\"mode\": \"nul\"}");
    rc_work_id good = submit("t", "{}");
    run();
    cr_assert_eq(R.failed, 1);
    cr_assert_null(R.result[bad], "no truncated result");
    assert_contains(R.failure[bad], "worker 'py' (pid ");
    assert_contains(R.failure[bad], "NUL character (\\u0000) inside a string");
    cr_assert_not_null(R.result[good]);
    cr_assert_eq(stats().spawned, 1, "the worker itself is healthy");
    teardown();
}

Test(transport, requests_carry_runqys_fields, .timeout = 20)
{
    setup();
    cr_assert_eq(rc_service(R.cue, "gpu", NULL, 1), RC_OK);
    start_workers("infer", "gpu", (rc_workers_opts){.argv = py_argv(NULL), .processes = 1});
    cr_assert_eq(
        rc_task_retry(R.cue, "infer", &(rc_retry_policy){.max_attempts = 3, .base_s = 0.01}),
        RC_OK);
    rc_work_id id = submit("infer", "{\"mode\": \"request\", \"x\": 7}");
    run();
    cr_assert_eq(R.completed, 1);
    const cJSON *req = R.result[id];
    cr_assert_str_eq(str(req, "task_id"), "1.1");
    cr_assert_str_eq(str(req, "type"), "infer");
    cr_assert_str_eq(str(req, "queue"), "gpu");
    cr_assert_eq((int)num(req, "retry_count"), 0);
    cr_assert_eq((int)num(req, "max_retry"), 2);
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(req, "payload");
    cr_assert_eq((int)num(payload, "x"), 7);
    teardown();
}

/* A run_once() worker started as a long-lived pool: detected, said once,
 * and no work is lost (none is even charged an attempt). */
Test(transport, a_one_shot_worker_used_as_a_pool_is_detected_and_loses_no_work, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = py_argv("--once"), .name = "once", .processes = 2});
    enum { N = 6 };
    for (int i = 0; i < N; i++)
        submit("t", "{}");
    run();
    for (int id = 1; id <= N; id++)
        cr_expect_eq(R.ends[id], 1, "work %d: %s", id, R.failure[id]);
    cr_assert_eq(R.completed, N);
    cr_assert_eq(R.failed + R.retries, 0);
    for (int id = 1; id <= N; id++)
        cr_assert_eq((int)num(R.result[id], "attempt"), 1);
    int said = 0;
    for (int i = 0; i < R.n_log; i++)
        said += strstr(R.log[i], "it is a one-shot worker") != NULL;
    cr_assert_eq(said, 1, "said once");
    cr_assert(logged("worker 'once' (pid "));
    cr_assert_eq(stats().crashed, 0);
    teardown();
}

/* ------------------------------------------------------------------ */
/* Readiness and timeouts                                              */
/* ------------------------------------------------------------------ */

Test(transport, a_worker_that_never_becomes_ready_fails_the_work_within_the_ready_timeout,
     .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = c_argv("--never-ready"),
                                    .name = "slow",
                                    .processes = 1,
                                    .ready_timeout_s = 0.2});
    double t0 = now_s();
    rc_work_id id = submit("t", "{}");
    run();
    double took = now_s() - t0;
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "no worker 'slow' took work 1 within 0.2s: worker 'slow' (pid ");
    assert_contains(R.failure[id], "never became ready within 0.2s");
    rc_workers_stats st = stats();
    cr_assert_eq(st.ready_timeouts, 1);
    cr_assert_eq(st.spawned, 1, "an idle pool backing off does not keep the loop running");
    cr_assert_geq(took, 0.2);
    cr_assert_lt(took, WATCHDOG_S / 2, "gave up within the ready timeout, not later");
    teardown();
}

Test(transport, a_worker_exiting_before_ready_is_reported_with_its_status, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){
                      .argv = c_argv("--exit-before-ready=4"), .name = "quitter", .processes = 2});
    rc_work_id id = submit("t", "{}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "exited with status 4 before becoming ready");
    cr_assert(logged("giving up before ready"), "its stderr still reaches the log");
    teardown();
}

Test(transport, strict_garbage_before_ready_counts_as_a_failed_start, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){
                      .argv = py_argv("--garbage-before-ready"), .processes = 1, .strict = true});
    rc_work_id id = submit("t", "{}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "printed garbage before becoming ready: 'loading... done'");
    cr_assert_eq(stats().garbage, 3);
    teardown();
}

Test(transport, a_load_error_reported_by_the_worker_is_quoted, .timeout = 20)
{
    setup();
    start_workers(
        "t", NULL,
        (rc_workers_opts){.argv = c_argv("--load-error"), .name = "model", .processes = 1});
    rc_work_id id = submit("t", "{}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "worker 'model' (pid ");
    assert_contains(R.failure[id], "failed to start: @load failed: no model "
                                   "(3 failed starts in a row)");
    cr_assert_eq(stats().garbage, 0);
    teardown();
}

Test(transport, a_command_that_cannot_start_fails_the_work_with_the_reason, .timeout = 20)
{
    setup();
    const char *argv[] = {"/nonexistent/runcue-worker", NULL};
    start_workers("t", NULL, (rc_workers_opts){.argv = argv, .name = "ghost", .processes = 2});
    rc_work_id id = submit("t", "{}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "worker 'ghost' could not start '/nonexistent/runcue-worker': "
                                   "No such file or directory");
    cr_assert_eq(stats().spawned, 0);
    teardown();
}

Test(transport, a_hung_worker_is_killed_at_the_task_timeout_and_replaced, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){
                      .argv = c_argv(NULL), .name = "wc", .processes = 1, .task_timeout_s = 0.3});
    double t0 = now_s();
    rc_work_id hung = submit("t", "{\"mode\": \"hang\"}");
    rc_work_id next = submit("t", "{}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[hung], "worker 'wc' (pid ");
    assert_contains(R.failure[hung], "timed out after 0.3s on work 1");
    cr_assert_not_null(R.result[next], "the next work runs on the replacement");
    rc_workers_stats st = stats();
    cr_assert_eq(st.task_timeouts, 1);
    cr_assert_eq(st.spawned, 2);
    cr_assert_lt(now_s() - t0, WATCHDOG_S / 2, "killed at the timeout, not left hanging");
    teardown();
}

/* ------------------------------------------------------------------ */
/* Pipes                                                               */
/* ------------------------------------------------------------------ */

Test(transport, a_payload_larger_than_the_pipe_buffer_is_written_in_pieces, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 1});
    enum { BIG = 300 * 1000 };
    char *text = malloc(BIG + 1);
    for (int i = 0; i < BIG; i++)
        text[i] = (char)('a' + i % 26);
    text[BIG] = '\0';
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "text", text);
    rc_work_id id;
    cr_assert_eq(rc_submit(R.cue, "t", &(rc_submit_opts){.params = params}, &id), RC_OK);
    run();
    cr_assert_eq(R.completed, 1);
    const cJSON *echo = cJSON_GetObjectItemCaseSensitive(R.result[id], "echo");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(echo, "text")->valuestring, text);
    free(text);
    teardown();
}

Test(transport, writing_to_a_worker_that_closed_its_stdin_is_an_error_not_a_SIGPIPE, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .name = "wc", .processes = 1});
    cr_assert_eq(rc_task_retry(R.cue, "t", &(rc_retry_policy){.max_attempts = 2, .base_s = 0.01}),
                 RC_OK);
    /* Status 1: a worker exiting 0 after its answer would be taken for a
     * one-shot worker, and its next work handed on uncharged. */
    rc_work_id first = submit("t", "{\"mode\": \"close_stdin\", \"ms\": 200, \"code\": 1}");
    rc_work_id second = submit("t", "{}");
    run(); /* the test process is still alive: no SIGPIPE killed it */

    cr_assert_eq(R.completed, 2);
    cr_assert_eq((int)num(R.result[first], "attempt"), 1);
    cr_assert_eq((int)num(R.result[second], "attempt"), 2);
    cr_assert_eq(R.n_retry_detail, 1);
    assert_contains(R.retry_detail[0], "worker 'wc' (pid ");
    assert_contains(R.retry_detail[0], "crashed: stopped reading its stdin, then exited with "
                                       "status 1 while running work 2");
    sigset_t pending;
    sigpending(&pending);
    cr_assert_not(sigismember(&pending, SIGPIPE), "no SIGPIPE is left pending");
    teardown();
}

/* ------------------------------------------------------------------ */
/* Errors reported by the worker                                       */
/* ------------------------------------------------------------------ */

Test(transport, a_worker_error_without_retry_fails_the_work, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .name = "wc", .processes = 1});
    cr_assert_eq(rc_task_retry(R.cue, "t", &(rc_retry_policy){.max_attempts = 3}), RC_OK);
    rc_work_id id = submit("t", "{\"mode\": \"fail\", \"message\": \"bad input\"}");
    run();
    cr_assert_eq(R.failed, 1);
    cr_assert_eq(R.retries, 0, "retry: false is final");
    assert_contains(R.failure[id], "worker 'wc' (pid ");
    assert_contains(R.failure[id], "): bad input");
    cr_assert_eq(stats().failed, 1);
    cr_assert_eq(stats().spawned, 1, "a worker reporting an error is healthy");
    teardown();
}

Test(transport, a_worker_error_reaches_the_failure_with_its_control_characters_made_harmless,
     .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .name = "wc", .processes = 1});
    /* ESC [2J, a C1 CSI (U+009B), a bell; the newline and tab stay. */
    rc_work_id id = submit(
        "t", "{\"mode\": \"fail\", \"message\": \"\\u001b[2Jclear\\u009b1m\\u0007\\nline 2\\tend\"}");
    run();
    cr_assert_eq(R.failed, 1);
    assert_contains(R.failure[id], "): ?[2Jclear??1m?\nline 2\tend");
    for (const char *c = R.failure[id]; *c; c++) {
        const unsigned char b = (unsigned char)*c;
        cr_assert(b >= 0x20 || b == '\n' || b == '\t', "control byte 0x%02x in the failure", b);
        cr_assert_neq(b, 0x7f);
    }
    cr_assert_null(strstr(R.failure[id], "\xc2\x9b"), "no C1 control");
    teardown();
}

Test(transport, a_huge_worker_error_keeps_its_end, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .name = "wc", .processes = 1});
    /* 100 000 bytes of traceback, then the line that matters. */
    const size_t n = 100000;
    char *message = malloc(n + 64);
    cr_assert_not_null(message);
    memset(message, 'x', n);
    strcpy(message + n, "ValueError: the last line");
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "mode", "fail");
    cJSON_AddStringToObject(params, "message", message);
    free(message);
    rc_work_id id = 0;
    cr_assert_eq(rc_submit(R.cue, "t", &(rc_submit_opts){.params = params}, &id), RC_OK);
    run();
    cr_assert_eq(R.failed, 1);
    const char *f = R.failure[id];
    assert_contains(f, "worker 'wc' (pid ");
    assert_contains(f, "): ...xxx");
    const size_t len = R.failure_len[id];
    cr_assert(len > 16000 && len < 16500, "the message is cut to its last 16 KiB (%zu bytes)", len);
    const char *tail = R.failure_tail[id];
    cr_assert_str_eq(tail + strlen(tail) - strlen("ValueError: the last line"),
                     "ValueError: the last line");
    teardown();
}

Test(transport, a_worker_error_with_retry_is_retried_under_the_task_policy, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 1});
    cr_assert_eq(rc_task_retry(R.cue, "t", &(rc_retry_policy){.max_attempts = 2, .base_s = 0.01}),
                 RC_OK);
    rc_work_id id = submit("t", "{\"mode\": \"retry\", \"on_attempt\": 1}");
    run();
    cr_assert_eq(R.completed, 1);
    cr_assert_eq(R.retries, 1);
    assert_contains(R.retry_detail[0], "try again");
    cr_assert_eq((int)num(R.result[id], "attempt"), 2);
    cr_assert_eq(stats().retried, 1);
    teardown();
}

/* ------------------------------------------------------------------ */
/* Limits and exactly-once                                             */
/* ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

Test(transport, a_service_limit_of_2_holds_over_a_pool_of_4, .timeout = 20)
{
    setup();
    cr_assert_eq(rc_service(R.cue, "svc", NULL, 2), RC_OK);
    start_workers("t", "svc", (rc_workers_opts){.argv = c_argv(NULL), .processes = 4});
    enum { N = 8 };
    for (int i = 0; i < N; i++)
        submit("t", "{\"mode\": \"sleep\", \"ms\": 80}");
    run();
    cr_assert_eq(R.completed, N);
    cr_assert_eq(R.peak_running, 2);
    cr_assert_leq(R.peak_busy, 2, "never more than 2 workers busy");

    /* The workers' own clocks: at most 2 tasks overlap, and 2 do. */
    double ev[2 * N][2];
    for (int id = 1; id <= N; id++) {
        ev[2 * id - 2][0] = num(R.result[id], "t0");
        ev[2 * id - 2][1] = +1;
        ev[2 * id - 1][0] = num(R.result[id], "t1");
        ev[2 * id - 1][1] = -1;
    }
    qsort(ev, 2 * N, sizeof ev[0], cmp_double); /* ends sort before starts at a tie */
    int cur = 0, peak = 0;
    for (int i = 0; i < 2 * N; i++) {
        cur += (int)ev[i][1];
        if (cur > peak) peak = cur;
    }
    cr_assert_eq(peak, 2, "tasks overlapping in the workers: %d", peak);
    teardown();
}

Test(transport, every_work_ends_exactly_once_whatever_the_workers_do, .timeout = 20)
{
    setup();
    start_workers("t", NULL,
                  (rc_workers_opts){.argv = c_argv(NULL),
                                    .processes = 3,
                                    .task_timeout_s = 1.0,
                                    .strict = true,
                                    .spawn_budget = 40});
    cr_assert_eq(rc_task_retry(R.cue, "t", &(rc_retry_policy){.max_attempts = 2, .base_s = 0.01}),
                 RC_OK);
    static const char *const modes[] = {"echo",  "fail",     "retry", "garbage", "kill9",
                                        "abort", "wrong_id", "twice", "exit",    "sleep"};
    enum { N = 40 };
    for (int i = 0; i < N; i++)
        submit("t", "{\"mode\": \"%s\", \"on_attempt\": 1, \"ms\": 5}", modes[i % 10]);
    run();
    rc_stats cs;
    rc_cue_stats(R.cue, &cs);
    cr_assert_eq(R.completed + R.failed, N);
    for (int id = 1; id <= N; id++)
        cr_assert_eq(R.ends[id], 1, "work %d ended %d times", id, R.ends[id]);
    cr_assert_eq(cs.stale_finishes, 0);
    cr_assert_eq(cs.running, 0);
    cr_assert_eq(cs.pending, 0);
    rc_workers_stats st = stats();
    cr_assert_eq(st.busy, 0);
    cr_assert_eq(st.completed + st.failed + st.retried, (uint64_t)(N + R.retries),
                 "one finish per attempt");
    teardown();
}

/* ------------------------------------------------------------------ */
/* Shutdown                                                            */
/* ------------------------------------------------------------------ */

Test(transport, shutdown_cuts_queued_and_running_work_and_reports_it, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = c_argv(NULL), .name = "wc", .processes = 1});
    R.stop_on = "started";
    for (int i = 0; i < 3; i++)
        submit("t", "{\"mode\": \"sleep\", \"ms\": 3000, \"log\": \"started\"}");
    run(); /* returns once work 1 is running on the only worker */

    double t0 = now_s();
    rc_shutdown_report rep;
    cr_assert_eq(rc_workers_shutdown(R.w, 0.2, &rep), RC_OK);
    double took = now_s() - t0;
    R.shut = true;
    cr_assert_eq(rc_workers_shutdown(R.w, 0, NULL), RC_ESTATE, "shutdown happens once");
    cr_assert_geq(took, 0.15);
    cr_assert_lt(took, 2.5, "returned at the deadline, before the 3 s work would have ended");
    cr_assert_eq(rep.finished, 0);
    cr_assert_eq(rep.cut_queued, 2);
    cr_assert_eq(rep.cut_running, 1);
    cr_assert_eq(rep.n_cut_ids, 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(rep.cut_ids[i], i + 1);
    rc_shutdown_report_free(&rep);
    cr_assert_eq(R.failed, 3);
    assert_contains(R.failure[1], "cut by shutdown: worker 'wc' (pid ");
    assert_contains(R.failure[1], "was still running work 1 after 0.2s");
    assert_contains(R.failure[2], "cut by shutdown");
    cr_assert_eq(stats().alive, 0);
    teardown();
}

Test(transport, shutdown_lets_running_work_finish_before_the_deadline, .timeout = 20)
{
    setup();
    start_workers("t", NULL, (rc_workers_opts){.argv = py_argv(NULL), .processes = 2});
    R.stop_on = "started";
    submit("t", "{\"mode\": \"sleep\", \"ms\": 150, \"log\": \"started\"}");
    run();

    double t0 = now_s();
    rc_shutdown_report rep;
    cr_assert_eq(rc_workers_shutdown(R.w, INFINITY, &rep), RC_OK);
    R.shut = true;
    cr_assert_lt(now_s() - t0, WATCHDOG_S / 2, "shutdown returns once the workers have exited");
    cr_assert_eq(rep.finished, 1);
    cr_assert_eq(rep.cut_queued + rep.cut_running, 0);
    cr_assert_eq(rep.n_cut_ids, 0);
    rc_shutdown_report_free(&rep);
    cr_assert_eq(R.completed, 1);
    cr_assert_eq(stats().alive, 0);
    cr_assert_eq(stats().crashed, 0, "workers exiting at shutdown are not crashes");
    teardown();
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */
/* ------------------------------------------------------------------ */

Test(transport, rc_workers_new_rejects_bad_arguments, .timeout = 20)
{
    setup();
    rc_workers *w = NULL;
    const char *argv[] = {"true", NULL};
    rc_workers_opts ok = {.argv = argv, .processes = 1};
    rc_workers_opts no_argv = {.processes = 1};
    rc_workers_opts no_procs = {.argv = argv};
    rc_workers_opts bad_mode = {.argv = argv, .processes = 1, .mode = (rc_worker_mode)7};
    rc_workers_opts bad_timeout = {.argv = argv, .processes = 1, .task_timeout_s = -1};
    rc_workers_opts bad_limit = {.argv = argv, .processes = 1, .line_limit = (size_t)2 << 30};
    rc_workers_opts bad_budget = {.argv = argv, .processes = 1, .spawn_budget = 1001};
    cr_assert_eq(rc_workers_new(&w, R.cue, "t", NULL, &bad_limit), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, R.cue, "t", NULL, &bad_budget), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, R.cue, "t", NULL, &no_argv), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, R.cue, "t", NULL, &no_procs), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, R.cue, "t", NULL, &bad_mode), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, R.cue, "t", NULL, &bad_timeout), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, R.cue, "t", "no-such-service", &ok), RC_ENOENT);
    cr_assert_null(w);
    cr_assert_eq(rc_task(R.cue, "taken", NULL, NULL, NULL), RC_OK);
    cr_assert_eq(rc_workers_new(&w, R.cue, "taken", NULL, &ok), RC_EEXIST);

    rc_loop *vloop;
    rc_cue *vcue;
    cr_assert_eq(rc_loop_new(&vloop, NULL), RC_OK);
    cr_assert_eq(rc_cue_new(&vcue, vloop, NULL), RC_OK);
    cr_assert_eq(rc_workers_new(&w, vcue, "t", NULL, &ok), RC_ESTATE,
                 "workers need the monotonic clock");
    rc_cue_free(vcue);
    rc_loop_free(vloop);
    teardown();
}
