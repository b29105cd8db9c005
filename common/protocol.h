/* protocol: the skeleton's op numbers and payload limits from shared/DESIGN.md, "Wire protocol".
 * One definition for the server's dispatch and every client (bench/client.h, a studio's own test
 * clients). Numbers only: the codec is frame.h, the handlers are server/dispatch.c. */
#ifndef GSKEL_PROTOCOL_H
#define GSKEL_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

enum {
    OP_ECHO = 0x0001,
    OP_PING = 0x0002,
    OP_PONG = 0x0003,
    OP_LOGIN = 0x0010,
    OP_LOGIN_OK = 0x0011,
    OP_LOGOUT = 0x0012,
    OP_LOGOUT_OK = 0x0013,
    OP_RESUME = 0x0014,    /* u32 session, u8[16] token, u64 frames received: instead of LOGIN */
    OP_RESUME_OK = 0x0015, /* u64 frames of the client's the server took; the replay follows */
    OP_ACK = 0x0016,       /* u64 frames received since LOGIN_OK: the server may forget them */
    OP_KICK = 0x0020,
    OP_GAME_FIRST = 0x0100, /* ops from here up belong to the game */
};

/* Ops a server can have handlers for (skeleton and game); any op from here up is bad_opcode. */
#define PROTO_OP_LIMIT 0x1000u

/* Longest LOGIN name accepted, bytes. */
#define PROTO_LOGIN_NAME_MAX 32u
/* Longest KICK text sent, bytes: a notice for people, not a payload. */
#define PROTO_KICK_TEXT_MAX 200u
/* LOGIN's optional last byte. */
#define PROTO_LOGIN_FLAG_RESUME 0x01u /* keep frames for a RESUME after a drop */
#define PROTO_RESUME_TOKEN_BYTES 16u
#define PROTO_RESUME_BYTES (4u + PROTO_RESUME_TOKEN_BYTES + 8u)
/* PONG {u64 client_time, u64 server_time}. */
#define PROTO_PONG_BYTES 16u

/* How much of a kick's text a KICK frame carries. */
static inline uint16_t proto_kick_text_len(size_t n) {
    return (uint16_t)(n > PROTO_KICK_TEXT_MAX ? PROTO_KICK_TEXT_MAX : n);
}

#endif
