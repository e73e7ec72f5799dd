/* bc-plugin: the CloudNativePG plugin (CNPG-i over gRPC). `operator` is
 * the operator side (TCP + mutual TLS: sidecar injection, RBAC, Cluster
 * validation); `instance` is the sidecar of every instance pod (WAL,
 * backups, metrics, retention, in-pod recovery); `restore` is the sidecar
 * of the recovery Job; `healthcheck unix` is the sidecar's startup probe. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/client.h"
#include "plugin/child.h"
#include "plugin/operator.h"
#include "plugin/plugin.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-plugin operator --server-address ADDR --server-cert FILE --server-key FILE\n"
    "                          --client-cert FILE [--leader-elect] [options]\n"
    "       bc-plugin instance|restore [--plugin-path DIR] [options]\n"
    "       bc-plugin healthcheck unix [--plugin-path DIR]\n"
    "\n"
    "Serve CloudNativePG's plugin interface (CNPG-i, gRPC) until SIGTERM or\n"
    "SIGINT, then finish the calls in progress.\n"
    "\n"
    "  operator    the operator side, for CloudNativePG's operator: injects the\n"
    "              sidecar into instance Pods and recovery Jobs, keeps each\n"
    "              Cluster's Role and RoleBinding, validates Clusters\n"
    "  instance    the instance pod's sidecar on DIR/" BC_PLUGIN_NAME ": WAL\n"
    "              archive and restore, backups, metrics, retention, recovery\n"
    "  restore     the recovery Job's sidecar: restores PGDATA from a backup\n"
    "  healthcheck unix   exit 0 when the sidecar answers Identity.Probe\n"
    "\n"
    "Operator side:\n"
    "      --server-address [HOST]:PORT  TCP address (default: the Unix socket)\n"
    "      --server-cert FILE, --server-key FILE   its TLS certificate and key\n"
    "      --client-cert FILE        the certificate(s) a client must present\n"
    "      --leader-elect            serve only while holding the Lease\n"
    "      --health-probe-bind-address ADDR   /healthz and /readyz (default :8081; 0 off)\n"
    "      --metrics-bind-address 0, --metrics-secure, --enable-http2[=BOOL]\n"
    "                                accepted for upstream's manifests; no effect\n"
    "Common:\n"
    "      --plugin-path DIR         where the Unix socket is (default /plugins)\n"
    "      --log-level error|warning|info|debug|trace\n";

static const char help_tail[] =
    "\n"
    "Environment: SIDECAR_IMAGE (operator); NAMESPACE, CLUSTER_NAME, POD_NAME,\n"
    "PGDATA, SPOOL_DIRECTORY, CUSTOM_CNPG_GROUP, CUSTOM_CNPG_VERSION (sidecars);\n"
    "the Kubernetes API from the pod's service account or KUBECONFIG.\n"
    "\n"
    "Exit status: 0 stopped by a signal (healthcheck: the sidecar answered);\n"
    "1 healthcheck: the sidecar did not answer; 3 bad command line or\n"
    "configuration; 2 the Kubernetes API is unusable; 4 the socket could not be\n"
    "served, or the operator lost its leader lease. See bc-plugin(1).\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* --log-level as upstream spells it, onto our verbosity in *level;
 * BC_CLI_GO or the usage error's code. */
static int log_level(const char *v, int *level)
{
    static const char *const names[] = {"error", "warning", "info", "debug", "trace", NULL};
    static const int verbosity[] = {-1, 0, 1, 2, 2};
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0) {
            *level = verbosity[i];
            return BC_CLI_GO;
        }
    return bc_cli_usage_error("bc-plugin", "--log-level must be error, warning, info, debug or "
                                           "trace, not '%s'", v);
}

/* --opt[=true|false] into *flag (NULL: checked only). */
static int flag_value(const char *opt, const char *v, int *flag)
{
    int on = !v || strcmp(v, "true") == 0;
    if (!on && strcmp(v, "false") != 0)
        return bc_cli_usage_error("bc-plugin", "--%s takes true or false, not '%s'", opt, v);
    if (flag)
        *flag = on;
    return BC_CLI_GO;
}

static bc_status serve(bc_plugin *plugin, bc_grpc_server *server, int restore)
{
    bc_status st = bc_child_init(server);
    if (st == BC_OK)
        st = bc_plugin_add_identity(plugin, server);
    /* the instance sidecar also restores: CloudNativePG 1.31 bootstraps a
     * recovery in the instance Pod instead of a Job */
    if (st == BC_OK)
        st = bc_plugin_add_restore_job(plugin, server);
    if (st == BC_OK && !restore)
        st = bc_plugin_add_backup(plugin, server);
    if (st == BC_OK)
        st = bc_plugin_add_wal(plugin, server);
    if (st == BC_OK && !restore)
        st = bc_plugin_add_metrics(plugin, server);
    if (st == BC_OK && !restore)
        bc_plugin_schedule_maintenance(plugin, server);
    return st;
}

