/* test_integration.c -- a three-stage pipeline end to end.
 *
 * extract (service local, 4 at once) -> transform (service api, 10/sec, 2 at
 * once) -> load (service storage, 1 at once), over N items.  An in-test
 * artifact table stands in for files: raw/i, clean/i and loaded/i, each with
 * a version and the version of the input it was built from, so an artifact
 * is valid only while its input is valid and unchanged (the README's "stale
 * downstream artifacts").  is_ready checks inputs and names the key it waits
 * on; is_stale skips work whose output is valid; handlers write artifacts
 * after a virtual delay and announce them. */
#include "recorder.h"

#define N 24

enum { EXTRACT, TRANSFORM, LOAD, N_STAGES };

static const char *const stage_task[N_STAGES] = {"extract", "transform", "load"};
static const char *const stage_service[N_STAGES] = {"local", "api", "storage"};
static const char *const stage_prefix[N_STAGES] = {"raw", "clean", "loaded"};
static const double stage_delay[N_STAGES] = {0.1, 0.05, 0.1};
static const int stage_limit[N_STAGES] = {4, 2, 1};

typedef struct artifact {
    bool exists;
    unsigned version;    /* bumped on every write */
    unsigned built_from; /* the input's version when this was written */
} artifact;

typedef struct stage_log {
    int calls;
    int running, peak;
    size_t n;
    int item[4 * N];
    rc_time start[4 * N];
    rc_time started_at[N]; /* by item: the last start */
    rc_time ended_at[N];   /* by item: the last end */
} stage_log;

static struct {
    rc_loop *loop;
    rc_cue *cue;
    tu_xrec *x;
    artifact art[N_STAGES][N];
    stage_log log[N_STAGES];
    bool notify;  /* handlers call rc_artifacts_changed themselves */
    bool declare; /* submit with needs/produces */
} P;

static void key_of(char *buf, size_t len, int stage, int i)
{
    snprintf(buf, len, "%s/%d", stage_prefix[stage], i);
}

static bool valid(int stage, int i)
{
    const artifact *a = &P.art[stage][i];
    if (!a->exists) return false;
    if (stage == EXTRACT) return true;
    return valid(stage - 1, i) && a->built_from == P.art[stage - 1][i].version;
}

static int stage_of(const rc_work *w)
{
    for (int s = 0; s < N_STAGES; s++)
        if (strcmp(rc_work_task(w), stage_task[s]) == 0) return s;
    cr_assert_fail("unknown task %s", rc_work_task(w));
    return -1;
}

static int item_of(const rc_work *w)
{
    return (int)tu_param_num(w, "i", -1);
}

static int is_ready(rc_cue *cue, const rc_work *w, rc_check *check, void *ud)
{
    (void)cue, (void)ud;
    int s = stage_of(w), i = item_of(w);
    if (s == EXTRACT || valid(s - 1, i)) return 1;
    char key[32];
    key_of(key, sizeof key, s - 1, i);
    rc_check_wait_on(check, key);
    rc_check_detail(check, "input %s missing", key);
    return 0;
}

static int is_stale(rc_cue *cue, const rc_work *w, rc_check *check, void *ud)
{
    (void)cue, (void)check, (void)ud;
    return valid(stage_of(w), item_of(w)) ? 0 : 1;
}

typedef struct finishing {
    rc_token tok;
    int stage, item;
} finishing;

static void finish_stage(rc_loop *loop, void *arg)
{
    finishing *f = arg;
    artifact *a = &P.art[f->stage][f->item];
    a->exists = true;
    a->version++;
    a->built_from = f->stage == EXTRACT ? 0 : P.art[f->stage - 1][f->item].version;
    stage_log *lg = &P.log[f->stage];
    lg->running--;
    lg->ended_at[f->item] = rc_loop_now(loop);
    if (P.notify) {
        char key[32];
        key_of(key, sizeof key, f->stage, f->item);
        cr_assert_eq(rc_artifacts_changed(P.cue, key), RC_OK);
    }
    cr_assert_eq(rc_complete(P.cue, f->tok, NULL), RC_OK);
    free(f);
}

static void stage_handler(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)ud;
    int s = stage_of(w), i = item_of(w);
    cr_assert(i >= 0 && i < N);
    stage_log *lg = &P.log[s];
    lg->calls++;
    if (++lg->running > lg->peak) lg->peak = lg->running;
    rc_time now = rc_loop_now(rc_cue_loop(cue));
    cr_assert_lt(lg->n, (size_t)(4 * N));
    lg->item[lg->n] = i;
    lg->start[lg->n++] = now;
    lg->started_at[i] = now;

    finishing *f = malloc(sizeof *f);
    cr_assert_not_null(f);
    *f = (finishing){tok, s, i};
    cr_assert_eq(
        rc_loop_call_at(rc_cue_loop(cue), now + rc_seconds(stage_delay[s]), finish_stage, f),
        RC_OK);
}

