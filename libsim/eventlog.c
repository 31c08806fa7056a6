/* eventlog.c -- simulator event records as aligned text or JSON Lines.
 *
 * Each record is assembled in a small buffer on the stack and handed to the
 * FILE in as few fwrite calls as possible (one for any ordinary line).  No
 * printf conversion ever reaches the FILE directly: numbers are formatted
 * into a buffer and their decimal point is rewritten to '.', because printf
 * follows LC_NUMERIC and the bytes must not depend on the locale. */
#include "eventlog.h"
#include "utf8.h"


#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sim_eventlog {
    FILE *fp;
    sim_eventlog_format format;
    bool utf8;
    rc_allocator alloc;
    uint64_t count;
};

/* ------------------------------------------------------------------ */
/* Line buffer                                                         */
/* ------------------------------------------------------------------ */

typedef struct line_writer {
    FILE *fp;
    bool failed;
    /* Spaces not yet written: they are emitted only when something other
     * than a space follows, so a line never ends in padding. */
    size_t pending_spaces;
    size_t len;
    char buf[1024];
} line_writer;

static void lw_flush(line_writer *w)
{
    if (w->len > 0 && !w->failed && fwrite(w->buf, 1, w->len, w->fp) != w->len) w->failed = true;
    w->len = 0;
}

