/* Keep annotations: base/<id>/annotations/keep holding "full" or
 * "standalone", as barman-cloud-backup-keep writes and reads them. */
#include "retention/retention_internal.h"

#include <string.h>

#include "layout/base.h"
#include "util/log.h"

static bc_status keep_key(const bc_retention *r, size_t i, char *key, size_t keylen)
{
    return bc_base_keep_key(bc_store_prefix(r->store), r->opts.server, r->backups[i].id, key,
                            keylen);
}

bc_status bc_retention_keep(bc_retention *r, const char *which, bc_keep_target target)
{
    size_t i;
    char key[1024];
    bc_status st = bc_retention_find(r, which, &i);
    if (st != BC_OK)
        return st;
    const bc_retention_backup *b = &r->backups[i];
    if (!b->readable || b->status != BC_BACKUP_DONE)
        return bc_error(BC_ERR_CONFLICT, "cannot keep backup %s: its status is %s, and only "
                        "DONE backups can be kept", b->id,
                        b->readable ? bc_backup_status_name(b->status) : "unreadable");
    const char *text = bc_keep_target_name(target);
    bc_source src = {.fd = -1, .mem = (const unsigned char *)text, .size = (int64_t)strlen(text)};
    st = keep_key(r, i, key, sizeof key);
    if (st == BC_OK)
        st = bc_store_put(r->store, key, &src, NULL);
    if (st == BC_OK)
        bc_log_info("backup %s is kept (%s)", b->id, text);
    return st;
}

bc_status bc_retention_release(bc_retention *r, const char *which)
{
    size_t i;
    char key[1024];
    bc_status st = bc_retention_find(r, which, &i);
    if (st == BC_OK)
        st = keep_key(r, i, key, sizeof key);
    if (st == BC_OK) {
        const char *keys[] = {key};
        st = bc_store_delete(r->store, keys, 1);
    }
    if (st == BC_OK)
        bc_log_info("backup %s is no longer kept", r->backups[i].id);
    return st;
}

bc_status bc_retention_keep_status(bc_retention *r, const char *which, bc_keep_target *target)
{
    size_t i;
    bc_status st = bc_retention_find(r, which, &i);
    if (st == BC_OK)
        *target = r->backups[i].keep;
    return st;
}
