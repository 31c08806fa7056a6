/* golden.h -- compare a run's JSON Lines event log with a recorded ("golden")
 * one, and say how they differ in words a person can act on: the first
 * differing event, expected and found, with the lines around it and its
 * virtual time, and how the runs diverge from there (events per kind).
 *
 * Both logs are read line by line, once; memory stays bounded whatever their
 * size (a few lines of context and one counter per event kind).  The golden
 * file is hostile input: lines longer than SIM_GOLDEN_LINE_MAX are compared
 * by length and hash beyond that prefix, at most SIM_GOLDEN_KINDS event kinds
 * are told apart (the rest count as "(other)"), what is shown of a line is
 * cut and has its control characters replaced, and neither log is read past
 * SIM_GOLDEN_BYTES_MAX bytes (an endless input, a FIFO or /dev/zero, ends
 * the compare with an error instead of reading for ever).  Single-threaded
 * per call.
 */
#ifndef SIM_GOLDEN_H
#define SIM_GOLDEN_H

#include <stdint.h>
#include <stdio.h>

#define SIM_GOLDEN_LINE_MAX 65536
#define SIM_GOLDEN_KINDS 32
#define SIM_GOLDEN_CONTEXT 3 /* lines shown before and after the difference */
#define SIM_GOLDEN_BYTES_MAX (UINT64_C(256) << 20) /* per log: far past any recording */

/*
 * Compare the lines of expected (the recording, named name in the report)
 * with those of got (the run's log), both read from their current position
 * to their end.  Returns 0 when they are the same; 1 when they differ, with
 * the report written to out (several lines, each starting with two spaces
 * after the first); RC_ESYS when a read failed; RC_EINVAL when a log goes
 * on past SIM_GOLDEN_BYTES_MAX bytes, with one line saying which written to
 * out.  The caller owns the FILEs.
 */
int sim_golden_compare(FILE *expected, FILE *got, const char *name, FILE *out);
/* The same with another limit than SIM_GOLDEN_BYTES_MAX on each log. */
int sim_golden_compare_max(FILE *expected, FILE *got, const char *name, FILE *out,
                           uint64_t max_bytes);

#endif
