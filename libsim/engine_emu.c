/* engine_emu.c -- the keyspace and the commands of the engine emulation
 * (engine_emu.h): strings, hashes, sets, sorted sets, lists and streams,
 * with lazy expiry on the emulated clock. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine_emu_internal.h"

/* ------------------------------------------------------------------ values */

typedef struct estr {
    char *p;
    size_t len;
} estr;

typedef struct zent {
    double score;
    estr m;
} zent;

typedef struct xent {
    uint64_t ms, seq;
    size_t nf; /* fields and values, alternating */
    estr *fv;
    bool deleted;
} xent;

enum { K_STRING, K_HASH, K_SET, K_ZSET, K_LIST, K_STREAM };

typedef struct kobj {
    emu_pool *pool; /* its engine's: the strings' */
    int type;
    int64_t expire_ms; /* 0: none */
    estr str;
    /* hash: fields and values; set: members; list: items, the head last */
    estr *a, *b;
    size_t n, cap;
    /* zset: sorted by (score, member) from z[head]; idx: member -> zent */
    zent **z;
    size_t head;
    emu_dict idx;
    /* stream */
    xent *x;
    uint64_t last_ms, last_seq;
    size_t live;
} kobj;

/* s := a copy of p (a string of o's). */
static bool estr_set(kobj *o, estr *s, const char *p, size_t len)
{
    char *c = emu_pool_alloc(o->pool, len + 1);
    if (!c) return false;
    memcpy(c, p, len);
    c[len] = '\0';
    if (s->p) emu_pool_free(o->pool, s->p, s->len + 1);
    s->p = c;
    s->len = len;
    return true;
}

static void estr_free(kobj *o, estr *s)
{
    if (s->p) emu_pool_free(o->pool, s->p, s->len + 1);
    s->p = NULL;
}

static bool estr_eq(const estr *s, const char *p, size_t len)
{
    return s->len == len && memcmp(s->p, p, len) == 0;
}

static bool grow_arrays(kobj *o, size_t need, bool two)
{
    if (need <= o->cap) return true;
    size_t cap = o->cap ? o->cap * 2 : 8;
    while (cap < need)
        cap *= 2;
    estr *a = realloc(o->a, cap * sizeof *a);
    if (!a) return false;
    o->a = a;
    if (two) {
        estr *b = realloc(o->b, cap * sizeof *b);
        if (!b) return false;
        o->b = b;
    }
    o->cap = cap;
    return true;
}

static void kobj_free(kobj *o)
{
    if (!o) return;
    estr_free(o, &o->str);
    for (size_t i = 0; i < o->n; i++) {
        if (o->a) estr_free(o, &o->a[i]);
        if (o->b) estr_free(o, &o->b[i]);
        if (o->x) {
            for (size_t f = 0; f < o->x[i].nf; f++)
                estr_free(o, &o->x[i].fv[f]);
            free(o->x[i].fv);
        }
    }
    for (size_t i = o->head; o->z && i < o->head + o->n; i++) {
        estr_free(o, &o->z[i]->m);
        free(o->z[i]);
    }
    free(o->a);
    free(o->b);
    free(o->z);
    free(o->x);
    emu_dict_clear(&o->idx);
    free(o);
}

static bool copy_estr(kobj *o, estr *dst, const estr *src)
{
    dst->p = NULL;
    return !src->p || estr_set(o, dst, src->p, src->len);
}

/* A deep copy (a snapshot's). */
static kobj *kobj_copy(const kobj *o)
{
    kobj *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->pool = o->pool;
    c->type = o->type;
    c->expire_ms = o->expire_ms;
    c->last_ms = o->last_ms;
    c->last_seq = o->last_seq;
    c->live = o->live;
    emu_dict_init(&c->idx);
    bool ok = copy_estr(c, &c->str, &o->str);
    if (ok && o->type == K_ZSET) {
        c->z = calloc(o->n ? o->n : 1, sizeof *c->z);
        ok = c->z != NULL;
        for (size_t i = 0; ok && i < o->n; i++) {
            zent *z = calloc(1, sizeof *z);
            if (!z || !copy_estr(c, &z->m, &o->z[o->head + i]->m)) {
                free(z);
                ok = false;
                break;
            }
            z->score = o->z[o->head + i]->score;
            bool created;
            emu_dict_entry *de = emu_dict_upsert(&c->idx, z->m.p, z->m.len, &created);
            c->z[i] = z;
            c->n = c->cap = i + 1;
            if (!de)
                ok = false;
            else
                de->value = z;
        }
        if (!o->n) c->cap = 1;
    } else if (ok && o->type == K_STREAM) {
        c->x = calloc(o->n ? o->n : 1, sizeof *c->x);
        ok = c->x != NULL;
        c->cap = o->n ? o->n : 1;
        for (size_t i = 0; ok && i < o->n; i++) {
            xent *d = &c->x[i];
            *d = o->x[i];
            d->fv = calloc(d->nf ? d->nf : 1, sizeof *d->fv);
            c->n = i + 1;
            if (!d->fv) {
                d->nf = 0;
                ok = false;
                break;
            }
            for (size_t f = 0; f < d->nf; f++)
                if (!copy_estr(c, &d->fv[f], &o->x[i].fv[f])) ok = false;
        }
    } else if (ok && o->n) {
        bool two = o->b != NULL;
        ok = grow_arrays(c, o->n, two);
        for (size_t i = 0; ok && i < o->n; i++) {
            c->a[i].p = NULL;
            if (two) c->b[i].p = NULL;
            c->n = i + 1;
            if (!copy_estr(c, &c->a[i], &o->a[i]) || (two && !copy_estr(c, &c->b[i], &o->b[i])))
                ok = false;
        }
    }
    if (!ok) {
        kobj_free(c);
        return NULL;
    }
    return c;
}

