/* bytes: little-endian loads/stores and bounds-checked cursors for building and parsing
 * payloads. A reader that runs past its end sets `err` and returns zeros instead of reading out
 * of bounds, so a handler checks once at the end. No allocation, no I/O. */
#ifndef GSKEL_BYTES_H
#define GSKEL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void le_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void le_put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void le_put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint16_t le_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t le_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t le_get_u64(const uint8_t *p) { return (uint64_t)le_get_u32(p) | ((uint64_t)le_get_u32(p + 4) << 32); }

typedef struct byte_reader { const uint8_t *p; size_t len, off; bool err; } byte_reader_t;
typedef struct byte_writer { uint8_t *p; size_t cap, off; bool err; } byte_writer_t;

static inline byte_reader_t br_init(const void *p, size_t len) { return (byte_reader_t){ (const uint8_t *)p, len, 0, false }; }
static inline bool br_need(byte_reader_t *r, size_t n) {
    if (r->err || r->len - r->off < n) { r->err = true; return false; }
    return true;
}
static inline uint8_t br_u8(byte_reader_t *r) { return br_need(r, 1) ? r->p[r->off++] : 0; }
static inline uint16_t br_u16(byte_reader_t *r) { uint16_t v = br_need(r, 2) ? le_get_u16(r->p + r->off) : 0; if (!r->err) r->off += 2; return v; }
static inline uint32_t br_u32(byte_reader_t *r) { uint32_t v = br_need(r, 4) ? le_get_u32(r->p + r->off) : 0; if (!r->err) r->off += 4; return v; }
static inline uint64_t br_u64(byte_reader_t *r) { uint64_t v = br_need(r, 8) ? le_get_u64(r->p + r->off) : 0; if (!r->err) r->off += 8; return v; }
/* Returns a pointer to the next n bytes, or NULL (and err) if fewer remain. */
static inline const uint8_t *br_bytes(byte_reader_t *r, size_t n) { const uint8_t *q = br_need(r, n) ? r->p + r->off : NULL; if (q) r->off += n; return q; }
static inline size_t br_left(const byte_reader_t *r) { return r->err ? 0 : r->len - r->off; }

static inline byte_writer_t bw_init(void *p, size_t cap) { return (byte_writer_t){ (uint8_t *)p, cap, 0, false }; }
static inline uint8_t *bw_take(byte_writer_t *w, size_t n) {
    if (w->err || w->cap - w->off < n) { w->err = true; return NULL; }
    uint8_t *q = w->p + w->off; w->off += n; return q;
}
static inline void bw_u8(byte_writer_t *w, uint8_t v) { uint8_t *q = bw_take(w, 1); if (q) *q = v; }
static inline void bw_u16(byte_writer_t *w, uint16_t v) { uint8_t *q = bw_take(w, 2); if (q) le_put_u16(q, v); }
static inline void bw_u32(byte_writer_t *w, uint32_t v) { uint8_t *q = bw_take(w, 4); if (q) le_put_u32(q, v); }
static inline void bw_u64(byte_writer_t *w, uint64_t v) { uint8_t *q = bw_take(w, 8); if (q) le_put_u64(q, v); }
static inline void bw_bytes(byte_writer_t *w, const void *src, size_t n) { uint8_t *q = bw_take(w, n); if (q && n) memcpy(q, src, n); }
static inline size_t bw_left(const byte_writer_t *w) { return w->err ? 0 : w->cap - w->off; }

#endif
