/* gskel-bench: load scenarios against a gskel-server (or the reference servers in bench/ref/).
 * `gskel-bench SCENARIO [--host H] [--port N] [--conns N] [--duration S] [--json]`: see
 * bench_usage. Exit status: 0 when the run completed (its figures say how it went), 1 when it
 * could not run, 2 on bad usage. */
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        bench_usage(stdout);
        return 0;
    }
    bench_opts_t o;
    char err[256];
    if (bench_opts_parse(&o, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "gskel-bench: %s\n", err);
        return 2;
    }
    /* The soft fd limit may sit under the hard one; every process needs up to 19,000. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    bench_run_t r;
    if (bench_fanout_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "gskel-bench: %s: %s\n", o.scenario->name, err);
        return 1;
    }
    bench_out_t out;
    bench_out_begin(&out, stdout, o.json);
    bench_out_str(&out, "scenario", o.scenario->name);
    bench_out_u64(&out, "procs", r.procs);
    o.scenario->report(&r, &out);
    bench_out_end(&out);
    return 0;
}
