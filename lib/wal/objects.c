/* Locating and downloading archived WAL objects. */
#include "wal/wal.h"

#include <stdio.h>
#include <string.h>

#include "layout/wal.h"
#include "util/fileio.h"
#include "util/log.h"

size_t bc_wal_object_name(const char *key, char *name, size_t namelen, bc_codec_id *codec)
{
    const char *base = bc_wal_basename(key);
    size_t suffix_len;
    *codec = bc_codec_from_suffix(base, &suffix_len);
    size_t n = strlen(base) - suffix_len;
    if (n == 0 || n >= namelen)
        return 0;
    memcpy(name, base, n);
    name[n] = '\0';
    return n;
}

#define MAX_COPIES 8

typedef struct find_ctx {
    const char *name;
    size_t name_len;
    int allow_partial;
    bc_wal_object full, partial;
    int have_full, have_partial;
    bc_wal_object *copies;      /* when set: every full copy, up to MAX_COPIES */
} find_ctx;

static void take(bc_wal_object *obj, const bc_object_info *info, bc_codec_id codec, int partial)
{
    snprintf(obj->key, sizeof obj->key, "%s", info->key);
    obj->codec = codec;
    obj->size = info->size;
    obj->partial = partial;
    obj->copies = 1;
}

static int find_cb(void *ctx, const bc_object_info *info)
{
    find_ctx *f = ctx;
    char base[64];
    bc_codec_id codec;
    size_t n = bc_wal_object_name(info->key, base, sizeof base, &codec);

    if (n == f->name_len && strcmp(base, f->name) == 0) {
        if (!f->have_full)
            take(&f->full, info, codec, 0);
        if (f->copies && f->have_full < MAX_COPIES)
            take(&f->copies[f->have_full], info, codec, 0);
        f->have_full++;
    } else if (f->allow_partial && n == f->name_len + 8 &&
               strncmp(base, f->name, f->name_len) == 0 &&
               strcmp(base + f->name_len, ".partial") == 0) {
        if (!f->have_partial)
            take(&f->partial, info, codec, 1);
        f->have_partial = 1;
    }
    return 0;
}

bc_status bc_wal_find(bc_store *store, const char *server, const char *name,
                      int allow_partial, bc_wal_object *found)
{
    char prefix[1024];
    bc_status st = bc_wal_key(bc_store_prefix(store), server, name, "", prefix, sizeof prefix);
    if (st != BC_OK)
        return st;
    find_ctx f = {.name = name, .name_len = strlen(name), .allow_partial = allow_partial};
    st = bc_store_list(store, prefix, NULL, find_cb, &f);
    if (st != BC_OK)
        return st;
    if (f.have_full) {
        *found = f.full;
        found->copies = f.have_full;
    }
    else if (f.have_partial)
        *found = f.partial;
    else
        return bc_error(BC_ERR_NOTFOUND, "WAL file %s for server %s does not exist in %s",
                        name, server, bc_store_describe(store));
    return BC_OK;
}

typedef struct fetch_ctx {
    const bc_wal_object *obj;
    bc_codec_stream *decoder;
    bc_sink_fn sink;        /* where the checked bytes go; NULL: nowhere */
    void *sink_ctx;
    bc_object_meta meta;    /* filled by the GET before the first byte */
    int started;
    bc_wal_expect expect;
    int64_t limit;          /* most decoded bytes accepted */
    int64_t raw;            /* body bytes received */
    bc_wal_digest digest;   /* of the decoded bytes */
    unsigned char head[BC_WAL_LONG_HEADER_SIZE]; /* the first decoded bytes */
} fetch_ctx;

/* Reads what the object's metadata promises, once, before its first byte
 * is used. Messages need not name the object: bc_wal_fetch adds it. */
static bc_status fetch_start(fetch_ctx *f)
{
    f->started = 1;
    if (f->meta.size >= 0 && f->obj->size >= 0 && f->meta.size != f->obj->size)
        return bc_error(BC_ERR_DATA, "the GET reports %lld bytes, the listing %lld",
                        (long long)f->meta.size, (long long)f->obj->size);
    bc_status st = bc_wal_expect_from_meta(&f->meta, &f->expect);
    f->limit = f->expect.size >= 0 ? f->expect.size : BC_WAL_MAX_SIZE;
    return st;
}

