/* tui.c -- the ncurses dashboard: runcue-top and runcue-sim --tui.
 *
 * Panels, top to bottom: a header (name, clock, status), Queue and Config
 * side by side, Services (a concurrency bar each), Recent events (scrolls)
 * and, when the run is stalled, Blocked with the wait-for chain.  Everything
 * comes from the view model; the terminal is restored on q, on SIGINT and
 * SIGTERM, and on errors. */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "live.h"
#include "viewmodel.h"

const bool live_have_tui = true;

static bool curses_on;

static void restore_terminal(void)
{
    if (curses_on) {
        endwin();
        curses_on = false;
    }
}

enum { C_TITLE = 1, C_OK, C_BAD, C_WARN, C_DIM, C_BAR, C_HEAD };

typedef struct tui {
    viewmodel *vm;
    const live_driver *drv;
    uint64_t scroll; /* events scrolled back from the newest; 0 follows */
    bool frozen;     /* attached: p freezes the picture */
} tui;

static void bar(int y, int x, int width, double frac, int color)
{
    if (width < 3) return;
    if (!(frac >= 0)) frac = 0; /* NaN too */
    if (frac > 1) frac = 1;
    int fill = (int)(frac * (width - 2) + 0.5);
    mvaddch(y, x, '[');
    attron(COLOR_PAIR(color));
    for (int i = 0; i < width - 2; i++) mvaddch(y, x + 1 + i, i < fill ? '#' : ' ');
    attroff(COLOR_PAIR(color));
    mvaddch(y, x + width - 1, ']');
}

static int section(int y, const char *title)
{
    attron(COLOR_PAIR(C_HEAD) | A_BOLD);
    mvprintw(y, 0, "%s", title);
    attroff(COLOR_PAIR(C_HEAD) | A_BOLD);
    return y + 1;
}

static int status_color(const char *status)
{
    /* stalled, writer gone, writer died mid-update, segment truncated */
    if (strcmp(status, "stalled") == 0 || strncmp(status, "writer ", 7) == 0 ||
        strncmp(status, "segment ", 8) == 0)
        return C_BAD;
    if (strcmp(status, "paused") == 0) return C_WARN;
    if (strcmp(status, "finished") == 0) return C_OK;
    return C_TITLE;
}

