/* bc-doctor's subjects: each runs its checks, in dependency order, into a
 * report (doctor/report.h). A failed check is a finding, not an error:
 * these return BC_OK unless a report could not be made at all. */
#ifndef BC_DOCTOR_DOCTOR_H
#define BC_DOCTOR_DOCTOR_H

#include "doctor/report.h"
#include "pg/pg.h"
#include "store/store.h"

typedef struct bc_doctor_store_opts {
    const char *server;         /* SERVER_NAME */
    int write_test;             /* put, read back, compare and delete a probe */
    long max_wal_age;           /* seconds before a newest WAL this old is a warning */
    long max_backup_age;        /* the same for the newest DONE backup */
} bc_doctor_store_opts;

/* The store at cfg->url, from its URL to what its archive holds: URL and
 * provider, credentials, name resolution, TCP, TLS, the server's clock,
 * authentication, bucket, prefix listing, optionally a write test, then
 * the WAL (timelines, newest segment and its age, gaps), the backups (last
 * DONE, last FAILED and its error) and the recovery window. */
bc_status bc_doctor_store(const bc_store_config *cfg, const bc_doctor_store_opts *o,
                          bc_doctor_report *r);

typedef struct bc_doctor_pg_opts {
    bc_pg_conn_params conn;
    /* --archive-test: switch WAL and wait, at most archive_wait seconds,
     * until the segment is in this store under server (NULL: no test). */
    const bc_store_config *archive_store;
    const char *server;
    int archive_wait;
    long max_archived_age;      /* seconds before the last archived WAL this old is a warning */
    long max_ready;             /* .ready files beyond this are a backlog (warning) */
} bc_doctor_pg_opts;

/* A PostgreSQL server's WAL archiving: the connection, wal_level,
 * archive_mode, archive_command (bc-wal-archive, barman-cloud or the
 * plugin), pg_stat_archiver (failures, the last archived WAL and its
 * age), the .ready backlog, a backup in progress; optionally a switch and wait for the segment
 * in the store, as pgbackrest check does. */
bc_status bc_doctor_postgres(const bc_doctor_pg_opts *o, bc_doctor_report *r);

typedef struct bc_doctor_cluster_opts {
    const char *name;           /* the Cluster */
    const char *namespace_;     /* NULL: the kubeconfig's or the service account's */
} bc_doctor_cluster_opts;

/* A CloudNativePG Cluster's use of the plugin: the API server, the
 * Cluster, its plugin entry (a near miss gets a "did you mean"),
 * isWALArchiver, the barmanObjectName/serverName parameters, the
 * ObjectStore (exists, destinationPath, no configuration.serverName),
 * every Secret and key it names (keys only, never values), the Role and
 * RoleBinding, the plugin's Service and its TLS Secrets, the
 * plugin-barman-cloud sidecar in every Pod, the latest Backup, the
 * ObjectStore's status; then bc-doctor store run as the sidecar would run
 * it, with the ObjectStore's settings and credentials (its checks
 * prefixed "store "). */
bc_status bc_doctor_cluster(const bc_doctor_cluster_opts *o, bc_doctor_report *r);

typedef struct bc_doctor_bundle_opts {
    const char *name;           /* the Cluster */
    const char *namespace_;     /* NULL: as for bc_doctor_cluster */
    const char *output;         /* FILE.tar.gz */
    long log_lines;             /* the tail of each log; 0: 500 */
} bc_doctor_bundle_opts;

/* A diagnostic bundle of the Cluster into o->output (a tar.gz renamed into
 * place once complete): the Cluster, the ObjectStores it names, its
 * Backups, ScheduledBackups, Pods and their events, the plugin's Service
 * and Deployment, the sidecar and plugin log tails, the cluster report as
 * JSON and the versions. Secrets are never fetched; every object, log and
 * report is redacted (doctor/redact.h) and REDACTIONS.txt lists what was.
 * What could not be read is a warning in r. */
bc_status bc_doctor_bundle(const bc_doctor_bundle_opts *o, bc_doctor_report *r);

#endif
