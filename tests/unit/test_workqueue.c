/* util/workqueue: the bounded queue every parallel job uses (S3 parts,
 * Azure blocks, WAL segments, archives). Checked here: every item runs and
 * is released once, no more than `workers` at once, the first failure
 * comes back with its message and stops the rest, per-worker state is
 * opened and closed once per worker, and the loop form counts failures. */
#include "util/workqueue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"

#define ITEMS 200

typedef struct tally {
    atomic_int ran[ITEMS], released[ITEMS];
    atomic_int running, max_running;
    int arrived;              /* gated items that reached the gate */
    atomic_int opened, closed;
    int fail_at;              /* the item that fails; -1: none */
    int fail_open;
    /* The first `gate` items wait until that many run at once. */
    int gate;
    pthread_mutex_t lock;
    pthread_cond_t changed;
} tally;

static void tally_init(tally *t, int fail_at)
{
    memset(t, 0, sizeof *t);
    t->fail_at = fail_at;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->changed, NULL);
}

static bc_status item_run(void *ctx, void *worker, void *item)
{
    tally *t = ctx;
    int i = *(int *)item;
    if (worker && *(int *)worker != 42)
        return bc_error(BC_ERR_INTERNAL, "item %d: not its worker's state", i);
    int now = atomic_fetch_add(&t->running, 1) + 1;
    for (int m = atomic_load(&t->max_running); now > m;)
        if (atomic_compare_exchange_weak(&t->max_running, &m, now))
            break;
    if (i < t->gate) {
        pthread_mutex_lock(&t->lock);
        t->arrived++;
        pthread_cond_broadcast(&t->changed);
        while (t->arrived < t->gate)
            pthread_cond_wait(&t->changed, &t->lock);
        pthread_mutex_unlock(&t->lock);
    }
    atomic_fetch_add(&t->ran[i], 1);
    atomic_fetch_sub(&t->running, 1);
    if (i == t->fail_at)
        return bc_error(BC_ERR_DATA, "item %d failed", i);
    return BC_OK;
}

static void item_release(void *ctx, void *item)
{
    tally *t = ctx;
    atomic_fetch_add(&t->released[*(int *)item], 1);
}

static bc_status worker_open(void *ctx, void **worker)
{
    tally *t = ctx;
    static int state = 42;
    if (t->fail_open)
        return bc_error(BC_ERR_NET, "no connection");
    atomic_fetch_add(&t->opened, 1);
    *worker = &state;
    return BC_OK;
}

static void worker_close(void *ctx, void *worker)
{
    tally *t = ctx;
    if (worker && *(int *)worker == 42)
        atomic_fetch_add(&t->closed, 1);
}

static const bc_workq_ops ops = {
    .run = item_run, .open = worker_open, .close = worker_close, .release = item_release,
};

static int all_equal(atomic_int *v, int from, int to, int want)
{
    for (int i = from; i < to; i++)
        if (atomic_load(&v[i]) != want)
            return 0;
    return 1;
}

static void every_item_once(void)
{
    tally t;
    tally_init(&t, -1);
    t.gate = 3;   /* three run at once, or this never finishes */
    bc_workq *q;
    CHECK(bc_workq_start(&ops, &t, 3, sizeof(int), 0, &q) == BC_OK);
    int submitted = 0;
    for (int i = 0; i < ITEMS; i++)
        submitted += bc_workq_submit(q, &i) == BC_OK;
    CHECK(submitted == ITEMS);
    CHECK(bc_workq_wait(q) == BC_OK);
    CHECK(all_equal(t.ran, 0, ITEMS, 1));
    CHECK(bc_workq_finish(q) == BC_OK);
    CHECK(all_equal(t.released, 0, ITEMS, 1));
    CHECK(atomic_load(&t.max_running) == 3);
    CHECK(atomic_load(&t.opened) == 3);
    CHECK(atomic_load(&t.closed) == 3);
}

/* One worker, so the order is fixed: item 17 fails before 18 can be
 * queued, and that submit is the one refused. */