/* ---------------------------------------------------------------- keyspace */

static int64_t now_ms(const engine_emu *e)
{
    return e->now_us / 1000;
}

static void del_key(engine_emu *e, const char *k, size_t len)
{
    kobj_free(emu_dict_remove(&e->keys, k, len));
}

/* The live object at key, or NULL (an expired key is deleted here). */
static kobj *lookup(engine_emu *e, const char *k, size_t len)
{
    emu_dict_entry *de = emu_dict_find(&e->keys, k, len);
    if (!de) return NULL;
    kobj *o = de->value;
    if (o->expire_ms && now_ms(e) > o->expire_ms) {
        del_key(e, k, len);
        return NULL;
    }
    return o;
}

static const char WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
static const char NOMEM[] = "ERR out of memory";
static const char NOT_INT[] = "ERR value is not an integer or out of range";

/* The object of type `type` at key: NULL with *bad set (a wrong type, an
 * error written) or NULL (missing, when !create). */
static kobj *typed(engine_emu *e, emu_sink *s, const char *k, size_t len, int type, bool create,
                   bool *bad)
{
    *bad = false;
    kobj *o = lookup(e, k, len);
    if (o && o->type != type) {
        s->ops->error(s, WRONGTYPE);
        *bad = true;
        return NULL;
    }
    if (o || !create) return o;
    o = calloc(1, sizeof *o);
    bool created;
    emu_dict_entry *de = o ? emu_dict_upsert(&e->keys, k, len, &created) : NULL;
    if (!de) {
        free(o);
        s->ops->error(s, NOMEM);
        *bad = true;
        return NULL;
    }
    o->pool = &e->pool;
    o->type = type;
    emu_dict_init(&o->idx);
    de->value = o;
    return o;
}

/* Containers that become empty disappear, as in Redis. */
static void drop_if_empty(engine_emu *e, const char *k, size_t len, kobj *o)
{
    size_t n = o->type == K_STREAM ? 1 : o->n; /* an empty stream stays */
    if (o->type != K_STRING && n == 0) del_key(e, k, len);
}

/* ----------------------------------------------------------------- parsing */

static bool parse_ll(const char *p, long long *out)
{
    if (!*p || *p == ' ' || *p == '+') return false;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (*end || errno) return false;
    *out = v;
    return true;
}

static bool parse_score(const char *p, double *out, bool *excl)
{
    if (excl) {
        *excl = *p == '(';
        if (*excl) p++;
    }
    if (!*p || *p == ' ') return false;
    /* Whole numbers of up to 15 digits (the common case: times in
     * microseconds) are exact doubles; strtod gives the same. */
    const char *q = p + (*p == '-');
    size_t nd = 0;
    long long whole = 0;
    while (nd < 16 && q[nd] >= '0' && q[nd] <= '9')
        whole = whole * 10 + (q[nd++] - '0');
    if (nd && nd <= 15 && !q[nd] && !(*p == '-' && whole == 0)) {
        *out = *p == '-' ? -(double)whole : (double)whole;
        return true;
    }
    if (strcasecmp(p, "-inf") == 0) return *out = -INFINITY, true;
    if (strcasecmp(p, "+inf") == 0 || strcasecmp(p, "inf") == 0) return *out = INFINITY, true;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (*end || errno == ERANGE || isnan(v)) return false;
    *out = v;
    return true;
}

size_t emu_fmt_ll(char *buf, long long v)
{
    char tmp[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

size_t emu_fmt_double(char *buf, size_t len, double d)
{
    if (d == (double)(long long)d && d > -1e17 && d < 1e17 && !(d == 0 && signbit(d)))
        return emu_fmt_ll(buf, (long long)d); /* what %.17g writes for these */
    if (isinf(d)) return (size_t)snprintf(buf, len, "%s", d > 0 ? "inf" : "-inf");
    return (size_t)snprintf(buf, len, "%.17g", d);
}

static void bulk_double(emu_sink *s, double d)
{
    char buf[64];
    s->ops->bulk(s, buf, emu_fmt_double(buf, sizeof buf, d));
}

static void bulk_ll(emu_sink *s, long long v)
{
    char buf[32];
    s->ops->bulk(s, buf, emu_fmt_ll(buf, v));
}

#define ARGS(lo, hi)                                                                               \
    do {                                                                                           \
        if (argc < (lo) || ((hi) > 0 && argc > (hi))) {                                            \
            arity(s, argv[0]);                                                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void arity(emu_sink *s, const char *name)
{
    char msg[160];
    snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%.60s' command", name);
    s->ops->error(s, msg);
}

typedef void cmd_fn(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                    emu_sink *s);

/* ------------------------------------------------------- strings and keys */

static void c_time(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    s->ops->array(s, 2);
    bulk_ll(s, e->now_us / 1000000);
    bulk_ll(s, e->now_us % 1000000);
}

static void c_del(engine_emu *e, int argc, const char *const *argv, const size_t *lens, emu_sink *s)
{
    ARGS(2, 0);
    long long n = 0;
    for (int i = 1; i < argc; i++)
        if (lookup(e, argv[i], lens[i])) {
            del_key(e, argv[i], lens[i]);
            n++;
        }
    s->ops->integer(s, n);
}

static void c_get(engine_emu *e, int argc, const char *const *argv, const size_t *lens, emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_STRING, false, &bad);
    if (bad) return;
    if (!o)
        s->ops->nil(s);
    else
        s->ops->bulk(s, o->str.p, o->str.len);
}

static void c_set(engine_emu *e, int argc, const char *const *argv, const size_t *lens, emu_sink *s)
{
    ARGS(3, 3);
    if (lookup(e, argv[1], lens[1])) del_key(e, argv[1], lens[1]);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_STRING, true, &bad);
    if (bad) return;
    if (!estr_set(o, &o->str, argv[2], lens[2])) {
        del_key(e, argv[1], lens[1]);
        s->ops->error(s, NOMEM);
        return;
    }
    s->ops->status(s, "OK");
}

static void c_pexpire(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                      emu_sink *s)
{
    ARGS(3, 3);
    long long ms;
    if (!parse_ll(argv[2], &ms)) {
        s->ops->error(s, NOT_INT);
        return;
    }
    kobj *o = lookup(e, argv[1], lens[1]);
    if (!o) {
        s->ops->integer(s, 0);
        return;
    }
    if (ms <= 0)
        del_key(e, argv[1], lens[1]);
    else
        o->expire_ms = now_ms(e) + ms;
    s->ops->integer(s, 1);
}

static void c_incr(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_STRING, false, &bad);
    if (bad) return;
    long long v = 0;
    if (o && (!parse_ll(o->str.p, &v) || v == INT64_MAX)) {
        s->ops->error(s, NOT_INT);
        return;
    }
    if (!o) o = typed(e, s, argv[1], lens[1], K_STRING, true, &bad);
    if (bad) return;
    char buf[32];
    if (!estr_set(o, &o->str, buf, emu_fmt_ll(buf, v + 1))) {
        s->ops->error(s, NOMEM);
        return;
    }
    s->ops->integer(s, v + 1);
}

/* ------------------------------------------------------------------ hashes */

static long hash_find(const kobj *o, const char *f, size_t len)
{
    for (size_t i = 0; i < o->n; i++)
        if (estr_eq(&o->a[i], f, len)) return (long)i;
    return -1;
}

static void c_hget(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(3, 3);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_HASH, false, &bad);
    if (bad) return;
    long i = o ? hash_find(o, argv[2], lens[2]) : -1;
    if (i < 0)
        s->ops->nil(s);
    else
        s->ops->bulk(s, o->b[i].p, o->b[i].len);
}

