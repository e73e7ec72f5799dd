/* JSON Patch by comparing two documents (see jsonpatch.h). No library in
 * Debian writes RFC 6902 patches from C: jansson compares and copies, this
 * walks both documents and records the differences. */
#include "util/jsonpatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* path + "/" + the escaped key, malloc'd */
static char *child_path(const char *path, const char *key)
{
    size_t n = strlen(path), extra = 0;
    for (const char *k = key; *k; k++)
        extra += *k == '~' || *k == '/';
    char *out = malloc(n + strlen(key) + extra + 2);
    if (!out)
        return NULL;
    memcpy(out, path, n);
    char *o = out + n;
    *o++ = '/';
    for (const char *k = key; *k; k++) {
        if (*k == '~' || *k == '/') {
            *o++ = '~';
            *o++ = *k == '~' ? '0' : '1';
        } else {
            *o++ = *k;
        }
    }
    *o = '\0';
    return out;
}

static bc_status op(json_t *patch, const char *name, const char *path, const json_t *value)
{
    json_t *o = value ? json_pack("{s:s,s:s,s:O}", "op", name, "path", path, "value", value)
                      : json_pack("{s:s,s:s}", "op", name, "path", path);
    if (!o || json_array_append_new(patch, o) != 0)
        return bc_oom();
    return BC_OK;
}

static bc_status diff(const char *path, const json_t *a, const json_t *b, json_t *patch);

static bc_status diff_objects(const char *path, const json_t *a, const json_t *b, json_t *patch)
{
    const char *key;
    json_t *v;
    bc_status st = BC_OK;
    json_object_foreach((json_t *)a, key, v) {
        if (json_object_get(b, key))
            continue;
        char *p = child_path(path, key);
        st = p ? op(patch, "remove", p, NULL) : bc_oom();
        free(p);
        if (st != BC_OK)
            return st;
    }
    json_object_foreach((json_t *)b, key, v) {
        const json_t *old = json_object_get(a, key);
        char *p = child_path(path, key);
        if (!p)
            return bc_oom();
        st = old ? diff(p, old, v, patch) : op(patch, "add", p, v);
        free(p);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

static bc_status diff_arrays(const char *path, const json_t *a, const json_t *b, json_t *patch)
{
    size_t na = json_array_size(a), nb = json_array_size(b);
    int grown = nb > na;
    for (size_t i = 0; grown && i < na; i++)
        grown = json_equal(json_array_get(a, i), json_array_get(b, i));
    if (na != nb && !grown)
        return op(patch, "replace", path, b);
    bc_status st = BC_OK;
    char key[32];
    for (size_t i = 0; st == BC_OK && i < nb; i++) {
        snprintf(key, sizeof key, "%zu", i);
        char *p = child_path(path, key);
        if (!p)
            return bc_oom();
        st = i < na ? diff(p, json_array_get(a, i), json_array_get(b, i), patch)
                    : op(patch, "add", p, json_array_get(b, i));
        free(p);
    }
    return st;
}

static bc_status diff(const char *path, const json_t *a, const json_t *b, json_t *patch)
{
    if (json_equal(a, b))
        return BC_OK;
    if (json_is_object(a) && json_is_object(b))
        return diff_objects(path, a, b, patch);
    if (json_is_array(a) && json_is_array(b))
        return diff_arrays(path, a, b, patch);
    return op(patch, "replace", path, b);
}

bc_status bc_json_patch_diff(const json_t *from, const json_t *to, json_t *patch)
{
    return diff("", from, to, patch);
}
