/* json_strict.c -- a strict JSON syntax check (see json_strict.h): a
 * recursive descent over the bytes that stops at the first error. */
#include "json_strict.h"

#include <string.h>

typedef struct jcheck {
    const char *s;
    size_t len, pos;
    const char *why; /* the error, at pos */
} jcheck;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void jskip(jcheck *j)
{
    while (j->pos < j->len && is_space(j->s[j->pos]))
        j->pos++;
}

static bool jfail(jcheck *j, const char *why)
{
    j->why = why;
    return false;
}

static bool jat_end(const jcheck *j)
{
    return j->pos >= j->len;
}

/* An unexpected character: name the usual suspects. */
static bool junexpected(jcheck *j, const char *what)
{
    char c = j->s[j->pos];
    if (c == '/' || c == '#') return jfail(j, "JSON has no comments");
    if (c == '\'') return jfail(j, "JSON strings take double quotes");
    return jfail(j, what);
}

static bool jstring(jcheck *j)
{
    size_t start = j->pos++; /* the opening quote */
    while (j->pos < j->len) {
        unsigned char c = (unsigned char)j->s[j->pos];
        if (c == '"') {
            j->pos++;
            return true;
        }
        if (c == '\n' || c == '\r') break; /* unterminated on this line */
        if (c < 0x20) return jfail(j, "a control character in a string (escape it, e.g. \\t)");
        if (c != '\\') {
            j->pos++;
            continue;
        }
        if (j->pos + 1 >= j->len) break;
        char e = j->s[j->pos + 1];
        if (e == 'u') {
            for (size_t k = 2; k < 6; k++)
                if (j->pos + k >= j->len || !is_hex(j->s[j->pos + k]))
                    return jfail(j, "\\u must be followed by four hex digits");
            if (strncmp(j->s + j->pos + 2, "0000", 4) == 0)
                return jfail(j, "\\u0000 is not allowed in strings");
            j->pos += 6;
        } else if (e && strchr("\"\\/bfnrt", e)) {
            j->pos += 2;
        } else {
            return jfail(j, "an unknown escape in a string");
        }
    }
    j->pos = start;
    return jfail(j, "a string that does not end (no closing quote on its line)");
}

static bool jdigits(jcheck *j)
{
    if (jat_end(j) || !is_digit(j->s[j->pos])) return false;
    while (!jat_end(j) && is_digit(j->s[j->pos]))
        j->pos++;
    return true;
}

static bool jnumber(jcheck *j)
{
    size_t start = j->pos;
    if (j->s[j->pos] == '-') j->pos++;
    if (!jat_end(j) && j->s[j->pos] == '0' && j->pos + 1 < j->len && is_digit(j->s[j->pos + 1])) {
        j->pos = start;
        return jfail(j, "a number with a leading zero");
    }
    bool ok = jdigits(j);
    if (ok && !jat_end(j) && j->s[j->pos] == '.') {
        j->pos++;
        ok = jdigits(j);
    }
    if (ok && !jat_end(j) && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
        j->pos++;
        if (!jat_end(j) && (j->s[j->pos] == '+' || j->s[j->pos] == '-')) j->pos++;
        ok = jdigits(j);
    }
    if (ok) return true;
    j->pos = start;
    return jfail(j, "a malformed number");
}

static bool jvalue(jcheck *j, int depth);

/* After '{' or '[': members until the closing bracket. */
static bool jcontainer(jcheck *j, int depth, bool object)
{
    char close = object ? '}' : ']';
    if (depth >= JSON_STRICT_MAX_DEPTH)
        return jfail(j, "nested too deeply (more than 1000 levels)");
    j->pos++;
    jskip(j);
    if (!jat_end(j) && j->s[j->pos] == close) {
        j->pos++;
        return true;
    }
    for (;;) {
        jskip(j);
        if (object) {
            if (jat_end(j)) return jfail(j, "unexpected end of file");
            if (j->s[j->pos] != '"')
                return j->s[j->pos] == '}' ? jfail(j, "a trailing comma before '}'")
                                           : junexpected(j, "expected a key in double quotes");
            if (!jstring(j)) return false;
            jskip(j);
            if (jat_end(j)) return jfail(j, "unexpected end of file");
            if (j->s[j->pos] != ':') return jfail(j, "expected ':' after the key");
            j->pos++;
        } else {
            jskip(j);
            if (!jat_end(j) && j->s[j->pos] == ']') return jfail(j, "a trailing comma before ']'");
        }
        if (!jvalue(j, depth + 1)) return false;
        jskip(j);
        if (jat_end(j)) return jfail(j, "unexpected end of file");
        if (j->s[j->pos] == close) {
            j->pos++;
            return true;
        }
        if (j->s[j->pos] != ',')
            return junexpected(j, object ? "expected ',' or '}' after a member"
                                         : "expected ',' or ']' after an element");
        j->pos++;
    }
}

static bool jliteral(jcheck *j, const char *word)
{
    size_t n = strlen(word);
    if (j->len - j->pos >= n && memcmp(j->s + j->pos, word, n) == 0) {
        j->pos += n;
        return true;
    }
    return jfail(j, "expected a value");
}

static bool jvalue(jcheck *j, int depth)
{
    jskip(j);
    if (jat_end(j)) return jfail(j, "unexpected end of file");
    char c = j->s[j->pos];
    switch (c) {
    case '{':
        return jcontainer(j, depth, true);
    case '[':
        return jcontainer(j, depth, false);
    case '"':
        return jstring(j);
    case 't':
        return jliteral(j, "true");
    case 'f':
        return jliteral(j, "false");
    case 'n':
        return jliteral(j, "null");
    default:
        if (c == '-' || is_digit(c)) return jnumber(j);
        return junexpected(j, "expected a value");
    }
}

void json_strict_locate(const char *text, size_t len, size_t pos, const char *why,
                        json_strict_error *err)
{
    if (!err) return;
    if (pos > len) pos = len;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            col++; /* count characters, not UTF-8 continuation bytes */
        }
    }
    /* The text there, up to the end of its line. */
    size_t n = 0;
    while (n < 24 && pos + n < len && (unsigned char)text[pos + n] >= 0x20)
        n++;
    while (n > 0 && pos + n < len && ((unsigned char)text[pos + n] & 0xC0) == 0x80)
        n--;
    memcpy(err->near, text + pos, n);
    err->near[n] = 0;
    err->why = why;
    err->line = line;
    err->col = col;
}

bool json_strict_check(const char *text, size_t len, size_t *body, json_strict_error *err)
{
    if (body) *body = 0;
    const char *nul = memchr(text, 0, len);
    if (nul) {
        json_strict_locate(text, len, (size_t)(nul - text), "a NUL byte (is this a text file?)",
                           err);
        return false;
    }
    size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* a byte order mark */
    if (body) *body = skip;
    jcheck j = {text + skip, len - skip, 0, NULL};
    jskip(&j);
    if (jat_end(&j)) {
        json_strict_locate(j.s, j.len, 0, "the file is empty", err);
        return false;
    }
    j.pos = 0;
    bool ok = jvalue(&j, 0);
    if (ok) {
        jskip(&j);
        if (!jat_end(&j)) ok = jfail(&j, "unexpected text after the end of the document");
    }
    if (!ok) json_strict_locate(j.s, j.len, j.pos, j.why, err);
    return ok;
}
