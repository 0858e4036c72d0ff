/* Transport address text: parse, RFC 5952 formatting, equality. */
#include "harness/check.h"

#include <dsrtp/stun.h>

static dsrtp_err parse(const char *text, dsrtp_addr *a)
{
    return dsrtp_addr_parse(text, strlen(text), a);
}

/* Parses text and formats it back to want. */
static void expect_text(const char *text, const char *want)
{
    dsrtp_addr a;
    dsrtp_addr b;
    char out[DSRTP_ADDR_TEXT_MAX];
    CHECK_OK(parse(text, &a));
    CHECK_OK(dsrtp_addr_format(&a, out, sizeof out));
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "%s formatted as %s, wanted %s\n", text, out, want);
        CHECK(false);
    }
    CHECK_OK(parse(out, &b));
    CHECK(dsrtp_addr_equal(&a, &b));
}

static void test_addr_parse_and_format_round_trip_ipv4(void)
{
    dsrtp_addr a;
    CHECK_OK(parse("192.0.2.1:32853", &a));
    CHECK_EQ(a.family, 4);
    CHECK_EQ(a.port, 32853);
    CHECK_MEM(a.ip, "\xc0\x00\x02\x01", 4);
    expect_text("1.2.3.4:5", "1.2.3.4:5");
    expect_text("0.0.0.0:0", "0.0.0.0:0");
    expect_text("255.255.255.255:65535", "255.255.255.255:65535");
}

static void test_addr_parse_rejects_malformed_ipv4(void)
{
    static const char *bad[] = {
        "1.2.3:5",    "1.2.3.4.5:5", "256.1.1.1:5", "01.2.3.4:5", "1.2.3.4",   "1.2.3.4:",
        "1.2.3.4:05", "1.2.3.4:65536", "1..3.4:5",  "a.b.c.d:5",  ":5",        "1.2.3.4:5x",
        "1.2.3.4 :5", "",            "1.2.3.4:-1", "1234.1.1.1:5",
    };
    dsrtp_addr a;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &a) != DSRTP_ERR_MALFORMED) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            CHECK(false);
        }
    }
}

static void test_addr_format_writes_rfc5952_canonical_ipv6(void)
{
    dsrtp_addr a;
    CHECK_OK(parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853", &a));
    CHECK_EQ(a.family, 6);
    CHECK_EQ(a.port, 32853);
    CHECK_MEM(a.ip, "\x20\x01\x0d\xb8\x12\x34\x56\x78\x00\x11\x22\x33\x44\x55\x66\x77", 16);
    expect_text("[::1]:5", "[::1]:5");
    expect_text("[::]:5", "[::]:5");
    expect_text("[2001:DB8:0:0:0:0:0:1]:443", "[2001:db8::1]:443");
    expect_text("[2001:db8:0:0:1:0:0:1]:1", "[2001:db8::1:0:0:1]:1"); /* first of equal runs */
    expect_text("[2001:0:0:1:0:0:0:1]:1", "[2001:0:0:1::1]:1");     /* longest run */
    expect_text("[2001:db8:0:1:1:1:1:1]:1", "[2001:db8:0:1:1:1:1:1]:1"); /* no lone "::" */
    expect_text("[1::]:9", "[1::]:9");
    expect_text("[::ffff:192.0.2.1]:7", "[::ffff:192.0.2.1]:7");
    expect_text("[::ffff:c000:201]:7", "[::ffff:192.0.2.1]:7");
    expect_text("[64:ff9b::192.0.2.33]:7", "[64:ff9b::c000:221]:7");
    expect_text("[1:2:3:4:5:6:7::]:1", "[1:2:3:4:5:6:7:0]:1");
    expect_text("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void test_addr_parse_rejects_malformed_ipv6(void)
{
    static const char *bad[] = {
        "[::1]",          "::1:5",          "[1::2::3]:5",     "[12345::]:5",   "[:1]:5",
        "[1:]:5",         "[1:2:3:4:5:6:7:8:9]:5", "[1:2:3:4:5:6:7]:5", "[]:5", "[::1%eth0]:5",
        "[::g]:5",        "[:::]:5",        "[1:2:3:4:5:6:7:8::]:5", "[::1.2.3]:5", "[::1]5",
        "[1.2.3.4::]:5",  "[::1.2.3.4:5]:5", "[1:2:3:4:5:6:7:1.2.3.4]:5", "[::1]:", "::1]:5",
    };
    dsrtp_addr a;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &a) != DSRTP_ERR_MALFORMED) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            CHECK(false);
        }
    }
}

static void test_addr_parse_reads_only_the_given_length(void)
{
    dsrtp_addr a;
    CHECK_OK(dsrtp_addr_parse("10.0.0.1:80 trailing", 11, &a));
    CHECK_EQ(a.port, 80);
    CHECK_ERR(dsrtp_addr_parse("10.0.0.1:80 trailing", 12, &a), DSRTP_ERR_MALFORMED);
}

static void test_addr_format_refuses_a_short_buffer_and_bad_family(void)
{
    dsrtp_addr a;
    char out[DSRTP_ADDR_TEXT_MAX];
    CHECK_OK(parse("1.2.3.4:5", &a));
    memset(out, 'x', sizeof out);
    CHECK_ERR(dsrtp_addr_format(&a, out, 9), DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(out[0], 'x');
    CHECK_OK(dsrtp_addr_format(&a, out, 10));
    CHECK(strcmp(out, "1.2.3.4:5") == 0);
    a.family = 5;
    CHECK_ERR(dsrtp_addr_format(&a, out, sizeof out), DSRTP_ERR_INVALID_ARG);
}

static void test_addr_equal_compares_family_port_and_address(void)
{
    dsrtp_addr a;
    dsrtp_addr b;
    CHECK_OK(parse("1.2.3.4:5", &a));
    CHECK_OK(parse("1.2.3.4:5", &b));
    b.ip[10] = 9; /* beyond an IPv4 address: not compared */
    CHECK(dsrtp_addr_equal(&a, &b));
    CHECK_OK(parse("1.2.3.4:6", &b));
    CHECK(!dsrtp_addr_equal(&a, &b));
    CHECK_OK(parse("1.2.3.5:5", &b));
    CHECK(!dsrtp_addr_equal(&a, &b));
    CHECK_OK(parse("[::ffff:1.2.3.4]:5", &b));
    CHECK(!dsrtp_addr_equal(&a, &b));
    CHECK(!dsrtp_addr_equal(&a, NULL));
}

RUN_TESTS(TEST(test_addr_parse_and_format_round_trip_ipv4),
          TEST(test_addr_parse_rejects_malformed_ipv4),
          TEST(test_addr_format_writes_rfc5952_canonical_ipv6),
          TEST(test_addr_parse_rejects_malformed_ipv6),
          TEST(test_addr_parse_reads_only_the_given_length),
          TEST(test_addr_format_refuses_a_short_buffer_and_bad_family),
          TEST(test_addr_equal_compares_family_port_and_address))
