/* Unit tests for lib/tar: a fake PGDATA and tablespace streamed through the
 * base backup filter into memory, then read back with libarchive, listed
 * with the system tar and extracted with Python's tarfile (what
 * barman-cloud-restore uses). Files change under the walker through the
 * sink: one shrinks and one grows while being read, one vanishes after its
 * directory was listed. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tar/filter.h"
#include "tar/tar.h"
#include "util/log.h"

#include "check.h"

#define MiB (1024 * 1024)
static char root[256]; /* temporary directory holding everything */

/* ---- fixture helpers ---- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

static void path_of(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", root, rel);
}

static void mkdirs(const char *rel)
{
    char p[1024], cmd[1100];
    path_of(p, sizeof p, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    if (system(cmd) != 0)
        printf("mkdir %s failed\n", p);
}

static void put(const char *rel, const void *data, size_t len)
{
    char p[1024];
    path_of(p, sizeof p, rel);
    FILE *f = fopen(p, "wb");
    if (!f) {
        printf("creating %s failed\n", p);
        return;
    }
    size_t wrote = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || wrote != len)
        printf("writing %s failed\n", p);
}

static void put_text(const char *rel, const char *text)
{
    put(rel, text, strlen(text));
}

/* Deterministic bytes, starting with a marker the sink can react to. */
static unsigned char *pattern(size_t size, unsigned seed, const char *marker)
{
    unsigned char *b = xcalloc(1, size);
    for (size_t i = 0; i < size; i++)
        b[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 9)) & 0xff);
    if (marker)
        memcpy(b, marker, strlen(marker));
    return b;
}

static void link_to(const char *target, const char *rel)
{
    char p[1024];
    path_of(p, sizeof p, rel);
    if (symlink(target, p) != 0)
        printf("symlink %s failed: %s\n", p, strerror(errno));
}

/* ---- memory sink that also disturbs the walk ---- */

typedef struct mem_sink {
    unsigned char *data;
    size_t len, cap;
    int calls;
    size_t fail_after; /* refuse once this many bytes arrived (0: never) */
    int shrunk, grown, vanished;
} mem_sink;

static int sink_fn(void *ctx, const void *data, size_t len)
{
    mem_sink *s = ctx;
    s->calls++;
    if (s->fail_after && s->len + len > s->fail_after)
        return bc_error(BC_ERR_NET, "upload refused by test sink");
    if (s->len + len > s->cap) {
        size_t cap = (s->len + len) * 2;
        unsigned char *grown = realloc(s->data, cap);
        if (!grown)
            return bc_error(BC_ERR_INTERNAL, "test sink out of memory");
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    char p[1024];
    if (!s->shrunk && memmem(data, len, "MARKER-SHRINK", 13)) {
        s->shrunk = 1; /* the walker is inside this file: cut it */
        path_of(p, sizeof p, "pgdata/AAA_shrinks");
        if (truncate(p, 3 * MiB / 2) != 0)
            printf("truncate failed\n");
    }
    if (!s->grown && memmem(data, len, "MARKER-GROW", 11)) {
        s->grown = 1;
        path_of(p, sizeof p, "pgdata/AAB_grows");
        FILE *f = fopen(p, "ab");
        for (int i = 0; f && i < 1024; i++)
            fputs("grown after stat ", f);
        if (f)
            fclose(f);
    }
    if (!s->vanished && memmem(data, len, "MARKER-VANISH", 13)) {
        s->vanished = 1; /* base/1 is listed already: 99999 goes before its stat */
        path_of(p, sizeof p, "pgdata/base/1/99999");
        unlink(p);
    }
    return 0;
}

/* ---- reading the archive back ---- */

typedef struct entry {
    char name[512];
    char type; /* 'f', 'd', 'l' */
    int64_t size;
    unsigned perm;
    char link[256];
    unsigned char *data;
} entry;

static void strip_slash(char *name)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '/')
        name[n - 1] = '\0';
}