static void c_hmget(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                    emu_sink *s)
{
    ARGS(3, 0);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_HASH, false, &bad);
    if (bad) return;
    s->ops->array(s, (size_t)argc - 2);
    for (int a = 2; a < argc; a++) {
        long i = o ? hash_find(o, argv[a], lens[a]) : -1;
        if (i < 0)
            s->ops->nil(s);
        else
            s->ops->bulk(s, o->b[i].p, o->b[i].len);
    }
}

/* Set field f of o; 1 if it is new, 0 if replaced, -1 out of memory. */
static int hash_put(kobj *o, const char *f, size_t flen, const char *v, size_t vlen)
{
    long i = hash_find(o, f, flen);
    if (i >= 0) return estr_set(o, &o->b[i], v, vlen) ? 0 : -1;
    if (!grow_arrays(o, o->n + 1, true)) return -1;
    o->a[o->n].p = o->b[o->n].p = NULL;
    if (!estr_set(o, &o->a[o->n], f, flen) || !estr_set(o, &o->b[o->n], v, vlen)) {
        estr_free(o, &o->a[o->n]);
        estr_free(o, &o->b[o->n]);
        return -1;
    }
    o->n++;
    return 1;
}

static void c_hset(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    if (argc < 4 || argc % 2) {
        arity(s, argv[0]);
        return;
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_HASH, true, &bad);
    if (bad) return;
    long long added = 0;
    for (int a = 2; a < argc; a += 2) {
        int r = hash_put(o, argv[a], lens[a], argv[a + 1], lens[a + 1]);
        if (r < 0) {
            drop_if_empty(e, argv[1], lens[1], o);
            s->ops->error(s, NOMEM);
            return;
        }
        added += r;
    }
    s->ops->integer(s, added);
}

static void c_hincrby(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                      emu_sink *s)
{
    ARGS(4, 4);
    long long by, v = 0;
    if (!parse_ll(argv[3], &by)) {
        s->ops->error(s, NOT_INT);
        return;
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_HASH, true, &bad);
    if (bad) return;
    long i = hash_find(o, argv[2], lens[2]);
    if (i >= 0 && !parse_ll(o->b[i].p, &v)) {
        s->ops->error(s, "ERR hash value is not an integer");
        return;
    }
    if ((by > 0 && v > INT64_MAX - by) || (by < 0 && v < INT64_MIN - by)) {
        drop_if_empty(e, argv[1], lens[1], o);
        s->ops->error(s, "ERR increment or decrement would overflow");
        return;
    }
    char buf[32];
    if (hash_put(o, argv[2], lens[2], buf, emu_fmt_ll(buf, v + by)) < 0) {
        drop_if_empty(e, argv[1], lens[1], o);
        s->ops->error(s, NOMEM);
        return;
    }
    s->ops->integer(s, v + by);
}

static void c_hgetall(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                      emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_HASH, false, &bad);
    if (bad) return;
    size_t n = o ? o->n : 0;
    s->ops->array(s, n * 2);
    for (size_t i = 0; i < n; i++) {
        s->ops->bulk(s, o->a[i].p, o->a[i].len);
        s->ops->bulk(s, o->b[i].p, o->b[i].len);
    }
}

/* -------------------------------------------------------------------- sets */

static void c_sadd(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(3, 0);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_SET, true, &bad);
    if (bad) return;
    long long added = 0;
    for (int a = 2; a < argc; a++) {
        bool have = false;
        for (size_t i = 0; i < o->n && !have; i++)
            have = estr_eq(&o->a[i], argv[a], lens[a]);
        if (have) continue;
        if (!grow_arrays(o, o->n + 1, false)) {
            drop_if_empty(e, argv[1], lens[1], o);
            s->ops->error(s, NOMEM);
            return;
        }
        o->a[o->n].p = NULL;
        if (!estr_set(o, &o->a[o->n], argv[a], lens[a])) {
            drop_if_empty(e, argv[1], lens[1], o);
            s->ops->error(s, NOMEM);
            return;
        }
        o->n++;
        added++;
    }
    s->ops->integer(s, added);
}

