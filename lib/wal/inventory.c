/* The archive's WAL inventory: what is stored under wals/, per timeline,
 * and where segments are missing. */
#include "wal/wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_entry(void *ctx, const bc_object_info *obj)
{
    bc_wal_inventory *inv = ctx;
    bc_wal_entry e = {.size = obj->size, .mtime = obj->mtime};
    if (bc_wal_object_name(obj->key, e.name, sizeof e.name, &e.codec) > 0) {
        e.kind = bc_wal_classify(e.name);
    }
    if (e.kind == BC_WAL_INVALID) {
        if (inv->unexpected++ == 0)
            snprintf(inv->first_unexpected, sizeof inv->first_unexpected, "%s", obj->key);
        return 0;
    }
    bc_wal_parse(e.name, &e.tli, &e.log, &e.seg);
    if (inv->n == inv->cap) {
        size_t cap = inv->cap ? inv->cap * 2 : 256;
        bc_wal_entry *items = realloc(inv->items, cap * sizeof *items);
        if (!items) {
            bc_oom();
            return BC_ERR_INTERNAL;
        }
        inv->items = items;
        inv->cap = cap;
    }
    if (!(e.key = strdup(obj->key))) {
        bc_oom();
        return BC_ERR_INTERNAL;
    }
    inv->items[inv->n++] = e;
    return 0;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const bc_wal_entry *)a)->name, ((const bc_wal_entry *)b)->name);
}

bc_status bc_wal_inventory_load(bc_store *store, const char *server, bc_wal_inventory *inv)
{
    char prefix[1024];
    const char *p = bc_store_prefix(store);
    memset(inv, 0, sizeof *inv);
    bc_status st = bc_wals_root_key(p, server, prefix, sizeof prefix);
    if (st != BC_OK)
        return st;
    st = bc_store_list(store, prefix, NULL, add_entry, inv);
    if (st != BC_OK) {
        bc_wal_inventory_free(inv);
        return st;
    }
    /* Listings are in key order, which sorts the folders; names inside
     * could differ from key order only through suffixes, so sort by name. */
    if (inv->n)
        qsort(inv->items, inv->n, sizeof *inv->items, compare_entries);
    return BC_OK;
}

void bc_wal_inventory_free(bc_wal_inventory *inv)
{
    for (size_t i = 0; i < inv->n; i++)
        free(inv->items[i].key);
    free(inv->items);
    memset(inv, 0, sizeof *inv);
}

size_t bc_wal_find_gaps(const bc_wal_inventory *inv, uint64_t per_log, bc_wal_gap_fn fn,
                        void *ctx)
{
    size_t gaps = 0;
    int have_prev = 0;
    uint32_t prev_tli = 0;
    uint64_t prev_index = 0;
    for (size_t i = 0; i < inv->n; i++) {
        const bc_wal_entry *e = &inv->items[i];
        if (e->kind != BC_WAL_SEGMENT && e->kind != BC_WAL_PARTIAL)
            continue;
        uint64_t index = (uint64_t)e->log * per_log + e->seg;
        if (have_prev && e->tli == prev_tli && index > prev_index + 1) {
            char first[25], last[25];
            bc_wal_segment_name(e->tli, prev_index + 1, per_log, first);
            bc_wal_segment_name(e->tli, index - 1, per_log, last);
            fn(ctx, e->tli, first, last);
            gaps++;
        }
        if (!have_prev || e->tli != prev_tli || index > prev_index)
            prev_index = index;
        prev_tli = e->tli;
        have_prev = 1;
    }
    return gaps;
}