static size_t read_back(const unsigned char *buf, size_t len, entry *out, size_t max)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    size_t n = 0;
    if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
        printf("libarchive: %s\n", archive_error_string(a));
        archive_read_free(a);
        return 0;
    }
    struct archive_entry *ae;
    int r;
    while (n < max && (r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        entry *e = &out[n++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", archive_entry_pathname(ae));
        strip_slash(e->name);
        mode_t t = archive_entry_filetype(ae);
        e->type = t == AE_IFDIR ? 'd' : t == AE_IFLNK ? 'l' : t == AE_IFREG ? 'f' : '?';
        e->size = archive_entry_size(ae);
        e->perm = archive_entry_perm(ae);
        if (archive_entry_symlink(ae))
            snprintf(e->link, sizeof e->link, "%s", archive_entry_symlink(ae));
        if (e->type == 'f') {
            e->data = xcalloc(1, e->size ? (size_t)e->size : 1);
            la_ssize_t got = archive_read_data(a, e->data, (size_t)e->size);
            if (got != e->size)
                printf("short read of %s\n", e->name);
        }
    }
    CHECK(r == ARCHIVE_EOF);
    archive_read_free(a);
    return n;
}

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].data);
}

static const entry *find(const entry *e, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return &e[i];
    return NULL;
}

/* Compares names, in order, against "type:name" strings. */
static int same_listing(const entry *e, size_t n, const char *const *want, size_t nwant)
{
    int ok = n == nwant;
    for (size_t i = 0; i < n || i < nwant; i++) {
        char got[600] = "(none)";
        if (i < n)
            snprintf(got, sizeof got, "%c:%s", e[i].type, e[i].name);
        if (i >= nwant || strcmp(got, want[i]) != 0) {
            printf("  entry %zu: got %s, want %s\n", i, got, i < nwant ? want[i] : "(none)");
            ok = 0;
        }
    }
    return ok;
}

/* `tar -tf` names, in order, must be the expected names. */
static int system_tar_lists(const char *file, const char *const *want, size_t nwant)
{
    char cmd[1200], line[1024];
    snprintf(cmd, sizeof cmd, "tar -tvf '%s' >/dev/null 2>&1 && tar -tf '%s'", file, file);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    size_t i = 0;
    int ok = 1;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        strip_slash(line);
        if (i >= nwant || strcmp(line, want[i] + 2) != 0) {
            printf("  tar -tf line %zu: %s\n", i, line);
            ok = 0;
        }
        i++;
    }
    return pclose(p) == 0 && ok && i == nwant;
}

static int write_out(const char *file, const mem_sink *s)
{
    FILE *f = fopen(file, "wb");
    if (!f)
        return 0;
    size_t wrote = fwrite(s->data, 1, s->len, f);
    return fclose(f) == 0 && wrote == s->len;
}

static int same_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char *buf = xcalloc(1, len + 1);
    size_t got = fread(buf, 1, len + 1, f);
    fclose(f);
    int same = got == len && memcmp(buf, data, len) == 0;
    free(buf);
    return same;
}

/* ---- tests ---- */

/* ustar holds 100 bytes of name: this one needs a pax header */
#define LONG_NAME                                                              \
    "map-a-file-name-long-enough-to-need-a-pax-header-because-ustar-"         \
    "stops-at-one-hundred-bytes-of-name-0000000000000000000000"

static const char *const pgdata_listing[] = {
    "d:.", "f:AAA_shrinks", "f:AAB_grows", "f:PG_VERSION", "f:backup_label.old", "d:base",
    "d:base/1", "f:base/1/1000", "f:base/1/112", "f:base/1/112_fsm", "f:base/1/112_vm",
    "f:base/1/16384_init", "f:base/1/PG_VERSION", "f:base/1/pg_filenode.map",
    "f:current_logfiles", "d:global", "f:global/1262", "f:global/pg_filenode.map", "d:log",
    "d:pg_commit_ts", "d:pg_dynshmem", "d:pg_logical", "d:pg_logical/mappings",
    "f:pg_logical/mappings/" LONG_NAME,
    "d:pg_notify", "d:pg_replslot", "d:pg_serial", "d:pg_snapshots", "d:pg_stat_tmp",
    "d:pg_subtrans", "d:pg_tblspc", "l:pg_tblspc/16401", "d:pg_wal", "d:pg_wal/archive_status",
    "d:pg_xact", "f:pg_xact/0000", "f:postgresql.auto.conf", "f:postgresql.conf",
    "f:recovery.signal", "l:server.crt", "f:global/pg_control", "f:backup_label",
    "f:tablespace_map",
};

