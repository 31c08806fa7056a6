/* engine_lua.c -- the Lua 5.1 host of the engine emulation: loads a Redis
 * Functions library and runs its functions for FCALL, with the redis.*
 * API the library sees on a Redis 7 server (call, pcall, error_reply,
 * status_reply, register_function, log) and Redis's conversions between Lua
 * values and replies. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_emu_internal.h"

enum { MAX_CALL_ARGS = 1024 };

/* ---------------------------------------------- replies onto the Lua stack */

/* Redis's conversion: integer -> number, bulk -> string, nil -> false,
 * status -> {ok=...}, error -> {err=...}, array -> table. */
typedef struct lua_sink {
    emu_sink base;
    lua_State *L;
    int filled[64], n[64];
    int depth;
    bool too_deep;
} lua_sink;

static void ls_attach(lua_sink *ls)
{
    lua_State *L = ls->L;
    while (ls->depth) {
        int d = ls->depth - 1;
        lua_rawseti(L, -2, ++ls->filled[d]);
        if (ls->filled[d] < ls->n[d]) return;
        ls->depth--; /* the finished table is now an element of its parent */
    }
}

static void ls_nil(emu_sink *s)
{
    lua_pushboolean(((lua_sink *)s)->L, 0);
    ls_attach((lua_sink *)s);
}
static void ls_integer(emu_sink *s, long long v)
{
    lua_pushnumber(((lua_sink *)s)->L, (lua_Number)v);
    ls_attach((lua_sink *)s);
}
static void ls_bulk(emu_sink *s, const char *p, size_t len)
{
    lua_pushlstring(((lua_sink *)s)->L, p, len);
    ls_attach((lua_sink *)s);
}
static void ls_table1(lua_sink *ls, const char *field, const char *msg)
{
    lua_newtable(ls->L);
    lua_pushstring(ls->L, field);
    lua_pushstring(ls->L, msg);
    lua_rawset(ls->L, -3);
    ls_attach(ls);
}
static void ls_status(emu_sink *s, const char *msg)
{
    ls_table1((lua_sink *)s, "ok", msg);
}
static void ls_error(emu_sink *s, const char *msg)
{
    s->failed = true;
    ls_table1((lua_sink *)s, "err", msg);
}
static void ls_array(emu_sink *s, size_t n)
{
    lua_sink *ls = (lua_sink *)s;
    lua_checkstack(ls->L, 4);
    lua_createtable(ls->L, (int)n, 0);
    if (n == 0) {
        ls_attach(ls);
        return;
    }
    if (ls->depth == 64) { /* never: the commands nest two deep */
        ls->too_deep = true;
        ls_attach(ls);
        return;
    }
    ls->filled[ls->depth] = 0;
    ls->n[ls->depth++] = (int)n;
}

static const emu_sink_ops LUA_OPS = {ls_nil, ls_integer, ls_bulk, ls_status, ls_error, ls_array};

static engine_emu *engine_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* redis.call / redis.pcall: the arguments must be strings or numbers
 * (numbers are written as Redis 7 does for integers). */
static int call_common(lua_State *L, bool raise)
{
    engine_emu *e = engine_of(L);
    int argc = lua_gettop(L);
    if (argc == 0 || argc > MAX_CALL_ARGS) {
        lua_newtable(L);
        lua_pushstring(L, "err");
        lua_pushstring(L, argc
                              ? "ERR too many arguments"
                              : "ERR Please specify at least one argument for this redis lib call");
        lua_rawset(L, -3);
        if (raise) return lua_error(L);
        return 1;
    }
    const char *argv[MAX_CALL_ARGS];
    size_t lens[MAX_CALL_ARGS];
    for (int i = 0; i < argc; i++) {
        int t = lua_type(L, i + 1);
        if (t == LUA_TNUMBER) {
            char buf[64];
            emu_fmt_double(buf, sizeof buf, (double)lua_tonumber(L, i + 1));
            lua_pushstring(L, buf);
            lua_replace(L, i + 1);
        } else if (t != LUA_TSTRING) {
            lua_newtable(L);
            lua_pushstring(L, "err");
            lua_pushstring(L, "ERR Lua redis lib command arguments must be strings or integers");
            lua_rawset(L, -3);
            if (raise) return lua_error(L);
            return 1;
        }
        argv[i] = lua_tolstring(L, i + 1, &lens[i]);
    }
    lua_sink ls = {{&LUA_OPS, false}, L, {0}, {0}, 0, false};
    emu_exec(e, argc, argv, lens, &ls.base);
    if (ls.too_deep) return luaL_error(L, "reply nested too deeply");
    if (ls.base.failed && raise) return lua_error(L);
    return 1;
}

static int l_call(lua_State *L)
{
    return call_common(L, true);
}
static int l_pcall(lua_State *L)
{
    return call_common(L, false);
}

