/* test_engine_emu.c -- the engine emulation on its own: the functions
 * library loads from the installed file's source, its functions answer,
 * TIME reads the emulated clock, an unimplemented command fails naming
 * itself, and a snapshot brings the keyspace back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_pool.h"
#include "engine_emu.h"

static char *read_lib(size_t *len)
{
    FILE *f = fopen(SOURCE_ROOT "/transports/redis/runcue.lua", "rb");
    cr_assert(f);
    static char buf[1 << 20];
    *len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static engine_emu *open_engine(void)
{
    size_t len;
    char *lib = read_lib(&len);
    engine_emu *e;
    char err[256];
    cr_assert_eq(engine_emu_new(&e, lib, len, err, sizeof err), 0, "%s", err);
    return e;
}

/* Run a command given as words; the reply. */
static ereply *run(engine_emu *e, const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    const char *argv[64];
    size_t lens[64];
    int argc = 0;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (strcmp(w, "\"\"") == 0) w[0] = '\0';
        argv[argc] = w;
        lens[argc++] = strlen(w);
    }
    ereply *r = engine_emu_call(e, argc, argv, lens);
    cr_assert(r);
    return r;
}

Test(engine_emu, functions_run_on_the_emulated_clock)
{
    engine_emu *e = open_engine();
    engine_emu_set_time(e, 4102444800000000LL + 1500000);
    ereply *r = run(e, "TIME");
    cr_assert_eq(r->type, EREPLY_ARRAY);
    cr_assert_str_eq(r->element[0]->str, "4102444801");
    cr_assert_str_eq(r->element[1]->str, "500000");
    ereply_free(r);
    r = run(e, "FCALL runcue_register 1 rc:{t} api 2 1000000 1 2000000 3");
    cr_assert_str_eq(r->str, "created");
    ereply_free(r);
    ereply_free(run(e, "FCALL runcue_enqueue 1 rc:{t} api me d1 0.5 work p1"));
    ereply_free(run(e, "FCALL runcue_enqueue 1 rc:{t} api me d2 0.5 work p2"));
    r = run(e, "FCALL runcue_claim 1 rc:{t} ag 4 api");
    cr_assert_eq(r->type, EREPLY_ARRAY);
    cr_assert_str_eq(r->element[0]->str, "jobs");
    cr_assert_eq(r->element[1]->integer, 1); /* concurrency 1 */
    cr_assert_str_eq(r->element[2]->str, "1");
    ereply_free(r);
    r = run(e, "FCALL runcue_claim 1 rc:{t} ag 4 api");
    cr_assert_str_eq(r->element[0]->str, "wait");
    cr_assert_str_eq(r->element[1]->str, "4102444803500000"); /* the lease's end */
    cr_assert_str_eq(r->element[2]->str, "full");
    ereply_free(r);
    /* The lease lapses; a stale finish is refused once it is reclaimed. */
    engine_emu_set_time(e, 4102444800000000LL + 4000000);
    ereply_free(run(e, "FCALL runcue_claim 1 rc:{t} ag2 1 api"));
    r = run(e, "FCALL runcue_finish 1 rc:{t} ag 1 1 1 ok r \"\" 0");
    cr_assert_str_eq(r->element[0]->str, "stale");
    ereply_free(r);
    engine_emu_free(e);
}

Test(engine_emu, an_unimplemented_command_fails_naming_it)
{
    static const char lib[] = "#!lua name=t\n"
                              "redis.register_function('t', function(k, a)\n"
                              "  return redis.call('ZINTERSTORE', 'x', 1, 'y')\n"
                              "end)\n";
    engine_emu *e;
    char err[256];
    cr_assert_eq(engine_emu_new(&e, lib, strlen(lib), err, sizeof err), 0, "%s", err);
    ereply *r = run(e, "FCALL t 0");
    cr_assert_eq(r->type, EREPLY_ERROR);
    cr_assert(strstr(r->str, "ZINTERSTORE"), "%s", r->str);
    cr_assert_str_eq(engine_emu_unimplemented(e), "ZINTERSTORE");
    ereply_free(r);
    engine_emu_free(e);
}

Test(engine_emu, a_bad_library_is_refused)
{
    engine_emu *e;
    char err[256];
    cr_assert_neq(engine_emu_new(&e, "local x = 1\n", 12, err, sizeof err), 0);
    cr_assert(strstr(err, "#!lua"), "%s", err);
    cr_assert_neq(engine_emu_new(&e, "#!lua name=x\nthis is not lua\n", 30, err, sizeof err), 0);
    cr_assert(strstr(err, "loading"), "%s", err);
}

Test(engine_emu, a_restore_goes_back_to_the_snapshot)
{
    engine_emu *e = open_engine();
    ereply_free(run(e, "SET a 1"));
    ereply_free(run(e, "ZADD z 1 m"));
    cr_assert_eq(engine_emu_snapshot(e), 0);
    ereply_free(run(e, "SET a 2"));
    ereply_free(run(e, "ZADD z 2 n"));
    engine_emu_restore(e);
    ereply *r = run(e, "GET a");
    cr_assert_str_eq(r->str, "1");
    ereply_free(r);
    r = run(e, "ZCARD z");
    cr_assert_eq(r->integer, 1);
    ereply_free(r);
    engine_emu_free(e);
}

Test(engine_emu, expiry_follows_the_clock)
{
    engine_emu *e = open_engine();
    engine_emu_set_time(e, 1000000);
    ereply_free(run(e, "SET k v"));
    ereply_free(run(e, "PEXPIRE k 100"));
    engine_emu_set_time(e, 1100000);
    ereply *r = run(e, "GET k");
    cr_assert_eq(r->type, EREPLY_STRING);
    ereply_free(r);
    engine_emu_set_time(e, 1101000);
    r = run(e, "GET k");
    cr_assert_eq(r->type, EREPLY_NIL);
    ereply_free(r);
    engine_emu_free(e);
}

/* The string pool: a released string's room is reused for one of its size
 * class, sizes above EMU_POOL_MAX come from malloc, and destroying the pool
 * (after begin_destroy) releases everything at once. */
Test(emu_pool, classes_reuse_and_destroy)
{
    emu_pool p;
    emu_pool_init(&p);
    char *a = emu_pool_alloc(&p, 10), *b = emu_pool_alloc(&p, 16), *c = emu_pool_alloc(&p, 17);
    cr_assert(a && b && c);
    cr_assert_eq(b - a, 16); /* one class: 1..16 bytes */
    cr_assert_eq(c - b, 16);
    memset(c, 'x', 17);
    emu_pool_free(&p, a, 10);
    cr_assert_eq(emu_pool_alloc(&p, 3), a); /* the same class again */
    emu_pool_free(&p, c, 17);
    cr_assert_eq(emu_pool_alloc(&p, 32), c);
    char *big = emu_pool_alloc(&p, EMU_POOL_MAX + 1);
    cr_assert(big);
    memset(big, 'y', EMU_POOL_MAX + 1);
    emu_pool_free(&p, big, EMU_POOL_MAX + 1);
    for (int i = 0; i < 100000; i++) /* many slabs */
        cr_assert(emu_pool_alloc(&p, 1 + (size_t)i % EMU_POOL_MAX));
    emu_pool_begin_destroy(&p);
    emu_pool_free(&p, b, 16); /* a no-op now */
    emu_pool_destroy(&p);
    cr_assert_null(p.slabs);
}
