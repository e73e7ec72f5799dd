/* URL parsing and dispatch to the provider backends. */
#include "store/store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bc_store {
    const bc_store_ops *ops;
    void *backend;
    char *prefix;
    char *describe;
    int conditional;      /* conditional_writes: -1 auto, 0 no, 1 yes */
};

static const bc_store_ops *const backends[] = {
    &bc_store_file_ops,
    &bc_store_s3_ops,
    &bc_store_azure_ops,
    &bc_store_gcs_ops,
};

#define URL_FORMS "s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX], " \
    "https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX] or file:///DIRECTORY"

/* barman-cloud's only http(s) URLs are Azure's (the emulator's plain
 * http:// included). */
static const bc_store_ops *backend_for(const char *scheme)
{
    if (strcmp(scheme, "http") == 0)
        scheme = "https";
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->scheme, scheme) == 0)
            return backends[i];
    return NULL;
}

/* Splits "scheme://bucket/prefix/" into its parts (prefix without the
 * surrounding slashes). file:// URLs have no bucket: the whole path is the
 * root directory and the prefix is empty. */
static bc_status parse_url(const char *url, char *scheme, size_t scheme_len,
                           char **bucket, char **prefix)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url || (size_t)(sep - url) >= scheme_len)
        return bc_error(BC_ERR_USAGE, "invalid URL '%s': expected " URL_FORMS, url);
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
        return bc_oom();
    return BC_OK;
}