static void lw_raw(line_writer *w, const char *s, size_t n)
{
    while (n > 0) {
        if (w->len == sizeof w->buf) lw_flush(w);
        size_t room = sizeof w->buf - w->len;
        size_t k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

static void lw_release_spaces(line_writer *w)
{
    static const char spaces[] = "                                ";
    while (w->pending_spaces > 0) {
        size_t k = w->pending_spaces < sizeof spaces - 1 ? w->pending_spaces : sizeof spaces - 1;
        lw_raw(w, spaces, k);
        w->pending_spaces -= k;
    }
}

static void lw_bytes(line_writer *w, const char *s, size_t n)
{
    lw_release_spaces(w);
    lw_raw(w, s, n);
}

static void lw_str(line_writer *w, const char *s)
{
    lw_bytes(w, s, strlen(s));
}

static void lw_char(line_writer *w, char c)
{
    lw_bytes(w, &c, 1);
}

static void lw_spaces(line_writer *w, size_t n)
{
    w->pending_spaces += n;
}

/* End the line (dropping pending spaces) and hand it to the FILE. */
static int lw_end_line(line_writer *w)
{
    w->pending_spaces = 0;
    lw_raw(w, "\n", 1);
    lw_flush(w);
    return w->failed ? RC_ESYS : 0;
}

/* ------------------------------------------------------------------ */
/* UTF-8 and numbers                                                   */
/* ------------------------------------------------------------------ */

/*
 * printf(fmt, v) for one finite double and a %f or %e format, with the
 * locale's decimal point (any run of bytes that is not a digit, sign or 'e')
 * replaced by
 * '.', and "-0.000" (a negative number that rounds to zero) written as
 * "0.000".  out holds at least 512 bytes, which fits any %.6f of a double.
 */
static void format_number(char *out, size_t cap, const char *fmt, double v)
{
    char raw[512];
    snprintf(raw, sizeof raw, fmt, v);
    size_t n = 0;
    bool in_radix = false, nonzero = false;
    bool in_exponent = false;
    for (const char *p = raw; *p && n + 1 < cap; p++) {
        const char c = *p;
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e') {
            out[n++] = c;
            in_radix = false;
            if (c == 'e') in_exponent = true;
            if (c >= '1' && c <= '9' && !in_exponent) nonzero = true;
        } else if (!in_radix) {
            out[n++] = '.';
            in_radix = true;
        }
    }
    out[n] = '\0';
    if (out[0] == '-' && !nonzero) memmove(out, out + 1, n);
}

/* ------------------------------------------------------------------ */
/* Text format                                                         */
/* ------------------------------------------------------------------ */

enum {
    TIME_W = 11,  /* "    12.500s" */
    EVENT_W = 17, /* symbol, space, 15-character name ("pending_warning") */
    TASK_W = 18,  /* "[" 16 characters "]" */
    WORK_W = 16,
    GAP_W = 2,
    RULE_W = 80,
};

/* The character at `s`, which takes one column: sets *n to its length in
 * bytes and returns how to show it, either `s` itself (show its *n bytes) or
 * a one-byte replacement ("?"). */
static const char *text_char(const unsigned char *s, bool utf8, size_t *n)
{
    const size_t len = sim_utf8_seq_len(s);
    *n = len ? len : 1;
    if (len == 1) return (s[0] < 0x20 || s[0] == 0x7F) ? "?" : (const char *)s;
    if (len == 0 || !utf8) return "?";
    /* C1 controls (U+0080..U+009F) would drive some terminals. */
    if (s[0] == 0xC2 && s[1] < 0xA0) return "?";
    return (const char *)s;
}

static size_t text_width(const char *s, bool utf8)
{
    size_t cols = 0, n;
    for (const unsigned char *p = (const unsigned char *)s; *p; p += n, cols++)
        (void)text_char(p, utf8, &n);
    return cols;
}

/* Write `s` sanitised in at most `width` columns (SIZE_MAX: no limit), cut
 * with a marker if it does not fit.  Returns the columns written. */
static size_t text_put(line_writer *w, const char *s, size_t width, bool utf8)
{
    const bool cut = text_width(s, utf8) > width;
    const size_t keep = cut ? width - 1 : width;
    size_t cols = 0, n;
    for (const unsigned char *p = (const unsigned char *)s; *p && cols < keep; p += n, cols++) {
        const char *show = text_char(p, utf8, &n);
        if (*show == ' ')
            lw_spaces(w, 1); /* held back, so content cannot end a line in spaces */
        else
            lw_bytes(w, show, show == (const char *)p ? n : 1);
    }
    if (cut) {
        lw_str(w, utf8 ? "\xE2\x80\xA6" : "~"); /* … */
        cols++;
    }
    return cols;
}

/* Write `s` in a column of exactly `width` (padded with spaces). */
static void text_column(line_writer *w, const char *s, size_t width, bool utf8)
{
    lw_spaces(w, width - text_put(w, s, width, utf8));
}

static const char *event_symbol(const char *event, bool utf8)
{
    static const struct {
        const char *event, *utf8, *ascii;
    } symbols[] = {
        {"queued", "+", "+"},
        {"started", "\xE2\x96\xB6", ">"},     /* ▶ */
        {"completed", "\xE2\x9C\x93", "v"},   /* ✓ */
        {"failed", "\xE2\x9C\x97", "x"},      /* ✗ */
        {"invalidated", "\xE2\x9F\xB3", "~"}, /* ⟳ */
        {"retry", "\xE2\x9F\xB3", "~"},       /* ⟳ */
        {"progress", "\xE2\x80\xA6", "."},    /* … */
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++)
        if (strcmp(event, symbols[i].event) == 0) return utf8 ? symbols[i].utf8 : symbols[i].ascii;
    return utf8 ? "\xC2\xB7" : "."; /* · */
}

static void text_time(line_writer *w, double t)
{
    char num[512];
    format_number(num, sizeof num, "%.3f", t);
    if (strlen(num) > TIME_W - 1) format_number(num, sizeof num, "%.2e", t);
    lw_spaces(w, TIME_W - 1 - strlen(num));
    lw_str(w, num);
    lw_char(w, 's');
}

static int text_header(FILE *fp)
{
    line_writer w = {.fp = fp};
    text_column(&w, "TIME", TIME_W + GAP_W, false);
    text_column(&w, "EVENT", EVENT_W + GAP_W, false);
    text_column(&w, "TASK", TASK_W + GAP_W, false);
    text_column(&w, "WORK_ID", WORK_W + GAP_W, false);
    lw_str(&w, "DETAILS");
    int rc = lw_end_line(&w);
    for (int i = 0; i < RULE_W; i++)
        lw_char(&w, '-');
    return lw_end_line(&w) ? RC_ESYS : rc;
}

static int text_record(line_writer *w, const sim_event_record *rec, bool utf8)
{
    text_time(w, rec->t);
    lw_spaces(w, GAP_W);

    lw_str(w, event_symbol(rec->event, utf8));
    lw_spaces(w, 1);
    text_column(w, rec->event, EVENT_W - 2, utf8);
    lw_spaces(w, GAP_W);

    if (rec->task && *rec->task) {
        lw_char(w, '[');
        const size_t cols = text_put(w, rec->task, TASK_W - 2, utf8);
        lw_char(w, ']');
        lw_spaces(w, TASK_W - 2 - cols);
    } else {
        text_column(w, "-", TASK_W, utf8);
    }
    lw_spaces(w, GAP_W);

    text_column(w, rec->work_id && *rec->work_id ? rec->work_id : "-", WORK_W, utf8);
    lw_spaces(w, GAP_W);

    if (rec->detail) text_put(w, rec->detail, SIZE_MAX, utf8);
    return lw_end_line(w);
}

/* ------------------------------------------------------------------ */
/* JSON Lines format                                                   */
/* ------------------------------------------------------------------ */

static void json_string(line_writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        lw_str(w, "null");
        return;
    }
    lw_char(w, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        /* Copy the longest run that needs no escaping in one go. */
        const unsigned char *run = p;
        size_t n;
        while (*p && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7F &&
               (n = sim_utf8_seq_len(p)) != 0)
            p += n;
        lw_bytes(w, (const char *)run, (size_t)(p - run));
        if (!*p) break;
        if (*p == '"' || *p == '\\') {
            const char esc[2] = {'\\', (char)*p};
            lw_bytes(w, esc, 2);
        } else if (*p < 0x20 || *p == 0x7F) {
            const char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            lw_bytes(w, esc, 6);
        } else {
            lw_str(w, "\\ufffd"); /* not UTF-8: keep the line valid JSON */
        }
        p++;
    }
    lw_char(w, '"');
}

