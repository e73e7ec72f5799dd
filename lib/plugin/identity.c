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
    /* Only the services this process answers: the operator would call the
     * others and get UNIMPLEMENTED. */
    bc_plugin_reply_capabilities(
        call, &cnpgi__identity__v1__get_plugin_capabilities_request__descriptor, req, len,
        &cnpgi__identity__v1__get_plugin_capabilities_response__descriptor, "service", p->services,
        p->nservices);
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
