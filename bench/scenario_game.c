/* game: N players of the sample game (server/game/zone.c, on a server with game.zone_enabled).
 * Each logs in, learns where the server spawned it from its first SNAPSHOT (a player is always
 * the first entry of its own), then on every client tick sends a MOVE one small step along a
 * back-and-forth path, and every --chat-every ticks a CHAT, which the server broadcasts to all.
 * Every frame the server sends is read and checked; a KICK, a reset or an end of stream is an
 * error. The server's side (tick time, bytes, frames per send) comes from its admin /metrics,
 * which the coordinator scrapes at the window's edges (bench_metrics.c); at the end each player
 * logs out and closes first. Wire formats: docs/protocol.md, "Game ops". */
#define _GNU_SOURCE /* epoll_pwait2 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bytes.h"

enum { GAME_OP_MOVE = 0x0100, GAME_OP_CHAT = 0x0101, GAME_OP_CHAT_MSG = 0x0102, GAME_OP_SNAPSHOT = 0x0103 };

#define GAME_SNAPSHOT_HEAD 6u  /* u32 tick, u16 count */
#define GAME_SNAPSHOT_ENTRY 12u /* u32 id, i32 x, i32 y */
#define GAME_CHAT_MSG_HEAD 5u  /* u32 from, u8 n */
#define GAME_CHAT_TEXT_MAX 200u
/* A tick's sends are spread over this many slices of it, as real clients' phases are: sending
 * every MOVE at one instant would measure the client's burst more than the server. */
#define GAME_SLICES 10u
/* A player walks one way this long, then turns back: it never strays further than speed x this
 * from its spawn point, and heads for the world's inside first (see game_spawn). */
#define GAME_LEG_S 2.0
#define GAME_MAX_EVENTS 512
/* Players keep playing this long past the window, so the coordinator's closing scrape of the
 * server's metrics still sees a game going on, not players logging out. */
#define GAME_TAIL_NS (250ull * 1000000ull)
/* What one tick may leave unsent on a connection: a MOVE and a CHAT. */
#define GAME_PEND_MAX (2u * FRAME_HEADER_BYTES + 8u + 1u + GAME_CHAT_TEXT_MAX)

/* A player's life: connected, LOGIN sent, logged in but not yet placed, walking, LOGOUT sent,
 * FIN sent (reading until the server's), and gone. */
typedef enum { GP_CONNECTED, GP_LOGIN, GP_SPAWNING, GP_PLAYING, GP_LEAVING, GP_CLOSING, GP_GONE } game_state_t;

typedef struct game_player {
    client_conn_t c;
    uint32_t index; /* global player number: its path, chat phase and send slice */
    uint32_t id;    /* session id, from LOGIN_OK */
    uint8_t st;
    bool seen_tick;
    uint32_t last_tick;    /* of its last SNAPSHOT: ticks only go up */
    uint64_t last_snap_ns; /* when that one arrived */
    double x, y;           /* where it last told the server it is */
    double dx, dy;         /* step per tick on the current leg */
    uint32_t leg;          /* ticks walked on it */
    uint16_t pend_len, pend_off;
    uint8_t pend[GAME_PEND_MAX]; /* what a short write left; nothing more is sent until it is out */
} game_player_t;

typedef struct game_ctx {
    bench_child_t *ch;
    const bench_opts_t *o;
    game_player_t *p;
    uint32_t n;
    int ep;
    bench_window_t w;
    game_player_t *cur; /* the player whose bytes are being read */
    uint64_t now;       /* when they were read */
    bool cur_kicked;    /* it was sent a KICK: it goes once the read is over */
    double slot_ns;     /* one slice of a tick */
    uint64_t slot_next; /* tick * GAME_SLICES + slice of the next sends */
    uint32_t leg_ticks;
    double step;        /* units per tick */
    uint32_t playing, left; /* players logged in / gone or closed after the window */
    uint64_t snapshots; /* all of them, for the progress line */
    bool kick_told;
} game_ctx_t;

static bool game_in_window(const game_ctx_t *x, uint64_t t)
{
    return t >= x->w.begin_ns && t < x->w.end_ns;
}

static void game_interest(game_ctx_t *x, game_player_t *p, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(p - x->p) };
    epoll_ctl(x->ep, EPOLL_CTL_MOD, p->c.fd, &ev);
}

