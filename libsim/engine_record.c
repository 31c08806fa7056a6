/* engine_record.c -- the engine emulation's call record (JSON Lines), the
 * input of the differential test against a real redis-server. */
#include <inttypes.h>
#include <stdio.h>

#include "engine_emu_internal.h"

static void put_string(FILE *f, const char *p, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c); /* bytes, not UTF-8 */
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void put_reply(FILE *f, const ereply *r)
{
    switch (r->type) {
    case EREPLY_INTEGER:
        fprintf(f, "%lld", r->integer);
        break;
    case EREPLY_STRING:
        fputs("{\"s\":", f);
        put_string(f, r->str, r->len);
        fputc('}', f);
        break;
    case EREPLY_STATUS:
    case EREPLY_ERROR:
        fputs(r->type == EREPLY_STATUS ? "{\"ok\":" : "{\"err\":", f);
        put_string(f, r->str, r->len);
        fputc('}', f);
        break;
    case EREPLY_ARRAY:
        fputc('[', f);
        for (size_t i = 0; i < r->elements; i++) {
            if (i) fputc(',', f);
            put_reply(f, r->element[i]);
        }
        fputc(']', f);
        break;
    default:
        fputs("null", f);
        break;
    }
}

void emu_record_call(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                     const ereply *r)
{
    FILE *f = e->record;
    fprintf(f, "{\"t\":%" PRId64 ",\"cmd\":[", e->now_us);
    for (int i = 0; i < argc; i++) {
        if (i) fputc(',', f);
        put_string(f, argv[i], lens[i]);
    }
    fputs("],\"reply\":", f);
    put_reply(f, r);
    fputs("}\n", f);
}

void emu_record_mark(engine_emu *e, const char *what)
{
    fprintf(e->record, "{\"t\":%" PRId64 ",\"%s\":true}\n", e->now_us, what);
}
