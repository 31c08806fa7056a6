/* test_alloc_failure.c -- out of memory at every allocation.
 *
 * A counting allocator (installed in both rc_loop_opts.alloc and
 * rc_cue_opts.alloc) fails the k-th allocation -- or every allocation from
 * the k-th on -- and a small scenario runs for every k: services, tasks, a
 * retry policy, work with params, needs/produces, a delay and keyed waits,
 * a run, diagnosis.  At every k each call must succeed or return RC_ENOMEM
 * (never crash), RC_ENOMEM must leave nothing changed (the same call then
 * succeeds), and once memory comes back the work can be finished and
 * everything freed: the allocator's own count of live blocks returns to 0
 * (and LeakSanitizer agrees). */
#include "testutil.h"

/* ---- the failing allocator ---- */

typedef struct fail_alloc {
    long calls;    /* allocation requests (n > 0) so far */
    long fail_at;  /* the request number that fails; 0: none */
    bool sticky;   /* fail every request from fail_at on */
    bool off;      /* failures suspended (recovery phase) */
    long failures; /* requests refused */
    long live;     /* blocks handed out and not yet freed */
} fail_alloc;

static void *failing_realloc(void *ud, void *p, size_t n)
{
    fail_alloc *fa = ud;
    if (n == 0) {
        if (p) {
            fa->live--;
            free(p);
        }
        return NULL;
    }
    fa->calls++;
    bool fail = !fa->off && fa->fail_at > 0 &&
                (fa->sticky ? fa->calls >= fa->fail_at : fa->calls == fa->fail_at);
    if (fail) {
        fa->failures++;
        return NULL;
    }
    void *q = realloc(p, n);
    if (q && !p) fa->live++;
    return q;
}

/* ---- the scenario ---- */

#define N_ITEMS 6
#define MAX_LATE 64

typedef struct scenario {
    fail_alloc fa;
    rc_allocator alloc;
    rc_loop *loop;
    rc_cue *cue;
    bool data[N_ITEMS];      /* artifacts "data/i" */
    rc_token late[MAX_LATE]; /* tokens whose finish ran out of memory */
    int late_item[MAX_LATE];
    bool fetch_queued[N_ITEMS];
    size_t n_late;
    int enomem_seen; /* calls that returned RC_ENOMEM */
    int handler_calls;
    int notifications; /* on_* calls */
} scenario;

static scenario S;

/* Every call's result: 0 or RC_ENOMEM, nothing else. */
#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        cr_assert(rc_ == RC_OK || rc_ == RC_ENOMEM, "%s -> %d (%s) at k=%ld%s", #expr, rc_,        \
                  rc_strerror(rc_), S.fa.fail_at, S.fa.sticky ? " sticky" : "");                   \
        if (rc_ == RC_ENOMEM) S.enomem_seen++;                                                     \
    } while (0)

/* Call again once if the first call ran out of memory: ENOMEM changed
 * nothing, so with a single failure the second call succeeds.  Leaves the
 * final result in rc. */
#define RETRY_ONCE(rc, expr)                                                                       \
    do {                                                                                           \
        rc = (expr);                                                                               \
        cr_assert(rc == RC_OK || rc == RC_ENOMEM, "%s -> %d (%s) at k=%ld", #expr, rc,             \
                  rc_strerror(rc), S.fa.fail_at);                                                  \
        if (rc == RC_ENOMEM) {                                                                     \
            S.enomem_seen++;                                                                       \
            rc = (expr);                                                                           \
            cr_assert(rc == RC_OK || rc == RC_ENOMEM, "retry of %s -> %d (%s) at k=%ld", #expr,    \
                      rc, rc_strerror(rc), S.fa.fail_at);                                          \
            if (!S.fa.sticky)                                                                      \
                cr_assert_eq(rc, RC_OK, "%s failed twice at k=%ld", #expr, S.fa.fail_at);          \
        }                                                                                          \
    } while (0)

static int item_of(const rc_work *w)
{
    return (int)tu_param_num(w, "i", 0);
}

/* Remember a token whose finish ran out of memory, to finish it later. */
static void keep_late(rc_token tok, int item)
{
    cr_assert_lt(S.n_late, (size_t)MAX_LATE);
    S.late_item[S.n_late] = item;
    S.late[S.n_late++] = tok;
}

static void fetch(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)ud;
    S.handler_calls++;
    int i = item_of(w);
    if (i == 0 && rc_work_attempt(w) == 1) {
        int rc = rc_retry(cue, tok, "flaky");
        CHECK(rc);
        if (rc) keep_late(tok, i);
        return;
    }
    S.data[i] = true;
    char key[16];
    snprintf(key, sizeof key, "data/%d", i);
    CHECK(rc_artifacts_changed(cue, key));
    int rc = rc_complete(cue, tok, NULL);
    CHECK(rc);
    if (rc) keep_late(tok, i);
}

