/* backup_manifest and bc_archives.json: see manifest.h. The text follows
 * PostgreSQL's backup_manifest.c byte for byte where pg_verifybackup
 * cares (the Manifest-Checksum covers everything up to the newline before
 * its own line), so a restored directory verifies with PostgreSQL's tool. */
#include "backup/manifest.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/crc32c.h"
#include "util/buffer.h"
#include "util/hex.h"

/* --- checksums --- */

const char *bc_checksum_name(bc_checksum_algo algo)
{
    switch (algo) {
    case BC_CHECKSUM_CRC32C: return "CRC32C";
    case BC_CHECKSUM_SHA256: return "SHA256";
    default: return "NONE";
    }
}

static int algo_from_name(const char *name, bc_checksum_algo *algo)
{
    if (!strcmp(name, "CRC32C"))
        *algo = BC_CHECKSUM_CRC32C;
    else if (!strcmp(name, "SHA256"))
        *algo = BC_CHECKSUM_SHA256;
    else if (!strcmp(name, "NONE"))
        *algo = BC_CHECKSUM_NONE;
    else
        return 0;
    return 1;
}

bc_status bc_checksum_init(bc_checksum *c, bc_checksum_algo algo)
{
    bc_checksum_free(c);
    c->algo = algo;
    c->crc = 0;
    return algo == BC_CHECKSUM_SHA256 ? bc_sha256_begin(&c->sha) : BC_OK;
}

void bc_checksum_update(bc_checksum *c, const void *data, size_t len)
{
    if (c->algo == BC_CHECKSUM_CRC32C)
        c->crc = bc_crc32c(c->crc, data, len);
    else if (c->algo == BC_CHECKSUM_SHA256)
        bc_sha256_update(&c->sha, data, len);
}

void bc_checksum_final_hex(bc_checksum *c, char hex[65])
{
    hex[0] = '\0';
    if (c->algo == BC_CHECKSUM_CRC32C) {
        /* pg_checksum_final() copies the uint32 from memory: little-endian
         * on every platform PostgreSQL builds are used on here */
        unsigned char b[4] = {c->crc & 0xff, (c->crc >> 8) & 0xff, (c->crc >> 16) & 0xff,
                              c->crc >> 24};
        bc_hex_encode(b, 4, hex);
        c->crc = 0;
    } else if (c->algo == BC_CHECKSUM_SHA256) {
        bc_sha256_hex(&c->sha, hex);
    }
}

void bc_checksum_free(bc_checksum *c)
{
    bc_sha256_free(&c->sha);
}

void bc_manifest_sha256_hex(const void *text, size_t len, char hex[65])
{
    bc_checksum c = {0};
    if (bc_checksum_init(&c, BC_CHECKSUM_SHA256) == BC_OK) {
        bc_checksum_update(&c, text, len);
        bc_checksum_final_hex(&c, hex);
    } else {
        hex[0] = '\0';
    }
    bc_checksum_free(&c);
}

/* --- text building --- */

static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2
              : (*s & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (n == 1 && *s < 0xc2))
            return 0;
        s++;
        for (int i = 0; i < n; i++, s++)
            if ((*s & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

/* PostgreSQL's escape_json(). */
static void sb_json_string(bc_buffer *b, const char *s)
{
    bc_buffer_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': bc_buffer_append(b, "\\\"", 2); break;
        case '\\': bc_buffer_append(b, "\\\\", 2); break;
        case '\b': bc_buffer_append(b, "\\b", 2); break;
        case '\f': bc_buffer_append(b, "\\f", 2); break;
        case '\n': bc_buffer_append(b, "\\n", 2); break;
        case '\r': bc_buffer_append(b, "\\r", 2); break;
        case '\t': bc_buffer_append(b, "\\t", 2); break;
        default:
            if (c < 0x20)
                bc_buffer_addf(b, "\\u%04x", c);
            else
                bc_buffer_append(b, s, 1);
        }
    }
    bc_buffer_append(b, "\"", 1);
}

/* --- the builder --- */

typedef struct built_file {
    char *path;
    int64_t size;
    time_t mtime;
    char checksum[65];
} built_file;

struct bc_manifest_builder {
    bc_checksum_algo algo;
    bc_checksum sum;
    built_file *files;
    size_t n, cap;
    char *prefix;
    int open;        /* files[n - 1] is being checksummed */
};

