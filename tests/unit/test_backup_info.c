/* Unit tests for lib/layout/backup_info (barman's backup.info) and
 * lib/layout/base (object names of base backups).
 *
 * tests/unit/fixtures/barman_*.info were written by barman-cli-cloud 3.4.0's
 * own BackupInfo.save() (Debian's python3-barman), barman317_*.info by
 * barman 3.17's infofile.py; the tests expect to run from the top of the
 * tree (BC_FIXTURES overrides the folder). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/backup_info.h"
#include "layout/base.h"

#include "check.h"

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}
#define STREQ(a, b) streq((a), (b))

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("BC_FIXTURES");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/unit/fixtures", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("cannot open %s\n", path);
        return NULL;
    }
    char *buf = malloc(1 << 16);
    *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = '\0';
    return buf;
}

static bc_backup_info *parse_str(const char *s)
{
    bc_backup_info *info = NULL;
    bc_backup_info_parse(s, strlen(s), &info);
    return info;
}

static const char *const fixtures[] = {
    "barman_cloud_done.info", "barman_cloud_failed.info", "barman_empty.info",
    "barman_unusual.info", "barman317_cloud_done.info",
};

/* format(parse(x)) == x for every file barman wrote. */
static void test_fixture_round_trip(void)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        size_t len;
        char *text = read_fixture(fixtures[i], &len);
        bc_backup_info *info = NULL;
        CHECK(text && bc_backup_info_parse(text, len, &info) == BC_OK);
        char *again = info ? bc_backup_info_format(info) : NULL;
        CHECK(again && text && strcmp(again, text) == 0);
        if (again && text && strcmp(again, text) != 0)
            printf("%s differs:\n%s\n", fixtures[i], again);
        free(again);
        bc_backup_info_free(info);
        free(text);
    }
}

static const char cloud_label[] =
    "START WAL LOCATION: 0/5000028 (file 000000010000000000000005)\n"
    "CHECKPOINT LOCATION: 0/5000060\nBACKUP METHOD: streamed\n"
    "BACKUP FROM: primary\nSTART TIME: 2024-03-05 14:22:31 CET\n"
    "LABEL: Barman backup cloud 20240305T142231\nSTART TIMELINE: 1\n";

static void test_cloud_done_fields(void)
{
    size_t len;
    char *text = read_fixture("barman_cloud_done.info", &len);
    bc_backup_info *info = NULL;
    CHECK(text && bc_backup_info_parse(text, len, &info) == BC_OK);
    free(text);
    if (!info)
        return;
    bc_backup_status status;
    CHECK(bc_backup_info_get_status(info, &status) == BC_OK && status == BC_BACKUP_DONE);
    bc_backup_time t;
    CHECK(bc_backup_info_get_time(info, BC_BI_BEGIN_TIME, &t) == BC_OK);
    CHECK(t.when == 1709644951 && t.usec == 482113 && t.utc_offset == 3600);
    CHECK(bc_backup_info_get_time(info, BC_BI_END_TIME, &t) == BC_OK);
    CHECK(t.when == 1709644955 && t.usec == 1207 && t.utc_offset == 3600);
    uint64_t lsn;
    CHECK(bc_backup_info_get_lsn(info, BC_BI_BEGIN_XLOG, &lsn) == BC_OK && lsn == 0x5000028);
    CHECK(bc_backup_info_get_lsn(info, BC_BI_END_XLOG, &lsn) == BC_OK && lsn == 0x5000138);
    const char *s;
    CHECK(bc_backup_info_get_str(info, BC_BI_BEGIN_WAL, &s) == BC_OK &&
          STREQ(s, "000000010000000000000005"));
    CHECK(bc_backup_info_get_str(info, BC_BI_END_WAL, &s) == BC_OK &&
          STREQ(s, "000000010000000000000005"));
    int64_t v;
    CHECK(bc_backup_info_get_int(info, BC_BI_BEGIN_OFFSET, &v) == BC_OK && v == 40);
    CHECK(bc_backup_info_get_int(info, BC_BI_END_OFFSET, &v) == BC_OK && v == 312);
    CHECK(bc_backup_info_get_int(info, BC_BI_TIMELINE, &v) == BC_OK && v == 1);
    CHECK(bc_backup_info_get_int(info, BC_BI_VERSION, &v) == BC_OK && v == 150006);
    CHECK(bc_backup_info_get_int(info, BC_BI_XLOG_SEGMENT_SIZE, &v) == BC_OK && v == 16777216);
    CHECK(bc_backup_info_get_int(info, BC_BI_SIZE, &v) == BC_ERR_NOTFOUND);
    CHECK(bc_backup_info_get_int(info, BC_BI_DEDUPLICATED_SIZE, &v) == BC_ERR_NOTFOUND);
    CHECK(bc_backup_info_get_str(info, BC_BI_SYSTEMID, &s) == BC_OK &&
          STREQ(s, "7343040263428431262"));
    CHECK(bc_backup_info_get_str(info, BC_BI_COMPRESSION, &s) == BC_ERR_NOTFOUND);
    CHECK(bc_backup_info_get_str(info, BC_BI_MODE, &s) == BC_ERR_NOTFOUND);
    CHECK(bc_backup_info_get_str(info, BC_BI_ERROR, &s) == BC_ERR_NOTFOUND);
    CHECK(bc_backup_info_get_str(info, BC_BI_BACKUP_NAME, &s) == BC_OK &&
          STREQ(s, "before upgrade"));
    CHECK(bc_backup_info_get_str(info, BC_BI_PGDATA, &s) == BC_OK &&
          STREQ(s, "/var/lib/postgresql/15/main"));
    CHECK(bc_backup_info_get_str(info, BC_BI_SERVER_NAME, &s) == BC_OK && STREQ(s, "cloud"));
    CHECK(STREQ(bc_backup_info_get(info, BC_BI_INCLUDED_FILES), "None"));
    CHECK(strncmp(bc_backup_info_get(info, BC_BI_COPY_STATS), "{'total_time': 3.217,", 21) == 0);
    char *label = NULL;
    CHECK(bc_backup_info_get_backup_label(info, &label) == BC_OK && STREQ(label, cloud_label));
    free(label);
    bc_tablespace *ts = NULL;
    size_t n = 0;
    CHECK(bc_backup_info_get_tablespaces(info, &ts, &n) == BC_OK && n == 2);
    if (n == 2) {
        CHECK(STREQ(ts[0].name, "tbs_fast") && ts[0].oid == 16385 &&
              STREQ(ts[0].location, "/srv/pg/fast"));
        CHECK(STREQ(ts[1].name, "archive") && ts[1].oid == 16386 &&
              STREQ(ts[1].location, "/mnt/archive/pg_tbs"));
    }
    bc_tablespaces_free(ts, n);
    CHECK(bc_backup_info_backup_id(info) == NULL);
    CHECK(bc_backup_info_set_backup_id(info, "20240305T142231") == BC_OK &&
          STREQ(bc_backup_info_backup_id(info), "20240305T142231"));
    bc_backup_info_free(info);
}

