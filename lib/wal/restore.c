/* Restoring WAL files (restore_command), with optional prefetch.
 *
 * Prefetch (--prefetch N --spool-dir DIR): while fetching a segment, the
 * next N-1 segments of the same timeline found in the store are downloaded
 * in parallel into the spool; a later request for one of them is served by
 * renaming the spooled file. The spool records which store and server it
 * was filled from (file ".source"); a spool filled from anything else is
 * emptied before use. Spooled files carry full WAL names, timeline
 * included, so a file is only ever served for the exact name requested.
 *
 * End of the archive (--end-of-wal-flag, for standbys that can stream):
 * when a prefetch finds fewer following segments in the store than it
 * wanted, and fetched all it found, the archive ends within reach. A flag
 * file in the spool then makes the next request the spool cannot serve
 * answer "not found" at once, without asking the store, and removes the
 * flag: PostgreSQL switches to streaming replication a round trip sooner,
 * and asks the store again on its next attempt. */
#include "wal/wal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout/wal.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/workqueue.h"

#define MAX_PREFETCH 64
#define SOURCE_FILE ".source"
#define END_OF_WAL_FILE "end-of-wal-stream"

/* Makes sure the spool belongs to this source, emptying it otherwise. */
static bc_status claim_spool(const char *spool, const char *source_id)
{
    char path[4096];
    if (mkdir(spool, 0700) != 0 && errno != EEXIST)
        return bc_error(BC_ERR_IO, "cannot create spool directory %s: %s", spool,
                        strerror(errno));
    snprintf(path, sizeof path, "%s/" SOURCE_FILE, spool);
    if (bc_file_holds(path, source_id))
        return BC_OK;

    DIR *dir = opendir(spool);
    if (!dir)
        return bc_error(BC_ERR_IO, "cannot read spool directory %s: %s", spool, strerror(errno));
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' && strcmp(de->d_name, SOURCE_FILE) != 0)
            continue;
        char entry[4096];
        snprintf(entry, sizeof entry, "%s/%s", spool, de->d_name);
        unlink(entry);
    }
    closedir(dir);
    return bc_write_small_file(path, source_id);
}

/* Drops spooled segments of the same timeline older than `name`: recovery
 * has moved past them. */
static void prune_spool(const char *spool, const char *name)
{
    DIR *dir = opendir(spool);
    struct dirent *de;
    while (dir && (de = readdir(dir)) != NULL) {
        if (bc_wal_classify(de->d_name) != BC_WAL_SEGMENT ||
            strncmp(de->d_name, name, 8) != 0 || strcmp(de->d_name, name) >= 0)
            continue;
        char entry[4096];
        snprintf(entry, sizeof entry, "%s/%s", spool, de->d_name);
        unlink(entry);
    }
    if (dir)
        closedir(dir);
}

typedef struct next_ctx {
    const char *after;
    char names[MAX_PREFETCH][BC_WAL_SEGMENT_LEN + 1];
    bc_wal_object objs[MAX_PREFETCH];
    size_t n, max;
} next_ctx;

/* Collects the first segments after `after` in a folder listing. */
static int next_cb(void *ctx, const bc_object_info *info)
{
    next_ctx *c = ctx;
    char name[BC_WAL_SEGMENT_LEN + 1];
    bc_codec_id codec;
    if (c->n >= c->max ||
        bc_wal_object_name(info->key, name, sizeof name, &codec) != BC_WAL_SEGMENT_LEN)
        return 0;
    if (bc_wal_classify(name) != BC_WAL_SEGMENT || strcmp(name, c->after) <= 0 ||
        (c->n > 0 && strcmp(name, c->names[c->n - 1]) == 0))
        return 0;
    memcpy(c->names[c->n], name, sizeof name);
    bc_wal_object *o = &c->objs[c->n++];
    snprintf(o->key, sizeof o->key, "%s", info->key);
    o->codec = codec;
    o->size = info->size;
    o->partial = 0;
    return 0;
}

/* Lists the following segments: the rest of this log's folder, then the
 * next log's folder if more are wanted. */
static bc_status find_next(bc_store *store, const char *server, const char *name,
                           next_ctx *c)
{
    uint32_t tli, log, seg;
    char dir[1024], next_name[BC_WAL_SEGMENT_LEN + 1];
    bc_wal_parse(name, &tli, &log, &seg);
    bc_status st = bc_wal_dir_key(bc_store_prefix(store), server, name, dir, sizeof dir);
    if (st == BC_OK)
        st = bc_store_list(store, dir, NULL, next_cb, c);
    if (st != BC_OK || c->n >= c->max || log == UINT32_MAX)
        return st;
    snprintf(next_name, sizeof next_name, "%08X%08X%08X", tli, log + 1, 0u);
    st = bc_wal_dir_key(bc_store_prefix(store), server, next_name, dir, sizeof dir);
    if (st == BC_OK)
        st = bc_store_list(store, dir, NULL, next_cb, c);
    return st;
}

/* One download of a prefetching restore: item 0 is the requested file,
 * fetched with the caller's store into dest; the others go to the spool,
 * each with a store of its own. */
