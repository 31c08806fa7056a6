/* cluster_report.c -- what a cluster run shows: the summary for people,
 * one JSON object for programs (stable key order), and the invariants. */
#include <inttypes.h>
#include <stdio.h>

#include "cluster_internal.h"

typedef struct totals {
    uint64_t lost, rate_v, conc_v;
} totals;

static totals count(const cluster *c)
{
    totals t = {0};
    for (uint64_t i = 0; i < c->cfg.count; i++)
        if (c->item_state[i] != ITEM_DONE) t.lost++;
    for (size_t s = 0; s < c->cfg.n_services; s++) {
        t.rate_v += c->svc[s].rate_violations;
        t.conc_v += c->svc[s].conc_violations;
    }
    return t;
}

static const char *outcome_name(int o)
{
    return o == CLUSTER_DONE      ? "done"
           : o == CLUSTER_STALLED ? "stalled"
           : o == CLUSTER_CUT     ? "cut"
                                  : "error";
}

void cluster_print_summary(const cluster *c, FILE *out)
{
    const cluster_config *cfg = &c->cfg;
    totals t = count(c);
    engine_emu_stats es;
    engine_emu_get_stats(c->engine, &es);
    fprintf(out,
            "cluster: %u schedulers, %u agents x %u slots, %" PRIu64 " items, seed %" PRIu64 "\n",
            cfg->schedulers, cfg->agents, cfg->slots, cfg->count, cfg->seed);
    fprintf(out, "outcome: %s at t=%.3fs\n", outcome_name(c->outcome), cl_seconds(c->now));
    fprintf(out,
            "applied %" PRIu64 ", failed %" PRIu64 ", lost %" PRIu64 ", applied twice %" PRIu64
            "\n",
            c->applied_total, c->failed, t.lost, c->applied_twice);
    fprintf(out,
            "executed twice %" PRIu64 ", redeliveries %" PRIu64 ", refused stale finishes %" PRIu64
            ", leases lost %" PRIu64 "\n",
            c->executed_twice, c->redeliveries, c->stale_finishes, c->lease_losses);
    fprintf(out,
            "retries %" PRIu64 ", resubmitted %" PRIu64 ", attached %" PRIu64
            ", failed calls %" PRIu64 "\n",
            c->retries, c->resubmits, c->attached, c->failed_calls);
    fprintf(out, "engine: %" PRIu64 " calls, %" PRIu64 " commands\n", es.calls, es.commands);
    for (size_t s = 0; s < cfg->n_services; s++) {
        const cluster_service *cs = &cfg->services[s];
        const cl_svcstate *ss = &c->svc[s];
        fprintf(out,
                "service %s: %" PRIu64 " starts, %" PRIu64 " completed, peak %zu leased"
                ", violations: rate %" PRIu64 ", concurrency %" PRIu64 "\n",
                cs->name, ss->starts, ss->completed, ss->peak_holding, ss->rate_violations,
                ss->conc_violations);
    }
    for (size_t f = 0; f < cfg->n_faults; f++) {
        char spec[96];
        cluster_fault_format(&cfg->faults[f], spec, sizeof spec);
        const cl_fault_state *fs = &c->faults[f];
        if (fs->recovered_at >= 0)
            fprintf(out, "fault %s: recovered after %.3fs\n", spec,
                    cl_seconds(fs->recovered_at) - cfg->faults[f].at_s);
        else
            fprintf(out, "fault %s: not recovered\n", spec);
    }
}

void cluster_print_report_json(const cluster *c, FILE *out, const char *scenario)
{
    const cluster_config *cfg = &c->cfg;
    totals t = count(c);
    engine_emu_stats es;
    engine_emu_get_stats(c->engine, &es);
    fprintf(out,
            "{\"scenario\":\"%s\",\"seed\":%" PRIu64 ",\"outcome\":\"%s\","
            "\"duration_s\":%.6f,",
            scenario, cfg->seed, outcome_name(c->outcome), cl_seconds(c->now));
    fprintf(out, "\"completed\":%" PRIu64 ",", c->resolved - c->failed);
    fprintf(out, "\"schedulers\":%u,\"agents\":%u,\"slots\":%u,\"items\":%" PRIu64 ",",
            cfg->schedulers, cfg->agents, cfg->slots, cfg->count);
    fprintf(
        out,
        "\"applied\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"lost\":%" PRIu64
        ",\"applied_twice\":%" PRIu64 ",\"executed_twice\":%" PRIu64 ",\"redeliveries\":%" PRIu64
        ",\"stale_finishes\":%" PRIu64 ",\"leases_lost\":%" PRIu64 ",\"retries\":%" PRIu64
        ",\"resubmitted\":%" PRIu64 ",\"attached\":%" PRIu64 ",\"failed_calls\":%" PRIu64 ",",
        c->applied_total, c->failed, t.lost, c->applied_twice, c->executed_twice, c->redeliveries,
        c->stale_finishes, c->lease_losses, c->retries, c->resubmits, c->attached, c->failed_calls);
    fprintf(out, "\"violations\":{\"rate\":%" PRIu64 ",\"concurrency\":%" PRIu64 "},", t.rate_v,
            t.conc_v);
    fprintf(out, "\"engine\":{\"calls\":%" PRIu64 ",\"commands\":%" PRIu64 ",\"lost_writes\":%s},",
            es.calls, es.commands, c->lost_writes ? "true" : "false");
    fputs("\"services\":[", out);
    for (size_t s = 0; s < cfg->n_services; s++) {
        const cluster_service *cs = &cfg->services[s];
        const cl_svcstate *ss = &c->svc[s];
        fprintf(out,
                "%s{\"name\":\"%s\",\"concurrent\":%d,\"rate_count\":%u,"
                "\"rate_window_s\":%.6f,\"lease_s\":%.6f,\"starts\":%" PRIu64
                ",\"completed\":%" PRIu64 ",\"peak_leased\":%zu,"
                "\"rate_violations\":%" PRIu64 ",\"concurrency_violations\":%" PRIu64 "}",
                s ? "," : "", cs->name, cs->concurrent, cs->rate_count, cs->rate_window_s,
                cs->lease_s, ss->starts, ss->completed, ss->peak_holding, ss->rate_violations,
                ss->conc_violations);
    }
    fputs("],\"faults\":[", out);
    for (size_t f = 0; f < cfg->n_faults; f++) {
        char spec[96];
        cluster_fault_format(&cfg->faults[f], spec, sizeof spec);
        const cl_fault_state *fs = &c->faults[f];
        fprintf(out, "%s{\"fault\":\"%s\",\"recovery_s\":", f ? "," : "", spec);
        if (fs->recovered_at >= 0)
            fprintf(out, "%.6f}", cl_seconds(fs->recovered_at) - cfg->faults[f].at_s);
        else
            fputs("null}", out);
    }
    fputs("]}\n", out);
}

int cluster_check_invariants(const cluster *c, FILE *out)
{
    totals t = count(c);
    int broken = 0;
    if (c->applied_twice) {
        fprintf(out, "invariant: %" PRIu64 " results applied twice\n", c->applied_twice);
        broken++;
    }
    if (c->outcome != CLUSTER_CUT && t.lost) {
        fprintf(out, "invariant: %" PRIu64 " items lost\n", t.lost);
        broken++;
    }
    if (!c->lost_writes && (t.rate_v || t.conc_v)) {
        fprintf(out,
                "invariant: limit violations (rate %" PRIu64 ", concurrency %" PRIu64
                ") without lost engine writes\n",
                t.rate_v, t.conc_v);
        broken++;
    }
    return broken;
}
