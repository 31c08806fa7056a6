/* The view model both live views draw from, fed by a segment a cue in this
 * process publishes: bars per work with outcomes and times, event lines,
 * marks, samples, progress and status. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runcue.h"
#include "runcue_shm.h"
#include "testutil.h"
#include "viewmodel.h"

static tu_task ok_task = {.delay_s = 1.0};
static tu_task bad_task = {.delay_s = 0.5, .fail = "no luck"};

Test(viewmodel, bars_lines_marks_and_status)
{
    char name[64];
    snprintf(name, sizeof name, "vm-test-%d", (int)getpid());
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_service(cue, "api", NULL, 2), 0);
    cr_assert_eq(rc_task(cue, "good", "api", tu_handler, &ok_task), 0);
    cr_assert_eq(rc_task(cue, "bad", "api", tu_handler, &bad_task), 0);
    rc_shm_writer *w;
    cr_assert_eq(rc_shm_publish(&w, cue, name, "viewmodel test", NULL, 0), 0);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 1, NULL, 0), 0);
    viewmodel *vm = vm_new(r);
    cr_assert_not_null(vm);

    for (int i = 0; i < 3; i++) tu_submit(cue, "good", NULL);
    tu_submit(cue, "bad", NULL);
    tu_run_until(loop, 0.25);
    vm_update(vm);
    cr_assert_str_eq(vm->status, "running");
    cr_assert(vm->live);
    /* Two running (the limit), as open bars. */
    cr_assert_eq(vm->n_bars, 2);
    cr_assert_eq(vm_bar_at(vm, 0)->outcome, VM_RUNNING);
    cr_assert_eq(vm_bar_at(vm, 0)->end, 0);

    rc_shm_mark(w, "invalidated", "pages/3");
    tu_run(loop);
    rc_shm_set_flags(w, RC_SHM_FINISHED, 0);
    vm_update(vm);
    cr_assert_str_eq(vm->status, "finished");
    cr_assert_eq(vm->n_bars, 4);
    int ok = 0, failed = 0;
    for (uint64_t i = 0; i < vm->n_bars; i++) {
        const vm_bar *b = vm_bar_at(vm, i);
        cr_assert_eq(b->service, 0);
        cr_assert_gt(b->end, b->start);
        if (b->outcome == VM_OK) {
            ok++;
            cr_assert_eq(b->end - b->start, rc_seconds(1.0));
        } else if (b->outcome == VM_FAILED) {
            failed++;
            cr_assert_eq(b->end - b->start, rc_seconds(0.5));
        }
    }
    cr_assert_eq(ok, 3);
    cr_assert_eq(failed, 1);
    /* 4 queued + 4 started + 3 completed + 1 failed + 1 mark. */
    cr_assert_eq(vm->n_lines, 13);
    cr_assert(strstr(vm_line_at(vm, 0)->text, "completed"), "%s", vm_line_at(vm, 0)->text);
    bool saw_fail = false;
    for (uint64_t i = 0; i < vm->n_lines; i++)
        if (strstr(vm_line_at(vm, i)->text, "failed") && strstr(vm_line_at(vm, i)->text, "no luck"))
            saw_fail = true;
    cr_assert(saw_fail);
    cr_assert_eq(vm->n_marks, 1);
    cr_assert(vm->marks[0].invalidation);
    cr_assert_str_eq(vm->marks[0].what, "pages/3");
    cr_assert_float_eq(vm_progress(vm), 1.0, 1e-12);
    cr_assert_gt(vm->n_samples, 1);
    cr_assert_eq(vm->samples[vm->n_samples - 1].completed, 3);
    cr_assert_eq(vm->lost, 0);

    rc_cue_free(cue);
    vm_update(vm);
    cr_assert_not(vm->live);
    cr_assert_str_eq(vm->status, "finished");
    vm_free(vm);
    rc_shm_detach(r);
    rc_loop_free(loop);
}

Test(viewmodel, a_dead_writer_shows_as_gone)
{
    char name[64];
    snprintf(name, sizeof name, "vm-gone-%d", (int)getpid());
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        rc_loop *loop = tu_loop_new();
        rc_cue *cue = tu_cue_new(loop, NULL);
        rc_shm_writer *w;
        if (rc_shm_publish(&w, cue, name, NULL, NULL, 0)) _exit(1);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 1, NULL, 0), 0);
    viewmodel *vm = vm_new(r);
    vm_update(vm);
    cr_assert_str_eq(vm->status, "writer gone");
    vm_free(vm);
    rc_shm_detach(r);
    /* Reclaim the name so nothing is left behind. */
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    rc_shm_writer *w;
    cr_assert_eq(rc_shm_publish(&w, cue, name, NULL, NULL, 0), 0);
    tu_close(loop, cue);
}

Test(viewmodel, root_lines_and_line_counts)
{
    rc_shm_root r = {.id = 20, .blocks = 3};
    strcpy(r.task, "transform");
    strcpy(r.label, "item_0006");
    strcpy(r.state, "failed");
    strcpy(r.error, "transform error (simulated)");
    char buf[256];
    vm_root_text(&r, buf, sizeof buf);
    cr_assert_str_eq(buf,
                     "transform #20 [item_0006] failed: transform error (simulated); blocks 3");
    rc_shm_root c = {.id = 7, .blocks = 1};
    strcpy(c.task, "fetch");
    strcpy(c.state, "cancelled");
    vm_root_text(&c, buf, sizeof buf);
    cr_assert_str_eq(buf, "fetch #7 cancelled; blocks 1");
    cr_assert_eq(vm_count_lines(""), 0);
    cr_assert_eq(vm_count_lines("a\nb\n"), 2);
    cr_assert_eq(vm_count_lines("a\nb"), 2);
}