static bc_status run_sidecar(const char *dir, int restore, const char *mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, BC_PLUGIN_NAME);
    bc_plugin plugin = {0};
    bc_grpc_server *server = NULL;
    bc_status st = bc_plugin_init(&plugin);
    if (st == BC_OK)
        st = bc_grpc_server_new(path, &server);
    if (st == BC_OK)
        st = serve(&plugin, server, restore);
    if (st == BC_OK) {
        bc_log_info("serving CNPG-i (%s) on %s", mode, path);
        st = bc_grpc_server_run(server, &stop);
    }
    if (st != BC_OK)
        bc_log_error("%s", bc_error_msg());
    bc_grpc_server_free(server);
    bc_plugin_free(&plugin);
    return st;
}

/* The startup probe: Identity.Probe on the socket, ready = true. */
static int healthcheck(const char *dir)
{
    char path[4096], msg[256] = "";
    snprintf(path, sizeof path, "%s/%s", dir, BC_PLUGIN_NAME);
    int code = -1;
    uint8_t *resp = NULL;
    size_t len = 0;
    bc_status st = bc_grpc_unary(path, "/cnpgi.identity.v1.Identity/Probe", NULL, 0, 5000, &code,
                                 msg, sizeof msg, &resp, &len);
    /* ProbeResponse{ready = true} is the two bytes 08 01 */
    int ready = st == BC_OK && code == 0 && len == 2 && resp[0] == 0x08 && resp[1] == 0x01;
    free(resp);
    if (ready)
        return BC_EXIT_OK;
    if (st != BC_OK)
        fprintf(stderr, "bc-plugin healthcheck: %s\n", bc_error_msg());
    else if (code != 0)
        fprintf(stderr, "bc-plugin healthcheck: %s: Probe failed with gRPC status %d: %s\n",
                path, code, msg);
    else
        fprintf(stderr, "bc-plugin healthcheck: %s: the sidecar is not ready\n", path);
    return BC_EXIT_OPERATION;
}

int main(int argc, char **argv)
{
    bc_cli_common c = {.program = "bc-plugin"};
    bc_operator_options op = {.plugin_path = "/plugins", .health_address = ":8081"};
    bc_cli_parser p;
    int opt, level = -100, code = BC_CLI_GO;

    bc_cli_parser_init(&p, &c, BC_CLI_PLUGIN, help, help_tail, 1);
    while (code == BC_CLI_GO && (opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_PLUGIN_PATH: op.plugin_path = optarg; break;
        case BC_OPT_LOG_LEVEL: code = log_level(optarg, &level); break;
        case BC_OPT_SERVER_CERT: op.server_cert = optarg; break;
        case BC_OPT_SERVER_KEY: op.server_key = optarg; break;
        case BC_OPT_CLIENT_CERT: op.client_cert = optarg; break;
        case BC_OPT_SERVER_ADDRESS: op.server_address = optarg; break;
        case BC_OPT_LEADER_ELECT: code = flag_value("leader-elect", optarg, &op.leader_elect); break;
        case BC_OPT_HEALTH: op.health_address = optarg; break;
        case BC_OPT_METRICS:
            if (strcmp(optarg, "0") != 0)
                code = bc_cli_usage_error(c.program, "--metrics-bind-address %s: the operator "
                                          "side serves no metrics; use 0", optarg);
            break;
        case BC_OPT_METRICS_SECURE: code = flag_value("metrics-secure", optarg, NULL); break;
        case BC_OPT_HTTP2: code = flag_value("enable-http2", optarg, NULL); break;
        case '?':
            code = bc_cli_usage_error(c.program, "unknown option '%s' (an "
                                      "additionalContainerArgs entry of the ObjectStore?)",
                                      argv[optind - 1]);
            break;
        case ':':
            code = bc_cli_usage_error(c.program, "option '%s' needs a value", argv[optind - 1]);
            break;
        }
    }
    if (code != BC_CLI_GO)
        return code;
    if (opt == BC_CLI_STOP)
        return p.code;
    if (level != -100)
        c.verbosity = level;
    const char *mode = optind < argc ? argv[optind] : "";
    int nargs = argc - optind;
    if (strcmp(mode, "healthcheck") == 0) {
        if (nargs != 2 || strcmp(argv[optind + 1], "unix") != 0)
            return bc_cli_usage_error(c.program, "expected: healthcheck unix");
        return healthcheck(op.plugin_path);
    }
    int restore = strcmp(mode, "restore") == 0, instance = strcmp(mode, "instance") == 0;
    int operator = strcmp(mode, "operator") == 0;
    if (!restore && !instance && !operator)
        return bc_cli_usage_error(c.program, "expected the mode: operator, instance, restore "
                                  "or healthcheck%s%s", *mode ? ", not " : "", mode);
    if (nargs != 1)
        return bc_cli_usage_error(c.program, "unexpected argument '%s' after %s",
                                  argv[optind + 1], mode);
    bc_cli_start_logging(&c);

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    bc_status st;
    if (operator) {
        st = bc_plugin_operator_run(&op, &stop);
        if (st != BC_OK)
            bc_log_error("%s", bc_error_msg());
    } else {
        st = run_sidecar(op.plugin_path, restore, mode);
    }
    bc_log_shutdown();
    return bc_status_exit_code(st);
}
