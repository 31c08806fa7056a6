/* testutil.c -- the loop and cue fixtures of testutil.h. */
#include "testutil.h"

#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- loop and cue ---- */

rc_loop *tu_loop_new(void)
{
    rc_loop *loop = NULL;
    int rc = rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL});
    cr_assert_eq(rc, RC_OK, "rc_loop_new: %s", rc_strerror(rc));
    cr_assert_not_null(loop);
    return loop;
}

rc_cue *tu_cue_new(rc_loop *loop, const rc_cue_opts *opts)
{
    rc_cue *cue = NULL;
    int rc = rc_cue_new(&cue, loop, opts);
    cr_assert_eq(rc, RC_OK, "rc_cue_new: %s", rc_strerror(rc));
    cr_assert_not_null(cue);
    return cue;
}

void tu_open(rc_loop **loop, rc_cue **cue, const rc_cue_opts *opts)
{
    *loop = tu_loop_new();
    *cue = tu_cue_new(*loop, opts);
}

void tu_close(rc_loop *loop, rc_cue *cue)
{
    rc_cue_free(cue);
    rc_loop_free(loop);
}

void tu_run(rc_loop *loop)
{
    int rc = rc_loop_run(loop, RC_RUN_DEFAULT);
    cr_assert_geq(rc, 0, "rc_loop_run: %s", rc_strerror(rc));
}

void tu_run_until(rc_loop *loop, double seconds)
{
    int rc = rc_loop_run_until(loop, rc_seconds(seconds));
    cr_assert_geq(rc, 0, "rc_loop_run_until: %s", rc_strerror(rc));
}

static void nothing(rc_loop *loop, void *arg)
{
    (void)loop;
    (void)arg;
}

void tu_keepalive(rc_loop *loop, double seconds)
{
    int rc = rc_loop_call_at(loop, rc_seconds(seconds), nothing, NULL);
    cr_assert_eq(rc, RC_OK, "rc_loop_call_at: %s", rc_strerror(rc));
}

double tu_now_s(rc_loop *loop)
{
    return rc_to_seconds(rc_loop_now(loop));
}

rc_stats tu_stats(const rc_cue *cue)
{
    rc_stats s;
    memset(&s, 0, sizeof s);
    rc_cue_stats(cue, &s);
    return s;
}

#define ASSERT_COUNT(s, want, field)                                                               \
    cr_assert_eq((s).field, (want).field, #field " %llu, expected %llu",                           \
                 (unsigned long long)(s).field, (unsigned long long)(want).field)

void tu_assert_settled(const rc_cue *cue, tu_settled want)
{
    rc_stats s = tu_stats(cue);
    ASSERT_COUNT(s, want, submitted);
    ASSERT_COUNT(s, want, completed);
    ASSERT_COUNT(s, want, failed);
    ASSERT_COUNT(s, want, skipped);
    ASSERT_COUNT(s, want, cancelled);
    cr_assert_eq(s.pending, 0, "%zu work still pending", s.pending);
    cr_assert_eq(s.waiting, 0, "%zu work still waiting", s.waiting);
    cr_assert_eq(s.queued, 0, "%zu work still queued", s.queued);
    cr_assert_eq(s.delayed, 0, "%zu work still delayed", s.delayed);
    cr_assert_eq(s.running, 0, "%zu work still running", s.running);
}

/* ---- submitting work ---- */

cJSON *tu_json(const char *text)
{
    if (!text) return NULL;
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "bad JSON in test: %s", text);
    return j;
}

rc_work_id tu_submit(rc_cue *cue, const char *task, const char *params_json)
{
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    o.params = tu_json(params_json);
    rc_work_id id = tu_submit_opts(cue, task, &o);
    cr_assert_gt(id, 0);
    return id;
}

rc_work_id tu_submit_opts(rc_cue *cue, const char *task, const rc_submit_opts *o)
{
    rc_work_id id = 0;
    int rc = rc_submit(cue, task, o, &id);
    cr_assert_eq(rc, RC_OK, "rc_submit(%s): %s (%s)", task, rc_strerror(rc), rc_cue_errmsg(cue));
    return id;
}

/* The params' member `key`, or NULL. */
static const cJSON *param(const rc_work *w, const char *key)
{
    const cJSON *p = rc_work_params(w);
    return p ? cJSON_GetObjectItemCaseSensitive(p, key) : NULL;
}

