/* The coordinator: forks the client processes (one per 19,000 connections, or --procs), starts
 * them together once all are set up, samples the server from /proc (and with --admin-port its
 * /metrics) at the window's edges, prints the progress line, and adds up what each process hands
 * back through its pipe (histograms merged). It sends no traffic itself, so its own CPU use stays
 * out of the figures. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_RSS_SAMPLE_NS (20ull * 1000000ull)
#define BENCH_PROGRESS_NS (500ull * 1000000ull)
/* Beyond the scenario's own deadlines: how long the coordinator waits for a process at all. */
#define BENCH_SETUP_WAIT_NS (60ull * BENCH_NS_PER_S)
#define BENCH_COLLECT_WAIT_NS (10ull * BENCH_NS_PER_S)
#define BENCH_RECV_BUF_BYTES (64u * 1024u)
/* One scrape of the admin endpoint (loopback, a few KiB). */
#define BENCH_ADMIN_TIMEOUT_MS 2000

typedef struct bench_proc {
    pid_t pid;
    int ctl_w, res_r;
    bool ready, done;
    size_t got;
    bench_part_t *part;
} bench_proc_t;

typedef struct bench_coord {
    const bench_opts_t *o;
    bench_run_t *r;
    bench_proc_t *p;
    bench_live_t *live;
    uint32_t n;
    bool progress, progress_shown;
    uint64_t next_progress, next_rss;
    uint64_t last_done, last_done_ns;
} bench_coord_t;

static int bench_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* In the forked process: run the share, hand back the figures, never return. */
static void __attribute__((noreturn)) bench_child_main(bench_coord_t *co, uint32_t i, int ctl_r, int res_w)
{
    signal(SIGPIPE, SIG_IGN);
    /* Only this process's pipe ends stay open, so each process sees EOF when the coordinator
     * goes, whatever happened to the others. */
    for (uint32_t j = 0; j < i; j++) {
        close(co->p[j].ctl_w);
        close(co->p[j].res_r);
    }
    const bench_opts_t *o = co->o;
    uint32_t per = o->conns / co->n, extra = o->conns % co->n;
    bench_child_t ch = {
        .o = o,
        .index = i,
        .first = i * per + (i < extra ? i : extra),
        .count = per + (i < extra),
        .ctl_fd = ctl_r,
        .res_fd = res_w,
        .live = &co->live[i],
    };
    ch.part = calloc(1, sizeof *ch.part);
    if (!ch.part || client_rx_init(&ch.rx, o->max_frame, BENCH_RECV_BUF_BYTES) < 0)
        _exit(1);
    hist_init(&ch.part->hist);
    int rc = o->scenario->child(&ch);
    if (bench_write_all(res_w, ch.part, sizeof *ch.part) < 0)
        _exit(1);
    _exit(rc == 0 ? 0 : 1);
}

