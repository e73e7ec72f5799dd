/* bc-ls wals and check-empty: the WAL archive per timeline with its gaps,
 * and barman-cloud-check-wal-archive's check_archive_usable() (xlog.py). */
#include "backup/listing.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backup/catalog.h"
#include "backup/listing_internal.h"
#include "util/log.h"
#include "wal/wal.h"


/* ---- wals: the archive per timeline ---- */

/* The latest DONE backup's segment size, as the archive was written with. */
static bc_status archive_segment_size(bc_store *store, const char *server, int64_t *size)
{
    bc_catalog catalog;
    const bc_catalog_entry *latest;
    int64_t v;
    *size = BC_BI_DEFAULT_XLOG_SEGMENT_SIZE;
    bc_status st = bc_catalog_load(store, server, &catalog);
    if (st != BC_OK)
        return st;
    if (bc_catalog_find(&catalog, server, "latest", &latest) == BC_OK &&
        bc_backup_info_get_int(latest->info, BC_BI_XLOG_SEGMENT_SIZE, &v) == BC_OK) {
        if (bc_wal_segment_size_valid(v))
            *size = v;
        else
            bc_log_warning("backup %s: ignoring xlog_segment_size %" PRId64, latest->id, v);
    }
    bc_catalog_free(&catalog);
    bc_error_clear();
    return BC_OK;
}

typedef struct wal_gap {
    uint32_t tli;
    char first[25], last[25];
} wal_gap;

typedef struct wal_gaps {
    wal_gap *items;
    size_t n, cap;
    bool oom;
} wal_gaps;

static void collect_gap(void *ctx, uint32_t tli, const char *first, const char *last)
{
    wal_gaps *g = ctx;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        wal_gap *items = realloc(g->items, cap * sizeof *items);
        if (!items) {
            g->oom = true;
            return;
        }
        g->items = items;
        g->cap = cap;
    }
    wal_gap *gap = &g->items[g->n++];
    gap->tli = tli;
    snprintf(gap->first, sizeof gap->first, "%s", first);
    snprintf(gap->last, sizeof gap->last, "%s", last);
}

typedef struct timeline {
    uint32_t tli;
    const char *first, *last, *history; /* segment names (first..last), history file */
    size_t segments, partials, labels;
} timeline;

/* Summarises the timeline starting at items[*i]: names sort by timeline
 * first, so its entries, history file included, are contiguous. */
static void next_timeline(const bc_wal_inventory *inv, size_t *i, timeline *tl)
{
    memset(tl, 0, sizeof *tl);
    tl->tli = inv->items[*i].tli;
    for (; *i < inv->n && inv->items[*i].tli == tl->tli; (*i)++) {
        const bc_wal_entry *e = &inv->items[*i];
        if (*i > 0 && strcmp(e->name, inv->items[*i - 1].name) == 0)
            continue; /* one name stored under two suffixes */
        if (e->kind == BC_WAL_HISTORY)
            tl->history = e->name;
        else if (e->kind == BC_WAL_BACKUP)
            tl->labels++;
        if (e->kind != BC_WAL_SEGMENT && e->kind != BC_WAL_PARTIAL)
            continue;
        *(e->kind == BC_WAL_SEGMENT ? &tl->segments : &tl->partials) += 1;
        tl->first = tl->first ? tl->first : e->name;
        tl->last = e->name;
    }
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static void print_timeline(FILE *out, const timeline *tl, const wal_gaps *gaps)
{
    fprintf(out, "timeline %" PRIu32 ": ", tl->tli);
    if (tl->first)
        fprintf(out, "%s .. %s, %zu segment%s", tl->first, tl->last, tl->segments,
                plural(tl->segments));
    else
        fputs("no segments", out);
    if (tl->partials)
        fprintf(out, ", %zu partial%s", tl->partials, plural(tl->partials));
    if (tl->labels)
        fprintf(out, ", %zu backup label%s", tl->labels, plural(tl->labels));
    if (tl->history)
        fprintf(out, ", history %s", tl->history);
    putc('\n', out);
    for (size_t i = 0; i < gaps->n; i++)
        if (gaps->items[i].tli == tl->tli)
            fprintf(out, "  gap: %s .. %s missing\n", gaps->items[i].first,
                    gaps->items[i].last);
}

static json_t *timeline_json(const timeline *tl, const wal_gaps *gaps)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < gaps->n; i++)
        if (gaps->items[i].tli == tl->tli &&
            json_array_append_new(list, json_pack("{s:s, s:s}", "first", gaps->items[i].first,
                                                  "last", gaps->items[i].last))) {
            json_decref(list);
            list = NULL;
        }
    return json_pack("{s:I, s:s?, s:s?, s:I, s:I, s:I, s:s?, s:o?}", "timeline",
                     (json_int_t)tl->tli, "first", tl->first, "last", tl->last, "segments",
                     (json_int_t)tl->segments, "partials", (json_int_t)tl->partials,
                     "backup_labels", (json_int_t)tl->labels, "history", tl->history, "gaps",
                     list);
}

