/* builtin.c -- single_queue, pipeline, fanout and dynamic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios.h"
#include "textbuf.h"

/* The rate limit from -r, or none. */
static int add_service(sim *s, const char *name, int concurrent, bool rate_limited)
{
    const sim_config *c = sim_get_config(s);
    return sim_add_service(s, name, concurrent, rate_limited ? c->rate_count : 0,
                           rate_limited ? c->rate_window_s : 0);
}

/* A fixed-ish latency: base ms, +/-20%, no outliers, no errors. */
static sim_profile steady(double latency_ms)
{
    sim_profile p = {latency_ms, 0.2, 0, 1, 0};
    return p;
}

static int submit(sim *s, const char *task, const char *label, const char *const *needs,
                  size_t n_needs, const char *const *produces, size_t n_produces)
{
    sim_work_spec spec = {task, label, needs, n_needs, produces, n_produces, NULL};
    return sim_submit(s, &spec, NULL);
}

/* Submit with the cue's key entries where the caller has them (NULL
 * elements are found from the strings), and give the new work's key i
 * (-1: none) in *out_key. */
static int submit_keyed(sim *s, const char *task, const char *label, const char *const *needs,
                        size_t n_needs, const char *const *produces, size_t n_produces,
                        rc_key *const *keys, int want, rc_key **out_key)
{
    sim_work_spec spec = {task, label, needs, n_needs, produces, n_produces, keys};
    rc_work_id id;
    int rc = sim_submit(s, &spec, &id);
    if (!rc && out_key) *out_key = rc_work_key(rc_get(sim_cue(s), id), (size_t)want);
    return rc;
}

/* buf = prefix + zero-padded i (+ suffix), as "%s%0*llu%s" would; its
 * length. */
static size_t name_of(char *buf, size_t size, const char *prefix, uint64_t i, unsigned width,
                      const char *suffix)
{
    sim_textbuf t = sim_text_start(buf, size);
    sim_text_str(&t, prefix);
    sim_text_uint(&t, i, width);
    sim_text_str(&t, suffix);
    return sim_text_len(&t, buf);
}

/* The zero-padded digits of the last index a scenario named, kept for the
 * next: items are named in order, and the next one's digits are the last
 * one's plus one, most often in the last digit alone. */
typedef struct counter {
    uint64_t i;     /* what digits says, padded to width */
    unsigned width;
    unsigned len;   /* 0: nothing yet */
    char digits[24];
} counter;

/* i's digits, padded to width, in *out (c's; valid until c is next used);
 * their length. */
static size_t counter_digits(counter *c, uint64_t i, unsigned width, const char **out)
{
    *out = c->digits;
    if (c->len && width == c->width && i == c->i + 1) {
        char *p = c->digits + c->len;
        while (p > c->digits && p[-1] == '9') *--p = '0';
        if (p > c->digits) { /* else all nines: one digit more, made afresh */
            p[-1]++;
            c->i = i;
            return c->len;
        }
    }
    sim_textbuf t = sim_text_start(c->digits, sizeof c->digits);
    sim_text_uint(&t, i, width);
    c->len = (unsigned)sim_text_len(&t, c->digits);
    c->i = i;
    c->width = width;
    return c->len;
}

/* name_of without a suffix, the digits from c. */
static size_t name_seq(char *buf, size_t size, const char *prefix, counter *c, uint64_t i,
                       unsigned width)
{
    const char *digits;
    const size_t n = counter_digits(c, i, width, &digits);
    sim_textbuf t = sim_text_start(buf, size);
    sim_text_str(&t, prefix);
    sim_text_mem(&t, digits, n);
    return sim_text_len(&t, buf);
}

/* buf = a + b, as "%s%s" would. */
static void join(char *buf, size_t size, const char *a, const char *b)
{
    sim_textbuf t = sim_text_start(buf, size);
    sim_text_str(&t, a);
    sim_text_str(&t, b);
}

/* join for a b of blen bytes the caller has just made: not read back for
 * its length (a read of bytes just written waits for them to be stored). */
static void join_n(char *buf, size_t size, const char *a, const char *b, size_t blen)
{
    sim_textbuf t = sim_text_start(buf, size);
    sim_text_str(&t, a);
    sim_text_mem(&t, b, blen);
}

/* ---- single_queue: independent work through one service ---- */