static void process(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)w, (void)ud;
    S.handler_calls++;
    int rc = rc_complete(cue, tok, NULL);
    CHECK(rc);
    if (rc) keep_late(tok, item_of(w));
}

static int is_ready(rc_cue *cue, const rc_work *w, rc_check *check, void *ud)
{
    (void)cue, (void)ud;
    if (strcmp(rc_work_task(w), "process") != 0) return 1;
    int i = item_of(w);
    if (S.data[i]) return 1;
    char key[16];
    snprintf(key, sizeof key, "data/%d", i);
    rc_check_wait_on(check, key);
    rc_check_detail(check, "waiting for %s", key);
    return 0;
}

static void count_start(rc_cue *cue, const rc_work *w, void *ud)
{
    (void)cue, (void)w, (void)ud;
    S.notifications++;
}

static void count_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue, (void)ev, (void)ud;
    S.notifications++;
}

static void count_pending_warning(rc_cue *cue, const rc_work *w, double pending_s, void *ud)
{
    (void)cue, (void)w, (void)pending_s, (void)ud;
    S.notifications++;
}

static void count_stall_warning(rc_cue *cue, double since_s, size_t pending, void *ud)
{
    (void)cue, (void)since_s, (void)pending, (void)ud;
    S.notifications++;
}

/* Submit one item; ENOMEM hands params back to us, so free them then. */
static int submit_item(const char *task, int i, bool declare, double delay_s)
{
    char need[16], produce[16];
    snprintf(need, sizeof need, "data/%d", i);
    snprintf(produce, sizeof produce, "%s/%d", task, i);
    const char *needs[] = {need};
    const char *produces[] = {produce};
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    o.params = cJSON_CreateObject();
    cr_assert_not_null(o.params);
    cJSON_AddNumberToObject(o.params, "i", i);
    o.label = produce;
    o.delay_s = delay_s;
    if (declare) {
        o.needs = needs;
        o.n_needs = strcmp(task, "process") == 0 ? 1 : 0;
        o.produces = produces;
        o.n_produces = 1;
    }
    rc_work_id id = 0;
    int rc = rc_submit(S.cue, task, &o, &id);
    if (rc) {
        cJSON_Delete(o.params);
        cr_assert_eq(id, 0, "no id for work that was not queued");
    } else {
        cr_assert_gt(id, 0);
    }
    return rc;
}

/* Look at the state mid-run; results must be 0 or ENOMEM and freeable. */
static void inspect(void)
{
    rc_blocked *b = NULL;
    size_t n = 0;
    int rc = rc_debug_blocked(S.cue, &b, &n);
    CHECK(rc);
    if (rc == RC_OK) rc_blocked_free(S.cue, b);
    rc_diagnosis d;
    memset(&d, 0, sizeof d);
    rc = rc_diagnose(S.cue, &d);
    CHECK(rc);
    if (rc == RC_OK) rc_diagnosis_free(S.cue, &d);
    rc_stats s;
    rc_cue_stats(S.cue, &s);
    rc_service_info info;
    CHECK(rc_service_get(S.cue, 0, &info));
}

/* Run the scenario with failures as configured in S.fa.  Returns after
 * freeing everything; the caller checks the allocator. */
