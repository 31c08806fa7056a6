/*
 * protocol.h -- the runqy worker protocol, one line at a time.
 *
 * Pure: no processes, no loop, no file descriptors.  A worker prints
 * {"status": "ready"} once loaded (or {"status": "error", "error": ...} if
 * loading failed), then answers each request line
 * {"task_id": "...", "type": "...", "payload": ..., "retry_count": N,
 *  "max_retry": N, "queue": "..."} with one line
 * {"task_id": "...", "result": ..., "error": null | ..., "retry": bool}.
 * Other lines (a banner, print() output, a second ready line) are NOISE: the
 * caller logs and skips them, as runqy's own worker host does.
 *
 * Extension (runcue's; stock runqy hosts do not send or expect it): while a
 * task runs, the worker may print progress lines
 * {"task_id": "...", "progress": 0.5, "message": "..."} -- progress a number
 * from 0 to 1, message optional -- with neither "result" nor "error".  They
 * never finish the task.
 *
 * runqy_parse_line turns one line of a worker's stdout into a typed reply;
 * runqy_format_request makes the request line for one attempt.  Private to
 * the workers transport.
 */
#ifndef RUNQY_PROTOCOL_H
#define RUNQY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runcue.h"

enum {
    RUNQY_LINE_MAX = 10 << 20,      /* the default line limit (runqy's host: 10 MB) */
    RUNQY_LINE_LIMIT_MAX = 1 << 30, /* the most a line limit may be */
    RUNQY_TASK_ID_MAX = 63,         /* bytes of an answer's task_id kept */
    RUNQY_QUOTE_MAX = 60,           /* bytes of a line quoted by runqy_quote */
    RUNQY_MESSAGE_MAX = 127,        /* bytes of a progress message kept */
};

/* What the worker is expected to say next. */
typedef enum runqy_phase {
    RUNQY_LOADING, /* before it is ready: a status line */
    RUNQY_SERVING, /* ready: answers carrying a task_id */
} runqy_phase;

typedef enum runqy_kind {
    RUNQY_BLANK,      /* only spaces, tabs or CRs: ignored */
    RUNQY_GARBAGE,    /* not one JSON object (or a NUL byte in the line) */
    RUNQY_NOISE,      /* a JSON object, but not what the phase expects */
    RUNQY_OVERLONG,   /* longer than the line limit */
    RUNQY_READY,      /* LOADING: {"status": "ready"} */
    RUNQY_LOAD_ERROR, /* LOADING: {"status": "error", "error": ...} */
    RUNQY_ANSWER,     /* SERVING: an object whose task_id is a string */
    RUNQY_PROGRESS,   /* SERVING: an answer with "progress" and neither "result"
                         nor "error" (the extension above) */
} runqy_kind;

/* One parsed line.  The reply owns error and result; runqy_reply_clear frees
 * them.  An ANSWER with a "\u0000" escape in any string (which cJSON would cut
 * there) is failed with RUNQY_NUL_ERROR instead, its result dropped. */
typedef struct runqy_reply {
    runqy_kind kind;
    char task_id[RUNQY_TASK_ID_MAX + 1]; /* ANSWER: its first bytes, NUL-terminated */
    size_t task_id_len;                  /* ANSWER: its whole length */
    bool failed;   /* ANSWER: "error" is present and not null; LOAD_ERROR: true */
    bool retry;    /* ANSWER, failed: "retry" is true */
    char *error;   /* failed: a string as is, anything else as JSON, control
                    * characters as '?' (runqy_defang, newlines kept); NULL if
                    * missing (or out of memory) */
    cJSON *result; /* ANSWER, not failed: "result"; NULL if missing or null */
    double progress; /* PROGRESS: 0..1 */
    char *message;   /* PROGRESS: "message" if a string, at most RUNQY_MESSAGE_MAX
                      * bytes, control characters as '?'; NULL if none (or out
                      * of memory) */
    bool nul;        /* ANSWER: a string held "\u0000"; failed, not retried */
} runqy_reply;

#define RUNQY_NUL_ERROR "its answer holds a NUL character (\\u0000) inside a string"

/* One request: what runqy's host sends for one attempt. */
typedef struct runqy_request {
    const char *task_id;  /* "<work_id>.<attempt>" */
    const char *type;     /* the task's name */
    const cJSON *payload; /* NULL: null */
    unsigned retry_count; /* attempts before this one */
    unsigned max_retry;   /* retries the task allows after the first attempt */
    const char *queue;    /* the service's name; NULL: "" */
} runqy_request;

/* Parse the n bytes at s (one line, without its '\n'; need not be
 * NUL-terminated) as the phase expects.  Leading and trailing spaces, tabs
 * and CRs are ignored.  A line longer than max bytes is OVERLONG; one with a
 * NUL byte is garbage, and so is one that cannot be parsed for want of
 * memory.  Fills *out (which need not be initialised) and returns
 * out->kind. */
runqy_kind runqy_parse_line_max(const char *s, size_t n, size_t max, runqy_phase phase,
                                runqy_reply *out);
/* runqy_parse_line_max with the default limit, RUNQY_LINE_MAX. */
runqy_kind runqy_parse_line(const char *s, size_t n, runqy_phase phase, runqy_reply *out);

/* Whether the n bytes at s hold a "\u0000" escape (an escaped backslash
 * before "u0000" is not one). */
bool runqy_has_nul_escape(const char *s, size_t n);

/* Drop leading and trailing spaces, tabs and CRs from the n bytes at *s. */
void runqy_trim(const char **s, size_t *n);

/* Free what the reply owns and reset it to a blank one. */
void runqy_reply_clear(runqy_reply *r);

/* Whether an ANSWER carries exactly this task_id. */
bool runqy_answers(const runqy_reply *r, const char *task_id);

/* The task_id of an attempt, "<work_id>.<attempt>", into buf. */
void runqy_task_id(char *buf, size_t len, rc_work_id work_id, unsigned attempt);

/* The request line for one attempt, '\n'-terminated, in a malloc'd buffer
 * the caller frees; *len is its length.  NULL if out of memory. */
char *runqy_format_task(const runqy_request *req, size_t *len);
/* {"task_id":"<task_id>","payload":<payload>, ...}\n with the other fields
 * empty; NULL if out of memory or payload is NULL. */
char *runqy_format_request(const char *task_id, const cJSON *payload, size_t *len);

/* Up to RUNQY_QUOTE_MAX bytes of s for a message, into buf: printable ASCII
 * as is, other bytes and backslashes as \xNN, "..." if cut.  buf needs
 * 4 * RUNQY_QUOTE_MAX + 4 bytes to hold the whole quote. */
void runqy_quote(char *buf, size_t len, const char *s, size_t n);

/* Make the n bytes at s safe to print on a terminal, in place: each control
 * character (C0 but tab, and newline when keep_newlines; DEL; the C1 range
 * U+0080..U+009F in UTF-8) and each byte 0x80..0x9f in no well-formed
 * UTF-8 character (a lone 0x9b is CSI on a Latin-1 terminal) becomes '?'.  A worker's stderr and its error
 * messages are its own bytes, and an escape sequence in them would reach
 * the operator's terminal. */
void runqy_defang(char *s, size_t n, bool keep_newlines);

#endif /* RUNQY_PROTOCOL_H */
