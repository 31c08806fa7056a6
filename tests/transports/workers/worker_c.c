/*
 * worker_c.c -- a worker speaking the runqy protocol, for tests and the
 * benchmark.  Prints {"status": "ready"}, then answers one line per request.
 *
 * Startup behaviour (argv):
 *   --never-ready            never print the ready line (sleeps)
 *   --garbage-before-ready   print a line that is not JSON instead of ready
 *   --load-error             print {"status": "error", ...} and exit 1 (as runqy's SDK does)
 *   --exit-before-ready=N    exit with status N before printing ready
 *   --ready-delay-ms=N       sleep N ms before printing ready
 *   --once                   exit after the first answer (like run_once())
 *   --log=PATH               append "s T0 I PID" when a request starts and
 *                            "e T1 I PID" when it is answered (T: CLOCK_MONOTONIC
 *                            ms, I: the payload's "i" or -1), one write each,
 *                            so several workers can share the file
 *
 * Per request, the payload picks the behaviour:
 *   {"mode": "echo"}         (default) result {"echo": payload, "pid", "attempt", "t0", "t1"}
 *   {"mode": "noop"}         result null (the benchmark)
 *   {"mode": "sleep", "ms": N}  sleep, then as echo (t0/t1: CLOCK_MONOTONIC ms)
 *   {"mode": "fail", "message": "..."}   error, retry false
 *   {"mode": "retry", "message": "..."}  error, retry true
 *   {"mode": "garbage"}      print a line that is not JSON
 *   {"mode": "huge"}         print a line longer than 1 MiB
 *   {"mode": "wrong_id"}     answer with task_id "999999.1"
 *   {"mode": "twice"}        answer twice
 *   {"mode": "exit", "code": N} / "abort" / "kill9"   die without answering
 *   {"mode": "hang"}         never answer
 *   {"mode": "cwd"}          result {"cwd": getcwd()}
 *   {"mode": "close_stdin", "ms": N, "code": C}  close stdin, answer, exit with
 *                            status C (default 0) N ms later
 * Modifiers: "log": "text" prints text to stderr first; "stderr_lines": N
 * prints N more lines there; "on_attempt": k applies the mode only on
 * attempt k (other attempts echo).
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void say(cJSON *msg)
{
    char *s = cJSON_PrintUnformatted(msg);
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    cJSON_free(s);
}

static void reply(const char *task_id, cJSON *result, const char *error, bool retry)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "task_id", task_id);
    if (result)
        cJSON_AddItemToObject(r, "result", result);
    else
        cJSON_AddNullToObject(r, "result");
    if (error)
        cJSON_AddStringToObject(r, "error", error);
    else
        cJSON_AddNullToObject(r, "error");
    cJSON_AddBoolToObject(r, "retry", retry);
    say(r);
    cJSON_Delete(r);
}

static const char *str_field(const cJSON *o, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double num_field(const cJSON *o, const char *name, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int log_fd = -1;

static void log_line(char kind, double t, const cJSON *payload)
{
    if (log_fd < 0) return;
    char buf[96];
    int n = snprintf(buf, sizeof buf, "%c %.3f %.0f %ld\n", kind, t,
                     num_field(payload, "i", -1), (long)getpid());
    if (write(log_fd, buf, (size_t)n) != n) {
    }
}

static cJSON *echo_result(const cJSON *payload, int attempt, double t0)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddItemToObject(r, "echo", cJSON_Duplicate(payload, true));
    cJSON_AddNumberToObject(r, "pid", (double)getpid());
    cJSON_AddNumberToObject(r, "attempt", attempt);
    cJSON_AddNumberToObject(r, "t0", t0);
    cJSON_AddNumberToObject(r, "t1", mono_ms());
    return r;
}

static void handle(const char *task_id, const cJSON *payload)
{
    double t0 = mono_ms();
    const char *dot = strrchr(task_id, '.');
    int attempt = dot ? atoi(dot + 1) : 1;
    const char *log = str_field(payload, "log", NULL);
    if (log) fprintf(stderr, "%s\n", log);
    int lines = (int)num_field(payload, "stderr_lines", 0);
    for (int i = 1; i <= lines; i++)
        fprintf(stderr, "stderr line %d of %d\n", i, lines);
    fflush(stderr);
    const char *mode = str_field(payload, "mode", "echo");
    log_line('s', t0, payload);
    double only = num_field(payload, "on_attempt", 0);
    if (only > 0 && (int)only != attempt) mode = "echo";

    if (strcmp(mode, "noop") == 0) {
        reply(task_id, NULL, NULL, false);
    } else if (strcmp(mode, "sleep") == 0) {
        sleep_ms((long)num_field(payload, "ms", 10));
        log_line('e', mono_ms(), payload);
        reply(task_id, echo_result(payload, attempt, t0), NULL, false);
    } else if (strcmp(mode, "fail") == 0) {
        reply(task_id, NULL, str_field(payload, "message", "failed on purpose"), false);
    } else if (strcmp(mode, "retry") == 0) {
        reply(task_id, NULL, str_field(payload, "message", "try again"), true);
    } else if (strcmp(mode, "garbage") == 0) {
        puts("this is not json {");
        fflush(stdout);
    } else if (strcmp(mode, "huge") == 0) {
        size_t n = 1536 * 1024;
        char *x = malloc(n);
        memset(x, 'x', n);
        fputs("{\"x\":\"", stdout);
        fwrite(x, 1, n, stdout);
        fputs("\"}\n", stdout);
        fflush(stdout);
        free(x);
    } else if (strcmp(mode, "wrong_id") == 0) {
        reply("999999.1", NULL, NULL, false);
    } else if (strcmp(mode, "twice") == 0) {
        reply(task_id, echo_result(payload, attempt, t0), NULL, false);
        reply(task_id, echo_result(payload, attempt, t0), NULL, false);
    } else if (strcmp(mode, "exit") == 0) {
        exit((int)num_field(payload, "code", 3));
    } else if (strcmp(mode, "abort") == 0) {
        abort();
    } else if (strcmp(mode, "kill9") == 0) {
        kill(getpid(), SIGKILL);
        pause();
    } else if (strcmp(mode, "hang") == 0) {
        for (;;)
            pause();
    } else if (strcmp(mode, "close_stdin") == 0) {
        close(0);
        reply(task_id, echo_result(payload, attempt, t0), NULL, false);
        sleep_ms((long)num_field(payload, "ms", 300));
        exit((int)num_field(payload, "code", 0));
    } else if (strcmp(mode, "cwd") == 0) {
        char dir[PATH_MAX];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "cwd", getcwd(dir, sizeof dir) ? dir : "?");
        reply(task_id, r, NULL, false);
    } else {
        reply(task_id, echo_result(payload, attempt, t0), NULL, false);
    }
}

int main(int argc, char **argv)
{
    bool once = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--never-ready") == 0) {
            for (;;)
                pause();
        } else if (strcmp(a, "--load-error") == 0) {
            puts("{\"status\": \"error\", \"error\": \"@load failed: no model\"}");
            return 1;
        } else if (strcmp(a, "--garbage-before-ready") == 0) {
            puts("loading... done");
            fflush(stdout);
        } else if (strncmp(a, "--exit-before-ready=", 20) == 0) {
            fprintf(stderr, "worker_c: giving up before ready\n");
            return atoi(a + 20);
        } else if (strncmp(a, "--ready-delay-ms=", 17) == 0) {
            sleep_ms(atol(a + 17));
        } else if (strncmp(a, "--log=", 6) == 0) {
            log_fd = open(a + 6, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
            if (log_fd < 0) {
                perror("worker_c: --log");
                return 2;
            }
        } else if (strcmp(a, "--once") == 0) {
            once = true;
        } else {
            fprintf(stderr, "worker_c: unknown option %s\n", a);
            return 2;
        }
    }
    puts("{\"status\": \"ready\"}");
    fflush(stdout);

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        cJSON *req = cJSON_Parse(line);
        const char *task_id = str_field(req, "task_id", NULL);
        if (!task_id) {
            fprintf(stderr, "worker_c: bad request: %s", line);
            cJSON_Delete(req);
            continue;
        }
        const cJSON *payload = cJSON_GetObjectItemCaseSensitive(req, "payload");
        handle(task_id, payload);
        cJSON_Delete(req);
        if (once) break;
    }
    free(line);
    return 0;
}