static void test_unusual_fields(void)
{
    size_t len;
    char *text = read_fixture("barman_unusual.info", &len);
    bc_backup_info *info = NULL;
    CHECK(text && bc_backup_info_parse(text, len, &info) == BC_OK);
    free(text);
    if (!info)
        return;
    bc_backup_status status;
    CHECK(bc_backup_info_get_status(info, &status) == BC_OK &&
          status == BC_BACKUP_WAITING_FOR_WALS);
    bc_backup_time t;
    CHECK(bc_backup_info_get_time(info, BC_BI_BEGIN_TIME, &t) == BC_OK);
    CHECK(t.when == 1735702199 && t.usec == 0 && t.utc_offset == -12600);
    CHECK(bc_backup_info_get_time(info, BC_BI_END_TIME, &t) == BC_OK);
    CHECK(t.when == 1735689600 && t.utc_offset == 0);
    uint64_t lsn;
    CHECK(bc_backup_info_get_lsn(info, BC_BI_END_XLOG, &lsn) == BC_OK && lsn == UINT64_MAX);
    int64_t v;
    CHECK(bc_backup_info_get_int(info, BC_BI_TIMELINE, &v) == BC_OK && v == 4294967295);
    CHECK(bc_backup_info_get_int(info, BC_BI_SIZE, &v) == BC_OK && v == 123456789012);
    CHECK(bc_backup_info_get_int(info, BC_BI_DEDUPLICATED_SIZE, &v) == BC_OK && v == 0);
    CHECK(bc_backup_info_get_int(info, BC_BI_XLOG_SEGMENT_SIZE, &v) == BC_OK &&
          v == 1073741824);
    const char *s;
    CHECK(bc_backup_info_get_str(info, BC_BI_COMPRESSION, &s) == BC_OK && STREQ(s, "gzip"));
    CHECK(bc_backup_info_get_str(info, BC_BI_MODE, &s) == BC_OK && STREQ(s, "concurrent"));
    CHECK(bc_backup_info_get_str(info, BC_BI_BACKUP_NAME, &s) == BC_OK &&
          STREQ(s, "nightly = prod"));
    CHECK(bc_backup_info_get_str(info, BC_BI_PGDATA, &s) == BC_OK &&
          STREQ(s, "/data/pg 17/main"));
    char *label = NULL;
    CHECK(bc_backup_info_get_backup_label(info, &label) == BC_OK &&
          STREQ(label, "LABEL: it's a \"test\" \\ with\ttab, \xc3\xa9, \xc2\xa0nbsp, "
                       "\abell\r\nend"));
    free(label);
    bc_tablespace *ts = NULL;
    size_t n = 0;
    CHECK(bc_backup_info_get_tablespaces(info, &ts, &n) == BC_OK && n == 2);
    if (n == 2) {
        CHECK(STREQ(ts[0].name, "o'brien") && ts[0].oid == 4294967295u &&
              STREQ(ts[0].location, "/srv/it's \"here\""));
        CHECK(STREQ(ts[1].name, "café\t\\x") && ts[1].oid == 24576 &&
              STREQ(ts[1].location, "/srv/naïve/ünïcode"));
    }
    bc_tablespaces_free(ts, n);
    bc_backup_info_free(info);
}

