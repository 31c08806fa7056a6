/*
 * redis_server.h -- a private redis-server for a test: started on a unix
 * socket in a temporary directory with its own configuration (no
 * persistence unless asked for, port 0), ready once it answers PING, killed
 * by its pid at the end.
 */
#ifndef RC_TEST_REDIS_SERVER_H
#define RC_TEST_REDIS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct redis_server {
    pid_t pid;
    char dir[256];
    char sock[300];
    char url[320]; /* "unix:<sock>" */
    char extra[1024];
    bool aof;
} redis_server;

/* Whether redis-server is on PATH. */
bool redis_server_available(void);
/* Start one (aof: appendonly yes, appendfsync always).  extra: more config
 * lines (may be NULL).  false with a message on stderr if it did not come up
 * within 10 s. */
bool redis_server_start(redis_server *s, bool aof, const char *extra);
/* SIGKILL (hard) or SIGTERM, wait for it; the directory stays (restart). */
void redis_server_kill(redis_server *s, bool hard);
/* Start again in the same directory (same socket, same AOF). */
bool redis_server_restart(redis_server *s);
/* Kill it and remove its directory. */
void redis_server_stop(redis_server *s);

#endif