static int single_queue_work(sim *s, uint64_t i, void *ud)
{
    char label[32];
    name_seq(label, sizeof label, "item_", ud, i, 4);
    return submit(s, "work", label, NULL, 0, NULL, 0);
}

static int build_single_queue(sim *s)
{
    const sim_config *c = sim_get_config(s);
    sim_profile p = sim_profile_from_config(c);
    counter *labels = calloc(1, sizeof *labels);
    if (!labels) return RC_ENOMEM;
    int rc = sim_own(s, labels, free);
    if (!rc) rc = add_service(s, "api", c->concurrent, true);
    if (!rc) rc = sim_add_task(s, "work", "api", &p, NULL, NULL);
    if (!rc) rc = sim_declare_labels(s, "item_{i4}", c->count, 0);
    if (!rc) sim_set_workload(s, c->count, single_queue_work, labels);
    return rc;
}

/* ---- pipeline: extract (local) -> transform (api) -> load (storage) ---- */

/* ---- key windows ----
 *
 * The keys of the next WINDOW_ITEMS items are looked up together, when the
 * first of them is due: their key table misses overlap (one item's few at
 * a time they mostly did not), and each item's work is given the entries.
 * Nothing the run prints depends on when an entry is made. */
enum { WINDOW_ITEMS = 32, WINDOW_KEYS = 6, KEY_NAME = 56 };

typedef void (*item_keys_fn)(char names[][KEY_NAME], counter *c, uint64_t i);

typedef struct keywin {
    uint64_t base, n; /* items base .. base+n-1 have their keys in held */
    uint64_t count;   /* the items: 0 .. count-1 */
    unsigned per;     /* keys an item has, at most WINDOW_KEYS */
    item_keys_fn names;
    counter digits; /* of the items' names, made in order */
    rc_key *held[WINDOW_ITEMS][WINDOW_KEYS];
} keywin;

static void keywin_init(keywin *kw, uint64_t count, unsigned per, item_keys_fn names)
{
    memset(kw, 0, sizeof *kw);
    kw->count = count;
    kw->per = per;
    kw->names = names;
}

/* Item i's held entries, per of them: the caller releases each and leaves
 * it NULL.  NULL: none (i past the end, or out of memory).  What an earlier
 * window still holds (items that never came: a failed split) is let go. */
static rc_key **keywin_get(sim *s, keywin *kw, uint64_t i)
{
    /* A row already taken (its entries released) is not handed out again. */
    if (i - kw->base < kw->n && kw->held[i - kw->base][0]) return kw->held[i - kw->base];
    for (uint64_t k = 0; k < kw->n; k++)
        for (unsigned j = 0; j < kw->per; j++) {
            rc_key_release(sim_cue(s), kw->held[k][j]);
            kw->held[k][j] = NULL;
        }
    kw->n = 0;
    if (i >= kw->count) return NULL;
    const uint64_t n = kw->count - i < WINDOW_ITEMS ? kw->count - i : WINDOW_ITEMS;
    char names[WINDOW_ITEMS * WINDOW_KEYS][KEY_NAME];
    const char *list[WINDOW_ITEMS * WINDOW_KEYS];
    rc_key *got[WINDOW_ITEMS * WINDOW_KEYS];
    const size_t total = (size_t)n * kw->per;
    for (uint64_t k = 0; k < n; k++) kw->names(&names[k * kw->per], &kw->digits, i + k);
    for (size_t j = 0; j < total; j++) list[j] = names[j];
    if (rc_key_hold_n(sim_cue(s), list, total, got)) return NULL;
    for (size_t j = 0; j < total; j++) kw->held[j / kw->per][j % kw->per] = got[j];
    kw->base = i;
    kw->n = n;
    return kw->held[0];
}

/* Let go of the entries the caller took from a window (see keywin_get). */
static void keywin_release(sim *s, const keywin *kw, rc_key **held)
{
    for (unsigned j = 0; j < kw->per; j++) {
        rc_key_release(sim_cue(s), held[j]);
        held[j] = NULL;
    }
}

typedef struct pipeline_model {
    keywin win; /* extracted, transformed, loaded */
    counter labels;
} pipeline_model;

static void pipeline_keys(char names[][KEY_NAME], counter *c, uint64_t i)
{
    char label[32];
    const size_t n = name_seq(label, sizeof label, "item_", c, i, 4);
    join_n(names[0], KEY_NAME, "extracted/", label, n);
    join_n(names[1], KEY_NAME, "transformed/", label, n);
    join_n(names[2], KEY_NAME, "loaded/", label, n);
}

