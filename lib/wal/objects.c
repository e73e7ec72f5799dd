/* Locating and downloading archived WAL objects. */
#include "wal/wal.h"

#include <stdio.h>
#include <string.h>

#include "layout/wal.h"
#include "util/fileio.h"

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

typedef struct find_ctx {
    const char *name;
    size_t name_len;
    int allow_partial;
    bc_wal_object full, partial;
    int have_full, have_partial;
} find_ctx;

static void take(bc_wal_object *obj, const bc_object_info *info, bc_codec_id codec, int partial)
{
    snprintf(obj->key, sizeof obj->key, "%s", info->key);
    obj->codec = codec;
    obj->size = info->size;
    obj->partial = partial;
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
        f->have_full = 1;
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
    if (f.have_full)
        *found = f.full;
    else if (f.have_partial)
        *found = f.partial;
    else
        return bc_error(BC_ERR_NOTFOUND, "WAL file %s for server %s does not exist in %s",
                        name, server, bc_store_describe(store));
    return BC_OK;
}

typedef struct fetch_ctx {
    bc_codec_stream *decoder;
    bc_atomic_file *out;
} fetch_ctx;

static int fetch_sink(void *ctx, const void *data, size_t len)
{
    fetch_ctx *f = ctx;
    return (int)bc_codec_write(f->decoder, data, len, bc_atomic_sink, f->out);
}

bc_status bc_wal_fetch(bc_store *store, const bc_wal_object *obj, const char *path,
                       int durable)
{
    bc_atomic_file out;
    bc_codec_stream *decoder = NULL;
    bc_status st = bc_codec_decoder(obj->codec, &decoder);
    if (st != BC_OK)
        return st;
    st = bc_atomic_open(&out, path);
    if (st != BC_OK) {
        bc_codec_free(decoder);
        return st;
    }
    fetch_ctx f = {.decoder = decoder, .out = &out};
    st = bc_store_get(store, obj->key, fetch_sink, &f);
    if (st == BC_OK)
        st = bc_codec_finish(decoder, bc_atomic_sink, &out);
    if (st != BC_OK && st != BC_ERR_NOTFOUND)
        bc_error_context(st, "downloading %s/%s", bc_store_describe(store), obj->key);
    if (st == BC_OK)
        st = bc_atomic_commit(&out, durable);
    else
        bc_atomic_abort(&out);
    bc_codec_free(decoder);
    return st;
}

void bc_wal_source_id(bc_store *store, const char *server, char *out, size_t outlen)
{
    const char *prefix = bc_store_prefix(store);
    snprintf(out, outlen, "%s/%s%s%s\n", bc_store_describe(store), prefix,
             prefix[0] ? "/" : "", server);
}
