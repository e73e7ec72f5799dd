/* A barmancloud.cnpg.io/v1 ObjectStore's .spec.configuration turned into
 * the command line and environment of one bc tool.
 *
 * Credentials go only into the environment (or into files under
 * private_dir, named by the environment); the command line carries
 * nothing secret. The positional arguments (URL, server name, WAL names,
 * backup id, ...) and the tool's own choices (--user, --name, -R, a bc-ls
 * subcommand, a retention policy) are the caller's to add. */
#ifndef BC_PLUGIN_OBJECTSTORE_H
#define BC_PLUGIN_OBJECTSTORE_H

#include <jansson.h>
#include <stddef.h>

#include "util/status.h"
#include "util/strv.h"

typedef enum bc_tool {
    BC_TOOL_WAL_ARCHIVE,
    BC_TOOL_WAL_RESTORE,
    BC_TOOL_BACKUP,
    BC_TOOL_RESTORE,
    BC_TOOL_RETENTION,
    BC_TOOL_LS,
    BC_TOOL_VERIFY
} bc_tool;

/* Reads one key of a Secret in the ObjectStore's namespace into *value
 * (malloc'd, NUL-terminated, *len bytes before the NUL). On failure it
 * returns BC_ERR_NOTFOUND for a missing Secret or key, or another status
 * (BC_ERR_NET, BC_ERR_AUTH, ...), having set the message. */
typedef bc_status (*bc_secret_reader)(void *ctx, const char *secret_name, const char *key,
                                      char **value, size_t *len);

/* The reader of Secrets through the Kubernetes API, for ctx a
 * bc_kube_secrets: how the sidecar and bc-doctor read them. */
struct bc_kube;
typedef struct bc_kube_secrets {
    struct bc_kube *kube;
    const char *ns;         /* the ObjectStore's namespace */
} bc_kube_secrets;
bc_status bc_kube_secret_reader(void *ctx, const char *secret_name, const char *key,
                                char **value, size_t *len);

typedef struct bc_objectstore_env {
    const json_t *configuration;  /* the ObjectStore's .spec.configuration */
    bc_secret_reader read_secret;
    void *secret_ctx;
    /* An existing directory of mode 0700, one per ObjectStore: the endpoint
     * CA bundle and the Google credentials file are written there, 0600. */
    const char *private_dir;
    /* Where bc-wal-archive --max-parallel and bc-wal-restore --prefetch keep
     * their files; NULL leaves wal.maxParallel unused (one WAL a call, as
     * upstream does when restoring for pg_rewind). */
    const char *spool_dir;
    /* Where the operator side's projected volume puts this store's
     * endpointCA (/barman-certificates/STORE/barman-ca.crt): used when the
     * file exists, so the Secret need not be readable (neither operator
     * grants it); NULL or a missing file: the Secret is read. */
    const char *mounted_ca;
} bc_objectstore_env;

/* Appends to argv the store options of `tool` (--cloud-provider,
 * --credential, --endpoint-url, --ca-bundle, then the tool's compression,
 * encryption, tags, parallelism, then the configuration's additional
 * command arguments minus those whose option is already in argv) and sets
 * in env the credentials (AWS_*, AZURE_STORAGE_*, GOOGLE_APPLICATION_
 * CREDENTIALS), replacing same-named variables the caller put there.
 *
 * A configuration that cannot work, or a Secret or key it names that does
 * not exist, is BC_ERR_USAGE with a one-line message naming the field
 * (spec.configuration.s3Credentials.secretAccessKey: ...); other failures
 * of the secret reader keep their status. On failure argv and env may hold
 * part of the additions: the caller discards them. */
bc_status bc_objectstore_tool_args(const bc_objectstore_env *os, bc_tool tool, bc_strv *argv,
                                   bc_strv *env);

/* The configuration's destinationPath (the tools' URL), or NULL. */
const char *bc_objectstore_destination(const json_t *configuration);

#endif
