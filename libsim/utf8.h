/* utf8.h -- one well-formedness rule for every writer in libsim (the event
 * log, the JUnit report): which bytes start a valid UTF-8 sequence.
 * Pure function; any thread. */
#ifndef SIM_UTF8_H
#define SIM_UTF8_H

#include <stddef.h>

/* The length (1..4) of the well-formed UTF-8 sequence at s, or 0 if the byte
 * at s does not start one (Unicode Table 3-7: no overlongs, no surrogates,
 * nothing above U+10FFFF).  A NUL ends any sequence early, so reading never
 * passes the terminator. */
size_t sim_utf8_seq_len(const unsigned char *s);

#endif
