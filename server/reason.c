#include "reason.h"

static const char *const names[REASON_COUNT] = {
    [REASON_NONE] = "none",
    [REASON_CLIENT_CLOSE] = "client_close",
    [REASON_LOGOUT] = "logout",
    [REASON_BAD_FRAME] = "bad_frame",
    [REASON_BAD_OPCODE] = "bad_opcode",
    [REASON_BAD_STATE] = "bad_state",
    [REASON_BAD_PAYLOAD] = "bad_payload",
    [REASON_FLOOD] = "flood",
    [REASON_SLOW_READER] = "slow_reader",
    [REASON_LOGIN_TIMEOUT] = "login_timeout",
    [REASON_IDLE_TIMEOUT] = "idle_timeout",
    [REASON_BANNED] = "banned",
    [REASON_KICKED] = "kicked",
    [REASON_CHEAT] = "cheat",
    [REASON_SHUTDOWN] = "shutdown",
    [REASON_IO_ERROR] = "io_error",
    [REASON_SLOW_SENDER] = "slow_sender",
    [REASON_IP_LIMIT] = "ip_limit",
    [REASON_PROXY_UNTRUSTED] = "proxy_untrusted",
    [REASON_BAD_PROXY_HEADER] = "bad_proxy_header",
    [REASON_PROXY_TIMEOUT] = "proxy_timeout",
    [REASON_BAD_TICKET] = "bad_ticket",
    [REASON_TICKET_EXPIRED] = "ticket_expired",
    [REASON_LOGGED_IN_ELSEWHERE] = "logged_in_elsewhere",
    [REASON_RESUME_OVERFLOW] = "resume_overflow",
    [REASON_RESUME_REFUSED] = "resume_refused",
};

const char *reason_name(reason_t r) { return (unsigned)r < REASON_COUNT ? names[r] : "unknown"; }

bool reason_is_abuse(reason_t r) {
    switch (r) {
    case REASON_BAD_FRAME:
    case REASON_BAD_OPCODE:
    case REASON_BAD_STATE:
    case REASON_BAD_PAYLOAD:
    case REASON_FLOOD:
    case REASON_CHEAT:
    case REASON_SLOW_SENDER:
    case REASON_BAD_TICKET:      /* a forged or replayed ticket is an attempt to be someone else */
    case REASON_PROXY_UNTRUSTED: /* claiming to be a balancer: the address is the sender's own */
        return true;
    default:
        /* A slow reader may be a phone in a tunnel; a login timeout may be a port scan. */
        return false;
    }
}