static void draw(tui *t)
{
    const viewmodel *vm = t->vm;
    const rc_shm_snapshot *s = &vm->snap;
    const rc_shm_counters *c = &s->state.counters;
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    erase();
    if (rows < 12 || cols < 60) {
        mvprintw(0, 0, "runcue: the terminal is too small (%dx%d; 60x12 at least)", cols, rows);
        refresh();
        return;
    }

    /* Header. */
    attron(A_REVERSE);
    mvhline(0, 0, ' ', cols);
    mvprintw(0, 1, "runcue  %s  %.*s", s->name, cols > 70 ? cols - 50 : 20, s->title);
    const char *status = t->frozen ? "frozen" : vm->status;
    char right[64];
    snprintf(right, sizeof right, "t=%.3fs  %s ", vm_s(vm_span(s->state.now, s->published)), status);
    mvprintw(0, cols - (int)strlen(right) - 1, "%s", right);
    attroff(A_REVERSE);
    attron(COLOR_PAIR(status_color(status)) | A_BOLD | A_REVERSE);
    mvprintw(0, cols - (int)strlen(status) - 2, "%s", status);
    attroff(COLOR_PAIR(status_color(status)) | A_BOLD | A_REVERSE);

    /* Queue | Config. */
    int half = cols / 2;
    int y = section(2, "Queue");
    mvprintw(y++, 1, "queued    %-10llu running   %llu", (unsigned long long)(c->pending),
             (unsigned long long)c->running);
    mvprintw(y++, 1, "completed %-10llu failed    %llu", (unsigned long long)c->completed,
             (unsigned long long)c->failed);
    mvprintw(y++, 1, "skipped   %-10llu cancelled %llu", (unsigned long long)c->skipped,
             (unsigned long long)c->cancelled);
    double prog = vm_progress(vm);
    mvprintw(y, 1, "progress ");
    bar(y, 10, half - 20 > 10 ? half - 20 : 10, prog, C_OK);
    mvprintw(y++, half - 9, "%5.1f%%", prog * 100);
    if (vm->rate_span > 0)
        mvprintw(y++, 1, "throughput %.1f/s (last %.0fs)", vm->throughput, vm->rate_span);
    else
        mvprintw(y++, 1, "throughput -");

    attron(COLOR_PAIR(C_HEAD) | A_BOLD);
    mvprintw(2, half, "Config");
    attroff(COLOR_PAIR(C_HEAD) | A_BOLD);
    mvprintw(3, half + 1, "clock    %s", s->clock == RC_CLOCK_VIRTUAL ? "virtual" : "real");
    mvprintw(4, half + 1, "writer   pid %d", (int)s->writer_pid);
    mvprintw(5, half + 1, "services %u   submitted %llu", s->state.n_services,
             (unsigned long long)c->submitted);
    if (t->drv)
        mvprintw(6, half + 1, "speed    %gx%s", live_speed(t->drv), live_paused(t->drv) ? " (paused)" : "");
    else
        mvprintw(6, half + 1, "watching %s", vm->live ? "live" : "ended");
    if (vm->lost) mvprintw(7, half + 1, "events missed %llu", (unsigned long long)vm->lost);

    /* Services. */
    y = section(y + 1, "Services");
    uint32_t ns = vm_services(s);
    for (uint32_t i = 0; i < ns && y < rows - 6; i++) {
        const rc_shm_service *v = &s->state.services[i];
        mvprintw(y, 1, "%-14.14s", v->name);
        char lim[24];
        double frac;
        if (v->concurrent <= 0) { /* RC_NO_LIMIT, or nonsense from the segment */
            snprintf(lim, sizeof lim, "%llu/-", (unsigned long long)v->running);
            frac = v->running ? 1 : 0;
        } else {
            snprintf(lim, sizeof lim, "%llu/%d", (unsigned long long)v->running, v->concurrent);
            frac = (double)v->running / (double)v->concurrent;
        }
        bar(y, 16, 14, frac, C_BAR);
        char limit[24];
        vm_rate_limit(v, limit, sizeof limit);
        mvprintw(y, 31, "%-8s processed %-8llu failed %-5llu %6.1f/s  limit %-8s", lim,
                 (unsigned long long)(v->completed + v->failed), (unsigned long long)v->failed,
                 vm->rate[i], limit);
        const char *st = v->blocked   ? "blocked"
                         : v->running ? "busy"
                         : v->queued  ? "limited"
                                      : "idle";
        int col = v->blocked ? C_BAD : v->running ? C_OK : v->queued ? C_WARN : C_DIM;
        if (cols > 105) {
            attron(COLOR_PAIR(col));
            mvprintw(y, 97, "%s", st);
            attroff(COLOR_PAIR(col));
            if (v->blocked || v->queued)
                mvprintw(y, 106, "%llu waiting", (unsigned long long)(v->blocked + v->queued));
        }
        y++;
    }

    /* Running work that reports progress: a bar each. */
    const vm_bar *running[8];
    size_t n_running = vm_running_progress(vm, running, rows > 40 ? 8 : 4);
    if (n_running) {
        y = section(y + 1, "Progress");
        for (size_t i = 0; i < n_running; i++, y++) {
            const vm_bar *b = running[i];
            mvprintw(y, 1, "#%-6llu %-12.12s", (unsigned long long)b->work_id, b->task);
            bar(y, 22, 22, b->progress, C_BAR);
            mvprintw(y, 46, "%3.0f%%  %.*s", b->progress * 100.0, cols > 54 ? cols - 54 : 0,
                     b->message);
        }
    }

    /* Blocked, when stalled. */
    bool stalled = (s->state.flags & RC_SHM_STALLED) && c->pending && s->report.made;
    int blocked_rows = 0;
    if (stalled) blocked_rows = (rows - y) / 2 > 3 ? (rows - y) / 2 : 3;

    /* Recent events. */
    int ev_top = section(y + 1, t->scroll ? "Recent events (scrolled; End follows)"
                                          : "Recent events");
    int ev_rows = rows - ev_top - 1 - blocked_rows;
    for (int i = 0; i < ev_rows; i++) {
        /* Oldest at the top, newest at the bottom. */
        const vm_line *l = vm_line_at(vm, t->scroll + (uint64_t)(ev_rows - 1 - i));
        if (!l) continue;
        int col = l->kind == RC_EV_FAILED || l->kind == RC_EV_TIMEOUT ? C_BAD
                  : l->kind == RC_EV_COMPLETED                        ? C_OK
                  : l->kind == RC_EV_RETRY || l->kind == RC_EV_STALL_WARNING ||
                          l->kind == RC_EV_PENDING_WARNING || l->kind == RC_SHM_EV_MARK
                      ? C_WARN
                      : 0;
        if (col) attron(COLOR_PAIR(col));
        mvprintw(ev_top + i, 1, "%.*s", cols - 2, l->text);
        if (col) attroff(COLOR_PAIR(col));
    }

    if (stalled) {
        int by = section(rows - 1 - blocked_rows, "Blocked");
        attron(COLOR_PAIR(C_BAD));
        mvprintw(by - 1, 8, " %llu pending work cannot move",
                 (unsigned long long)s->report.blocked_total);
        attroff(COLOR_PAIR(C_BAD));
        int left = rows - 1 - by;
        /* Root causes first (what to fix), then the blocked work, then the
         * wait-for lines; each list says how much it left out. */
        const rc_shm_report *rep = &s->report;
        uint32_t i = 0;
        char line[256];
        for (; i < rep->n_roots && left > 1; i++, left--, by++) {
            vm_root_text(&rep->roots[i], line, sizeof line);
            attron(COLOR_PAIR(C_BAD));
            mvprintw(by, 1, "root: %.*s", cols - 8, line);
            attroff(COLOR_PAIR(C_BAD));
        }
        if (rep->roots_total > i && left > 0) {
            mvprintw(by++, 1, "  +%llu more root causes",
                     (unsigned long long)(rep->roots_total - i));
            left--;
        }
        for (i = 0; i < rep->n_blocked && left > 1; i++, left--, by++)
            mvprintw(by, 1, "#%-6llu %-12.12s %.*s", (unsigned long long)rep->blocked[i].id,
                     rep->blocked[i].task, cols - 24, rep->blocked[i].detail);
        if (rep->blocked_total > i && left > 0) {
            mvprintw(by++, 1, "  +%llu more blocked", (unsigned long long)(rep->blocked_total - i));
            left--;
        }
        const char *p = rep->waitfor, *wl;
        int len;
        for (; left > 1 && vm_next_line(&p, &wl, &len); left--)
            mvprintw(by++, 1, "  %.*s", len < cols - 4 ? len : cols - 4, wl);
        int more = vm_count_lines(p);
        if (more && left > 0) mvprintw(by, 1, "  +%d more lines", more);
    }

    /* Footer. */
    attron(A_REVERSE);
    mvhline(rows - 1, 0, ' ', cols);
    if (t->drv)
        mvprintw(rows - 1, 1, "q quit  p pause  space step  +/- speed  arrows scroll");
    else
        mvprintw(rows - 1, 1, "q quit  p freeze  arrows scroll  End follow");
    attroff(A_REVERSE);
    refresh();
}

