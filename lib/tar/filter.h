/* Which entries of a data directory or tablespace go into a base backup.
 * Internal to lib/tar; a pure function of names so it is testable without
 * a file system. */
#ifndef BC_TAR_FILTER_H
#define BC_TAR_FILTER_H

#include <stddef.h>

#include "tar/tar.h"

typedef enum bc_tar_rule {
    BC_TAR_RULE_KEEP = 0,   /* store it; recurse into a directory */
    BC_TAR_RULE_SKIP,       /* leave it out entirely */
    BC_TAR_RULE_EMPTY_DIR,  /* store the directory (a link to one as a
                               directory) but none of its contents */
    BC_TAR_RULE_WAL_DIR     /* as EMPTY_DIR, plus an empty archive_status/ */
} bc_tar_rule;

/* Decision for the entry `name` inside the directory `parent_rel` (path
 * relative to the walked root, "" for the root itself). `siblings` are all
 * names in that directory sorted with strcmp(), for the unlogged-relation
 * rule (a relation with an _init fork). */
bc_tar_rule bc_tar_filter_rule(const bc_tar_filter *filter, const char *parent_rel,
                               const char *name, const char *const *siblings,
                               size_t nsiblings);

#endif