static void build_pgdata(unsigned char **shrink, unsigned char **grow, unsigned char **big)
{
    mkdirs("pgdata/base/1");
    mkdirs("pgdata/base/pgsql_tmp/pgsql_tmp1.0.fileset");
    mkdirs("pgdata/global");
    mkdirs("pgdata/log");
    mkdirs("pgdata/pg_commit_ts");
    mkdirs("pgdata/pg_dynshmem");
    mkdirs("pgdata/pg_logical/mappings");
    mkdirs("pgdata/pg_notify");
    mkdirs("pgdata/pg_replslot/myslot");
    mkdirs("pgdata/pg_serial");
    mkdirs("pgdata/pg_snapshots");
    mkdirs("pgdata/pg_subtrans");
    mkdirs("pgdata/pg_tblspc");
    mkdirs("pgdata/pg_wal/archive_status");
    mkdirs("pgdata/pg_xact");
    mkdirs("stat_elsewhere");
    mkdirs("tblspc/PG_15_202209061/16384/pgsql_tmp");
    mkdirs("tblspc/PG_14_202107181/16384");

    *shrink = pattern(3 * MiB, 1, "MARKER-SHRINK");
    *grow = pattern(2 * MiB, 2, "MARKER-GROW");
    *big = pattern(256 * 1024, 3, "MARKER-VANISH");
    put("pgdata/AAA_shrinks", *shrink, 3 * MiB);
    put("pgdata/AAB_grows", *grow, 2 * MiB);
    put("pgdata/base/1/1000", *big, 256 * 1024);
    const char *small[] = {
        "PG_VERSION", "backup_label", "backup_label.old", "backup_manifest",
        "current_logfiles", "current_logfiles.tmp", "postgresql.auto.conf",
        "postgresql.auto.conf.tmp", "postgresql.conf", "postmaster.opts", "postmaster.pid",
        "recovery.signal", "standby.signal", "tablespace_map", "recovery.conf",
        "base/1/112", "base/1/112_fsm", "base/1/112_vm", "base/1/16384", "base/1/16384.1",
        "base/1/16384_fsm", "base/1/16384_init", "base/1/99999", "base/1/PG_VERSION",
        "base/1/pg_filenode.map", "base/1/pg_internal.init", "base/1/t3_16390",
        "base/1/t3_16390_fsm", "base/1/pgsql_tmp42", "base/pgsql_tmp/pgsql_tmp123.0",
        "base/pgsql_tmp/pgsql_tmp1.0.fileset/0.0", "global/1262", "global/pg_control",
        "global/pg_filenode.map", "global/pg_internal.init", "global/pg_internal.init.77",
        "log/postgresql.log", "pg_dynshmem/mmap.1", "pg_notify/0000", "pg_replslot/myslot/state",
        "pg_serial/0000", "pg_snapshots/00000003-0000001A-1", "pg_subtrans/0000",
        "pg_wal/000000010000000000000001", "pg_wal/archive_status/000000010000000000000001.done",
        "pg_xact/0000", "stat_elsewhere/global.stat",
        "pg_logical/mappings/" LONG_NAME,
        "tblspc/stray_file", "tblspc/PG_15_202209061/16384/16500",
        "tblspc/PG_15_202209061/16384/16501", "tblspc/PG_15_202209061/16384/16501_init",
        "tblspc/PG_15_202209061/16384/pgsql_tmp/pgsql_tmp9.0",
        "tblspc/PG_14_202107181/16384/16500",
    };
    for (size_t i = 0; i < sizeof small / sizeof *small; i++) {
        char rel[512], text[600];
        snprintf(rel, sizeof rel, "%s%s", strncmp(small[i], "stat_", 5) == 0 ||
                 strncmp(small[i], "tblspc", 6) == 0 ? "" : "pgdata/", small[i]);
        snprintf(text, sizeof text, "contents of %s\n", small[i]);
        put_text(rel, text);
    }
    char p[1024];
    path_of(p, sizeof p, "pgdata");
    chmod(p, 0700);
    path_of(p, sizeof p, "pgdata/global");
    chmod(p, 0700);
    path_of(p, sizeof p, "pgdata/pg_fifo");
    if (mkfifo(p, 0600) != 0)
        printf("mkfifo failed\n");
    char target[600];
    path_of(target, sizeof target, "stat_elsewhere");
    link_to(target, "pgdata/pg_stat_tmp");
    path_of(target, sizeof target, "tblspc");
    link_to(target, "pgdata/pg_tblspc/16400");
    link_to("/nonexistent/ts", "pgdata/pg_tblspc/16401");
    link_to("/etc/ssl/certs/ssl-cert-snakeoil.pem", "pgdata/server.crt");
}

