#include "tar/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"

#define TAR_BLOCK 512
#define READ_SIZE (256 * 1024)

/* --- the end-of-archive check ---
 *
 * libarchive takes the end of the input at an entry boundary, or a single
 * zero block where a header is due, for the end of the archive and
 * reports a clean end: an archive cut between two entries, or with a
 * header zeroed, would restore half its files without an error. So every
 * byte read also goes through this small parser of the tar block
 * structure, which only looks at headers (the data is skipped by count)
 * and at the end says whether the stream was one whole archive. */
typedef struct shadow {
    int64_t offset;          /* bytes seen */
    int64_t data_left;       /* data blocks of the current entry still to skip */
    int64_t pax_left;        /* bytes of a pax extended header still to collect */
    unsigned char block[TAR_BLOCK];
    size_t have;             /* bytes of a header block gathered so far */
    int zeros;               /* zero blocks in a row where a header was due */
    int64_t zero_at;         /* offset of the first of them */
    char pax[8192];          /* the pax header records (its size= matters) */
    size_t pax_len;
    int64_t next_size;       /* size= of the pax header, for the next entry */
    int have_next_size;
    const char *problem;     /* first structural problem, NULL if none */
    int64_t problem_at;
} shadow;

static int is_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* A numeric header field: octal text, or base-256 when the high bit is set. */
static int64_t header_number(const unsigned char *f, size_t n)
{
    int64_t v = 0;
    if (f[0] & 0x80) {
        for (size_t i = 1; i < n; i++)
            v = (v << 8) | f[i];
        return v;
    }
    size_t i = 0;
    while (i < n && (f[i] == ' ' || f[i] == '\0'))
        i++;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (f[i] - '0');
    return v;
}

static int checksum_ok(const unsigned char *b)
{
    int64_t want = header_number(b + 148, 8), sum = 0, ssum = 0;
    for (int i = 0; i < TAR_BLOCK; i++) {
        unsigned char c = i >= 148 && i < 156 ? ' ' : b[i];
        sum += c;
        ssum += (signed char)c; /* some old writers summed signed bytes */
    }
    return want == sum || want == ssum;
}

/* "size=N" in the records "LEN key=value\n" of a pax extended header. */
static void pax_size(shadow *sh)
{
    size_t i = 0;
    while (i < sh->pax_len) {
        size_t len = 0, j = i;
        while (j < sh->pax_len && sh->pax[j] >= '0' && sh->pax[j] <= '9')
            len = len * 10 + (size_t)(sh->pax[j++] - '0');
        if (len == 0 || i + len > sh->pax_len || j >= sh->pax_len || sh->pax[j] != ' ')
            return;
        if (len - (j + 1 - i) > 5 && memcmp(sh->pax + j + 1, "size=", 5) == 0) {
            int64_t v = 0;
            for (size_t k = j + 6; k < i + len && sh->pax[k] >= '0' && sh->pax[k] <= '9'; k++)
                v = v * 10 + (sh->pax[k] - '0');
            sh->next_size = v;
            sh->have_next_size = 1;
        }
        i += len;
    }
}

static void shadow_header(shadow *sh, int64_t at)
{
    const unsigned char *b = sh->block;
    if (is_zero(b, TAR_BLOCK)) {
        if (sh->zeros++ == 0)
            sh->zero_at = at;
        return;
    }
    if (sh->zeros) {
        sh->problem = sh->zeros == 1 ? "has a zeroed block where a header was due, then more entries"
                                     : "has entries after its end-of-archive blocks";
        sh->problem_at = sh->zero_at;
        return;
    }
    if (!checksum_ok(b)) {
        sh->problem = "has a damaged header (bad checksum)";
        sh->problem_at = at;
        return;
    }
    char type = (char)b[156];
    int64_t size = header_number(b + 124, 12);
    if (sh->have_next_size && type != 'x' && type != 'g' && type != 'L' && type != 'K') {
        size = sh->next_size;
        sh->have_next_size = 0;
    }
    if (strchr("123456", type) && type) /* links, devices, directories, fifos: no data */
        size = 0;
    sh->data_left = (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
    sh->pax_len = 0;
    sh->pax_left = type == 'x' ? size : 0;
}

static void shadow_feed(shadow *sh, const unsigned char *p, size_t len)
{
    while (len > 0 && !sh->problem) {
        if (sh->data_left > 0) {
            size_t take = (int64_t)len < sh->data_left ? len : (size_t)sh->data_left;
            if (sh->pax_left > 0) {
                size_t keep = (int64_t)take < sh->pax_left ? take : (size_t)sh->pax_left;
                size_t room = sizeof sh->pax - sh->pax_len;
                memcpy(sh->pax + sh->pax_len, p, keep < room ? keep : room);
                sh->pax_len += keep < room ? keep : room;
                sh->pax_left -= (int64_t)keep;
                if (sh->pax_left == 0)
                    pax_size(sh);
            }
            sh->data_left -= (int64_t)take;
            sh->offset += (int64_t)take;
            p += take;
            len -= take;
            continue;
        }
        size_t take = TAR_BLOCK - sh->have < len ? TAR_BLOCK - sh->have : len;
        memcpy(sh->block + sh->have, p, take);
        sh->have += take;
        sh->offset += (int64_t)take;
        p += take;
        len -= take;
        if (sh->have == TAR_BLOCK) {
            sh->have = 0;
            shadow_header(sh, sh->offset - TAR_BLOCK);
        }
    }
}

/* NULL when the stream seen was one whole archive, else what is wrong. */
static const char *shadow_end(const shadow *sh, int64_t *at)
{
    *at = sh->problem ? sh->problem_at : sh->offset;
    if (sh->problem)
        return sh->problem;
    if (sh->data_left > 0 || sh->have > 0)
        return "ends inside an entry";
    if (sh->zeros < 2)
        return "ends without its end-of-archive blocks";
    return NULL;
}

typedef struct reader {
    int fd;
    unsigned char *buf;
    shadow sh;
} reader;

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **out)
{
    reader *r = ctx;
    ssize_t n;
    do
        n = read(r->fd, r->buf, READ_SIZE);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        archive_set_error(a, errno, "read: %s", strerror(errno));
        return -1;
    }
    shadow_feed(&r->sh, r->buf, (size_t)n);
    *out = r->buf;
    return n;
}