/* Decoded bytes: counted, bounded and digested on their way to the file. */
static int checked_sink(void *ctx, const void *data, size_t len)
{
    fetch_ctx *f = ctx;
    if (f->digest.size + (int64_t)len > f->limit)
        return bc_error(BC_ERR_DATA, "it decodes to more than the %lld bytes %s",
                        (long long)f->limit,
                        f->expect.size >= 0 ? "its metadata gives" : "a WAL file can have");
    if (f->digest.size < (int64_t)sizeof f->head) {
        size_t n = sizeof f->head - (size_t)f->digest.size;
        memcpy(f->head + f->digest.size, data, n < len ? n : len);
    }
    bc_wal_digest_update(&f->digest, data, len);
    return f->sink ? f->sink(f->sink_ctx, data, len) : 0;
}

/* Body bytes as received: bounded by the listed size, then decoded. */
static int fetch_sink(void *ctx, const void *data, size_t len)
{
    fetch_ctx *f = ctx;
    bc_status st = f->started ? BC_OK : fetch_start(f);
    if (st != BC_OK)
        return (int)st;
    f->raw += (int64_t)len;
    /* A body longer than listed is cut off here, not after filling pg_wal. */
    if (f->obj->size >= 0 && f->raw > f->obj->size)
        return bc_error(BC_ERR_DATA, "the body is longer than the %lld bytes listed",
                        (long long)f->obj->size);
    return bc_codec_sink(f->decoder, data, len);
}

/* The checks once every byte is in: sizes, then the checksum. */
static bc_status fetch_verify(fetch_ctx *f)
{
    const bc_wal_object *o = f->obj;
    if (o->size >= 0 && f->raw != o->size)
        return bc_error(BC_ERR_DATA, "the body has %lld bytes, the listing says %lld",
                        (long long)f->raw, (long long)o->size);
    if (f->expect.size >= 0) {
        char sum[BC_WAL_SUM_HEX + 1];
        bc_wal_digest_hex(&f->digest, sum);
        if (f->digest.size != f->expect.size)
            return bc_error(BC_ERR_DATA, "it decodes to %lld bytes, its metadata says %lld",
                            (long long)f->digest.size, (long long)f->expect.size);
        if (strcmp(sum, f->expect.sum) != 0)
            return bc_error(BC_ERR_DATA, "CRC-32C of the decoded bytes is %s, its metadata "
                            "says %s", sum, f->expect.sum);
        return BC_OK;
    }
    char name[64];
    bc_codec_id codec;
    if (!o->partial && bc_wal_object_name(o->key, name, sizeof name, &codec) &&
        bc_wal_classify(name) == BC_WAL_SEGMENT && !bc_wal_segment_size_valid(f->digest.size))
        return bc_error(BC_ERR_DATA, "it decodes to %lld bytes, not a WAL segment size "
                        "(a power of two from 1 MiB to 1 GiB)", (long long)f->digest.size);
    return BC_OK;
}

/* Downloads and decodes obj into sink with every check of fetch_verify. */
static bc_status read_checked(bc_store *store, fetch_ctx *f)
{
    bc_status st = bc_codec_decoder(f->obj->codec, checked_sink, f, &f->decoder);
    if (st == BC_OK)
        st = bc_store_get_meta(store, f->obj->key, fetch_sink, f, &f->meta);
    if (st == BC_OK && !f->started)
        st = fetch_start(f);   /* an empty body */
    if (st == BC_OK)
        st = bc_codec_finish(f->decoder);
    if (st == BC_OK)
        st = fetch_verify(f);
    if (st != BC_OK && st != BC_ERR_NOTFOUND)
        bc_error_context(st, "downloading %s/%s", bc_store_describe(store), f->obj->key);
    bc_codec_free(f->decoder);
    return st;
}

/* A name stored under several suffixes: after a change of compression
 * (the same bytes twice: harmless), a leftover of an interrupted upload
 * (fails its checks), or two clusters archiving under one server name
 * (different bytes). The first copy that passes every check is restored
 * once every other copy that passes them is found to hold the same bytes;
 * copies that fail them are named in a warning and left aside. Two valid
 * copies that differ: which is right cannot be told, so neither is used. */