static void pipeline_new(const rc_cue_opts *opts, bool notify, bool declare)
{
    memset(&P, 0, sizeof P);
    P.notify = notify;
    P.declare = declare;
    tu_open(&P.loop, &P.cue, opts);
    P.x = tu_xrec_new(P.loop);
    tu_xrec_install(P.x, P.cue, is_ready, is_stale);
    cr_assert_eq(rc_service(P.cue, "local", NULL, 4), RC_OK);
    cr_assert_eq(rc_service(P.cue, "api", "10/sec", 2), RC_OK);
    cr_assert_eq(rc_service(P.cue, "storage", NULL, 1), RC_OK);
    for (int s = 0; s < N_STAGES; s++)
        cr_assert_eq(rc_task(P.cue, stage_task[s], stage_service[s], stage_handler, NULL), RC_OK);
}

static void pipeline_free(void)
{
    tu_close(P.loop, P.cue);
    free(P.x);
}

/* Submit the whole batch, downstream first so order comes from readiness,
 * not from submission. */
static void submit_batch(void)
{
    for (int s = N_STAGES - 1; s >= 0; s--) {
        for (int i = 0; i < N; i++) {
            char need[32], produce[32];
            key_of(need, sizeof need, s > 0 ? s - 1 : 0, i);
            key_of(produce, sizeof produce, s, i);
            const char *needs[] = {need};
            const char *produces[] = {produce};
            rc_submit_opts o;
            memset(&o, 0, sizeof o);
            o.params = cJSON_CreateObject();
            cJSON_AddNumberToObject(o.params, "i", i);
            if (P.declare) {
                o.needs = needs;
                o.n_needs = s > 0 ? 1 : 0;
                o.produces = produces;
                o.n_produces = 1;
            }
            tu_submit_opts(P.cue, stage_task[s], &o);
        }
    }
}

static int calls_total(void)
{
    return P.log[EXTRACT].calls + P.log[TRANSFORM].calls + P.log[LOAD].calls;
}

static void assert_all_valid(void)
{
    for (int s = 0; s < N_STAGES; s++)
        for (int i = 0; i < N; i++)
            cr_assert(valid(s, i), "%s/%d not valid", stage_prefix[s], i);
}

static void assert_order_and_limits(void)
{
    for (int i = 0; i < N; i++) {
        cr_assert_geq(P.log[TRANSFORM].started_at[i], P.log[EXTRACT].ended_at[i],
                      "transform %d started before its extract finished", i);
        cr_assert_geq(P.log[LOAD].started_at[i], P.log[TRANSFORM].ended_at[i],
                      "load %d started before its transform finished", i);
    }
    for (int s = 0; s < N_STAGES; s++) {
        cr_assert_leq(P.log[s].peak, stage_limit[s], "%s ran %d at once (limit %d)",
                      stage_service[s], P.log[s].peak, stage_limit[s]);
        rc_service_info info;
        cr_assert_eq(rc_service_get(P.cue, (size_t)s, &info), RC_OK);
        cr_assert_str_eq(info.name, stage_service[s]);
        cr_assert_leq(info.peak_running, (size_t)stage_limit[s]);
    }
    /* The limits were actually reached, so the assertions above had teeth. */
    cr_assert_eq(P.log[EXTRACT].peak, 4);
    cr_assert_eq(P.log[TRANSFORM].peak, 2);
    cr_assert_eq(P.log[LOAD].peak, 1);
    /* api: never more than 10 starts in any 1 s window. */
    const stage_log *t = &P.log[TRANSFORM];
    for (size_t k = 0; k + 10 < t->n; k++)
        cr_assert_geq(t->start[k + 10] - t->start[k], rc_seconds(1),
                      "11 api starts within %.3fs (starts %zu..%zu)",
                      rc_to_seconds(t->start[k + 10] - t->start[k]), k, k + 10);
}

/* Every work completed (none skipped or failed), every output is valid,
 * and the order and the limits held. */
static void assert_clean_run(void)
{
    tu_assert_settled(P.cue, (tu_settled){.submitted = 3 * N, .completed = 3 * N});
    assert_all_valid();
    assert_order_and_limits();
}

Test(integration, pipeline_completes_every_stage_in_dependency_order_within_limits)
{
    pipeline_new(NULL, true, false);
    submit_batch();

    cr_assert_eq(rc_loop_run(P.loop, RC_RUN_DEFAULT), 0);

    assert_clean_run();
    cr_assert_eq(P.x->rec.completes, 3 * N);
    cr_assert_eq(calls_total(), 3 * N);
    /* 24 api starts at 10/sec need at least 2 s of virtual time. */
    cr_assert_geq(rc_loop_now(P.loop), rc_seconds(2));
    pipeline_free();
}

