/* Bencode parser and writer: round trips, caps, and every malformed form rejected. */
#include "../harness/check.h"

#include "bencode.h"

static dsrtpd_ben_node nodes[DSRTPD_BEN_MAX_NODES];

static dsrtp_err parse_cstr(const char *s, const dsrtpd_ben_node **root)
{
    return dsrtpd_ben_parse((const uint8_t *)s, strlen(s), nodes, DSRTPD_BEN_MAX_NODES, root,
                            NULL);
}

/* Re-encodes a parsed tree with the writer (dict entries in their original order). */
static void reencode(dsrtpd_ben_wr *w, const dsrtpd_ben_node *n)
{
    switch (n->type) {
    case DSRTPD_BEN_STR:
        dsrtpd_ben_wr_str(w, n->str, n->len);
        break;
    case DSRTPD_BEN_INT:
        dsrtpd_ben_wr_int(w, n->num);
        break;
    case DSRTPD_BEN_LIST:
    case DSRTPD_BEN_DICT:
        if (n->type == DSRTPD_BEN_LIST) {
            dsrtpd_ben_wr_list(w);
        } else {
            dsrtpd_ben_wr_dict(w);
        }
        for (const dsrtpd_ben_node *c = dsrtpd_ben_first(n); c != NULL; c = dsrtpd_ben_next(c)) {
            if (n->type == DSRTPD_BEN_DICT) {
                dsrtpd_ben_wr_str(w, c->key, c->key_len);
            }
            reencode(w, c);
        }
        dsrtpd_ben_wr_end(w);
        break;
    }
}

static const char *const doc_sample =
    "d7:command5:offer3:sdpl1:ai-42ei0ed1:xle1:y0:ee5:emptyde3:numi9223372036854775807ee";

static void test_ben_parse_round_trips_nested_document_byte_exact(void)
{
    const dsrtpd_ben_node *root = NULL;
    size_t used = 0;
    CHECK_OK(dsrtpd_ben_parse((const uint8_t *)doc_sample, strlen(doc_sample), nodes,
                              DSRTPD_BEN_MAX_NODES, &root, &used));
    CHECK_EQ(root->type, DSRTPD_BEN_DICT);
    CHECK_EQ(root->len, 4);
    CHECK_EQ(used, 11);
    CHECK(dsrtpd_ben_str_eq(dsrtpd_ben_dict_get(root, "command"), "offer"));
    const dsrtpd_ben_node *l = dsrtpd_ben_dict_get_type(root, "sdp", DSRTPD_BEN_LIST);
    CHECK(l != NULL);
    CHECK_EQ(l->len, 4);
    const dsrtpd_ben_node *it = dsrtpd_ben_first(l);
    CHECK(dsrtpd_ben_str_eq(it, "a"));
    it = dsrtpd_ben_next(it);
    CHECK_EQ(it->type, DSRTPD_BEN_INT);
    CHECK_EQ(it->num, -42);
    it = dsrtpd_ben_next(dsrtpd_ben_next(it));
    CHECK_EQ(it->type, DSRTPD_BEN_DICT);
    CHECK(dsrtpd_ben_str_eq(dsrtpd_ben_dict_get(it, "y"), ""));
    CHECK(dsrtpd_ben_next(it) == NULL);
    CHECK_EQ(dsrtpd_ben_dict_get_type(root, "num", DSRTPD_BEN_INT)->num, INT64_MAX);
    CHECK(dsrtpd_ben_dict_get_type(root, "num", DSRTPD_BEN_STR) == NULL);
    CHECK(dsrtpd_ben_dict_get(root, "nope") == NULL);
    CHECK(dsrtpd_ben_dict_get(l, "a") == NULL); /* not a dict */

    uint8_t out[256];
    dsrtpd_ben_wr w;
    size_t out_len = 0;
    dsrtpd_ben_wr_init(&w, out, sizeof out);
    reencode(&w, root);
    CHECK_OK(dsrtpd_ben_wr_finish(&w, &out_len));
    CHECK_EQ(out_len, strlen(doc_sample));
    CHECK_MEM(out, doc_sample, out_len);
    CHECK_EQ(root->raw_len, strlen(doc_sample));
}

static void test_ben_parse_rejects_document_truncated_at_every_byte(void)
{
    const dsrtpd_ben_node *root = NULL;
    size_t n = strlen(doc_sample);
    for (size_t cut = 0; cut < n; cut++) {
        CHECK_ERR(dsrtpd_ben_parse((const uint8_t *)doc_sample, cut, nodes,
                                   DSRTPD_BEN_MAX_NODES, &root, NULL),
                  DSRTP_ERR_MALFORMED);
    }
    CHECK(root == NULL);
}