static bc_status fetch_among_copies(bc_store *store, const bc_wal_object *obj, const char *path,
                                    int durable)
{
    char name[64], prefix[1100];
    bc_codec_id codec;
    size_t n = bc_wal_object_name(obj->key, name, sizeof name, &codec);
    if (!n)
        return bc_error(BC_ERR_INTERNAL, "bad WAL object key %s", obj->key);
    const char *base = bc_wal_basename(obj->key);
    snprintf(prefix, sizeof prefix, "%.*s%s", (int)(base - obj->key), obj->key, name);
    bc_wal_object copy[MAX_COPIES];
    find_ctx c = {.name = name, .name_len = n, .copies = copy};
    bc_status st = bc_store_list(store, prefix, NULL, find_cb, &c);
    int ncopies = c.have_full < MAX_COPIES ? c.have_full : MAX_COPIES;
    bc_atomic_file out;
    int chosen = -1;
    bc_wal_digest digest = {0};
    bc_err first_failure = {BC_OK, ""};
    for (int i = 0; st == BC_OK && i < ncopies; i++) {
        fetch_ctx f = {.obj = &copy[i]};
        if (chosen < 0) {
            st = bc_atomic_open(&out, path);
            if (st != BC_OK)
                break;
            f.sink = bc_atomic_sink;
            f.sink_ctx = &out;
        }
        st = read_checked(store, &f);
        if (st == BC_ERR_DATA || st == BC_ERR_NOTFOUND) {
            bc_log_warning("%s: a copy fails its checks and is left aside: %s", name,
                           bc_error_msg());
            if (first_failure.status == BC_OK)
                bc_error_save(&first_failure, st);
            if (chosen < 0)
                bc_atomic_abort(&out);
            st = BC_OK;
            continue;
        }
        if (st != BC_OK)
            break;
        if (chosen < 0) {
            chosen = i;
            digest = f.digest;
        } else if (f.digest.size != digest.size || f.digest.crc != digest.crc) {
            st = bc_error(BC_ERR_DATA, "%s is archived twice with different contents, as "
                          "%s/%s and %s/%s: is another cluster archiving under this server "
                          "name? Remove the copy that is not this cluster's", name,
                          bc_store_describe(store), copy[chosen].key,
                          bc_store_describe(store), copy[i].key);
        }
    }
    if (st == BC_OK && chosen < 0)
        st = first_failure.status != BC_OK ? bc_error_restore(&first_failure)
             : bc_error(BC_ERR_NOTFOUND, "WAL file %s is no longer in %s", name,
                        bc_store_describe(store));
    if (chosen < 0)
        return st;
    if (st != BC_OK) {
        bc_atomic_abort(&out);
        return st;
    }
    bc_log_info("%s is archived under %d suffixes; restored from %s, the other copies that "
                "pass their checks hold the same bytes", name, ncopies, copy[chosen].key);
    return bc_atomic_commit(&out, durable);
}

bc_status bc_wal_fetch(bc_store *store, const bc_wal_object *obj, const char *path,
                       int durable)
{
    if (obj->copies > 1)
        return fetch_among_copies(store, obj, path, durable);
    bc_atomic_file out;
    fetch_ctx f = {.obj = obj, .sink = bc_atomic_sink, .sink_ctx = &out};
    bc_status st = bc_atomic_open(&out, path);
    if (st != BC_OK)
        return st;
    st = read_checked(store, &f);
    if (st == BC_OK)
        return bc_atomic_commit(&out, durable);
    bc_atomic_abort(&out);
    return st;
}

bc_status bc_wal_check(bc_store *store, const bc_wal_object *obj, bc_sink_fn sink,
                       void *sink_ctx, bc_wal_checked *out)
{
    fetch_ctx f = {.obj = obj, .sink = sink, .sink_ctx = sink_ctx};
    bc_status st = read_checked(store, &f);
    memset(out, 0, sizeof *out);
    out->size = f.digest.size;
    out->has_checksum = f.expect.size >= 0;
    if (st == BC_OK)
        bc_wal_header_parse(f.head, (size_t)(f.digest.size < (int64_t)sizeof f.head
                                             ? f.digest.size : (int64_t)sizeof f.head),
                            &out->header);
    return st;
}

void bc_wal_source_id(bc_store *store, const char *server, char *out, size_t outlen)
{
    const char *prefix = bc_store_prefix(store);
    snprintf(out, outlen, "%s/%s%s%s\n", bc_store_describe(store), prefix,
             prefix[0] ? "/" : "", server);
}