Test(integration, second_run_of_the_same_batch_skips_everything)
{
    pipeline_new(NULL, true, false);
    submit_batch();
    tu_run(P.loop);
    cr_assert_eq(calls_total(), 3 * N);

    submit_batch();
    cr_assert_eq(rc_loop_run(P.loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(calls_total(), 3 * N, "no handler ran the second time");
    cr_assert_eq(P.x->rec.skips, 3 * N);
    tu_assert_settled(P.cue,
                      (tu_settled){.submitted = 6 * N, .completed = 3 * N, .skipped = 3 * N});
    const rc_work *w = rc_get(P.cue, 3 * N + 1);
    cr_assert_not_null(w);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert(rc_work_skipped(w));
    pipeline_free();
}

Test(integration, invalidating_one_artifact_reruns_only_what_depends_on_it)
{
    pipeline_new(NULL, true, false);
    submit_batch();
    tu_run(P.loop);
    int before[N_STAGES];
    for (int s = 0; s < N_STAGES; s++)
        before[s] = P.log[s].calls;
    size_t first_new[N_STAGES];
    for (int s = 0; s < N_STAGES; s++)
        first_new[s] = P.log[s].n;

    P.art[EXTRACT][5].exists = false; /* raw/5 deleted: clean/5, loaded/5 now stale */
    submit_batch();
    cr_assert_eq(rc_loop_run(P.loop, RC_RUN_DEFAULT), 0);

    for (int s = 0; s < N_STAGES; s++) {
        cr_assert_eq(P.log[s].calls, before[s] + 1, "%s ran %d more times", stage_task[s],
                     P.log[s].calls - before[s]);
        cr_assert_eq(P.log[s].item[first_new[s]], 5, "%s re-ran item %d", stage_task[s],
                     P.log[s].item[first_new[s]]);
    }
    cr_assert_geq(P.log[TRANSFORM].started_at[5], P.log[EXTRACT].ended_at[5]);
    cr_assert_geq(P.log[LOAD].started_at[5], P.log[TRANSFORM].ended_at[5]);
    cr_assert_eq(P.x->rec.skips, 3 * N - 3);
    rc_stats s = tu_stats(P.cue);
    cr_assert_eq(s.completed, 3 * N + 3);
    cr_assert_eq(s.skipped, 3 * N - 3);
    cr_assert_eq(s.pending, 0);
    assert_all_valid();
    cr_assert_eq(P.art[EXTRACT][5].version, 2);
    cr_assert_eq(P.art[LOAD][5].version, 2);
    cr_assert_eq(P.art[LOAD][4].version, 1);
    pipeline_free();
}

Test(integration, declared_produces_are_announced_when_work_completes)
{
    /* Handlers do not call rc_artifacts_changed: the cue announces each
     * work's declared `produces` on completion. */
    pipeline_new(NULL, false, true);
    submit_batch();

    cr_assert_eq(rc_loop_run(P.loop, RC_RUN_DEFAULT), 0);

    assert_clean_run();
    pipeline_free();
}

Test(integration, unannounced_changes_leave_keyed_waiters_waiting)
{
    /* No notification and auto-notify off: consumers that waited on a key
     * are never re-checked, so the run ends in an exact stall. */
    pipeline_new(&(rc_cue_opts){.no_auto_notify = true}, false, true);
    submit_batch();

    cr_assert_eq(rc_loop_run(P.loop, RC_RUN_DEFAULT), 0);

    rc_stats s = tu_stats(P.cue);
    cr_assert_eq(P.log[EXTRACT].calls, N);
    cr_assert_eq(P.log[TRANSFORM].calls, 0);
    cr_assert_eq(P.log[LOAD].calls, 0);
    cr_assert_eq(s.completed, N);
    cr_assert_eq(s.pending, 2 * N);
    cr_assert_eq(s.waiting, 2 * N);
    cr_assert_eq(s.running, 0);

    /* Announcing everything at once releases the pipeline. */
    cr_assert_eq(rc_artifacts_changed(P.cue, NULL), RC_OK);
    tu_run(P.loop);
    s = tu_stats(P.cue);
    cr_assert_eq(P.log[TRANSFORM].calls, N);
    cr_assert_eq(s.pending, N, "loads wait on clean/i, which nobody announced");
    pipeline_free();
}

Test(integration, poll_interval_finds_changes_nobody_announced)
{
    pipeline_new(&(rc_cue_opts){.no_auto_notify = true, .poll_interval = 0.5}, false, false);
    submit_batch();

    tu_run_until(P.loop, 600);

    assert_clean_run();
    pipeline_free();
}

Test(integration, blocked_report_names_the_missing_input_key)
{
    pipeline_new(&(rc_cue_opts){.no_auto_notify = true}, false, false);
    /* Only the load of item 7: its input clean/7 never appears. */
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    o.params = cJSON_CreateObject();
    cJSON_AddNumberToObject(o.params, "i", 7);
    rc_work_id id = tu_submit_opts(P.cue, "load", &o);
    cr_assert_eq(rc_loop_run(P.loop, RC_RUN_DEFAULT), 0);

    rc_blocked *b = NULL;
    size_t n = 0;
    cr_assert_eq(rc_debug_blocked(P.cue, &b, &n), RC_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(b[0].id, id);
    cr_assert_eq(b[0].reason, RC_BLOCK_NOT_READY);
    cr_assert_str_eq(b[0].wait_key, "clean/7");
    cr_assert_not_null(strstr(b[0].detail, "input clean/7 missing"), "detail: %s", b[0].detail);
    rc_blocked_free(P.cue, b);
    pipeline_free();
}
