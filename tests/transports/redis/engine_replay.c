/*
 * engine_replay.c -- the differential test's replayer: every engine call a
 * simulated cluster run recorded (runcue-sim --record-engine FILE, JSON
 * Lines written by the engine emulation), replayed against a real
 * redis-server that this program starts, with every reply compared.
 *
 *   engine_replay LIBRARY.lua RECORD.jsonl...
 *
 * Before each call the namespace's clock key is set to the recorded time, so
 * the functions read the simulated clock (the simulation's epoch lies after
 * the real one, and the library never lets its clock run backwards).
 * Stream ids are the server's: an id the emulation gave is mapped to the one
 * the server gave for the same entry, and one kept as a value (a job's rs,
 * its result's id) to the one the server kept.  A recorded snapshot is a SAVE, a
 * restore a kill -9 and restart (the server reloads the saved data).
 *
 * Exit 0: every reply agreed; 1: a difference (the first is printed with its
 * line); 77: no redis-server on PATH (skipped); 2: bad input.
 */
#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_server.h"

enum { MAX_ARGS = 4096, MAX_LINE = 64 << 20 };

typedef struct idmap {
    char **from, **to;
    size_t n, cap;
} idmap;

static const char *map_id(const idmap *m, const char *id)
{
    for (size_t i = m->n; i-- > 0;)
        if (strcmp(m->from[i], id) == 0) return m->to[i];
    return id;
}

static void map_add(idmap *m, const char *from, const char *to)
{
    if (strcmp(map_id(m, from), to) == 0) return;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->from = realloc(m->from, m->cap * sizeof *m->from);
        m->to = realloc(m->to, m->cap * sizeof *m->to);
        if (!m->from || !m->to) exit(2);
    }
    m->from[m->n] = strdup(from);
    m->to[m->n++] = strdup(to);
}

static void describe(const redisReply *r, char *buf, size_t len)
{
    if (!r) {
        snprintf(buf, len, "(no reply)");
        return;
    }
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        snprintf(buf, len, "%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        snprintf(buf, len, "nil");
        break;
    case REDIS_REPLY_ARRAY:
        snprintf(buf, len, "array of %zu", r->elements);
        break;
    default:
        snprintf(buf, len, "%s '%.200s'",
                 r->type == REDIS_REPLY_ERROR    ? "error"
                 : r->type == REDIS_REPLY_STATUS ? "status"
                                                 : "string",
                 r->str);
    }
}

/* Set while a job hash's rs value is compared (see same). */
static bool rs_value;

/* Whether s is a stream id: digits, '-', digits. */
static bool stream_id_shaped(const char *s)
{
    size_t a = strspn(s, "0123456789");
    if (a == 0 || s[a] != '-') return false;
    size_t b = strspn(s + a + 1, "0123456789");
    return b > 0 && s[a + 1 + b] == '\0';
}

/* Whether the server's reply r equals the recorded one; the entries of a
 * stream (XRANGE of the key `stream`) compare their fields and teach the
 * id map ("key id" -> the server's id). */
static bool same(const redisReply *r, const cJSON *want, const char *stream, idmap *m, char *why,
                 size_t len)
{
    char got[300];
    describe(r, got, sizeof got);
    if (cJSON_IsNull(want)) {
        if (r->type == REDIS_REPLY_NIL) return true;
    } else if (cJSON_IsNumber(want)) {
        if (r->type == REDIS_REPLY_INTEGER && (double)r->integer == want->valuedouble) return true;
    } else if (cJSON_IsArray(want)) {
        int n = cJSON_GetArraySize(want);
        if (r->type == REDIS_REPLY_ARRAY && (int)r->elements == n) {
            for (int i = 0; i < n; i++) {
                const cJSON *w = cJSON_GetArrayItem(want, i);
                if (stream && r->element[i]->type == REDIS_REPLY_ARRAY &&
                    r->element[i]->elements == 2 && cJSON_GetArraySize(w) == 2) {
                    const cJSON *wid = cJSON_GetObjectItem(cJSON_GetArrayItem(w, 0), "s");
                    if (cJSON_IsString(wid) && r->element[i]->element[0]->str) {
                        char from[512];
                        snprintf(from, sizeof from, "%s %s", stream, wid->valuestring);
                        map_add(m, from, r->element[i]->element[0]->str);
                    }
                    if (!same(r->element[i]->element[1], cJSON_GetArrayItem(w, 1), NULL, m, why,
                              len))
                        return false;
                    continue;
                }
                /* the value after a field "rs" (a job's hash) is a stream id */
                const cJSON *prev =
                    i ? cJSON_GetObjectItem(cJSON_GetArrayItem(want, i - 1), "s") : NULL;
                rs_value = cJSON_IsString(prev) && strcmp(prev->valuestring, "rs") == 0;
                const bool ok = same(r->element[i], w, stream, m, why, len);
                rs_value = false;
                if (!ok) return false;
            }
            return true;
        }
    } else {
        const cJSON *s = cJSON_GetObjectItem(want, "s"), *ok = cJSON_GetObjectItem(want, "ok"),
                    *err = cJSON_GetObjectItem(want, "err");
        const cJSON *v = s ? s : ok ? ok : err;
        int type = s ? REDIS_REPLY_STRING : ok ? REDIS_REPLY_STATUS : REDIS_REPLY_ERROR;
        if (cJSON_IsString(v) && r->type == type && strcmp(r->str, v->valuestring) == 0)
            return true;
        /* The stream id a job's hash keeps (rs): the emulation's clock
         * made one, the server's another.  The first sight of it teaches
         * the map; every later one must agree with it. */
        if (rs_value && type == REDIS_REPLY_STRING && r->type == type && cJSON_IsString(v) &&
            stream_id_shaped(v->valuestring) && stream_id_shaped(r->str)) {
            char from[512];
            snprintf(from, sizeof from, "value %s", v->valuestring);
            const char *to = map_id(m, from);
            if (to == from) map_add(m, from, r->str);
            if (to == from || strcmp(to, r->str) == 0) return true;
        }
    }
    char *w = cJSON_PrintUnformatted(want);
    snprintf(why, len, "the emulation said %.300s, redis-server said %s", w ? w : "?", got);
    free(w);
    return false;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 && n < MAX_LINE ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static redisContext *connect_to(const redis_server *srv, const char *lib, size_t lib_len)
{
    redisContext *rc = redisConnectUnix(srv->sock);
    if (!rc || rc->err) {
        fprintf(stderr, "engine_replay: cannot connect to the server\n");
        exit(1);
    }
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", lib};
    size_t lens[] = {8, 4, 7, lib_len};
    redisReply *r = redisCommandArgv(rc, 4, argv, lens);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "engine_replay: FUNCTION LOAD: %s\n", r ? r->str : "no reply");
        exit(1);
    }
    freeReplyObject(r);
    return rc;
}