static void c_smembers(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                       emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_SET, false, &bad);
    if (bad) return;
    size_t n = o ? o->n : 0;
    s->ops->array(s, n);
    for (size_t i = 0; i < n; i++)
        s->ops->bulk(s, o->a[i].p, o->a[i].len);
}

/* ------------------------------------------------------------- sorted sets */

static int zcmp(double score, const char *m, size_t len, const zent *z)
{
    if (score < z->score) return -1;
    if (score > z->score) return 1;
    size_t n = len < z->m.len ? len : z->m.len;
    int c = memcmp(m, z->m.p, n);
    if (c) return c;
    return len < z->m.len ? -1 : len > z->m.len;
}

/* The first position (relative to head) whose entry is >= (score, m). */
static size_t zlower(const kobj *o, double score, const char *m, size_t len)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (zcmp(score, m, len, o->z[o->head + mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first position whose score is > score (or >= with !excl_gt). */
static size_t zscore_pos(const kobj *o, double score, bool after_equal)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        double sc = o->z[o->head + mid]->score;
        if (sc < score || (after_equal && sc == score))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void zunlink(kobj *o, size_t pos)
{
    size_t at = o->head + pos;
    if (pos < o->n / 2) {
        memmove(o->z + o->head + 1, o->z + o->head, pos * sizeof *o->z);
        o->head++;
    } else {
        memmove(o->z + at, o->z + at + 1, (o->n - pos - 1) * sizeof *o->z);
    }
    o->n--;
    if (!o->n) o->head = 0;
}

static bool zinsert(kobj *o, zent *z)
{
    if (o->head + o->n + 1 > o->cap) {
        if (o->head > o->n) { /* room at the front: slide down */
            memmove(o->z, o->z + o->head, o->n * sizeof *o->z);
            o->head = 0;
        } else {
            size_t cap = o->cap ? o->cap * 2 : 8;
            zent **nz = realloc(o->z, cap * sizeof *nz);
            if (!nz) return false;
            o->z = nz;
            o->cap = cap;
        }
    }
    size_t pos = zlower(o, z->score, z->m.p, z->m.len);
    memmove(o->z + o->head + pos + 1, o->z + o->head + pos, (o->n - pos) * sizeof *o->z);
    o->z[o->head + pos] = z;
    o->n++;
    return true;
}

static size_t zpos_of(const kobj *o, const zent *z)
{
    return zlower(o, z->score, z->m.p, z->m.len);
}

static void zremove(kobj *o, zent *z)
{
    zunlink(o, zpos_of(o, z));
    emu_dict_remove(&o->idx, z->m.p, z->m.len);
    estr_free(o, &z->m);
    free(z);
}

static void c_zadd(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    if (argc < 4 || argc % 2) {
        arity(s, argv[0]);
        return;
    }
    for (int a = 2; a < argc; a += 2) {
        double sc;
        if (!parse_score(argv[a], &sc, NULL)) {
            s->ops->error(s, "ERR value is not a valid float");
            return;
        }
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_ZSET, true, &bad);
    if (bad) return;
    long long added = 0;
    for (int a = 2; a < argc; a += 2) {
        double sc;
        parse_score(argv[a], &sc, NULL);
        const char *m = argv[a + 1];
        size_t ml = lens[a + 1];
        emu_dict_entry *de = emu_dict_find(&o->idx, m, ml);
        if (de) {
            zent *z = de->value;
            if (z->score == sc) continue;
            zunlink(o, zpos_of(o, z));
            z->score = sc;
            if (!zinsert(o, z)) goto oom;
            continue;
        }
        zent *z = calloc(1, sizeof *z);
        bool created;
        if (!z || !estr_set(o, &z->m, m, ml)) {
            free(z);
            goto oom;
        }
        z->score = sc;
        de = emu_dict_upsert(&o->idx, m, ml, &created);
        if (!de || !zinsert(o, z)) {
            if (de) emu_dict_remove(&o->idx, m, ml);
            estr_free(o, &z->m);
            free(z);
            goto oom;
        }
        de->value = z;
        added++;
    }
    s->ops->integer(s, added);
    return;
oom:
    drop_if_empty(e, argv[1], lens[1], o);
    s->ops->error(s, NOMEM);
}

static void c_zrem(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(3, 0);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_ZSET, false, &bad);
    if (bad) return;
    long long n = 0;
    for (int a = 2; o && a < argc; a++) {
        emu_dict_entry *de = emu_dict_find(&o->idx, argv[a], lens[a]);
        if (!de) continue;
        zremove(o, de->value);
        n++;
    }
    if (o) drop_if_empty(e, argv[1], lens[1], o);
    s->ops->integer(s, n);
}

static void c_zcard(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                    emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_ZSET, false, &bad);
    if (bad) return;
    s->ops->integer(s, o ? (long long)o->n : 0);
}

static void zreply(emu_sink *s, const kobj *o, size_t from, size_t count, bool scores)
{
    s->ops->array(s, count * (scores ? 2 : 1));
    for (size_t i = from; i < from + count; i++) {
        const zent *z = o->z[o->head + i];
        s->ops->bulk(s, z->m.p, z->m.len);
        if (scores) bulk_double(s, z->score);
    }
}

/* Normalise a Redis index range over n items; false: empty. */
static bool index_range(long long start, long long stop, size_t n, size_t *from, size_t *count)
{
    long long len = (long long)n;
    if (start < 0) start += len;
    if (stop < 0) stop += len;
    if (start < 0) start = 0;
    if (start > stop || start >= len) return false;
    if (stop >= len) stop = len - 1;
    *from = (size_t)start;
    *count = (size_t)(stop - start + 1);
    return true;
}

/* KEY START STOP over an object of `type`: false when the reply is written
 * already (an error, or an empty array). */
static bool range_of(engine_emu *e, emu_sink *s, const char *const *argv, const size_t *lens,
                     int type, kobj **o, size_t *from, size_t *count)
{
    long long start, stop;
    if (!parse_ll(argv[2], &start) || !parse_ll(argv[3], &stop)) {
        s->ops->error(s, NOT_INT);
        return false;
    }
    bool bad;
    *o = typed(e, s, argv[1], lens[1], type, false, &bad);
    if (bad) return false;
    if (!*o || !index_range(start, stop, (*o)->n, from, count)) {
        s->ops->array(s, 0);
        return false;
    }
    return true;
}

static void c_zrange(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                     emu_sink *s)
{
    ARGS(4, 5);
    bool scores = argc == 5 && strcasecmp(argv[4], "WITHSCORES") == 0;
    if (argc == 5 && !scores) {
        snprintf(e->unimplemented, sizeof e->unimplemented, "ZRANGE %s", argv[4]);
        s->ops->error(s, "ERR ZRANGE option not implemented by the engine emulation");
        return;
    }
    kobj *o;
    size_t from, count;
    if (!range_of(e, s, argv, lens, K_ZSET, &o, &from, &count)) return;
    zreply(s, o, from, count, scores);
}

static void c_zrangebyscore(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                            emu_sink *s)
{
    ARGS(4, 0);
    double lo, hi;
    bool lo_x, hi_x, scores = false;
    long long off = 0, lim = -1;
    if (!parse_score(argv[2], &lo, &lo_x) || !parse_score(argv[3], &hi, &hi_x)) {
        s->ops->error(s, "ERR min or max is not a float");
        return;
    }
    for (int a = 4; a < argc; a++) {
        if (strcasecmp(argv[a], "WITHSCORES") == 0) {
            scores = true;
        } else if (strcasecmp(argv[a], "LIMIT") == 0 && a + 2 < argc) {
            if (!parse_ll(argv[a + 1], &off) || !parse_ll(argv[a + 2], &lim)) {
                s->ops->error(s, NOT_INT);
                return;
            }
            a += 2;
        } else {
            s->ops->error(s, "ERR syntax error");
            return;
        }
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_ZSET, false, &bad);
    if (bad) return;
    if (!o || off < 0) {
        s->ops->array(s, 0);
        return;
    }
    size_t from = zscore_pos(o, lo, lo_x), to = zscore_pos(o, hi, !hi_x);
    size_t count = to > from ? to - from : 0;
    if ((size_t)off >= count)
        count = 0;
    else {
        from += (size_t)off;
        count -= (size_t)off;
    }
    if (lim >= 0 && (size_t)lim < count) count = (size_t)lim;
    zreply(s, o, from, count, scores);
}

static void c_zpopmin(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                      emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_ZSET, false, &bad);
    if (bad) return;
    if (!o) {
        s->ops->array(s, 0);
        return;
    }
    zent *z = o->z[o->head];
    s->ops->array(s, 2);
    s->ops->bulk(s, z->m.p, z->m.len);
    bulk_double(s, z->score);
    zremove(o, z);
    drop_if_empty(e, argv[1], lens[1], o);
}

