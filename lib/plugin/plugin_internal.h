/* Shared by the plugin's services: the Cluster's plugin configuration, the
 * ObjectStore it names, and running a tool on behalf of a gRPC call. */
#ifndef BC_PLUGIN_INTERNAL_H
#define BC_PLUGIN_INTERNAL_H

#include <protobuf-c/protobuf-c.h>

#include "plugin/child.h"
#include "plugin/objectstore.h"
#include "plugin/plugin.h"

/* The Cluster's view of this plugin (upstream's PluginConfiguration). */
typedef struct bc_cluster_config {
    json_t *cluster;             /* the whole Cluster (owned) */
    const char *name, *namespace, *uid, *current_primary;
    const char *object_name;     /* plugins[].parameters.barmanObjectName */
    const char *listed_object;   /* the same whether or not the entry is enabled
                                    (the operator side reads it so, as upstream) */
    const json_t *listed_params; /* that entry's parameters, NULL when it has none */
    int listed;                  /* the plugin has an entry in spec.plugins */
    const char *server_name;     /* parameters.serverName, default the Cluster name */
    int recovery_ours;           /* bootstrap.recovery.source's plugin is this one */
    const char *recovery_object; /* bootstrap.recovery.source's plugin parameters */
    const char *recovery_server;
    const char *replica_object;  /* replica.source's plugin parameters */
    const char *replica_server;
    int enabled;                 /* the plugin is listed and enabled */
    int skip_empty_check;        /* annotation cnpg.io/skipEmptyWalArchiveCheck: enabled */
    int is_replica;              /* a replica cluster (CloudNativePG's IsReplica) */
    int promoting;               /* replica.promotionToken not yet applied */
    int source_streams;          /* replica.source has connectionParameters */
} bc_cluster_config;

/* The Cluster a request carries and the ObjectStore of its own store
 * (barmanObjectName; *os is borrowed from the cache). On an error cfg is
 * left empty, nothing to free. */
bc_status bc_plugin_cluster_store(bc_plugin *p, ProtobufCBinaryData cluster,
                                  bc_cluster_config *cfg, json_t **os);
/* Parses a Cluster given as JSON bytes (what every request carries). */
bc_status bc_cluster_config_parse(const void *json, size_t len, bc_cluster_config *cfg);
/* The same from a parsed Cluster (a reference is taken). */
bc_status bc_cluster_config_from(json_t *cluster, bc_cluster_config *cfg);
void bc_cluster_config_free(bc_cluster_config *cfg);

/* The backup a recovery starts from, in `bc-ls --format json`'s
 * backups_list (oldest first): the one recoveryTarget.backupID names, else
 * the last DONE backup that ended by targetTime and targetLSN, else NULL. */
const json_t *bc_plugin_choose_backup(const json_t *list, const json_t *target);

/* The ObjectStore NAME in namespace ns (borrowed, cached). */
bc_status bc_plugin_object_store(bc_plugin *p, const char *ns, const char *name, json_t **out);

/* argv and environment for tool against ObjectStore os: argv[0], the
 * store options, --log-format json; the caller appends the rest. spool
 * (a subdirectory of SPOOL_DIRECTORY) enables wal.maxParallel for the WAL
 * tools; NULL leaves it unused. */
bc_status bc_plugin_tool_command(bc_plugin *p, const json_t *os, bc_tool tool,
                                 const char *spool, bc_strv *argv, bc_strv *env);

/* Runs argv (its argv[0] names the tool) for call: the call's cancellation
 * stops the child; done runs with the result (the call still to be
 * replied to). */
typedef void (*bc_plugin_tool_done)(void *ctx, bc_grpc_call *call, const bc_child_result *r);
bc_status bc_plugin_run(bc_grpc_call *call, bc_strv *argv, bc_strv *env,
                        bc_plugin_tool_done done, void *ctx);
/* bc_plugin_tool_command, then words, the ObjectStore's URL, server and
 * tail (NULL-terminated lists, either may be NULL), run by bc_plugin_run. */
bc_status bc_plugin_run_tool(bc_plugin *p, bc_grpc_call *call, const json_t *os, bc_tool tool,
                             const char *const *words, const char *server,
                             const char *const *tail, bc_plugin_tool_done done, void *ctx);

/* A service's methods, for bc_plugin_register (a NULL name ends them). */
typedef struct bc_plugin_method {
    const char *name;
    bc_grpc_handler fn;
} bc_plugin_method;

/* Serves "/SERVICE/NAME" for each method, with p as context, and announces
 * service_type (identity.proto's PluginCapability.Service.Type; 0: not
 * announced) in GetPluginCapabilities. */
bc_status bc_plugin_register(bc_plugin *p, bc_grpc_server *s, const char *service,
                             const bc_plugin_method *methods, int service_type);
/* For requests without fields (GetCapabilities): checks it decodes; 0
 * once the call has been failed. */
int bc_plugin_empty_request(bc_grpc_call *call, const ProtobufCMessageDescriptor *type,
                            const uint8_t *req, size_t len);

/* Answers a GetCapabilities call whose request (of type request) has no
 * fields: its result message (of type result) holds in its repeated field
 * "capabilities" one capability per types[0..n), n <= 8, each with its
 * oneof member `member` ("rpc", "service") set to a message whose enum
 * field "type" is types[i]. The services' generated types differ; their
 * capability lists are built alike, through the descriptors. */
void bc_plugin_reply_capabilities(bc_grpc_call *call, const ProtobufCMessageDescriptor *request,
                                  const uint8_t *req, size_t len,
                                  const ProtobufCMessageDescriptor *result, const char *member,
                                  const int *types, size_t n);

/* Replies INVALID_ARGUMENT/NOT_FOUND/... for a failed setup step. */
void bc_plugin_fail(bc_grpc_call *call, bc_status st);
/* Decodes a request or fails the call (NULL). */
ProtobufCMessage *bc_plugin_decode(bc_grpc_call *call, const ProtobufCMessageDescriptor *type,
                                   const uint8_t *req, size_t len);
/* Packs msg as the call's reply. */
void bc_plugin_reply(bc_grpc_call *call, const ProtobufCMessage *msg);

/* Merges status.serverRecoveryWindow[server] fields (an object of RFC 3339
 * strings) into the ObjectStore's status subresource. */
bc_status bc_plugin_update_recovery_window(bc_plugin *p, const char *ns, const char *object,
                                           const char *server, json_t *fields);

#endif
