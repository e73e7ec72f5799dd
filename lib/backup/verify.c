/* bc-verify's checks; see verify.h. Nothing is written: archives are read
 * through bc_backup_archives_read without a target, WAL through
 * bc_wal_check without a sink. The WAL of several backups is listed and
 * each segment read once, whatever the number of backups needing it. */
#include "backup/verify.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "backup/archives.h"
#include "backup/catalog.h"
#include "layout/wal.h"
#include "util/buffer.h"
#include "util/log.h"
#include "util/workqueue.h"
#include "wal/wal.h"

#define DEFAULT_SEGMENT_SIZE ((int64_t)16 << 20)
#define MAX_HISTORY_SIZE ((size_t)1 << 20)

/* --- problems --- */

static void add_problem(bc_verify_report *r, bc_verify_backup *b, const char *object,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add_problem(bc_verify_report *r, bc_verify_backup *b, const char *object,
                        const char *fmt, ...)
{
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (b->nproblems == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        bc_verify_problem *p = realloc(b->problems, cap * sizeof *p);
        if (!p)
            return; /* counted below all the same: the run still fails */
        b->problems = p;
        b->cap = cap;
    }
    if (b->nproblems < b->cap) {
        bc_verify_problem *p = &b->problems[b->nproblems++];
        p->object = strdup(object);
        p->message = strdup(message);
    }
    r->problems++;
}

/* --- the archives of one backup --- */

static void verify_archives(bc_store *store, const bc_verify_opts *o, const bc_catalog_entry *e,
                            bc_verify_report *r, bc_verify_backup *b, bc_progress *progress)
{
    bc_tablespace *ts = NULL;
    size_t nts = 0;
    bc_backup_archives a = {0};
    bc_status st = bc_backup_info_get_tablespaces(e->info, &ts, &nts);
    if (st == BC_OK)
        st = bc_backup_archives_list(store, o->server, e->id, ts, nts, &a);
    if (st != BC_OK) {
        add_problem(r, b, a.dir[0] ? a.dir : "backup.info", "%s", bc_error_msg());
        goto done;
    }
    b->archives = (int64_t)a.n;
    b->archive_bytes = a.bytes;
    if (bc_backup_archives_check_parts(&a, e->id) != BC_OK)
        add_problem(r, b, a.dir, "%s", bc_error_msg());
    /* A damaged or missing bc_archives.json or backup_manifest is a problem
     * of the backup folder (the message names the file); the archives are
     * still read, checked for what their codecs and tar structure show. */
    if (bc_backup_archives_load_manifest(store, e->id, &a) != BC_OK)
        add_problem(r, b, a.dir, "%s", bc_error_msg());
    b->has_manifest = a.manifest != NULL;
    bc_archive_read_opts ro = {.store_config = o->store_config, .jobs = o->jobs,
                               .keep_going = 1, .progress = progress};
    st = bc_backup_archives_read(&a, &ro);
    int parts_ok = 1;
    for (size_t i = 0; i < a.n; i++) {
        b->files += a.parts[i].files;
        b->file_bytes += a.parts[i].bytes;
        if (a.parts[i].result.status != BC_OK) {
            parts_ok = 0;
            add_problem(r, b, a.parts[i].key, "%s", a.parts[i].result.message);
        }
    }
    if (st != BC_OK && parts_ok) /* every part read, but a file none held */
        add_problem(r, b, BC_MANIFEST_NAME, "%s", bc_error_msg());
done:
    bc_backup_archives_free(&a);
    bc_tablespaces_free(ts, nts);
}

/* --- WAL --- */

/* A stretch of one timeline's segments that recovery reads. */
typedef struct wal_range {
    uint32_t tli;
    uint64_t first, last;         /* segment numbers, inclusive */
    int to_newest;                /* last is the newest segment stored */
} wal_range;

typedef struct wal_check {
    int wanted;
    bc_status status;
    char *message;                /* on failure (malloc'd: archives hold many) */
    bc_wal_checked seen;
} wal_check;

typedef struct wal_state {
    bc_wal_inventory inv;
    wal_check *checks;            /* one per inventory item */
    const bc_store_config *config;
    bc_progress *progress;
    /* Stores the workers have finished with, reused by the next segment:
     * opening one per segment would redo credentials and connections. */
    pthread_mutex_t lock;
    bc_store *idle[64];
    size_t nidle;
} wal_state;

static uint64_t segno_of(const bc_wal_entry *e, uint64_t per_log)
{
    return (uint64_t)e->log * per_log + e->seg;
}

static int compare_name(const void *key, const void *item)
{
    return strcmp(key, ((const bc_wal_entry *)item)->name);
}

/* The inventory index of name, the first of several copies; -1 if none. */
static long find_entry(const bc_wal_inventory *inv, const char *name)
{
    const bc_wal_entry *e = bsearch(name, inv->items, inv->n, sizeof *inv->items, compare_name);
    if (!e)
        return -1;
    while (e > inv->items && strcmp(e[-1].name, name) == 0)
        e--;
    return (long)(e - inv->items);
}

static int read_sink(void *ctx, const void *data, size_t len)
{
    return (int)bc_buffer_sink(ctx, data, len);
}

/* The parent timelines of a history file, in order. */
typedef struct history {
    bc_wal_history_entry e[BC_WAL_HISTORY_MAX];
    size_t n;
} history;

static bc_status load_history(bc_store *store, const bc_wal_entry *e, history *h)
{
    bc_buffer buf = {.limit = MAX_HISTORY_SIZE};
    bc_wal_object obj = {.codec = e->codec, .size = e->size};
    bc_wal_checked seen;
    snprintf(obj.key, sizeof obj.key, "%s", e->key);
    bc_status st = bc_wal_check(store, &obj, read_sink, &buf, &seen);
    h->n = st == BC_OK ? bc_wal_history_parse((const char *)buf.data, buf.len, h->e) : 0;
    bc_buffer_free(&buf);
    return st;
}

/* The ranges recovery from a backup reads: begin to end on its timeline,
 * or along the latest timeline descending from it to its newest segment. */
static size_t wal_ranges(bc_store *store, const bc_verify_opts *o, wal_state *w,
                         const bc_verify_backup *b, uint64_t per_log, int64_t seg_size,
                         wal_range *out, size_t max, bc_verify_report *r, bc_verify_backup *bm)
{
    uint32_t tli, log, seg;
    bc_wal_parse(b->begin_wal, &tli, &log, &seg);
    uint64_t begin = (uint64_t)log * per_log + seg;
    bc_wal_parse(b->end_wal, &tli, &log, &seg);
    uint64_t end = (uint64_t)log * per_log + seg;
    if (!o->wal_to_latest) {
        out[0] = (wal_range){b->timeline, begin, end, 0};
        return 1;
    }
    /* The newest timeline whose history names the backup's: recovery with
     * recovery_target_timeline = latest follows it. */
    history h = {.n = 0};
    uint32_t latest = b->timeline;
    for (size_t i = w->inv.n; i-- > 0;) {
        const bc_wal_entry *e = &w->inv.items[i];
        if (e->kind != BC_WAL_HISTORY || e->tli <= b->timeline)
            continue;
        history cand;
        if (load_history(store, e, &cand) != BC_OK) {
            add_problem(r, bm, e->key, "%s", bc_error_msg());
            continue;
        }
        size_t k = 0;
        while (k < cand.n && cand.e[k].tli != b->timeline)
            k++;
        if (k < cand.n) { /* the newest: names sort by timeline */
            latest = e->tli;
            h = cand;
            break;
        }
    }
    size_t n = 0, k = 0;
    while (k < h.n && h.e[k].tli != b->timeline)
        k++;
    uint64_t first = begin;
    for (; k < h.n && n + 1 < max; k++) {
        /* A timeline ends where the next begins: the segment holding the
         * switch point is read from the new timeline. */
        uint64_t next = h.e[k].switch_lsn / (uint64_t)seg_size;
        if (next > first)
            out[n++] = (wal_range){h.e[k].tli, first, next - 1, 0};
        if (next > first)
            first = next;
    }
    out[n++] = (wal_range){latest, first, latest == b->timeline ? end : first, 1};
    return n;
}

static int check_one(void *ctx, size_t i)
{
    wal_state *w = ctx;
    wal_check *c = &w->checks[i];
    if (!c->wanted)
        return 0;
    const bc_wal_entry *e = &w->inv.items[i];
    bc_wal_object obj = {.codec = e->codec, .size = e->size, .partial = e->kind == BC_WAL_PARTIAL};
    snprintf(obj.key, sizeof obj.key, "%s", e->key);
    bc_store *store = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->nidle)
        store = w->idle[--w->nidle];
    pthread_mutex_unlock(&w->lock);
    c->status = store ? BC_OK : bc_store_open(w->config, &store);
    if (c->status == BC_OK)
        c->status = bc_wal_check(store, &obj, NULL, NULL, &c->seen);
    if (c->status == BC_ERR_NOTFOUND)
        bc_error(BC_ERR_DATA, "it was listed, then could not be read: it has disappeared");
    if (c->status != BC_OK)
        c->message = strdup(bc_error_msg());
    pthread_mutex_lock(&w->lock);
    if (store && w->nidle < sizeof w->idle / sizeof w->idle[0]) {
        w->idle[w->nidle++] = store;
        store = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    bc_store_close(store);
    bc_progress_add(w->progress, e->size);
    return c->status != BC_OK;
}

/* What a segment's first page says against its name and the backup. */
static void check_header(bc_verify_report *r, bc_verify_backup *b, const bc_wal_entry *e,
                         const bc_wal_checked *seen, uint64_t segno, int64_t seg_size,
                         uint64_t sysid)
{
    const bc_wal_header *h = &seen->header;
    if (!h->valid) {
        add_problem(r, b, e->key, "it does not start with a WAL segment's page header");
        return;
    }
    if (h->pageaddr != segno * (uint64_t)seg_size)
        add_problem(r, b, e->key, "its first page is at %X/%X, not at the start of segment %s",
                    (unsigned)(h->pageaddr >> 32), (unsigned)h->pageaddr, e->name);
    else if ((int64_t)h->seg_size != seg_size ||
             (e->kind == BC_WAL_SEGMENT && seen->size != seg_size))
        add_problem(r, b, e->key, "%lld bytes with a header for %u-byte segments, the backup "
                    "has %lld-byte segments", (long long)seen->size, h->seg_size,
                    (long long)seg_size);
    else if (sysid && h->sysid != sysid)
        add_problem(r, b, e->key, "it belongs to the cluster with system identifier %" PRIu64
                    ", the backup to %" PRIu64, h->sysid, sysid);
    else if (h->tli > e->tli)
        add_problem(r, b, e->key, "its first page was written on timeline %u, after its "
                    "name's %u", h->tli, e->tli);
}

static void report_missing(bc_verify_report *r, bc_verify_backup *b, uint32_t tli,
                           uint64_t from, uint64_t to, uint64_t per_log)
{
    char a[25], z[25];
    bc_wal_segment_name(tli, from, per_log, a);
    bc_wal_segment_name(tli, to, per_log, z);
    if (from == to)
        add_problem(r, b, a, "WAL segment %s is missing from the archive", a);
    else
        add_problem(r, b, a, "WAL segments %s to %s are missing from the archive (%" PRIu64
                    " segments)", a, z, to - from + 1);
}

/* Walks the ranges: marks each stored segment wanted (mark) or collects
 * its check into the backup (!mark). */
static void walk_ranges(wal_state *w, const wal_range *rg, size_t nrg, uint64_t per_log,
                        int64_t seg_size, uint64_t sysid, int mark, bc_verify_report *r,
                        bc_verify_backup *b)
{
    for (size_t k = 0; k < nrg; k++) {
        uint64_t last = rg[k].last;
        if (rg[k].to_newest) {
            /* the newest segment of this timeline, if past the range */
            for (size_t i = w->inv.n; i-- > 0;) {
                const bc_wal_entry *e = &w->inv.items[i];
                if (e->tli == rg[k].tli && e->kind == BC_WAL_SEGMENT) {
                    if (segno_of(e, per_log) > last)
                        last = segno_of(e, per_log);
                    break;
                }
            }
        }
        uint64_t missing_from = UINT64_MAX;
        for (uint64_t s = rg[k].first; s <= last; s++) {
            char name[25];
            bc_wal_segment_name(rg[k].tli, s, per_log, name);
            long i = find_entry(&w->inv, name);
            if (mark) {
                if (i >= 0)
                    w->checks[i].wanted = 1;
                continue;
            }
            if (i < 0) {
                if (missing_from == UINT64_MAX)
                    missing_from = s;
                continue;
            }
            if (missing_from != UINT64_MAX)
                report_missing(r, b, rg[k].tli, missing_from, s - 1, per_log);
            missing_from = UINT64_MAX;
            const wal_check *c = &w->checks[i];
            const bc_wal_entry *e = &w->inv.items[i];
            b->wal_segments++;
            b->wal_bytes += c->seen.size;
            b->wal_with_checksum += c->seen.has_checksum;
            memcpy(b->last_wal, name, sizeof name);
            b->last_timeline = rg[k].tli;
            if (c->status != BC_OK)
                add_problem(r, b, e->key, "%s", c->message ? c->message : "out of memory");
            else
                check_header(r, b, e, &c->seen, s, seg_size, sysid);
        }
        if (!mark && missing_from != UINT64_MAX)
            report_missing(r, b, rg[k].tli, missing_from, last, per_log);
    }
    /* After a promotion the old timeline's last segment may exist only
     * as "<name>.partial": it is not needed, so it is not reported. */
}

typedef struct wal_plan {
    wal_range ranges[66];
    size_t n;
    int64_t seg_size;
    uint64_t per_log, sysid;
} wal_plan;

static int backup_wal_plan(bc_store *store, const bc_verify_opts *o, wal_state *w,
                           const bc_catalog_entry *e, bc_verify_report *r, bc_verify_backup *b,
                           wal_plan *p)
{
    int64_t v;
    const char *sysid = NULL;
    p->seg_size = bc_backup_info_get_int(e->info, "xlog_segment_size", &v) == BC_OK &&
                  bc_wal_segment_size_valid(v) ? v : DEFAULT_SEGMENT_SIZE;
    p->per_log = (UINT64_C(1) << 32) / (uint64_t)p->seg_size;
    p->sysid = 0;
    if (bc_backup_info_get_str(e->info, "systemid", &sysid) == BC_OK && sysid)
        p->sysid = strtoull(sysid, NULL, 10);
    if (bc_wal_classify(b->begin_wal) != BC_WAL_SEGMENT ||
        bc_wal_classify(b->end_wal) != BC_WAL_SEGMENT || strcmp(b->begin_wal, b->end_wal) > 0) {
        add_problem(r, b, "backup.info", "begin_wal '%s' and end_wal '%s' are not a WAL range",
                    b->begin_wal, b->end_wal);
        return 0;
    }
    p->n = wal_ranges(store, o, w, b, p->per_log, p->seg_size, p->ranges, 66, r, b);
    return 1;
}

/* --- the whole run --- */

static void describe(const bc_catalog_entry *e, bc_verify_backup *b)
{
    const char *s = NULL;
    int64_t tli = 0;
    snprintf(b->id, sizeof b->id, "%s", e->id);
    bc_backup_status status = BC_BACKUP_EMPTY;
    bc_backup_info_get_status(e->info, &status);
    snprintf(b->status, sizeof b->status, "%s",
             bc_backup_status_name(status) ? bc_backup_status_name(status) : "?");
    if (bc_backup_info_get_int(e->info, "timeline", &tli) == BC_OK && tli > 0 && tli <= UINT32_MAX)
        b->timeline = (uint32_t)tli;
    if (bc_backup_info_get_str(e->info, "begin_wal", &s) == BC_OK && s)
        snprintf(b->begin_wal, sizeof b->begin_wal, "%s", s);
    s = NULL;
    if (bc_backup_info_get_str(e->info, "end_wal", &s) == BC_OK && s)
        snprintf(b->end_wal, sizeof b->end_wal, "%s", s);
}

bc_status bc_verify(bc_store *store, const bc_verify_opts *o, bc_verify_report *r)
{
    memset(r, 0, sizeof *r);
    r->server = o->server;
    bc_catalog catalog;
    signal(SIGPIPE, SIG_IGN); /* a stopped reader must fail a write, not kill us */
    bc_status st = bc_catalog_load(store, o->server, &catalog);
    if (st != BC_OK)
        return st;
    const bc_catalog_entry *one = NULL;
    int all = o->backup && !strcmp(o->backup, "all");
    if (!all)
        st = bc_catalog_find(&catalog, o->server, o->backup ? o->backup : "latest", &one);
    size_t n = all ? catalog.n : 1;
    if (st == BC_OK && n == 0)
        st = bc_error(BC_ERR_NOTFOUND, "server %s has no backup in %s", o->server,
                      bc_store_describe(store));
    if (st == BC_OK && !(r->backups = calloc(n, sizeof *r->backups)))
        st = bc_oom();
    if (st != BC_OK) {
        bc_catalog_free(&catalog);
        return st;
    }
    r->n = n;
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        describe(all ? &catalog.items[i] : one, &r->backups[i]);
        r->backups[i].skipped = strcmp(r->backups[i].status, "DONE") != 0;
        done += !r->backups[i].skipped;
    }
    if (all && done == 0) {
        st = bc_error(BC_ERR_NOTFOUND, "server %s has no backup with status DONE in %s: there "
                      "is nothing to verify", o->server, bc_store_describe(store));
        bc_catalog_free(&catalog);
        bc_verify_report_free(r);
        return st;
    }
    if (!all && r->backups[0].skipped) {
        st = bc_error(BC_ERR_NOTFOUND, "backup %s of server %s has status %s, not DONE; there "
                      "is nothing to verify", one->id, o->server, r->backups[0].status);
        bc_catalog_free(&catalog);
        bc_verify_report_free(r);
        return st;
    }

    bc_progress *progress = bc_progress_new(o->progress, "verify");
    wal_state w = {.config = o->store_config, .progress = progress};
    pthread_mutex_init(&w.lock, NULL);
    st = bc_wal_inventory_load(store, o->server, &w.inv);
    if (st == BC_OK && !(w.checks = calloc(w.inv.n ? w.inv.n : 1, sizeof *w.checks)))
        st = bc_oom();
    wal_plan *plans = st == BC_OK ? calloc(n, sizeof *plans) : NULL;
    if (st == BC_OK && !plans)
        st = bc_oom();
    int64_t total = 0;
    for (size_t i = 0; st == BC_OK && i < n; i++) {
        bc_verify_backup *b = &r->backups[i];
        const bc_catalog_entry *e = all ? &catalog.items[i] : one;
        if (b->skipped)
            continue;
        if (!backup_wal_plan(store, o, &w, e, r, b, &plans[i]))
            plans[i].n = 0;
        walk_ranges(&w, plans[i].ranges, plans[i].n, plans[i].per_log, plans[i].seg_size, 0,
                    1, r, b);
    }
    for (size_t i = 0; st == BC_OK && i < w.inv.n; i++)
        total += w.checks[i].wanted ? w.inv.items[i].size : 0;
    if (st == BC_OK) {
        /* archives: their stored sizes are only known once listed; the
         * total grows as each backup is listed */
        bc_progress_set_total(progress, total);
        for (size_t i = 0; i < n; i++) {
            bc_verify_backup *b = &r->backups[i];
            if (b->skipped)
                continue;
            bc_log_info("verifying backup %s", b->id);
            verify_archives(store, o, all ? &catalog.items[i] : one, r, b, progress);
            total += b->archive_bytes;
            bc_progress_set_total(progress, total);
        }
        bc_work_run(w.inv.n, o->jobs, 1, check_one, &w);
        for (size_t i = 0; i < n; i++)
            if (!r->backups[i].skipped)
                walk_ranges(&w, plans[i].ranges, plans[i].n, plans[i].per_log,
                            plans[i].seg_size, plans[i].sysid, 0, r, &r->backups[i]);
    }
    bc_progress_done(progress, st == BC_OK && r->problems == 0);
    bc_progress_free(progress);
    free(plans);
    for (size_t i = 0; w.checks && i < w.inv.n; i++)
        free(w.checks[i].message);
    for (size_t i = 0; i < w.nidle; i++)
        bc_store_close(w.idle[i]);
    pthread_mutex_destroy(&w.lock);
    free(w.checks);
    bc_wal_inventory_free(&w.inv);
    bc_catalog_free(&catalog);
    if (st != BC_OK) {
        bc_verify_report_free(r);
        return st;
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->backups[i].nproblems)
            return bc_error(BC_ERR_DATA, "backup %s: %s: %s%s", r->backups[i].id,
                            r->backups[i].problems[0].object, r->backups[i].problems[0].message,
                            r->problems > 1 ? " (and more problems, listed above)" : "");
    return r->problems ? bc_error(BC_ERR_DATA, "%zu problems found", r->problems) : BC_OK;
}