static int json_record(line_writer *w, const sim_event_record *rec, const char *diagnosis)
{
    char num[512];
    format_number(num, sizeof num, "%.6f", rec->t);
    lw_str(w, "{\"t\":");
    lw_str(w, num);
    lw_str(w, ",\"event\":");
    json_string(w, rec->event);
    lw_str(w, ",\"task\":");
    json_string(w, rec->task);
    lw_str(w, ",\"service\":");
    json_string(w, rec->service);
    lw_str(w, ",\"work_id\":");
    json_string(w, rec->work_id);
    lw_str(w, ",\"detail\":");
    json_string(w, rec->detail);
    if (diagnosis) {
        lw_str(w, ",\"diagnosis\":");
        lw_str(w, diagnosis);
    }
    lw_char(w, '}');
    return lw_end_line(w);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

int sim_eventlog_open(sim_eventlog **out, FILE *fp, const sim_eventlog_opts *opts)
{
    if (!out) return RC_EINVAL;
    *out = NULL;
    const sim_eventlog_opts defaults = {.format = SIM_EVENTLOG_TEXT};
    if (!opts) opts = &defaults;
    if (!fp || (opts->format != SIM_EVENTLOG_TEXT && opts->format != SIM_EVENTLOG_JSONL))
        return RC_EINVAL;

    rc_allocator alloc = rc_allocator_or_default(opts->alloc);
    sim_eventlog *log = alloc.realloc(alloc.ud, NULL, sizeof *log);
    if (!log) return RC_ENOMEM;
    *log = (sim_eventlog){
        .fp = fp, .format = opts->format, .utf8 = opts->utf8, .alloc = alloc, .count = 0};

    if (opts->format == SIM_EVENTLOG_TEXT && !opts->no_header && text_header(fp) != 0) {
        alloc.realloc(alloc.ud, log, 0);
        return RC_ESYS;
    }
    *out = log;
    return 0;
}

int sim_eventlog_write_diagnosis(sim_eventlog *log, const sim_event_record *rec,
                                 const char *diagnosis)
{
    if (!log || !rec || !rec->event || !isfinite(rec->t)) return RC_EINVAL;
    line_writer w = {.fp = log->fp};
    const int rc = log->format == SIM_EVENTLOG_JSONL ? json_record(&w, rec, diagnosis)
                                                     : text_record(&w, rec, log->utf8);
    if (rc == 0) log->count++;
    return rc;
}

int sim_eventlog_write(sim_eventlog *log, const sim_event_record *rec)
{
    return sim_eventlog_write_diagnosis(log, rec, NULL);
}

uint64_t sim_eventlog_count(const sim_eventlog *log)
{
    return log ? log->count : 0;
}

int sim_eventlog_flush(sim_eventlog *log)
{
    if (!log) return RC_EINVAL;
    return fflush(log->fp) == 0 ? 0 : RC_ESYS;
}

int sim_eventlog_close(sim_eventlog *log)
{
    if (!log) return 0;
    const int rc = sim_eventlog_flush(log);
    log->alloc.realloc(log->alloc.ud, log, 0);
    return rc;
}
