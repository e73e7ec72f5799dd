/* Azure uploads: Put Blob for small objects, and block blobs for large
 * ones and for streams: Put Block for each block (a work queue sends up
 * to `concurrency` at once), then Put Block List, which makes the blob
 * appear whole. Blocks never listed are discarded by Azure, so a failed
 * upload leaves nothing that looks complete. */
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/azure/azure_internal.h"
#include "store/http/url.h"
#include "util/workqueue.h"

#define BLOCK_ID_DIGITS 8 /* every id of a blob must have the same length */

/* x-ms-tags: "k=v&k2=v2", percent-encoded; "" without tags. */
static char *tags_header(const bc_put_opts *opts)
{
    bc_buffer t = {0};
    bc_url_add_pairs(&t, 0, opts->tags, opts->ntags, 0);
    return bc_buffer_take(&t);
}

/* Headers of the request that creates the blob (Put Blob, Put Block List). */
static bc_status creation_headers(azure_backend *b, azure_call *c, const bc_put_opts *opts)
{
    bc_status st = BC_OK;
    if (opts->if_absent)
        st = bc_http_headers_set(&c->req.headers, "If-None-Match", "*");
    if (st == BC_OK && b->encryption_scope)
        st = bc_http_headers_set(&c->req.headers, "x-ms-encryption-scope", b->encryption_scope);
    if (st == BC_OK && opts->ntags) {
        char *tags = tags_header(opts);
        st = tags ? bc_http_headers_set(&c->req.headers, "x-ms-tags", tags)
                  : bc_oom();
        free(tags);
    }
    for (size_t i = 0; st == BC_OK && i < opts->nmeta; i++) {
        char name[32 + BC_META_NAME_MAX];
        snprintf(name, sizeof name, "x-ms-meta-%s", opts->meta[i].key);
        st = bc_http_headers_set(&c->req.headers, name, opts->meta[i].value);
    }
    return st;
}

static bc_status put_blob(azure_backend *b, const char *key, const bc_source *src,
                          const bc_put_opts *opts)
{
    azure_call c;
    bc_status st = bc_azure_call_init(&c, b, "PUT", key, NULL);
    if (st != BC_OK)
        return st;
    c.req.body = src;
    c.req.body_offset = 0;
    c.req.body_length = src->size;
    st = bc_http_headers_set(&c.req.headers, "x-ms-blob-type", "BlockBlob");
    if (st == BC_OK)
        st = bc_http_headers_set(&c.req.headers, "Content-Type", "application/octet-stream");
    if (st == BC_OK)
        st = creation_headers(b, &c, opts);
    if (st == BC_OK)
        st = bc_azure_perform(b, &c, "put", key);
    bc_azure_call_free(&c);
    return st;
}

static void block_id(int index, char out[16])
{
    char raw[16];
    snprintf(raw, sizeof raw, "%0*d", BLOCK_ID_DIGITS, index % 100000000);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, BLOCK_ID_DIGITS);
}

static bc_status put_block(azure_backend *b, const char *key, int index, const bc_source *src,
                           int64_t offset, int64_t len)
{
    char id[16], query[128];
    block_id(index, id);
    char *enc = bc_url_encode(id, 0);
    if (!enc)
        return bc_oom();
    snprintf(query, sizeof query, "comp=block&blockid=%s", enc);
    free(enc);
    azure_call c;
    bc_status st = bc_azure_call_init(&c, b, "PUT", key, query);
    if (st != BC_OK)
        return st;
    c.req.body = src;
    c.req.body_offset = offset;
    c.req.body_length = len;
    st = bc_http_headers_set(&c.req.headers, "Content-Type", "application/octet-stream");
    if (st == BC_OK)
        st = bc_azure_perform(b, &c, "put block of", key);
    bc_azure_call_free(&c);
    return st;
}

