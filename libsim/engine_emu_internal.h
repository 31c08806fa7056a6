/* engine_emu_internal.h -- the engine emulation's state, shared by the
 * keyspace and commands (engine_emu.c), the Lua host (engine_lua.c) and the
 * recorder (engine_record.c).  Private to libsim. */
#ifndef ENGINE_EMU_INTERNAL_H
#define ENGINE_EMU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "emu_dict.h"
#include "emu_pool.h"
#include "engine_emu.h"

/* Where a command writes its reply: a tree (host calls) or the Lua stack
 * (redis.call).  An array announces its element count first. */
typedef struct emu_sink emu_sink;
typedef struct emu_sink_ops {
    void (*nil)(emu_sink *s);
    void (*integer)(emu_sink *s, long long v);
    void (*bulk)(emu_sink *s, const char *p, size_t len);
    void (*status)(emu_sink *s, const char *msg);
    void (*error)(emu_sink *s, const char *msg);
    void (*array)(emu_sink *s, size_t n);
} emu_sink_ops;
struct emu_sink {
    const emu_sink_ops *ops;
    bool failed; /* an error reply was written (or memory ran out) */
};

/* The tree sink (engine_emu.c). */
typedef struct emu_tree_sink {
    emu_sink base;
    ereply *root;
    ereply **stack; /* open arrays */
    size_t *filled;
    size_t depth, cap;
    bool oom;
} emu_tree_sink;
void emu_tree_sink_init(emu_tree_sink *t);
/* The finished tree (NULL when out of memory); the sink is reset. */
ereply *emu_tree_sink_take(emu_tree_sink *t);

struct lua_State;

struct engine_emu {
    emu_pool pool;  /* the keyspace's strings (the snapshot's too) */
    emu_dict keys;  /* name -> kobj */
    emu_dict *snap; /* the kept snapshot, or NULL */
    int64_t now_us;
    struct lua_State *L;
    int functions_ref; /* registry table: function name -> callback */
    char unimplemented[64];
    engine_emu_publish_fn publish;
    void *publish_ud;
    FILE *record;
    uint64_t calls, commands;
    bool in_fcall;
};

/* engine_emu.c: v in decimal into buf (at least 24 bytes); its length. */
size_t emu_fmt_ll(char *buf, long long v);
/* d as Redis writes a score or a Lua number ("%.17g"; integers fast). */
size_t emu_fmt_double(char *buf, size_t len, double d);

/* engine_emu.c: run a command other than FCALL into a sink. */
void emu_exec(engine_emu *e, int argc, const char *const *argv, const size_t *lens, emu_sink *s);

/* engine_lua.c */
int emu_lua_open(engine_emu *e, const char *lua, size_t len, char *err, size_t errlen);
void emu_lua_close(engine_emu *e);
/* FCALL name numkeys key... arg...: the reply as a tree. */
ereply *emu_lua_fcall(engine_emu *e, int argc, const char *const *argv, const size_t *lens);

/* engine_record.c */
void emu_record_call(engine_emu *e, int argc, const char *const *argv, const size_t *lens,
                     const ereply *r);
void emu_record_mark(engine_emu *e, const char *what);

#endif