static void run_scenario(long fail_at, bool sticky)
{
    memset(&S, 0, sizeof S);
    S.fa.fail_at = fail_at;
    S.fa.sticky = sticky;
    S.alloc = (rc_allocator){failing_realloc, &S.fa};
    int rc;

    RETRY_ONCE(rc,
               rc_loop_new(&S.loop, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL, .alloc = &S.alloc}));
    if (rc) {
        cr_assert_null(S.loop);
        return;
    }
    rc_cue_opts co = {
        .pending_warn_after = 50, .stall_warn_after = 60, .stall_timeout = 100, .alloc = &S.alloc};
    RETRY_ONCE(rc, rc_cue_new(&S.cue, S.loop, &co));
    if (rc) {
        cr_assert_null(S.cue);
        goto free_loop;
    }
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.is_ready = is_ready;
    h.on_start = count_start;
    h.on_event = count_event;
    h.on_pending_warning = count_pending_warning;
    h.on_stall_warning = count_stall_warning;
    rc_cue_set_hooks(S.cue, &h);

    RETRY_ONCE(rc, rc_service(S.cue, "api", "3/sec", 2));
    if (rc) goto free_cue;
    RETRY_ONCE(rc, rc_service(S.cue, "local", NULL, RC_NO_LIMIT));
    if (rc) goto free_cue;
    RETRY_ONCE(rc, rc_task(S.cue, "fetch", "api", fetch, NULL));
    if (rc) goto free_cue;
    RETRY_ONCE(rc, rc_task(S.cue, "process", "local", process, NULL));
    if (rc) goto free_cue;
    RETRY_ONCE(rc,
               rc_task_retry(S.cue, "fetch", &(rc_retry_policy){.max_attempts = 2, .base_s = 0.5}));
    if (rc) goto free_cue;

    int queued = 0;
    for (int i = 0; i < N_ITEMS; i++) {
        RETRY_ONCE(rc, submit_item("process", i, true, 0));
        queued += rc == 0;
        RETRY_ONCE(rc, submit_item("fetch", i, i % 2 == 0, i == 3 ? 1.5 : 0));
        queued += rc == 0;
        S.fetch_queued[i] = rc == 0;
    }

    rc = rc_loop_run_until(S.loop, rc_seconds(0.75));
    cr_assert(rc >= 0 || rc == RC_ENOMEM, "rc_loop_run_until -> %d at k=%ld", rc, fail_at);
    inspect();
    rc = rc_loop_run_until(S.loop, rc_seconds(30));
    cr_assert(rc >= 0 || rc == RC_ENOMEM, "rc_loop_run_until -> %d at k=%ld", rc, fail_at);

    /* Memory is back: finish what could not be finished (the fetches'
     * artifacts count as made), queue the fetches that could not be queued,
     * wake every waiter (a lost notification is recovered by announcing
     * everything) and run to the end.  Nothing may be left running or stuck. */
    S.fa.off = true;
    for (size_t i = 0; i < S.n_late; i++) {
        S.data[S.late_item[i]] = true;
        int frc = rc_complete(S.cue, S.late[i], NULL);
        cr_assert(frc == RC_OK || frc == RC_ESTALE, "late finish -> %d", frc);
    }
    for (int i = 0; i < N_ITEMS; i++) {
        if (S.fetch_queued[i]) continue;
        cr_assert_eq(submit_item("fetch", i, false, 0), RC_OK);
        queued++;
    }
    S.n_late = 0;
    cr_assert_eq(rc_artifacts_changed(S.cue, NULL), RC_OK);
    rc = rc_loop_run_until(S.loop, rc_seconds(1000));
    cr_assert_geq(rc, 0);
    rc_stats s;
    rc_cue_stats(S.cue, &s);
    cr_assert_eq(s.running, 0, "k=%ld: %zu still running", fail_at, s.running);
    cr_assert_eq(s.pending, 0, "k=%ld: %zu still pending", fail_at, s.pending);
    cr_assert_eq(s.submitted, (uint64_t)queued);
    cr_assert_eq(s.completed + s.failed + s.skipped + s.cancelled, (uint64_t)queued,
                 "k=%ld: every queued item finished", fail_at);
    if (!sticky)
        cr_assert_eq(s.completed, (uint64_t)queued, "k=%ld: %llu failed", fail_at,
                     (unsigned long long)s.failed);

free_cue:
    rc_cue_free(S.cue);
free_loop:
    rc_loop_free(S.loop);
}

