/* POSIX threads, clocks and signals: see os.h. */
#define _GNU_SOURCE /* accept4, CPU sets, pthread_setname_np */
#include "os.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"

struct os_thread {
    pthread_t tid;
    os_thread_fn fn;
    void *arg;
    char name[16];
};

static void *thread_main(void *p) {
    os_thread_t *t = p;
#ifdef __linux__
    pthread_setname_np(pthread_self(), t->name);
#endif
    t->fn(t->arg);
    return NULL;
}

int os_thread_start(os_thread_t **out, const char *name, os_thread_fn fn, void *arg) {
    os_thread_t *t = gs_calloc(1, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    strncpy(t->name, name, sizeof t->name - 1);
    /* Threads start with the stop signals blocked: they are delivered to the main thread only,
     * whose handler knows when the server may be touched. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    int rc = pthread_create(&t->tid, NULL, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        gs_free(t);
        return -rc;
    }
    *out = t;
    return 0;
}

void os_thread_join(os_thread_t *t) {
    pthread_join(t->tid, NULL);
    gs_free(t);
}

int os_thread_pin(int cpu) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof set, &set);
#else
    (void)cpu;
    return -ENOTSUP;
#endif
}

uint64_t os_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t os_wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int os_cpu_count(void) {
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* One callback per signal we take; the handler only forwards (async-signal-safe callers). */
static os_stop_fn signal_fns[NSIG];

static void on_signal(int signo) {
    if (signo > 0 && signo < NSIG && signal_fns[signo]) signal_fns[signo](signo);
}

static int take_signal(int signo, os_stop_fn fn) {
    signal_fns[signo] = fn;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL) < 0 ? -errno : 0;
}

int os_on_stop_signals(os_stop_fn fn) {
    int rc = take_signal(SIGINT, fn);
    if (rc == 0) rc = take_signal(SIGTERM, fn);
    if (rc < 0) return rc;
    /* A peer's reset must be an error on the send, not the death of the process. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int os_on_reload_signal(os_stop_fn fn) { return take_signal(SIGHUP, fn); }

void os_sleep_ms(uint32_t ms) {
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}
