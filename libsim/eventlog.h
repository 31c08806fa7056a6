/* eventlog.h -- write simulator event records to a FILE, as aligned text for
 * people or as JSON Lines for programs.
 *
 * Byte-determinism is the point: the same records written with the same
 * options give the same bytes, whatever the process locale (numbers always
 * use '.'), the platform's hashing or the wall clock.  Nothing is read from
 * the environment; whether to use UTF-8 symbols is the caller's decision
 * (typically: setlocale(LC_CTYPE, "") and nl_langinfo(CODESET) is "UTF-8").
 *
 * Text format, one line per record, columns at fixed character positions:
 *
 *   TIME         EVENT              TASK                WORK_ID           DETAILS
 *   --------------------------------------------------------------------------------
 *       12.500s  + queued           [api_fetch]         17                first try
 *       13.000s  ✓ completed        [api_fetch]         17                250ms
 *       16.000s  ⟳ retry            [a_task_name_tha…]  a-work-id-that-…  attempt 2
 *       18.000s  · stall_warning    -                   -                 3 pending
 *
 *   time        seconds with 3 decimals, right-aligned in 11 characters
 *               ("    12.500s"); a time too large for that is written as
 *               "1.23e+07s", still 11 characters.
 *   event       a symbol and the event name, 17 characters.  Symbols (UTF-8 /
 *               ASCII): queued + / +, started ▶ / >, completed ✓ / v,
 *               failed ✗ / x, invalidated and retry ⟳ / ~, any other · / . .
 *   task        "[task]" in 18 characters; "-" without brackets if NULL or "".
 *   work_id     16 characters; "-" if NULL or "".  (JSON keeps "" and null
 *               apart; the text columns are never blank.)
 *   details     the rest of the line; nothing if NULL or "".
 *   Two spaces separate the columns.  Every field is sanitised so the
 *   columns hold for any record: control characters become '?', a value too
 *   long for its column is cut and ends in "~" (ASCII) or "…" (UTF-8), and in
 *   ASCII mode every non-ASCII character becomes one '?' (so the output is
 *   pure ASCII).  In UTF-8 mode an invalid byte becomes '?' and every code
 *   point counts as one column (wide CJK characters will misalign; the log is
 *   still deterministic).  The service is not shown in text.  A line never
 *   ends in spaces.
 *
 * JSON Lines format, one object per line, keys always in this order:
 *
 *   {"t":12.500000,"event":"queued","task":"api_fetch","service":"api",
 *    "work_id":"17","detail":null}
 *
 *   A record written with sim_eventlog_write_diagnosis has one more key,
 *   "diagnosis", after "detail".
 *
 *   t is fixed-point with 6 decimals (never an exponent).  Absent (NULL)
 *   strings are null.  Strings escape '"' and '\' with a backslash, control
 *   characters (and DEL) as \u00XX, and pass valid UTF-8 through; a byte
 *   that is not part of valid UTF-8 becomes \ufffd, so every line is valid
 *   JSON.  No spaces are written.
 *
 * Ownership: the caller owns the FILE and keeps it open until
 * sim_eventlog_close(), which flushes but never closes it.  Records and their
 * strings are only read during sim_eventlog_write().  One eventlog must not be
 * used from two threads at once.
 */
#ifndef SIM_EVENTLOG_H
#define SIM_EVENTLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runcue.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sim_eventlog_format {
    SIM_EVENTLOG_TEXT = 0,
    SIM_EVENTLOG_JSONL = 1,
} sim_eventlog_format;

typedef struct sim_eventlog_opts {
    sim_eventlog_format format;
    /* Text only: UTF-8 symbols and pass-through of UTF-8 in fields; false:
     * pure ASCII output. */
    bool utf8;
    /* Text only: do not write the header and dashed rule at open. */
    bool no_header;
    const rc_allocator *alloc; /* NULL: the C library */
} sim_eventlog_opts;

/* One event.  Only `event` is required; every other string may be NULL. */
typedef struct sim_event_record {
    double t;            /* virtual seconds; must be finite */
    const char *event;   /* "queued", "started", "completed", "failed", ... */
    const char *task;    /* NULL for cue-wide events (stall_warning) */
    const char *service; /* JSON only */
    const char *work_id; /* a string: the simulator decides how ids look */
    const char *detail;
} sim_event_record;

typedef struct sim_eventlog sim_eventlog;

/*
 * Start a log on `fp` (not NULL).  opts may be NULL: text, ASCII, with header.
 * The text header is written at once.  Errors: RC_EINVAL (NULL fp or out, an
 * unknown format), RC_ENOMEM, RC_ESYS (the header could not be written).
 * On error *out is NULL and nothing is allocated.
 */
int sim_eventlog_open(sim_eventlog **out, FILE *fp, const sim_eventlog_opts *opts);

/*
 * Write one record as one line.  Returns 0, RC_EINVAL (NULL record or event,
 * t not finite; nothing is written) or RC_ESYS (the FILE reported an error;
 * part of the line may have been written).  Does not flush.
 */
int sim_eventlog_write(sim_eventlog *log, const sim_event_record *rec);

/*
 * The same, with a JSON object written as is as a last key "diagnosis" (JSON
 * Lines only; the text format ignores it).  The caller makes diagnosis valid
 * JSON on one line; NULL: as sim_eventlog_write.
 */
int sim_eventlog_write_diagnosis(sim_eventlog *log, const sim_event_record *rec,
                                 const char *diagnosis);

/* How many records sim_eventlog_write() has written successfully. */
uint64_t sim_eventlog_count(const sim_eventlog *log);

/* fflush the FILE.  0 or RC_ESYS. */
int sim_eventlog_flush(sim_eventlog *log);

/* Flush, then free the log (NULL is a no-op).  The FILE stays open and the
 * caller's.  Returns 0 or RC_ESYS if the flush failed. */
int sim_eventlog_close(sim_eventlog *log);

#ifdef __cplusplus
}
#endif
#endif /* SIM_EVENTLOG_H */