void bc_verify_report_free(bc_verify_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < r->backups[i].nproblems; k++) {
            free(r->backups[i].problems[k].object);
            free(r->backups[i].problems[k].message);
        }
        free(r->backups[i].problems);
    }
    free(r->backups);
    memset(r, 0, sizeof *r);
}

/* --- printing --- */

static void human_size(int64_t n, char out[32])
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, 32, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static json_t *backup_json(const bc_verify_backup *b)
{
    json_t *problems = json_array();
    for (size_t k = 0; k < b->nproblems; k++)
        json_array_append_new(problems, json_pack("{s:s?,s:s?}", "object", b->problems[k].object,
                                                  "problem", b->problems[k].message));
    return json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:s?,s:I,s:I,s:I,s:I,s:o}",
                     "backup_id", b->id, "backup_status", b->status,
                     "result", b->skipped ? "skipped" : b->nproblems ? "failed" : "verified",
                     "manifest", b->has_manifest, "archives", (json_int_t)b->archives,
                     "archive_bytes", (json_int_t)b->archive_bytes, "files", (json_int_t)b->files,
                     "file_bytes", (json_int_t)b->file_bytes, "timeline", (json_int_t)b->timeline,
                     "begin_wal", b->begin_wal, "end_wal", b->end_wal,
                     "last_wal", b->last_wal[0] ? b->last_wal : NULL,
                     "last_timeline", (json_int_t)b->last_timeline,
                     "wal_segments", (json_int_t)b->wal_segments,
                     "wal_bytes", (json_int_t)b->wal_bytes,
                     "wal_with_checksum", (json_int_t)b->wal_with_checksum, "problems", problems);
}