bc_status bc_manifest_builder_new(bc_checksum_algo algo, bc_manifest_builder **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return bc_oom();
    (*out)->algo = algo;
    bc_status st = bc_checksum_init(&(*out)->sum, algo);
    if (st != BC_OK) {
        bc_manifest_builder_free(*out);
        *out = NULL;
    }
    return st;
}

void bc_manifest_builder_free(bc_manifest_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->files[i].path);
    free(b->files);
    free(b->prefix);
    bc_checksum_free(&b->sum);
    free(b);
}

static bc_status builder_begin(void *ctx, const char *name, int64_t size, time_t mtime)
{
    bc_manifest_builder *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        built_file *f = realloc(b->files, cap * sizeof *f);
        if (!f)
            return bc_oom();
        b->files = f;
        b->cap = cap;
    }
    built_file *f = &b->files[b->n];
    size_t plen = strlen(b->prefix), nlen = strlen(name);
    if (!(f->path = malloc(plen + nlen + 1)))
        return bc_oom();
    memcpy(f->path, b->prefix, plen);
    memcpy(f->path + plen, name, nlen + 1);
    f->size = size;
    f->mtime = mtime;
    f->checksum[0] = '\0';
    b->n++;
    b->open = 1;
    return BC_OK;
}

static void builder_data(void *ctx, const void *data, size_t len)
{
    bc_manifest_builder *b = ctx;
    bc_checksum_update(&b->sum, data, len);
}

static bc_status builder_end(void *ctx)
{
    bc_manifest_builder *b = ctx;
    if (b->open)
        bc_checksum_final_hex(&b->sum, b->files[b->n - 1].checksum);
    b->open = 0;
    return BC_OK;
}

bc_status bc_manifest_builder_observer(bc_manifest_builder *b, const char *prefix,
                                       bc_tar_observer *out)
{
    char *copy = strdup(prefix);
    if (!copy)
        return bc_oom();
    free(b->prefix);
    b->prefix = copy;
    *out = (bc_tar_observer){b, builder_begin, builder_data, builder_end};
    return BC_OK;
}

bc_status bc_manifest_builder_finish(bc_manifest_builder *b, uint32_t timeline,
                                     uint64_t start_lsn, uint64_t end_lsn, char **text,
                                     size_t *len)
{
    bc_buffer sb = {0};
    *text = NULL;
    bc_buffer_addf(&sb, "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [");
    for (size_t i = 0; i < b->n; i++) {
        const built_file *f = &b->files[i];
        bc_buffer_append(&sb, i ? ",\n" : "\n", i ? 2 : 1);
        if (valid_utf8((const unsigned char *)f->path)) {
            bc_buffer_addf(&sb, "{ \"Path\": ");
            sb_json_string(&sb, f->path);
            bc_buffer_addf(&sb, ", ");
        } else {
            char hex[2 * PATH_MAX + 1];
            size_t n = strlen(f->path);
            bc_hex_encode(f->path, n < PATH_MAX ? n : PATH_MAX, hex);
            bc_buffer_addf(&sb, "{ \"Encoded-Path\": \"");
            bc_buffer_append(&sb, hex, strlen(hex));
            bc_buffer_addf(&sb, "\", ");
        }
        struct tm tm;
        char when[64] = "";
        gmtime_r(&f->mtime, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S GMT", &tm);
        bc_buffer_addf(&sb, "\"Size\": %lld, \"Last-Modified\": \"%s\"", (long long)f->size, when);
        if (b->algo != BC_CHECKSUM_NONE)
            bc_buffer_addf(&sb, ", \"Checksum-Algorithm\": \"%s\", \"Checksum\": \"%s\"",
                      bc_checksum_name(b->algo), f->checksum);
        bc_buffer_addf(&sb, " }");
    }
    bc_buffer_addf(&sb, "\n],\n\"WAL-Ranges\": [\n");
    bc_buffer_addf(&sb, "{ \"Timeline\": %u, \"Start-LSN\": \"%X/%X\", \"End-LSN\": \"%X/%X\" }",
              timeline, (unsigned)(start_lsn >> 32), (unsigned)start_lsn,
              (unsigned)(end_lsn >> 32), (unsigned)end_lsn);
    bc_buffer_addf(&sb, "\n],\n");
    char hex[65];
    if (!sb.failed)
        bc_manifest_sha256_hex(sb.data, sb.len, hex);
    bc_buffer_addf(&sb, "\"Manifest-Checksum\": \"%s\"}\n", sb.failed ? "" : hex);
    if (sb.failed) {
        bc_buffer_free(&sb);
        return bc_error(BC_ERR_INTERNAL, "out of memory writing the backup manifest");
    }
    *text = (char *)sb.data;
    *len = sb.len;
    return BC_OK;
}

/* --- the archive list --- */

bc_status bc_archive_list_add(bc_archive_list *l, const char *name, int64_t size,
                              const char *checksum)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        bc_archive_entry *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return bc_oom();
        l->items = items;
        l->cap = cap;
    }
    bc_archive_entry *e = &l->items[l->n];
    if (!(e->name = strdup(name)))
        return bc_oom();
    e->size = size;
    snprintf(e->checksum, sizeof e->checksum, "%s", checksum);
    l->n++;
    return BC_OK;
}

