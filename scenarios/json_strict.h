/* json_strict.h -- a strict JSON syntax check over a byte buffer.
 *
 * Run before a JSON parser (cJSON) sees the text: the parser says only where
 * it gave up; this says where the first error is and what it is, as a line,
 * a column and the text there.  It also refuses what cJSON would take
 * wrongly: NUL bytes, nesting deeper than cJSON's limit, "\u0000" (cJSON
 * would cut the string there) and raw control characters in strings.
 *
 * Pure functions: no allocation, no global state; the messages are static
 * strings.
 */
#ifndef JSON_STRICT_H
#define JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>

/* Containers nest at most this deep (cJSON's CJSON_NESTING_LIMIT). */
#define JSON_STRICT_MAX_DEPTH 1000

/* Where an error is and what it is. */
typedef struct json_strict_error {
    const char *why; /* a static string, e.g. "expected ':' after the key" */
    size_t line;     /* 1-based */
    size_t col;      /* 1-based, in characters (UTF-8 continuation bytes do not count) */
    char near[40];   /* up to 24 bytes of the text there, to the end of its line; may be "" */
} json_strict_error;

/*
 * Check that text[0, len) holds one JSON document and nothing else but
 * white space.  A UTF-8 byte order mark at the start is allowed and skipped:
 * *body (if not NULL) receives the offset of the document, 0 or 3.  Returns
 * true when the text is JSON; else false with err (if not NULL) filled in,
 * its line and column counted from *body (from 0 for a NUL byte).  text need
 * not be NUL-terminated.  The caller owns both buffers.
 */
bool json_strict_check(const char *text, size_t len, size_t *body, json_strict_error *err);

/*
 * Fill err with why and the line, column and text at byte pos of
 * text[0, len) (pos past the end stands for the end).  For errors found
 * after the check, e.g. by the parser itself.
 */
void json_strict_locate(const char *text, size_t len, size_t pos, const char *why,
                        json_strict_error *err);

#endif
