/*
 * lua_text.h -- the functions library (runcue.lua), compiled in.
 * Generated into the build directory by embed_lua.py.
 */
#ifndef RC_REDIS_LUA_TEXT_H
#define RC_REDIS_LUA_TEXT_H

/* The library's version, its `local VERSION`. */
extern const char rc_redis_lua_version[];
/* The whole file, starting "#!lua name=runcue": the FUNCTION LOAD body. */
extern const char rc_redis_lua_text[];

#endif