char *bc_archive_list_format(const bc_archive_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s}", "Name", l->items[i].name,
                                             "Size", (json_int_t)l->items[i].size,
                                             "Checksum", l->items[i].checksum));
    json_t *root = arr ? json_pack("{s:i, s:s, s:I, s:s, s:o}", "Version", 1,
                                   "Checksum-Algorithm", bc_checksum_name(l->algo),
                                   "Manifest-Size", (json_int_t)l->manifest_size,
                                   "Manifest-SHA256", l->manifest_sha256, "Archives", arr)
                       : NULL;
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text)
        return NULL;
    /* a final newline, as text files have */
    size_t n = strlen(text);
    char *out = malloc(n + 2);
    if (out) {
        memcpy(out, text, n);
        memcpy(out + n, "\n", 2);
    }
    free(text);
    return out;
}

static int is_hex(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

bc_status bc_archive_list_parse(const char *text, size_t len, const char *what,
                                bc_archive_list *out)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    json_t *arr = NULL;
    const char *algo = NULL, *msha = NULL;
    json_int_t version = 0, msize = 0;
    bc_status st = BC_OK;
    if (!root)
        return bc_error(BC_ERR_DATA, "%s: not JSON: %s (line %d)", what, jerr.text, jerr.line);
    if (json_unpack(root, "{s:I, s:s, s:I, s:s, s:o}", "Version", &version,
                    "Checksum-Algorithm", &algo, "Manifest-Size", &msize, "Manifest-SHA256",
                    &msha, "Archives", &arr) != 0 || version != 1 || !json_is_array(arr) ||
        !algo_from_name(algo, &out->algo) || out->algo == BC_CHECKSUM_NONE ||
        !is_hex(msha, 64, 64) || msize < 0)
        st = bc_error(BC_ERR_DATA, "%s: not a version 1 archive list", what);
    if (st == BC_OK) {
        out->manifest_size = msize;
        snprintf(out->manifest_sha256, sizeof out->manifest_sha256, "%s", msha);
    }
    size_t i;
    json_t *item;
    json_array_foreach(st == BC_OK ? arr : NULL, i, item) {
        const char *name, *sum;
        json_int_t size;
        if (json_unpack(item, "{s:s, s:I, s:s}", "Name", &name, "Size", &size, "Checksum",
                        &sum) != 0 || !*name || strchr(name, '/') || size < 0 ||
            !is_hex(sum, 8, 64)) {
            st = bc_error(BC_ERR_DATA, "%s: archive %zu is not a valid entry", what, i + 1);
            break;
        }
        st = bc_archive_list_add(out, name, size, sum);
        if (st != BC_OK)
            break;
    }
    json_decref(root);
    if (st != BC_OK)
        bc_archive_list_free(out);
    return st;
}

void bc_archive_list_free(bc_archive_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].name);
    free(l->items);
    memset(l, 0, sizeof *l);
}

const bc_archive_entry *bc_archive_list_find(const bc_archive_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

/* --- the manifest read back --- */

typedef struct listed_file {
    char *path;
    int64_t size;
    bc_checksum_algo algo;
    char checksum[65];
    atomic_int seen;
} listed_file;

struct bc_manifest {
    listed_file *files;
    size_t n;
    size_t *index; /* open addressing over files, SIZE_MAX for empty */
    size_t mask;
};

static size_t hash_path(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static listed_file *lookup(const bc_manifest *m, const char *path)
{
    for (size_t i = hash_path(path) & m->mask;; i = (i + 1) & m->mask) {
        if (m->index[i] == SIZE_MAX)
            return NULL;
        if (!strcmp(m->files[m->index[i]].path, path))
            return &m->files[m->index[i]];
    }
}

void bc_manifest_free(bc_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->files[i].path);
    free(m->files);
    free(m->index);
    free(m);
}

static char *decode_hex_path(const char *hex)
{
    size_t n = strlen(hex);
    char *out = n % 2 == 0 ? malloc(n / 2 + 1) : NULL;
    for (size_t i = 0; out && i < n / 2; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0) {
            free(out);
            return NULL;
        }
        out[i] = (char)v;
    }
    if (out)
        out[n / 2] = '\0';
    return out;
}