/* ------------------------------------------------------------------- lists */

/* Lists keep their items reversed: a[n-1] is index 0 (LPUSH appends). */
static estr *litem(const kobj *o, size_t i)
{
    return &o->a[o->n - 1 - i];
}

static void c_lpush(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                    emu_sink *s)
{
    ARGS(3, 0);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_LIST, true, &bad);
    if (bad) return;
    for (int a = 2; a < argc; a++) {
        if (!grow_arrays(o, o->n + 1, false)) goto oom;
        o->a[o->n].p = NULL;
        if (!estr_set(o, &o->a[o->n], argv[a], lens[a])) goto oom;
        o->n++;
    }
    s->ops->integer(s, (long long)o->n);
    return;
oom:
    drop_if_empty(e, argv[1], lens[1], o);
    s->ops->error(s, NOMEM);
}

static void c_ltrim(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                    emu_sink *s)
{
    ARGS(4, 4);
    long long start, stop;
    if (!parse_ll(argv[2], &start) || !parse_ll(argv[3], &stop)) {
        s->ops->error(s, NOT_INT);
        return;
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_LIST, false, &bad);
    if (bad) return;
    if (o) {
        size_t from = 0, count = 0;
        if (!index_range(start, stop, o->n, &from, &count)) count = 0;
        /* keep list indexes [from, from+count): array [n-from-count, n-from) */
        size_t lo = o->n - from - count, hi = o->n - from;
        for (size_t i = 0; i < lo; i++)
            estr_free(o, &o->a[i]);
        for (size_t i = hi; i < o->n; i++)
            estr_free(o, &o->a[i]);
        memmove(o->a, o->a + lo, count * sizeof *o->a);
        o->n = count;
        drop_if_empty(e, argv[1], lens[1], o);
    }
    s->ops->status(s, "OK");
}

static void c_llen(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_LIST, false, &bad);
    if (bad) return;
    s->ops->integer(s, o ? (long long)o->n : 0);
}

static void c_lindex(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                     emu_sink *s)
{
    ARGS(3, 3);
    long long i;
    if (!parse_ll(argv[2], &i)) {
        s->ops->error(s, NOT_INT);
        return;
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_LIST, false, &bad);
    if (bad) return;
    if (o && i < 0) i += (long long)o->n;
    if (!o || i < 0 || i >= (long long)o->n) {
        s->ops->nil(s);
        return;
    }
    const estr *it = litem(o, (size_t)i);
    s->ops->bulk(s, it->p, it->len);
}