static void test_other_fixtures(void)
{
    size_t len;
    char *text = read_fixture("barman_cloud_failed.info", &len);
    bc_backup_info *info = NULL;
    CHECK(text && bc_backup_info_parse(text, len, &info) == BC_OK);
    free(text);
    if (info) {
        bc_backup_status status;
        const char *s;
        CHECK(bc_backup_info_get_status(info, &status) == BC_OK && status == BC_BACKUP_FAILED);
        CHECK(bc_backup_info_get_str(info, BC_BI_ERROR, &s) == BC_OK &&
              STREQ(s, "failure uploading data (connection reset: retry=3, code=ECONNRESET)"));
        bc_tablespace *ts;
        size_t n = 1;
        CHECK(bc_backup_info_get_tablespaces(info, &ts, &n) == BC_OK && n == 0 && !ts);
        char *label = (char *)"x";
        CHECK(bc_backup_info_get_backup_label(info, &label) == BC_ERR_NOTFOUND && !label);
        CHECK(bc_backup_info_get_str(info, BC_BI_BACKUP_NAME, &s) == BC_ERR_NOTFOUND);
        bc_backup_info_free(info);
    }
    /* barman 3.11+ fields are kept and typed like the others */
    text = read_fixture("barman317_cloud_done.info", &len);
    info = NULL;
    CHECK(text && bc_backup_info_parse(text, len, &info) == BC_OK);
    free(text);
    if (info) {
        const char *s;
        int64_t v;
        CHECK(bc_backup_info_get_str(info, "data_checksums", &s) == BC_OK && STREQ(s, "on"));
        CHECK(bc_backup_info_get_int(info, "cluster_size", &v) == BC_OK && v == 31457280);
        CHECK(STREQ(bc_backup_info_get(info, "children_backup_ids"),
                    "20240306T000000,20240307T000000"));
        CHECK(bc_backup_info_get_str(info, "parent_backup_id", &s) == BC_ERR_NOTFOUND);
        bc_backup_info_free(info);
    }
}

/* new() is what a fresh barman BackupInfo writes. */
static void test_new(void)
{
    size_t len;
    char *text = read_fixture("barman_empty.info", &len);
    bc_backup_info *info = bc_backup_info_new();
    char *out = info ? bc_backup_info_format(info) : NULL;
    CHECK(text && out && strcmp(text, out) == 0);
    bc_backup_status status = BC_BACKUP_DONE;
    CHECK(info && bc_backup_info_get_status(info, &status) == BC_OK &&
          status == BC_BACKUP_EMPTY);
    CHECK(info && bc_backup_info_count(info) == 27);
    const char *k, *v;
    if (info) {
        bc_backup_info_entry(info, 0, &k, &v);
        CHECK(STREQ(k, "backup_label") && STREQ(v, "None"));
        bc_backup_info_entry(info, 27, &k, &v);
        CHECK(k == NULL && v == NULL);
    }
    free(out);
    free(text);
    bc_backup_info_free(info);
}