bc_status bc_store_open(const bc_store_config *config, bc_store **out)
{
    char scheme[16];
    char *bucket = NULL, *prefix = NULL, *describe = NULL;
    const bc_store_ops *ops = NULL;
    bc_status st = BC_OK;

    *out = NULL;
    if (!config->url || !*config->url)
        return bc_error(BC_ERR_USAGE, "no store URL given");
    const char *sep = strstr(config->url, "://");
    if (!sep || sep == config->url || (size_t)(sep - config->url) >= sizeof scheme)
        return bc_error(BC_ERR_USAGE, "invalid URL '%s': expected " URL_FORMS, config->url);
    snprintf(scheme, sizeof scheme, "%.*s", (int)(sep - config->url), config->url);
    if (!(ops = backend_for(scheme)))
        return bc_error(BC_ERR_USAGE, "unsupported URL scheme '%s://' in '%s': use " URL_FORMS,
                        scheme, config->url);
    if (config->cloud_provider && ops->provider &&
        strcmp(config->cloud_provider, ops->provider) != 0)
        return bc_error(BC_ERR_USAGE, "--cloud-provider %s does not match the %s:// URL; use %s",
                        config->cloud_provider, scheme, ops->provider);

    const char *cw = config->conditional_writes;
    int conditional = !cw || strcmp(cw, "auto") == 0 ? -1 : strcmp(cw, "yes") == 0 ? 1
                      : strcmp(cw, "no") == 0 ? 0 : -2;
    if (conditional == -2)
        return bc_error(BC_ERR_USAGE, "invalid conditional writes setting '%s' (use auto, yes "
                        "or no)", cw);

    if (ops->split_url) {
        st = ops->split_url(config->url, &bucket, &prefix, &describe);
    } else {
        st = parse_url(config->url, scheme, sizeof scheme, &bucket, &prefix);
        size_t dlen = strlen(scheme) + (bucket ? strlen(bucket) : 0) + 8;
        if (st == BC_OK && (describe = malloc(dlen)))
            snprintf(describe, dlen, "%s://%s", scheme, bucket);
        else if (st == BC_OK)
            st = bc_oom();
    }
    bc_store *store = st == BC_OK ? calloc(1, sizeof *store) : NULL;
    if (st == BC_OK && !store)
        st = bc_oom();
    if (st == BC_OK)
        st = ops->open(config, bucket, prefix, &store->backend);
    if (st != BC_OK) {
        free(store);
        free(bucket);
        free(prefix);
        free(describe);
        return st;
    }
    store->ops = ops;
    store->prefix = prefix;
    store->describe = describe;
    store->conditional = conditional;
    free(bucket);
    *out = store;
    return BC_OK;
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

unsigned bc_store_caps(const bc_store *store)
{
    unsigned caps = store->ops->caps ? store->ops->caps(store->backend) : BC_STORE_PUT_FIRST;
    /* "yes" trusts the server, but not past its own answer that it cannot. */
    if (store->conditional == 1 && !(caps & BC_STORE_NO_CONDITIONAL))
        caps |= BC_STORE_PUT_FIRST;
    if (store->conditional == 0 || (caps & BC_STORE_NO_CONDITIONAL))
        caps &= ~(unsigned)BC_STORE_PUT_FIRST;
    return caps;
}

void bc_store_access_info(const bc_store *store, bc_store_access *out)
{
    out->endpoint = out->credentials = NULL;
    if (store->ops->access)
        store->ops->access(store->backend, out);
}

const char *bc_store_prefix(const bc_store *store) { return store->prefix; }
const char *bc_store_describe(const bc_store *store) { return store->describe; }

bc_status bc_store_check(bc_store *store)
{
    return store->ops->check(store->backend);
}

/* ---- user metadata ---------------------------------------------------- */

const char *bc_object_meta_get(const bc_object_meta *meta, const char *name)
{
    for (size_t i = 0; meta && i < meta->n; i++)
        if (strcmp(meta->items[i].name, name) == 0)
            return meta->items[i].value;
    return NULL;
}

void bc_object_meta_add(bc_object_meta *meta, const char *name, size_t name_len,
                        const char *value, size_t value_len)
{
    if (meta->n == BC_META_MAX || name_len >= BC_META_NAME_MAX || value_len >= BC_META_VALUE_MAX)
        return;
    char *n = meta->items[meta->n].name;
    for (size_t i = 0; i < name_len; i++)
        n[i] = (char)tolower((unsigned char)name[i]);
    n[name_len] = '\0';
    memcpy(meta->items[meta->n].value, value, value_len);
    meta->items[meta->n].value[value_len] = '\0';
    meta->n++;
}

/* One rule every provider and proxy accepts (see store.h): a value any
 * header carries as is. */
bc_status bc_put_opts_check(const bc_put_opts *opts)
{
    if (opts && opts->nmeta > BC_META_MAX)
        return bc_error(BC_ERR_USAGE, "at most %d metadata entries per object", BC_META_MAX);
    for (size_t i = 0; opts && i < opts->nmeta; i++) {
        const char *n = opts->meta[i].key, *v = opts->meta[i].value;
        int ok = n && v && (*n >= 'a' && *n <= 'z') && strlen(n) < BC_META_NAME_MAX &&
                 strlen(v) < BC_META_VALUE_MAX;
        for (const char *p = n; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
        for (const char *p = v; ok && *p; p++)
            ok = *p > ' ' && *p < 0x7f;
        if (!ok)
            return bc_error(BC_ERR_USAGE, "invalid object metadata entry '%s'", n ? n : "");
    }
    return BC_OK;
}

static bc_status dup_pairs(const bc_tag *from, size_t n, bc_tag **to)
{
    *to = n ? calloc(n, sizeof **to) : NULL;
    if (n && !*to)
        return bc_oom();
    for (size_t i = 0; i < n; i++) {
        (*to)[i].key = strdup(from[i].key ? from[i].key : "");
        (*to)[i].value = strdup(from[i].value ? from[i].value : "");
        if (!(*to)[i].key || !(*to)[i].value)
            return bc_oom();
    }
    return BC_OK;
}

static void free_pairs(const bc_tag *pairs, size_t n)
{
    for (size_t i = 0; pairs && i < n; i++) {
        free((char *)pairs[i].key);
        free((char *)pairs[i].value);
    }
    free((bc_tag *)pairs);
}

bc_status bc_put_opts_dup(const bc_put_opts *opts, bc_put_opts *copy)
{
    bc_tag *tags = NULL, *meta = NULL;
    *copy = *opts;
    bc_status st = dup_pairs(opts->tags, opts->ntags, &tags);
    copy->tags = tags;
    if (st == BC_OK)
        st = dup_pairs(opts->meta, opts->nmeta, &meta);
    copy->meta = meta;
    if (st != BC_OK) {
        copy->nmeta = meta ? opts->nmeta : 0;
        bc_put_opts_free(copy);
    }
    return st;
}

void bc_put_opts_free(bc_put_opts *copy)
{
    free_pairs(copy->tags, copy->ntags);
    free_pairs(copy->meta, copy->nmeta);
    copy->tags = copy->meta = NULL;
    copy->ntags = copy->nmeta = 0;
}

/* ---- object operations ------------------------------------------------ */

int64_t bc_store_config_clamp(int64_t value, int64_t dflt, int64_t lo, int64_t hi)
{
    int64_t v = value > 0 ? value : dflt;
    return v < lo ? lo : v > hi ? hi : v;
}

bc_status bc_store_put(bc_store *store, const char *key, const bc_source *src,
                       const bc_put_opts *opts)
{
    static const bc_put_opts none;
    bc_status st = bc_put_opts_check(opts);
    if (st != BC_OK)
        return st;
    return store->ops->put(store->backend, key, src, opts ? opts : &none);
}

bc_status bc_store_get(bc_store *store, const char *key, bc_sink_fn sink, void *ctx)
{
    return store->ops->get(store->backend, key, sink, ctx, NULL);
}

bc_status bc_store_get_meta(bc_store *store, const char *key, bc_sink_fn sink, void *ctx,
                            bc_object_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->size = -1;
    return store->ops->get(store->backend, key, sink, ctx, meta);
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
    bc_err broken;
};

bc_status bc_store_writer_open(bc_store *store, const char *key, const bc_put_opts *opts,
                               bc_store_writer **out)
{
    static const bc_put_opts none;
    *out = NULL;
    bc_status checked = bc_put_opts_check(opts);
    if (checked != BC_OK)
        return checked;
    if (!store->ops->writer_open)
        return bc_error(BC_ERR_USAGE, "%s does not support streaming uploads", store->describe);
    bc_store_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bc_oom();
    w->ops = store->ops;
    bc_status st = w->ops->writer_open(store->backend, key, opts ? opts : &none, &w->state);
    if (st != BC_OK) {
        free(w);
        return st;
    }
    *out = w;
    return BC_OK;
}

bc_status bc_store_writer_write(bc_store_writer *w, const void *data, size_t len)
{
    if (w->broken.status)
        return bc_error_restore(&w->broken);
    if (len == 0)
        return BC_OK;
    bc_status st = w->ops->writer_write(w->state, data, len);
    if (st != BC_OK)
        return bc_error_save(&w->broken, st);
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
    if (w->broken.status) {
        w->ops->writer_abort(w->state);
        st = bc_error_restore(&w->broken);
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
