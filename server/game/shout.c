/* shout: the worked example of messages between instances (docs/scaling.md), to a channel and to
 * one player. SHOUT {u8 n, n bytes of UTF-8} is published on the channel "shout" with the
 * shouter's display name; every instance's module sends it as SHOUT_MSG {u8 name length, name,
 * u8 n, text} to each of its sessions that has shouted at least once (nobody gets frames unasked).
 * TELL {u64 account, u8 n, text} is published on "tell"; the instance whose game holds that
 * account sends it to that player as TELL_MSG {u8 name length, name, u8 n, text}; the others drop
 * it. With no cluster both stay on this instance. Wire formats: docs/protocol.md, "Game ops". */
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "config.h"
#include "game_api.h"
#include "session_set.h"
#include "utf8.h"

enum { OP_SHOUT = 0x0120, OP_SHOUT_MSG = 0x0121, OP_TELL = 0x0122, OP_TELL_MSG = 0x0123 };
#define SHOUT_TEXT_MAX 200u
#define SHOUT_CHANNEL "shout"
#define TELL_CHANNEL "tell"
#define SHOUT_NAME_MAX 32u
/* {u8 name length, name, u8 n, text}: what SHOUT_MSG and TELL_MSG carry. */
#define SHOUT_LINE_MAX (1u + SHOUT_NAME_MAX + 1u + SHOUT_TEXT_MAX)

typedef struct shout {
    session_set_t listeners; /* sessions that have shouted */
} shout_t;

/* {u8 n, text} well-formed, or the session is aborted (bad_payload). */
static bool text_valid(game_t *g, uint32_t session, const uint8_t *text, size_t len) {
    if (len >= 1 && text[0] != 0 && text[0] <= SHOUT_TEXT_MAX && len == 1u + text[0] && utf8_valid(text + 1, text[0]))
        return true;
    game_abort(g, session, REASON_BAD_PAYLOAD);
    return false;
}

/* {u8 name length, name, u8 n, text} into out: its length. */
static size_t line_of(game_t *g, uint32_t session, const uint8_t *text, uint8_t *out) {
    size_t name_len = 0;
    const char *name = game_session_name(g, session, &name_len);
    out[0] = (uint8_t)name_len;
    if (name_len) memcpy(out + 1, name, name_len);
    memcpy(out + 1 + name_len, text, 1u + text[0]);
    return 1 + name_len + 1 + text[0];
}

static void on_shout(game_t *g, void *state, uint32_t session, const uint8_t *payload, uint16_t len) {
    shout_t *s = state;
    if (!text_valid(g, session, payload, len)) return;
    session_set_add(&s->listeners, session);
    uint8_t line[SHOUT_LINE_MAX];
    game_publish(g, SHOUT_CHANNEL, line, line_of(g, session, payload, line));
}

static void on_message(game_t *g, void *state, const uint8_t *data, size_t len) {
    shout_t *s = state;
    if (len < 2 || len > SHOUT_LINE_MAX) return; /* not one of ours */
    for (uint32_t i = 0; i < s->listeners.count; i++) game_send(g, s->listeners.ids[i], OP_SHOUT_MSG, data, (uint16_t)len);
}

/* TELL {u64 account, u8 n, text}: published as {u64 account, the line}. */
static void on_tell(game_t *g, void *state, uint32_t session, const uint8_t *payload, uint16_t len) {
    (void)state;
    if (len < 8) {
        game_abort(g, session, REASON_BAD_PAYLOAD);
        return;
    }
    if (!text_valid(g, session, payload + 8, len - 8u)) return;
    uint8_t msg[8 + SHOUT_LINE_MAX];
    memcpy(msg, payload, 8);
    game_publish(g, TELL_CHANNEL, msg, 8 + line_of(g, session, payload + 8, msg + 8));
}

static void on_tell_message(game_t *g, void *state, const uint8_t *data, size_t len) {
    (void)state;
    if (len < 8 + 2 || len > 8 + SHOUT_LINE_MAX) return;
    uint32_t to = game_account_session(g, le_get_u64(data));
    if (to != UINT32_MAX) game_send(g, to, OP_TELL_MSG, data + 8, (uint16_t)(len - 8));
}

static void shout_leave(game_t *g, void *state, uint32_t session) {
    (void)g;
    session_set_remove(&((shout_t *)state)->listeners, session);
}

static void shout_destroy(void *state) {
    shout_t *s = state;
    session_set_destroy(&s->listeners);
    gs_free(s);
}

static int shout_init(game_t *g, void **state) {
    shout_t *s = gs_calloc(1, sizeof *s);
    session_set_init(&s->listeners, game_config(g)->session.max_sessions);
    int rc = game_register_op(g, OP_SHOUT, "shout", on_shout, s);
    if (rc == 0) rc = game_register_op(g, OP_TELL, "tell", on_tell, s);
    if (rc == 0) rc = game_subscribe(g, SHOUT_CHANNEL, on_message, s);
    if (rc == 0) rc = game_subscribe(g, TELL_CHANNEL, on_tell_message, s);
    if (rc < 0) {
        shout_destroy(s);
        return rc;
    }
    *state = s;
    return 0;
}

const game_module_t shout_module = {
    .name = "shout",
    .init = shout_init,
    .on_leave = shout_leave,
    .destroy = shout_destroy,
};