static const char label[] = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n";
static const char spcmap[] = "16401 /nonexistent/ts\n";

static void check_extracted(const char *tar_file, const unsigned char *shrink_expect,
                            const unsigned char *grow, const unsigned char *big)
{
    char out[600], cmd[1600], p[1024];
    path_of(out, sizeof out, "extracted");
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, tarfile; "
             "tarfile.open(sys.argv[1]).extractall(sys.argv[2])' '%s' '%s'",
             tar_file, out);
    CHECK(system(cmd) == 0);
    snprintf(p, sizeof p, "%s/AAA_shrinks", out);
    CHECK(same_file(p, shrink_expect, 3 * MiB));
    snprintf(p, sizeof p, "%s/AAB_grows", out);
    CHECK(same_file(p, grow, 2 * MiB));
    snprintf(p, sizeof p, "%s/base/1/1000", out);
    CHECK(same_file(p, big, 256 * 1024));
    snprintf(p, sizeof p, "%s/global/pg_control", out);
    CHECK(same_file(p, "contents of global/pg_control\n", 30));
    snprintf(p, sizeof p, "%s/backup_label", out);
    CHECK(same_file(p, label, sizeof label - 1));
    char link[256] = "";
    snprintf(p, sizeof p, "%s/server.crt", out);
    ssize_t n = readlink(p, link, sizeof link - 1);
    CHECK(n > 0 && strcmp(link, "/etc/ssl/certs/ssl-cert-snakeoil.pem") == 0);
    struct stat st;
    /* the "./" entry gives the restored directory PGDATA's 0700 */
    CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(p, sizeof p, "%s/pg_stat_tmp", out);
    CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(p, sizeof p, "%s/pg_wal/archive_status", out);
    CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(p, sizeof p, "%s/pg_wal/000000010000000000000001", out);
    CHECK(lstat(p, &st) != 0);
}

static void test_pgdata(void)
{
    unsigned char *shrink, *grow, *big;
    build_pgdata(&shrink, &grow, &big);
    unsigned char *shrink_expect = xcalloc(1, 3 * MiB);
    memcpy(shrink_expect, shrink, 3 * MiB / 2);

    mem_sink sink = {0};
    bc_tar_writer *w = NULL;
    const char *oids[] = {"16400"};
    bc_tar_filter filter = {.mode = BC_TAR_FILTER_PGDATA, .skip_tablespace_oids = oids,
                            .n_skip_tablespace_oids = 1};
    char pgdata[600], control[700];
    path_of(pgdata, sizeof pgdata, "pgdata");
    snprintf(control, sizeof control, "%s/global/pg_control", pgdata);
    CHECK(bc_tar_writer_new(sink_fn, &sink, &w) == BC_OK);
    bc_status st = bc_tar_add_tree(w, pgdata, "", &filter);
    if (st != BC_OK)
        printf("add_tree: %s\n", bc_error_msg());
    CHECK(st == BC_OK);
    CHECK(bc_tar_add_file(w, control, "global/pg_control") == BC_OK);
    CHECK(bc_tar_add_memory(w, "backup_label", label, sizeof label - 1, 0600) == BC_OK);
    CHECK(bc_tar_add_memory(w, "tablespace_map", spcmap, sizeof spcmap - 1, 0600) == BC_OK);
    CHECK(bc_tar_finish(w) == BC_OK);
    const bc_tar_stats *stats = bc_tar_get_stats(w);
    CHECK(sink.shrunk && sink.grown && sink.vanished);
    CHECK(stats->vanished == 1);
    CHECK(stats->shrunk == 1);
    CHECK(stats->archive_bytes == (int64_t)sink.len);
    CHECK(stats->entries == (int64_t)(sizeof pgdata_listing / sizeof *pgdata_listing));
    CHECK(sink.len % 10240 == 0);
    static const unsigned char zeros[1024];
    CHECK(sink.len >= 1024 && memcmp(sink.data + sink.len - 1024, zeros, 1024) == 0);
    bc_tar_free(w);

    entry *e = xcalloc(200, sizeof *e);
    size_t n = read_back(sink.data, sink.len, e, 200);
    size_t nwant = sizeof pgdata_listing / sizeof *pgdata_listing;
    CHECK(same_listing(e, n, pgdata_listing, nwant));
    const entry *x = find(e, n, "AAA_shrinks");
    CHECK(x && x->size == 3 * MiB && memcmp(x->data, shrink_expect, 3 * MiB) == 0);
    x = find(e, n, "AAB_grows");
    CHECK(x && x->size == 2 * MiB && memcmp(x->data, grow, 2 * MiB) == 0);
    x = find(e, n, "base/1/1000");
    CHECK(x && x->size == 256 * 1024 && memcmp(x->data, big, 256 * 1024) == 0);
    x = find(e, n, "backup_label");
    CHECK(x && x->perm == 0600 && x->size == sizeof label - 1 &&
          memcmp(x->data, label, sizeof label - 1) == 0);
    x = find(e, n, "global");
    CHECK(x && x->perm == 0700);
    x = find(e, n, "pg_stat_tmp"); /* a link in PGDATA, stored as a directory */
    CHECK(x && x->type == 'd' && x->perm == 0700);
    x = find(e, n, "pg_tblspc/16401");
    CHECK(x && strcmp(x->link, "/nonexistent/ts") == 0);
    x = find(e, n, "postgresql.conf");
    CHECK(x && x->size == 28 && memcmp(x->data, "contents of postgresql.conf\n", 28) == 0);
    free_entries(e, n);
    free(e);

    char file[600];
    path_of(file, sizeof file, "data.tar");
    CHECK(write_out(file, &sink));
    CHECK(system_tar_lists(file, pgdata_listing, nwant));
    check_extracted(file, shrink_expect, grow, big);
    free(sink.data);
    free(shrink);
    free(shrink_expect);
    free(grow);
    free(big);
}