static int pipeline_work(sim *s, uint64_t i, void *ud)
{
    pipeline_model *m = ud;
    char label[32];
    name_seq(label, sizeof label, "item_", &m->labels, i, 4);
    /* Submitting over time, nothing is looked up ahead. */
    rc_key **held = sim_get_config(s)->submit_rate > 0 ? NULL : keywin_get(s, &m->win, i);
    rc_key *own[3];
    if (!held) {
        char names[3][KEY_NAME];
        counter once = {0};
        pipeline_keys(names, &once, i);
        const char *list[] = {names[0], names[1], names[2]};
        held = own;
        /* Out of memory: found from the strings (none given). */
        if (rc_key_hold_n(sim_cue(s), list, 3, own)) own[0] = own[1] = own[2] = NULL;
        if (!own[0]) {
            const char *e[] = {names[0]}, *t[] = {names[1]}, *l[] = {names[2]};
            int rc = submit(s, "extract", label, NULL, 0, e, 1);
            if (!rc) rc = submit(s, "transform", label, e, 1, t, 1);
            if (!rc) rc = submit(s, "load", label, t, 1, l, 1);
            return rc;
        }
    }
    /* The entries carry the keys' names: the works need no strings. */
    rc_key *k_e[] = {held[0]}, *k_t[] = {held[0], held[1]}, *k_l[] = {held[1], held[2]};
    int rc = submit_keyed(s, "extract", label, NULL, 0, NULL, 1, k_e, -1, NULL);
    if (!rc) rc = submit_keyed(s, "transform", label, NULL, 1, NULL, 1, k_t, -1, NULL);
    if (!rc) rc = submit_keyed(s, "load", label, NULL, 1, NULL, 1, k_l, -1, NULL);
    keywin_release(s, &m->win, held);
    return rc;
}

static int build_pipeline(sim *s)
{
    const sim_config *c = sim_get_config(s);
    sim_profile transform = sim_profile_from_config(c);
    sim_profile extract = steady(c->latency_ms * 0.1), load = steady(c->latency_ms * 0.3);
    int rc = add_service(s, "local", c->concurrent * 2, false);
    if (!rc) rc = add_service(s, "api", c->concurrent, true);
    if (!rc) rc = add_service(s, "storage", c->concurrent, false);
    if (!rc) rc = sim_add_task(s, "extract", "local", &extract, NULL, NULL);
    if (!rc) rc = sim_add_task(s, "transform", "api", &transform, NULL, NULL);
    if (!rc) rc = sim_add_task(s, "load", "storage", &load, NULL, NULL);
    if (!rc) rc = sim_declare_labels(s, "item_{i4}", c->count, 0);
    pipeline_model *m = rc ? NULL : malloc(sizeof *m);
    if (!rc && !m) rc = RC_ENOMEM;
    if (m) {
        keywin_init(&m->win, c->count, 3, pipeline_keys);
        memset(&m->labels, 0, sizeof m->labels);
    }
    if (!rc) rc = sim_own(s, m, free);
    if (!rc) sim_set_workload(s, c->count, pipeline_work, m);
    if (!rc) sim_reserve_keys(s, 3, 0); /* extracted, transformed, loaded */
    return rc;
}

/* ---- fanout: split submits 5 process items and an aggregate of them ---- */

enum { FANOUT = 5 };

/* buf = prefix + batch + "/" + i, as "%s%s/%u" would. */
static void part_of(char *buf, size_t size, const char *prefix, const char *batch, unsigned i)
{
    sim_textbuf t = sim_text_start(buf, size);
    sim_text_str(&t, prefix);
    sim_text_str(&t, batch);
    sim_text_mem(&t, "/", 1);
    sim_text_uint(&t, i, 1);
}

typedef struct fanout_model {
    keywin splits; /* split/batch_i */
    keywin parts;  /* part/batch_i/0 .. part/batch_i/4, aggregate/batch_i */
    counter labels;
} fanout_model;

static void fanout_split_keys(char names[][KEY_NAME], counter *c, uint64_t i)
{
    char label[32];
    const size_t n = name_seq(label, sizeof label, "batch_", c, i, 4);
    join_n(names[0], KEY_NAME, "split/", label, n);
}

static void fanout_part_keys(char names[][KEY_NAME], counter *c, uint64_t i)
{
    char label[32];
    name_seq(label, sizeof label, "batch_", c, i, 4);
    for (int k = 0; k < FANOUT; k++) part_of(names[k], KEY_NAME, "part/", label, (unsigned)k);
    join(names[FANOUT], KEY_NAME, "aggregate/", label);
}

