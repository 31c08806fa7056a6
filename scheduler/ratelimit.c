/* ratelimit.c -- the sliding-window start limit (see ratelimit.h). */
#include "ratelimit.h"

#include <string.h>

enum { FIRST_SLOTS = 16 };

/* The i-th oldest start kept. */
static rc_time *slot(const rc_rate *r, unsigned i)
{
    return &r->ring[(r->head + i) % r->cap];
}

/* Double the ring (at most to count), oldest first; unchanged if out of
 * memory. */
static void grow(const rc_alloc *a, rc_rate *r)
{
    unsigned ncap = r->cap >= r->count / 2 ? r->count : r->cap * 2;
    rc_time *n = rc_malloc(a, (size_t)ncap * sizeof *n);
    if (!n) return;
    for (unsigned i = 0; i < r->len; i++)
        n[i] = *slot(r, i);
    rc_free(a, r->ring);
    r->ring = n;
    r->cap = ncap;
    r->head = 0;
}

int rc_rate_init(const rc_alloc *a, rc_rate *r, unsigned count, rc_time window)
{
    memset(r, 0, sizeof *r);
    if (count == 0) return 0;
    unsigned cap = count < FIRST_SLOTS ? count : FIRST_SLOTS;
    r->ring = rc_malloc(a, (size_t)cap * sizeof *r->ring);
    if (!r->ring) return RC_ENOMEM;
    r->count = count;
    r->window = window;
    r->cap = cap;
    return 0;
}

void rc_rate_free(const rc_alloc *a, rc_rate *r)
{
    rc_free(a, r->ring);
    memset(r, 0, sizeof *r);
}

rc_time rc_rate_next_allowed(const rc_rate *r)
{
    /* Room in the ring: fewer than count starts are in the window. */
    if (r->count == 0 || r->len < r->cap) return INT64_MIN;
    /* The oldest of the last `count` starts must have left the window. */
    rc_time oldest = r->ring[r->head];
    return oldest > INT64_MAX - r->window ? INT64_MAX : oldest + r->window;
}

void rc_rate_record(const rc_alloc *a, rc_rate *r, rc_time now)
{
    if (r->count == 0) return;
    /* Forget the starts that left the window (times never go back). */
    while (r->len && *slot(r, 0) <= now - r->window) {
        r->head = (r->head + 1) % r->cap;
        r->len--;
    }
    if (r->len == r->cap && r->cap < r->count) grow(a, r);
    if (r->len == r->cap) { /* full, yet it started: the oldest gives way */
        r->ring[r->head] = now;
        r->head = (r->head + 1) % r->cap;
    } else {
        *slot(r, r->len) = now;
        r->len++;
    }
    /* Keep a free slot, so a full ring means the limit (or no memory). */
    if (r->len == r->cap && r->cap < r->count) grow(a, r);
}

unsigned rc_rate_in_window(const rc_rate *r, rc_time now)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->len; i++)
        if (*slot(r, i) > now - r->window) n++;
    return n;
}
