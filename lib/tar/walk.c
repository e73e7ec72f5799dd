/* Directory walk of bc_tar_add_tree(): entries in name order, the base
 * backup filter applied, files that vanish mid-walk skipped. */
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tar/filter.h"
#include "tar/tar_internal.h"
#include "util/log.h"

/* Walk state: the file-system path and the archive name grow and shrink
 * together as the walk descends. */
typedef struct walk {
    bc_tar_writer *w;
    const bc_tar_filter *filter;
    char path[PATH_MAX];
    char name[PATH_MAX];
    size_t rel_offset; /* where the path relative to the root starts in name */
} walk;

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The sorted entries of a directory, "." and ".." left out; *names is NULL
 * with BC_OK when the directory vanished. */
static bc_status list_dir(bc_tar_writer *w, const char *path, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT) {
            w->stats.vanished++;
            return BC_OK;
        }
        return bc_error(BC_ERR_IO, "opening directory %s: %s", path, strerror(errno));
    }
    char **list = NULL;
    size_t n = 0, cap = 0;
    bc_status st = BC_OK;
    struct dirent *de;
    for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **grown = realloc(list, ncap * sizeof *grown);
            if (!grown) {
                st = bc_error(BC_ERR_INTERNAL, "tar: out of memory listing %s", path);
                break;
            }
            list = grown;
            cap = ncap;
        }
        if (!(list[n] = strdup(de->d_name))) {
            st = bc_error(BC_ERR_INTERNAL, "tar: out of memory listing %s", path);
            break;
        }
        n++;
    }
    if (st == BC_OK && errno != 0)
        st = bc_error(BC_ERR_IO, "reading directory %s: %s", path, strerror(errno));
    closedir(d);
    if (st != BC_OK) {
        free_names(list, n);
        return st;
    }
    if (n > 1)
        qsort(list, n, sizeof *list, compare_names);
    *names = list;
    *count = n;
    return BC_OK;
}

/* Appends "/<part>" (or "<part>" to an empty string) to buf; 0 if too long. */
static int push(char *buf, size_t len, const char *part)
{
    int n = snprintf(buf + len, PATH_MAX - len, "%s%s", len ? "/" : "", part);
    return n >= 0 && (size_t)n < PATH_MAX - len;
}

static bc_status walk_dir(walk *wk);

/* One directory entry: wk->path and wk->name already name it. */
static bc_status walk_entry(walk *wk, bc_tar_rule rule)
{
    bc_tar_writer *w = wk->w;
    struct stat st;
    if (lstat(wk->path, &st) != 0) {
        if (errno == ENOENT) {
            w->stats.vanished++;
            return BC_OK;
        }
        return bc_error(BC_ERR_IO, "stat %s: %s", wk->path, strerror(errno));
    }
    int dir_like = S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode);
    if (dir_like && (rule == BC_TAR_RULE_EMPTY_DIR || rule == BC_TAR_RULE_WAL_DIR)) {
        /* PG stores these as directories even when they are links (a
         * pg_wal or pg_stat_tmp elsewhere), so the restore gets a real one */
        if (S_ISLNK(st.st_mode))
            st.st_mode = S_IFDIR | 0700;
        bc_status s = bc_tar_put_header(w, wk->name, AE_IFDIR, &st, 0, NULL);
        if (s == BC_OK && rule == BC_TAR_RULE_WAL_DIR) {
            size_t len = strlen(wk->name);
            if (!push(wk->name, len, "archive_status"))
                return bc_error(BC_ERR_USAGE, "tar: name too long under %s", wk->path);
            s = bc_tar_put_header(w, wk->name, AE_IFDIR, &st, 0, NULL);
            wk->name[len] = '\0';
        }
        return s;
    }
    if (S_ISLNK(st.st_mode))
        return bc_tar_put_link(w, wk->path, wk->name, &st, 1);
    if (S_ISREG(st.st_mode))
        return bc_tar_put_regular(w, wk->path, wk->name, &st, 1);
    if (S_ISDIR(st.st_mode)) {
        bc_status s = bc_tar_put_header(w, wk->name, AE_IFDIR, &st, 0, NULL);
        return s == BC_OK ? walk_dir(wk) : s;
    }
    bc_log_warning("skipping special file %s", wk->path);
    return BC_OK;
}

static bc_status walk_dir(walk *wk)
{
    char **names;
    size_t count;
    bc_status st = list_dir(wk->w, wk->path, &names, &count);
    if (st != BC_OK || !names)
        return st;
    size_t path_len = strlen(wk->path), name_len = strlen(wk->name);
    /* path of this directory relative to the root, for the filter */
    const char *rel = wk->name + wk->rel_offset;
    if (*rel == '/')
        rel++;
    char parent_rel[PATH_MAX];
    snprintf(parent_rel, sizeof parent_rel, "%s", rel);

    for (size_t i = 0; i < count && st == BC_OK; i++) {
        bc_tar_rule rule = bc_tar_filter_rule(wk->filter, parent_rel, names[i],
                                              (const char *const *)names, count);
        if (rule == BC_TAR_RULE_SKIP)
            continue;
        if (!push(wk->path, path_len, names[i]) || !push(wk->name, name_len, names[i]))
            st = bc_error(BC_ERR_USAGE, "tar: path too long: %s/%s", wk->path, names[i]);
        else
            st = walk_entry(wk, rule);
        wk->path[path_len] = '\0';
        wk->name[name_len] = '\0';
    }
    free_names(names, count);
    return st;
}

bc_status bc_tar_add_tree(bc_tar_writer *w, const char *src_dir, const char *prefix,
                          const bc_tar_filter *filter)
{
    bc_status st = bc_tar_check_usable(w);
    if (st != BC_OK)
        return st;
    static const bc_tar_filter no_filter = {.mode = BC_TAR_FILTER_NONE};
    walk *wk = calloc(1, sizeof *wk);
    if (!wk)
        return bc_error(BC_ERR_INTERNAL, "tar: out of memory");
    wk->w = w;
    wk->filter = filter ? filter : &no_filter;
    if (!prefix)
        prefix = "";
    if (snprintf(wk->path, PATH_MAX, "%s", src_dir) >= PATH_MAX ||
        snprintf(wk->name, PATH_MAX, "%s", prefix) >= PATH_MAX) {
        free(wk);
        return bc_error(BC_ERR_USAGE, "tar: path too long: %s", src_dir);
    }
    wk->rel_offset = strlen(wk->name);

    struct stat root;
    if (stat(src_dir, &root) != 0) /* followed: PGDATA may be a link */
        st = bc_error(BC_ERR_IO, "stat %s: %s", src_dir, strerror(errno));
    else if (!S_ISDIR(root.st_mode))
        st = bc_error(BC_ERR_IO, "%s: not a directory", src_dir);
    else if (wk->filter->mode != BC_TAR_FILTER_TABLESPACE)
        st = bc_tar_put_header(w, prefix[0] ? prefix : ".", AE_IFDIR, &root, 0, NULL);
    if (st == BC_OK)
        st = walk_dir(wk);
    free(wk);
    return st;
}