static bc_status print_wals(const char *server, int64_t segment_size,
                            const bc_wal_inventory *inv, const wal_gaps *gaps,
                            bc_listing_format format, FILE *out)
{
    timeline tl;
    if (format == BC_LISTING_CONSOLE) {
        if (inv->n == 0)
            fprintf(out, "no WAL archived for server %s\n", server);
        for (size_t i = 0; i < inv->n;) {
            next_timeline(inv, &i, &tl);
            print_timeline(out, &tl, gaps);
        }
        return BC_OK;
    }
    json_t *timelines = json_array();
    for (size_t i = 0; timelines && i < inv->n;) {
        next_timeline(inv, &i, &tl);
        if (json_array_append_new(timelines, timeline_json(&tl, gaps))) {
            json_decref(timelines);
            timelines = NULL;
        }
    }
    return bc_listing_print_json(out, timelines ? json_pack("{s:s, s:I, s:o, s:I}", "server_name", server,
                                                 "wal_segment_size", (json_int_t)segment_size,
                                                 "timelines", timelines, "unexpected_objects",
                                                 (json_int_t)inv->unexpected)
                                     : NULL);
}

bc_status bc_listing_wals(bc_store *store, const char *server, int64_t segment_size,
                          bc_listing_format format, FILE *out)
{
    bc_wal_inventory inv;
    wal_gaps gaps = {0};
    bc_status st = BC_OK;
    if (segment_size == 0)
        st = archive_segment_size(store, server, &segment_size);
    if (st == BC_OK)
        st = bc_wal_inventory_load(store, server, &inv);
    if (st != BC_OK)
        return st;
    if (inv.unexpected)
        bc_log_warning("%zu object%s under wals/ of server %s %s, such as %s", inv.unexpected,
                       plural(inv.unexpected), server,
                       inv.unexpected == 1 ? "is not a WAL file" : "are not WAL files",
                       inv.first_unexpected);
    bc_wal_find_gaps(&inv, (UINT64_C(1) << 32) / (uint64_t)segment_size, collect_gap, &gaps);
    st = gaps.oom ? bc_oom() : print_wals(server, segment_size, &inv, &gaps, format, out);
    if (st == BC_OK && gaps.n)
        st = bc_error(BC_ERR_NOTFOUND, "the WAL archive of server %s has %zu gap%s", server,
                      gaps.n, plural(gaps.n));
    free(gaps.items);
    bc_wal_inventory_free(&inv);
    return st;
}

/* ---- check-empty: barman-cloud-check-wal-archive ---- */

bc_status bc_listing_check_empty(bc_store *store, const char *server, uint32_t min_timeline)
{
    bc_wal_inventory inv;
    bc_status st = bc_wal_inventory_load(store, server, &inv);
    if (st == BC_ERR_NOBUCKET) {
        /* barman: a bucket that does not exist yet is an empty archive */
        bc_log_info("%s", bc_error_msg());
        bc_error_clear();
        return BC_OK;
    }
    if (st != BC_OK)
        return st;
    size_t count = 0;
    const char *newest = NULL;
    for (size_t i = 0; i < inv.n; i++)
        if (inv.items[i].tli >= min_timeline) {
            count++;
            newest = inv.items[i].name;
        }
    if (inv.unexpected)
        st = bc_error(BC_ERR_CONFLICT,
                      "WAL archive of server %s holds %zu unexpected object%s, such as %s",
                      server, inv.unexpected, plural(inv.unexpected), inv.first_unexpected);
    else if (count && min_timeline)
        st = bc_error(BC_ERR_CONFLICT,
                      "WAL archive of server %s is not empty: %zu file%s of timeline %" PRIu32
                      " or newer, newest %s",
                      server, count, plural(count), min_timeline, newest);
    else if (count)
        st = bc_error(BC_ERR_CONFLICT,
                      "WAL archive of server %s is not empty: %zu file%s, newest %s", server,
                      count, plural(count), newest);
    bc_wal_inventory_free(&inv);
    return st;
}
