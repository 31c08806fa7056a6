/*
 * linebuf.h -- bytes read from a pipe, taken out one complete line at a time.
 * Private to the workers transport.
 */
#ifndef WK_LINEBUF_H
#define WK_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Zero-initialised is empty.  The buffer owns buf. */
typedef struct wk_linebuf {
    char *buf;
    size_t len, cap;
    size_t start;   /* where the first line not yet taken begins */
    size_t scanned; /* bytes already searched for '\n' */
} wk_linebuf;

/* read(2) from fd into the buffer, after making room for at least `room`
 * bytes and a NUL.  Returns what read returned; -1 with errno ENOMEM if no
 * room could be made. */
ssize_t wk_linebuf_read(wk_linebuf *b, int fd, size_t room);

/* The next complete line: *line points at it inside the buffer, *n is its
 * length without the '\n' (which the caller may overwrite, e.g. with a NUL).
 * False if no complete line is left.  Valid until the next call that
 * changes the buffer other than wk_linebuf_next. */
bool wk_linebuf_next(wk_linebuf *b, char **line, size_t *n);

/* Drop the lines taken; what is left is the unterminated tail, b->len bytes
 * from b->buf. */
void wk_linebuf_compact(wk_linebuf *b);

/* The unterminated tail as a NUL-terminated string (NULL if there is none),
 * emptying the buffer; the string is valid until the next read. */
char *wk_linebuf_take_tail(wk_linebuf *b);

/* Free the buffer's memory; it is empty again. */
void wk_linebuf_free(wk_linebuf *b);

#endif /* WK_LINEBUF_H */
