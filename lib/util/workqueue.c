#include "util/workqueue.h"

#include <pthread.h>

#define MAX_WORKERS 64

typedef struct queue {
    size_t n, next, failed;
    int keep_going;
    bc_work_fn fn;
    void *ctx;
    pthread_mutex_t lock;
} queue;

static void *worker_main(void *arg)
{
    queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        int stop = q->next >= q->n || (q->failed && !q->keep_going);
        size_t i = q->next++;
        pthread_mutex_unlock(&q->lock);
        if (stop)
            return NULL;
        if (q->fn(q->ctx, i) != 0) {
            pthread_mutex_lock(&q->lock);
            q->failed++;
            pthread_mutex_unlock(&q->lock);
        }
    }
}

size_t bc_work_run(size_t n, int workers, int keep_going, bc_work_fn fn, void *ctx)
{
    pthread_t threads[MAX_WORKERS];
    int started = 0;
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    queue q = {.n = n, .keep_going = keep_going, .fn = fn, .ctx = ctx};
    pthread_mutex_init(&q.lock, NULL);
    for (int i = 0; i < workers && (size_t)i < n; i++)
        if (pthread_create(&threads[i], NULL, worker_main, &q) == 0)
            started++;
    if (started == 0 && n)
        worker_main(&q);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&q.lock);
    return q.failed;
}
