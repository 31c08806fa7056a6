/* A program built against an installed runcue, the way a user builds one:
 *   cc app.c $(pkg-config --cflags --libs runcue)
 * Three items through a rate-limited service on the real clock, published
 * as a live segment and read back through the harness. */
#include <runcue.h>
#include <runcue_shm.h>
#include <runcue_transport.h>
#include <stdio.h>
#include <stdlib.h>

static void handler(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)w;
    (void)ud;
    rc_complete(cue, tok, NULL);
}

int main(void)
{
    rc_loop *loop;
    rc_cue *cue;
    if (rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC})) return 1;
    if (rc_cue_new(&cue, loop, NULL)) return 1;
    if (rc_service(cue, "api", "2/0.05", 1) || rc_task(cue, "t", "api", handler, NULL)) return 1;
    rc_shm_writer *writer;
    char err[200];
    if (rc_shm_publish(&writer, cue, "install-test-app", "app.c", err, sizeof err)) {
        fprintf(stderr, "publish: %s\n", err);
        return 1;
    }
    for (int i = 0; i < 3; i++)
        if (rc_submit(cue, "t", NULL, NULL)) return 1;
    rc_loop_run(loop, RC_RUN_DEFAULT);
    rc_stats st;
    rc_cue_stats(cue, &st);
    rc_shm_reader *r;
    rc_shm_snapshot *snap = malloc(sizeof *snap);
    if (!snap || rc_shm_attach(&r, "install-test-app", 1, err, sizeof err)) return 1;
    rc_shm_update(writer);
    if (rc_shm_read(r, snap) || snap->state.counters.completed != 3) return 1;
    rc_shm_detach(r);
    free(snap);
    printf("runcue %s: completed %llu of 3\n", RC_VERSION_STRING,
           (unsigned long long)st.completed);
    rc_cue_free(cue);
    rc_loop_free(loop);
    return st.completed == 3 ? 0 : 1;
}