/* Built with the setters, barman's own files come out byte for byte. */
static void test_build_like_barman(void)
{
    bc_backup_info *info = bc_backup_info_new();
    CHECK(info != NULL);
    if (!info)
        return;
    bc_tablespace ts[] = {{"tbs_fast", 16385, "/srv/pg/fast"},
                          {"archive", 16386, "/mnt/archive/pg_tbs"}};
    bc_backup_time begin = {1709644951, 482113, 3600}, end = {1709644955, 1207, 3600};
    CHECK(bc_backup_info_set_str(info, BC_BI_SERVER_NAME, "cloud") == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_SYSTEMID, "7343040263428431262") == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_PGDATA, "/var/lib/postgresql/15/main") == BC_OK);
    CHECK(bc_backup_info_set_int(info, BC_BI_VERSION, 150006) == BC_OK);
    CHECK(bc_backup_info_set_int(info, BC_BI_XLOG_SEGMENT_SIZE, 16777216) == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_CONFIG_FILE,
                                 "/etc/postgresql/15/main/postgresql.conf") == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_HBA_FILE, "/etc/postgresql/15/main/pg_hba.conf") ==
          BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_IDENT_FILE,
                                 "/etc/postgresql/15/main/pg_ident.conf") == BC_OK);
    CHECK(bc_backup_info_set_tablespaces(info, ts, 2) == BC_OK);
    CHECK(bc_backup_info_set_time(info, BC_BI_BEGIN_TIME, &begin) == BC_OK);
    CHECK(bc_backup_info_set_lsn(info, BC_BI_BEGIN_XLOG, 0x5000028) == BC_OK);
    CHECK(bc_backup_info_set_int(info, BC_BI_TIMELINE, 1) == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_BEGIN_WAL, "000000010000000000000005") == BC_OK);
    CHECK(bc_backup_info_set_int(info, BC_BI_BEGIN_OFFSET, 40) == BC_OK);
    CHECK(bc_backup_info_set_backup_label(info, cloud_label) == BC_OK);
    CHECK(bc_backup_info_set_time(info, BC_BI_END_TIME, &end) == BC_OK);
    CHECK(bc_backup_info_set_lsn(info, BC_BI_END_XLOG, 0x5000138) == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_END_WAL, "000000010000000000000005") == BC_OK);
    CHECK(bc_backup_info_set_int(info, BC_BI_END_OFFSET, 312) == BC_OK);
    CHECK(bc_backup_info_set(info, BC_BI_COPY_STATS,
                             "{'total_time': 3.217, 'number_of_workers': 2, 'analysis_time': 0, "
                             "'analysis_time_per_item': {'data': 0, '16385': 0}, "
                             "'copy_time_per_item': {'data': 2.51, '16385': 0.08}, "
                             "'serialized_copy_time_per_item': {'data': 2.49, '16385': 0.07}, "
                             "'copy_time': 2.59, 'serialized_copy_time': 2.56}") == BC_OK);
    CHECK(bc_backup_info_set_status(info, BC_BACKUP_DONE) == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_BACKUP_NAME, "before upgrade") == BC_OK);
    size_t len;
    char *text = read_fixture("barman_cloud_done.info", &len);
    char *out = bc_backup_info_format(info);
    CHECK(text && out && strcmp(text, out) == 0);
    free(text);
    free(out);

    /* the quoting and escaping of repr() */
    bc_tablespace odd[] = {{"o'brien", 4294967295u, "/srv/it's \"here\""},
                           {"café\t\\x", 24576, "/srv/naïve/ünïcode"}};
    CHECK(bc_backup_info_set_tablespaces(info, odd, 2) == BC_OK);
    CHECK(STREQ(bc_backup_info_get(info, BC_BI_TABLESPACES),
                "[(\"o'brien\", 4294967295, '/srv/it\\'s \"here\"'), "
                "('café\\t\\\\x', 24576, '/srv/naïve/ünïcode')]"));
    CHECK(bc_backup_info_set_backup_label(
              info, "LABEL: it's a \"test\" \\ with\ttab, \xc3\xa9, \xc2\xa0nbsp, \abell\r\nend") ==
          BC_OK);
    CHECK(STREQ(bc_backup_info_get(info, BC_BI_BACKUP_LABEL),
                "'LABEL: it\\'s a \"test\" \\\\ with\\ttab, \xc3\xa9, \\xa0nbsp, "
                "\\x07bell\\r\\nend'"));
    /* U+2028 (Zl), U+FEFF (Cf), U+E000 (Co), U+1F600 (printable), U+E0001 */
    CHECK(bc_backup_info_set_backup_label(info, "\xe2\x80\xa8\xef\xbb\xbf\xee\x80\x80"
                                                "\xf0\x9f\x98\x80\xf3\xa0\x80\x81\x7f") == BC_OK);
    CHECK(STREQ(bc_backup_info_get(info, BC_BI_BACKUP_LABEL),
                "'\\u2028\\ufeff\\ue000\xf0\x9f\x98\x80\\U000e0001\\x7f'"));
    /* None for empty values, and backup_name disappears */
    CHECK(bc_backup_info_set_backup_label(info, "") == BC_OK);
    CHECK(STREQ(bc_backup_info_get(info, BC_BI_BACKUP_LABEL), "None"));
    CHECK(bc_backup_info_set_tablespaces(info, NULL, 0) == BC_OK);
    CHECK(STREQ(bc_backup_info_get(info, BC_BI_TABLESPACES), "None"));
    CHECK(bc_backup_info_set_str(info, BC_BI_BACKUP_NAME, NULL) == BC_OK);
    out = bc_backup_info_format(info);
    CHECK(out && !strstr(out, "backup_name") && strstr(out, "\nbackup_label=None\n") == NULL &&
          strncmp(out, "backup_label=None\n", 18) == 0);
    free(out);
    bc_backup_info_free(info);
}

