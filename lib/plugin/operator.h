/* bc-plugin operator: the plugin's operator side, which CloudNativePG's
 * operator calls over TCP with mutual TLS (Identity, OperatorLifecycle,
 * ReconcilerHooks, Operator). With leader election it serves only once it
 * holds the Lease, and stops (exit status 4) if it loses it. */
#ifndef BC_PLUGIN_OPERATOR_H
#define BC_PLUGIN_OPERATOR_H

#include <signal.h>

#include "util/status.h"

typedef struct bc_operator_options {
    const char *server_address; /* ":9090"; NULL: the Unix socket below */
    const char *plugin_path;    /* directory of the Unix socket (no TLS) */
    const char *server_cert, *server_key, *client_cert;
    const char *health_address; /* ":8081"; "0" off */
    int leader_elect;
} bc_operator_options;

/* Serves until *stop; BC_ERR_USAGE for a bad configuration (missing
 * SIDECAR_IMAGE, certificates), BC_ERR_INTERNAL when leadership was lost. */
bc_status bc_plugin_operator_run(const bc_operator_options *o, volatile sig_atomic_t *stop);

#endif
