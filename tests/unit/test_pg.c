/* Unit tests for lib/pg's LSN and WAL file name arithmetic (no server
 * needed). Expected names were checked against pg_walfile_name() on
 * PostgreSQL 15; the backup start/stop pair needs a live server and is
 * left to the end-to-end tests. */
#include <stdio.h>
#include <string.h>

#include "pg/pg.h"

#include "check.h"

#define MiB (1u << 20)

static int name_is(uint32_t tli, const char *lsn_text, uint32_t seg, int prev,
                   const char *want)
{
    uint64_t lsn;
    char name[BC_PG_WALNAME_LEN];
    if (!bc_pg_parse_lsn(lsn_text, &lsn) || !bc_pg_wal_file_name(tli, lsn, seg, prev, name))
        return 0;
    if (strcmp(name, want) != 0)
        printf("  %s seg %u prev %d: got %s, want %s\n", lsn_text, seg, prev, name, want);
    return strcmp(name, want) == 0;
}

static void test_lsn_text(void)
{
    uint64_t lsn = 0;
    CHECK(bc_pg_parse_lsn("0/2000028", &lsn) && lsn == 0x2000028);
    CHECK(bc_pg_parse_lsn("FFFFFFFF/FFFFFFFF", &lsn) && lsn == UINT64_MAX);
    CHECK(bc_pg_parse_lsn("a/bC", &lsn) && lsn == (UINT64_C(0xA) << 32 | 0xBC));
    const char *bad[] = {"", "0", "/1", "1/", "1/2x", "123456789/0", "-1/0", " 0/1", "0/+1",
                         "0//1", "g/0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (bc_pg_parse_lsn(bad[i], &lsn))
            printf("  accepted bad LSN '%s'\n", bad[i]);
        CHECK(!bc_pg_parse_lsn(bad[i], &lsn));
    }
    char text[BC_PG_LSN_LEN];
    bc_pg_format_lsn(0x2000028, text);
    CHECK(strcmp(text, "0/2000028") == 0);
    bc_pg_format_lsn(UINT64_MAX, text);
    CHECK(strcmp(text, "FFFFFFFF/FFFFFFFF") == 0);
    bc_pg_format_lsn(UINT64_C(0xA) << 32, text);
    CHECK(strcmp(text, "A/0") == 0);
}

static void test_wal_names(void)
{
    /* start positions: the segment holding the LSN */
    CHECK(name_is(1, "0/2000028", 16 * MiB, 0, "000000010000000000000002"));
    CHECK(name_is(1, "0/5000000", 16 * MiB, 0, "000000010000000000000005"));
    CHECK(name_is(1, "1/0", 16 * MiB, 0, "000000010000000100000000"));
    /* end positions: at a boundary, the segment before (pg_walfile_name) */
    CHECK(name_is(1, "0/5000000", 16 * MiB, 1, "000000010000000000000004"));
    CHECK(name_is(1, "1/0", 16 * MiB, 1, "0000000100000000000000FF"));
    CHECK(name_is(1, "1/1", 16 * MiB, 1, "000000010000000100000000"));
    CHECK(name_is(1, "7/0", 16 * MiB, 1, "0000000100000006000000FF"));
    CHECK(name_is(1, "A/FF000000", 16 * MiB, 1, "000000010000000A000000FE"));
    CHECK(name_is(1, "FF/FFFFFFFF", 16 * MiB, 1, "00000001000000FF000000FF"));
    CHECK(name_is(1, "3/12345678", 16 * MiB, 1, "000000010000000300000012"));
    CHECK(name_is(1, "0/0", 16 * MiB, 1, "000000010000000000000000"));
    /* other segment sizes and timelines */
    CHECK(name_is(0x1A, "A/3C000010", 64 * MiB, 0, "0000001A0000000A0000000F"));
    CHECK(name_is(2, "0/C0000000", 1024 * MiB, 0, "000000020000000000000003"));
    CHECK(name_is(2, "0/C0000000", 1024 * MiB, 1, "000000020000000000000002"));
    CHECK(name_is(3, "2/FFFFF", 1 * MiB, 0, "000000030000000200000000"));
    CHECK(name_is(3, "2/FFFFFFFF", 1 * MiB, 0, "000000030000000200000FFF"));
    char name[BC_PG_WALNAME_LEN];
    CHECK(!bc_pg_wal_file_name(1, 0, 0, 0, name));
    CHECK(!bc_pg_wal_file_name(1, 0, 3 * MiB, 0, name));
    CHECK(!bc_pg_wal_file_name(1, 0, 512 * 1024, 0, name));
    CHECK(!bc_pg_wal_file_name(1, 0, 2048u * MiB, 0, name));
}

int main(void)
{
    test_lsn_text();
    test_wal_names();
    return check_report("pg");
}