/* The index in a batch label ("batch_" and digits, as fanout_work makes
 * them); UINT64_MAX for any other label. */
static uint64_t batch_index(const char *label)
{
    if (strncmp(label, "batch_", 6) != 0) return UINT64_MAX;
    uint64_t v = 0;
    const char *p = label + 6;
    for (int k = 0; k < 19 && *p >= '0' && *p <= '9'; k++, p++) v = v * 10 + (uint64_t)(*p - '0');
    return *p || p == label + 6 ? UINT64_MAX : v;
}

/* The parts and the aggregate of a split, given their held entries (the
 * entries carry the names). */
static void submit_parts(sim *s, const char *batch, rc_key *split_entry, rc_key **held)
{
    char label[48];
    for (int i = 0; i < FANOUT; i++) {
        part_of(label, sizeof label, "", batch, (unsigned)i);
        rc_key *keys[2] = {split_entry, held[i]};
        submit_keyed(s, "process", label, NULL, 1, NULL, 1, keys, -1, NULL);
    }
    submit_keyed(s, "aggregate", batch, NULL, FANOUT, NULL, 1, held, -1, NULL);
}

static void split_done(sim *s, const rc_work *w, bool ok, void *ud)
{
    fanout_model *m = ud;
    if (!ok) return;
    const char *batch = rc_work_label(w);
    /* The split's output entry for every process, and each process's
     * output entry for the aggregate: every key is looked up once, those
     * of the next splits' parts with these (their table misses overlap). */
    rc_key *split_entry = rc_work_key(w, rc_work_needs(w, NULL));
    rc_key **held = keywin_get(s, &m->parts, batch_index(batch));
    char done_key[56];
    join(done_key, sizeof done_key, "aggregate/", batch);
    if (held && split_entry && held[FANOUT] && strcmp(rc_key_name(held[FANOUT]), done_key) == 0) {
        submit_parts(s, batch, split_entry, held);
        keywin_release(s, &m->parts, held);
        return;
    }
    /* Not in a window (a split past the end, or out of memory then): its
     * keys alone, or, out of memory, found from the strings. */
    char split_key[48], parts[FANOUT][56], label[48];
    const char *part_keys[FANOUT + 1];
    for (int i = 0; i < FANOUT; i++) {
        part_of(parts[i], sizeof parts[i], "part/", batch, (unsigned)i);
        part_keys[i] = parts[i];
    }
    part_keys[FANOUT] = done_key;
    rc_key *own[FANOUT + 1];
    if (split_entry && rc_key_hold_n(sim_cue(s), part_keys, FANOUT + 1, own) == 0) {
        submit_parts(s, batch, split_entry, own);
        for (int i = 0; i <= FANOUT; i++) rc_key_release(sim_cue(s), own[i]);
        return;
    }
    join(split_key, sizeof split_key, "split/", batch);
    const char *needs_split[] = {split_key};
    for (int i = 0; i < FANOUT; i++) {
        part_of(label, sizeof label, "", batch, (unsigned)i);
        submit(s, "process", label, needs_split, 1, &part_keys[i], 1);
    }
    submit(s, "aggregate", batch, part_keys, FANOUT, &part_keys[FANOUT], 1);
}

static int fanout_work(sim *s, uint64_t i, void *ud)
{
    fanout_model *m = ud;
    char label[32];
    const size_t n = name_seq(label, sizeof label, "batch_", &m->labels, i, 4);
    /* Submitting over time, nothing is looked up ahead. */
    rc_key **held = sim_get_config(s)->submit_rate > 0 ? NULL : keywin_get(s, &m->splits, i);
    if (held) {
        int rc = submit_keyed(s, "split", label, NULL, 0, NULL, 1, held, -1, NULL);
        keywin_release(s, &m->splits, held);
        return rc;
    }
    char key[48];
    join_n(key, sizeof key, "split/", label, n);
    const char *out[] = {key};
    return submit(s, "split", label, NULL, 0, out, 1);
}

