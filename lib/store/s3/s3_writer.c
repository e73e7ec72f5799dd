/* The s3:// backend's streaming writer.
 *
 * The stream is first kept whole in one buffer, the head: the multipart
 * threshold rounded up to whole parts, but at most `concurrency` parts
 * (for a larger threshold the memory bound wins). A stream that ends
 * within the threshold becomes one PutObject from memory; any other, a
 * multipart upload. That starts when the stream outgrows the head (or at
 * commit) with the head cut into parts; later bytes fill part-sized
 * buffers, each queued as a part as soon as it is full. The multipart
 * pipeline (s3_upload.c) sends them, at most `concurrency` at a time, and
 * queuing waits while that many are in flight; sent buffers are reused.
 * So memory stays near (concurrency + 1) x part_size. See s3_internal.h
 * for how the backend is split. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3/s3_internal.h"

#define FIRST_HEAD_SIZE ((size_t)1 << 20)   /* small streams stay small */

typedef struct part_buffer {
    unsigned char *data;
    size_t cap;
    /* One for the writer while it fills or cuts the buffer, one per part
     * queued from it: the last to drop theirs recycles it. */
    int refs;
    bc_source src;              /* what its parts are read from */
    struct part_buffer *next;   /* on the free list */
} part_buffer;

typedef struct s3_writer {
    s3_backend *b;
    char *key;
    bc_http_headers create;     /* tags and metadata, as headers */
    bc_put_opts opts;           /* if_absent only: the rest is in create */
    size_t part_size;
    /* The head's most: the threshold rounded up to whole parts, within the
     * memory bound of concurrency parts in flight. */
    size_t head_limit;
    part_buffer *fill;          /* the head, then the part being filled */
    size_t fill_len;
    s3_multipart *upload;       /* NULL while the stream fits the head */
    pthread_mutex_t lock;       /* guards refs and the free list: workers drop refs */
    part_buffer *free_list;
} s3_writer;

static part_buffer *buffer_new(size_t cap)
{
    part_buffer *buf = calloc(1, sizeof *buf);
    if (buf && !(buf->data = malloc(cap))) {
        free(buf);
        return NULL;
    }
    if (buf) {
        buf->cap = cap;
        buf->refs = 1;
    }
    return buf;
}

static void buffer_free(part_buffer *buf)
{
    if (buf) {
        free(buf->data);
        free(buf);
    }
}

/* A part-sized buffer for the writer, a sent one when there is one. */
static part_buffer *buffer_get(s3_writer *w)
{
    pthread_mutex_lock(&w->lock);
    part_buffer *buf = w->free_list;
    if (buf) {
        w->free_list = buf->next;
        buf->refs = 1;
    }
    pthread_mutex_unlock(&w->lock);
    return buf ? buf : buffer_new(w->part_size);
}

static void buffer_unref(s3_writer *w, part_buffer *buf)
{
    pthread_mutex_lock(&w->lock);
    int last = --buf->refs == 0;
    if (last && buf->cap == w->part_size) {
        buf->next = w->free_list;
        w->free_list = buf;
    }
    pthread_mutex_unlock(&w->lock);
    if (last && buf->cap != w->part_size)
        buffer_free(buf);   /* a head of another size: not reusable */
}

static void part_sent(void *ctx, void *owner)
{
    buffer_unref(ctx, owner);
}

static void writer_free(s3_writer *w)
{
    if (w->fill)
        buffer_unref(w, w->fill);
    while (w->free_list) {
        part_buffer *next = w->free_list->next;
        buffer_free(w->free_list);
        w->free_list = next;
    }
    pthread_mutex_destroy(&w->lock);
    bc_http_headers_free(&w->create);
    free(w->key);
    free(w);
}

/* Queues the filled buffer as parts of part_size (the last may be shorter)
 * and gives it up: the pipeline drops the last reference once it is sent. */
static bc_status queue_fill(s3_writer *w)
{
    part_buffer *buf = w->fill;
    buf->src = (bc_source){ .fd = -1, .mem = buf->data, .size = (int64_t)w->fill_len };
    w->fill = NULL;
    w->fill_len = 0;
    bc_status st = BC_OK;
    for (int64_t off = 0; st == BC_OK && off < buf->src.size; off += (int64_t)w->part_size) {
        int64_t left = buf->src.size - off;
        s3_part part = { &buf->src, off, left < (int64_t)w->part_size ? left : (int64_t)w->part_size,
                         buf };
        pthread_mutex_lock(&w->lock);
        buf->refs++;
        pthread_mutex_unlock(&w->lock);
        st = bc_s3_multipart_add(w->upload, &part);
    }
    buffer_unref(w, buf);
    return st;
}

static bc_status start_multipart(s3_writer *w)
{
    return bc_s3_multipart_start(w->b, w->key, &w->create, 0, (int64_t)w->part_size, part_sent, w,
                                  &w->upload);
}

/* Takes what fits of data into the head, growing it; once the head is full
 * and more comes, starts the multipart upload with the head's parts. */
