/* The operator side's life (see operator.h): configuration, health probes,
 * the Lease, then the gRPC server and, on its tick, the Lease renewal and
 * the ObjectStore re-sync of the Roles. */
#include "plugin/operator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/health.h"
#include "plugin/leader.h"
#include "plugin/plugin.h"
#include "util/log.h"

typedef struct op_state {
    bc_plugin *p;
    bc_leader *leader;  /* NULL without --leader-elect */
    volatile sig_atomic_t *stop;
    int lost;
} op_state;

static void on_tick(void *ctx)
{
    op_state *o = ctx;
    if (o->leader && !o->lost && bc_leader_renew(o->leader) != 0) {
        /* as controller-runtime: a replica that lost the lease stops at
         * once, the next leader takes over */
        o->lost = 1;
        *o->stop = 1;
        return;
    }
    if (!*o->stop)
        bc_plugin_sync_roles(o->p);
}

bc_status bc_plugin_init_operator(bc_plugin *p)
{
    const char *image = getenv("SIDECAR_IMAGE");
    if (!image || !*image)
        return bc_error(BC_ERR_USAGE, "SIDECAR_IMAGE is not set: the operator side needs the "
                                      "image of the sidecar it injects (the Deployment sets it)");
    p->sidecar_image = image;
    const char *sync = getenv("BC_ROLE_SYNC_SECONDS");
    p->role_sync_seconds = sync && atoi(sync) > 0 ? atoi(sync) : 30;
    const char *ns = getenv("NAMESPACE");
    p->settings.namespace = ns && *ns ? ns : NULL;
    const char *pod = getenv("POD_NAME");
    p->settings.pod_name = pod && *pod ? pod : NULL;
    bc_status st = bc_kube_new(&p->kube);
    if (st == BC_OK) {
        bc_kube_set_cache(p->kube, 10);
        if (!p->settings.namespace)
            p->settings.namespace = bc_kube_namespace(p->kube);
    }
    return st;
}

static bc_status add_services(bc_plugin *p, bc_grpc_server *s)
{
    /* the order upstream announces them in, then the one it does not serve */
    bc_status st = bc_plugin_add_identity(p, s);
    if (st == BC_OK)
        st = bc_plugin_add_reconciler(p, s);
    if (st == BC_OK)
        st = bc_plugin_add_lifecycle(p, s);
    if (st == BC_OK)
        st = bc_plugin_add_sidecar_injection(p, s);
    if (st == BC_OK)
        st = bc_plugin_add_validation(p, s);
    return st;
}

static bc_status open_server(const bc_operator_options *o, bc_grpc_server **s)
{
    if (!o->server_address || !*o->server_address) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", o->plugin_path ? o->plugin_path : "/plugins",
                 BC_PLUGIN_NAME);
        return bc_grpc_server_new(path, s);
    }
    if (!o->server_cert || !o->server_key || !o->client_cert)
        return bc_error(BC_ERR_USAGE, "--server-address needs --server-cert, --server-key and "
                                      "--client-cert (mutual TLS)");
    bc_grpc_tls tls = {.cert_file = o->server_cert, .key_file = o->server_key,
                       .client_ca_file = o->client_cert};
    return bc_grpc_server_new_tcp(o->server_address, &tls, s);
}

bc_status bc_plugin_operator_run(const bc_operator_options *o, volatile sig_atomic_t *stop)
{
    bc_plugin p = {0};
    bc_health *health = NULL;
    bc_grpc_server *server = NULL;
    bc_leader leader;
    op_state state = {.p = &p, .stop = stop};
    bc_status st = bc_plugin_init_operator(&p);
    if (st == BC_OK)
        st = bc_health_start(o->health_address, &health);
    if (st == BC_OK && health)
        bc_log_info("health probes on %s (port %d)", o->health_address, bc_health_port(health));
    if (st == BC_OK && o->leader_elect) {
        st = bc_leader_init(&leader, p.kube, p.settings.namespace, p.settings.pod_name);
        if (st == BC_OK) {
            state.leader = &leader;
            if (bc_leader_acquire(&leader, stop) != BC_OK) /* stopped while waiting */
                goto done;
        }
    }
    if (st == BC_OK)
        st = open_server(o, &server);
    if (st == BC_OK)
        st = add_services(&p, server);
    if (st == BC_OK) {
        bc_grpc_server_on_tick(server, on_tick, &state);
        bc_health_set_ready(health, 1);
        if (bc_grpc_server_port(server))
            bc_log_info("serving CNPG-i (operator) on %s, port %d, mutual TLS",
                        o->server_address, bc_grpc_server_port(server));
        else
            bc_log_info("serving CNPG-i (operator) on %s/%s", o->plugin_path, BC_PLUGIN_NAME);
        st = bc_grpc_server_run(server, stop);
        bc_health_set_ready(health, 0);
    }
    if (st == BC_OK && state.lost)
        st = bc_error(BC_ERR_INTERNAL, "lost the leader lease: stopping");
done:
    if (state.leader)
        bc_leader_release(state.leader);
    bc_grpc_server_free(server);
    bc_health_stop(health);
    bc_kube_free(p.kube);
    json_decref(p.store_generations);
    return st;
}
