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

/* ---- past the rings' capacity ---- */

static tu_task fast_task = {.delay_s = 0.001};

/* A published cue with a service "api" (50 at once) and the model on it. */
typedef struct vm_fixture {
    rc_loop *loop;
    rc_cue *cue;
    rc_shm_writer *w;
    rc_shm_reader *r;
    viewmodel *vm;
} vm_fixture;

static vm_fixture vm_open(const char *what, tu_task *task)
{
    vm_fixture f;
    char name[64], tagged[48];
    snprintf(tagged, sizeof tagged, "vm-%s", what);
    tu_shm_name(name, sizeof name, tagged);
    f.loop = tu_loop_new();
    f.cue = tu_cue_new(f.loop, NULL);
    tu_serve(f.cue, "api", NULL, 50, "t", task);
    cr_assert_eq(rc_shm_publish(&f.w, f.cue, name, NULL, NULL, 0), 0);
    cr_assert_eq(rc_shm_attach(&f.r, name, 1, NULL, 0), 0);
    f.vm = vm_new(f.r);
    cr_assert_not_null(f.vm);
    return f;
}

static void vm_close(vm_fixture *f)
{
    vm_free(f->vm);
    rc_shm_detach(f->r);
    tu_close(f->loop, f->cue);
}

Test(viewmodel, rings_past_capacity_keep_the_newest_in_order, .fini = tu_shm_forget)
{
    vm_fixture f = vm_open("rings", &fast_task);
    enum { BATCH = 500, WORKS = VM_BARS + 808, MARKS = VM_MARKS + 44 };
    /* In batches the segment's ring holds, with a look after each. */
    int marks = 0;
    for (int done = 0; done < WORKS; done += BATCH) {
        for (int i = 0; i < BATCH && done + i < WORKS; i++)
            tu_submit(f.cue, "t", NULL);
        for (int k = 0; k < 20 && marks < MARKS; k++) {
            char what[16];
            snprintf(what, sizeof what, "m%d", marks++);
            rc_shm_mark(f.w, what, NULL);
        }
        tu_run(f.loop);
        vm_update(f.vm);
    }
    const viewmodel *vm = f.vm;
    cr_assert_eq(vm->lost, 0);
    cr_assert_eq(marks, MARKS);

    /* Bars: one per work; the newest VM_BARS kept, newest first. */
    cr_assert_eq(vm->n_bars, WORKS);
    for (uint64_t i = 0; i < VM_BARS; i++) {
        const vm_bar *b = vm_bar_at(vm, i);
        cr_assert_not_null(b, "bar %llu", (unsigned long long)i);
        cr_assert_eq(b->work_id, WORKS - i, "bar %llu is work %llu", (unsigned long long)i,
                     (unsigned long long)b->work_id);
        cr_assert_eq(b->outcome, VM_OK);
        cr_assert_eq(b->end - b->start, rc_seconds(0.001));
    }
    cr_assert_null(vm_bar_at(vm, VM_BARS), "nothing older than the ring");

    /* Lines: one per event, the newest VM_LINES kept in sequence. */
    uint64_t head = vm->snap.state.events_head;
    cr_assert_eq(vm->n_lines, head);
    cr_assert_eq(head, 3 * WORKS + MARKS, "queued, started and completed per work, and the marks");
    for (uint64_t i = 0; i < VM_LINES; i++)
        cr_assert_eq(vm_line_at(vm, i)->seq, head - i);
    cr_assert_null(vm_line_at(vm, VM_LINES));

    /* Marks: the newest VM_MARKS, oldest at the ring's next slot. */
    cr_assert_eq(vm->n_marks, MARKS);
    char want[16];
    snprintf(want, sizeof want, "m%d", MARKS - 1);
    cr_assert_str_eq(vm->marks[(vm->n_marks - 1) % VM_MARKS].what, want);
    snprintf(want, sizeof want, "m%d", MARKS - VM_MARKS);
    cr_assert_str_eq(vm->marks[vm->n_marks % VM_MARKS].what, want);
    vm_close(&f);
}