static void simple(redisContext *rc, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(rc, fmt, arg);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "engine_replay: %s: %s\n", fmt, r ? r->str : "no reply");
        exit(1);
    }
    freeReplyObject(r);
}

/* Replay one record file; returns the number of calls compared, or -1. */
static long replay(redis_server *srv, redisContext **rcp, const char *lib, size_t lib_len,
                   const char *path)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "engine_replay: cannot read %s\n", path);
        exit(2);
    }
    simple(*rcp, "FLUSHALL", NULL);
    idmap m = {0};
    long calls = 0, line = 0;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        line++;
        cJSON *rec = cJSON_Parse(ln);
        if (!rec) {
            fprintf(stderr, "%s:%ld: not JSON\n", path, line);
            exit(2);
        }
        const cJSON *t = cJSON_GetObjectItem(rec, "t"), *cmd = cJSON_GetObjectItem(rec, "cmd");
        if (cJSON_IsTrue(cJSON_GetObjectItem(rec, "snapshot"))) {
            simple(*rcp, "SAVE", NULL);
        } else if (cJSON_IsTrue(cJSON_GetObjectItem(rec, "restore"))) {
            redisFree(*rcp);
            redis_server_kill(srv, true);
            if (!redis_server_restart(srv)) exit(1);
            *rcp = connect_to(srv, lib, lib_len);
        } else if (cJSON_IsNumber(t) && cJSON_IsArray(cmd)) {
            char clock[64];
            snprintf(clock, sizeof clock, "%.0f", t->valuedouble);
            redisReply *r = redisCommand(*rcp, "SET rc:{sim}:clock %s", clock);
            if (r) freeReplyObject(r);
            int argc = cJSON_GetArraySize(cmd);
            if (argc < 1 || argc > MAX_ARGS) exit(2);
            const char **argv = calloc((size_t)argc, sizeof *argv);
            size_t *lens = calloc((size_t)argc, sizeof *lens);
            if (!argv || !lens) exit(2);
            bool xdel = false, xrange = false;
            for (int i = 0; i < argc; i++) {
                const cJSON *a = cJSON_GetArrayItem(cmd, i);
                if (!cJSON_IsString(a)) exit(2);
                argv[i] = a->valuestring;
                if (i == 0) {
                    xdel = strcmp(argv[0], "XDEL") == 0;
                    xrange = strcmp(argv[0], "XRANGE") == 0;
                }
                char from[512];
                snprintf(from, sizeof from, "%s %s", i >= 2 ? argv[1] : "", argv[i]);
                if (xdel && i >= 2) argv[i] = map_id(&m, from) == from ? argv[i] : map_id(&m, from);
                lens[i] = strlen(argv[i]);
            }
            r = redisCommandArgv(*rcp, argc, argv, lens);
            char why[800];
            if (!r || !same(r, cJSON_GetObjectItem(rec, "reply"), xrange ? argv[1] : NULL, &m, why,
                            sizeof why)) {
                fprintf(stderr, "%s:%ld: %s %s: %s\n", path, line, argv[0], argc > 1 ? argv[1] : "",
                        r ? why : "no reply from redis-server");
                return -1;
            }
            freeReplyObject(r);
            free(argv);
            free(lens);
            calls++;
        }
        cJSON_Delete(rec);
    }
    for (size_t i = 0; i < m.n; i++) {
        free(m.from[i]);
        free(m.to[i]);
    }
    free(m.from);
    free(m.to);
    free(text);
    return calls;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: engine_replay LIBRARY.lua RECORD.jsonl...\n");
        return 2;
    }
    if (!redis_server_available()) {
        printf("engine_replay: no redis-server on PATH: skipped\n");
        return 77;
    }
    size_t lib_len;
    char *lib = read_all(argv[1], &lib_len);
    if (!lib) {
        fprintf(stderr, "engine_replay: cannot read %s\n", argv[1]);
        return 2;
    }
    redis_server srv;
    if (!redis_server_start(&srv, false, NULL)) return 1;
    redisContext *rc = connect_to(&srv, lib, lib_len);
    int status = 0;
    for (int i = 2; i < argc; i++) {
        long n = replay(&srv, &rc, lib, lib_len, argv[i]);
        if (n < 0) {
            status = 1;
            break;
        }
        printf("%s: %ld calls, every reply the same\n", argv[i], n);
    }
    redisFree(rc);
    redis_server_stop(&srv);
    free(lib);
    return status;
}
