/* allocator.h -- the rc_allocator libsim uses when the caller gives none.
 *
 * libsim may see only the core's public header, so it does not share the
 * core's private allocation helpers; this is its one copy of the C library
 * fallback.
 */
#ifndef SIM_ALLOCATOR_H
#define SIM_ALLOCATOR_H

#include "runcue.h"

/*
 * The allocator to use: *a when a and a->realloc are set, else one over the
 * C library's realloc and free (realloc(ud, p, 0) frees p and returns NULL).
 * Returned by value: the caller keeps it; a->ud still belongs to the caller.
 */
rc_allocator sim_allocator_or_libc(const rc_allocator *a);

#endif
