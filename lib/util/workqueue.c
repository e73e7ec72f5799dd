#include "util/workqueue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 256

typedef struct worker_slot {
    bc_workq *q;
    pthread_t thread;
    unsigned char *item;      /* the item this worker runs */
} worker_slot;

struct bc_workq {
    const bc_workq_ops *ops;
    void *ctx;
    size_t item_size;
    int keep_going;
    int depth;                /* items queued or running, at most */
    worker_slot *slots;
    int nthreads;
    void *inline_worker;      /* no thread started: the caller's own state */
    int inline_opened;
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t changed;   /* an item queued or done, or the queue stopping */
    unsigned char *ring;      /* depth items */
    int head, queued;
    int in_flight;            /* queued or running */
    int closing;              /* no more items: workers leave once the ring is empty */
    int stopped;              /* nothing more runs: a failure or an abort */
    size_t failures;
    bc_err first;
};

/* Accounts for a finished item; the caller holds the lock. */
static void item_done_locked(bc_workq *q, bc_status st, int fatal)
{
    if (st != BC_OK) {
        if (q->failures++ == 0)
            bc_error_save(&q->first, st);
        if (fatal || !q->keep_going)
            q->stopped = 1;
    }
    q->in_flight--;
    pthread_cond_broadcast(&q->changed);
}

static void release_item(bc_workq *q, void *item)
{
    if (q->ops->release)
        q->ops->release(q->ctx, item);
}

/* Opens a worker's state on first use; a failure is the item's. */
static bc_status open_worker(bc_workq *q, int *opened, void **worker)
{
    if (*opened)
        return BC_OK;
    *opened = 1;
    return q->ops->open ? q->ops->open(q->ctx, worker) : BC_OK;
}

static void close_worker(bc_workq *q, int opened, void *worker)
{
    if (opened && q->ops->close)
        q->ops->close(q->ctx, worker);
}

static void *worker_main(void *arg)
{
    worker_slot *slot = arg;
    bc_workq *q = slot->q;
    void *worker = NULL;
    int opened = 0, failed_open = 0;
    pthread_mutex_lock(&q->lock);
    while (!failed_open) {
        while (!q->queued && !q->closing && !q->stopped)
            pthread_cond_wait(&q->changed, &q->lock);
        if (q->stopped || !q->queued)
            break;
        memcpy(slot->item, q->ring + (size_t)q->head * q->item_size, q->item_size);
        q->head = (q->head + 1) % q->depth;
        q->queued--;
        pthread_mutex_unlock(&q->lock);
        bc_status st = open_worker(q, &opened, &worker);
        failed_open = st != BC_OK;
        if (st == BC_OK)
            st = q->ops->run(q->ctx, worker, slot->item);
        release_item(q, slot->item);
        pthread_mutex_lock(&q->lock);
        item_done_locked(q, st, failed_open);
    }
    pthread_mutex_unlock(&q->lock);
    if (!failed_open)
        close_worker(q, opened, worker);
    return NULL;
}

/* Releases what is still queued: the queue stopped or was aborted. */
static void drop_queued(bc_workq *q)
{
    for (; q->queued > 0; q->queued--) {
        release_item(q, q->ring + (size_t)q->head * q->item_size);
        q->head = (q->head + 1) % q->depth;
        q->in_flight--;
    }
}

static void queue_free(bc_workq *q)
{
    pthread_cond_destroy(&q->changed);
    pthread_mutex_destroy(&q->lock);
    for (int i = 0; q->slots && i < q->depth; i++)
        free(q->slots[i].item);
    free(q->slots);
    free(q->ring);
    free(q);
}

bc_status bc_workq_start(const bc_workq_ops *ops, void *ctx, int workers, size_t item_size,
                         int keep_going, bc_workq **out)
{
    *out = NULL;
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    bc_workq *q = calloc(1, sizeof *q);
    if (!q)
        return bc_oom();
    q->ops = ops;
    q->ctx = ctx;
    q->item_size = item_size ? item_size : 1;
    q->keep_going = keep_going;
    q->depth = workers;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->changed, NULL);
    q->ring = calloc((size_t)workers, q->item_size);
    q->slots = calloc((size_t)workers, sizeof *q->slots);
    int ok = q->ring && q->slots;
    for (int i = 0; ok && i < workers; i++)
        ok = (q->slots[i].item = malloc(q->item_size)) != NULL;
    if (!ok) {
        queue_free(q);
        return bc_oom();
    }
    for (int i = 0; i < workers; i++) {
        q->slots[i].q = q;
        if (pthread_create(&q->slots[i].thread, NULL, worker_main, &q->slots[i]) != 0)
            break;
        q->nthreads++;
    }
    *out = q;
    return BC_OK;
}