Test(viewmodel, events_overwritten_before_a_look_are_counted_lost, .fini = tu_shm_forget)
{
    vm_fixture f = vm_open("lost", &fast_task);
    enum { WORKS = 2000 };
    for (int i = 0; i < WORKS; i++)
        tu_submit(f.cue, "t", NULL);
    tu_run(f.loop);
    vm_update(f.vm);

    const viewmodel *vm = f.vm;
    uint64_t head = vm->snap.state.events_head;
    cr_assert_eq(head, 3 * WORKS);
    cr_assert_eq(vm->lost, head - RC_SHM_RING, "lost %llu", (unsigned long long)vm->lost);
    cr_assert_eq(vm->n_lines, RC_SHM_RING, "every event still in the ring is taken");
    cr_assert_eq(vm_line_at(vm, 0)->seq, head);
    cr_assert_eq(vm_line_at(vm, VM_LINES - 1)->seq, head - VM_LINES + 1);
    vm_close(&f);
}

Test(viewmodel, an_update_takes_a_bounded_number_of_events_and_loses_none,
     .fini = tu_shm_forget)
{
    vm_fixture f = vm_open("bounded", &fast_task);
    enum { WORKS = 1000, PER_UPDATE = 700 }; /* 3000 events: in the ring */
    for (int i = 0; i < WORKS; i++)
        tu_submit(f.cue, "t", NULL);
    tu_run(f.loop);
    viewmodel *vm = f.vm;
    cr_assert_eq(vm->events_per_update, VM_EVENTS_PER_UPDATE);
    vm->events_per_update = PER_UPDATE;

    uint64_t head = 3 * WORKS, taken = 0;
    for (int call = 1; taken < head; call++) {
        cr_assert_leq(call, 5);
        vm_update(vm);
        uint64_t want = taken + PER_UPDATE < head ? taken + PER_UPDATE : head;
        cr_assert_eq(vm->n_lines, want, "call %d: %llu lines", call,
                     (unsigned long long)vm->n_lines);
        cr_assert_eq(vm->behind, want - taken == PER_UPDATE);
        taken = want;
    }
    vm_update(vm); /* nothing more */
    cr_assert_eq(vm->n_lines, head);
    cr_assert_not(vm->behind);
    cr_assert_eq(vm->lost, 0);
    cr_assert_eq(vm_line_at(vm, 0)->seq, head);
    cr_assert_eq(vm->n_bars, WORKS);
    for (uint64_t i = 0; i < WORKS; i++)
        cr_assert_eq(vm_bar_at(vm, i)->outcome, VM_OK, "bar %llu", (unsigned long long)i);
    vm_close(&f);
}

Test(viewmodel, samples_past_capacity_thin_out_and_keep_the_whole_run, .fini = tu_shm_forget)
{
    tu_task slow = {.delay_s = 0.1};
    vm_fixture f = vm_open("samples", &slow);
    cr_assert_eq(rc_service(f.cue, "one", NULL, 1), 0);
    cr_assert_eq(rc_task(f.cue, "s", "one", tu_handler, &slow), 0);
    enum { WORKS = 3000 }; /* 300 s one at a time: 3000 samples at 0.1 s */
    for (int i = 0; i < WORKS; i++)
        tu_submit(f.cue, "s", NULL);
    while (rc_loop_run(f.loop, RC_RUN_ONCE) > 0)
        vm_update(f.vm);
    vm_update(f.vm);

    const viewmodel *vm = f.vm;
    cr_assert_leq(vm->n_samples, VM_SAMPLES);
    cr_assert_geq(vm->n_samples, VM_SAMPLES / 2);
    cr_assert_geq(vm->sample_every, rc_seconds(0.2), "sampled less often once full");
    for (size_t i = 1; i < vm->n_samples; i++)
        cr_assert_gt(vm->samples[i].t, vm->samples[i - 1].t, "sample %zu", i);
    cr_assert_lt(vm->samples[0].t, rc_seconds(1), "the start of the run is kept");
    cr_assert_eq(vm->samples[vm->n_samples - 1].completed, WORKS);
    cr_assert_geq(vm->samples[vm->n_samples - 1].t, rc_seconds(0.1 * WORKS) - vm->sample_every,
                  "the end of the run is kept");
    vm_close(&f);
}
