/* golden.c -- see golden.h. */
#include "golden.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runcue.h"
#include "utf8.h"

enum { SHOW_MAX = 240, KIND_LEN = 32 };

/* One line: its first SIM_GOLDEN_LINE_MAX bytes, its full length and a
 * hash of all of it. */
typedef struct line {
    char *text;
    size_t len, kept;
    uint64_t hash;
    bool eof;
} line;

/* One log being read, and how many more of its bytes may be. */
typedef struct source {
    FILE *f;
    uint64_t left;
    bool over; /* it went on past the limit */
} source;

/* The next line of src into l; RC_EINVAL if the log goes on past its
 * byte limit (a newline counts). */
static int read_line(source *src, line *l)
{
    l->len = l->kept = 0;
    l->hash = 1469598103934665603ull; /* FNV-1a */
    l->eof = false;
    int c;
    while ((c = getc(src->f)) != EOF) {
        if (src->left == 0) {
            src->over = true;
            return RC_EINVAL;
        }
        src->left--;
        if (c == '\n') break;
        if (l->kept < SIM_GOLDEN_LINE_MAX) l->text[l->kept++] = (char)c;
        l->len++;
        l->hash = (l->hash ^ (unsigned char)c) * 1099511628211ull;
    }
    l->text[l->kept] = 0;
    if (ferror(src->f)) return RC_ESYS;
    if (c == EOF && l->len == 0) l->eof = true;
    return 0;
}

static bool same(const line *a, const line *b)
{
    return a->eof == b->eof && a->len == b->len && a->hash == b->hash &&
           memcmp(a->text, b->text, a->kept) == 0;
}

/* What a line shows: cut, control characters as '?'. */
static void show(FILE *out, const line *l)
{
    if (l->eof) {
        fputs("(end of log)", out);
        return;
    }
    size_t n = l->kept < SHOW_MAX ? l->kept : SHOW_MAX;
    const unsigned char *u = (const unsigned char *)l->text;
    for (size_t i = 0; i < n;) {
        /* Controls as '?' (C0 and NUL, DEL, C1 in UTF-8 or alone): the
         * logs are hostile and this goes to a terminal.  text[kept] is 0,
         * so a sequence is never read past it. */
        const size_t c = sim_utf8_control_len(u + i), len = c ? c : sim_utf8_seq_len(u + i);
        for (size_t k = 0; k < (len ? len : 1) && i < n; k++, i++)
            fputc(c ? '?' : u[i], out);
    }
    if (n < l->len) fputs("...", out);
}

/* The "event" of a JSON Lines record, or "(other)". */
static void kind_of(const line *l, char *out)
{
    strcpy(out, "(other)");
    const char *p = l->eof ? NULL : strstr(l->text, "\"event\":\"");
    if (!p) return;
    p += 9;
    size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || n >= KIND_LEN || p[n] != '"') return;
    memcpy(out, p, n);
    out[n] = 0;
}

/* The "t" of a record, as written, or NULL. */
static bool time_of(const line *l, char *out, size_t outlen)
{
    if (l->eof || strncmp(l->text, "{\"t\":", 5) != 0) return false;
    const char *p = l->text + 5;
    size_t n = strspn(p, "0123456789.-+eE");
    if (n == 0 || n >= outlen) return false;
    memcpy(out, p, n);
    out[n] = 0;
    return true;
}

typedef struct tally {
    char kind[SIM_GOLDEN_KINDS + 1][KIND_LEN]; /* the last one: "(other)" */
    uint64_t n[SIM_GOLDEN_KINDS + 1][2];       /* [kind][expected, found] */
    size_t n_kinds;
    uint64_t total[2];
} tally;

static void count(tally *t, const line *l, int side)
{
    if (l->eof) return;
    char k[KIND_LEN];
    kind_of(l, k);
    size_t i = 0;
    while (i < t->n_kinds && strcmp(t->kind[i], k) != 0)
        i++;
    if (i == t->n_kinds) {
        if (t->n_kinds < SIM_GOLDEN_KINDS && strcmp(k, "(other)") != 0) {
            strcpy(t->kind[t->n_kinds++], k);
        } else {
            i = SIM_GOLDEN_KINDS;
            strcpy(t->kind[i], "(other)");
        }
    }
    t->n[i][side]++;
    t->total[side]++;
}

static void summary(FILE *out, const tally *t, uint64_t at)
{
    fprintf(out, "  from line %llu on: %llu events expected, %llu found", (unsigned long long)at,
            (unsigned long long)t->total[0], (unsigned long long)t->total[1]);
    bool any = false;
    for (size_t i = 0; i <= SIM_GOLDEN_KINDS; i++) {
        if (i >= t->n_kinds && i != SIM_GOLDEN_KINDS) continue;
        if (t->n[i][0] == t->n[i][1]) continue;
        fprintf(out, "%s%s %llu -> %llu",
                any ? ", " : "; by kind (expected -> found): ", t->kind[i],
                (unsigned long long)t->n[i][0], (unsigned long long)t->n[i][1]);
        any = true;
    }
    if (!any) fputs("; the same number of each kind, in another order or with other details", out);
    fputc('\n', out);
}

