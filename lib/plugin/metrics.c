/* CNPG-i Metrics service: three gauges read from the ObjectStore's
 * status.serverRecoveryWindow[serverName], which backups and retention
 * keep up to date (no store access on a scrape, as upstream). */
#include <string.h>

#include "identity.pb-c.h"
#include "metrics.pb-c.h"
#include "plugin/plugin_internal.h"
#include "util/timefmt.h"

#define PREFIX "barman_cloud_cloudnative_pg_io_"

static const struct {
    const char *name, *help, *status_field;
} gauges[] = {
    {PREFIX "first_recoverability_point",
     "The first point of recoverability for the cluster as a unix timestamp",
     "firstRecoverabilityPoint"},
    {PREFIX "last_available_backup_timestamp", "The last available backup as a unix timestamp",
     "lastSuccessfulBackupTime"},
    {PREFIX "last_failed_backup_timestamp", "The last failed backup as a unix timestamp",
     "lastFailedBackupTime"},
};
#define NGAUGES (sizeof gauges / sizeof *gauges)

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    static const int rpcs[] = {CNPGI__METRICS__V1__METRICS_CAPABILITY__RPC__TYPE__TYPE_METRICS};
    (void)ctx;
    bc_plugin_reply_capabilities(call, &cnpgi__metrics__v1__metrics_capabilities_request__descriptor,
                                 req, len, &cnpgi__metrics__v1__metrics_capabilities_result__descriptor,
                                 "rpc", rpcs, 1);
}

static void define(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    /* the Cluster in the request changes nothing: same gauges for all */
    if (!bc_plugin_empty_request(call, &cnpgi__metrics__v1__define_metrics_request__descriptor,
                                 req, len))
        return;
    Cnpgi__Metrics__V1__MetricType gauge = CNPGI__METRICS__V1__METRIC_TYPE__INIT;
    gauge.type = CNPGI__METRICS__V1__METRIC_TYPE__TYPE__TYPE_GAUGE;
    Cnpgi__Metrics__V1__Metric metrics[NGAUGES], *list[NGAUGES];
    for (size_t i = 0; i < NGAUGES; i++) {
        metrics[i] = (Cnpgi__Metrics__V1__Metric)CNPGI__METRICS__V1__METRIC__INIT;
        metrics[i].fq_name = (char *)gauges[i].name;
        metrics[i].help = (char *)gauges[i].help;
        metrics[i].value_type = &gauge;
        list[i] = &metrics[i];
    }
    Cnpgi__Metrics__V1__DefineMetricsResult out = CNPGI__METRICS__V1__DEFINE_METRICS_RESULT__INIT;
    out.n_metrics = NGAUGES;
    out.metrics = list;
    bc_plugin_reply(call, &out.base);
}

static void collect(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    bc_plugin *p = ctx;
    Cnpgi__Metrics__V1__CollectMetricsRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__metrics__v1__collect_metrics_request__descriptor, req, len);
    if (!in)
        return;
    bc_cluster_config cfg;
    json_t *os;
    bc_status st = bc_plugin_cluster_store(p, in->cluster_definition, &cfg, &os);
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (st != BC_OK) {
        bc_plugin_fail(call, st);
        return;
    }
    /* no window yet for this server: every gauge is 0 */
    const json_t *window = json_object_get(json_object_get(json_object_get(os, "status"),
                                                           "serverRecoveryWindow"),
                                           cfg.server_name);
    Cnpgi__Metrics__V1__CollectMetric metrics[NGAUGES], *list[NGAUGES];
    for (size_t i = 0; i < NGAUGES; i++) {
        metrics[i] = (Cnpgi__Metrics__V1__CollectMetric)CNPGI__METRICS__V1__COLLECT_METRIC__INIT;
        metrics[i].fq_name = (char *)gauges[i].name;
        metrics[i].value = (double)bc_time_from_iso8601(
            json_string_value(json_object_get(window, gauges[i].status_field)));
        list[i] = &metrics[i];
    }
    Cnpgi__Metrics__V1__CollectMetricsResult out = CNPGI__METRICS__V1__COLLECT_METRICS_RESULT__INIT;
    out.n_metrics = NGAUGES;
    out.metrics = list;
    bc_plugin_reply(call, &out.base);
    bc_cluster_config_free(&cfg);
}

bc_status bc_plugin_add_metrics(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {
        {"GetCapabilities", get_capabilities}, {"Define", define}, {"Collect", collect},
        {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.metrics.v1.Metrics", methods,
                              CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_METRICS);
}
