/* ratelimit.h -- a sliding-window start limit: at most `count` starts in any
 * half-open window of `window` nanoseconds.  The ring of the starts still in
 * the window answers both questions the scheduler asks: may one start now,
 * and if not, at which instant may it (that instant becomes a timer).
 *
 * The ring grows with the starts actually made (doubling, from a few slots
 * up to `count`) and forgets starts that left the window, so a limit of
 * 10000000 per second costs memory only for the starts that happen within
 * one second.  If it cannot grow, it holds a tighter limit (the slots it
 * has), never a looser one. */
#ifndef RC_RATELIMIT_H
#define RC_RATELIMIT_H

#include <stdint.h>

#include "alloc.h"

#define RC_RATE_MAX_COUNT 10000000u

typedef struct rc_rate {
    unsigned count; /* 0: no limit */
    rc_time window;
    rc_time *ring; /* the starts in the window, oldest at `head`; cap slots */
    unsigned cap, head, len;
} rc_rate;

/* Zero starts; allocates a few slots.  RC_ENOMEM if even those fail. */
int rc_rate_init(const rc_alloc *a, rc_rate *r, unsigned count, rc_time window);
void rc_rate_free(const rc_alloc *a, rc_rate *r);
/* The earliest time a start is allowed (INT64_MIN if one is allowed at any time). */
rc_time rc_rate_next_allowed(const rc_rate *r);
/* A start at `now` (not before any start recorded earlier); grows the ring
 * through a when it needs room. */
void rc_rate_record(const rc_alloc *a, rc_rate *r, rc_time now);
/* Starts in (now - window, now]. */
unsigned rc_rate_in_window(const rc_rate *r, rc_time now);

#endif