static void test_tablespace(void)
{
    static const char *const want[] = {
        "d:PG_15_202209061", "d:PG_15_202209061/16384", "f:PG_15_202209061/16384/16500",
        "f:PG_15_202209061/16384/16501_init",
    };
    mem_sink sink = {0};
    bc_tar_writer *w = NULL;
    bc_tar_filter filter = {.mode = BC_TAR_FILTER_TABLESPACE, .pg_major = 15};
    char dir[600], file[600];
    path_of(dir, sizeof dir, "tblspc");
    CHECK(bc_tar_writer_new(sink_fn, &sink, &w) == BC_OK);
    CHECK(bc_tar_add_tree(w, dir, NULL, &filter) == BC_OK);
    CHECK(bc_tar_finish(w) == BC_OK);
    bc_tar_free(w);
    entry e[20];
    size_t n = read_back(sink.data, sink.len, e, 20);
    CHECK(same_listing(e, n, want, sizeof want / sizeof *want));
    free_entries(e, n);
    path_of(file, sizeof file, "16400.tar");
    CHECK(write_out(file, &sink));
    CHECK(system_tar_lists(file, want, sizeof want / sizeof *want));
    free(sink.data);
}

static void test_errors(void)
{
    char pgdata[600], missing[700];
    path_of(pgdata, sizeof pgdata, "pgdata");
    snprintf(missing, sizeof missing, "%s/no_such_file", pgdata);

    /* a missing single file is an error, and the writer stays usable */
    mem_sink sink = {0};
    bc_tar_writer *w = NULL;
    CHECK(bc_tar_writer_new(sink_fn, &sink, &w) == BC_OK);
    CHECK(bc_tar_add_file(w, missing, "x") == BC_ERR_IO);
    CHECK(strstr(bc_error_msg(), "no_such_file") != NULL);
    CHECK(bc_tar_add_tree(w, missing, "", NULL) == BC_ERR_IO);
    CHECK(bc_tar_add_memory(w, "a", "b", 1, 0644) == BC_OK);
    CHECK(bc_tar_finish(w) == BC_OK);
    CHECK(bc_tar_add_memory(w, "late", "b", 1, 0644) != BC_OK);
    bc_tar_free(w);
    free(sink.data);

    /* the sink's refusal comes back with its status and message; nothing
     * reaches the sink afterwards, not even at free */
    mem_sink refusing = {.fail_after = 200 * 1024};
    CHECK(bc_tar_writer_new(sink_fn, &refusing, &w) == BC_OK);
    bc_tar_filter filter = {.mode = BC_TAR_FILTER_PGDATA};
    CHECK(bc_tar_add_tree(w, pgdata, "", &filter) == BC_ERR_NET);
    CHECK(strstr(bc_error_msg(), "upload refused by test sink") != NULL);
    CHECK(strncmp(bc_error_msg(), "tar: ", 5) == 0);
    int calls = refusing.calls;
    CHECK(bc_tar_add_memory(w, "a", "b", 1, 0644) != BC_OK);
    CHECK(bc_tar_finish(w) != BC_OK);
    bc_tar_free(w);
    CHECK(refusing.calls == calls);
    free(refusing.data);
    bc_tar_free(NULL);
}

