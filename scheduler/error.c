/* error.c -- names of codes, states, events and reasons; time conversion;
 * the rate-string parser. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ratelimit.h"
#include "runcue.h"

const char *rc_strerror(int code)
{
    switch (code) {
    case RC_OK: return "success";
    case RC_EINVAL: return "invalid argument";
    case RC_ENOMEM: return "out of memory";
    case RC_EEXIST: return "already exists";
    case RC_ENOENT: return "not found";
    case RC_ERUNNING: return "work is running";
    case RC_EFINISHED: return "work already finished";
    case RC_ESTALE: return "attempt already finished";
    case RC_ESYS: return "system call failed";
    case RC_ESTATE: return "not allowed in this state";
    case RC_ETIMEDOUT: return "timed out";
    case RC_EBLOCKED: return "blocked: the loop went idle first";
    default: return "unknown error";
    }
}

rc_time rc_seconds(double seconds)
{
    if (isnan(seconds)) return 0;
    double ns = seconds * 1e9;
    if (ns >= 9.2e18) return INT64_MAX;
    if (ns <= -9.2e18) return INT64_MIN;
    return (rc_time)llround(ns);
}

double rc_to_seconds(rc_time t)
{
    return (double)t / 1e9;
}

const char *rc_state_name(rc_state s)
{
    static const char *const names[] = {"pending", "running", "completed", "failed", "cancelled"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown";
}

const char *rc_status_name(rc_status s)
{
    static const char *const names[] = {"pending",   "started", "retrying",
                                        "completed", "failed",  "cancelled"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown";
}

const char *rc_event_name(rc_event_kind k)
{
    static const char *const names[] = {
        "queued",          "started",       "completed", "failed",
        "skipped",         "cancelled",     "retry",     "pending_warning",
        "stall_warning",   "timeout",       "stale_finish",    "stalled",
        "artifacts_changed", "progress",
    };
    _Static_assert(sizeof names / sizeof *names == RC_EV__COUNT, "event names");
    return (unsigned)k < RC_EV__COUNT ? names[k] : "unknown";
}

const char *rc_block_reason_name(rc_block_reason r)
{
    static const char *const names[] = {"unchecked",    "not_ready",    "service_full",
                                        "rate_limited", "unknown_task", "delayed",
                                        "paused",       "remote"};
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : "unknown";
}

static void put_err(char *err, size_t errlen, const char *fmt, const char *rate, const char *more)
{
    if (err && errlen) snprintf(err, errlen, fmt, rate, more);
}

int rc_parse_rate(const char *rate, unsigned *count, double *window_s, char *err, size_t errlen)
{
    if (!count || !window_s) {
        put_err(err, errlen, "rc_parse_rate: %s%s must not be NULL", !count ? "count" : "window_s", "");
        return RC_EINVAL;
    }
    if (!rate || !*rate) {
        put_err(err, errlen, "bad rate '%s'%s: expected N/unit, e.g. 60/min", rate ? rate : "",
                "");
        return RC_EINVAL;
    }
    const char *slash = strchr(rate, '/');
    if (!slash) {
        put_err(err, errlen, "bad rate '%s'%s: expected N/unit, e.g. 60/min or 20/1", rate, "");
        return RC_EINVAL;
    }
    /* The count: a positive whole number. */
    const char *p = rate;
    if (!isdigit((unsigned char)*p)) {
        put_err(err, errlen, "bad rate '%s'%s: the count must be a positive whole number", rate,
                "");
        return RC_EINVAL;
    }
    errno = 0;
    char *end;
    unsigned long n = strtoul(p, &end, 10);
    if (end != slash || errno || n == 0 || n > RC_RATE_MAX_COUNT) {
        put_err(err, errlen, "bad rate '%s'%s: the count must be a whole number from 1 to 10000000",
                rate, "");
        return RC_EINVAL;
    }
    const char *unit = slash + 1;
    static const struct {
        const char *name;
        double seconds;
    } units[] = {
        {"s", 1},      {"sec", 1},     {"secs", 1},     {"second", 1},  {"seconds", 1},
        {"m", 60},     {"min", 60},    {"mins", 60},    {"minute", 60}, {"minutes", 60},
        {"h", 3600},   {"hr", 3600},   {"hrs", 3600},   {"hour", 3600}, {"hours", 3600},
    };
    double w = -1;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcasecmp(unit, units[i].name) == 0) w = units[i].seconds;
    if (w < 0) {
        /* The simulator's N/S form: a number of seconds. */
        if (!*unit || !(isdigit((unsigned char)*unit) || *unit == '.')) {
            put_err(err, errlen,
                    "bad rate '%s'%s: unknown unit (use sec, min, hour, or a number of seconds)",
                    rate, "");
            return RC_EINVAL;
        }
        errno = 0;
        w = strtod(unit, &end);
        if (*end || errno || !isfinite(w) || w <= 0) {
            put_err(err, errlen, "bad rate '%s'%s: the window must be a positive number of seconds",
                    rate, "");
            return RC_EINVAL;
        }
        if (w > 1e9) {
            put_err(err, errlen, "bad rate '%s'%s: the window is too long", rate, "");
            return RC_EINVAL;
        }
        if (rc_seconds(w) <= 0) {
            put_err(err, errlen, "bad rate '%s'%s: the window is shorter than a nanosecond", rate,
                    "");
            return RC_EINVAL;
        }
    }
    if (count) *count = (unsigned)n;
    if (window_s) *window_s = w;
    return 0;
}
