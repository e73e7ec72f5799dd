/* bc-plugin: the CNPG-i services, each answering through lib/grpc, each
 * doing its work by running one of the bc tools (plugin/child.h). */
#ifndef BC_PLUGIN_PLUGIN_H
#define BC_PLUGIN_PLUGIN_H

#include <jansson.h>
#include <limits.h>
#include <time.h>

#include "grpc/server.h"
#include "kube/kube.h"
#include "util/strv.h"

#define BC_PLUGIN_NAME "barman-cloud.cloudnative-pg.io"

/* What bc-plugin instance knows of its pod (environment, as upstream). */
typedef struct bc_plugin_settings {
    const char *namespace;    /* NAMESPACE */
    const char *cluster_name; /* CLUSTER_NAME */
    const char *pod_name;     /* POD_NAME */
    const char *pgdata;       /* PGDATA, default /var/lib/postgresql/data/pgdata */
    const char *spool_dir;    /* SPOOL_DIRECTORY, default /controller/wal-restore-spool */
    const char *cnpg_group;   /* CUSTOM_CNPG_GROUP, default postgresql.cnpg.io */
    const char *cnpg_version; /* CUSTOM_CNPG_VERSION, default v1 */
} bc_plugin_settings;

typedef struct bc_plugin {
    bc_plugin_settings settings;
    bc_kube *kube;
    /* 0700 directory for CA bundles and credential files handed to tools */
    char private_dir[PATH_MAX];
    /* the environment every tool starts from (PATH, PG*, HOME, TZ...) */
    bc_strv base_env;
    /* Capability service types (identity.proto's PluginCapability.Service.Type)
     * this process answers, reported by GetPluginCapabilities. */
    int services[8];
    size_t nservices;
    /* where the operator side mounts the endpoint CAs (BC_CERTIFICATES_DIR,
     * default /barman-certificates) */
    const char *certificates_dir;
    /* operator mode: the image of the sidecar it injects (SIDECAR_IMAGE) */
    const char *sidecar_image;
    /* operator mode: ObjectStore generations seen by the Role re-sync */
    json_t *store_generations;
    time_t next_store_sync;
    int role_sync_seconds;    /* BC_ROLE_SYNC_SECONDS, default 30 */
    /* retention scheduling (instance mode) */
    time_t next_maintenance;
    int maintenance_running;
} bc_plugin;

/* Reads the settings from the environment and prepares the private
 * directory, the base environment and the Kubernetes client. */
bc_status bc_plugin_init(bc_plugin *p);
void bc_plugin_free(bc_plugin *p);

/* The operator side's state: the Kubernetes client and SIDECAR_IMAGE (a
 * missing one is BC_ERR_USAGE); no spool or private directory. */
bc_status bc_plugin_init_operator(bc_plugin *p);

/* Identity: GetPluginMetadata, GetPluginCapabilities, Probe. */
bc_status bc_plugin_add_identity(bc_plugin *p, bc_grpc_server *s);
/* WAL: Archive, Restore, Status, SetFirstRequired. */
bc_status bc_plugin_add_wal(bc_plugin *p, bc_grpc_server *s);
/* Backup: Backup through bc-backup. */
bc_status bc_plugin_add_backup(bc_plugin *p, bc_grpc_server *s);
/* Metrics: the three barman_cloud_cloudnative_pg_io_* gauges. */
bc_status bc_plugin_add_metrics(bc_plugin *p, bc_grpc_server *s);
/* RestoreJobHooks: Restore through bc-restore (restore mode). */
bc_status bc_plugin_add_restore_job(bc_plugin *p, bc_grpc_server *s);
/* Operator side: OperatorLifecycle (sidecar injection into Pods and
 * recovery Jobs). */
bc_status bc_plugin_add_lifecycle(bc_plugin *p, bc_grpc_server *s);
/* Operator side: ReconcilerHooks (the Cluster's Role and RoleBinding), and
 * the periodic re-sync of those Roles with their ObjectStores. */
bc_status bc_plugin_add_reconciler(bc_plugin *p, bc_grpc_server *s);
/* Re-syncs the rules of every Role this plugin made with the ObjectStores
 * they name, for the stores whose generation changed since the last call
 * (all of them on the first). */
void bc_plugin_sync_roles(bc_plugin *p);
/* Operator side: the Operator service (Cluster validation). */
bc_status bc_plugin_add_validation(bc_plugin *p, bc_grpc_server *s);
/* Operator side: announces INSTANCE_SIDECAR_INJECTION (no methods): the
 * instance manager loads the sidecar's services only for plugins whose
 * operator side says so. */
bc_status bc_plugin_add_sidecar_injection(bc_plugin *p, bc_grpc_server *s);

/* Retention on the current primary, every retentionPolicyIntervalSeconds,
 * from the server's tick. */
void bc_plugin_schedule_maintenance(bc_plugin *p, bc_grpc_server *s);

#endif