/* No thread: the caller runs the item itself. */
static bc_status run_inline(bc_workq *q)
{
    void *item = q->slots[0].item;
    memcpy(item, q->ring + (size_t)q->head * q->item_size, q->item_size);
    q->head = (q->head + 1) % q->depth;
    q->queued--;
    int was_opened = q->inline_opened;
    bc_status st = open_worker(q, &q->inline_opened, &q->inline_worker);
    int failed_open = st != BC_OK;
    if (failed_open && !was_opened)
        q->inline_opened = 0;   /* nothing to close */
    if (st == BC_OK)
        st = q->ops->run(q->ctx, q->inline_worker, item);
    release_item(q, item);
    item_done_locked(q, st, failed_open);
    return st == BC_OK || q->keep_going ? BC_OK : bc_error_restore(&q->first);
}

bc_status bc_workq_submit(bc_workq *q, const void *item)
{
    pthread_mutex_lock(&q->lock);
    while (!q->stopped && q->in_flight >= q->depth)
        pthread_cond_wait(&q->changed, &q->lock);
    if (q->stopped) {
        bc_status st = bc_error_restore(&q->first);
        pthread_mutex_unlock(&q->lock);
        release_item(q, (void *)item);
        return st;
    }
    int tail = (q->head + q->queued) % q->depth;
    memcpy(q->ring + (size_t)tail * q->item_size, item, q->item_size);
    q->queued++;
    q->in_flight++;
    bc_status st = BC_OK;
    if (q->nthreads == 0)
        st = run_inline(q);   /* no worker exists to take the lock */
    else
        pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    return st;
}

/* The first failure, once any item failed; the caller holds the lock. */
static bc_status status_locked(bc_workq *q)
{
    return q->failures ? bc_error_restore(&q->first) : BC_OK;
}

bc_status bc_workq_status(bc_workq *q)
{
    pthread_mutex_lock(&q->lock);
    bc_status st = q->keep_going ? BC_OK : status_locked(q);
    pthread_mutex_unlock(&q->lock);
    return st;
}

bc_status bc_workq_wait(bc_workq *q)
{
    pthread_mutex_lock(&q->lock);
    while (!q->stopped && q->in_flight > 0)
        pthread_cond_wait(&q->changed, &q->lock);
    bc_status st = status_locked(q);
    pthread_mutex_unlock(&q->lock);
    return st;
}

/* Stops the workers once the ring is empty (at once when stopped). */
static void join_workers(bc_workq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closing = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->slots[i].thread, NULL);
    q->nthreads = 0;
    drop_queued(q);
    close_worker(q, q->inline_opened, q->inline_worker);
}

bc_status bc_workq_finish(bc_workq *q)
{
    join_workers(q);
    bc_status st = status_locked(q);
    queue_free(q);
    return st;
}

void bc_workq_abort(bc_workq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopped = 1;
    pthread_mutex_unlock(&q->lock);
    join_workers(q);
    queue_free(q);
}

/* ---- the parallel loop ------------------------------------------------- */

typedef struct work_loop {
    bc_work_fn fn;
    void *ctx;
} work_loop;

static bc_status run_index(void *ctx, void *worker, void *item)
{
    (void)worker;
    const work_loop *loop = ctx;
    size_t i;
    memcpy(&i, item, sizeof i);
    /* The item reported its own failure; only the count matters here. */
    return loop->fn(loop->ctx, i) != 0 ? BC_ERR_INTERNAL : BC_OK;
}

size_t bc_work_run(size_t n, int workers, int keep_going, bc_work_fn fn, void *ctx)
{
    static const bc_workq_ops ops = {.run = run_index};
    work_loop loop = {fn, ctx};
    if (workers > 64)
        workers = 64;
    if (n && (size_t)workers > n)
        workers = (int)n;
    bc_workq *q;
    if (bc_workq_start(&ops, &loop, workers, sizeof(size_t), keep_going, &q) != BC_OK) {
        /* No memory for a queue: the items run here, one after another. */
        size_t failed = 0;
        for (size_t i = 0; i < n && (keep_going || !failed); i++)
            failed += fn(ctx, i) != 0;
        return failed;
    }
    for (size_t i = 0; i < n; i++)
        if (bc_workq_submit(q, &i) != BC_OK && !keep_going)
            break;
    join_workers(q);
    size_t failed = q->failures;
    queue_free(q);
    return failed;
}