double tu_param_num(const rc_work *w, const char *key, double dflt)
{
    const cJSON *v = param(w, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *tu_param_str(const rc_work *w, const char *key)
{
    const cJSON *v = param(w, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- the task handler ---- */

typedef struct pending_finish {
    rc_cue *cue;
    rc_token tok;
    tu_task *task;
    cJSON *result;
    size_t slot;
} pending_finish;

static void task_finish(rc_cue *cue, rc_token tok, tu_task *t, cJSON *result, size_t slot)
{
    t->running--;
    t->finished++;
    if (slot < TU_MAX_LOG) t->ends[slot] = rc_loop_now(rc_cue_loop(cue));
    if (t->fail) {
        cJSON_Delete(result);
        t->last_finish_rc = rc_fail(cue, tok, t->fail);
    } else {
        t->last_finish_rc = rc_complete(cue, tok, result);
    }
}

static void pending_fire(rc_loop *loop, void *arg)
{
    (void)loop;
    pending_finish *p = arg;
    task_finish(p->cue, p->tok, p->task, p->result, p->slot);
    free(p);
}

/* Finish `tok` at now + delay seconds through a loop timer. */
static void finish_later(rc_cue *cue, rc_token tok, tu_task *t, cJSON *result, double delay_s,
                         size_t slot)
{
    pending_finish *p = malloc(sizeof *p);
    cr_assert_not_null(p);
    *p = (pending_finish){.cue = cue, .tok = tok, .task = t, .result = result, .slot = slot};
    rc_loop *loop = rc_cue_loop(cue);
    int rc = rc_loop_call_at(loop, rc_loop_now(loop) + rc_seconds(delay_s), pending_fire, p);
    cr_assert_eq(rc, RC_OK, "rc_loop_call_at: %s", rc_strerror(rc));
}

void tu_handler(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    tu_task *t = ud;
    t->calls++;
    t->running++;
    if (t->running > t->max_running) t->max_running = t->running;
    t->last_attempt = tok.attempt;
    size_t slot = t->n;
    if (t->n < TU_MAX_LOG) {
        t->ids[t->n] = rc_work_get_id(w);
        t->starts[t->n] = rc_loop_now(rc_cue_loop(cue));
        t->n++;
    }
    double delay = tu_param_num(w, "delay", t->delay_s);
    cJSON *result = t->echo ? cJSON_Duplicate(rc_work_params(w), 1) : NULL;
    if (delay <= 0 && !t->async)
        task_finish(cue, tok, t, result, slot);
    else
        finish_later(cue, tok, t, result, delay, slot);
}

void tu_serve(rc_cue *cue, const char *service, const char *rate, int concurrent, const char *task,
              tu_task *t)
{
    int rc = rc_service(cue, service, rate, concurrent);
    cr_assert_eq(rc, RC_OK, "rc_service(%s): %s", service, rc_strerror(rc));
    rc = rc_task(cue, task, service, tu_handler, t);
    cr_assert_eq(rc, RC_OK, "rc_task(%s): %s", task, rc_strerror(rc));
}

tu_task *tu_task_new(void)
{
    tu_task *t = calloc(1, sizeof *t);
    cr_assert_not_null(t);
    return t;
}

int tu_task_index(const tu_task *t, rc_work_id id)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ids[i] == id) return (int)i;
    return -1;
}

/* ---- small assertions ---- */

/* ---- shared-memory names ---- */

enum { TU_MAX_SHM = 16 };
static char shm_names[TU_MAX_SHM][64];
static size_t n_shm_names;

void tu_shm_name(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "%s-%d", what, (int)getpid());
    if (n_shm_names < TU_MAX_SHM)
        snprintf(shm_names[n_shm_names++], sizeof shm_names[0], "/runcue.%s", out);
}

void tu_shm_forget(void)
{
    for (size_t i = 0; i < n_shm_names; i++)
        shm_unlink(shm_names[i]);
    n_shm_names = 0;
}

bool tu_mentions_timeout(const char *s)
{
    return s &&
           (strcasestr(s, "timeout") || strcasestr(s, "timed out") || strcasestr(s, "time out"));
}

void *tu_counting_realloc(void *ud, void *p, size_t n)
{
    tu_counting *c = ud;
    if (n == 0) {
        if (p) c->live--;
        free(p);
        return NULL;
    }
    c->calls++;
    if (c->fail) return NULL;
    void *q = realloc(p, n);
    if (q && !p) c->live++;
    return q;
}
