/* The plugin's sidecar as the operator side injects it into CloudNativePG's
 * instance Pods and recovery Jobs, built the way upstream's plugin builds
 * it so that a Pod looks the same whichever of the two injected it:
 *
 *   - a native sidecar: an init container "plugin-barman-cloud" with
 *     restartPolicy Always (one of that name already there is replaced);
 *   - the image SIDECAR_IMAGE, the Cluster's imagePullPolicy, args
 *     [mode, extra args...] and no command (the image's entrypoint);
 *   - env: the main container's, then NAMESPACE, CLUSTER_NAME,
 *     SPOOL_DIRECTORY, CUSTOM_CNPG_GROUP, CUSTOM_CNPG_VERSION, then the
 *     ObjectStores' instanceSidecarConfiguration.env; a name given twice
 *     keeps its first value;
 *   - volume mounts: /barman-certificates when an ObjectStore has an
 *     endpointCA, then every mount of the main container;
 *   - the Pod's "plugins" emptyDir (mounted at /plugins on the main
 *     container) when the Pod has none, and the projected volume
 *     "barman-certificates" with each endpointCA at STORE/barman-ca.crt
 *     (removed when no store has one);
 *   - a locked-down security context and a startup probe running
 *     "/manager healthcheck unix" every second, 30 times at most. */
#ifndef BC_PLUGIN_SIDECAR_H
#define BC_PLUGIN_SIDECAR_H

#include <jansson.h>

#include "util/status.h"

#define BC_SIDECAR_NAME "plugin-barman-cloud"
#define BC_SIDECAR_CERTS_VOLUME "barman-certificates"
#define BC_SIDECAR_CERTS_PATH "/barman-certificates"
#define BC_SIDECAR_CA_FILE "barman-ca.crt"

typedef struct bc_sidecar_spec {
    const char *image;
    const char *mode;            /* "instance" or "restore" */
    const char *main_container;  /* "postgres", or the Job's role */
    const json_t *cluster;       /* namespace, name, apiVersion, imagePullPolicy */
    const json_t *env;           /* EnvVar array from the ObjectStores, or NULL */
    const json_t *certificates;  /* VolumeProjection array, or NULL */
    const json_t *resources;     /* ResourceRequirements, or NULL */
    const json_t *extra_args;    /* string array, or NULL */
} bc_sidecar_spec;

/* Injects the sidecar into pod_spec (a PodSpec, changed in place).
 * BC_ERR_USAGE "main container not found" when pod_spec has no container
 * of that name. */
bc_status bc_sidecar_inject(json_t *pod_spec, const bc_sidecar_spec *s);

#endif