bc_status bc_verify_print(const bc_verify_report *r, int json, FILE *out)
{
    if (json) {
        json_t *list = json_array();
        size_t verified = 0;
        for (size_t i = 0; i < r->n; i++) {
            json_array_append_new(list, backup_json(&r->backups[i]));
            verified += !r->backups[i].skipped && !r->backups[i].nproblems;
        }
        json_t *doc = json_pack("{s:s,s:b,s:I,s:I,s:o}", "server", r->server, "verified",
                                r->problems == 0, "backups_verified", (json_int_t)verified,
                                "problems", (json_int_t)r->problems, "backups", list);
        int rc = doc ? json_dumpf(doc, out, JSON_INDENT(2)) : -1;
        json_decref(doc);
        fputc('\n', out);
        return rc == 0 ? BC_OK : bc_oom();
    }
    size_t verified = 0, failed = 0;
    for (size_t i = 0; i < r->n; i++) {
        const bc_verify_backup *b = &r->backups[i];
        if (b->skipped) {
            fprintf(out, "backup %s: skipped (status %s)\n", b->id, b->status);
            continue;
        }
        char stored[32], data[32], wal[32];
        human_size(b->archive_bytes, stored);
        human_size(b->file_bytes, data);
        human_size(b->wal_bytes, wal);
        if (b->nproblems) {
            failed++;
            fprintf(out, "backup %s: FAILED, %zu problem%s\n", b->id, b->nproblems,
                    b->nproblems == 1 ? "" : "s");
            for (size_t k = 0; k < b->nproblems; k++)
                fprintf(out, "  problem: %s: %s\n", b->problems[k].object,
                        b->problems[k].message);
        } else {
            verified++;
            fprintf(out, "backup %s: verified\n", b->id);
        }
        fprintf(out, "  archives: %lld (%s stored), %lld files (%s)%s\n",
                (long long)b->archives, stored, (long long)b->files, data,
                b->has_manifest ? " checked against backup_manifest"
                                : ", no backup_manifest: structure and decoding checked");
        fprintf(out, "  WAL: %lld segments (%s) from %s to %s%s, %lld with a checksum\n",
                (long long)b->wal_segments, wal, b->begin_wal,
                b->last_wal[0] ? b->last_wal : b->end_wal,
                b->last_timeline > b->timeline ? " (across timelines)" : "",
                (long long)b->wal_with_checksum);
    }
    fprintf(out, "%zu backup%s verified, %zu failed, %zu problem%s\n", verified,
            verified == 1 ? "" : "s", failed, r->problems, r->problems == 1 ? "" : "s");
    return BC_OK;
}
