/* Unit tests for lib/layout (WAL names and barman object keys) and the
 * store URL parser. */
#include <stdio.h>
#include <string.h>

#include "layout/wal.h"
#include "store/store.h"

#include "check.h"

static void test_classify(void)
{
    CHECK(bc_wal_classify("000000010000000000000001") == BC_WAL_SEGMENT);
    CHECK(bc_wal_classify("00000001000000A00000000f") == BC_WAL_SEGMENT);
    CHECK(bc_wal_classify("000000010000000000000001.partial") == BC_WAL_PARTIAL);
    CHECK(bc_wal_classify("000000010000000000000001.00000028.backup") == BC_WAL_BACKUP);
    CHECK(bc_wal_classify("00000002.history") == BC_WAL_HISTORY);
    const char *bad[] = {"", "00000001", "00000001000000000000001", "0000000100000000000000010",
                         "00000001000000000000000G", "000000010000000000000001.gz",
                         "000000010000000000000001.0000002.backup", "0000002.history",
                         "00000002.history.gz", "../000000010000000000000001",
                         "000000010000000000000001.partial.gz", "00000002.History"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bc_wal_classify(bad[i]) != BC_WAL_INVALID)
            printf("accepted bad name '%s'\n", bad[i]);
        CHECK(bc_wal_classify(bad[i]) == BC_WAL_INVALID);
    }
}

static void test_keys(void)
{
    char key[256];
    CHECK(bc_wal_key("pre/fix", "srv", "000000010000000A000000FE", ".gz", key, sizeof key) == BC_OK);
    CHECK(strcmp(key, "pre/fix/srv/wals/000000010000000A/000000010000000A000000FE.gz") == 0);
    CHECK(bc_wal_key("", "srv", "00000003.history", "", key, sizeof key) == BC_OK);
    CHECK(strcmp(key, "srv/wals/00000003.history") == 0);
    /* barman names the folder in upper case whatever the name's case */
    CHECK(bc_wal_dir_key("p", "s", "0000000a0000000b0000000c", key, sizeof key) == BC_OK);
    CHECK(strcmp(key, "p/s/wals/0000000A0000000B/") == 0);
    CHECK(bc_wal_key("p", "s", "000000010000000000000001.00000028.backup", "", key, sizeof key) == BC_OK);
    CHECK(strcmp(key, "p/s/wals/0000000100000000/000000010000000000000001.00000028.backup") == 0);
    CHECK(bc_wal_key("p", "s", "bogus", "", key, sizeof key) == BC_ERR_USAGE);
    CHECK(bc_wal_key("p", "s", "000000010000000000000001", "", key, 20) == BC_ERR_USAGE);
    CHECK(bc_server_name_check("main") == BC_OK);
    CHECK(bc_server_name_check("a/b") == BC_ERR_USAGE);
    CHECK(bc_server_name_check("..") == BC_ERR_USAGE);
    CHECK(bc_server_name_check("") == BC_ERR_USAGE);
}

static void test_urls(void)
{
    bc_store *store = NULL;
    bc_store_config cfg = {.url = "file:///tmp/"};
    CHECK(bc_store_open(&cfg, &store) == BC_OK);
    if (store) {
        CHECK(strcmp(bc_store_prefix(store), "") == 0);
        CHECK(strcmp(bc_store_describe(store), "file:///tmp/") == 0);
        bc_store_close(store);
    }
    const char *bad[] = {"", "bucket", "://x", "s3://", "s3:///x", "file://relative", "gopher://x/y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.url = bad[i];
        CHECK(bc_store_open(&cfg, &store) == BC_ERR_USAGE);
    }
}

int main(void)
{
    test_classify();
    test_keys();
    test_urls();
    return check_report("layout");
}
