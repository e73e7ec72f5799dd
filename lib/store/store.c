/* URL parsing and dispatch to the provider backends. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bc_store {
    const bc_store_ops *ops;
    void *backend;
    char *prefix;
    char *describe;
};

static const bc_store_ops *const backends[] = {
    &bc_store_file_ops,
    &bc_store_s3_ops,
};

/* Splits "scheme://bucket/prefix/" into its parts (prefix without the
 * surrounding slashes). file:// URLs have no bucket: the whole path is the
 * root directory and the prefix is empty. */
static bc_status parse_url(const char *url, char *scheme, size_t scheme_len,
                           char **bucket, char **prefix)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url || (size_t)(sep - url) >= scheme_len)
        return bc_error(BC_ERR_USAGE,
                        "invalid URL '%s': expected s3://BUCKET[/PREFIX] or file:///DIRECTORY",
                        url);
    memcpy(scheme, url, (size_t)(sep - url));
    scheme[sep - url] = '\0';
    const char *rest = sep + 3;

    if (strcmp(scheme, "file") == 0) {
        if (rest[0] != '/')
            return bc_error(BC_ERR_USAGE,
                            "invalid URL '%s': file URLs need an absolute path (file:///DIRECTORY)",
                            url);
        *bucket = strdup(rest);
        *prefix = strdup("");
    } else {
        const char *slash = strchr(rest, '/');
        size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
        if (blen == 0)
            return bc_error(BC_ERR_USAGE, "invalid URL '%s': no bucket name", url);
        *bucket = strndup(rest, blen);
        const char *p = slash ? slash : "";
        while (*p == '/')
            p++;
        size_t plen = strlen(p);
        while (plen > 0 && p[plen - 1] == '/')
            plen--;
        *prefix = strndup(p, plen);
    }
    if (!*bucket || !*prefix)
        return bc_error(BC_ERR_INTERNAL, "out of memory");
    return BC_OK;
}

bc_status bc_store_open(const bc_store_config *config, bc_store **out)
{
    char scheme[16];
    char *bucket = NULL, *prefix = NULL;
    bc_status st;

    *out = NULL;
    if (!config->url || !*config->url)
        return bc_error(BC_ERR_USAGE, "no store URL given");
    st = parse_url(config->url, scheme, sizeof scheme, &bucket, &prefix);
    if (st != BC_OK)
        goto fail;

    const bc_store_ops *ops = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->scheme, scheme) == 0)
            ops = backends[i];
    if (!ops) {
        st = bc_error(BC_ERR_USAGE,
                      "unsupported URL scheme '%s://' in '%s': use s3:// or file://",
                      scheme, config->url);
        goto fail;
    }
    if (config->cloud_provider && strcmp(config->cloud_provider, "aws-s3") != 0 &&
        strcmp(scheme, "s3") == 0) {
        st = bc_error(BC_ERR_USAGE,
                      "--cloud-provider %s does not match the s3:// URL; use aws-s3",
                      config->cloud_provider);
        goto fail;
    }

    bc_store *store = calloc(1, sizeof *store);
    if (!store) {
        st = bc_error(BC_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    store->ops = ops;
    store->prefix = prefix;
    prefix = NULL;
    size_t dlen = strlen(scheme) + strlen(bucket) + 8;
    store->describe = malloc(dlen);
    if (store->describe)
        snprintf(store->describe, dlen, "%s://%s", scheme, bucket);
    st = ops->open(config, bucket, store->prefix, &store->backend);
    if (st != BC_OK || !store->describe) {
        if (st == BC_OK) {
            ops->close(store->backend);
            st = bc_error(BC_ERR_INTERNAL, "out of memory");
        }
        free(store->prefix);
        free(store->describe);
        free(store);
        goto fail;
    }
    free(bucket);
    *out = store;
    return BC_OK;

fail:
    free(bucket);
    free(prefix);
    return st;
}

void bc_store_close(bc_store *store)
{
    if (!store)
        return;
    store->ops->close(store->backend);
    free(store->prefix);
    free(store->describe);
    free(store);
}

const char *bc_store_prefix(const bc_store *store) { return store->prefix; }
const char *bc_store_describe(const bc_store *store) { return store->describe; }

bc_status bc_store_check(bc_store *store)
{
    return store->ops->check(store->backend);
}

bc_status bc_store_put(bc_store *store, const char *key, const bc_source *src,
                       const bc_put_opts *opts)
{
    static const bc_put_opts none;
    return store->ops->put(store->backend, key, src, opts ? opts : &none);
}

bc_status bc_store_get(bc_store *store, const char *key, bc_sink_fn sink, void *ctx)
{
    return store->ops->get(store->backend, key, sink, ctx);
}

bc_status bc_store_head(bc_store *store, const char *key, bc_object_info *info)
{
    return store->ops->head(store->backend, key, info);
}

bc_status bc_store_list(bc_store *store, const char *prefix, const char *delimiter,
                        bc_list_fn fn, void *ctx)
{
    return store->ops->list(store->backend, prefix, delimiter, fn, ctx);
}

bc_status bc_store_delete(bc_store *store, const char *const *keys, size_t nkeys)
{
    return store->ops->del(store->backend, keys, nkeys);
}

/* ---- streaming writer ------------------------------------------------- */

struct bc_store_writer {
    const bc_store_ops *ops;
    void *state;              /* the backend's */
    int64_t size;
    /* After a failed write the stream has a hole: every later write and the
     * commit repeat that failure instead of storing a damaged object. */
    bc_status broken;
    char broken_msg[1024];
};

bc_status bc_store_writer_open(bc_store *store, const char *key, const bc_put_opts *opts,
                               bc_store_writer **out)
{
    static const bc_put_opts none;
    *out = NULL;
    if (!store->ops->writer_open)
        return bc_error(BC_ERR_USAGE, "%s does not support streaming uploads", store->describe);
    bc_store_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bc_error(BC_ERR_INTERNAL, "out of memory");
    w->ops = store->ops;
    bc_status st = w->ops->writer_open(store->backend, key, opts ? opts : &none, &w->state);
    if (st != BC_OK) {
        free(w);
        return st;
    }
    *out = w;
    return BC_OK;
}

static bc_status repeat_failure(const bc_store_writer *w)
{
    return bc_error(w->broken, "%s", w->broken_msg);
}

bc_status bc_store_writer_write(bc_store_writer *w, const void *data, size_t len)
{
    if (w->broken)
        return repeat_failure(w);
    if (len == 0)
        return BC_OK;
    bc_status st = w->ops->writer_write(w->state, data, len);
    if (st != BC_OK) {
        w->broken = st;
        snprintf(w->broken_msg, sizeof w->broken_msg, "%s", bc_error_msg());
        return st;
    }
    w->size += (int64_t)len;
    return BC_OK;
}

int bc_store_writer_sink(void *ctx, const void *data, size_t len)
{
    return (int)bc_store_writer_write(ctx, data, len);
}

int64_t bc_store_writer_size(const bc_store_writer *w)
{
    return w->size;
}

bc_status bc_store_writer_commit(bc_store_writer *w)
{
    bc_status st;
    if (w->broken) {
        w->ops->writer_abort(w->state);
        st = repeat_failure(w);
    } else {
        st = w->ops->writer_commit(w->state);
    }
    free(w);
    return st;
}

void bc_store_writer_abort(bc_store_writer *w)
{
    if (!w)
        return;
    w->ops->writer_abort(w->state);
    free(w);
}
