#include "util/json.h"

#include <stdio.h>
#include <string.h>

static bc_status wrong_type(const char *prefix, const char *path, const char *want)
{
    return bc_error(BC_ERR_USAGE, "%s%s: expected %s", prefix ? prefix : "", path, want);
}

const json_t *bc_json_member(const json_t *obj, const char *member)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, member) : NULL;
    return json_is_null(v) ? NULL : v;
}

const char *bc_json_at(const json_t *obj, const char *path)
{
    char key[128];
    const json_t *v = obj;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        v = json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return json_string_value(v);
}

bc_status bc_json_string(const json_t *obj, const char *member, const char *prefix,
                         const char *path, const char **out)
{
    const json_t *v = bc_json_member(obj, member);
    *out = NULL;
    if (v && !json_is_string(v))
        return wrong_type(prefix, path, "a string");
    if (v && *json_string_value(v))
        *out = json_string_value(v);
    return BC_OK;
}

bc_status bc_json_object(const json_t *obj, const char *member, const char *prefix,
                         const char *path, const json_t **out)
{
    const json_t *v = bc_json_member(obj, member);
    *out = v;
    return v && !json_is_object(v) ? wrong_type(prefix, path, "an object") : BC_OK;
}

bc_status bc_json_bool(const json_t *obj, const char *member, const char *prefix,
                       const char *path, int *out)
{
    const json_t *v = bc_json_member(obj, member);
    *out = json_is_true(v);
    return v && !json_is_boolean(v) ? wrong_type(prefix, path, "true or false") : BC_OK;
}
