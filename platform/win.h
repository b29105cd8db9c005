/* win: Windows internals shared by os_win.c, sock_win.c and io_iocp.c (Winsock start-up, error
 * mapping and text). Private to platform/: nothing above it includes this file, and the POSIX
 * twins never need it. */
#ifndef GSKEL_WIN_H
#define GSKEL_WIN_H

#include <stddef.h>

#include <winsock2.h>
#include <windows.h>

/* WSAStartup once per process (InitOnce); 0 or -errno. Called by every entry point that can be
 * the first to touch a socket: the IOCP probe and loop_open, sock_listen. */
int win_wsa_init(void);
/* A Win32 or Winsock error code as -errno (EWOULDBLOCK, ECONNRESET...), so callers above
 * platform/ compare against the same constants on every OS. Unknown codes become -EIO. */
int win_errno(DWORD err);
/* "An existing connection was forcibly closed by the remote host. (10054)" into buf. */
const char *win_error_text(DWORD err, char *buf, size_t cap);

#endif
