/* Typed reads of JSON members, for configuration read from Kubernetes
 * objects: a wrong type is a usage error naming the field. */
#ifndef BC_UTIL_JSON_H
#define BC_UTIL_JSON_H

#include <jansson.h>

#include "util/status.h"

/* obj.member, NULL when obj is not an object or the member is absent or null. */
const json_t *bc_json_member(const json_t *obj, const char *member);
/* obj.member as a string (NULL when absent, null or empty); any other type
 * is BC_ERR_USAGE "<prefix><path>: expected a string". obj may be NULL or
 * not an object. */
bc_status bc_json_string(const json_t *obj, const char *member, const char *prefix,
                         const char *path, const char **out);
/* obj.member as an object (NULL when absent or null). */
bc_status bc_json_object(const json_t *obj, const char *member, const char *prefix,
                         const char *path, const json_t **out);
/* The string at a dot-separated path ("spec.cluster.name"), or NULL when
 * a step is missing or the value is not a string: for reading Kubernetes
 * objects where a missing field and a wrong type mean the same. */
const char *bc_json_at(const json_t *obj, const char *path);
/* obj.member as a boolean (0 when absent or null). */
bc_status bc_json_bool(const json_t *obj, const char *member, const char *prefix,
                       const char *path, int *out);

#endif