static int build_fanout(sim *s)
{
    const sim_config *c = sim_get_config(s);
    fanout_model *m = malloc(sizeof *m);
    if (!m) return RC_ENOMEM;
    memset(&m->labels, 0, sizeof m->labels);
    keywin_init(&m->splits, c->count, 1, fanout_split_keys);
    keywin_init(&m->parts, c->count, FANOUT + 1, fanout_part_keys);
    int rc = sim_own(s, m, free);
    if (rc) return rc;
    sim_profile process = sim_profile_from_config(c);
    process.outlier_chance = 0; /* as the original: jitter and errors only */
    sim_profile split = steady(50), aggregate = steady(30);
    split.jitter = aggregate.jitter = 0;
    rc = add_service(s, "splitter", 1, false);
    if (!rc) rc = add_service(s, "processor", c->concurrent, true);
    if (!rc) rc = add_service(s, "aggregator", 2, false);
    if (!rc) rc = sim_add_task(s, "split", "splitter", &split, split_done, m);
    if (!rc) rc = sim_add_task(s, "process", "processor", &process, NULL, NULL);
    if (!rc) rc = sim_add_task(s, "aggregate", "aggregator", &aggregate, NULL, NULL);
    /* Batches, and the processes of each ("batch_0003/4"). */
    static const char *const labels[FANOUT + 1] = {"batch_{i4}",   "batch_{i4}/0", "batch_{i4}/1",
                                                   "batch_{i4}/2", "batch_{i4}/3", "batch_{i4}/4"};
    for (int i = 0; !rc && i <= FANOUT; i++)
        rc = sim_declare_labels(s, labels[i], c->count, 0);
    if (!rc) sim_set_workload(s, c->count, fanout_work, m);
    if (!rc) sim_reserve_keys(s, FANOUT + 2, 0); /* split, the parts, aggregate */
    return rc;
}

/* ---- dynamic: documents assembled from api and local artifacts, checked,
 * and sometimes rebuilt when the checker invalidates their inputs ---- */

typedef struct doc {
    unsigned api[4], n_api;
    unsigned local[3], n_local;
} doc;

typedef struct dynamic_model {
    doc *docs;
    size_t n_docs;
    unsigned n_api_pool, n_local_pool;
    int *local_dep;      /* local artifact -> api artifact it needs, or -1 */
    bool *api_needed, *local_needed;
    size_t n_initial;    /* api fetches + local processes + publishes */
    unsigned *initial;   /* encoded: kind << 28 | index */
    rc_key **api_keys, **local_keys; /* the cue's entries, held once found */
} dynamic_model;

enum { K_API = 0, K_LOCAL = 1, K_PUBLISH = 2 };

static void api_key(char *buf, size_t n, unsigned i)
{
    name_of(buf, n, "api/api_", i, 3, "");
}

static void local_key(char *buf, size_t n, unsigned i)
{
    name_of(buf, n, "local/local_", i, 3, "");
}

/* The cue's entry of api (or local) artifact i: looked up the first time,
 * then held by the model.  NULL (out of memory): found from the string. */
static rc_key *pool_key(sim *s, dynamic_model *m, bool api, unsigned i)
{
    rc_key **slot = api ? &m->api_keys[i] : &m->local_keys[i];
    if (!*slot) {
        char key[40];
        if (api)
            api_key(key, sizeof key, i);
        else
            local_key(key, sizeof key, i);
        *slot = rc_key_hold(sim_cue(s), key);
    }
    return *slot;
}

/* Hold the entries of every needed pool key up front, 64 names to an
 * rc_key_hold_n, so the table's cache misses of making four million
 * entries overlap instead of coming one per initial work.  Out of memory:
 * what is not held is found later, one by one (pool_key). */
static void hold_pool(sim *s, dynamic_model *m)
{
    enum { BATCH = 64 };
    char names[BATCH][40];
    const char *list[BATCH];
    rc_key *held[BATCH];
    unsigned idx[BATCH];
    for (int api = 1; api >= 0; api--) {
        const unsigned n = api ? m->n_api_pool : m->n_local_pool;
        const bool *needed = api ? m->api_needed : m->local_needed;
        rc_key **slots = api ? m->api_keys : m->local_keys;
        unsigned k = 0;
        for (unsigned i = 0; i <= n; i++) {
            if (i < n && needed[i]) {
                if (api)
                    api_key(names[k], sizeof names[k], i);
                else
                    local_key(names[k], sizeof names[k], i);
                list[k] = names[k];
                idx[k++] = i;
            }
            if (k == BATCH || (i == n && k)) {
                if (rc_key_hold_n(sim_cue(s), list, k, held) == 0)
                    for (unsigned j = 0; j < k; j++) slots[idx[j]] = held[j];
                k = 0;
            }
        }
    }
}