static void first_failure_stops(void)
{
    tally t;
    tally_init(&t, 17);
    bc_workq *q;
    CHECK(bc_workq_start(&ops, &t, 1, sizeof(int), 0, &q) == BC_OK);
    bc_status st = BC_OK;
    int i;
    for (i = 0; i < ITEMS && st == BC_OK; i++)
        st = bc_workq_submit(q, &i);
    CHECK(st == BC_ERR_DATA);
    CHECK(strcmp(bc_error_msg(), "item 17 failed") == 0);
    CHECK(i == 19);
    bc_error(BC_ERR_INTERNAL, "something else");
    CHECK(bc_workq_status(q) == BC_ERR_DATA);
    CHECK(strcmp(bc_error_msg(), "item 17 failed") == 0);
    bc_error(BC_ERR_INTERNAL, "something else");
    CHECK(bc_workq_finish(q) == BC_ERR_DATA);
    CHECK(strcmp(bc_error_msg(), "item 17 failed") == 0);
    /* Every submitted item (the refused one too) was released once. */
    CHECK(all_equal(t.released, 0, 19, 1));
    CHECK(all_equal(t.released, 19, ITEMS, 0));
    CHECK(all_equal(t.ran, 0, 18, 1));
    CHECK(all_equal(t.ran, 18, ITEMS, 0));
    CHECK(atomic_load(&t.opened) == 1 && atomic_load(&t.closed) == 1);
}

/* Several workers: whatever ran, nothing runs after the failure is seen,
 * and the failure comes back however late item 17 fails. */
static void failure_with_workers(void)
{
    tally t;
    tally_init(&t, 17);
    bc_workq *q;
    CHECK(bc_workq_start(&ops, &t, 3, sizeof(int), 0, &q) == BC_OK);
    int i;
    for (i = 0; i < ITEMS; i++)
        if (bc_workq_submit(q, &i) != BC_OK)
            break;
    CHECK(bc_workq_finish(q) == BC_ERR_DATA);
    CHECK(strcmp(bc_error_msg(), "item 17 failed") == 0);
    int submitted = i < ITEMS ? i + 1 : ITEMS;
    CHECK(all_equal(t.released, 0, submitted, 1));
    CHECK(all_equal(t.released, submitted, ITEMS, 0));
    CHECK(all_equal(t.ran, 0, 18, 1));
}

static void abort_keeps_message(void)
{
    tally t;
    tally_init(&t, -1);
    bc_workq *q;
    CHECK(bc_workq_start(&ops, &t, 4, sizeof(int), 0, &q) == BC_OK);
    for (int i = 0; i < 10; i++)
        bc_workq_submit(q, &i);
    bc_error(BC_ERR_IO, "the caller's own failure");
    bc_workq_abort(q);
    CHECK(strcmp(bc_error_msg(), "the caller's own failure") == 0);
    /* Run or dropped, each item was released once. */
    CHECK(all_equal(t.released, 0, 10, 1));
    bc_workq_abort(NULL);
}

static void open_failure(void)
{
    tally t;
    tally_init(&t, -1);
    t.fail_open = 1;
    bc_workq *q;
    CHECK(bc_workq_start(&ops, &t, 2, sizeof(int), 1, &q) == BC_OK);
    bc_status st = BC_OK;
    for (int i = 0; i < ITEMS && st == BC_OK; i++)
        st = bc_workq_submit(q, &i);
    CHECK(st == BC_ERR_NET);   /* even with keep_going: no worker can run */
    CHECK(bc_workq_finish(q) == BC_ERR_NET);
    CHECK(strcmp(bc_error_msg(), "no connection") == 0);
    CHECK(all_equal(t.ran, 0, ITEMS, 0));
    CHECK(atomic_load(&t.closed) == 0);
}

static int loop_item(void *ctx, size_t i)
{
    atomic_int *ran = ctx;
    atomic_fetch_add(&ran[i], 1);
    return i % 7 == 3;
}

static void parallel_loop(void)
{
    atomic_int ran[50] = {0};
    CHECK(bc_work_run(50, 4, 1, loop_item, ran) == 7);   /* 3, 10, ..., 45 */
    CHECK(all_equal(ran, 0, 50, 1));
    atomic_int once[50] = {0};
    size_t failed = bc_work_run(50, 1, 0, loop_item, once);
    CHECK(failed == 1);
    CHECK(all_equal(once, 0, 4, 1));
    CHECK(all_equal(once, 4, 50, 0));
    CHECK(bc_work_run(0, 4, 0, loop_item, once) == 0);
}

int main(void)
{
    every_item_once();
    first_failure_stops();
    failure_with_workers();
    abort_keeps_message();
    open_failure();
    parallel_loop();
    return check_report("workqueue");
}