static void test_rules(void)
{
    bc_tar_filter pg = {.mode = BC_TAR_FILTER_PGDATA};
    const char *sib[] = {"16384", "16384_init", "t2_5", "t2_5_vm.3"};
    CHECK(bc_tar_filter_rule(&pg, "base/5", "16384.12", sib, 4) == BC_TAR_RULE_SKIP);
    CHECK(bc_tar_filter_rule(&pg, "base/5", "16384_vm", sib, 4) == BC_TAR_RULE_SKIP);
    CHECK(bc_tar_filter_rule(&pg, "base/5", "16384_init", sib, 4) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&pg, "base/5", "16385", sib, 4) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&pg, "base/5", "t2_5_vm.3", sib, 4) == BC_TAR_RULE_SKIP);
    CHECK(bc_tar_filter_rule(&pg, "global", "16384.1", sib, 4) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&pg, "base/5", "16384_bogus", sib, 4) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&pg, "", "pg_wal", NULL, 0) == BC_TAR_RULE_WAL_DIR);
    CHECK(bc_tar_filter_rule(&pg, "base", "pg_wal", NULL, 0) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&pg, "x/y", "pg_notify", NULL, 0) == BC_TAR_RULE_EMPTY_DIR);
    CHECK(bc_tar_filter_rule(&pg, "x", "pgsql_tmp", NULL, 0) == BC_TAR_RULE_SKIP);
    CHECK(bc_tar_filter_rule(&pg, "", "global", NULL, 0) == BC_TAR_RULE_KEEP);
    const char *inside[] = {"/spaces/fast"};
    bc_tar_filter with_paths = {.mode = BC_TAR_FILTER_PGDATA, .skip_paths = inside,
                                .n_skip_paths = 1};
    CHECK(bc_tar_filter_rule(&with_paths, "spaces", "fast", NULL, 0) == BC_TAR_RULE_SKIP);
    CHECK(bc_tar_filter_rule(&with_paths, "spaces", "slow", NULL, 0) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&with_paths, "", "spaces", NULL, 0) == BC_TAR_RULE_KEEP);
    bc_tar_filter ts = {.mode = BC_TAR_FILTER_TABLESPACE, .pg_major = 15};
    CHECK(bc_tar_filter_rule(&ts, "", "PG_150_1", NULL, 0) == BC_TAR_RULE_SKIP);
    CHECK(bc_tar_filter_rule(&ts, "", "PG_15_1", NULL, 0) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&ts, "PG_15_1", "16384", NULL, 0) == BC_TAR_RULE_KEEP);
    CHECK(bc_tar_filter_rule(&ts, "PG_15_1/1", "t3_7", NULL, 0) == BC_TAR_RULE_SKIP);
    CHECK(bc_tar_filter_rule(NULL, "", "postmaster.pid", NULL, 0) == BC_TAR_RULE_KEEP);
}

int main(void)
{
    bc_log_init("test_tar", BC_LOG_TEXT, -1);
    snprintf(root, sizeof root, "/tmp/bc-test-tar-XXXXXX");
    if (!mkdtemp(root)) {
        printf("mkdtemp failed\n");
        return 1;
    }
    test_rules();
    test_pgdata();
    test_tablespace();
    test_errors();
    if (getenv("KEEP") == NULL)
        check_remove_tree(root);
    return check_report("tar");
}