static int submit_api(sim *s, dynamic_model *m, unsigned i)
{
    char key[40], label[24];
    name_of(label, sizeof label, "api_", i, 3, "");
    rc_key *keys[] = {pool_key(s, m, true, i)};
    if (keys[0]) return submit_keyed(s, "api_fetch", label, NULL, 0, NULL, 1, keys, -1, NULL);
    api_key(key, sizeof key, i); /* out of memory: found from the string */
    const char *out[] = {key};
    return submit(s, "api_fetch", label, NULL, 0, out, 1);
}

static int submit_publish(sim *s, dynamic_model *m, unsigned d)
{
    char keys[7][40], label[24], out_key[40];
    const char *needs[7];
    rc_key *entries[8] = {NULL};
    size_t n = 0;
    const doc *dc = &m->docs[d];
    /* The pool's slots and then the entries are asked for together: a
     * document's keys are drawn at random from millions. */
    for (unsigned k = 0; k < dc->n_api; k++) __builtin_prefetch(&m->api_keys[dc->api[k]]);
    for (unsigned k = 0; k < dc->n_local; k++) __builtin_prefetch(&m->local_keys[dc->local[k]]);
    for (unsigned k = 0; k < dc->n_api; k++)
        if (m->api_keys[dc->api[k]]) __builtin_prefetch(m->api_keys[dc->api[k]], 1);
    for (unsigned k = 0; k < dc->n_local; k++)
        if (m->local_keys[dc->local[k]]) __builtin_prefetch(m->local_keys[dc->local[k]], 1);
    /* A need's name is made only when its entry is not held (out of
     * memory): the entries carry the names. */
    for (unsigned k = 0; k < dc->n_api; k++, n++) {
        entries[n] = pool_key(s, m, true, dc->api[k]);
        if (!entries[n]) api_key(keys[n], sizeof keys[n], dc->api[k]);
        needs[n] = keys[n];
    }
    for (unsigned k = 0; k < dc->n_local; k++, n++) {
        entries[n] = pool_key(s, m, false, dc->local[k]);
        if (!entries[n]) local_key(keys[n], sizeof keys[n], dc->local[k]);
        needs[n] = keys[n];
    }
    const size_t label_len = name_of(label, sizeof label, "doc_", d, 3, "");
    join_n(out_key, sizeof out_key, "published/", label, label_len);
    const char *out[] = {out_key};
    return submit_keyed(s, "publish", label, needs, n, out, 1, entries, -1, NULL);
}

static unsigned doc_of(const rc_work *w)
{
    return (unsigned)strtoul(rc_work_label(w) + 4, NULL, 10);
}

static void publish_done(sim *s, const rc_work *w, bool ok, void *ud)
{
    (void)ud;
    if (!ok) return;
    char key[40];
    join(key, sizeof key, "published/", rc_work_label(w));
    const char *needs[] = {key};
    char checked[40];
    join(checked, sizeof checked, "checked/", rc_work_label(w));
    const char *out[] = {checked};
    rc_key *keys[] = {rc_work_key(w, rc_work_needs(w, NULL)), NULL}; /* what it published */
    submit_keyed(s, "check", rc_work_label(w), needs, 1, out, 1, keys, -1, NULL);
}

/* Invalidate a pool key through its held entry, or by its name (prefix +
 * zero-padded i) when it is not held (out of memory). */
static void invalidate_held(sim *s, rc_key *held, const char *prefix, unsigned i, const char *why)
{
    if (held) {
        sim_invalidate_key(s, held, why);
        return;
    }
    char key[40];
    name_of(key, sizeof key, prefix, i, 3, "");
    sim_invalidate(s, key, why);
}

