/* observe.h -- events out of the cue: observers (rc_cue_observe), the
 * application's hooks.on_event, and the end-of-iteration "settled" call; and
 * the cue's last error message.  The bottom of the cue's modules: it calls
 * nothing of theirs. */
#ifndef RC_OBSERVE_H
#define RC_OBSERVE_H

#include "cue_types.h"

void rc_observe_init(rc_cue *cue);
/* rc_cue_free: tell every observer the cue goes away, and drop them. */
void rc_observe_fini(rc_cue *cue);

/* Send an event to the observers, then to hooks.on_event. */
void rc_emit(rc_cue *cue, rc_event_kind kind, const rc_work *w, const char *detail,
             double duration, size_t pending);
/* RC_EV_PROGRESS with its fraction; detail: the message. */
void rc_emit_progress(rc_cue *cue, const rc_work *w, double fraction, const char *message);
/* Send a filled event (rc_emit's second half). */
void rc_emit_event(rc_cue *cue, const rc_event *event);
/* Something observers may want to publish changed (a pass ran, the cue was
 * paused): have on_settled called at the end of this iteration. */
void rc_observe_changed(rc_cue *cue);

void rc_cue_set_error(rc_cue *cue, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