static bc_status put_block_list(azure_backend *b, const char *key, int nblocks,
                                const bc_put_opts *opts)
{
    size_t cap = 128 + (size_t)nblocks * 40;
    char *xml = malloc(cap);
    if (!xml)
        return bc_oom();
    size_t n = (size_t)snprintf(xml, cap, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (int i = 0; i < nblocks; i++) {
        char id[16];
        block_id(i, id);
        n += (size_t)snprintf(xml + n, cap - n, "<Latest>%s</Latest>", id);
    }
    snprintf(xml + n, cap - n, "</BlockList>");
    bc_source src = {.fd = -1, .mem = (const unsigned char *)xml, .size = (int64_t)strlen(xml)};
    azure_call c;
    bc_status st = bc_azure_call_init(&c, b, "PUT", key, "comp=blocklist");
    if (st == BC_OK) {
        c.req.body = &src;
        c.req.body_length = src.size;
        st = bc_http_headers_set(&c.req.headers, "Content-Type", "application/xml");
        if (st == BC_OK)
            st = creation_headers(b, &c, opts);
        if (st == BC_OK)
            st = bc_azure_perform(b, &c, "put block list of", key);
        bc_azure_call_free(&c);
    }
    free(xml);
    return st;
}

/* ---- blocks sent by a work queue ------------------------------------------ */

/* Bytes [offset, offset + len) of src as block `index`; src stays readable
 * until the block is released (buffer >= 0: that writer buffer frees). */
typedef struct block_item {
    const bc_source *src;
    int index;
    int64_t offset, len;
    int buffer;
} block_item;

typedef struct block_upload {
    azure_backend *b;
    const char *key;
    atomic_int *buffer_busy;  /* the streaming writer's: cleared at release */
} block_upload;

static bc_status block_send(void *ctx, void *worker, void *item)
{
    (void)worker;
    const block_upload *u = ctx;
    const block_item *blk = item;
    return put_block(u->b, u->key, blk->index, blk->src, blk->offset, blk->len);
}

static void block_release(void *ctx, void *item)
{
    const block_upload *u = ctx;
    const block_item *blk = item;
    if (blk->buffer >= 0)
        atomic_store(&u->buffer_busy[blk->buffer], 0);
}

static const bc_workq_ops block_queue = {.run = block_send, .release = block_release};

bc_status bc_azure_put(void *backend, const char *key, const bc_source *src,
                       const bc_put_opts *opts)
{
    azure_backend *b = backend;
    if (src->size <= b->threshold)
        return put_blob(b, key, src, opts);
    int64_t nblocks = (src->size + b->block_size - 1) / b->block_size;
    if (nblocks > 50000)
        return bc_error(BC_ERR_USAGE, "put %s/%s: %lld bytes need more than 50000 blocks of "
                        "%lld bytes: raise --max-block-size", b->location, key,
                        (long long)src->size, (long long)b->block_size);
    block_upload u = {.b = b, .key = key};
    bc_workq *q;
    bc_status st = bc_workq_start(&block_queue, &u, b->concurrency, sizeof(block_item), 0, &q);
    if (st != BC_OK)
        return st;
    for (int64_t i = 0; st == BC_OK && i < nblocks; i++) {
        int64_t off = i * b->block_size;
        block_item blk = {.src = src, .index = (int)i, .offset = off, .buffer = -1,
                          .len = src->size - off < b->block_size ? src->size - off : b->block_size};
        st = bc_workq_submit(q, &blk);
    }
    if (st == BC_OK)
        st = bc_workq_finish(q);
    else
        bc_workq_abort(q);
    if (st == BC_OK)
        st = put_block_list(b, key, (int)nblocks, opts);
    return st;
}

/* ---- the streaming writer ------------------------------------------------
 *
 * Blocks are filled in buffers of block_size and queued as soon as full.
 * There is one buffer more than blocks can be in flight: a buffer is
 * released before its slot in the queue frees, so once a submit returns
 * at least one buffer is free to fill next. */

typedef struct azure_writer {
    azure_backend *b;
    char *key;
    bc_put_opts opts;         /* a copy: used at commit */
    unsigned char **buffers;  /* concurrency + 1, allocated when first used */
    atomic_int *busy;         /* per buffer: queued or being sent */
    bc_source *sources;
    int nbuffers, filling;
    size_t fill_len;
    int blocks_sent;
    block_upload upload;
    bc_workq *queue;
} azure_writer;

static void writer_free(azure_writer *w)
{
    if (!w)
        return;
    bc_workq_abort(w->queue);
    for (int i = 0; i < w->nbuffers; i++)
        free(w->buffers ? w->buffers[i] : NULL);
    free(w->buffers);
    free(w->busy);
    free(w->sources);
    bc_put_opts_free(&w->opts);
    free(w->key);
    free(w);
}

bc_status bc_azure_writer_open(void *backend, const char *key, const bc_put_opts *opts,
                               void **state)
{
    azure_backend *b = backend;
    azure_writer *w = calloc(1, sizeof *w);
    bc_status st = w ? BC_OK : bc_oom();
    if (st == BC_OK) {
        w->b = b;
        w->nbuffers = b->concurrency + 1;
        w->key = strdup(key);
        w->buffers = calloc((size_t)w->nbuffers, sizeof *w->buffers);
        w->busy = calloc((size_t)w->nbuffers, sizeof *w->busy);
        w->sources = calloc((size_t)w->nbuffers, sizeof *w->sources);
        if (!w->key || !w->buffers || !w->busy || !w->sources)
            st = bc_oom();
        w->upload = (block_upload){.b = b, .key = w->key, .buffer_busy = w->busy};
    }
    if (st == BC_OK)
        st = bc_put_opts_dup(opts, &w->opts);
    if (st == BC_OK)
        st = bc_workq_start(&block_queue, &w->upload, b->concurrency, sizeof(block_item), 0,
                            &w->queue);
    if (st == BC_OK && !(w->buffers[0] = malloc((size_t)b->block_size)))
        st = bc_oom();
    if (st != BC_OK) {
        writer_free(w);
        return st;
    }
    *state = w;
    return BC_OK;
}

/* Queues the filled buffer as the next block and moves to a free one. */
static bc_status send_fill(azure_writer *w)
{
    int i = w->filling;
    w->sources[i] = (bc_source){.fd = -1, .mem = w->buffers[i], .size = (int64_t)w->fill_len};
    block_item blk = {.src = &w->sources[i], .index = w->blocks_sent, .offset = 0,
                      .len = (int64_t)w->fill_len, .buffer = i};
    atomic_store(&w->busy[i], 1);
    bc_status st = bc_workq_submit(w->queue, &blk);
    if (st != BC_OK)
        return st;
    w->blocks_sent++;
    w->fill_len = 0;
    w->filling = -1;
    for (int j = 1; j <= w->nbuffers && w->filling < 0; j++)
        if (!atomic_load(&w->busy[(i + j) % w->nbuffers]))
            w->filling = (i + j) % w->nbuffers;
    if (w->filling < 0)
        return bc_error(BC_ERR_INTERNAL, "put %s/%s: no free block buffer", w->b->location,
                        w->key);
    if (!w->buffers[w->filling] && !(w->buffers[w->filling] = malloc((size_t)w->b->block_size)))
        return bc_oom();
    return BC_OK;
}

bc_status bc_azure_writer_write(void *state, const void *data, size_t len)
{
    azure_writer *w = state;
    const unsigned char *p = data;
    size_t block = (size_t)w->b->block_size;
    while (len) {
        size_t n = block - w->fill_len < len ? block - w->fill_len : len;
        memcpy(w->buffers[w->filling] + w->fill_len, p, n);
        w->fill_len += n;
        p += n;
        len -= n;
        if (w->fill_len == block) {
            bc_status st = send_fill(w);
            if (st != BC_OK)
                return st;
        }
    }
    return BC_OK;
}

bc_status bc_azure_writer_commit(void *state)
{
    azure_writer *w = state;
    bc_status st = BC_OK;
    if (w->blocks_sent == 0 && (int64_t)w->fill_len <= w->b->threshold) {
        bc_source src = {.fd = -1, .mem = w->buffers[w->filling], .size = (int64_t)w->fill_len};
        st = put_blob(w->b, w->key, &src, &w->opts);
    } else {
        if (w->fill_len)
            st = send_fill(w);
        bc_status sent = bc_workq_finish(w->queue);
        w->queue = NULL;
        if (st == BC_OK)
            st = sent;
        if (st == BC_OK)
            st = put_block_list(w->b, w->key, w->blocks_sent, &w->opts);
    }
    writer_free(w);
    return st;
}

void bc_azure_writer_abort(void *state)
{
    /* Blocks never committed are dropped by Azure. */
    writer_free(state);
}