static int bench_spawn(bench_coord_t *co, uint32_t i)
{
    int ctl[2], res[2];
    if (pipe2(ctl, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(res, O_CLOEXEC) < 0) {
        close(ctl[0]);
        close(ctl[1]);
        return -errno;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        close(ctl[0]), close(ctl[1]), close(res[0]), close(res[1]);
        return rc;
    }
    if (pid == 0) {
        close(ctl[1]);
        close(res[0]);
        bench_child_main(co, i, ctl[0], res[1]);
    }
    close(ctl[0]);
    close(res[1]);
    co->p[i] = (bench_proc_t){ .pid = pid, .ctl_w = ctl[1], .res_r = res[0] };
    co->p[i].part = calloc(1, sizeof *co->p[i].part);
    return co->p[i].part ? 0 : -ENOMEM;
}

static void bench_progress(bench_coord_t *co, uint64_t now, const char *phase)
{
    if (!co->progress || now < co->next_progress)
        return;
    co->next_progress = now + BENCH_PROGRESS_NS;
    uint64_t done = 0, errors = 0, conns = 0;
    for (uint32_t i = 0; i < co->n; i++) {
        done += atomic_load_explicit(&co->live[i].done, memory_order_relaxed);
        errors += atomic_load_explicit(&co->live[i].errors, memory_order_relaxed);
        conns += atomic_load_explicit(&co->live[i].conns, memory_order_relaxed);
    }
    double rate = co->last_done_ns && now > co->last_done_ns
                      ? (double)(done - co->last_done) * 1e9 / (double)(now - co->last_done_ns) : 0.0;
    co->last_done = done;
    co->last_done_ns = now;
    if (!co->r->win.start_ns) {
        fprintf(stderr, "\r%s connecting %llu/%u  errors %llu   ", co->o->scenario->name,
                (unsigned long long)conns, co->o->conns, (unsigned long long)errors);
        fflush(stderr);
        co->progress_shown = true;
        return;
    }
    const bench_window_t *w = &co->r->win;
    double t = w->start_ns && now > w->start_ns ? (double)(now - w->start_ns) / 1e9 : 0.0;
    double total = w->end_ns > w->start_ns ? (double)(w->end_ns - w->start_ns) / 1e9 : 0.0;
    fprintf(stderr, "\r%s %-9s %6.1f/%.1f s  conns %-7llu done %-10llu %10.0f/s  errors %llu   ",
            co->o->scenario->name, phase, t, total, (unsigned long long)conns, (unsigned long long)done,
            rate, (unsigned long long)errors);
    fflush(stderr);
    co->progress_shown = true;
}

static void bench_sample_rss(bench_coord_t *co, uint64_t now)
{
    if (!co->o->server_pid || now < co->next_rss)
        return;
    co->next_rss = now + BENCH_RSS_SAMPLE_NS;
    uint64_t rss;
    if (bench_proc_rss(co->o->server_pid, &rss) == 0 && rss > co->r->rss_peak)
        co->r->rss_peak = rss;
}

/* Reads what a process has written: the ready byte, then its figures. Returns -1 when it ended
 * before handing them over. */
static int bench_read_proc(bench_proc_t *p)
{
    if (!p->ready) {
        char c;
        ssize_t n = read(p->res_r, &c, 1);
        if (n == 1 && c == 'R') {
            p->ready = true;
            return 0;
        }
        return n < 0 && (errno == EINTR || errno == EAGAIN) ? 0 : -1;
    }
    ssize_t n = read(p->res_r, (char *)p->part + p->got, sizeof *p->part - p->got);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1;
    p->got += (size_t)n;
    p->done = p->got == sizeof *p->part;
    return 0;
}

/* Polls every pipe until `until` (or every process reached `want_ready` / done), sampling and
 * printing on the way. Returns -1 if a process failed. */
static int bench_pump(bench_coord_t *co, uint64_t until, bool want_ready, const char *phase)
{
    struct pollfd *pf = calloc(co->n, sizeof *pf);
    if (!pf)
        return -1;
    int rc = 0;
    for (;;) {
        uint64_t now = client_now_ns();
        bench_sample_rss(co, now);
        bench_progress(co, now, phase);
        nfds_t k = 0;
        for (uint32_t i = 0; i < co->n; i++) {
            bench_proc_t *p = &co->p[i];
            if (want_ready ? p->ready : p->done)
                continue;
            pf[k++] = (struct pollfd){ .fd = p->res_r, .events = POLLIN };
        }
        if (k == 0 || now >= until)
            break;
        uint64_t wait = until - now;
        if (wait > BENCH_RSS_SAMPLE_NS)
            wait = BENCH_RSS_SAMPLE_NS;
        if (poll(pf, k, (int)((wait + 999999u) / 1000000u)) < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        for (nfds_t j = 0; j < k; j++) {
            if (!pf[j].revents)
                continue;
            for (uint32_t i = 0; i < co->n; i++)
                if (co->p[i].res_r == pf[j].fd && bench_read_proc(&co->p[i]) < 0)
                    rc = -1;
        }
        if (rc < 0)
            break;
    }
    free(pf);
    return rc;
}

static void bench_sample_mem(const bench_opts_t *o, bench_mem_t *m)
{
    m->ok = o->server_pid && bench_proc_rss(o->server_pid, &m->rss) == 0 && bench_proc_slab(&m->slab) == 0;
}

static void bench_sleep_ms(uint32_t ms)
{
    struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static int bench_cpu_sample(const bench_opts_t *o, uint64_t *ns)
{
    return o->server_pid ? bench_proc_cpu_ns(o->server_pid, ns) : -1;
}

/* Waits for every process; those still running past the deadline are killed. */
static int bench_reap(bench_coord_t *co, uint64_t deadline)
{
    int rc = 0;
    for (uint32_t i = 0; i < co->n; i++) {
        bench_proc_t *p = &co->p[i];
        if (p->pid <= 0)
            continue;
        int status = 0;
        while (waitpid(p->pid, &status, WNOHANG) == 0) {
            if (client_now_ns() >= deadline) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
                break;
            }
            bench_sleep_ms(5);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = -1;
        close(p->ctl_w);
        close(p->res_r);
        p->pid = 0;
    }
    return rc;
}

static void bench_sum(bench_coord_t *co)
{
    bench_part_t *t = &co->r->total;
    hist_init(&t->hist);
    for (uint32_t i = 0; i < co->n; i++) {
        const bench_part_t *p = co->p[i].part;
        if (!co->p[i].done)
            continue;
        for (int s = 0; s < BENCH_STAT_COUNT; s++) {
            if (s == BENCH_ELAPSED_NS)
                t->stat[s] = p->stat[s] > t->stat[s] ? p->stat[s] : t->stat[s];
            else
                t->stat[s] += p->stat[s];
        }
        hist_merge(&t->hist, &p->hist);
    }
}

/* --at-once: waits (up to a deadline) until every established connection's frame is out while
 * the server is stopped. Returns -1 on the deadline. */
static int bench_wait_sent(bench_coord_t *co)
{
    uint64_t deadline = client_now_ns() + BENCH_SETUP_WAIT_NS;
    for (;;) {
        uint64_t sent = 0, conns = 0;
        for (uint32_t i = 0; i < co->n; i++) {
            sent += atomic_load_explicit(&co->live[i].sent, memory_order_relaxed);
            conns += atomic_load_explicit(&co->live[i].conns, memory_order_relaxed);
        }
        if (sent >= conns)
            return 0;
        if (client_now_ns() >= deadline)
            return -1;
        bench_sleep_ms(1);
    }
}

/* SIGCONT is sent on every way out once SIGSTOP was: a failed run never leaves the server stopped. */
static void bench_server_go_on(const bench_opts_t *o, bool *stopped)
{
    if (*stopped)
        kill(o->server_pid, SIGCONT);
    *stopped = false;
}

static int bench_coordinate(bench_coord_t *co, char *err, size_t err_len)
{
    const bench_opts_t *o = co->o;
    bench_run_t *r = co->r;
    uint64_t now = client_now_ns();
    if (bench_pump(co, now + BENCH_SETUP_WAIT_NS + (uint64_t)o->conns * 1000000u, true, "connect") < 0) {
        snprintf(err, err_len, "a client process failed during set-up");
        return -1;
    }
    for (uint32_t i = 0; i < co->n; i++) {
        if (!co->p[i].ready) {
            snprintf(err, err_len, "client process %u did not finish set-up in time", i);
            return -1;
        }
    }
    if (o->server_pid)
        bench_sleep_ms(100); /* let the server finish what the last replies started */
    bench_sample_mem(o, &r->ready);
    r->rss_peak = r->ready.rss > r->before.rss ? r->ready.rss : r->before.rss;
    now = client_now_ns();
    r->win.start_ns = now + 5000000u;
    r->win.begin_ns = r->win.start_ns + (uint64_t)(o->warmup_s * 1e9);
    r->win.end_ns = r->win.begin_ns + (uint64_t)(o->duration_s * 1e9);
    r->window_s = (double)(r->win.end_ns - r->win.begin_ns) / 1e9;
    bool stopped = o->at_once && kill(o->server_pid, SIGSTOP) == 0;
    if (o->at_once && !stopped) {
        snprintf(err, err_len, "--at-once: cannot stop the server (pid %d): %s", (int)o->server_pid, strerror(errno));
        return -1;
    }
    for (uint32_t i = 0; i < co->n; i++) {
        if (bench_write_all(co->p[i].ctl_w, &r->win, sizeof r->win) < 0) {
            bench_server_go_on(o, &stopped);
            snprintf(err, err_len, "client process %u has gone", i);
            return -1;
        }
    }
    uint64_t cpu0 = 0, cpu1 = 0;
    int fail = bench_pump(co, r->win.begin_ns, false, "warmup");
    if (stopped && bench_wait_sent(co) < 0)
        fail = -1;
    bool cpu_ok = bench_cpu_sample(o, &cpu0) == 0;
    bench_server_go_on(o, &stopped);
    bool admin_ok =
        o->admin_port && bench_metrics_fetch(&o->admin_target, BENCH_ADMIN_TIMEOUT_MS, &r->admin_begin) == 0;
    fail |= bench_pump(co, r->win.end_ns, false, "run");
    if (o->scenario->cpu_settle_ms && client_now_ns() < r->win.end_ns)
        bench_sleep_ms(o->scenario->cpu_settle_ms);
    cpu_ok = cpu_ok && bench_cpu_sample(o, &cpu1) == 0;
    r->admin_ok = admin_ok && bench_metrics_fetch(&o->admin_target, BENCH_ADMIN_TIMEOUT_MS, &r->admin_end) == 0;
    r->cpu_ok = cpu_ok;
    r->cpu_ns = cpu_ok ? cpu1 - cpu0 : 0;
    fail |= bench_pump(co, r->win.end_ns + BENCH_DRAIN_NS + BENCH_COLLECT_WAIT_NS, false, "drain");
    if (fail) {
        snprintf(err, err_len, "a client process failed during the run");
        return -1;
    }
    return 0;
}

int bench_fanout_run(const bench_opts_t *o, bench_run_t *r, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    uint32_t n = (o->conns + o->per_proc - 1) / o->per_proc;
    if (o->procs > n)
        n = o->procs;
    r->procs = n;
    bench_coord_t co = { .o = o, .r = r, .n = n };
    co.progress = o->progress > 0 ||
                  (o->progress < 0 && isatty(STDERR_FILENO) && o->warmup_s + o->duration_s > 2.0);
    co.p = calloc(n, sizeof *co.p);
    co.live = mmap(NULL, n * sizeof *co.live, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!co.p || co.live == MAP_FAILED) {
        free(co.p);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    bench_sample_mem(o, &r->before);
    /* The listener itself is recorded too: it is not one of the run's connections either. */
    bench_proc_tcp_foreign(client_target_port(&o->target), &r->tcp_foreign);
    if (o->admin_port) { /* an endpoint that does not answer fails the run before any load */
        int e = bench_metrics_fetch(&o->admin_target, BENCH_ADMIN_TIMEOUT_MS, &r->admin_before);
        if (e < 0) {
            snprintf(err, err_len, "admin endpoint %s:%u: GET /metrics: %s", o->host, o->admin_port, client_strerror(e));
            free(co.p);
            munmap(co.live, n * sizeof *co.live);
            return -1;
        }
    }
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (bench_spawn(&co, i) < 0) {
            snprintf(err, err_len, "cannot start client process %u: %s", i, strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0)
        rc = bench_coordinate(&co, err, err_len);
    if (rc < 0) {
        for (uint32_t i = 0; i < n; i++)
            if (co.p[i].pid > 0)
                kill(co.p[i].pid, SIGKILL);
    }
    if (bench_reap(&co, client_now_ns() + BENCH_COLLECT_WAIT_NS) < 0 && rc == 0) {
        snprintf(err, err_len, "a client process failed");
        rc = -1;
    }
    if (co.progress_shown)
        fputc('\n', stderr);
    if (rc == 0) {
        bench_sum(&co);
        bench_sleep_ms(o->scenario->settle_ms);
        bench_sample_mem(o, &r->after);
        uint16_t port = client_target_port(&o->target);
        r->tcp_ok = bench_proc_tcp(port, true, &r->tcp_foreign, &r->server_tcp) == 0 &&
                    bench_proc_tcp(port, false, NULL, &r->client_tcp) == 0;
    }
    for (uint32_t i = 0; i < n; i++)
        free(co.p[i].part);
    free(co.p);
    munmap(co.live, n * sizeof *co.live);
    return rc;
}