/* redis.error_reply(msg): {err=msg} with the error code Redis derives
 * ("-CODE msg" keeps CODE; a bare message is already "code msg" text). */
static int l_error_reply(lua_State *L)
{
    size_t len;
    const char *msg = luaL_checklstring(L, 1, &len);
    lua_newtable(L);
    lua_pushstring(L, "err");
    if (msg[0] == '-')
        lua_pushlstring(L, msg + 1, len - 1);
    else if (strchr(msg, ' '))
        lua_pushlstring(L, msg, len);
    else
        lua_pushfstring(L, "ERR %s", msg);
    lua_rawset(L, -3);
    return 1;
}

static int l_status_reply(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_newtable(L);
    lua_pushstring(L, "ok");
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 1;
}

static int l_log(lua_State *L)
{
    return 0;
}

/* redis.register_function(name, fn) or {function_name=, callback=, flags=}. */
static int l_register(lua_State *L)
{
    engine_emu *e = engine_of(L);
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "function_name");
        lua_getfield(L, 1, "callback");
    } else {
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
    }
    if (!lua_isstring(L, -2) || !lua_isfunction(L, -1))
        return luaL_error(L, "register_function needs a name and a callback");
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->functions_ref);
    lua_pushvalue(L, -3);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1)) return luaL_error(L, "Function %s already exists", lua_tostring(L, -4));
    lua_pop(L, 1);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    return 0;
}

/* pcall as Redis 7 gives it to scripts: an error that is a table with an
 * err field (redis.call's errors, error({err = ...})) is caught as that
 * string. */
static int l_script_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (st) {
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1))
                lua_replace(L, -2);
            else
                lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    return lua_gettop(L);
}

static void set_fn(lua_State *L, engine_emu *e, const char *name, lua_CFunction fn)
{
    lua_pushlightuserdata(L, e);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

/* The wrapped function (the upvalue) on the same arguments. */
static int call_original(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* The library's hot conversions, without the C library's floating-point
 * code (fast_conversions installs both).
 *
 * string.format with a fast path for the functions library's fmt():
 * "%.0f" of a whole number below 2^53 is that integer in decimal, the text
 * the C library writes, without its floating-point formatting.  Anything
 * else goes to Lua's own string.format (the upvalue). */
static int l_format(lua_State *L)
{
    size_t fl;
    if (lua_gettop(L) == 2 && lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TNUMBER) {
        const char *f = lua_tolstring(L, 1, &fl);
        double d = lua_tonumber(L, 2);
        if (fl == 4 && memcmp(f, "%.0f", 4) == 0 && d == floor(d) && fabs(d) < 9007199254740992.0 &&
            !(d == 0 && signbit(d))) {
            char buf[32];
            lua_pushlstring(L, buf, emu_fmt_ll(buf, (long long)d));
            return 1;
        }
    }
    return call_original(L);
}

/* tonumber with a fast path for a string of up to 15 decimal digits (the
 * library reads times, counts and ids so): the same number strtod makes.
 * Anything else goes to Lua's own tonumber (the upvalue). */
static int l_tonumber(lua_State *L)
{
    if (lua_gettop(L) == 1 && lua_type(L, 1) == LUA_TSTRING) {
        size_t len;
        const char *p = lua_tolstring(L, 1, &len);
        if (len && len <= 15) {
            long long v = 0;
            size_t i = 0;
            while (i < len && p[i] >= '0' && p[i] <= '9')
                v = v * 10 + (p[i++] - '0');
            if (i == len) {
                lua_pushnumber(L, (lua_Number)v);
                return 1;
            }
        }
    }
    return call_original(L);
}

static void fast_conversions(lua_State *L)
{
    lua_getglobal(L, "tonumber");
    lua_pushcclosure(L, l_tonumber, 1);
    lua_setglobal(L, "tonumber");
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    lua_pushcclosure(L, l_format, 1);
    lua_setfield(L, -2, "format");
    lua_pop(L, 1);
}

int emu_lua_open(engine_emu *e, const char *lua, size_t len, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->L = L;
    luaL_openlibs(L);
    fast_conversions(L);
    /* What a Redis function cannot reach. */
    static const char *const hidden[] = {"io",     "os",       "package", "require",
                                         "dofile", "loadfile", "module",  "debug"};
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, hidden[i]);
    }
    lua_pushcfunction(L, l_script_pcall);
    lua_setglobal(L, "pcall");
    lua_newtable(L);
    e->functions_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    set_fn(L, e, "call", l_call);
    set_fn(L, e, "pcall", l_pcall);
    set_fn(L, e, "error_reply", l_error_reply);
    set_fn(L, e, "status_reply", l_status_reply);
    set_fn(L, e, "register_function", l_register);
    set_fn(L, e, "log", l_log);
    static const char *const levels[] = {"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"};
    for (int i = 0; i < 4; i++) {
        lua_pushnumber(L, i);
        lua_setfield(L, -2, levels[i]);
    }
    lua_setglobal(L, "redis");

    /* The "#!lua name=..." line is the server's, not Lua's: blank it (the
     * newline stays, so line numbers agree with the file's). */
    if (len < 6 || memcmp(lua, "#!lua", 5) != 0) {
        snprintf(err, errlen, "the functions library must start with '#!lua name=...'");
        return -1;
    }
    const char *nl = memchr(lua, '\n', len);
    size_t skip = nl ? (size_t)(nl - lua) : len;
    if (luaL_loadbuffer(L, lua + skip, len - skip, "@user_function") || lua_pcall(L, 0, 0, 0)) {
        snprintf(err, errlen, "loading the functions library: %s", lua_tostring(L, -1));
        return -1;
    }
    return 0;
}