static void c_lrange(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                     emu_sink *s)
{
    ARGS(4, 4);
    kobj *o;
    size_t from, count;
    if (!range_of(e, s, argv, lens, K_LIST, &o, &from, &count)) return;
    s->ops->array(s, count);
    for (size_t i = from; i < from + count; i++) {
        const estr *it = litem(o, i);
        s->ops->bulk(s, it->p, it->len);
    }
}

/* ----------------------------------------------------------------- streams */

static bool parse_id(const char *p, uint64_t *ms, uint64_t *seq, uint64_t seq_default)
{
    char *end;
    if (*p < '0' || *p > '9') return false;
    errno = 0;
    unsigned long long a = strtoull(p, &end, 10), b = seq_default;
    if (errno) return false;
    if (*end == '-') {
        const char *q = end + 1;
        if (*q < '0' || *q > '9') return false;
        b = strtoull(q, &end, 10);
        if (errno) return false;
    }
    if (*end) return false;
    *ms = a;
    *seq = b;
    return true;
}

static int idcmp(uint64_t am, uint64_t as, uint64_t bm, uint64_t bs)
{
    if (am != bm) return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs;
}

/* Drop deleted entries from the front, and compact when half are gone. */
static void stream_compact(kobj *o)
{
    size_t dead = 0;
    while (dead < o->n && o->x[dead].deleted)
        dead++;
    if (dead * 2 < o->n && dead < 1024) return;
    size_t w = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (o->x[i].deleted) {
            for (size_t f = 0; f < o->x[i].nf; f++)
                estr_free(o, &o->x[i].fv[f]);
            free(o->x[i].fv);
            continue;
        }
        o->x[w++] = o->x[i];
    }
    o->n = w;
}

static void c_xadd(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(5, 0);
    int a = 2;
    long long maxlen = -1;
    bool approx = false;
    if (strcasecmp(argv[a], "MAXLEN") == 0) {
        a++;
        approx = a < argc && strcmp(argv[a], "~") == 0;
        if (a < argc && (approx || strcmp(argv[a], "=") == 0)) a++;
        if (a >= argc || !parse_ll(argv[a], &maxlen) || maxlen < 0) {
            s->ops->error(s, NOT_INT);
            return;
        }
        a++;
    }
    if (a >= argc || strcmp(argv[a], "*") != 0) {
        snprintf(e->unimplemented, sizeof e->unimplemented, "XADD without '*'");
        s->ops->error(s, "ERR XADD with an explicit ID is not implemented by the engine emulation");
        return;
    }
    a++;
    if (a >= argc || (argc - a) % 2) {
        arity(s, argv[0]);
        return;
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_STREAM, true, &bad);
    if (bad) return;
    if (o->n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        xent *nx = realloc(o->x, cap * sizeof *nx);
        if (!nx) goto oom;
        o->x = nx;
        o->cap = cap;
    }
    xent *x = &o->x[o->n];
    memset(x, 0, sizeof *x);
    uint64_t ms = (uint64_t)now_ms(e);
    if (ms > o->last_ms) {
        x->ms = ms;
        x->seq = 0;
    } else {
        x->ms = o->last_ms;
        x->seq = o->last_seq + 1;
    }
    x->nf = (size_t)(argc - a);
    x->fv = calloc(x->nf, sizeof *x->fv);
    if (!x->fv) goto oom;
    for (size_t f = 0; f < x->nf; f++)
        if (!estr_set(o, &x->fv[f], argv[a + (int)f], lens[a + (int)f])) {
            for (size_t g = 0; g < f; g++)
                estr_free(o, &x->fv[g]);
            free(x->fv);
            goto oom;
        }
    o->last_ms = x->ms;
    o->last_seq = x->seq;
    o->n++;
    o->live++;
    /* MAXLEN ~ trims whole nodes of the stream only, as Redis does (100
     * entries a node by default); MAXLEN = trims exactly. */
    size_t keep = maxlen < 0 ? SIZE_MAX : (size_t)maxlen, node = approx ? 100 : 1;
    while (o->live > keep && o->live - keep >= node) {
        for (size_t i = 0, cut = 0; cut < node && i < o->n; i++)
            if (!o->x[i].deleted) {
                o->x[i].deleted = true;
                o->live--;
                cut++;
            }
    }
    stream_compact(o);
    char buf[48];
    int n = snprintf(buf, sizeof buf, "%" PRIu64 "-%" PRIu64, o->last_ms, o->last_seq);
    s->ops->bulk(s, buf, (size_t)n);
    return;
oom:
    s->ops->error(s, NOMEM);
}

static void c_xrange(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                     emu_sink *s)
{
    ARGS(4, 6);
    uint64_t sm = 0, ss = 0, em = UINT64_MAX, es = UINT64_MAX;
    const char *lo = argv[2];
    bool lo_excl = *lo == '(';
    if (lo_excl) lo++;
    if (!(strcmp(lo, "-") == 0 && !lo_excl) && !parse_id(lo, &sm, &ss, 0)) {
        s->ops->error(s, "ERR Invalid stream ID specified as stream command argument");
        return;
    }
    if (strcmp(argv[3], "+") != 0 && !parse_id(argv[3], &em, &es, UINT64_MAX)) {
        s->ops->error(s, "ERR Invalid stream ID specified as stream command argument");
        return;
    }
    long long count = -1;
    if (argc == 6 && (strcasecmp(argv[4], "COUNT") != 0 || !parse_ll(argv[5], &count))) {
        s->ops->error(s, "ERR syntax error");
        return;
    }
    if (argc == 5) {
        s->ops->error(s, "ERR syntax error");
        return;
    }
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_STREAM, false, &bad);
    if (bad) return;
    size_t n = 0, first = 0;
    bool found = false;
    for (size_t i = 0; o && i < o->n && (count < 0 || (long long)n < count); i++) {
        const xent *x = &o->x[i];
        if (x->deleted) continue;
        int c = idcmp(x->ms, x->seq, sm, ss);
        if (c < 0 || (c == 0 && lo_excl)) continue;
        if (idcmp(x->ms, x->seq, em, es) > 0) break;
        if (!found) first = i;
        found = true;
        n++;
    }
    s->ops->array(s, n);
    for (size_t i = first, done = 0; done < n; i++) {
        const xent *x = &o->x[i];
        if (x->deleted) continue;
        char buf[48];
        int len = snprintf(buf, sizeof buf, "%" PRIu64 "-%" PRIu64, x->ms, x->seq);
        s->ops->array(s, 2);
        s->ops->bulk(s, buf, (size_t)len);
        s->ops->array(s, x->nf);
        for (size_t f = 0; f < x->nf; f++)
            s->ops->bulk(s, x->fv[f].p, x->fv[f].len);
        done++;
    }
}

