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

/* The bytes at s (NUL-terminated, s[0] not NUL) that a terminal would take
 * as a control, to be shown as as many '?': 1 for a C0 control or DEL, 2
 * for a C1 control in UTF-8 (C2 80..9F; 9B is CSI), 1 for a byte 80..9F
 * that starts no well-formed sequence (a lone 9B is CSI to a Latin-1
 * terminal).  0 for a character, and for any other byte that is in no
 * character (text to such a terminal: kept). */
size_t sim_utf8_control_len(const unsigned char *s);

#endif
