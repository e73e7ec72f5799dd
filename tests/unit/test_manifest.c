/* backup_manifest and bc_archives.json (lib/backup/manifest.c), the
 * CRC-32C they use (lib/codec/crc32c.c, hardware or tables), and the
 * end-of-archive check of the tar reader (lib/tar/extract.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/manifest.h"
#include "codec/crc32c.h"
#include "tar/extract.h"
#include "tar/tar.h"
#include "util/buffer.h"
#include "util/log.h"

#include "check.h"

static char root[64];

/* Bit by bit, the definition. */
static uint32_t crc_reference(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void test_crc32c(void)
{
    CHECK(bc_crc32c(0, "123456789", 9) == 0xe3069283u);
    unsigned char buf[4096 + 16];
    srand(7);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rand();
    int same = 1;
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len < 300; len += 1 + len / 8) {
            uint32_t want = crc_reference(0, buf + off, len);
            same &= bc_crc32c(0, buf + off, len) == want;
            /* in two pieces, as streams feed it */
            uint32_t c = bc_crc32c(0, buf + off, len / 3);
            same &= bc_crc32c(c, buf + off + len / 3, len - len / 3) == want;
        }
    CHECK(same);
    bc_checksum c = {0};
    char hex[65];
    CHECK(bc_checksum_init(&c, BC_CHECKSUM_CRC32C) == BC_OK);
    bc_checksum_update(&c, "123456789", 9);
    bc_checksum_final_hex(&c, hex);
    CHECK(strcmp(hex, "839206e3") == 0); /* PostgreSQL's byte order */
    CHECK(bc_checksum_init(&c, BC_CHECKSUM_SHA256) == BC_OK);
    bc_checksum_update(&c, "abc", 3);
    bc_checksum_final_hex(&c, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    bc_checksum_free(&c);
}

static void add_file(bc_tar_observer *o, const char *name, const char *data)
{
    CHECK(o->file_begin(o->ctx, name, (int64_t)strlen(data), 1700000000) == BC_OK);
    o->file_data(o->ctx, data, strlen(data));
    CHECK(o->file_end(o->ctx) == BC_OK);
}

/* Feeds one file to a check the way the tar reader would. */
static bc_status feed(bc_extract_observer *o, const char *name, const char *data)
{
    bc_status st = o->entry_begin(o->ctx, name, 1, (int64_t)strlen(data));
    if (st != BC_OK)
        return st;
    o->entry_data(o->ctx, data, strlen(data));
    return o->entry_end(o->ctx);
}

static void test_manifest(void)
{
    bc_manifest_builder *b = NULL;
    bc_tar_observer to;
    CHECK(bc_manifest_builder_new(BC_CHECKSUM_CRC32C, &b) == BC_OK);
    CHECK(bc_manifest_builder_observer(b, "", &to) == BC_OK);
    add_file(&to, "PG_VERSION", "15\n");
    add_file(&to, "base/1/we\"ird\tname", "x");
    add_file(&to, "latin1-\xe9", "");
    CHECK(bc_manifest_builder_observer(b, "pg_tblspc/16385/", &to) == BC_OK);
    add_file(&to, "PG_15_202209061/5/16386", "tablespace data");
    char *text = NULL;
    size_t len = 0;
    CHECK(bc_manifest_builder_finish(b, 1, 0x2000028, 0x3000100, &text, &len) == BC_OK);
    bc_manifest_builder_free(b);
    CHECK(text && strncmp(text, "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n", 54) == 0);
    CHECK(strstr(text, "{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": "
                       "\"2023-11-14 22:13:20 GMT\", \"Checksum-Algorithm\": \"CRC32C\", "
                       "\"Checksum\": ") != NULL);
    CHECK(strstr(text, "\"base/1/we\\\"ird\\tname\"") != NULL);
    CHECK(strstr(text, "\"Encoded-Path\": \"6c6174696e312de9\"") != NULL);
    CHECK(strstr(text, "\"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/3000100\"") != NULL);
    CHECK(text[len - 1] == '\n');

    bc_manifest *m = NULL;
    CHECK(bc_manifest_parse(text, len, "m", &m) == BC_OK);
    bc_manifest_check *c1 = NULL, *c2 = NULL;
    bc_extract_observer o1, o2;
    CHECK(bc_manifest_check_new(m, "data.tar", "", &c1) == BC_OK);
    CHECK(bc_manifest_check_new(m, "16385.tar", "pg_tblspc/16385/", &c2) == BC_OK);
    bc_manifest_check_observer(c1, &o1);
    bc_manifest_check_observer(c2, &o2);
    CHECK(o1.entry_begin(o1.ctx, "base", 0, 0) == BC_OK); /* directories pass */
    CHECK(o1.entry_end(o1.ctx) == BC_OK);
    CHECK(feed(&o1, "PG_VERSION", "15\n") == BC_OK);
    CHECK(feed(&o1, "PG_VERSION", "15\n") == BC_ERR_DATA); /* twice */
    CHECK(strstr(bc_error_msg(), "data.tar: PG_VERSION is in the backup twice") != NULL);
    CHECK(feed(&o1, "base/1/we\"ird\tname", "y") == BC_ERR_DATA); /* checksum */
    CHECK(strstr(bc_error_msg(), "checksum") != NULL);
    CHECK(feed(&o1, "extra", "") == BC_ERR_DATA);
    CHECK(strstr(bc_error_msg(), "extra is in the archive but not in the backup manifest"));
    CHECK(feed(&o1, "latin1-\xe9", "z") == BC_ERR_DATA); /* size */
    CHECK(bc_manifest_check_complete(m) == BC_ERR_DATA);
    CHECK(strstr(bc_error_msg(), "pg_tblspc/16385/PG_15_202209061/5/16386 is in the backup "
                                 "manifest but in no archive") != NULL);
    CHECK(feed(&o2, "PG_15_202209061/5/16386", "tablespace data") == BC_OK);
    CHECK(bc_manifest_check_complete(m) == BC_OK);
    bc_manifest_check_free(c1);
    bc_manifest_check_free(c2);
    bc_manifest_free(m);

    /* any change to the text breaks Manifest-Checksum */
    char *p = strstr(text, "\"Size\": 3");
    p[8] = '4';
    CHECK(bc_manifest_parse(text, len, "m", &m) == BC_ERR_DATA);
    CHECK(strstr(bc_error_msg(), "Manifest-Checksum") != NULL);
    CHECK(bc_manifest_parse(text, len - 1, "m", &m) == BC_ERR_DATA);
    CHECK(bc_manifest_parse("{}", 2, "m", &m) == BC_ERR_DATA && !m);
    free(text);
}

static void test_archive_list(void)
{
    bc_archive_list l = {.algo = BC_CHECKSUM_CRC32C, .manifest_size = 42}, back;
    memset(l.manifest_sha256, 'a', 64);
    CHECK(bc_archive_list_add(&l, "data.tar.zst", 1234, "0011aabb") == BC_OK);
    CHECK(bc_archive_list_add(&l, "data_0001.tar.zst", 99, "ffffffff") == BC_OK);
    char *json = bc_archive_list_format(&l);
    CHECK(json != NULL);
    CHECK(bc_archive_list_parse(json, strlen(json), "a", &back) == BC_OK);
    CHECK(back.n == 2 && back.manifest_size == 42 && back.algo == BC_CHECKSUM_CRC32C);
    const bc_archive_entry *e = bc_archive_list_find(&back, "data_0001.tar.zst");
    CHECK(e && e->size == 99 && strcmp(e->checksum, "ffffffff") == 0);
    CHECK(bc_archive_list_find(&back, "data_0002.tar.zst") == NULL);
    bc_archive_list_free(&back);
    CHECK(bc_archive_list_parse("[]", 2, "a", &back) == BC_ERR_DATA);
    const char *bad = "{\"Version\": 1, \"Checksum-Algorithm\": \"CRC32C\", \"Manifest-Size\": 1,"
                      " \"Manifest-SHA256\": \"aa\", \"Archives\": []}";
    CHECK(bc_archive_list_parse(bad, strlen(bad), "a", &back) == BC_ERR_DATA);
    free(json);
    bc_archive_list_free(&l);
}

/* --- the tar reader's end check --- */

static bc_status extract_bytes(const unsigned char *data, size_t len, const char *dir)
{
    char path[128], cmd[256];
    snprintf(path, sizeof path, "%s/in.tar", root);
    FILE *fp = fopen(path, "wb");
    fwrite(data, 1, len, fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/%s' && mkdir -p '%s/%s'", root, dir, root, dir);
    if (system(cmd) != 0)
        return BC_ERR_INTERNAL;
    snprintf(cmd, sizeof cmd, "%s/%s", root, dir);
    FILE *in = fopen(path, "rb");
    bc_status st = bc_tar_extract_fd(fileno(in), cmd, "in.tar", NULL, NULL);
    fclose(in);
    return st;
}

static void test_tar_end(void)
{
    bc_buffer buf = {0};
    bc_tar_writer *w = NULL;
    static char big[5000];
    memset(big, 'b', sizeof big);
    CHECK(bc_tar_writer_new(bc_buffer_sink, &buf, &w) == BC_OK);
    CHECK(bc_tar_add_memory(w, "one", "1111", 4, 0600) == BC_OK);
    CHECK(bc_tar_add_memory(w, "two", big, sizeof big, 0600) == BC_OK);
    CHECK(bc_tar_add_memory(w, "three", "3", 1, 0600) == BC_OK);
    CHECK(bc_tar_finish(w) == BC_OK);
    bc_tar_free(w);
    /* headers at 0, 1024 ("two": 5000 bytes = 10 blocks), 6656; end at 7680 */
    CHECK(buf.len % 10240 == 0 && memcmp(buf.data + 6656, "three", 5) == 0);
    CHECK(extract_bytes(buf.data, buf.len, "whole") == BC_OK);
    /* cut exactly at a header: libarchive alone sees a clean end */
    CHECK(extract_bytes(buf.data, 6656, "cut") == BC_ERR_DATA);
    CHECK(strstr(bc_error_msg(), "in.tar: ends without its end-of-archive blocks at byte 6656 "
                                 "(after 'two')") != NULL);
    CHECK(extract_bytes(buf.data, 7680 + 512, "one-zero-block") == BC_ERR_DATA);
    CHECK(extract_bytes(buf.data, 7680 + 1024, "two-zero-blocks") == BC_OK);
    CHECK(extract_bytes(buf.data, 3000, "inside") != BC_OK);
    unsigned char *copy = malloc(buf.len);
    memcpy(copy, buf.data, buf.len);
    memset(copy + 1024, 0, 512); /* "two"'s header */
    CHECK(extract_bytes(copy, buf.len, "zeroed") == BC_ERR_DATA);
    CHECK(strstr(bc_error_msg(), "zeroed block where a header was due") != NULL);
    memcpy(copy, buf.data, buf.len);
    copy[buf.len - 1] = 1; /* garbage in the record padding */
    CHECK(extract_bytes(copy, buf.len, "garbage") == BC_ERR_DATA);
    free(copy);
    bc_buffer_free(&buf);
}

int main(void)
{
    bc_log_init("test_manifest", BC_LOG_TEXT, -1);
    snprintf(root, sizeof root, "/tmp/bc-test-manifest-XXXXXX");
    if (!mkdtemp(root)) {
        printf("mkdtemp failed\n");
        return 1;
    }
    test_crc32c();
    test_manifest();
    test_archive_list();
    test_tar_end();
    check_remove_tree(root);
    return check_report("manifest");
}