/* -> GP_GONE. why: the stat it counts in (BENCH_RESETS, BENCH_EOFS, BENCH_KICKS), or
 * BENCH_STAT_COUNT for an orderly end, which is no error. */
static void game_gone(game_ctx_t *x, game_player_t *p, int why)
{
    if (p->st == GP_GONE)
        return;
    if (p->st >= GP_SPAWNING)
        x->left++;
    if (why != BENCH_STAT_COUNT) {
        x->ch->part->stat[why]++;
        x->ch->part->stat[BENCH_ERRORS]++;
        atomic_fetch_add_explicit(&x->ch->live->errors, 1, memory_order_relaxed);
    }
    if (p->c.fd >= 0) {
        epoll_ctl(x->ep, EPOLL_CTL_DEL, p->c.fd, NULL);
        client_close(&p->c, &x->ch->rx);
    }
    p->st = GP_GONE;
}

static void game_bad_frame(game_ctx_t *x)
{
    x->ch->part->stat[BENCH_ERRORS]++;
    atomic_fetch_add_explicit(&x->ch->live->errors, 1, memory_order_relaxed);
}

/* Writes buf, keeping what the socket did not take. Returns 0, or -1 once the player is gone. */
static int game_write(game_ctx_t *x, game_player_t *p, const uint8_t *buf, size_t len)
{
    ssize_t n = send(p->c.fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        n = 0;
    if (n < 0) {
        game_gone(x, p, BENCH_RESETS);
        return -1;
    }
    if ((size_t)n < len) {
        memcpy(p->pend, buf + n, len - (size_t)n);
        p->pend_len = (uint16_t)(len - (size_t)n);
        p->pend_off = 0;
        game_interest(x, p, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    }
    return 0;
}

static void game_flush(game_ctx_t *x, game_player_t *p)
{
    ssize_t n = send(p->c.fd, p->pend + p->pend_off, p->pend_len - p->pend_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        game_gone(x, p, BENCH_RESETS);
        return;
    }
    if (n > 0)
        p->pend_off += (uint16_t)n;
    if (p->pend_off < p->pend_len)
        return;
    p->pend_len = p->pend_off = 0;
    game_interest(x, p, EPOLLIN | EPOLLRDHUP);
}

/* GP_CONNECTED -> GP_LOGIN. */
static void game_login(game_ctx_t *x, game_player_t *p)
{
    char name[PROTO_LOGIN_NAME_MAX + 1];
    int n = snprintf(name, sizeof name, "player-%u", p->index);
    uint8_t payload[1 + PROTO_LOGIN_NAME_MAX], buf[FRAME_HEADER_BYTES + sizeof payload];
    payload[0] = (uint8_t)n;
    memcpy(payload + 1, name, (size_t)n);
    size_t len = client_frame_put(buf, sizeof buf, OP_LOGIN, payload, 1u + (size_t)n);
    p->st = GP_LOGIN;
    if (client_send_all(p->c.fd, buf, len, 1000) < 0)
        game_gone(x, p, BENCH_RESETS);
}

/* GP_LOGIN -> GP_SPAWNING. */
static void game_logged_in(game_ctx_t *x, game_player_t *p, const frame_t *f)
{
    if (p->st != GP_LOGIN || f->payload_len != 4) {
        game_bad_frame(x);
        return;
    }
    p->id = le_get_u32(f->payload);
    p->st = GP_SPAWNING;
    x->playing++;
}

/* GP_SPAWNING -> GP_PLAYING: the path starts where the server put the player. Its direction is
 * spread by the player's number; on each axis it heads toward 0 when there is room for a leg, so
 * it stays inside the world (0..game.world_size) wherever it spawned. */
static void game_spawn(game_ctx_t *x, game_player_t *p, int32_t sx, int32_t sy)
{
    double a = 2.0 * M_PI * fmod((double)p->index * 0.6180339887498949, 1.0);
    double reach = x->step * x->leg_ticks + 2.0;
    double ux = fabs(cos(a)), uy = fabs(sin(a));
    p->x = sx;
    p->y = sy;
    p->dx = (sx > reach ? -ux : ux) * x->step;
    p->dy = (sy > reach ? -uy : uy) * x->step;
    p->leg = 0;
    p->st = GP_PLAYING;
}

static void game_snapshot(game_ctx_t *x, game_player_t *p, const frame_t *f)
{
    bench_part_t *part = x->ch->part;
    uint16_t count = f->payload_len >= GAME_SNAPSHOT_HEAD ? le_get_u16(f->payload + 4) : 0;
    if (f->payload_len != GAME_SNAPSHOT_HEAD + (uint32_t)count * GAME_SNAPSHOT_ENTRY || count == 0 ||
        p->st < GP_SPAWNING || le_get_u32(f->payload + GAME_SNAPSHOT_HEAD) != p->id) {
        game_bad_frame(x); /* malformed, before LOGIN_OK, or not the player itself first */
        return;
    }
    uint32_t tick = le_get_u32(f->payload);
    if (p->seen_tick && tick <= p->last_tick)
        game_bad_frame(x);
    if (p->st == GP_SPAWNING) {
        const uint8_t *self = f->payload + GAME_SNAPSHOT_HEAD;
        game_spawn(x, p, (int32_t)le_get_u32(self + 4), (int32_t)le_get_u32(self + 8));
    }
    x->snapshots++;
    if (game_in_window(x, x->now)) {
        part->stat[BENCH_DONE]++;
        part->stat[BENCH_ITEMS] += count;
        if (p->last_snap_ns)
            hist_record(&part->hist, x->now - p->last_snap_ns);
        /* Ticks are consecutive: a gap is a snapshot the server dropped (a full ring). */
        if (p->seen_tick && tick > p->last_tick)
            part->stat[BENCH_LOST] += tick - p->last_tick - 1u;
    }
    p->seen_tick = true;
    p->last_tick = tick;
    p->last_snap_ns = x->now;
}

static void game_kicked(game_ctx_t *x, game_player_t *p, const frame_t *f)
{
    uint16_t reason = 0, len = 0;
    const uint8_t *text = NULL;
    if (client_parse_kick(f, &reason, &text, &len) < 0)
        len = 0;
    /* One line per process, so the cause is on record without a line per player. */
    if (!x->kick_told)
        fprintf(stderr, "gskel-bench: game: player %u kicked: reason %u \"%.*s\"\n", p->index, reason, (int)len,
                text ? (const char *)text : "");
    x->kick_told = true;
    x->cur_kicked = true;
}

static int game_on_frame(void *ctx, const frame_t *f)
{
    game_ctx_t *x = ctx;
    game_player_t *p = x->cur;
    if (!x->now)
        x->now = client_now_ns(); /* once per read, after the recv that brought the bytes */
    switch (f->op) {
    case GAME_OP_SNAPSHOT:
        game_snapshot(x, p, f);
        break;
    case GAME_OP_CHAT_MSG:
        if (f->payload_len < GAME_CHAT_MSG_HEAD || f->payload_len != GAME_CHAT_MSG_HEAD + f->payload[4])
            game_bad_frame(x);
        else if (game_in_window(x, x->now))
            x->ch->part->stat[BENCH_CHAT_RECV]++;
        break;
    case OP_LOGIN_OK:
        game_logged_in(x, p, f);
        break;
    case OP_LOGOUT_OK:
        /* GP_LEAVING -> GP_CLOSING: the client sends the first FIN, then reads to the server's. */
        if (p->st != GP_LEAVING || shutdown(p->c.fd, SHUT_WR) < 0)
            game_bad_frame(x);
        else
            p->st = GP_CLOSING;
        break;
    case OP_KICK:
        game_kicked(x, p, f);
        return 1;
    default:
        game_bad_frame(x);
        break;
    }
    return 0;
}

static void game_readable(game_ctx_t *x, game_player_t *p)
{
    x->cur = p;
    x->now = 0;
    x->cur_kicked = false;
    int rc = client_conn_read(&p->c, &x->ch->rx, game_on_frame, x);
    if (rc > 0 || rc == -EAGAIN)
        return;
    if (x->cur_kicked) {
        game_gone(x, p, BENCH_KICKS);
    } else if (rc == 0 && p->st == GP_CLOSING) {
        game_gone(x, p, BENCH_STAT_COUNT); /* the orderly end: FIN both ways */
    } else if (rc == CLIENT_EBADFRAME) {
        game_bad_frame(x);
        game_gone(x, p, BENCH_STAT_COUNT);
    } else {
        game_gone(x, p, rc == 0 ? BENCH_EOFS : BENCH_RESETS);
    }
}

/* One player's tick: a step on its path, and a CHAT when its turn comes. */
static void game_step(game_ctx_t *x, game_player_t *p, uint64_t tick, uint64_t now)
{
    if (p->st != GP_PLAYING || p->pend_len)
        return; /* not placed yet, or the last tick is still on its way: it waits a tick */
    if (p->leg == x->leg_ticks) {
        p->dx = -p->dx;
        p->dy = -p->dy;
        p->leg = 0;
    }
    p->leg++;
    p->x += p->dx;
    p->y += p->dy;
    uint8_t buf[GAME_PEND_MAX], pos[8];
    le_put_u32(pos, (uint32_t)(int32_t)lround(p->x));
    le_put_u32(pos + 4, (uint32_t)(int32_t)lround(p->y));
    size_t len = client_frame_put(buf, sizeof buf, GAME_OP_MOVE, pos, sizeof pos);
    /* Turns are spread evenly over the chat period, whatever the player count. */
    uint32_t every = x->o->chat_every;
    bool chat = every && tick % every == (uint64_t)p->index * every / x->o->conns;
    if (chat) {
        uint8_t text[1 + GAME_CHAT_TEXT_MAX];
        int n = snprintf((char *)text + 1, GAME_CHAT_TEXT_MAX, "player %u at tick %llu says hello", p->index,
                         (unsigned long long)tick);
        text[0] = (uint8_t)n;
        len += client_frame_put(buf + len, sizeof buf - len, GAME_OP_CHAT, text, 1u + (size_t)n);
    }
    if (game_write(x, p, buf, len) < 0)
        return;
    if (game_in_window(x, now)) {
        x->ch->part->stat[BENCH_SENT]++;
        x->ch->part->stat[BENCH_CHAT_SENT] += chat;
    }
}

/* Runs every slice that is due. A client that fell behind by a tick or more skips ahead rather
 * than sending a burst: a player never moves twice within one tick. */
static void game_ticks(game_ctx_t *x, uint64_t now)
{
    if (now < x->w.start_ns)
        return;
    uint64_t due = (uint64_t)((double)(now - x->w.start_ns) / x->slot_ns);
    if (due >= x->slot_next + GAME_SLICES)
        x->slot_next = due - GAME_SLICES + 1;
    for (; x->slot_next <= due; x->slot_next++) {
        uint64_t tick = x->slot_next / GAME_SLICES;
        uint32_t slice = (uint32_t)(x->slot_next % GAME_SLICES);
        for (uint32_t i = 0; i < x->n; i++)
            if (x->p[i].index % GAME_SLICES == slice)
                game_step(x, &x->p[i], tick, now);
    }
}

static void game_events(game_ctx_t *x, uint64_t wait_ns)
{
    struct epoll_event evs[GAME_MAX_EVENTS];
    struct timespec ts = { (time_t)(wait_ns / BENCH_NS_PER_S), (long)(wait_ns % BENCH_NS_PER_S) };
    int k = epoll_pwait2(x->ep, evs, GAME_MAX_EVENTS, &ts, NULL);
    for (int e = 0; e < k; e++) {
        game_player_t *p = &x->p[evs[e].data.u32];
        if (p->st == GP_GONE)
            continue;
        if ((evs[e].events & EPOLLOUT) && p->pend_len)
            game_flush(x, p);
        if (p->st != GP_GONE && (evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
            game_readable(x, p);
    }
    atomic_store_explicit(&x->ch->live->done, x->snapshots, memory_order_relaxed);
}

/* Every connected player sends LOGIN; waits (reading whatever comes) until all are in. */
static void game_login_all(game_ctx_t *x)
{
    for (uint32_t i = 0; i < x->n; i++)
        if (x->p[i].st == GP_CONNECTED)
            game_login(x, &x->p[i]);
    uint64_t deadline = client_now_ns() + 30ull * BENCH_NS_PER_S + (uint64_t)x->n * 1000000u;
    for (;;) {
        uint32_t waiting = 0;
        for (uint32_t i = 0; i < x->n; i++)
            waiting += x->p[i].st == GP_LOGIN;
        uint64_t now = client_now_ns();
        if (!waiting || now >= deadline)
            break;
        game_events(x, deadline - now < 100000000u ? deadline - now : 100000000u);
    }
    for (uint32_t i = 0; i < x->n; i++)
        if (x->p[i].st == GP_LOGIN)
            game_gone(x, &x->p[i], BENCH_RESETS); /* no LOGIN_OK in time */
}

static void game_play(game_ctx_t *x)
{
    uint64_t end = x->w.end_ns + GAME_TAIL_NS;
    for (uint64_t now = client_now_ns(); now < end; now = client_now_ns()) {
        game_ticks(x, now);
        double next = (double)x->w.start_ns + (double)x->slot_next * x->slot_ns;
        uint64_t until = next < (double)end ? (uint64_t)next : end;
        game_events(x, until > now ? until - now : 0);
    }
}

/* After the window: LOGOUT, LOGOUT_OK, FIN from the client, then the server's FIN. */
static void game_leave(game_ctx_t *x)
{
    static const uint8_t logout[FRAME_HEADER_BYTES] = { FRAME_HEADER_BYTES, 0, OP_LOGOUT, 0 };
    for (uint32_t i = 0; i < x->n; i++) {
        game_player_t *p = &x->p[i];
        if (p->st != GP_SPAWNING && p->st != GP_PLAYING)
            continue;
        if (p->pend_len) {
            game_gone(x, p, BENCH_STAT_COUNT); /* a torn frame is still on its way: it just closes */
            continue;
        }
        p->st = GP_LEAVING;
        game_write(x, p, logout, sizeof logout);
    }
    uint64_t deadline = client_now_ns() + BENCH_DRAIN_NS;
    for (uint64_t now = client_now_ns(); now < deadline && x->left < x->playing; now = client_now_ns())
        game_events(x, deadline - now);
    for (uint32_t i = 0; i < x->n; i++)
        game_gone(x, &x->p[i], BENCH_STAT_COUNT);
}

static int game_child(bench_child_t *ch)
{
    const bench_opts_t *o = ch->o;
    game_ctx_t x = { .ch = ch, .o = o, .n = ch->count };
    x.p = calloc(x.n, sizeof *x.p);
    client_conn_t *cc = calloc(x.n, sizeof *cc);
    x.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!x.p || !cc || x.ep < 0)
        return -1;
    x.step = o->speed / o->tick_hz;
    x.leg_ticks = (uint32_t)fmax(1.0, round(GAME_LEG_S * o->tick_hz));
    x.slot_ns = 1e9 / o->tick_hz / GAME_SLICES;
    bench_connect_all(ch, cc, x.n, BENCH_PROVE_NONE);
    for (uint32_t i = 0; i < x.n; i++) {
        game_player_t *p = &x.p[i];
        p->c = cc[i];
        p->index = ch->first + i;
        p->st = GP_CONNECTED;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i };
        if (p->c.fd < 0 || epoll_ctl(x.ep, EPOLL_CTL_ADD, p->c.fd, &ev) < 0)
            p->st = GP_GONE; /* counted by bench_connect_all */
    }
    free(cc);
    game_login_all(&x);
    ch->part->stat[BENCH_CONNS] = x.playing;
    if (bench_child_go(ch, &x.w) < 0)
        return -1;
    game_play(&x);
    game_leave(&x);
    close(x.ep);
    free(x.p);
    return 0;
}

/* One counter's growth over the window, from the server's /metrics; NAN without both scrapes. */
#define GAME_DELTA(r, field) \
    ((r)->admin_ok ? bench_metrics_delta((r)->admin_begin.field, (r)->admin_end.field) : NAN)

/* The server's side, from its /metrics: tick time and what it sent over the window; sessions it
 * ended, and why, from before the first player connected to the window's end. */
static void game_report_server(const bench_run_t *r, bench_out_t *out)
{
    const bench_metrics_t *a = &r->admin_begin, *b = &r->admin_end, *before = &r->admin_before;
    bool m = r->admin_ok;
    double ticks = GAME_DELTA(r, tick_count);
    bench_out_bool(out, "admin_ok", m);
    bench_out_num(out, "tick_p50_ms", m ? bench_metrics_quantile(a, b, 0.50) * 1e3 : NAN, 3);
    bench_out_num(out, "tick_p99_ms", m ? bench_metrics_quantile(a, b, 0.99) * 1e3 : NAN, 3);
    bench_out_num(out, "tick_mean_ms", GAME_DELTA(r, tick_sum) / ticks * 1e3, 3);
    bench_out_num(out, "server_ticks_per_sec", ticks / r->window_s, 2);
    bench_out_num(out, "tick_overruns", GAME_DELTA(r, tick_overruns), 0);
    bench_out_num(out, "bytes_per_sec", GAME_DELTA(r, bytes_sent) / r->window_s, 0);
    bench_out_num(out, "frames_per_send", GAME_DELTA(r, frames_sent) / GAME_DELTA(r, send_calls), 3);
    bench_out_num(out, "game_dropped", GAME_DELTA(r, dropped_in) + GAME_DELTA(r, dropped_out), 0);
    char reasons[512] = "";
    double ended = 0.0;
    for (uint32_t i = 0; m && i < b->reasons; i++) {
        double was = 0.0;
        for (uint32_t j = 0; j < before->reasons; j++)
            if (!strcmp(before->reason[j], b->reason[i]))
                was = before->disconnects[j];
        double d = b->disconnects[i] - was;
        if (d <= 0.0)
            continue;
        ended += d;
        size_t at = strlen(reasons);
        snprintf(reasons + at, sizeof reasons - at, "%s%s=%.0f", at ? "," : "", b->reason[i], d);
    }
    bench_out_num(out, "server_disconnects", m ? ended : NAN, 0);
    bench_out_str(out, "server_disconnect_reasons", reasons);
    if (r->cpu_ok)
        bench_out_num(out, "server_cpu_util", (double)r->cpu_ns / 1e9 / r->window_s, 3);
}

static void game_report(const bench_run_t *r, bench_out_t *out)
{
    const bench_opts_t *o = r->o;
    const uint64_t *s = r->total.stat;
    const hist_t *gaps = &r->total.hist;
    double secs = r->window_s, snaps = (double)s[BENCH_DONE], players = (double)s[BENCH_CONNS];
    bench_out_u64(out, "players", s[BENCH_CONNS]);
    bench_out_num(out, "duration_s", secs, 2);
    bench_out_num(out, "tick_hz", o->tick_hz, 2);
    bench_out_num(out, "speed", o->speed, 1);
    bench_out_u64(out, "chat_every", o->chat_every);
    game_report_server(r, out);
    bench_out_num(out, "snapshots_per_player_per_sec", players > 0 ? snaps / players / secs : NAN, 2);
    bench_out_num(out, "snapshot_entries_avg", snaps > 0 ? (double)s[BENCH_ITEMS] / snaps : NAN, 2);
    bench_out_num(out, "snapshot_gap_p50_ms", gaps->total ? (double)hist_percentile(gaps, 50.0) / 1e6 : NAN, 2);
    bench_out_num(out, "snapshot_gap_p99_ms", gaps->total ? (double)hist_percentile(gaps, 99.0) / 1e6 : NAN, 2);
    bench_out_num(out, "snapshot_gap_max_ms", gaps->total ? (double)gaps->max / 1e6 : NAN, 2);
    bench_out_u64(out, "snapshots_missed", s[BENCH_LOST]);
    /* Whether the client kept its own schedule: one MOVE per player per tick. */
    double moves = (double)s[BENCH_SENT] / secs;
    bench_out_num(out, "moves_per_sec", moves, 0);
    bench_out_bool(out, "moves_rate_reached", moves >= 0.97 * players * o->tick_hz);
    bench_out_u64(out, "chats_sent", s[BENCH_CHAT_SENT]);
    bench_out_u64(out, "chat_msgs_received", s[BENCH_CHAT_RECV]);
    bench_out_u64(out, "kicked", s[BENCH_KICKS]);
    bench_out_u64(out, "resets", s[BENCH_RESETS]);
    bench_out_u64(out, "eofs", s[BENCH_EOFS]);
    bench_out_u64(out, "errors", s[BENCH_ERRORS]);
    bench_out_tcp(out, r, false); /* players log out and close first: no TIME_WAIT on the server */
}

const bench_scenario_t bench_game = {
    .name = "game",
    .what = "sample game players (MOVE each tick, CHAT): server tick time, bytes/s, frames/send",
    .opts = BENCH_O_WARMUP | BENCH_O_GAME,
    .default_conns = 100,
    .default_duration_s = 5.0,
    .default_warmup_s = 1.0,
    .settle_ms = 200,
    .child = game_child,
    .report = game_report,
};
