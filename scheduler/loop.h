/* loop.h -- what the rest of the core may do to a loop beyond runcue.h:
 * set its message (rc_loop_errmsg).  Its insides are in loop_internal.h. */
#ifndef RC_LOOP_H
#define RC_LOOP_H

#include "runcue.h"

/* Set loop's message (rc_loop_errmsg), printf-style, cut to its room. */
void rc_loop_set_error(rc_loop *loop, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
