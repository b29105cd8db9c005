/* Backend registry and the `auto` choice: io_uring when it probes OK, else epoll; IOCP on
 * Windows. Backends register by being listed here, compiled in only where the target has them. */
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

extern const io_backend_ops_t io_epoll_ops;
extern const io_backend_ops_t io_uring_ops;
extern const io_backend_ops_t io_iocp_ops;

const io_backend_ops_t *const io_backends[] = {
#ifdef GSKEL_HAVE_IO_URING
    &io_uring_ops,
#endif
#ifdef GSKEL_HAVE_EPOLL
    &io_epoll_ops,
#endif
#ifdef GSKEL_HAVE_IOCP
    &io_iocp_ops,
#endif
    NULL,
};

int io_backend_select(const char *name, const io_backend_ops_t **out, char *why, size_t why_len) {
    size_t used = 0;
    why[0] = '\0';
    for (const io_backend_ops_t *const *b = io_backends; *b; b++) {
        if (name && strcmp(name, (*b)->name) != 0) continue;
        char reason[160] = "";
        int rc = (*b)->probe(reason, sizeof reason);
        if (rc == 0) {
            *out = *b;
            return 0;
        }
        if (name) {
            snprintf(why, why_len, "%s", reason);
            return rc;
        }
        /* auto: remember why each earlier choice was skipped, for the start-up log. */
        int n = snprintf(why + used, why_len - used, "%s%s unavailable: %s", used ? "; " : "", (*b)->name, reason);
        if (n > 0 && (size_t)n < why_len - used) used += (size_t)n;
    }
    if (name) snprintf(why, why_len, "backend %s is not built into this binary", name);
    return -ENOENT;
}