typedef struct golden {
    line ring[SIM_GOLDEN_CONTEXT]; /* the common lines before the difference */
    line after[2][SIM_GOLDEN_CONTEXT + 1];
    line scratch;
} golden;

static int alloc_line(line *l)
{
    return (l->text = malloc(SIM_GOLDEN_LINE_MAX + 1)) ? 0 : RC_ENOMEM;
}

static void swap(line *a, line *b)
{
    line t = *a;
    *a = *b;
    *b = t;
}

/* The difference at line at: before[] holds the n_before common lines. */
static int report(golden *g, source files[2], const char *name, size_t n_before, uint64_t at,
                  FILE *out)
{
    tally *t = calloc(1, sizeof *t);
    if (!t) return RC_ENOMEM;
    int rc = 0;
    size_t shown[2] = {0, 0};
    for (int side = 0; side < 2; side++) {
        count(t, &g->after[side][0], side);
        shown[side] = 1;
        while (!g->after[side][shown[side] - 1].eof) {
            line *l =
                shown[side] <= SIM_GOLDEN_CONTEXT ? &g->after[side][shown[side]] : &g->scratch;
            if ((rc = read_line(&files[side], l))) goto done;
            count(t, l, side);
            if (l->eof) break;
            if (l != &g->scratch) shown[side]++;
        }
    }
    char tbuf[48];
    const line *where = !g->after[1][0].eof ? &g->after[1][0] : &g->after[0][0];
    fprintf(out, "golden: %s: the run differs at line %llu", name, (unsigned long long)at);
    if (time_of(where, tbuf, sizeof tbuf)) fprintf(out, " (t=%s)", tbuf);
    fputs(":\n  expected: ", out);
    show(out, &g->after[0][0]);
    fputs("\n  found:    ", out);
    show(out, &g->after[1][0]);
    fputs("\n  around it (' ' both, '-' expected, '+' found):\n", out);
    for (size_t i = 0; i < n_before; i++) {
        fprintf(out, "    %8llu  ", (unsigned long long)(at - n_before + i));
        show(out, &g->ring[(at - 1 - n_before + i) % SIM_GOLDEN_CONTEXT]);
        fputc('\n', out);
    }
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < shown[side]; i++) {
            fprintf(out, "  %c %8llu  ", side ? '+' : '-', (unsigned long long)(at + i));
            show(out, &g->after[side][i]);
            fputc('\n', out);
        }
    summary(out, t, at);
done:
    free(t);
    return rc;
}

int sim_golden_compare_max(FILE *expected, FILE *got, const char *name, FILE *out,
                           uint64_t max_bytes)
{
    golden *g = calloc(1, sizeof *g);
    if (!g) return RC_ENOMEM;
    int rc = alloc_line(&g->scratch);
    for (int i = 0; !rc && i < SIM_GOLDEN_CONTEXT; i++)
        rc = alloc_line(&g->ring[i]);
    for (int side = 0; !rc && side < 2; side++)
        for (int i = 0; !rc && i <= SIM_GOLDEN_CONTEXT; i++)
            rc = alloc_line(&g->after[side][i]);
    if (!name) name = "golden";
    source files[2] = {{expected, max_bytes, false}, {got, max_bytes, false}};
    uint64_t at = 0;
    while (!rc) {
        at++;
        if ((rc = read_line(&files[0], &g->after[0][0])) ||
            (rc = read_line(&files[1], &g->after[1][0])))
            break;
        if (!same(&g->after[0][0], &g->after[1][0])) {
            size_t n_before = at - 1 < SIM_GOLDEN_CONTEXT ? (size_t)(at - 1) : SIM_GOLDEN_CONTEXT;
            rc = report(g, files, name, n_before, at, out);
            if (!rc) rc = 1;
            break;
        }
        if (g->after[0][0].eof) break; /* both ended together */
        swap(&g->after[0][0], &g->ring[(at - 1) % SIM_GOLDEN_CONTEXT]);
    }
    if (files[0].over || files[1].over)
        fprintf(out, "golden: %s: %s goes on past %llu bytes, the most compared; is it an "
                     "event log?\n",
                name, files[0].over ? "the recording" : "the run's log",
                (unsigned long long)max_bytes);
    free(g->scratch.text);
    for (int i = 0; i < SIM_GOLDEN_CONTEXT; i++)
        free(g->ring[i].text);
    for (int side = 0; side < 2; side++)
        for (int i = 0; i <= SIM_GOLDEN_CONTEXT; i++)
            free(g->after[side][i].text);
    free(g);
    return rc;
}

int sim_golden_compare(FILE *expected, FILE *got, const char *name, FILE *out)
{
    return sim_golden_compare_max(expected, got, name, out, SIM_GOLDEN_BYTES_MAX);
}
