/* sim_command.c -- see sim_command.h. */
#include "sim_command.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cmd {
    char *buf;
    size_t cap, len;
    bool cut;
} cmd;

static void put(cmd *c, const char *s)
{
    size_t n = strlen(s);
    if (c->cut || c->len + n >= c->cap) {
        c->cut = true;
        return;
    }
    memcpy(c->buf + c->len, s, n + 1);
    c->len += n;
}

/* The shortest text that reads back as v: whole numbers without an
 * exponent, the rest the shortest "%g". */
static void number(char *out, size_t cap, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, cap, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

/* " OPT VALUE", VALUE single-quoted unless it is a plain word. */
static void option(cmd *c, const char *opt, const char *value)
{
    put(c, " ");
    put(c, opt);
    put(c, " ");
    bool plain = *value != 0;
    for (const char *p = value; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    "-_./+,:=@%",
                    *p))
            plain = false;
    if (plain) {
        put(c, value);
        return;
    }
    put(c, "'");
    for (const char *p = value; *p; p++) {
        char ch[2] = {*p, 0};
        put(c, *p == '\'' ? "'\\''" : ch);
    }
    put(c, "'");
}

static void option_num(cmd *c, const char *opt, double v)
{
    char num[40];
    number(num, sizeof num, v);
    option(c, opt, num);
}

static void option_count(cmd *c, const char *opt, unsigned long long v)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", v);
    option(c, opt, num);
}

/* The cluster's options, if any, before --seed. */
static void cluster_options(cmd *c, const sim_cluster_opts *co)
{
    if (!co) return;
    if (co->shape) option(c, "--cluster", co->shape);
    if (co->faults) option(c, "--faults", co->faults);
    if (co->slots) option_count(c, "--slots", co->slots);
    if (co->lease_s > 0) option_num(c, "--lease", co->lease_s);
    if (co->link_ms >= 0) option_num(c, "--link-latency", co->link_ms);
}

bool sim_command_line(char *buf, size_t cap, const sim_config *cfg, const char *scenario,
                      const char *scenario_file)
{
    return sim_command_line_cluster(buf, cap, cfg, scenario, scenario_file, NULL);
}

bool sim_command_line_cluster(char *buf, size_t cap, const sim_config *cfg, const char *scenario,
                              const char *scenario_file, const sim_cluster_opts *co)
{
    if (!cap) return false;
    sim_config def;
    sim_config_defaults(&def);
    cmd c = {buf, cap, 0, false};
    buf[0] = 0;
    put(&c, "runcue-sim");
    if (scenario_file) {
        option(&c, "--scenario-file", scenario_file);
    } else {
        option(&c, "--scenario", scenario);
        option_count(&c, "-n", cfg->count);
    }
    if (cfg->latency_ms != def.latency_ms) option_num(&c, "-l", cfg->latency_ms);
    if (cfg->jitter != def.jitter) option_num(&c, "-j", cfg->jitter);
    if (cfg->outlier_chance != def.outlier_chance)
        option_num(&c, "--outliers", cfg->outlier_chance);
    if (cfg->outlier_mult != def.outlier_mult) option_num(&c, "--outlier-mult", cfg->outlier_mult);
    if (cfg->error_rate != def.error_rate) option_num(&c, "-e", cfg->error_rate);
    if (cfg->concurrent != def.concurrent) option_count(&c, "-c", (unsigned)cfg->concurrent);
    if (cfg->rate_count) {
        char win[40], rate[64];
        number(win, sizeof win, cfg->rate_window_s);
        snprintf(rate, sizeof rate, "%u/%s", cfg->rate_count, win);
        option(&c, "-r", rate);
    }
    if (cfg->submit_rate > 0) option_num(&c, "-s", cfg->submit_rate);
    if (cfg->duration_s > 0) option_num(&c, "-d", cfg->duration_s);
    if (cfg->stall_timeout_s > 0) option_num(&c, "--timeout", cfg->stall_timeout_s);
    cluster_options(&c, co);
    option_count(&c, "--seed", (unsigned long long)cfg->seed);
    if (c.cut) {
        /* Mark the command as incomplete rather than show a wrong one. */
        const char *more = " ...";
        size_t keep = cap > strlen(more) ? cap - 1 - strlen(more) : 0;
        if (keep > c.len) keep = c.len;
        while (keep > 0 && buf[keep - 1] != ' ')
            keep--; /* whole words only */
        if (keep) keep--;
        snprintf(buf + keep, cap - keep, "%s", more);
        return false;
    }
    return true;
}
