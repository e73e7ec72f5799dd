/* Shared by objectstore.c (the tools' options) and objectstore_store.c
 * (provider, credentials, CA bundle). */
#ifndef BC_PLUGIN_OBJECTSTORE_INTERNAL_H
#define BC_PLUGIN_OBJECTSTORE_INTERNAL_H

#include "plugin/objectstore.h"

/* Messages name fields from the ObjectStore's root. */
#define BC_OS_FIELD "spec.configuration."

/* obj.member as a string (NULL when absent, null or empty); any other type
 * is BC_ERR_USAGE naming `path`. obj may be NULL. */
bc_status bc_os_string(const json_t *obj, const char *member, const char *path,
                       const char **out);
/* obj.member as an object (NULL when absent or null). */
bc_status bc_os_object(const json_t *obj, const char *member, const char *path,
                       const json_t **out);
/* obj.member as a boolean (0 when absent or null). */
bc_status bc_os_bool(const json_t *obj, const char *member, const char *path, int *out);

/* Appends "option" "value". */
bc_status bc_os_add_pair(bc_strv *argv, const char *option, const char *value);

/* The options every tool takes to reach the store (--cloud-provider,
 * --credential, --endpoint-url, --ca-bundle) into argv, and the
 * credentials into env. */
bc_status bc_os_store_args(const bc_objectstore_env *os, bc_strv *argv, bc_strv *env);

#endif
