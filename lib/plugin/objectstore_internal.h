/* Shared by objectstore.c (the tools' options) and objectstore_store.c
 * (provider, credentials, CA bundle). */
#ifndef BC_PLUGIN_OBJECTSTORE_INTERNAL_H
#define BC_PLUGIN_OBJECTSTORE_INTERNAL_H

#include "plugin/objectstore.h"
#include "util/json.h"

/* Messages name fields from the ObjectStore's root. */
#define BC_OS_FIELD "spec.configuration."


/* The options every tool takes to reach the store (--cloud-provider,
 * --credential, --endpoint-url, --ca-bundle, as the option table spells
 * them) into argv, and the credentials into env. */
bc_status bc_os_store_args(const bc_objectstore_env *os, bc_strv *argv, bc_strv *env);

#endif
