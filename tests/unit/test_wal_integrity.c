/* Unit tests for the WAL integrity metadata (lib/wal/integrity.c) and the
 * store's provider-neutral metadata rules (lib/store/store.c). */
#include <stdio.h>
#include <string.h>

#include "wal/wal.h"

#include "check.h"

static void add(bc_object_meta *m, const char *name, const char *value)
{
    bc_object_meta_add(m, name, strlen(name), value, strlen(value));
}

static void test_digest(void)
{
    bc_wal_digest d = {0};
    char hex[BC_WAL_SUM_HEX + 1];
    bc_wal_digest_update(&d, "1234", 4);
    bc_wal_digest_update(&d, "56789", 5);
    bc_wal_digest_hex(&d, hex);
    /* the CRC-32C check value (RFC 3720's), fed in two pieces */
    CHECK(strcmp(hex, "e3069283") == 0);
    CHECK(d.size == 9);
    bc_wal_digest empty = {0};
    bc_wal_digest_hex(&empty, hex);
    CHECK(strcmp(hex, "00000000") == 0);
}

static void test_meta_round_trip(void)
{
    char size_text[24];
    bc_tag tags[2];
    bc_wal_integrity_meta("e3069283", 16777216, size_text, tags);
    CHECK(strcmp(tags[0].key, "bccrc32c") == 0 && strcmp(tags[0].value, "e3069283") == 0);
    CHECK(strcmp(tags[1].key, "bcsize") == 0 && strcmp(tags[1].value, "16777216") == 0);
    bc_put_opts opts = {.meta = tags, .nmeta = 2};
    CHECK(bc_put_opts_check(&opts) == BC_OK);

    /* as a backend reads it back: names in any case */
    bc_object_meta m = {.size = -1};
    add(&m, "BcCrc32C", "e3069283");
    add(&m, "BCSIZE", "16777216");
    bc_wal_expect e;
    CHECK(bc_wal_expect_from_meta(&m, &e) == BC_OK);
    CHECK(e.size == 16777216 && strcmp(e.sum, "e3069283") == 0);

    bc_object_meta none = {.size = -1};
    CHECK(bc_wal_expect_from_meta(&none, &e) == BC_OK && e.size == -1);
}

static void test_bad_meta(void)
{
    const char *sum = "e3069283";
    const char *cases[][2] = {
        {sum, NULL},                      /* one entry without the other */
        {NULL, "16777216"},
        {"E3069283", "1"},                /* not lowercase */
        {"e306928", "16777216"},          /* too short */
        {"e30692830", "16777216"},        /* too long */
        {sum, "16x"}, {sum, ""}, {sum, "-1"}, {sum, "1073741825"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_object_meta m = {.size = -1};
        if (cases[i][0])
            add(&m, "bccrc32c", cases[i][0]);
        if (cases[i][1])
            add(&m, "bcsize", cases[i][1]);
        bc_wal_expect e;
        CHECK(bc_wal_expect_from_meta(&m, &e) == BC_ERR_DATA);
    }
}

static void test_store_rules(void)
{
    bc_tag bad[] = {{"Upper", "x"}, {"1digit", "x"}, {"has-dash", "x"}, {"", "x"},
                    {"under_score", "x"},
                    {"space", "a b"}, {"ctl", "a\n"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bc_put_opts o = {.meta = &bad[i], .nmeta = 1};
        CHECK(bc_put_opts_check(&o) == BC_ERR_USAGE);
    }
    bc_tag good = {"bcx9", "v=1/2"};
    bc_put_opts o = {.meta = &good, .nmeta = 1};
    CHECK(bc_put_opts_check(&o) == BC_OK);
    CHECK(bc_put_opts_check(NULL) == BC_OK);

    bc_put_opts copy;
    bc_tag tag = {"k", "v"};
    o.tags = &tag;
    o.ntags = 1;
    CHECK(bc_put_opts_dup(&o, &copy) == BC_OK);
    CHECK(copy.meta != o.meta && strcmp(copy.meta[0].value, "v=1/2") == 0);
    CHECK(copy.tags != o.tags && strcmp(copy.tags[0].key, "k") == 0);
    bc_put_opts_free(&copy);
    CHECK(copy.nmeta == 0 && copy.meta == NULL);

    /* entries that do not fit are dropped, never truncated */
    bc_object_meta m = {.size = -1};
    char longname[BC_META_NAME_MAX + 1];
    memset(longname, 'a', BC_META_NAME_MAX);
    longname[BC_META_NAME_MAX] = '\0';
    add(&m, longname, "v");
    CHECK(m.n == 0);
    for (int i = 0; i < BC_META_MAX + 2; i++)
        add(&m, "n", "v");
    CHECK(m.n == BC_META_MAX);
    CHECK(bc_object_meta_get(&m, "missing") == NULL);
}

static void test_segment_sizes(void)
{
    CHECK(bc_wal_segment_size_valid((int64_t)1 << 20));
    CHECK(bc_wal_segment_size_valid((int64_t)16 << 20));
    CHECK(bc_wal_segment_size_valid((int64_t)1 << 30));
    CHECK(!bc_wal_segment_size_valid(0));
    CHECK(!bc_wal_segment_size_valid((int64_t)512 << 10));
    CHECK(!bc_wal_segment_size_valid(((int64_t)16 << 20) - 1));
    CHECK(!bc_wal_segment_size_valid(((int64_t)16 << 20) + 100));
    CHECK(!bc_wal_segment_size_valid((int64_t)2 << 30));
}

int main(void)
{
    test_digest();
    test_meta_round_trip();
    test_bad_meta();
    test_store_rules();
    test_segment_sizes();
    return check_report("wal_integrity");
}
