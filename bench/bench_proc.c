/* What the coordinator reads about the server and the kernel, all from /proc (Linux): CPU time
 * from schedstat (ns, precise, unlike the tick-based utime), VmRSS, the kernel's Slab, and TCP
 * socket states by port. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_proc_cpu_ns(pid_t pid, uint64_t *ns)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    uint64_t sum = 0;
    int found = 0;
    struct dirent *e;
    /* Every thread: the server's time is its workers' (and any helper thread's) together. */
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p[96];
        snprintf(p, sizeof p, "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue; /* the thread exited meanwhile */
        uint64_t run = 0;
        if (fscanf(f, "%" SCNu64, &run) == 1) {
            sum += run;
            found++;
        }
        fclose(f);
    }
    closedir(d);
    if (!found)
        return -ENOENT;
    *ns = sum;
    return 0;
}

/* The "KEY: N kB" line of a /proc file, in bytes. */
static int bench_proc_kb(const char *path, const char *key, uint64_t *bytes)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[256];
    size_t klen = strlen(key);
    int rc = -ENOENT;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            *bytes = strtoull(line + klen + 1, NULL, 10) * 1024u;
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

int bench_proc_rss(pid_t pid, uint64_t *bytes)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    return bench_proc_kb(path, "VmRSS", bytes);
}

int bench_proc_slab(uint64_t *bytes)
{
    return bench_proc_kb("/proc/meminfo", "Slab", bytes);
}

static bool bench_tcp_is_foreign(const bench_tcp_foreign_t *foreign, const char *laddr, const char *raddr)
{
    for (uint32_t i = 0; foreign && i < foreign->n; i++)
        if (!strcmp(foreign->pair[i][0], laddr) && !strcmp(foreign->pair[i][1], raddr))
            return true;
    return false;
}

/* Counts into out (by state) or, with remember, records into it the connections on port. */
static int bench_proc_tcp_file(const char *path, uint16_t port, bool local, const bench_tcp_foreign_t *foreign,
                               bench_tcp_t *out, bench_tcp_foreign_t *remember)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -errno; /* no IPv6: nothing to count */
    char line[512];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        /* "  sl  local_address rem_address   st ...": addresses are HEX_IP:HEX_PORT. */
        char laddr[48], raddr[48];
        unsigned st;
        if (sscanf(line, "%*s %47s %47s %x", laddr, raddr, &st) != 3)
            continue;
        const char *colon = strrchr(local ? laddr : raddr, ':');
        if (!colon || strtoul(colon + 1, NULL, 16) != port)
            continue;
        if (remember) {
            if (remember->n < BENCH_TCP_FOREIGN_MAX) {
                memcpy(remember->pair[remember->n][0], laddr, sizeof laddr);
                memcpy(remember->pair[remember->n][1], raddr, sizeof raddr);
                remember->n++;
            }
        } else if (st > 0 && st <= BENCH_TCP_STATES && !bench_tcp_is_foreign(foreign, laddr, raddr)) {
            out->state[st - 1]++;
        }
    }
    fclose(f);
    return 0;
}

int bench_proc_tcp_foreign(uint16_t port, bench_tcp_foreign_t *out)
{
    out->n = 0;
    int rc = bench_proc_tcp_file("/proc/net/tcp", port, true, NULL, NULL, out);
    if (rc == 0)
        rc = bench_proc_tcp_file("/proc/net/tcp6", port, true, NULL, NULL, out);
    return rc;
}

int bench_proc_tcp(uint16_t port, bool local, const bench_tcp_foreign_t *foreign, bench_tcp_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = bench_proc_tcp_file("/proc/net/tcp", port, local, foreign, out, NULL);
    if (rc == 0)
        rc = bench_proc_tcp_file("/proc/net/tcp6", port, local, foreign, out, NULL);
    return rc;
}
