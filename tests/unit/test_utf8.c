/* utf8_valid (common/utf8.h): well-formed UTF-8 of every length passes; overlong forms,
 * surrogates, code points above U+10FFFF, truncated sequences and stray bytes do not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "utf8.h"

#define VALID(s) utf8_valid((const uint8_t *)(s), sizeof(s) - 1)

static void well_formed_text_of_every_length_passes(void **state)
{
    (void)state;
    assert_true(VALID(""));
    assert_true(VALID("plain ascii"));
    assert_true(VALID("\xc3\xa9"));         /* U+00E9 */
    assert_true(VALID("\xe2\x9c\x93"));     /* U+2713 */
    assert_true(VALID("\xf0\x9f\x8e\xae")); /* U+1F3AE */
    assert_true(VALID("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last */
}

static void overlong_forms_are_refused(void **state)
{
    (void)state;
    assert_false(VALID("\xc0\xaf"));         /* '/' in two bytes */
    assert_false(VALID("\xe0\x80\xaf"));     /* '/' in three */
    assert_false(VALID("\xf0\x80\x80\xaf")); /* '/' in four */
}

static void surrogates_and_code_points_past_the_last_are_refused(void **state)
{
    (void)state;
    assert_false(VALID("\xed\xa0\x80"));     /* U+D800 */
    assert_false(VALID("\xf4\x90\x80\x80")); /* U+110000 */
}

static void truncated_and_stray_bytes_are_refused(void **state)
{
    (void)state;
    assert_false(VALID("\xe2\x9c"));     /* cut short at the end */
    assert_false(VALID("\xe2\x41\x93")); /* a continuation byte missing in the middle */
    assert_false(VALID("a\x80"));        /* a continuation with no lead */
    assert_false(VALID("\xff"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(well_formed_text_of_every_length_passes),
        cmocka_unit_test(overlong_forms_are_refused),
        cmocka_unit_test(surrogates_and_code_points_past_the_last_are_refused),
        cmocka_unit_test(truncated_and_stray_bytes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
