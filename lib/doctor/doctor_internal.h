/* Shared inside doctor/: cluster.c, sidecar_store.c and bundle.c. */
#ifndef BC_DOCTOR_DOCTOR_INTERNAL_H
#define BC_DOCTOR_DOCTOR_INTERNAL_H

#include <jansson.h>

#include "doctor/report.h"
#include "kube/kube.h"

/* The store checks of the ObjectStore os (a barmancloud.cnpg.io/v1
 * object) for server, with its own settings and credentials, the way the
 * sidecar would run a tool: checks "store settings", then each of
 * bc-doctor store's prefixed "store ". */
void bc_doctor_sidecar_store(bc_doctor_report *r, bc_kube *k, const json_t *os,
                             const char *server);

/* 1 when the Pod's spec.<list> (containers, initContainers) has a
 * container of that name. */
int bc_doctor_pod_has_container(const json_t *pod, const char *list, const char *name);

#endif