typedef struct fetch_item {
    const bc_wal_object *obj;
    char path[4096];
    bc_err result;
} fetch_item;

typedef struct fetch_set {
    bc_store *store;
    const bc_store_config *config;
    fetch_item *items;
} fetch_set;

static int fetch_one(void *ctx, size_t i)
{
    fetch_set *fs = ctx;
    fetch_item *it = &fs->items[i];
    bc_store *own = NULL;
    bc_status st = i == 0 ? BC_OK : bc_store_open(fs->config, &own);
    if (st == BC_OK)
        st = bc_wal_fetch(i == 0 ? fs->store : own, it->obj, it->path, 0);
    bc_error_save(&it->result, st);
    bc_store_close(own);
    return st != BC_OK;
}

static bc_status restore_with_prefetch(bc_store *store, const char *name, const char *dest,
                                       const bc_wal_restore_opts *o)
{
    char source_id[2048], spooled[4096];
    bc_wal_source_id(store, o->server, source_id, sizeof source_id);
    bc_status st = claim_spool(o->spool_dir, source_id);
    if (st != BC_OK)
        return st;
    prune_spool(o->spool_dir, name);

    snprintf(spooled, sizeof spooled, "%s/%s", o->spool_dir, name);
    if (access(spooled, F_OK) == 0 && bc_move_file(spooled, dest) == BC_OK) {
        bc_log_info("restored %s from the prefetch spool", name);
        return BC_OK;
    }
    char flag[4096];
    snprintf(flag, sizeof flag, "%s/" END_OF_WAL_FILE, o->spool_dir);
    if (o->end_of_wal_flag && unlink(flag) == 0)
        return bc_error(BC_ERR_NOTFOUND, "WAL file %s: the last prefetch reached the end of "
                        "the archive (end-of-WAL-stream flag, now reset)", name);

    bc_wal_object obj;
    st = bc_wal_find(store, o->server, name, !o->no_partial, &obj);
    if (st != BC_OK)
        return st;

    next_ctx *next = calloc(1, sizeof *next);
    fetch_item *items = calloc(MAX_PREFETCH + 1, sizeof *items);
    if (!items) {
        free(next);
        return bc_oom();
    }
    size_t n = 1;
    int listed = 0;
    items[0].obj = &obj;
    snprintf(items[0].path, sizeof items[0].path, "%s", dest);
    if (next && !obj.partial) {
        next->after = name;
        next->max = (size_t)o->prefetch - 1 < MAX_PREFETCH ? (size_t)o->prefetch - 1 : MAX_PREFETCH;
        if (find_next(store, o->server, name, next) != BC_OK)
            next->n = 0; /* prefetching is an optimisation: carry on */
        else
            listed = 1;
        for (size_t i = 0; i < next->n; i++) {
            fetch_item *it = &items[n];
            it->obj = &next->objs[i];
            snprintf(it->path, sizeof it->path, "%s/%s", o->spool_dir, next->names[i]);
            if (access(it->path, F_OK) != 0)
                n++;
        }
    }
    fetch_set fs = {.store = store, .config = o->store_config, .items = items};
    bc_work_run(n, (int)n, 1, fetch_one, &fs);
    int all_fetched = next && !obj.partial && listed;
    for (size_t i = 1; i < n; i++) {
        if (items[i].result.status != BC_OK) {
            all_fetched = 0;
            bc_log_warning("prefetching %s failed: %s", bc_wal_basename(items[i].path),
                           items[i].result.message);
        }
    }
    st = bc_error_restore(&items[0].result);
    /* Only a listing that came back short, with every segment it named now
     * in the spool, says where the archive ends. */
    if (st == BC_OK && o->end_of_wal_flag && all_fetched && next->n < next->max) {
        FILE *f = fopen(flag, "w");
        if (f && fclose(f) == 0)
            bc_log_info("the archive ends within %zu segments after %s: end-of-WAL-stream "
                        "flag set", next->n + 1, name);
    }
    free(items);
    free(next);
    return st;
}

bc_status bc_wal_restore(bc_store *store, const char *wal_name, const char *dest,
                         const bc_wal_restore_opts *o)
{
    bc_wal_kind kind = bc_wal_classify(wal_name);
    if (kind == BC_WAL_INVALID)
        return bc_error(BC_ERR_USAGE, "%s is an invalid name for a WAL file", wal_name);
    if (kind == BC_WAL_BACKUP)
        return bc_error(BC_ERR_USAGE,
                        "%s is a backup label file, which recovery never needs", wal_name);

    bc_status st;
    if (kind == BC_WAL_SEGMENT && o->prefetch > 1 && o->spool_dir) {
        st = restore_with_prefetch(store, wal_name, dest, o);
    } else {
        bc_wal_object obj;
        st = bc_wal_find(store, o->server, wal_name, kind == BC_WAL_SEGMENT && !o->no_partial,
                         &obj);
        if (st == BC_OK)
            st = bc_wal_fetch(store, &obj, dest, 0);
        if (st == BC_OK)
            bc_log_info("restored %s from %s/%s", wal_name, bc_store_describe(store), obj.key);
    }
    return st;
}
