/* timeouts.h -- what the cue-wide timers do when they fire (pending, stall,
 * poll, priority refresh).  Arming them is work.c's. */
#ifndef RC_TIMEOUTS_H
#define RC_TIMEOUTS_H

#include "cue_types.h"

void rc_timeouts_init(rc_cue *cue);
void rc_timeouts_fini(rc_cue *cue);

#endif
