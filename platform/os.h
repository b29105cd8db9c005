/* os: threads, clocks, CPU count and stop signals: the OS services above sockets, so nothing
 * outside platform/ includes pthread.h, signal.h or windows.h. */
#ifndef GSKEL_OS_H
#define GSKEL_OS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct os_thread os_thread_t;
typedef void (*os_thread_fn)(void *arg);

int os_thread_start(os_thread_t **out, const char *name, os_thread_fn fn, void *arg);
void os_thread_join(os_thread_t *t); /* also frees t */
/* Pins the calling thread to one CPU; -errno where unsupported. */
int os_thread_pin(int cpu);

uint64_t os_now_us(void);         /* monotonic */
uint64_t os_wall_us(void);        /* real time, µs since the Unix epoch (PONG's server time) */
int os_cpu_count(void);

/* Calls fn (async-signal-safe context: it must only set flags / io_wake) on SIGINT and SIGTERM,
 * and ignores SIGPIPE. */
typedef void (*os_stop_fn)(int signo);
int os_on_stop_signals(os_stop_fn fn);
/* Calls fn (same rules) on SIGHUP: reload the config. No-op where there is no such signal. */
int os_on_reload_signal(os_stop_fn fn);

void os_sleep_ms(uint32_t ms);

#endif
