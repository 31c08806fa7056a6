/* engine_emu.h -- an in-memory emulation of the Redis commands the runcue
 * Functions library (transports/redis/runcue.lua) uses, with a Lua 5.1 host
 * that loads that same file and runs its functions through FCALL.
 *
 * The cluster simulation talks to this instead of a redis-server: the same
 * Lua code admits, leases, fences and reclaims, on the virtual clock (TIME
 * answers the time set with engine_emu_set_time).  The commands, and the
 * shape of their replies, follow Redis 7.0 for what the library relies on:
 *
 *   TIME DEL GET SET PEXPIRE INCR HGET HMGET HSET HINCRBY HGETALL SADD
 *   SMEMBERS ZADD ZREM ZCARD ZRANGE [WITHSCORES] ZRANGEBYSCORE [WITHSCORES]
 *   [LIMIT] ZPOPMIN LPUSH LTRIM LLEN LINDEX LRANGE XADD [MAXLEN [~] n] *
 *   PUBLISH, and for the hosts (schedulers reading their results): XRANGE
 *   [COUNT] and XDEL; FCALL runs a function.
 *
 * A command it does not implement answers an error naming it, and
 * engine_emu_unimplemented() remembers the first such name, so a caller can
 * fail loudly rather than carry on with a wrong answer.
 *
 * Single-threaded; every call runs to completion on the caller's thread.
 */
#ifndef ENGINE_EMU_H
#define ENGINE_EMU_H

#include <stdint.h>
#include <stdio.h>

/* Reply types: the same numbers hiredis uses. */
enum {
    EREPLY_STRING = 1,
    EREPLY_ARRAY = 2,
    EREPLY_INTEGER = 3,
    EREPLY_NIL = 4,
    EREPLY_STATUS = 5,
    EREPLY_ERROR = 6,
};

/* A reply tree, shaped like hiredis's redisReply.  str is NUL-terminated
 * (for STRING, STATUS and ERROR). */
typedef struct ereply {
    int type;
    long long integer;
    char *str;
    size_t len;
    size_t elements;
    struct ereply **element;
} ereply;

/* Free a reply and its elements (NULL is a no-op). */
void ereply_free(ereply *r);

typedef struct engine_emu engine_emu;

/*
 * A new, empty engine with the functions library `lua` (the text of
 * runcue.lua, `#!lua name=` line included) loaded.  0, or -1 with a
 * message in err (a load error of the library, out of memory).
 */
int engine_emu_new(engine_emu **out, const char *lua, size_t len, char *err, size_t errlen);
void engine_emu_free(engine_emu *e);

/* The clock TIME reads and expiry uses: microseconds since the Unix epoch.
 * The caller keeps it from going backwards. */
void engine_emu_set_time(engine_emu *e, int64_t unix_us);

/*
 * Run one command (argv[0] names it; lens[i] are the lengths, argv[i] must
 * also be NUL-terminated).  Returns the reply (the caller frees it), or NULL
 * when out of memory.  An error is a reply of type EREPLY_ERROR.
 */
ereply *engine_emu_call(engine_emu *e, int argc, const char *const *argv, const size_t *lens);

/* The first command asked for that the emulation does not implement, or
 * NULL. */
const char *engine_emu_unimplemented(const engine_emu *e);

/* Called for every PUBLISH (from inside a function too), synchronously. */
typedef void (*engine_emu_publish_fn)(const char *channel, const char *message, void *ud);
void engine_emu_on_publish(engine_emu *e, engine_emu_publish_fn fn, void *ud);

/*
 * Keep a copy of the keyspace as it is now (an AOF fsync point); a later
 * engine_emu_restore() goes back to it, losing every write since (an engine
 * restart).  One snapshot is kept; a new one replaces it.  0 or -1 (out of
 * memory).  Restoring without a snapshot empties the keyspace.
 */
int engine_emu_snapshot(engine_emu *e);
void engine_emu_restore(engine_emu *e);

/*
 * Record every engine_emu_call, and every snapshot and restore, as JSON
 * Lines on fp (the caller's; NULL stops): the input of the differential
 * test, which replays them against a real redis-server.
 *   {"t":<unix_us>,"cmd":["FCALL",...],"reply":<reply>}
 *   {"t":<unix_us>,"snapshot":true}   {"t":<unix_us>,"restore":true}
 * A reply is null (nil), an integer, {"s":"..."} (string), {"ok":"..."}
 * (status), {"err":"..."} or an array of replies.
 */
void engine_emu_record(engine_emu *e, FILE *fp);

/* Counters: calls made through engine_emu_call, and commands run in all
 * (those inside functions included). */
typedef struct engine_emu_stats {
    uint64_t calls, commands, keys;
} engine_emu_stats;
void engine_emu_get_stats(const engine_emu *e, engine_emu_stats *st);

#endif
