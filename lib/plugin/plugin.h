/* bc-plugin: the CNPG-i services, each answering through lib/grpc. */
#ifndef BC_PLUGIN_PLUGIN_H
#define BC_PLUGIN_PLUGIN_H

#include "grpc/server.h"

typedef struct bc_plugin {
    /* Capability service types (identity.proto's PluginCapability.Service.Type)
     * this process answers, reported by GetPluginCapabilities. */
    int services[8];
    size_t nservices;
} bc_plugin;

/* Identity: GetPluginMetadata, GetPluginCapabilities, Probe. */
bc_status bc_plugin_add_identity(bc_plugin *p, bc_grpc_server *s);

#endif