static void test_ben_parse_rejects_trailing_bytes(void)
{
    const dsrtpd_ben_node *root = NULL;
    CHECK_OK(parse_cstr("i1e", &root));
    CHECK_ERR(parse_cstr("i1ei2e", &root), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse_cstr("dee", &root), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse_cstr("", &root), DSRTP_ERR_MALFORMED);
}

static void test_ben_parse_accepts_integer_edges(void)
{
    const dsrtpd_ben_node *root = NULL;
    CHECK_OK(parse_cstr("i0e", &root));
    CHECK_EQ(root->num, 0);
    CHECK_OK(parse_cstr("i-1e", &root));
    CHECK_EQ(root->num, -1);
    CHECK_OK(parse_cstr("i9223372036854775807e", &root));
    CHECK_EQ(root->num, INT64_MAX);
    CHECK_OK(parse_cstr("i-9223372036854775808e", &root));
    CHECK(root->num == INT64_MIN);
}

static void test_ben_parse_rejects_bad_integer_forms(void)
{
    static const char *const bad[] = {
        "ie",       "i-e",   "i-0e",  "i00e", "i01e", "i-01e", "i+1e", "i 1e", "i1 e",
        "i1",       "i",     "i1.0e", "i0x1e", "i--1e", "ile",
        "i9223372036854775808e", "i-9223372036854775809e", "i12345678901234567890e",
        "i00000000000000000001e",
    };
    const dsrtpd_ben_node *root = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_cstr(bad[i], &root) != DSRTP_ERR_MALFORMED) {
            fprintf(stderr, "accepted %s\n", bad[i]);
            CHECK(0);
        }
    }
}

static void test_ben_parse_accepts_strings_up_to_the_input_end(void)
{
    const dsrtpd_ben_node *root = NULL;
    CHECK_OK(parse_cstr("0:", &root));
    CHECK_EQ(root->len, 0);
    CHECK_OK(parse_cstr("3:a:c", &root));
    CHECK(dsrtpd_ben_str_eq(root, "a:c"));
}

static void test_ben_parse_rejects_huge_or_malformed_string_lengths(void)
{
    static const char *const bad[] = {
        "4:abc", "01:a", "00:", "1a:x", ":", "1", "1:", "-1:a",
        "99999999999999999999999999999:a", "18446744073709551616:a", "18446744073709551615:a",
        "4294967297:a", "l2:ae",
    };
    const dsrtpd_ben_node *root = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_cstr(bad[i], &root) != DSRTP_ERR_MALFORMED) {
            fprintf(stderr, "accepted %s\n", bad[i]);
            CHECK(0);
        }
    }
}

static void test_ben_parse_accepts_string_dict_keys_in_any_order(void)
{
    const dsrtpd_ben_node *root = NULL;
    CHECK_OK(parse_cstr("d1:bi2e1:ai1e0:i3ee", &root));
    CHECK_EQ(dsrtpd_ben_dict_get(root, "a")->num, 1);
    CHECK_EQ(dsrtpd_ben_dict_get(root, "b")->num, 2);
    CHECK_EQ(dsrtpd_ben_dict_get(root, "")->num, 3);
}

static void test_ben_parse_rejects_non_string_dict_keys(void)
{
    const dsrtpd_ben_node *root = NULL;
    CHECK_ERR(parse_cstr("di1ei2ee", &root), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse_cstr("dle1:ae", &root), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse_cstr("dde1:ae", &root), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse_cstr("d1:ae", &root), DSRTP_ERR_MALFORMED); /* key without value */
    CHECK_ERR(parse_cstr("d1:a", &root), DSRTP_ERR_MALFORMED);
}

static void test_ben_dict_get_returns_the_first_of_duplicate_keys(void)
{
    const dsrtpd_ben_node *root = NULL;
    CHECK_OK(parse_cstr("d1:ai1e1:ai2ee", &root));
    CHECK_EQ(root->len, 2);
    CHECK_EQ(dsrtpd_ben_dict_get(root, "a")->num, 1);
    CHECK_EQ(dsrtpd_ben_next(dsrtpd_ben_first(root))->num, 2);
}

/* depth containers nested: "lll...eee". */
static size_t nested(char *buf, size_t depth)
{
    for (size_t i = 0; i < depth; i++) {
        buf[i] = 'l';
        buf[2 * depth - 1 - i] = 'e';
    }
    buf[2 * depth] = '\0';
    return 2 * depth;
}

static void test_ben_parse_accepts_nesting_up_to_the_depth_cap(void)
{
    char buf[2 * DSRTPD_BEN_MAX_DEPTH + 1];
    const dsrtpd_ben_node *root = NULL;
    nested(buf, DSRTPD_BEN_MAX_DEPTH);
    CHECK_OK(parse_cstr(buf, &root));
}