void emu_lua_close(engine_emu *e)
{
    if (e->L) lua_close(e->L);
    e->L = NULL;
}

/* The value on top of the stack as a reply (Redis's rules: a number is an
 * integer, true is 1, false and nil are nil, a table with err or ok is an
 * error or status, any other table an array up to its first nil). */
static ereply *to_reply(lua_State *L, emu_tree_sink *t, int depth)
{
    emu_sink *s = &t->base;
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *p = lua_tolstring(L, -1, &len);
        s->ops->bulk(s, p, len);
        break;
    }
    case LUA_TNUMBER:
        s->ops->integer(s, (long long)lua_tonumber(L, -1));
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, -1))
            s->ops->integer(s, 1);
        else
            s->ops->nil(s);
        break;
    case LUA_TTABLE: {
        lua_getfield(L, -1, "err");
        if (lua_isstring(L, -1)) {
            s->ops->error(s, lua_tostring(L, -1));
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        lua_getfield(L, -1, "ok");
        if (lua_isstring(L, -1)) {
            s->ops->status(s, lua_tostring(L, -1));
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (depth > 32) {
            s->ops->error(s, "ERR reached lua stack limit");
            break;
        }
        size_t n = 0;
        for (;; n++) {
            lua_rawgeti(L, -1, (int)n + 1);
            bool end = lua_isnil(L, -1);
            lua_pop(L, 1);
            if (end) break;
        }
        s->ops->array(s, n);
        lua_checkstack(L, 4);
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, -1, (int)i + 1);
            to_reply(L, t, depth + 1);
            lua_pop(L, 1);
        }
        break;
    }
    default:
        s->ops->nil(s);
        break;
    }
    return NULL;
}

static ereply *error_tree(const char *msg)
{
    emu_tree_sink t;
    emu_tree_sink_init(&t);
    t.base.ops->error(&t.base, msg);
    return emu_tree_sink_take(&t);
}

ereply *emu_lua_fcall(engine_emu *e, int argc, const char *const *argv, const size_t *lens)
{
    lua_State *L = e->L;
    if (argc < 3) return error_tree("ERR wrong number of arguments for 'fcall' command");
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->functions_ref);
    lua_pushlstring(L, argv[1], lens[1]);
    lua_rawget(L, -2);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 2);
        return error_tree("ERR Function not found");
    }
    char *end;
    long nkeys = strtol(argv[2], &end, 10);
    const char *bad = *end || end == argv[2] ? "ERR Bad number of keys provided"
                      : nkeys > argc - 3 ? "ERR Number of keys can't be greater than number of args"
                      : nkeys < 0        ? "ERR Number of keys can't be negative"
                                         : NULL;
    if (bad) {
        lua_pop(L, 2);
        return error_tree(bad);
    }
    lua_createtable(L, (int)nkeys, 0);
    for (long i = 0; i < nkeys; i++) {
        lua_pushlstring(L, argv[3 + i], lens[3 + i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_createtable(L, argc - 3 - (int)nkeys, 0);
    for (int i = 3 + (int)nkeys, j = 1; i < argc; i++, j++) {
        lua_pushlstring(L, argv[i], lens[i]);
        lua_rawseti(L, -2, j);
    }
    e->in_fcall = true;
    int rc = lua_pcall(L, 2, 1, 0);
    e->in_fcall = false;
    emu_tree_sink t;
    emu_tree_sink_init(&t);
    if (rc) {
        /* An error the function did not catch: a table with err, or text. */
        if (lua_istable(L, -1)) {
            to_reply(L, &t, 0);
        } else {
            char msg[600];
            snprintf(msg, sizeof msg, "ERR %s script: %s",
                     lua_tostring(L, -1) ? lua_tostring(L, -1) : "error", argv[1]);
            t.base.ops->error(&t.base, msg);
        }
    } else {
        to_reply(L, &t, 0);
    }
    lua_pop(L, 2);
    return emu_tree_sink_take(&t);
}