static void check_done(sim *s, const rc_work *w, bool ok, void *ud)
{
    dynamic_model *m = ud;
    if (!ok) return;
    unsigned d = doc_of(w);
    sim_pcg32 *rng = sim_rng(s, SIM_STREAM_INVALIDATION);
    /* Always two draws (chance, how many), then the picks. */
    double chance = sim_pcg32_double(rng);
    unsigned how_many = 1 + sim_pcg32_bounded(rng, 2);
    if (chance >= 0.2 || m->docs[d].n_api == 0) return;
    if (how_many > m->docs[d].n_api) how_many = m->docs[d].n_api;
    unsigned pool[4];
    memcpy(pool, m->docs[d].api, sizeof pool);
    unsigned left = m->docs[d].n_api;
    char why[40];
    join(why, sizeof why, "check ", rc_work_label(w));
    for (unsigned k = 0; k < how_many; k++) {
        unsigned pick = sim_pcg32_bounded(rng, left);
        unsigned a = pool[pick];
        pool[pick] = pool[--left];
        invalidate_held(s, pool_key(s, m, true, a), "api/api_", a, why);
        submit_api(s, m, a);
    }
    /* The check's need is what the publish published. */
    rc_key *published = rc_work_key(w, 0);
    if (published) {
        sim_invalidate_key(s, published, why);
    } else {
        char key[40];
        join(key, sizeof key, "published/", rc_work_label(w));
        sim_invalidate(s, key, why);
    }
    submit_publish(s, m, d);
}

static int dynamic_work(sim *s, uint64_t i, void *ud)
{
    dynamic_model *m = ud;
    unsigned code = m->initial[i], kind = code >> 28, idx = code & 0x0fffffffu;
    if (kind == K_API) return submit_api(s, m, idx);
    if (kind == K_PUBLISH) return submit_publish(s, m, idx);
    char key[40], label[24], dep[40];
    local_key(key, sizeof key, idx);
    name_of(label, sizeof label, "local_", idx, 3, "");
    const char *out[] = {key};
    if (m->local_dep[idx] >= 0) {
        api_key(dep, sizeof dep, (unsigned)m->local_dep[idx]);
        const char *needs[] = {dep};
        rc_key *keys[] = {pool_key(s, m, true, (unsigned)m->local_dep[idx]),
                          pool_key(s, m, false, idx)};
        return submit_keyed(s, "local_process", label, needs, 1, out, 1, keys, -1, NULL);
    }
    rc_key *keys[] = {pool_key(s, m, false, idx)};
    return submit_keyed(s, "local_process", label, NULL, 0, out, 1, keys, -1, NULL);
}

/* Pick k distinct values from 0..n-1 (partial Fisher-Yates on a scratch). */
static void sample(sim_pcg32 *rng, unsigned *scratch, unsigned n, unsigned *out, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        unsigned j = i + sim_pcg32_bounded(rng, n - i);
        unsigned t = scratch[i];
        scratch[i] = scratch[j];
        scratch[j] = t;
        out[i] = scratch[i];
    }
}

static void dynamic_model_free(void *p);

static dynamic_model *dynamic_model_new(sim *s, size_t n_docs)
{
    dynamic_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_docs = n_docs;
    m->n_api_pool = (unsigned)(n_docs * 2 > 10 ? n_docs * 2 : 10);
    m->n_local_pool = (unsigned)(n_docs * 2 > 8 ? n_docs * 2 : 8);
    m->docs = calloc(n_docs ? n_docs : 1, sizeof *m->docs);
    m->local_dep = malloc(m->n_local_pool * sizeof *m->local_dep);
    m->api_needed = calloc(m->n_api_pool, 1);
    m->local_needed = calloc(m->n_local_pool, 1);
    m->api_keys = calloc(m->n_api_pool, sizeof *m->api_keys);
    m->local_keys = calloc(m->n_local_pool, sizeof *m->local_keys);
    unsigned *api_scratch = malloc(m->n_api_pool * sizeof *api_scratch);
    unsigned *local_scratch = malloc(m->n_local_pool * sizeof *local_scratch);
    m->initial = malloc((m->n_api_pool + m->n_local_pool + n_docs + 1) * sizeof *m->initial);
    if (!m->docs || !m->local_dep || !m->api_needed || !m->local_needed || !m->api_keys ||
        !m->local_keys || !api_scratch ||
        !local_scratch || !m->initial) {
        free(api_scratch);
        free(local_scratch);
        dynamic_model_free(m);
        return NULL;
    }
    for (unsigned i = 0; i < m->n_api_pool; i++) api_scratch[i] = i;
    for (unsigned i = 0; i < m->n_local_pool; i++) local_scratch[i] = i;
    sim_pcg32 *rng = sim_rng(s, SIM_STREAM_WORKLOAD);
    for (size_t d = 0; d < n_docs; d++) {
        doc *dc = &m->docs[d];
        dc->n_api = 2 + sim_pcg32_bounded(rng, 3);   /* 2..4 */
        dc->n_local = 1 + sim_pcg32_bounded(rng, 3); /* 1..3 */
        sample(rng, api_scratch, m->n_api_pool, dc->api, dc->n_api);
        sample(rng, local_scratch, m->n_local_pool, dc->local, dc->n_local);
        for (unsigned k = 0; k < dc->n_api; k++) m->api_needed[dc->api[k]] = true;
        for (unsigned k = 0; k < dc->n_local; k++) m->local_needed[dc->local[k]] = true;
    }
    /* 30% of the needed local artifacts depend on a needed api artifact. */
    unsigned n_needed_api = 0;
    for (unsigned i = 0; i < m->n_api_pool; i++)
        if (m->api_needed[i]) api_scratch[n_needed_api++] = i;
    for (unsigned i = 0; i < m->n_local_pool; i++) {
        m->local_dep[i] = -1;
        if (!m->local_needed[i]) continue;
        double u = sim_pcg32_double(rng);
        unsigned pick = sim_pcg32_bounded(rng, n_needed_api ? n_needed_api : 1);
        if (u < 0.3 && n_needed_api) m->local_dep[i] = (int)api_scratch[pick];
    }
    /* Initial work in a fixed order: api fetches, local processes, publishes. */
    for (unsigned i = 0; i < m->n_api_pool; i++)
        if (m->api_needed[i]) m->initial[m->n_initial++] = (K_API << 28) | i;
    for (unsigned i = 0; i < m->n_local_pool; i++)
        if (m->local_needed[i]) m->initial[m->n_initial++] = (K_LOCAL << 28) | i;
    for (size_t d = 0; d < n_docs; d++) m->initial[m->n_initial++] = (K_PUBLISH << 28) | (unsigned)d;
    free(api_scratch);
    free(local_scratch);
    return m;
}