static void c_xlen(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(2, 2);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_STREAM, false, &bad);
    if (bad) return;
    s->ops->integer(s, o ? (long long)o->live : 0);
}

static void c_xdel(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                   emu_sink *s)
{
    ARGS(3, 0);
    bool bad;
    kobj *o = typed(e, s, argv[1], lens[1], K_STREAM, false, &bad);
    if (bad) return;
    long long n = 0;
    for (int a = 2; a < argc; a++) {
        uint64_t ms, seq;
        if (!parse_id(argv[a], &ms, &seq, 0)) {
            s->ops->error(s, "ERR Invalid stream ID specified as stream command argument");
            return;
        }
    }
    for (int a = 2; o && a < argc; a++) {
        uint64_t ms, seq;
        parse_id(argv[a], &ms, &seq, 0);
        size_t lo = 0, hi = o->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (idcmp(o->x[mid].ms, o->x[mid].seq, ms, seq) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < o->n && !o->x[lo].deleted && idcmp(o->x[lo].ms, o->x[lo].seq, ms, seq) == 0) {
            o->x[lo].deleted = true;
            o->live--;
            n++;
        }
    }
    if (o) stream_compact(o);
    s->ops->integer(s, n);
}

static void c_publish(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                      emu_sink *s)
{
    ARGS(3, 3);
    if (e->publish) e->publish(argv[1], argv[2], e->publish_ud);
    s->ops->integer(s, 0); /* a recorded run has no subscribers on the real server */
}

/* ----------------------------------------------------------------- dispatch */

static const struct command {
    const char *name;
    cmd_fn *fn;
} COMMANDS[] = {
    {"DEL", c_del},         {"GET", c_get},
    {"HGET", c_hget},       {"HGETALL", c_hgetall},
    {"HINCRBY", c_hincrby}, {"HMGET", c_hmget},
    {"HSET", c_hset},       {"INCR", c_incr},
    {"LINDEX", c_lindex},   {"LLEN", c_llen},
    {"LPUSH", c_lpush},     {"LRANGE", c_lrange},
    {"LTRIM", c_ltrim},     {"PEXPIRE", c_pexpire},
    {"PUBLISH", c_publish}, {"SADD", c_sadd},
    {"SET", c_set},         {"SMEMBERS", c_smembers},
    {"TIME", c_time},       {"XADD", c_xadd},
    {"XDEL", c_xdel},       {"XLEN", c_xlen},
    {"XRANGE", c_xrange},   {"ZADD", c_zadd},
    {"ZCARD", c_zcard},     {"ZPOPMIN", c_zpopmin},
    {"ZRANGE", c_zrange},   {"ZRANGEBYSCORE", c_zrangebyscore},
    {"ZREM", c_zrem},
};