/* The allocation count of a run without failures. */
static long clean_run_allocations(void)
{
    run_scenario(0, false);
    cr_assert_eq(S.fa.failures, 0);
    cr_assert_eq(S.fa.live, 0, "a clean run leaks %ld blocks", S.fa.live);
    cr_assert_eq(S.enomem_seen, 0);
    cr_assert_eq(S.handler_calls, 2 * N_ITEMS + 1, "every item ran, fetch 0 twice");
    return S.fa.calls;
}

Test(alloc_failure, clean_run_allocates_through_the_given_allocator_and_frees_everything)
{
    long n = clean_run_allocations();
    cr_assert_gt(n, 10, "only %ld allocations went through the allocator", n);
}

Test(alloc_failure, failing_any_single_allocation_is_survived_and_leaks_nothing, .timeout = 110)
{
    long total = clean_run_allocations();
    long hit = 0, saw_enomem = 0;
    for (long k = 1; k <= total + 5; k++) {
        run_scenario(k, false);
        cr_assert_eq(S.fa.live, 0, "k=%ld: %ld blocks leaked", k, S.fa.live);
        if (S.fa.failures) hit++;
        if (S.enomem_seen) saw_enomem++;
    }
    cr_assert_geq(hit, total, "every k <= %ld must hit a failure (hit %ld)", total, hit);
    cr_assert_gt(saw_enomem, 0, "no call ever reported RC_ENOMEM");
}

Test(alloc_failure, failing_every_allocation_from_k_on_is_survived_and_leaks_nothing,
     .timeout = 110)
{
    long total = clean_run_allocations();
    long hit = 0;
    for (long k = 1; k <= total + 5; k++) {
        run_scenario(k, true);
        cr_assert_eq(S.fa.live, 0, "k=%ld sticky: %ld blocks leaked", k, S.fa.live);
        if (S.fa.failures) hit++;
    }
    cr_assert_geq(hit, total);
}

Test(alloc_failure, loop_creation_without_memory_returns_enomem_and_no_loop)
{
    fail_alloc fa = {.fail_at = 1, .sticky = true};
    rc_allocator a = {failing_realloc, &fa};
    rc_loop *loop = (rc_loop *)&fa; /* poison: must be reset */

    int rc = rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL, .alloc = &a});

    cr_assert_eq(rc, RC_ENOMEM);
    cr_assert_null(loop);
    cr_assert_gt(fa.failures, 0);
    cr_assert_eq(fa.live, 0);
}

Test(alloc_failure, cue_creation_without_memory_returns_enomem_and_no_cue)
{
    fail_alloc fa = {0};
    rc_allocator a = {failing_realloc, &fa};
    rc_loop *loop = NULL;
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL, .alloc = &a}),
                 RC_OK);
    fa.fail_at = fa.calls + 1;
    fa.sticky = true;
    rc_cue *cue = (rc_cue *)&fa;

    int rc = rc_cue_new(&cue, loop, &(rc_cue_opts){.alloc = &a});

    cr_assert_eq(rc, RC_ENOMEM);
    cr_assert_null(cue);
    rc_loop_free(loop);
    cr_assert_eq(fa.live, 0);
}

Test(alloc_failure, enomem_from_rc_service_registers_nothing)
{
    fail_alloc fa = {0};
    rc_allocator a = {failing_realloc, &fa};
    rc_loop *loop = NULL;
    rc_cue *cue = NULL;
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.alloc = &a}), RC_OK);
    cr_assert_eq(rc_cue_new(&cue, loop, &(rc_cue_opts){.alloc = &a}), RC_OK);
    fa.fail_at = fa.calls + 1;
    fa.sticky = true;

    cr_assert_eq(rc_service(cue, "api", "10/sec", 2), RC_ENOMEM);
    fa.off = true;

    cr_assert_eq(rc_service_count(cue), 0);
    cr_assert_eq(rc_task(cue, "t", "api", tu_handler, NULL), RC_ENOENT,
                 "the service was not registered");
    cr_assert_eq(rc_service(cue, "api", "10/sec", 2), RC_OK, "not EEXIST: nothing was left");
    cr_assert_eq(rc_service_count(cue), 1);
    tu_close(loop, cue);
    cr_assert_eq(fa.live, 0);
}