static void test_typed_round_trips(void)
{
    bc_backup_info *info = bc_backup_info_new();
    CHECK(info != NULL);
    if (!info)
        return;
    const bc_backup_time times[] = {
        {0, 0, 0}, {1709644951, 1, 3600}, {1735702199, 999999, -12600},
        {-62135596800, 0, 0}, {253402300799, 0, 0}, {1700000000, 5, 14 * 3600 - 60},
        {1700000000, 0, -(23 * 3600 + 59 * 60)},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        bc_backup_time back;
        CHECK(bc_backup_info_set_time(info, BC_BI_BEGIN_TIME, &times[i]) == BC_OK);
        CHECK(bc_backup_info_get_time(info, BC_BI_BEGIN_TIME, &back) == BC_OK &&
              back.when == times[i].when && back.usec == times[i].usec &&
              back.utc_offset == times[i].utc_offset);
    }
    CHECK(bc_backup_info_set_time(info, BC_BI_END_TIME, &times[0]) == BC_OK &&
          STREQ(bc_backup_info_get(info, BC_BI_END_TIME), "1970-01-01 00:00:00+00:00"));
    CHECK(bc_backup_info_set_time(info, BC_BI_END_TIME, &times[2]) == BC_OK &&
          STREQ(bc_backup_info_get(info, BC_BI_END_TIME), "2024-12-31 23:59:59.999999-03:30"));
    const bc_backup_time bad_times[] = {
        {0, 0, 30}, {0, 1000000, 0}, {0, -1, 0}, {0, 0, 86400},
        {-62135596801, 0, 0}, {253402300800, 0, 0}, {253402300799, 0, 60},
        {INT64_MAX, 0, 3600}, {INT64_MIN, 0, -3600},
    };
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++)
        CHECK(bc_backup_info_set_time(info, BC_BI_END_TIME, &bad_times[i]) == BC_ERR_USAGE);

    const uint64_t lsns[] = {0, 0x16B374D8, 0x100000000ull, UINT64_MAX};
    const char *lsn_text[] = {"0/0", "0/16B374D8", "1/0", "FFFFFFFF/FFFFFFFF"};
    for (size_t i = 0; i < 4; i++) {
        uint64_t back;
        CHECK(bc_backup_info_set_lsn(info, BC_BI_END_XLOG, lsns[i]) == BC_OK);
        CHECK(STREQ(bc_backup_info_get(info, BC_BI_END_XLOG), lsn_text[i]));
        CHECK(bc_backup_info_get_lsn(info, BC_BI_END_XLOG, &back) == BC_OK && back == lsns[i]);
    }
    const int64_t ints[] = {0, -1, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < 4; i++) {
        int64_t back;
        CHECK(bc_backup_info_set_int(info, BC_BI_SIZE, ints[i]) == BC_OK);
        CHECK(bc_backup_info_get_int(info, BC_BI_SIZE, &back) == BC_OK && back == ints[i]);
    }
    for (int s = BC_BACKUP_EMPTY; s <= BC_BACKUP_SYNCING; s++) {
        bc_backup_status back;
        CHECK(bc_backup_info_set_status(info, (bc_backup_status)s) == BC_OK);
        CHECK(bc_backup_info_get_status(info, &back) == BC_OK && back == (bc_backup_status)s);
    }
    CHECK(STREQ(bc_backup_status_name(BC_BACKUP_WAITING_FOR_WALS), "WAITING_FOR_WALS"));
    CHECK(bc_backup_status_name((bc_backup_status)42) == NULL);
    CHECK(bc_backup_info_set_status(info, (bc_backup_status)42) == BC_ERR_USAGE);

    /* every byte a label can hold comes back */
    char label[400];
    size_t n = 0;
    for (int c = 1; c < 0x80; c++)
        label[n++] = (char)c;
    const char *multi = "\xc2\x80\xc2\xa0\xc3\xbf\xe2\x80\xa8\xef\xbf\xbf\xf4\x8f\xbf\xbf";
    memcpy(label + n, multi, strlen(multi) + 1);
    char *back = NULL;
    CHECK(bc_backup_info_set_backup_label(info, label) == BC_OK);
    CHECK(bc_backup_info_get_backup_label(info, &back) == BC_OK && STREQ(back, label));
    free(back);
    bc_tablespace ts[] = {{"\"'", 1, "\\"}, {"a", 2, "\x7f\n"}};
    bc_tablespace *ts_back = NULL;
    size_t ts_n = 0;
    CHECK(bc_backup_info_set_tablespaces(info, ts, 2) == BC_OK);
    CHECK(bc_backup_info_get_tablespaces(info, &ts_back, &ts_n) == BC_OK && ts_n == 2);
    if (ts_n == 2)
        CHECK(STREQ(ts_back[0].name, "\"'") && STREQ(ts_back[0].location, "\\") &&
              ts_back[1].oid == 2 && STREQ(ts_back[1].location, "\x7f\n"));
    bc_tablespaces_free(ts_back, ts_n);

    /* what the file could not hold */
    const char *bad_str[] = {"two\nlines", " lead", "trail ", "None", "\xff", "tab\t",
                             "\xc2\xa0nbsp"};
    for (size_t i = 0; i < sizeof bad_str / sizeof bad_str[0]; i++)
        CHECK(bc_backup_info_set_str(info, BC_BI_ERROR, bad_str[i]) == BC_ERR_USAGE);
    CHECK(bc_backup_info_set_str(info, BC_BI_ERROR, "") == BC_OK);
    CHECK(bc_backup_info_set_str(info, BC_BI_ERROR, "a\rb = c") == BC_OK);
    CHECK(bc_backup_info_set_str(info, "bad key", "x") == BC_ERR_USAGE);
    CHECK(bc_backup_info_set_str(info, "", "x") == BC_ERR_USAGE);
    CHECK(bc_backup_info_set_str(info, "9lives", "x") == BC_ERR_USAGE);
    CHECK(bc_backup_info_set(info, BC_BI_VERSION, "15.2") == BC_ERR_USAGE);
    CHECK(bc_backup_info_set(info, BC_BI_BEGIN_TIME, "yesterday") == BC_ERR_USAGE);
    CHECK(bc_backup_info_set(info, BC_BI_TABLESPACES, "[('a', 1)]") == BC_ERR_USAGE);
    CHECK(bc_backup_info_set(info, BC_BI_BACKUP_LABEL, "no quotes") == BC_ERR_USAGE);
    CHECK(bc_backup_info_set_backup_label(info, "\xc3(") == BC_ERR_USAGE);
    bc_tablespace no_name[] = {{NULL, 1, "/x"}};
    CHECK(bc_backup_info_set_tablespaces(info, no_name, 1) == BC_ERR_USAGE);
    /* typed getters on values of another type */
    int64_t iv;
    uint64_t lv;
    bc_backup_time tv;
    CHECK(bc_backup_info_set_str(info, BC_BI_MODE, "concurrent") == BC_OK);
    CHECK(bc_backup_info_get_int(info, BC_BI_MODE, &iv) == BC_ERR_DATA);
    CHECK(bc_backup_info_get_lsn(info, BC_BI_MODE, &lv) == BC_ERR_DATA);
    CHECK(bc_backup_info_get_time(info, BC_BI_MODE, &tv) == BC_ERR_DATA);
    CHECK(bc_backup_info_set(info, BC_BI_STATUS, "RUNNING") == BC_OK);
    bc_backup_status st;
    CHECK(bc_backup_info_get_status(info, &st) == BC_ERR_DATA);
    bc_backup_info_remove(info, BC_BI_STATUS);
    CHECK(bc_backup_info_get_status(info, &st) == BC_OK && st == BC_BACKUP_EMPTY);
    bc_backup_info_remove(info, BC_BI_XLOG_SEGMENT_SIZE);
    CHECK(bc_backup_info_get_int(info, BC_BI_XLOG_SEGMENT_SIZE, &iv) == BC_OK &&
          iv == BC_BI_DEFAULT_XLOG_SEGMENT_SIZE);
    CHECK(bc_backup_info_get_int(info, "no_such_key", &iv) == BC_ERR_NOTFOUND);
    bc_backup_info_free(info);
}