/* pg_verifybackup's rule: the checksum covers the text up to and
 * including the next-to-last newline; the last line holds the checksum. */
static bc_status check_manifest_checksum(const char *text, size_t len, const char *want,
                                         const char *what)
{
    size_t last = SIZE_MAX, before = SIZE_MAX;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n') {
            before = last;
            last = i;
        }
    if (last != len - 1 || before == SIZE_MAX)
        return bc_error(BC_ERR_DATA, "%s: does not end with the Manifest-Checksum line", what);
    char hex[65];
    bc_manifest_sha256_hex(text, before + 1, hex);
    if (strcmp(hex, want) != 0)
        return bc_error(BC_ERR_DATA, "%s: Manifest-Checksum %s does not match its contents "
                        "(%s): the manifest is damaged", what, want, hex);
    return BC_OK;
}

bc_status bc_manifest_parse(const char *text, size_t len, const char *what, bc_manifest **out)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr), *files = NULL;
    json_int_t version = 0;
    const char *sum = NULL;
    if (!root)
        return bc_error(BC_ERR_DATA, "%s: not JSON: %s (line %d)", what, jerr.text, jerr.line);
    bc_status st = BC_OK;
    if (json_unpack(root, "{s:I, s:o, s:s}", "PostgreSQL-Backup-Manifest-Version", &version,
                    "Files", &files, "Manifest-Checksum", &sum) != 0 || version != 1 ||
        !json_is_array(files))
        st = bc_error(BC_ERR_DATA, "%s: not a version 1 backup manifest", what);
    if (st == BC_OK)
        st = check_manifest_checksum(text, len, sum, what);
    bc_manifest *m = st == BC_OK ? calloc(1, sizeof *m) : NULL;
    size_t n = st == BC_OK ? json_array_size(files) : 0, slots = 16;
    while (slots < 2 * n)
        slots *= 2;
    if (st == BC_OK && (!m || !(m->files = calloc(n ? n : 1, sizeof *m->files)) ||
                        !(m->index = malloc(slots * sizeof *m->index))))
        st = bc_oom();
    if (st == BC_OK) {
        m->mask = slots - 1;
        for (size_t i = 0; i < slots; i++)
            m->index[i] = SIZE_MAX;
    }
    for (size_t i = 0; st == BC_OK && i < n; i++) {
        json_t *f = json_array_get(files, i);
        const char *path = NULL, *encoded = NULL, *algo = NULL, *checksum = NULL;
        json_int_t size = -1;
        listed_file *lf = &m->files[i];
        if (json_unpack(f, "{s?s, s?s, s:I, s?s, s?s}", "Path", &path, "Encoded-Path", &encoded,
                        "Size", &size, "Checksum-Algorithm", &algo, "Checksum",
                        &checksum) != 0 || size < 0 || !path == !encoded) {
            st = bc_error(BC_ERR_DATA, "%s: file %zu is not a valid entry", what, i + 1);
            break;
        }
        lf->path = path ? strdup(path) : decode_hex_path(encoded);
        lf->size = size;
        lf->algo = BC_CHECKSUM_NONE;
        if (!lf->path) {
            st = bc_error(BC_ERR_DATA, "%s: file %zu has an invalid path", what, i + 1);
            break;
        }
        m->n = i + 1;
        if (algo && !algo_from_name(algo, &lf->algo)) {
            st = bc_error(BC_ERR_DATA, "%s: %s: checksum algorithm %s is not supported", what,
                          lf->path, algo);
            break;
        }
        if (lf->algo != BC_CHECKSUM_NONE &&
            (!checksum || !is_hex(checksum, lf->algo == BC_CHECKSUM_CRC32C ? 8 : 64,
                                  lf->algo == BC_CHECKSUM_CRC32C ? 8 : 64))) {
            st = bc_error(BC_ERR_DATA, "%s: %s: invalid checksum", what, lf->path);
            break;
        }
        snprintf(lf->checksum, sizeof lf->checksum, "%s", checksum ? checksum : "");
        atomic_init(&lf->seen, 0);
        if (lookup(m, lf->path)) {
            st = bc_error(BC_ERR_DATA, "%s: %s is listed twice", what, lf->path);
            break;
        }
        size_t k = hash_path(lf->path) & m->mask;
        while (m->index[k] != SIZE_MAX)
            k = (k + 1) & m->mask;
        m->index[k] = i;
    }
    json_decref(root);
    if (st != BC_OK) {
        bc_manifest_free(m);
        return st;
    }
    *out = m;
    return BC_OK;
}

