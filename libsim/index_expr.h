/* index_expr.h -- the index expressions of repeated work: "{i}", "{i4}"
 * (zero-padded to 4 digits), "{i-1}", "{i+1}", "{i4+1}", "{i+1%N}" (modulo
 * N: rings).  One grammar for the scenario files that expand them and the
 * label catalogue that matches labels against them.  Pure functions; any
 * thread. */
#ifndef SIM_INDEX_EXPR_H
#define SIM_INDEX_EXPR_H

#include <stdint.h>

enum { SIM_INDEX_WIDTH_MAX = 20 };
#define SIM_INDEX_ARG_MAX 1e12

/* The value is i + offset, wrapped into 0..mod-1 with a modulus, and may be
 * negative without one ("{i-1}" of item 0 is "-1"); zero-padded to width
 * digits (0: not padded). */
typedef struct sim_index_expr {
    int width;
    int64_t offset;
    int64_t mod; /* 0: none */
} sim_index_expr;

/* The length of the index expression at p, 0 if p does not start one, or -1
 * if it starts like one ("{i" then a digit, '+', '-' or '%') but is not. */
long sim_index_expr_parse(const char *p, sim_index_expr *e);

/* Its value for index i (i < 10^13). */
int64_t sim_index_expr_value(const sim_index_expr *e, uint64_t i);

/* Write the value for index i at o (at most 22 bytes with the NUL); returns
 * its length. */
int sim_index_expr_format(char *o, const sim_index_expr *e, uint64_t i);

#endif