/* What barman's loader accepts beyond what it writes. */
static void test_lenient_reading(void)
{
    bc_backup_info *info = parse_str("# comment\n\n  \t\nstatus = DONE \r\n"
                                     "version=1_50_006\nsize=+12\ntimeline=007\n"
                                     "begin_time=2024-03-05T13:22:31Z\n"
                                     "end_time=2024-03-05 14:22:35.12345678 +0100\n"
                                     "backup_label=u'a' \"b\"\n"
                                     "tablespaces=[ ['t', 1_6, r'\\x'] , ]\n"
                                     "status=SYNCING\nfuture_field=whatever it is\n"
                                     "backup_name=None\nlast=no newline");
    CHECK(info != NULL);
    if (!info)
        return;
    bc_backup_status st;
    int64_t v;
    bc_backup_time t;
    char *label = NULL;
    CHECK(bc_backup_info_get_status(info, &st) == BC_OK && st == BC_BACKUP_SYNCING);
    CHECK(bc_backup_info_get_int(info, BC_BI_VERSION, &v) == BC_OK && v == 150006);
    CHECK(bc_backup_info_get_int(info, BC_BI_SIZE, &v) == BC_OK && v == 12);
    CHECK(bc_backup_info_get_int(info, BC_BI_TIMELINE, &v) == BC_OK && v == 7);
    CHECK(bc_backup_info_get_time(info, BC_BI_BEGIN_TIME, &t) == BC_OK && t.when == 1709644951 &&
          t.utc_offset == 0);
    CHECK(bc_backup_info_get_time(info, BC_BI_END_TIME, &t) == BC_OK && t.when == 1709644955 &&
          t.usec == 123456 && t.utc_offset == 3600);
    CHECK(bc_backup_info_get_backup_label(info, &label) == BC_OK && STREQ(label, "ab"));
    free(label);
    bc_tablespace *ts = NULL;
    size_t n = 0;
    CHECK(bc_backup_info_get_tablespaces(info, &ts, &n) == BC_OK && n == 1);
    if (n == 1)
        CHECK(STREQ(ts[0].name, "t") && ts[0].oid == 16 && STREQ(ts[0].location, "\\x"));
    bc_tablespaces_free(ts, n);
    CHECK(STREQ(bc_backup_info_get(info, "future_field"), "whatever it is"));
    CHECK(STREQ(bc_backup_info_get(info, "last"), "no newline"));
    char *out = bc_backup_info_format(info);
    CHECK(out && strstr(out, "status=SYNCING\n") && !strstr(out, "backup_name") &&
          strstr(out, "future_field=whatever it is\n") && !strstr(out, "#"));
    free(out);
    bc_backup_info_free(info);

    /* a time without offset is local time */
    setenv("TZ", "UTC-2", 1);
    tzset();
    info = parse_str("begin_time=2024-03-05 15:22:31\n");
    CHECK(info && bc_backup_info_get_time(info, BC_BI_BEGIN_TIME, &t) == BC_OK &&
          t.when == 1709644951 && t.utc_offset == 7200);
    bc_backup_info_free(info);
    unsetenv("TZ");
    tzset();
    /* an offset with seconds is what Python writes for such zones */
    info = parse_str("begin_time=2024-12-31 23:59:59-03:30:15\n");
    CHECK(info && bc_backup_info_get_time(info, BC_BI_BEGIN_TIME, &t) == BC_OK &&
          t.utc_offset == -12615);
    bc_backup_info_free(info);
    CHECK((info = parse_str("")) != NULL && bc_backup_info_count(info) == 0);
    bc_backup_info_free(info);
}