void emu_exec(engine_emu *e, int argc, const char *const *argv, const size_t *lens, emu_sink *s)
{
    e->commands++;
    size_t lo = 0, hi = sizeof COMMANDS / sizeof COMMANDS[0];
    while (argc > 0 && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcasecmp(argv[0], COMMANDS[mid].name);
        if (c == 0) {
            COMMANDS[mid].fn(e, argc, argv, lens, s);
            return;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    const char *name = argc > 0 ? argv[0] : "";
    if (!e->unimplemented[0]) snprintf(e->unimplemented, sizeof e->unimplemented, "%.60s", name);
    char msg[200];
    snprintf(msg, sizeof msg,
             "ERR unknown command '%.60s': the engine emulation does not implement it", name);
    s->ops->error(s, msg);
}

/* --------------------------------------------------------------- tree sink */

static ereply *node(emu_tree_sink *t, int type)
{
    ereply *r = calloc(1, sizeof *r);
    if (!r)
        t->oom = true;
    else
        r->type = type;
    return r;
}

/* Hang r into the open array (or make it the root); an array with elements
 * becomes the open one. */
static void attach(emu_tree_sink *t, ereply *r)
{
    if (!r) return;
    if (!t->depth) {
        ereply_free(t->root);
        t->root = r;
    } else {
        size_t d = t->depth - 1;
        t->stack[d]->element[t->filled[d]++] = r;
    }
    while (t->depth && t->filled[t->depth - 1] == t->stack[t->depth - 1]->elements)
        t->depth--;
    if (r->type == EREPLY_ARRAY && r->elements) {
        if (t->depth == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 8;
            ereply **st = realloc(t->stack, cap * sizeof *st);
            size_t *fi = st ? realloc(t->filled, cap * sizeof *fi) : NULL;
            if (st) t->stack = st;
            if (!fi) {
                t->oom = true;
                return;
            }
            t->filled = fi;
            t->cap = cap;
        }
        t->stack[t->depth] = r;
        t->filled[t->depth++] = 0;
    }
}

static ereply *str_node(emu_tree_sink *t, int type, const char *p, size_t len)
{
    ereply *r = node(t, type);
    if (!r) return NULL;
    r->str = malloc(len + 1);
    if (!r->str) {
        free(r);
        t->oom = true;
        return NULL;
    }
    memcpy(r->str, p, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static void ts_nil(emu_sink *s)
{
    attach((emu_tree_sink *)s, node((emu_tree_sink *)s, EREPLY_NIL));
}
static void ts_integer(emu_sink *s, long long v)
{
    ereply *r = node((emu_tree_sink *)s, EREPLY_INTEGER);
    if (r) r->integer = v;
    attach((emu_tree_sink *)s, r);
}
static void ts_bulk(emu_sink *s, const char *p, size_t len)
{
    attach((emu_tree_sink *)s, str_node((emu_tree_sink *)s, EREPLY_STRING, p, len));
}
static void ts_status(emu_sink *s, const char *msg)
{
    attach((emu_tree_sink *)s, str_node((emu_tree_sink *)s, EREPLY_STATUS, msg, strlen(msg)));
}
static void ts_error(emu_sink *s, const char *msg)
{
    s->failed = true;
    attach((emu_tree_sink *)s, str_node((emu_tree_sink *)s, EREPLY_ERROR, msg, strlen(msg)));
}
static void ts_array(emu_sink *s, size_t n)
{
    emu_tree_sink *t = (emu_tree_sink *)s;
    ereply *r = node(t, EREPLY_ARRAY);
    if (r && n) {
        r->element = calloc(n, sizeof *r->element);
        if (!r->element) {
            free(r);
            t->oom = true;
            return;
        }
    }
    if (r) r->elements = n;
    attach(t, r);
}

static const emu_sink_ops TREE_OPS = {ts_nil, ts_integer, ts_bulk, ts_status, ts_error, ts_array};

void emu_tree_sink_init(emu_tree_sink *t)
{
    memset(t, 0, sizeof *t);
    t->base.ops = &TREE_OPS;
}

ereply *emu_tree_sink_take(emu_tree_sink *t)
{
    ereply *r = t->root;
    bool bad = t->oom || t->depth;
    free(t->stack);
    free(t->filled);
    emu_tree_sink_init(t);
    if (bad) {
        ereply_free(r);
        return NULL;
    }
    return r;
}

void ereply_free(ereply *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->elements && r->element; i++)
        ereply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* ------------------------------------------------------------------ engine */

int engine_emu_new(engine_emu **out, const char *lua, size_t len, char *err, size_t errlen)
{
    *out = NULL;
    engine_emu *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    emu_pool_init(&e->pool);
    emu_dict_init(&e->keys);
    if (emu_lua_open(e, lua, len, err, errlen)) {
        engine_emu_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

static void free_value(emu_dict_entry *de, void *ud)
{
    (void)ud;
    kobj_free(de->value);
}

static void free_keyspace(emu_dict *d)
{
    if (!d) return;
    emu_dict_each(d, free_value, NULL);
    emu_dict_clear(d);
}

void engine_emu_free(engine_emu *e)
{
    if (!e) return;
    emu_lua_close(e);
    emu_pool_begin_destroy(&e->pool); /* the strings go with their slabs */
    free_keyspace(&e->keys);
    free_keyspace(e->snap);
    emu_pool_destroy(&e->pool);
    free(e->snap);
    free(e);
}

void engine_emu_set_time(engine_emu *e, int64_t unix_us)
{
    e->now_us = unix_us;
}

const char *engine_emu_unimplemented(const engine_emu *e)
{
    return e->unimplemented[0] ? e->unimplemented : NULL;
}

void engine_emu_on_publish(engine_emu *e, engine_emu_publish_fn fn, void *ud)
{
    e->publish = fn;
    e->publish_ud = ud;
}

ereply *engine_emu_call(engine_emu *e, int argc, const char *const *argv, const size_t *lens)
{
    e->calls++;
    ereply *r;
    if (argc > 0 && strcasecmp(argv[0], "FCALL") == 0) {
        r = emu_lua_fcall(e, argc, argv, lens);
    } else {
        emu_tree_sink t;
        emu_tree_sink_init(&t);
        emu_exec(e, argc, argv, lens, &t.base);
        r = emu_tree_sink_take(&t);
    }
    if (r && e->record) emu_record_call(e, argc, argv, lens, r);
    return r;
}

typedef struct copy_ctx {
    emu_dict *dst;
    bool ok;
} copy_ctx;

static void copy_one(emu_dict_entry *de, void *ud)
{
    copy_ctx *c = ud;
    if (!c->ok) return;
    kobj *o = kobj_copy(de->value);
    bool created;
    emu_dict_entry *ne = o ? emu_dict_upsert(c->dst, de->key, de->len, &created) : NULL;
    if (!ne) {
        kobj_free(o);
        c->ok = false;
        return;
    }
    ne->value = o;
}

int engine_emu_snapshot(engine_emu *e)
{
    emu_dict *d = calloc(1, sizeof *d);
    if (!d) return -1;
    emu_dict_init(d);
    copy_ctx c = {d, true};
    emu_dict_each(&e->keys, copy_one, &c);
    if (!c.ok) {
        free_keyspace(d);
        free(d);
        return -1;
    }
    free_keyspace(e->snap);
    free(e->snap);
    e->snap = d;
    if (e->record) emu_record_mark(e, "snapshot");
    return 0;
}

void engine_emu_restore(engine_emu *e)
{
    free_keyspace(&e->keys);
    if (e->snap) {
        e->keys = *e->snap;
        free(e->snap);
        e->snap = NULL;
    } else {
        emu_dict_init(&e->keys);
    }
    if (e->record) emu_record_mark(e, "restore");
}

void engine_emu_record(engine_emu *e, FILE *fp)
{
    e->record = fp;
}

void engine_emu_get_stats(const engine_emu *e, engine_emu_stats *st)
{
    st->calls = e->calls;
    st->commands = e->commands;
    st->keys = e->keys.count;
}
