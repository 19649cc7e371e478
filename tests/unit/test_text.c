/*
 * test_text.c - unit tests of the text rules (common/text.c)
 *
 * Well-formed and ill-formed UTF-8 from the Unicode standard's table of
 * well-formed byte sequences (Unicode 15, section 3.9, table 3-7):
 * overlong forms, surrogates, code points past U+10FFFF, truncated
 * sequences; the control characters refused (C0, DEL, C1) and the
 * bidirectional formatting characters refused under TEXT_NO_BIDI.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/text.h"
#include "tests/harness/test.h"

static bool
clean(const char *s, unsigned flags)
{
    return text_is_clean((const uint8_t *)s, strlen(s), flags);
}

static void
test_utf8(void)
{
    static const char *const good[] = { "", "plain ascii ~", "caf\xc3\xa9",
        "\xe2\x82\xac 10", "\xf0\x9f\x98\x80", "\xef\xbf\xbd",
        "\xf4\x8f\xbf\xbf" /* U+10FFFF */, "\xed\x9f\xbf" /* U+D7FF */ };
    static const char *const bad[] = { "\xc0\xaf" /* overlong '/' */,
        "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xc1\xbf",
        "\xed\xa0\x80" /* U+D800, a surrogate */, "\xed\xbf\xbf",
        "\xf4\x90\x80\x80" /* past U+10FFFF */, "\xf5\x80\x80\x80", "\xff",
        "\x80", "caf\xc3" /* truncated */, "\xe2\x82", "\xc3\x28" };
    uint32_t cp = 0;
    size_t i;

    for (i = 0; i < ARRAY_LEN(good); i++)
        if (!clean(good[i], 0))
            TEST_FAIL("good[%zu] refused", i);
    for (i = 0; i < ARRAY_LEN(bad); i++)
        if (clean(bad[i], 0))
            TEST_FAIL("bad[%zu] accepted", i);
    ASSERT_EQ(text_utf8_next((const uint8_t *)"\xe2\x82\xac", 3, &cp), 3);
    ASSERT_EQ(cp, 0x20ac);
    ASSERT_EQ(text_utf8_next((const uint8_t *)"\xe2\x82\xac", 2, &cp), 0);
    ASSERT_EQ(text_utf8_next((const uint8_t *)"", 0, &cp), 0);
}

static void
test_controls(void)
{
    ASSERT(!clean("a\tb", 0));
    ASSERT(!clean("a\nb", 0));
    ASSERT(clean("a\nb", TEXT_ALLOW_NL));
    ASSERT(!clean("a\rb", TEXT_ALLOW_NL));
    ASSERT(!clean("a\x7f", 0));                   /* DEL */
    ASSERT(!clean("a\xc2\x80", 0));               /* U+0080 */
    ASSERT(!clean("a\xc2\x9f", 0));               /* U+009F */
    ASSERT(clean("a\xc2\xa0", 0));                /* U+00A0, not a control */
    ASSERT(clean("\xe2\x80\xae", 0));             /* U+202E is text... */
    ASSERT(!clean("\xe2\x80\xae", TEXT_NO_BIDI)); /* ...not a name */
    ASSERT(!clean("\xe2\x81\xa6", TEXT_NO_BIDI)); /* U+2066 */
    ASSERT(!clean("\xe2\x80\x8f", TEXT_NO_BIDI)); /* U+200F */
    ASSERT(!clean("\xd8\x9c", TEXT_NO_BIDI));     /* U+061C */
    ASSERT(clean("\xe2\x80\x8b", TEXT_NO_BIDI));  /* U+200B is allowed */
}

static void
test_token_and_copy(void)
{
    char small[4];

    ASSERT(text_is_token((const uint8_t *)"fraud-prevention", 16, 64));
    ASSERT(text_is_token((const uint8_t *)"a.b_c-9", 7, 7));
    ASSERT(!text_is_token((const uint8_t *)"a.b_c-9", 7, 6));
    ASSERT(!text_is_token((const uint8_t *)"", 0, 6));
    ASSERT(!text_is_token((const uint8_t *)"Upper", 5, 6));
    ASSERT(!text_is_token((const uint8_t *)"sp ace", 6, 6));
    TEXT_COPY(small, "abcdef");
    ASSERT_STR_EQ(small, "abc");
    TEXT_COPY(small, "");
    ASSERT_STR_EQ(small, "");
}

/* The tools' option numbers: the whole string, in range, or refused. */
static void
test_parse_numbers(void)
{
    uint64_t u;
    double d;

    ASSERT(text_parse_u64("42", 1, 100, &u) && u == 42);
    ASSERT(text_parse_u64("18446744073709551615", 0, UINT64_MAX, &u) &&
        u == UINT64_MAX);
    ASSERT(!text_parse_u64("18446744073709551616", 0, UINT64_MAX, &u));
    ASSERT(!text_parse_u64("0", 1, 100, &u));
    ASSERT(!text_parse_u64("101", 1, 100, &u));
    ASSERT(!text_parse_u64("-1", 0, 100, &u));
    ASSERT(!text_parse_u64(" 1", 0, 100, &u));
    ASSERT(!text_parse_u64("1x", 0, 100, &u));
    ASSERT(!text_parse_u64("", 0, 100, &u));
    ASSERT(text_parse_double("0.25", 0, 1, &d) && d == 0.25);
    ASSERT(!text_parse_double("1.5", 0, 1, &d));
    ASSERT(!text_parse_double("nan", 0, 1, &d));
    ASSERT(!text_parse_double("inf", 0, 1e300, &d));
    ASSERT(!text_parse_double("0.5s", 0, 1, &d));
    ASSERT(!text_parse_double("", 0, 1, &d));
}

int
main(void)
{
    RUN(test_utf8);
    RUN(test_controls);
    RUN(test_token_and_copy);
    RUN(test_parse_numbers);
    return 0;
}