static bc_status fill_head(s3_writer *w, const unsigned char **data, size_t *len)
{
    size_t room = w->head_limit - w->fill_len;
    if (room == 0) {
        bc_status st = start_multipart(w);
        if (st == BC_OK)
            st = queue_fill(w);
        /* A head of several parts is freed only once all are sent: let
         * them go before filling more, or memory would double. */
        if (st == BC_OK && w->head_limit > w->part_size)
            st = bc_s3_multipart_wait(w->upload);
        return st;
    }
    size_t n = *len < room ? *len : room;
    size_t need = w->fill_len + n;
    if (!w->fill || need > w->fill->cap) {
        size_t cap = w->fill ? w->fill->cap * 2 : FIRST_HEAD_SIZE;
        cap = cap < need ? need : cap > w->head_limit ? w->head_limit : cap;
        if (!w->fill) {
            if (!(w->fill = buffer_new(cap)))
                return bc_oom();
        } else {
            unsigned char *grown = realloc(w->fill->data, cap);
            if (!grown)
                return bc_oom();
            w->fill->data = grown;
            w->fill->cap = cap;
        }
    }
    memcpy(w->fill->data + w->fill_len, *data, n);
    w->fill_len += n;
    *data += n;
    *len -= n;
    return BC_OK;
}

/* Takes what fits of data into the current part; queues it when full. */
static bc_status fill_part(s3_writer *w, const unsigned char **data, size_t *len)
{
    if (!w->fill && !(w->fill = buffer_get(w)))
        return bc_oom();
    size_t room = w->part_size - w->fill_len;
    size_t n = *len < room ? *len : room;
    memcpy(w->fill->data + w->fill_len, *data, n);
    w->fill_len += n;
    *data += n;
    *len -= n;
    return w->fill_len == w->part_size ? queue_fill(w) : BC_OK;
}

bc_status bc_s3_writer_open(void *backend, const char *key, const bc_put_opts *opts,
                            void **state)
{
    s3_backend *b = backend;
    if (!key || !*key)
        return bc_s3_put_failed(b, key, bc_error(BC_ERR_USAGE, "empty key"));
    s3_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bc_oom();
    w->b = b;
    w->opts.if_absent = opts->if_absent;
    w->part_size = (size_t)bc_s3_part_size(b->part_size, opts->size_limit, b->max_parts);
    size_t limit = (size_t)((b->threshold + (int64_t)w->part_size - 1) / (int64_t)w->part_size) *
                   w->part_size;
    size_t in_flight = (size_t)b->concurrency * w->part_size;
    w->head_limit = limit < in_flight ? limit : in_flight;
    pthread_mutex_init(&w->lock, NULL);
    w->key = strdup(key);
    bc_status st = w->key ? bc_s3_create_headers(opts, &w->create) : bc_oom();
    if (st != BC_OK) {
        writer_free(w);
        return st;
    }
    *state = w;
    return BC_OK;
}

bc_status bc_s3_writer_write(void *state, const void *data, size_t len)
{
    s3_writer *w = state;
    const unsigned char *p = data;
    /* A part that failed in the background fails the next write. */
    bc_status st = w->upload ? bc_s3_multipart_status(w->upload) : BC_OK;
    while (st == BC_OK && len > 0)
        st = w->upload ? fill_part(w, &p, &len) : fill_head(w, &p, &len);
    return st == BC_OK ? BC_OK : bc_s3_put_failed(w->b, w->key, st);
}

/* The whole stream is in the head and within the threshold: one PUT. */
static bc_status put_head(s3_writer *w)
{
    bc_source src = { .fd = -1, .mem = w->fill ? w->fill->data : NULL,
                      .size = (int64_t)w->fill_len };
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(w->b->pool, &hc);
    if (st == BC_OK) {
        st = bc_s3_put_single(w->b, hc, w->key, &src, &w->opts, &w->create);
        bc_http_client_release(w->b->pool, hc);
    }
    return st;
}

bc_status bc_s3_writer_commit(void *state)
{
    s3_writer *w = state;
    bc_status st;
    if (!w->upload && (int64_t)w->fill_len <= w->b->threshold) {
        st = put_head(w);
    } else {
        /* The last part; or, for a stream between the threshold and the
         * head's size, the whole head cut into parts. */
        st = w->upload ? BC_OK : start_multipart(w);
        if (st == BC_OK && w->fill_len > 0)
            st = queue_fill(w);
        if (st == BC_OK)
            st = bc_s3_multipart_complete(w->upload, &w->opts);
        else
            bc_s3_multipart_abort(w->upload);
        w->upload = NULL;
    }
    if (st != BC_OK)
        st = bc_s3_put_failed(w->b, w->key, st);
    writer_free(w);
    return st;
}

void bc_s3_writer_abort(void *state)
{
    s3_writer *w = state;
    bc_s3_multipart_abort(w->upload);
    writer_free(w);
}