/* What follows libarchive's end: record padding, which must be zeros. */
static bc_status drain(reader *r, const char *what)
{
    for (;;) {
        ssize_t n = read(r->fd, r->buf, READ_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return bc_error(BC_ERR_IO, "%s: read: %s", what, strerror(errno));
        if (n == 0)
            return BC_OK;
        shadow_feed(&r->sh, r->buf, (size_t)n);
    }
}

/* --- extraction --- */

/* 1 if a relative archive path stays below its root. */
static int path_is_safe(const char *p)
{
    if (!p || !*p || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += n;
        while (*s == '/')
            s++;
    }
    return 1;
}

static const unsigned char zeros[65536];

#define CONTROL "global/pg_control"

/* The entry is PostgreSQL's control file ("./" prefixes aside). */
static int is_control(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    return strcmp(name, CONTROL) == 0;
}

static bc_status copy_data(struct archive *in, struct archive *out, const char *what,
                           const char *name, const bc_extract_observer *obs, int observed,
                           bc_extract_stats *stats)
{
    const void *block;
    size_t size;
    la_int64_t offset, expected = 0;
    for (;;) {
        int r = archive_read_data_block(in, &block, &size, &offset);
        if (r == ARCHIVE_EOF)
            return BC_OK;
        if (r != ARCHIVE_OK)
            return bc_error(BC_ERR_DATA, "%s: cannot read %s: %s", what, name,
                            archive_error_string(in));
        if (out && archive_write_data_block(out, block, size, offset) != ARCHIVE_OK)
            return bc_error(BC_ERR_IO, "%s: cannot write %s: %s", what, name,
                            archive_error_string(out));
        if (observed) {
            /* a hole (sparse entry) reads back as zeros */
            while (expected < offset) {
                size_t n = offset - expected < (la_int64_t)sizeof zeros
                               ? (size_t)(offset - expected) : sizeof zeros;
                obs->entry_data(obs->ctx, zeros, n);
                expected += (la_int64_t)n;
            }
            obs->entry_data(obs->ctx, block, size);
            expected = offset + (la_int64_t)size;
        }
        stats->bytes += (int64_t)size;
    }
}

bc_status bc_tar_extract_fd(int fd, const char *target, const char *what,
                            const bc_extract_observer *obs, bc_extract_stats *stats)
{
    char root[PATH_MAX], full[PATH_MAX * 2 + sizeof BC_EXTRACT_HELD], last[PATH_MAX] = "";
    bc_extract_stats local = {0};
    if (!stats)
        stats = &local;
    if (obs && !obs->entry_begin)
        obs = NULL;
    if (target && !realpath(target, root))
        return bc_error(BC_ERR_IO, "cannot resolve %s", target);

    reader *rd = calloc(1, sizeof *rd);
    struct archive *in = archive_read_new();
    struct archive *out = target ? archive_write_disk_new() : NULL;
    if (rd)
        rd->buf = malloc(READ_SIZE);
    if (!rd || !rd->buf || !in || (target && !out)) {
        if (rd)
            free(rd->buf);
        free(rd);
        archive_read_free(in);
        archive_write_free(out);
        return bc_oom();
    }
    rd->fd = fd;
    archive_read_support_format_tar(in);
    /* Entry names are checked above and then made absolute under root, so
     * libarchive's own no-absolute-path rule cannot apply; its symlink and
     * ".." checks still guard the joined path. */
    if (out)
        archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    bc_status st = BC_OK;
    if (archive_read_open(in, rd, NULL, read_cb, NULL) != ARCHIVE_OK)
        st = bc_error(BC_ERR_DATA, "%s: %s", what, archive_error_string(in));

    struct archive_entry *entry;
    while (st == BC_OK) {
        int r = archive_read_next_header(in, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            st = bc_error(BC_ERR_DATA, "%s: not a valid tar archive: %s", what,
                          archive_error_string(in));
            break;
        }
        /* Copies: renaming the entry below frees libarchive's strings. */
        char name[PATH_MAX], link_buf[PATH_MAX];
        const char *orig = archive_entry_pathname(entry);
        const char *orig_link = archive_entry_hardlink(entry);
        snprintf(name, sizeof name, "%s", orig ? orig : "");
        snprintf(link_buf, sizeof link_buf, "%s", orig_link ? orig_link : "");
        snprintf(last, sizeof last, "%s", name);
        const char *link = orig_link ? link_buf : NULL;
        if (!path_is_safe(name) || (link && !path_is_safe(link))) {
            st = bc_error(BC_ERR_DATA,
                          "%s: unsafe entry '%s'%s%s would be written outside %s; refusing "
                          "to restore this archive", what, name,
                          link ? " linked to " : "", link ? link : "",
                          target ? target : "the target");
            break;
        }
        int observed = 0;
        if (obs) {
            const char *rel = name;
            while (rel[0] == '.' && rel[1] == '/')
                rel += 2;
            if (!strcmp(rel, "."))
                rel = "";
            int regular = archive_entry_filetype(entry) == AE_IFREG && !link;
            st = obs->entry_begin(obs->ctx, rel, regular, archive_entry_size(entry));
            if (st != BC_OK)
                break;
            observed = 1;
        }
        if (out) {
            snprintf(full, sizeof full, "%s/%s%s", root, name,
                     is_control(name) ? BC_EXTRACT_HELD : "");
            archive_entry_copy_pathname(entry, full);
        }
        if (out && link) {
            snprintf(full, sizeof full, "%s/%s", root, link);
            archive_entry_copy_hardlink(entry, full);
        }
        if (out && archive_write_header(out, entry) != ARCHIVE_OK) {
            st = bc_error(BC_ERR_DATA, "%s: refusing unsafe or unwritable entry '%s': %s", what,
                          name, archive_error_string(out));
            break;
        }
        if (archive_entry_size(entry) > 0)
            st = copy_data(in, out, what, name, obs, observed, stats);
        if (st == BC_OK && out && archive_write_finish_entry(out) != ARCHIVE_OK)
            st = bc_error(BC_ERR_IO, "%s: cannot finish %s: %s", what, name,
                          archive_error_string(out));
        if (st == BC_OK && observed)
            st = obs->entry_end(obs->ctx);
        stats->entries++;
    }
    if (out && archive_write_close(out) != ARCHIVE_OK && st == BC_OK)
        st = bc_error(BC_ERR_IO, "%s: %s", what, archive_error_string(out));
    if (st == BC_OK)
        st = drain(rd, what);
    if (st == BC_OK) {
        int64_t at;
        const char *problem = shadow_end(&rd->sh, &at);
        if (problem)
            st = bc_error(BC_ERR_DATA, "%s: %s at byte %lld%s%s%s: the archive is truncated or damaged", what,
                          problem, (long long)at, last[0] ? " (after '" : "", last,
                          last[0] ? "')" : "");
    }
    archive_read_free(in);
    archive_write_free(out);
    free(rd->buf);
    free(rd);
    return st;
}

bc_status bc_tar_release_held(const char *target)
{
    char held[PATH_MAX], control[PATH_MAX];
    snprintf(held, sizeof held, "%s/" CONTROL BC_EXTRACT_HELD, target);
    snprintf(control, sizeof control, "%s/" CONTROL, target);
    if (rename(held, control) != 0) {
        if (errno == ENOENT)
            return BC_OK; /* the archives had no control file */
        return bc_error(BC_ERR_IO, "cannot rename %s to %s: %s", held, control, strerror(errno));
    }
    *strrchr(control, '/') = '\0';
    return bc_fsync_dir(control);
}

void bc_tar_discard_held(const char *target)
{
    char held[PATH_MAX];
    snprintf(held, sizeof held, "%s/" CONTROL BC_EXTRACT_HELD, target);
    unlink(held);
}
