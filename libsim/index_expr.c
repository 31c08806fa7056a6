/* index_expr.c -- index expressions of repeated work.  See index_expr.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "index_expr.h"

/* Digits at *p (at most 13): their value, *p moved past them; -1 if none. */
static int64_t index_number(const char **p)
{
    int64_t v = 0;
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++)
        if (++n <= 13) v = v * 10 + (**p - '0');
    return n == 0 || n > 13 ? -1 : v;
}

long sim_index_expr_parse(const char *p, sim_index_expr *e)
{
    if (strncmp(p, "{i", 2) != 0) return 0;
    const char *q = p + 2;
    if (*q == '}') {
        *e = (sim_index_expr){0, 0, 0};
        return 3;
    }
    if (!*q || !strchr("0123456789+-%", *q)) return 0;
    *e = (sim_index_expr){0, 0, 0};
    if (*q >= '0' && *q <= '9') {
        int64_t w = index_number(&q);
        if (w < 1 || w > SIM_INDEX_WIDTH_MAX) return -1;
        e->width = (int)w;
    }
    if (*q == '+' || *q == '-') {
        int sign = *q++ == '-' ? -1 : 1;
        int64_t k = index_number(&q);
        if (k < 0 || k > SIM_INDEX_ARG_MAX) return -1;
        e->offset = sign * k;
    }
    if (*q == '%') {
        q++;
        e->mod = index_number(&q);
        if (e->mod < 1 || e->mod > SIM_INDEX_ARG_MAX) return -1;
    }
    return *q == '}' ? (long)(q + 1 - p) : -1;
}

int64_t sim_index_expr_value(const sim_index_expr *e, uint64_t i)
{
    int64_t v = (int64_t)i + e->offset; /* i < 10^13, offset <= 10^12 */
    return e->mod ? ((v % e->mod) + e->mod) % e->mod : v;
}

int sim_index_expr_format(char *o, const sim_index_expr *e, uint64_t i)
{
    return sprintf(o, "%0*" PRId64, e->width, sim_index_expr_value(e, i));
}
