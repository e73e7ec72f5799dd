#include "backup/progress.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Several download threads may report into one progress line. */
struct bc_progress {
    pthread_mutex_t lock;
    char what[64];
    int64_t done, total;
    double start, last;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bc_progress *bc_progress_new(int mode, const char *what)
{
    if (mode == 0 || (mode < 0 && !isatty(STDERR_FILENO)))
        return NULL;
    bc_progress *p = calloc(1, sizeof *p);
    if (p) {
        pthread_mutex_init(&p->lock, NULL);
        snprintf(p->what, sizeof p->what, "%s", what);
        p->start = p->last = now();
    }
    return p;
}

void bc_progress_set_total(bc_progress *p, int64_t total)
{
    if (p)
        p->total = total;
}

/* nftw has no context argument; progress is reported by one thread. */
static int64_t walk_total;

static int add_size(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F)
        walk_total += sb->st_size;
    return 0;
}

void bc_progress_add_dir(bc_progress *p, const char *dir)
{
    if (!p)
        return;
    walk_total = 0;
    nftw(dir, add_size, 32, FTW_PHYS);
    p->total += walk_total;
}

static void show(bc_progress *p, const char *end)
{
    double elapsed = now() - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[32] = "";
    if (p->total > p->done && rate > 0) {
        long secs = (long)((double)(p->total - p->done) / rate);
        snprintf(eta, sizeof eta, ", ETA %ld:%02ld", secs / 60, secs % 60);
    }
    fprintf(stderr, "\r%s: %.1f MiB", p->what, (double)p->done / 1048576.0);
    if (p->total > 0)
        fprintf(stderr, " of ~%.1f MiB", (double)p->total / 1048576.0);
    fprintf(stderr, ", %.1f MiB/s%s%s", rate / 1048576.0, eta, end);
}

void bc_progress_add(bc_progress *p, int64_t bytes)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->done += bytes;
    double t = now();
    if (t - p->last >= 0.5) {
        p->last = t;
        show(p, "   ");
    }
    pthread_mutex_unlock(&p->lock);
}

void bc_progress_done(bc_progress *p, int ok)
{
    if (p)
        show(p, ok ? ", done\n" : ", failed\n");
}

void bc_progress_free(bc_progress *p)
{
    if (p)
        pthread_mutex_destroy(&p->lock);
    free(p);
}
