/* Windows threads, clocks and stop events: see os.h. The twin of os_posix.c; also the Win32 error
 * mapping and text that sock_win.c and io_iocp.c share (win.h). */
#include "os.h"

#include <errno.h>
#include <process.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "win.h"

struct os_thread {
    HANDLE handle;
    os_thread_fn fn;
    void *arg;
    char name[16];
};

/* SetThreadDescription exists from Windows 10 1607 on: looked up, so older systems still run. */
typedef HRESULT(WINAPI *set_thread_description_fn)(HANDLE, PCWSTR);

static void name_this_thread(const char *name) {
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
    FARPROC p = k32 ? GetProcAddress(k32, "SetThreadDescription") : NULL;
    if (!p) return;
    set_thread_description_fn set;
    memcpy(&set, &p, sizeof set); /* FARPROC to a typed pointer without a cast warning */
    WCHAR wide[16];
    if (MultiByteToWideChar(CP_UTF8, 0, name, -1, wide, (int)(sizeof wide / sizeof wide[0])) > 0)
        set(GetCurrentThread(), wide);
}

/* _beginthreadex, not CreateThread: the thread uses the C runtime (stdio, errno). */
static unsigned __stdcall thread_main(void *p) {
    os_thread_t *t = p;
    name_this_thread(t->name);
    t->fn(t->arg);
    return 0;
}

int os_thread_start(os_thread_t **out, const char *name, os_thread_fn fn, void *arg) {
    os_thread_t *t = gs_calloc(1, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    strncpy(t->name, name, sizeof t->name - 1);
    uintptr_t h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (h == 0) {
        int rc = -errno;
        gs_free(t);
        return rc ? rc : -EAGAIN;
    }
    t->handle = (HANDLE)h;
    *out = t;
    return 0;
}

void os_thread_join(os_thread_t *t) {
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
    gs_free(t);
}

int os_thread_pin(int cpu) {
    /* The plain affinity mask covers the first processor group (64 CPUs). */
    if (cpu < 0 || cpu >= 64) return -EINVAL;
    return SetThreadAffinityMask(GetCurrentThread(), (DWORD_PTR)1 << cpu) ? 0 : win_errno(GetLastError());
}

uint64_t os_now_us(void) {
    static LARGE_INTEGER freq; /* constant from boot; a racing first read writes the same value */
    if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    uint64_t f = (uint64_t)freq.QuadPart, n = (uint64_t)c.QuadPart;
    /* Split so n * 1e6 cannot overflow (it would after ~21 days at a 10 MHz counter). */
    return n / f * 1000000u + n % f * 1000000u / f;
}

uint64_t os_wall_us(void) {
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
    return (t - 116444736000000000ull) / 10u;
}

int os_cpu_count(void) {
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n > 0 ? (int)n : 1;
}

static os_stop_fn stop_fn;

/* Runs on a thread the system creates for the event. Ctrl+C / Ctrl+Break (and Wine's SIGINT) ask
 * for a stop and return at once. Close and shutdown (console closed, service host stopping)
 * end the process as soon as the handler returns, so the handler asks for a stop and then waits:
 * main() returning ends the process, with its own exit status, inside the system's grace time.
 * Logoff is left to the default handler: a service host gets one for every user who logs off. */
static BOOL WINAPI on_console_ctrl(DWORD type) {
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
        if (stop_fn) stop_fn(SIGINT);
        return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        if (stop_fn) stop_fn(SIGTERM);
        Sleep(INFINITE);
        return TRUE;
    default:
        return FALSE;
    }
}

int os_on_stop_signals(os_stop_fn fn) {
    stop_fn = fn;
    /* No SIGPIPE on Windows: a send to a reset peer fails with WSAECONNRESET. */
    return SetConsoleCtrlHandler(on_console_ctrl, TRUE) ? 0 : win_errno(GetLastError());
}

typedef struct win_errno_map {
    DWORD err;
    int errnum;
} win_errno_map_t;

