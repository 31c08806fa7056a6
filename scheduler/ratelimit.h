/* ratelimit.h -- a sliding-window start limit: at most `count` starts in any
 * half-open window of `window` nanoseconds.  The ring of the last `count`
 * start times answers both questions the scheduler asks: may one start now,
 * and if not, at which instant may it (that instant becomes a timer). */
#ifndef RC_RATELIMIT_H
#define RC_RATELIMIT_H

#include <stdint.h>

#include "alloc.h"

#define RC_RATE_MAX_COUNT 10000000u

typedef struct rc_rate {
    unsigned count; /* 0: no limit */
    rc_time window;
    rc_time *ring;  /* the last `count` start times, oldest at `next` once full */
    unsigned filled;
    unsigned next;
} rc_rate;

int rc_rate_init(const rc_alloc *a, rc_rate *r, unsigned count, rc_time window);
void rc_rate_free(const rc_alloc *a, rc_rate *r);
/* The earliest time a start is allowed (INT64_MIN if one is allowed at any time). */
rc_time rc_rate_next_allowed(const rc_rate *r);
void rc_rate_record(rc_rate *r, rc_time now);
/* Starts in (now - window, now]. */
unsigned rc_rate_in_window(const rc_rate *r, rc_time now);

#endif