static void dynamic_model_free(void *p)
{
    dynamic_model *m = p;
    free(m->docs);
    free(m->local_dep);
    free(m->api_needed);
    free(m->local_needed);
    free(m->api_keys); /* the entries go with the cue */
    free(m->local_keys);
    free(m->initial);
    free(m);
}

static int build_dynamic(sim *s)
{
    const sim_config *c = sim_get_config(s);
    dynamic_model *m = dynamic_model_new(s, (size_t)c->count);
    if (!m) return RC_ENOMEM;
    int own = sim_own(s, m, dynamic_model_free);
    if (own) return own;
    sim_profile api = sim_profile_from_config(c);
    sim_profile local = steady(c->latency_ms * 0.2);
    local.error_rate = c->error_rate * 0.3;
    sim_profile publish = steady(c->latency_ms * 0.5), check = steady(c->latency_ms * 0.3);
    int rc = add_service(s, "api", c->concurrent, true);
    if (!rc) rc = add_service(s, "local", c->concurrent * 2, false);
    if (!rc) rc = add_service(s, "publisher", 2, false);
    if (!rc) rc = add_service(s, "checker", 1, false);
    if (!rc) rc = sim_add_task(s, "api_fetch", "api", &api, NULL, NULL);
    if (!rc) rc = sim_add_task(s, "local_process", "local", &local, NULL, NULL);
    if (!rc) rc = sim_add_task(s, "publish", "publisher", &publish, publish_done, m);
    if (!rc) rc = sim_add_task(s, "check", "checker", &check, check_done, m);
    if (!rc) rc = sim_declare_labels(s, "api_{i}", m->n_api_pool, 3);
    if (!rc) rc = sim_declare_labels(s, "local_{i}", m->n_local_pool, 3);
    if (!rc) rc = sim_declare_labels(s, "doc_{i}", m->n_docs, 3);
    if (!rc) sim_set_workload(s, m->n_initial, dynamic_work, m);
    /* A key per initial work; a document's check makes one more. */
    if (!rc) sim_reserve_keys(s, 1, m->n_docs);
    if (!rc) hold_pool(s, m);
    return rc;
}

static const scenario registry[] = {
    {"single_queue", "Independent tasks, one service", build_single_queue},
    {"pipeline", "Extract -> Transform -> Load chain", build_pipeline},
    {"fanout", "Split -> parallel process -> aggregate", build_fanout},
    {"dynamic", "Complex dependencies with rebuild cycles", build_dynamic},
};

const scenario *scenario_list(size_t *n)
{
    *n = sizeof registry / sizeof *registry;
    return registry;
}

const scenario *scenario_find(const char *name)
{
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (strcmp(registry[i].name, name) == 0) return &registry[i];
    return NULL;
}
