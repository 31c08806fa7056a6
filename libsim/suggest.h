/* suggest.h -- messages for people about names they typed: "did you mean"
 * (the closest of a list of known names by edit distance), and quoting a
 * hostile name in a one-line message.  Pure functions; any thread. */
#ifndef SIM_SUGGEST_H
#define SIM_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance of a and b; SIZE_MAX when either is longer than 64
 * bytes (a suggestion for a long name is not worth the cost). */
size_t sim_edit_distance(const char *a, const char *b);

/* Write " (did you mean 'x'?)" into buf for the closest of names[0, n)
 * (at most 2 edits away, and fewer edits than its length), or "" if none is
 * close.  Returns buf.  The caller owns everything. */
const char *sim_did_you_mean(const char *word, const char *const *names, size_t n, char *buf,
                             size_t bufsize);

/* s itself when it fits in bufsize - 4 bytes; else its first bytes (cut on
 * a UTF-8 boundary) and "..." in buf.  Returns s or buf. */
const char *sim_clip(const char *s, char *buf, size_t bufsize);

/* Replace control characters in s with '?' (C0, DEL and C1, each byte of
 * them: see sim_utf8_control_len), so a message that quotes anything stays
 * one line and moves no terminal's cursor. */
void sim_one_line(char *s);

#endif
