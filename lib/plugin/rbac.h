/* The Role and RoleBinding "<cluster>-barman-cloud" the operator side keeps
 * for each Cluster, so that the instances (running as the Cluster's service
 * account) may read their ObjectStores and the Secrets those name, and write
 * the stores' status. As upstream, with one difference: a rule whose list
 * of names would be empty is left out, where upstream writes it without
 * resourceNames and so grants every object of that resource in the
 * namespace (every Secret, for a store that authenticates by workload
 * identity). */
#ifndef BC_PLUGIN_RBAC_H
#define BC_PLUGIN_RBAC_H

#include <jansson.h>

#include "kube/kube.h"
#include "util/status.h"

#define BC_RBAC_CLUSTER_LABEL "barmancloud.cnpg.io/cluster"

/* The Role's rules for these ObjectStores (an array of ObjectStore
 * objects): get/watch/list of the stores, update of their status, and
 * get/watch/list of the credential Secrets they name (not endpointCA: the
 * kubelet mounts that one). Names are sorted, each once. */
json_t *bc_rbac_role_rules(const json_t *stores);

/* The names the Role's objectstores rule lists (a new array). */
json_t *bc_rbac_role_store_names(const json_t *role);

/* Creates or updates the Cluster's Role (rules replaced when they differ,
 * our labels merged over the others) and RoleBinding (the Cluster's
 * service account added to the subjects, labels merged; a RoleBinding
 * that points at another role is BC_ERR_CONFLICT: it cannot be changed,
 * only deleted). Objects this creates are owned by the Cluster (a
 * controller reference: they go when it goes). */
bc_status bc_rbac_ensure(bc_kube *k, const json_t *cluster, const json_t *stores);

/* Replaces the rules of an existing Role (path) with those for stores;
 * a Role gone is not an error. */
bc_status bc_rbac_set_rules(bc_kube *k, const char *role_path, const json_t *stores);

#endif
