/*
 * shutdown.h -- what the transports share when they shut down: the list of
 * cut work that becomes an rc_shutdown_report, and a deadline from now.
 * Private to transports/.
 */
#ifndef RC_TRANSPORT_SHUTDOWN_H
#define RC_TRANSPORT_SHUTDOWN_H

#include "runcue_transport.h"

/* The ids of cut work, in the order they were cut.  Zero-initialised is
 * empty. */
typedef struct rc_cut_list {
    rc_work_id *ids;
    size_t len, cap;
    bool lost; /* out of memory: the counts stay right, the ids are dropped */
} rc_cut_list;

/* Append an id; after a failed allocation the list only counts as lost. */
void rc_cut_list_add(rc_cut_list *cut, rc_work_id id);

/* Fill *report (may be NULL) with the counts and, unless ids were lost, the
 * ids in ascending order; the report takes the list's memory, which is freed
 * if there is no report or ids were lost.  Returns RC_ENOMEM if they were,
 * else 0. */
int rc_cut_list_report(rc_cut_list *cut, size_t finished, size_t cut_queued, size_t cut_running,
                       rc_shutdown_report *report);

/* now + seconds, saturated at RC_TIME_NEVER (for huge or infinite values). */
rc_time rc_time_after(rc_time now, double seconds);

#endif /* RC_TRANSPORT_SHUTDOWN_H */