static void test_malformed(void)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"status=DONE\nno equals sign\n", "line 2: no '='"},
        {"=value\n", "line 1: invalid key"},
        {" # not a comment = x\n", "line 1: invalid key"},
        {"bad key=1\n", "line 1: invalid key"},
        {"a=\xff\n", "line 1: not valid UTF-8"},
        {"a=\xc0\xaf\n", "not valid UTF-8"},       /* overlong '/' */
        {"a=\xed\xa0\x80\n", "not valid UTF-8"},   /* surrogate */
        {"a=\xf4\x90\x80\x80\n", "not valid UTF-8"}, /* above U+10FFFF */
        {"a=\xe2\x82\n", "not valid UTF-8"},       /* truncated */
        {"# \xff comment\n", "not valid UTF-8"},   /* barman decodes before skipping */
        {"x=1\n\n\nversion=15.0\n", "line 4: invalid version value"},
        {"timeline=\n", "invalid timeline value"},
        {"size=1__0\n", "invalid size value"},
        {"size=9223372036854775808\n", "invalid size value"},
        {"begin_offset=0x10\n", "invalid begin_offset value"},
        {"begin_time=2024-02-30 00:00:00+00:00\n", "invalid begin_time value"},
        {"begin_time=2024-03-05 24:00:00+00:00\n", "invalid begin_time value"},
        {"begin_time=2024-03-05 12:00:00+24:00\n", "invalid begin_time value"},
        {"end_time=2024-03-05 12:00:00 CET\n", "invalid end_time value"},
        {"end_time=2024-03-05 12:00:00.+01:00\n", "invalid end_time value"},
        {"end_time=0000-01-01 00:00:00+00:00\n", "invalid end_time value"},
        {"tablespaces=[('a', 1, '/x')\n", "invalid tablespaces value"},
        {"tablespaces=[('a', 1, '/x'))]\n", "invalid tablespaces value"},
        {"tablespaces=[('a', -1, '/x')]\n", "invalid tablespaces value"},
        {"tablespaces=[('a', 4294967296, '/x')]\n", "invalid tablespaces value"},
        {"tablespaces=[('a', 016, '/x')]\n", "invalid tablespaces value"},
        {"tablespaces=[('a' 1, '/x')]\n", "invalid tablespaces value"},
        {"tablespaces=[('a', 1, '/x'), ]]\n", "invalid tablespaces value"},
        {"tablespaces=[(a, 1, '/x')]\n", "invalid tablespaces value"},
        {"backup_label='unterminated\n", "invalid backup_label value"},
        {"backup_label='a' junk\n", "invalid backup_label value"},
        {"backup_label='\\x4'\n", "invalid backup_label value"},
        {"backup_label='\\x00'\n", "invalid backup_label value"},
        {"backup_label='\\ud800'\n", "invalid backup_label value"},
        {"backup_label='\\U00110000'\n", "invalid backup_label value"},
        {"backup_label='\\N{BULLET}'\n", "invalid backup_label value"},
        {"backup_label='''x'''\n", "invalid backup_label value"},
        {"backup_label=b'bytes'\n", "invalid backup_label value"},
        {"backup_label=r'\\'\n", "invalid backup_label value"},
        {"backup_label='\\\n", "invalid backup_label value"},
        {"a=b\0c\n", "line 1: NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_backup_info *info = (bc_backup_info *)&info;
        size_t len = strlen(cases[i].text);
        if (strstr(cases[i].message, "NUL"))
            len = 8;
        bc_status st = bc_backup_info_parse(cases[i].text, len, &info);
        const char *msg = bc_error_msg();
        int ok = st == BC_ERR_DATA && info == NULL && strstr(msg, cases[i].message) &&
                 strncmp(msg, "backup.info line ", 17) == 0 && !strchr(msg, '\n');
        if (!ok)
            printf("case %zu: status %d, message '%s'\n", i, (int)st, msg);
        CHECK(ok);
        if (st == BC_OK)
            bc_backup_info_free(info);
    }
    /* escapes that are fine: octal, unknown ones kept, \u and \U */
    bc_backup_info *info = parse_str("backup_label='\\101\\7\\q\\u00e9\\U0001F600\\''\n");
    char *label = NULL;
    CHECK(info && bc_backup_info_get_backup_label(info, &label) == BC_OK &&
          STREQ(label, "A\a\\q\xc3\xa9\xf0\x9f\x98\x80'"));
    free(label);
    bc_backup_info_free(info);
}

/* ---- lib/layout/base ---- */