static void nap(double s)
{
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
}

int live_tui_run(const live_opts *opts)
{
    rc_shm_reader *r;
    int attached = live_attach(opts, &r);
    if (attached) return attached;
    tui t = {.vm = vm_new(r), .drv = opts->driver};
    if (!t.vm) {
        rc_shm_detach(r);
        live_error(opts, "out of memory");
        return 1;
    }
    setlocale(LC_CTYPE, "");
    live_signals_catch();

    if (!initscr()) {
        live_error(opts, "cannot start the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
        vm_free(t.vm);
        rc_shm_detach(r);
        return 1;
    }
    curses_on = true;
    atexit(restore_terminal);
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    timeout(50);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(C_TITLE, COLOR_CYAN, -1);
        init_pair(C_OK, COLOR_GREEN, -1);
        init_pair(C_BAD, COLOR_RED, -1);
        init_pair(C_WARN, COLOR_YELLOW, -1);
        init_pair(C_DIM, COLOR_BLUE, -1);
        init_pair(C_BAR, COLOR_CYAN, -1);
        init_pair(C_HEAD, COLOR_MAGENTA, -1);
    }

    int rc = 0;
    bool quit = false;
    while (!quit && !live_got_signal) {
        if (t.drv && (rc = live_drive(t.drv)) < 0) break;
        if (!t.frozen) vm_update(t.vm);
        draw(&t);
        bool over = t.drv ? live_over(t.drv) : !t.vm->live;
        if (over && opts->exit_at_end) break;
        timeout(!t.frozen && t.vm->behind ? 0 : 50); /* behind the writer: catch up */
        int ch = getch();
        switch (ch) {
        case 'q':
        case 'Q': quit = true; break;
        case 'p':
        case 'P':
            if (t.drv)
                live_pause(t.drv, !live_paused(t.drv));
            else
                t.frozen = !t.frozen;
            break;
        case ' ':
            if (t.drv) {
                if (!live_paused(t.drv)) live_pause(t.drv, true);
                if ((rc = live_step(t.drv)) < 0) quit = true;
            }
            break;
        case '+':
        case '=':
            if (t.drv) live_set_speed(t.drv, live_speed(t.drv) * 2);
            break;
        case '-':
            if (t.drv) live_set_speed(t.drv, live_speed(t.drv) / 2);
            break;
        case KEY_UP: t.scroll++; break;
        case KEY_DOWN:
            if (t.scroll) t.scroll--;
            break;
        case KEY_PPAGE: t.scroll += 10; break;
        case KEY_NPAGE: t.scroll = t.scroll > 10 ? t.scroll - 10 : 0; break;
        case KEY_END: t.scroll = 0; break;
        case KEY_HOME: t.scroll = t.vm->n_lines < VM_LINES ? t.vm->n_lines : VM_LINES; break;
        case KEY_RESIZE: clear(); break;
        default: break;
        }
        uint64_t max = t.vm->n_lines < VM_LINES ? t.vm->n_lines : VM_LINES;
        if (t.scroll > max) t.scroll = max;
        if (ch == ERR && over) nap(0.05); /* nothing more will come: idle gently */
    }
    restore_terminal();
    vm_free(t.vm);
    rc_shm_detach(r);
    int sig = live_signals_release(opts);
    if (rc < 0) {
        live_error(opts, "the run failed: %s", rc_strerror(rc));
        return 1;
    }
    return sig;
}