static void test_ben_parse_rejects_a_depth_bomb(void)
{
    static char buf[2 * 100000 + 1];
    const dsrtpd_ben_node *root = NULL;
    nested(buf, DSRTPD_BEN_MAX_DEPTH + 1);
    CHECK_ERR(parse_cstr(buf, &root), DSRTP_ERR_MALFORMED);
    nested(buf, 100000);
    CHECK_ERR(parse_cstr(buf, &root), DSRTP_ERR_MALFORMED);
    /* Dicts count too. */
    CHECK_ERR(parse_cstr("d1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:a"
                         "d1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:a"
                         "deeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                         &root),
              DSRTP_ERR_MALFORMED);
}

/* A list of count zero-length strings: 1 + count nodes. */
static size_t flat_list(char *buf, size_t count)
{
    size_t n = 0;
    buf[n++] = 'l';
    for (size_t i = 0; i < count; i++) {
        buf[n++] = '0';
        buf[n++] = ':';
    }
    buf[n++] = 'e';
    buf[n] = '\0';
    return n;
}

static void test_ben_parse_accepts_exactly_the_node_cap(void)
{
    static char buf[2 * DSRTPD_BEN_MAX_NODES + 3];
    const dsrtpd_ben_node *root = NULL;
    size_t used = 0;
    size_t n = flat_list(buf, DSRTPD_BEN_MAX_NODES - 1);
    CHECK_OK(dsrtpd_ben_parse((const uint8_t *)buf, n, nodes, DSRTPD_BEN_MAX_NODES, &root,
                              &used));
    CHECK_EQ(used, DSRTPD_BEN_MAX_NODES);
    CHECK_EQ(root->len, DSRTPD_BEN_MAX_NODES - 1);
}

static void test_ben_parse_rejects_a_node_count_bomb(void)
{
    static char buf[2 * 100000 + 3];
    const dsrtpd_ben_node *root = NULL;
    flat_list(buf, DSRTPD_BEN_MAX_NODES);
    CHECK_ERR(parse_cstr(buf, &root), DSRTP_ERR_MALFORMED);
    flat_list(buf, 100000);
    CHECK_ERR(parse_cstr(buf, &root), DSRTP_ERR_MALFORMED);
    /* A small arena caps a small document too. */
    CHECK_ERR(dsrtpd_ben_parse((const uint8_t *)"li1ei2ee", 8, nodes, 2, &root, NULL),
              DSRTP_ERR_MALFORMED);
}

static void test_ben_parse_rejects_null_arguments(void)
{
    const dsrtpd_ben_node *root = NULL;
    CHECK_ERR(dsrtpd_ben_parse(NULL, 3, nodes, 4, &root, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtpd_ben_parse((const uint8_t *)"i1e", 3, NULL, 4, &root, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtpd_ben_parse((const uint8_t *)"i1e", 3, nodes, 0, &root, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtpd_ben_parse((const uint8_t *)"i1e", 3, nodes, 4, NULL, NULL),
              DSRTP_ERR_INVALID_ARG);
}

static void test_ben_wr_writes_exact_encoding(void)
{
    uint8_t out[128];
    dsrtpd_ben_wr w;
    size_t len = 0;
    dsrtpd_ben_wr_init(&w, out, sizeof out);
    dsrtpd_ben_wr_dict(&w);
    dsrtpd_ben_wr_kv_cstr(&w, "a", "xyz");
    dsrtpd_ben_wr_kv_int(&w, "n", INT64_MIN);
    dsrtpd_ben_wr_kv_int(&w, "z", 0);
    dsrtpd_ben_wr_cstr(&w, "l");
    dsrtpd_ben_wr_list(&w);
    dsrtpd_ben_wr_str(&w, NULL, 0);
    dsrtpd_ben_wr_int(&w, 123);
    dsrtpd_ben_wr_end(&w);
    dsrtpd_ben_wr_end(&w);
    CHECK_OK(dsrtpd_ben_wr_finish(&w, &len));
    static const char want[] = "d1:a3:xyz1:ni-9223372036854775808e1:zi0e1:ll0:i123eee";
    CHECK_EQ(len, sizeof want - 1);
    CHECK_MEM(out, want, len);
}

static void test_ben_wr_reports_overflow_without_writing_past_the_end(void)
{
    uint8_t out[16];
    memset(out, 0xAA, sizeof out);
    dsrtpd_ben_wr w;
    size_t len = 0;
    dsrtpd_ben_wr_init(&w, out, 8);
    dsrtpd_ben_wr_dict(&w);
    dsrtpd_ben_wr_kv_cstr(&w, "key", "value");
    dsrtpd_ben_wr_end(&w);
    CHECK_ERR(dsrtpd_ben_wr_finish(&w, &len), DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, strlen("d3:key5:valuee"));
    for (size_t i = 8; i < sizeof out; i++) {
        CHECK_EQ(out[i], 0xAA);
    }
    /* Measuring with no buffer gives the same size. */
    dsrtpd_ben_wr_init(&w, NULL, 0);
    dsrtpd_ben_wr_kv_cstr(&w, "key", "value");
    CHECK_ERR(dsrtpd_ben_wr_finish(&w, &len), DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, strlen("3:key5:value"));
}

static void test_ben_wr_rejects_unbalanced_containers(void)
{
    uint8_t out[16];
    dsrtpd_ben_wr w;
    size_t len = 0;
    dsrtpd_ben_wr_init(&w, out, sizeof out);
    dsrtpd_ben_wr_list(&w);
    CHECK_ERR(dsrtpd_ben_wr_finish(&w, &len), DSRTP_ERR_INVALID_ARG);
    dsrtpd_ben_wr_init(&w, out, sizeof out);
    dsrtpd_ben_wr_end(&w);
    CHECK_ERR(dsrtpd_ben_wr_finish(&w, &len), DSRTP_ERR_INVALID_ARG);
}

/* Stream framing: the scanner finds where the first value ends, whatever the split. */
static void test_ben_scan_finds_the_value_end_fed_one_byte_at_a_time(void)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", doc_sample, "d7:command4:pinge");
    size_t want = strlen(doc_sample);
    dsrtpd_ben_scan sc = {0};
    size_t got = 0;
    for (size_t n = 0; n < want; n++) {
        CHECK_ERR(dsrtpd_ben_scan_feed(&sc, (const uint8_t *)buf, n, &got),
                  DSRTP_ERR_BUFFER_TOO_SMALL);
    }
    CHECK_OK(dsrtpd_ben_scan_feed(&sc, (const uint8_t *)buf, strlen(buf), &got));
    CHECK_EQ(got, want);
    dsrtpd_ben_scan whole = {0};
    CHECK_OK(dsrtpd_ben_scan_feed(&whole, (const uint8_t *)buf, strlen(buf), &got));
    CHECK_EQ(got, want);
}

static void test_ben_scan_rejects_garbage_and_depth_bombs(void)
{
    const char *bad[] = {"x", "e", "d3:abcX", "di1x", "d99999999999999999999:", "l5-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsrtpd_ben_scan sc = {0};
        size_t got = 0;
        CHECK_ERR(dsrtpd_ben_scan_feed(&sc, (const uint8_t *)bad[i], strlen(bad[i]), &got),
                  DSRTP_ERR_MALFORMED);
    }
    char deep[DSRTPD_BEN_MAX_DEPTH + 2];
    memset(deep, 'l', sizeof deep);
    dsrtpd_ben_scan sc = {0};
    size_t got = 0;
    CHECK_ERR(dsrtpd_ben_scan_feed(&sc, (const uint8_t *)deep, sizeof deep, &got),
              DSRTP_ERR_MALFORMED);
}

RUN_TESTS(TEST(test_ben_parse_round_trips_nested_document_byte_exact),
          TEST(test_ben_parse_rejects_document_truncated_at_every_byte),
          TEST(test_ben_parse_rejects_trailing_bytes),
          TEST(test_ben_parse_accepts_integer_edges),
          TEST(test_ben_parse_rejects_bad_integer_forms),
          TEST(test_ben_parse_accepts_strings_up_to_the_input_end),
          TEST(test_ben_parse_rejects_huge_or_malformed_string_lengths),
          TEST(test_ben_parse_accepts_string_dict_keys_in_any_order),
          TEST(test_ben_parse_rejects_non_string_dict_keys),
          TEST(test_ben_dict_get_returns_the_first_of_duplicate_keys),
          TEST(test_ben_parse_accepts_nesting_up_to_the_depth_cap),
          TEST(test_ben_parse_rejects_a_depth_bomb),
          TEST(test_ben_parse_accepts_exactly_the_node_cap),
          TEST(test_ben_parse_rejects_a_node_count_bomb),
          TEST(test_ben_parse_rejects_null_arguments),
          TEST(test_ben_wr_writes_exact_encoding),
          TEST(test_ben_scan_finds_the_value_end_fed_one_byte_at_a_time),
          TEST(test_ben_scan_rejects_garbage_and_depth_bombs),
          TEST(test_ben_wr_reports_overflow_without_writing_past_the_end),
          TEST(test_ben_wr_rejects_unbalanced_containers))
