/* reason: why a session ended. One enum with stable names: they appear in the disconnect log
 * line, in metrics (gskel_disconnects_total{reason=...}) and in KICK frames, so never renumber or
 * rename; add at the end. */
#ifndef GSKEL_REASON_H
#define GSKEL_REASON_H

#include <stdbool.h>

typedef enum {
    REASON_NONE = 0,
    REASON_CLIENT_CLOSE,  /* peer closed first (FIN): the good path */
    REASON_LOGOUT,        /* LOGOUT, then the client closed or the grace ran out */
    REASON_BAD_FRAME,     /* length outside 4..max_frame_bytes */
    REASON_BAD_OPCODE,    /* op with no handler */
    REASON_BAD_STATE,     /* op not allowed in this session state (game op before LOGIN) */
    REASON_BAD_PAYLOAD,   /* a known op whose payload does not parse */
    REASON_FLOOD,         /* over the packet or byte rate */
    REASON_SLOW_READER,   /* send queue past its limit: the peer stopped reading */
    REASON_LOGIN_TIMEOUT,
    REASON_IDLE_TIMEOUT,
    REASON_BANNED,
    REASON_KICKED,        /* operator or game kick */
    REASON_CHEAT,
    REASON_SHUTDOWN,
    REASON_IO_ERROR,      /* the socket failed (reset by peer, ...) */
    REASON_SLOW_SENDER,   /* a frame begun and not finished within guard.partial_frame_timeout_ms */
    REASON_IP_LIMIT,      /* reset at accept: the address has guard.max_conns_per_ip already */
    REASON_PROXY_UNTRUSTED, /* a PROXY header from a source not in listen.trusted_proxies */
    REASON_BAD_PROXY_HEADER, /* a trusted source's header malformed, or missing */
    REASON_PROXY_TIMEOUT, /* the header not complete within listen.proxy_header_timeout_ms */
    REASON_BAD_TICKET,    /* a LOGIN ticket forged, malformed, or replayed (auth.mode "ticket") */
    REASON_TICKET_EXPIRED, /* a well-formed ticket past its expiry, or signed by a key not loaded */
    REASON_LOGGED_IN_ELSEWHERE, /* a newer LOGIN for the same account took over */
    REASON_RESUME_OVERFLOW, /* frames owed to a resumable session outgrew session.resume_buffer_bytes */
    REASON_RESUME_REFUSED, /* RESUME for a session that is gone (window over, ended) or leaving */
    REASON_COUNT
} reason_t;

const char *reason_name(reason_t r);
/* Reasons that count towards an automatic ban of the address (guard.autoban_kicks). */
bool reason_is_abuse(reason_t r);

#endif
