/* CNPG-i Identity service: who the plugin is, what it serves, readiness. */
#include "identity.pb-c.h"
#include "plugin/plugin_internal.h"

static void get_metadata(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    if (!bc_plugin_empty_request(call, &cnpgi__identity__v1__get_plugin_metadata_request__descriptor,
                                 req, len))
        return;
    Cnpgi__Identity__V1__GetPluginMetadataResponse out =
        CNPGI__IDENTITY__V1__GET_PLUGIN_METADATA_RESPONSE__INIT;
    out.name = BC_PLUGIN_NAME;
    out.version = BC_VERSION;
    out.display_name = "Barman Cloud (bc)";
    out.description = "Backups and WAL archiving to object stores, barman-cloud compatible, "
                      "by the bc tools";
    out.project_url = "https://github.com/cloudnative-pg/plugin-barman-cloud";
    out.repository_url = "https://github.com/cloudnative-pg/plugin-barman-cloud";
    out.license = "Apache-2.0";
    out.license_url = "https://www.apache.org/licenses/LICENSE-2.0";
    out.maturity = "alpha";
    out.vendor = "bc";
    bc_plugin_reply(call, &out.base);
}

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    const bc_plugin *p = ctx;
    if (!bc_plugin_empty_request(
            call, &cnpgi__identity__v1__get_plugin_capabilities_request__descriptor, req, len))
        return;
    /* Only the services this process answers: the operator would call the
     * others and get UNIMPLEMENTED. */
    Cnpgi__Identity__V1__PluginCapability__Service services[8];
    Cnpgi__Identity__V1__PluginCapability caps[8];
    Cnpgi__Identity__V1__PluginCapability *list[8];
    size_t n = 0;
    for (size_t i = 0; i < p->nservices && n < 8; i++, n++) {
        services[n] = (Cnpgi__Identity__V1__PluginCapability__Service)
            CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__INIT;
        services[n].type = (Cnpgi__Identity__V1__PluginCapability__Service__Type)p->services[i];
        caps[n] = (Cnpgi__Identity__V1__PluginCapability)CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__INIT;
        caps[n].type_case = CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__TYPE_SERVICE;
        caps[n].service = &services[n];
        list[n] = &caps[n];
    }
    Cnpgi__Identity__V1__GetPluginCapabilitiesResponse out =
        CNPGI__IDENTITY__V1__GET_PLUGIN_CAPABILITIES_RESPONSE__INIT;
    out.n_capabilities = n;
    out.capabilities = list;
    bc_plugin_reply(call, &out.base);
}

static void probe(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    if (!bc_plugin_empty_request(call, &cnpgi__identity__v1__probe_request__descriptor, req, len))
        return;
    Cnpgi__Identity__V1__ProbeResponse out = CNPGI__IDENTITY__V1__PROBE_RESPONSE__INIT;
    out.ready = 1;
    bc_plugin_reply(call, &out.base);
}

bc_status bc_plugin_add_identity(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {
        {"GetPluginMetadata", get_metadata}, {"GetPluginCapabilities", get_capabilities},
        {"Probe", probe}, {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.identity.v1.Identity", methods, 0);
}
