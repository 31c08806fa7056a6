/*
 * redis_server.c -- a private redis-server for a test (see redis_server.h).
 */
#include "redis_server.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bool redis_server_available(void)
{
    const char *path = getenv("PATH");
    if (!path) return false;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char f[4200];
        snprintf(f, sizeof f, "%s/redis-server", d);
        if (access(f, X_OK) == 0) return true;
    }
    return false;
}

static bool pings(const char *sock)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectUnixWithTimeout(sock, tv);
    if (!c) return false;
    bool ok = false;
    if (!c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && ((r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) ||
                   (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOAUTH", 6) == 0));
        if (r) freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

static bool launch(redis_server *s)
{
    char conf[320];
    snprintf(conf, sizeof conf, "%s/redis.conf", s->dir);
    FILE *f = fopen(conf, "w");
    if (!f) return false;
    fprintf(f,
            "port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\nsave \"\"\n"
            "daemonize no\nlogfile %s/redis.log\n"
            "appendonly %s\nappendfsync always\n%s\n",
            s->sock, s->dir, s->dir, s->aof ? "yes" : "no", s->extra);
    fclose(f);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
#ifdef __linux__
        /* A test killed on its timeout takes its server with it: no server
         * is left behind on the machine. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
#else
        (void)parent;
#endif
        execlp("redis-server", "redis-server", conf, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 1000; i++) {
        if (pings(s->sock)) return true;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            fprintf(stderr, "redis-server exited at start (see %s/redis.log)\n", s->dir);
            return false;
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "redis-server did not answer PING within 10 s\n");
    return false;
}

bool redis_server_start(redis_server *s, bool aof, const char *extra)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/runcue-redis-%ld-XXXXXX", (long)getpid());
    if (!mkdtemp(s->dir)) return false;
    snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
    snprintf(s->url, sizeof s->url, "unix:%s", s->sock);
    snprintf(s->extra, sizeof s->extra, "%s", extra ? extra : "");
    s->aof = aof;
    return launch(s);
}

void redis_server_kill(redis_server *s, bool hard)
{
    if (s->pid <= 0) return;
    kill(s->pid, hard ? SIGKILL : SIGTERM);
    int st;
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR) {
    }
    s->pid = 0;
}

bool redis_server_restart(redis_server *s)
{
    redis_server_kill(s, true);
    unlink(s->sock);
    return launch(s);
}

void redis_server_stop(redis_server *s)
{
    redis_server_kill(s, true);
    if (!s->dir[0]) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", s->dir);
    s->dir[0] = '\0';
}
