/* suggest.h -- "did you mean" for a mistyped name: the closest of the known
 * names, by edit distance (at most 2, and less than the name's length). */
#ifndef SCENARIOS_SUGGEST_H
#define SCENARIOS_SUGGEST_H

#include <stddef.h>

/* Writes " (did you mean 'x'?)" for the closest of names[0..n) into buf, or
 * "" if none is close; returns buf.  Words longer than 64 bytes match
 * nothing.  Pure; any thread. */
const char *did_you_mean(const char *word, const char *const *names, size_t n, char *buf,
                         size_t bufsize);

#endif