/* --- checking entries --- */

struct bc_manifest_check {
    bc_manifest *m;
    char *archive;
    char *prefix;
    listed_file *cur;  /* the file being checked, NULL for other entries */
    int64_t got;
    bc_checksum sum;
    char path[PATH_MAX];
};

bc_status bc_manifest_check_new(bc_manifest *m, const char *archive, const char *prefix,
                                bc_manifest_check **out)
{
    bc_manifest_check *c = calloc(1, sizeof *c);
    if (!c || !(c->archive = strdup(archive)) || !(c->prefix = strdup(prefix))) {
        bc_manifest_check_free(c);
        return bc_oom();
    }
    c->m = m;
    *out = c;
    return BC_OK;
}

void bc_manifest_check_free(bc_manifest_check *c)
{
    if (!c)
        return;
    bc_checksum_free(&c->sum);
    free(c->archive);
    free(c->prefix);
    free(c);
}

static bc_status check_begin(void *ctx, const char *name, int regular, int64_t size)
{
    bc_manifest_check *c = ctx;
    c->cur = NULL;
    if (!regular)
        return BC_OK; /* directories and links: pg_verifybackup lists only files */
    if (snprintf(c->path, sizeof c->path, "%s%s", c->prefix, name) >= (int)sizeof c->path)
        return bc_error(BC_ERR_DATA, "%s: %s: name too long", c->archive, name);
    listed_file *f = lookup(c->m, c->path);
    if (!f)
        return bc_error(BC_ERR_DATA, "%s: %s is in the archive but not in the backup manifest",
                        c->archive, c->path);
    if (atomic_exchange(&f->seen, 1))
        return bc_error(BC_ERR_DATA, "%s: %s is in the backup twice", c->archive, c->path);
    if (size != f->size)
        return bc_error(BC_ERR_DATA, "%s: %s has %lld bytes in the archive, the backup "
                        "manifest says %lld", c->archive, c->path, (long long)size,
                        (long long)f->size);
    c->cur = f;
    c->got = 0;
    return bc_checksum_init(&c->sum, f->algo);
}

static void check_data(void *ctx, const void *data, size_t len)
{
    bc_manifest_check *c = ctx;
    if (!c->cur)
        return;
    bc_checksum_update(&c->sum, data, len);
    c->got += (int64_t)len;
}

static bc_status check_end(void *ctx)
{
    bc_manifest_check *c = ctx;
    listed_file *f = c->cur;
    c->cur = NULL;
    if (!f)
        return BC_OK;
    if (c->got != f->size)
        return bc_error(BC_ERR_DATA, "%s: %s: %lld bytes restored, the backup manifest says "
                        "%lld", c->archive, f->path, (long long)c->got, (long long)f->size);
    if (f->algo == BC_CHECKSUM_NONE)
        return BC_OK;
    char hex[65];
    bc_checksum_final_hex(&c->sum, hex);
    if (strcmp(hex, f->checksum) != 0)
        return bc_error(BC_ERR_DATA, "%s: %s: %s checksum %s, the backup manifest says %s: "
                        "the file is damaged", c->archive, f->path, bc_checksum_name(f->algo),
                        hex, f->checksum);
    return BC_OK;
}

void bc_manifest_check_observer(bc_manifest_check *c, bc_extract_observer *out)
{
    *out = (bc_extract_observer){c, check_begin, check_data, check_end};
}

bc_status bc_manifest_check_complete(const bc_manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (!atomic_load(&m->files[i].seen))
            return bc_error(BC_ERR_DATA, "%s is in the backup manifest but in no archive: the "
                            "backup is incomplete", m->files[i].path);
    return BC_OK;
}
