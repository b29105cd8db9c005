/* bytes: little-endian layout and the bounds-checked cursors' sticky error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bytes.h"

static void le_stores_least_significant_byte_first(void **state)
{
    (void)state;
    uint8_t b[8];
    le_put_u16(b, 0x1234);
    assert_int_equal(b[0], 0x34);
    assert_int_equal(b[1], 0x12);
    le_put_u32(b, 0x89abcdefu);
    const uint8_t w32[4] = { 0xef, 0xcd, 0xab, 0x89 };
    assert_memory_equal(b, w32, 4);
    le_put_u64(b, 0x0102030405060708ull);
    const uint8_t w64[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
    assert_memory_equal(b, w64, 8);
}

static void le_loads_round_trip_high_bit_values(void **state)
{
    (void)state;
    uint8_t b[8];
    le_put_u16(b, 0xfffe);
    assert_int_equal(le_get_u16(b), 0xfffe);
    le_put_u32(b, 0xfedcba98u);
    assert_int_equal(le_get_u32(b), 0xfedcba98u);
    le_put_u64(b, 0xfedcba9876543210ull);
    assert_true(le_get_u64(b) == 0xfedcba9876543210ull);
}

static void reader_reads_fields_in_order(void **state)
{
    (void)state;
    const uint8_t buf[] = { 0x7f, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 1, 0, 0, 0, 0, 0, 0, 0x80, 'h', 'i' };
    byte_reader_t r = br_init(buf, sizeof(buf));
    assert_int_equal(br_u8(&r), 0x7f);
    assert_int_equal(br_u16(&r), 0x0102);
    assert_int_equal(br_u32(&r), 0x01020304u);
    assert_true(br_u64(&r) == 0x8000000000000001ull);
    const uint8_t *s = br_bytes(&r, 2);
    assert_non_null(s);
    assert_memory_equal(s, "hi", 2);
    assert_int_equal(br_left(&r), 0);
    assert_false(r.err);
}

static void reader_past_end_sets_err_and_returns_zero(void **state)
{
    (void)state;
    const uint8_t buf[3] = { 1, 2, 3 };
    byte_reader_t r = br_init(buf, sizeof(buf));
    assert_int_equal(br_u32(&r), 0);
    assert_true(r.err);
    assert_int_equal(r.off, 0);
}

static void reader_error_is_sticky(void **state)
{
    (void)state;
    const uint8_t buf[3] = { 1, 2, 3 };
    byte_reader_t r = br_init(buf, sizeof(buf));
    br_u32(&r);
    assert_int_equal(br_u8(&r), 0);
    assert_null(br_bytes(&r, 1));
    assert_int_equal(br_left(&r), 0);
}

static void reader_bytes_longer_than_left_is_null(void **state)
{
    (void)state;
    const uint8_t buf[4] = { 0 };
    byte_reader_t r = br_init(buf, sizeof(buf));
    br_u8(&r);
    assert_null(br_bytes(&r, 4));
    assert_true(r.err);
}

static void writer_writes_little_endian_fields(void **state)
{
    (void)state;
    uint8_t buf[16];
    byte_writer_t w = bw_init(buf, sizeof(buf));
    bw_u8(&w, 0xaa);
    bw_u16(&w, 0x0102);
    bw_u32(&w, 0x03040506u);
    bw_bytes(&w, "xyz", 3);
    const uint8_t want[] = { 0xaa, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 'x', 'y', 'z' };
    assert_false(w.err);
    assert_int_equal(w.off, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(bw_left(&w), sizeof(buf) - sizeof(want));
}

static void writer_overflow_sets_err_and_writes_nothing(void **state)
{
    (void)state;
    uint8_t buf[6] = { 0 };
    byte_writer_t w = bw_init(buf, 5);
    bw_u32(&w, 0x11111111u);
    bw_u16(&w, 0x2222);
    assert_true(w.err);
    assert_int_equal(w.off, 4);
    assert_int_equal(buf[4], 0);
    assert_int_equal(buf[5], 0);
    assert_int_equal(bw_left(&w), 0);
}

static void writer_bytes_overflow_copies_nothing(void **state)
{
    (void)state;
    uint8_t buf[4] = { 0 };
    byte_writer_t w = bw_init(buf, 2);
    bw_bytes(&w, "abc", 3);
    assert_true(w.err);
    assert_int_equal(buf[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(le_stores_least_significant_byte_first),
        cmocka_unit_test(le_loads_round_trip_high_bit_values),
        cmocka_unit_test(reader_reads_fields_in_order),
        cmocka_unit_test(reader_past_end_sets_err_and_returns_zero),
        cmocka_unit_test(reader_error_is_sticky),
        cmocka_unit_test(reader_bytes_longer_than_left_is_null),
        cmocka_unit_test(writer_writes_little_endian_fields),
        cmocka_unit_test(writer_overflow_sets_err_and_writes_nothing),
        cmocka_unit_test(writer_bytes_overflow_copies_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
