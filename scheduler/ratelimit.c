#include "ratelimit.h"

#include <string.h>

int rc_rate_init(const rc_alloc *a, rc_rate *r, unsigned count, rc_time window)
{
    memset(r, 0, sizeof *r);
    if (count == 0) return 0;
    r->ring = rc_calloc(a, count, sizeof *r->ring);
    if (!r->ring) return RC_ENOMEM;
    r->count = count;
    r->window = window;
    return 0;
}

void rc_rate_free(const rc_alloc *a, rc_rate *r)
{
    rc_free(a, r->ring);
    memset(r, 0, sizeof *r);
}

rc_time rc_rate_next_allowed(const rc_rate *r)
{
    if (r->count == 0 || r->filled < r->count) return INT64_MIN;
    /* The oldest of the last `count` starts must have left the window. */
    rc_time oldest = r->ring[r->next];
    return oldest > INT64_MAX - r->window ? INT64_MAX : oldest + r->window;
}

void rc_rate_record(rc_rate *r, rc_time now)
{
    if (r->count == 0) return;
    r->ring[r->next] = now;
    r->next = (r->next + 1) % r->count;
    if (r->filled < r->count) r->filled++;
}

unsigned rc_rate_in_window(const rc_rate *r, rc_time now)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->filled; i++)
        if (r->ring[i] > now - r->window) n++;
    return n;
}
