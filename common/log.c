#include "log.h"

#include <stdatomic.h>

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <sys/timeb.h>
#endif

#include "log_line.h"

/* Written by log_configure before threads start; the level also by log_set_level at any time
 * (a config reload), so it is atomic. log_emit only reads them. */
static _Atomic log_level_t g_min_level = LOG_INFO;
static log_format_t g_format = LOG_FORMAT_LOGFMT;
static FILE *g_out; /* NULL: stderr, resolved per call since stderr is not a constant */

/* "2026-11-25T06:42:12.123456Z" with room for a year past 9999. */
#define LOG_TS_MAX 48

static const char *const g_level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(log_level_t min_level) { atomic_store_explicit(&g_min_level, min_level, memory_order_relaxed); }

void log_configure(log_level_t min_level, log_format_t format, FILE *out)
{
    g_min_level = min_level;
    g_format = format;
    g_out = out;
}

bool log_enabled(log_level_t level)
{
    return level >= atomic_load_explicit(&g_min_level, memory_order_relaxed);
}

static void log_timestamp(char out[LOG_TS_MAX])
{
    struct timespec ts;
#if defined(_WIN32) && !defined(TIME_UTC)
    /* msvcrt, mingw-w64's default C runtime, has no C11 timespec_get: milliseconds will do. */
    struct __timeb64 tb;
    _ftime64(&tb);
    ts = (struct timespec){ .tv_sec = (time_t)tb.time, .tv_nsec = (long)tb.millitm * 1000000L };
#else
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        ts = (struct timespec){ 0 };
#endif
    time_t t = ts.tv_sec;
    struct tm tm;
#ifdef _WIN32
    gmtime_s(&tm, &t);
#else
    gmtime_r(&t, &tm);
#endif
    size_t n = strftime(out, LOG_TS_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, LOG_TS_MAX - n, ".%06uZ", (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

void log_emit(log_level_t level, const char *event, const char *kv_fmt, ...)
{
    if (!log_enabled(level))
        return;
    if ((unsigned)level > LOG_ERROR)
        level = LOG_ERROR;

    char kv[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, kv_fmt);
    int kn = vsnprintf(kv, sizeof(kv), kv_fmt, ap);
    va_end(ap);
    if (kn < 0)
        kv[0] = '\0';
    /* A cut kv string may end inside a pair; the line builder drops that pair and says so. */
    bool kv_cut = kn >= (int)sizeof(kv);

    char ts[LOG_TS_MAX];
    log_timestamp(ts);

    char line[LOG_LINE_MAX];
    size_t len = log_line_build(line, sizeof(line), g_format == LOG_FORMAT_JSON, ts,
                                g_level_names[level], event, kv, kv_cut);

    /* One fwrite per line: stdio locks the stream per call, so threads never interleave. */
    FILE *out = g_out ? g_out : stderr;
    fwrite(line, 1, len, out);
    fflush(out);
}

const char *log_quote(char *buf, size_t cap, const char *s)
{
    if (cap == 0)
        return buf;
    if (cap < 3) {
        buf[0] = '\0';
        return buf;
    }
    if (!s)
        s = "";
    size_t o = 0;
    buf[o++] = '"';
    /* Room for the closing quote and the NUL is kept back; an escape is never cut in half. */
    size_t room = cap - 2;
    bool cut = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[7];
        size_t el = log_escape_char(*p, e);
        const char *src = el ? e : (const char *)p;
        size_t sl = el ? el : 1;
        if (o + sl > room) {
            cut = true;
            break;
        }
        memcpy(buf + o, src, sl);
        o += sl;
    }
    if (cut) {
        /* Do not leave half a UTF-8 sequence before the closing quote. */
        size_t i = o, conts = 0;
        while (i > 1 && conts < 3 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80) {
            i--;
            conts++;
        }
        unsigned char lead = (unsigned char)buf[i - 1];
        size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (i > 1 && lead >= 0xC0 && conts + 1 < want)
            o = i - 1;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
