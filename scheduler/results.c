/* results.c -- see results.h.  Entries exist while a consumer is counted or
 * a value is kept; a value nobody counts is never kept. */
#include <string.h>

#include "results.h"

static void drop(rc_cue *cue, const char *key, rc_result_art *r)
{
    cJSON_Delete(r->value);
    rc_strmap_del(&cue->alloc, &cue->results, key);
    rc_free(&cue->alloc, r);
}

static void unhold(rc_cue *cue, const char *key)
{
    rc_result_art *r = rc_strmap_get(&cue->results, key);
    if (!r) return;
    if (r->consumers) r->consumers--;
    if (!r->consumers) drop(cue, key, r);
}

int rc_results_hold(rc_cue *cue, rc_work *w)
{
    rc_work_flow *f = rc_work_flow_of(w);
    if (!f) return 0;
    for (size_t i = 0; i < f->n_inputs; i++) {
        rc_result_art *r = rc_strmap_get(&cue->results, f->inputs[i]);
        if (!r) {
            r = rc_calloc(&cue->alloc, 1, sizeof *r);
            if (!r || rc_strmap_put(&cue->alloc, &cue->results, f->inputs[i], r, NULL)) {
                rc_free(&cue->alloc, r);
                while (i-- > 0)
                    unhold(cue, f->inputs[i]);
                return RC_ENOMEM;
            }
        }
        r->consumers++;
    }
    f->inputs_held = true;
    return 0;
}

void rc_results_release(rc_cue *cue, rc_work *w)
{
    rc_work_flow *f = rc_work_flow_of(w);
    if (!f || !f->inputs_held) return;
    f->inputs_held = false;
    for (size_t i = 0; i < f->n_inputs; i++)
        unhold(cue, f->inputs[i]);
}

bool rc_results_store(rc_cue *cue, const rc_work *w, const cJSON *value)
{
    const rc_work_flow *f = rc_work_flow_of(w);
    if (!f || !f->result_key) return false;
    rc_result_art *r = rc_strmap_get(&cue->results, f->result_key);
    if (!r) return false; /* nobody needs it: not kept */
    cJSON *copy = value ? cJSON_Duplicate(value, true) : cJSON_CreateNull();
    if (!copy) return false; /* its consumers wait; the diagnosis shows on what */
    cJSON_Delete(r->value);
    r->value = copy;
    r->has_value = true;
    return true;
}

const char *rc_results_missing(const rc_cue *cue, const rc_work *w)
{
    const rc_work_flow *f = rc_work_flow_of(w);
    if (!f) return NULL;
    for (size_t i = 0; i < f->n_inputs; i++) {
        const rc_result_art *r = rc_strmap_get(&cue->results, f->inputs[i]);
        if (!r || !r->has_value) return f->inputs[i];
    }
    return NULL;
}

int rc_results_fill(rc_cue *cue, rc_work *w)
{
    const rc_work_flow *f = rc_work_flow_of(w);
    if (!f || !f->n_inputs) return 0;
    rc_work_cold *c = w->cold; /* there: the work has a flow */
    if (!c->params && !(c->params = cJSON_CreateObject())) return RC_ENOMEM;
    cJSON *v;
    if (f->n_inputs == 1 && !f->input_list) {
        const rc_result_art *r = rc_strmap_get(&cue->results, f->inputs[0]);
        v = r && r->value ? cJSON_Duplicate(r->value, true) : cJSON_CreateNull();
    } else {
        v = cJSON_CreateArray();
        for (size_t i = 0; v && i < f->n_inputs; i++) {
            const rc_result_art *r = rc_strmap_get(&cue->results, f->inputs[i]);
            cJSON *e = r && r->value ? cJSON_Duplicate(r->value, true) : cJSON_CreateNull();
            if (!e || !cJSON_AddItemToArray(v, e)) {
                cJSON_Delete(e);
                cJSON_Delete(v);
                v = NULL;
            }
        }
    }
    if (!v) return RC_ENOMEM;
    const char *name = f->input_param ? f->input_param : "input";
    cJSON_DeleteItemFromObjectCaseSensitive(c->params, name);
    if (!cJSON_AddItemToObject(c->params, name, v)) {
        cJSON_Delete(v);
        return RC_ENOMEM;
    }
    return 0;
}

static void free_art(const char *key, void *val, void *ud)
{
    (void)key;
    rc_result_art *r = val;
    cJSON_Delete(r->value);
    rc_free(ud, r);
}

void rc_results_fini(rc_cue *cue)
{
    rc_strmap_each(&cue->results, free_art, &cue->alloc);
    rc_strmap_free(&cue->alloc, &cue->results);
}