static void test_base_keys(void)
{
    char key[256];
    CHECK(bc_base_dir_key("pre/fix", "pg", key, sizeof key) == BC_OK &&
          STREQ(key, "pre/fix/pg/base/"));
    CHECK(bc_base_dir_key("", "pg", key, sizeof key) == BC_OK && STREQ(key, "pg/base/"));
    CHECK(bc_base_backup_dir_key("p", "pg", "20240305T142231", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/20240305T142231/"));
    CHECK(bc_base_info_key("p", "pg", "20240305T142231", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/20240305T142231/backup.info"));
    CHECK(bc_base_info_key("", "pg", "20240305T142231", key, sizeof key) == BC_OK &&
          STREQ(key, "pg/base/20240305T142231/backup.info"));
    CHECK(bc_base_data_key("p", "pg", "20240305T142231", 0, "", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/20240305T142231/data.tar"));
    CHECK(bc_base_data_key("p", "pg", "20240305T142231", 1, ".gz", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/20240305T142231/data_0001.tar.gz"));
    CHECK(bc_base_data_key("p", "pg", "x", 12345, ".snappy", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/x/data_12345.tar.snappy"));
    CHECK(bc_base_tablespace_key("p", "pg", "x", 16385, 0, ".bz2", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/x/16385.tar.bz2"));
    CHECK(bc_base_tablespace_key("p", "pg", "x", 16385, 2, "", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/x/16385_0002.tar"));
    CHECK(bc_base_keep_key("p", "pg", "20240305T142231", key, sizeof key) == BC_OK &&
          STREQ(key, "p/pg/base/20240305T142231/annotations/keep"));
    CHECK(bc_base_keep_key("", "pg", "20240305T142231", key, sizeof key) == BC_OK &&
          STREQ(key, "pg/base/20240305T142231/annotations/keep"));
    CHECK(bc_base_info_key("p", "a/b", "x", key, sizeof key) == BC_ERR_USAGE);
    CHECK(bc_base_info_key("p", "pg", "", key, sizeof key) == BC_ERR_USAGE);
    CHECK(bc_base_info_key("p", "pg", "..", key, sizeof key) == BC_ERR_USAGE);
    CHECK(bc_base_info_key("p", "pg", "a/b", key, sizeof key) == BC_ERR_USAGE);
    CHECK(bc_base_data_key("p", "pg", "x", 0, "gz", key, sizeof key) == BC_ERR_USAGE);
    CHECK(bc_base_tablespace_key("p", "pg", "x", 0, 0, "", key, sizeof key) == BC_ERR_USAGE);
    CHECK(bc_base_info_key("p", "pg", "20240305T142231", key, 20) == BC_ERR_USAGE);
    CHECK(bc_base_info_key("p", "pg", "20240305T142231", key, 37) == BC_ERR_USAGE);
    CHECK(bc_base_info_key("p", "pg", "20240305T142231", key, 38) == BC_OK);

    CHECK(bc_base_backup_id_check("20240305T142231") == BC_OK);
    CHECK(bc_base_backup_id_check("99999999T999999") == BC_OK); /* barman checks no date */
    const char *bad[] = {"", "20240305142231", "20240305T14223", "20240305T1422311",
                         "2024030xT142231", "20240305t142231", "20240305T142231\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(bc_base_backup_id_check(bad[i]) == BC_ERR_USAGE);
    char id[BC_BACKUP_ID_LEN + 1];
    setenv("TZ", "UTC-1", 1);
    tzset();
    CHECK(bc_base_backup_id_format(1709644951, id) == BC_OK && STREQ(id, "20240305T142231"));
    unsetenv("TZ");
    tzset();
}

static void test_base_parse(void)
{
    bc_base_object o;
    CHECK(bc_base_object_parse("backup.info", &o) == BC_BASE_INFO && o.kind == BC_BASE_INFO);
    CHECK(bc_base_object_parse("data.tar", &o) == BC_BASE_DATA && o.part == 0 &&
          o.codec == BC_CODEC_NONE && STREQ(o.suffix, ""));
    CHECK(bc_base_object_parse("data_0001.tar.gz", &o) == BC_BASE_DATA && o.part == 1 &&
          o.codec == BC_CODEC_GZIP && STREQ(o.suffix, ".gz"));
    CHECK(bc_base_object_parse("data_12345.tar.bz2", &o) == BC_BASE_DATA && o.part == 12345 &&
          o.codec == BC_CODEC_BZIP2);
    CHECK(bc_base_object_parse("data.tar.snappy", &o) == BC_BASE_DATA &&
          o.codec == BC_CODEC_SNAPPY);
    CHECK(bc_base_object_parse("16385.tar", &o) == BC_BASE_TABLESPACE && o.oid == 16385 &&
          o.part == 0 && o.codec == BC_CODEC_NONE);
    CHECK(bc_base_object_parse("4294967295_0002.tar.zst", &o) == BC_BASE_TABLESPACE &&
          o.oid == 4294967295u && o.part == 2 && o.codec == BC_CODEC_ZSTD);
    CHECK(bc_base_object_parse("annotations/keep", &o) == BC_BASE_ANNOTATION &&
          STREQ(o.annotation, "keep"));
    CHECK(bc_base_object_parse("backup_manifest", &o) == BC_BASE_MANIFEST);
    CHECK(bc_base_object_parse("bc_archives.json", &o) == BC_BASE_MANIFEST);
    char mkey[128];
    CHECK(bc_base_object_key("p", "s", "i", "backup_manifest", mkey, sizeof mkey) == BC_OK &&
          STREQ(mkey, "p/s/base/i/backup_manifest"));
    CHECK(bc_base_object_key("p", "s", "i", "a/b", mkey, sizeof mkey) == BC_ERR_USAGE);
    const char *other[] = {"", "data", "data.tar.gz.part", "backup_manifest.tmp", "data_0000.tar", "data_001.tar",
                           "data_00001.tar", "data_.tar", "data_0001_0002.tar", "Data.tar",
                           "016385.tar", "0.tar", "4294967296.tar", "1a.tar", "data.tar.7z",
                           "data.tar.tar", "data.targz", "annotations/", "annotations/a/b",
                           "x/data.tar", "backup.info.tmp", "data.tar/", "-1.tar"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        if (bc_base_object_parse(other[i], &o) != BC_BASE_OTHER)
            printf("classified '%s' as %d\n", other[i], (int)o.kind);
        CHECK(bc_base_object_parse(other[i], &o) == BC_BASE_OTHER && o.kind == BC_BASE_OTHER);
    }
    /* every key built parses back */
    char key[256];
    for (unsigned part = 0; part < 3; part++) {
        CHECK(bc_base_tablespace_key("", "s", "i", 7, part * 5000, ".lz4", key, sizeof key) ==
              BC_OK);
        CHECK(bc_base_object_parse(key + strlen("s/base/i/"), &o) == BC_BASE_TABLESPACE &&
              o.oid == 7 && o.part == part * 5000 && o.codec == BC_CODEC_LZ4);
    }
}

int main(void)
{
    test_fixture_round_trip();
    test_cloud_done_fields();
    test_unusual_fields();
    test_other_fixtures();
    test_new();
    test_build_like_barman();
    test_typed_round_trips();
    test_lenient_reading();
    test_malformed();
    test_base_keys();
    test_base_parse();
    return check_report("backup_info");
}
