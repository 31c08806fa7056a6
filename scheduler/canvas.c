/* canvas.c -- chain, group and chord (runcue_canvas.h): workflows generated
 * as ordinary submissions with result keys, inputs, needs and produces.
 * Built on the public API only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runcue_canvas.h"

enum flow_kind { FLOW_CHAIN, FLOW_GROUP, FLOW_CHORD };

void rc_flow_free(rc_flow *f)
{
    if (!f) return;
    for (size_t i = 0; f->keys && i < f->n; i++)
        free(f->keys[i]);
    free(f->keys);
    free(f->ids);
    *f = (rc_flow){0};
}

/* The keys step i needs: for a chain the step before, for a chord's
 * callback every header step. */
static size_t inputs_of(enum flow_kind kind, size_t i, size_t n, size_t *first)
{
    *first = 0;
    if (kind == FLOW_CHAIN && i > 0) {
        *first = i - 1;
        return 1;
    }
    if (kind == FLOW_CHORD && i == n - 1) return n - 1;
    return 0;
}

static int submit_step(rc_cue *cue, enum flow_kind kind, const rc_sig *sig, size_t i, rc_flow *f)
{
    size_t first, n_in = inputs_of(kind, i, f->n, &first);
    cJSON *params = sig->params ? cJSON_Duplicate(sig->params, true) : cJSON_CreateObject();
    if (!params) return RC_ENOMEM;
    const char *key = f->keys[i];
    rc_submit_opts o = {
        .params = params,
        .label = sig->label ? sig->label : key,
        .needs = (const char *const *)f->keys + first,
        .n_needs = n_in,
        .produces = &key,
        .n_produces = 1,
        .result_key = key,
        .inputs = (const char *const *)f->keys + first,
        .n_inputs = n_in,
        .input_param = kind == FLOW_CHAIN ? RC_CHAIN_PARAM : RC_CHORD_PARAM,
        .input_list = kind == FLOW_CHORD,
    };
    int rc = rc_submit(cue, sig->task, &o, &f->ids[i]);
    if (rc) cJSON_Delete(params);
    return rc;
}

static int submit_flow(rc_cue *cue, enum flow_kind kind, const char *name,
                       const rc_sig *const *sigs, size_t n, rc_flow *out)
{
    *out = (rc_flow){0};
    if (!cue || !name || !*name || !n || n > SIZE_MAX / sizeof(char *) - 1) return RC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!sigs[i] || !sigs[i]->task) return RC_EINVAL;
    rc_flow f = {.n = n, .ids = calloc(n, sizeof *f.ids), .keys = calloc(n, sizeof *f.keys)};
    if (!f.ids || !f.keys) goto oom;
    size_t len = strlen(name) + 24;
    for (size_t i = 0; i < n; i++) {
        if (!(f.keys[i] = malloc(len))) goto oom;
        snprintf(f.keys[i], len, "%s/%zu", name, i);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = submit_step(cue, kind, sigs[i], i, &f);
        if (rc) {
            /* Nothing has started: submitted work waits for the next pass. */
            for (size_t j = 0; j < i; j++)
                rc_cancel(cue, f.ids[j]);
            rc_flow_free(&f);
            return rc;
        }
    }
    f.result = kind == FLOW_GROUP ? 0 : f.ids[n - 1];
    *out = f;
    return 0;
oom:
    rc_flow_free(&f);
    return RC_ENOMEM;
}

/* Point at each of n signatures (plus one more), for submit_flow. */
static int with_sigs(rc_cue *cue, enum flow_kind kind, const char *name, const rc_sig *steps,
                     size_t n, const rc_sig *extra, rc_flow *out)
{
    *out = (rc_flow){0};
    if (!steps || !n || n > SIZE_MAX / sizeof(rc_sig *) - 1) return RC_EINVAL;
    size_t total = n + (extra != NULL);
    const rc_sig **sigs = malloc(total * sizeof *sigs);
    if (!sigs) return RC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        sigs[i] = &steps[i];
    if (extra) sigs[n] = extra;
    int rc = submit_flow(cue, kind, name, sigs, total, out);
    free(sigs);
    return rc;
}

int rc_chain(rc_cue *cue, const char *name, const rc_sig *steps, size_t n, rc_flow *out)
{
    return with_sigs(cue, FLOW_CHAIN, name, steps, n, NULL, out);
}

int rc_group(rc_cue *cue, const char *name, const rc_sig *steps, size_t n, rc_flow *out)
{
    return with_sigs(cue, FLOW_GROUP, name, steps, n, NULL, out);
}

int rc_chord(rc_cue *cue, const char *name, const rc_sig *header, size_t n, const rc_sig *callback,
             rc_flow *out)
{
    /* The callback needs every header step's key: refused before anything
     * is submitted when that is more than a work declares. */
    if (!callback || n > RC_MAX_DECLARED) {
        *out = (rc_flow){0};
        return RC_EINVAL;
    }
    return with_sigs(cue, FLOW_CHORD, name, header, n, callback, out);
}

int rc_flow_cancel(rc_cue *cue, const rc_flow *f, size_t *cancelled)
{
    size_t k = 0;
    if (!cue || !f) return RC_EINVAL;
    for (size_t i = 0; i < f->n; i++) {
        const rc_work *w = rc_get(cue, f->ids[i]);
        if (w && rc_work_state(w) == RC_PENDING && rc_cancel(cue, f->ids[i]) == 0) k++;
    }
    if (cancelled) *cancelled = k;
    return 0;
}

int rc_flow_wait(rc_cue *cue, const rc_flow *f, double timeout_s)
{
    if (!f) return RC_EINVAL;
    return rc_wait_all(cue, f->ids, f->n, timeout_s);
}

rc_status rc_flow_status(const rc_cue *cue, const rc_flow *f)
{
    size_t done = 0, active = 0;
    bool failed = false, cancelled = false;
    for (size_t i = 0; i < f->n; i++) {
        const rc_work *w = rc_get(cue, f->ids[i]);
        if (!w) {
            done++; /* forgotten: it finished long ago */
            continue;
        }
        rc_work_info in;
        rc_work_get_info(w, &in);
        failed |= in.status == RC_ST_FAILED;
        cancelled |= in.status == RC_ST_CANCELLED;
        done += in.ready;
        active += in.status == RC_ST_STARTED || in.status == RC_ST_RETRYING;
    }
    if (failed) return RC_ST_FAILED;
    if (cancelled) return RC_ST_CANCELLED;
    if (done == f->n) return RC_ST_COMPLETED;
    return active || done ? RC_ST_STARTED : RC_ST_PENDING;
}