static const win_errno_map_t errno_map[] = {
    { WSAEWOULDBLOCK, EWOULDBLOCK },
    { WSAEINPROGRESS, EINPROGRESS },
    { WSAEALREADY, EALREADY },
    { WSAENOTSOCK, ENOTSOCK },
    { WSAEDESTADDRREQ, EDESTADDRREQ },
    { WSAEMSGSIZE, EMSGSIZE },
    { WSAEPROTOTYPE, EPROTOTYPE },
    { WSAENOPROTOOPT, ENOPROTOOPT },
    { WSAEPROTONOSUPPORT, EPROTONOSUPPORT },
    { WSAEOPNOTSUPP, EOPNOTSUPP },
    { WSAEAFNOSUPPORT, EAFNOSUPPORT },
    { WSAEADDRINUSE, EADDRINUSE },
    { WSAEADDRNOTAVAIL, EADDRNOTAVAIL },
    { WSAENETDOWN, ENETDOWN },
    { WSAENETUNREACH, ENETUNREACH },
    { WSAENETRESET, ENETRESET },
    { WSAECONNABORTED, ECONNABORTED },
    { WSAECONNRESET, ECONNRESET },
    { WSAENOBUFS, ENOBUFS },
    { WSAEISCONN, EISCONN },
    { WSAENOTCONN, ENOTCONN },
    { WSAESHUTDOWN, EPIPE },
    { WSAEDISCON, EPIPE },
    { WSAETIMEDOUT, ETIMEDOUT },
    { WSAECONNREFUSED, ECONNREFUSED },
    { WSAEHOSTUNREACH, EHOSTUNREACH },
    { WSAEMFILE, EMFILE },
    { WSAEINVAL, EINVAL },
    { WSAEBADF, EBADF },
    { WSAEACCES, EACCES },
    { WSAEFAULT, EFAULT },
    { WSAEINTR, EINTR },
    { WSANOTINITIALISED, ENETDOWN },
    { WSASYSNOTREADY, ENETDOWN },
    { WSAVERNOTSUPPORTED, ENOTSUP },
    { WSA_NOT_ENOUGH_MEMORY, ENOMEM },
    { ERROR_OPERATION_ABORTED, ECANCELED },
    /* What a reset peer looks like through GetQueuedCompletionStatus, before WSA translation. */
    { ERROR_NETNAME_DELETED, ECONNRESET },
    { ERROR_CONNECTION_ABORTED, ECONNABORTED },
    { ERROR_CONNECTION_REFUSED, ECONNREFUSED },
    { ERROR_NOT_ENOUGH_MEMORY, ENOMEM },
    { ERROR_OUTOFMEMORY, ENOMEM },
    { ERROR_INVALID_HANDLE, EBADF },
    { ERROR_INVALID_PARAMETER, EINVAL },
    { ERROR_NOT_FOUND, ENOENT },
    { ERROR_NOT_SUPPORTED, ENOTSUP },
    { ERROR_ACCESS_DENIED, EACCES },
    { ERROR_TOO_MANY_OPEN_FILES, EMFILE },
};

int win_errno(DWORD err) {
    for (size_t i = 0; i < sizeof errno_map / sizeof errno_map[0]; i++)
        if (errno_map[i].err == err) return -errno_map[i].errnum;
    return -EIO;
}

const char *win_error_text(DWORD err, char *buf, size_t cap) {
    if (cap == 0) return buf;
    char msg[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
                             MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), msg, (DWORD)sizeof msg, NULL);
    while (n > 0 && (msg[n - 1] == '\r' || msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.')) n--;
    msg[n] = '\0';
    snprintf(buf, cap, "%s (%lu)", n ? msg : "error", (unsigned long)err);
    return buf;
}

/* Windows has no SIGHUP and a console sends nothing like it: reload comes from elsewhere there
 * (the admin endpoint), so this only says it is unsupported. */
int os_on_reload_signal(os_stop_fn fn) {
    (void)fn;
    return -ENOTSUP;
}

void os_sleep_ms(uint32_t ms) { Sleep(ms); }
