/* bc-plugin: the CloudNativePG plugin (CNPG-i over gRPC on a Unix socket).
 * `instance` is the sidecar of every instance pod (WAL, backups, metrics,
 * retention); `restore` is the sidecar of the recovery Job. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/child.h"
#include "plugin/plugin.h"
#include "util/cli.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-plugin instance|restore [--plugin-path DIR] [options]\n"
    "\n"
    "Serve CloudNativePG's plugin interface (CNPG-i, gRPC) on the Unix socket\n"
    "DIR/" BC_PLUGIN_NAME " until SIGTERM or SIGINT, then finish the calls in\n"
    "progress. Each call runs one of the bc tools found beside bc-plugin.\n"
    "\n"
    "  instance    the instance pod's sidecar: WAL archive and restore, backups,\n"
    "              metrics, and retention on the current primary\n"
    "  restore     the recovery Job's sidecar: restores PGDATA from a backup\n"
    "\n"
    "      --plugin-path DIR         where the socket goes (default /plugins)\n"
    "  -v, --verbose / -q, --quiet   more / less output\n"
    "      --log-format text|json    message format on stderr\n"
    "  -V, --version, --help\n"
    "\n"
    "Environment: NAMESPACE, CLUSTER_NAME, POD_NAME, PGDATA, SPOOL_DIRECTORY,\n"
    "CUSTOM_CNPG_GROUP, CUSTOM_CNPG_VERSION; the Kubernetes API from the pod's\n"
    "service account or KUBECONFIG; PostgreSQL from the libpq variables.\n"
    "\n"
    "Exit status: 0 stopped by a signal; 3 bad command line or configuration;\n"
    "2 the Kubernetes API is unusable; 4 the socket could not be served.\n"
    "See bc-plugin(1).\n";

enum { OPT_PLUGIN_PATH = 2000 };

static const struct option tool_options[] = {
    {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
    {0, 0, 0, 0},
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static bc_status serve(bc_plugin *plugin, bc_grpc_server *server, int restore)
{
    bc_status st = bc_child_init(server);
    if (st == BC_OK)
        st = bc_plugin_add_identity(plugin, server);
    if (st == BC_OK)
        st = restore ? bc_plugin_add_restore_job(plugin, server)
                     : bc_plugin_add_backup(plugin, server);
    if (st == BC_OK)
        st = bc_plugin_add_wal(plugin, server);
    if (st == BC_OK && !restore)
        st = bc_plugin_add_metrics(plugin, server);
    if (st == BC_OK && !restore)
        bc_plugin_schedule_maintenance(plugin, server);
    return st;
}

int main(int argc, char **argv)
{
    bc_cli_common c = {.program = "bc-plugin"};
    const char *dir = "/plugins";
    struct option longopts[64];
    int opt;

    bc_cli_merge(tool_options, longopts, 64);
    while ((opt = getopt_long(argc, argv, BC_CLI_COMMON_SHORT, longopts, NULL)) != -1) {
        if (bc_cli_common_option(&c, opt, optarg, help))
            continue;
        if (opt == OPT_PLUGIN_PATH)
            dir = optarg;
        else
            bc_cli_usage_error(c.program, "unknown or incomplete option");
    }
    bc_cli_start_logging(&c);
    const char *mode = argc - optind == 1 ? argv[optind] : "";
    int restore = strcmp(mode, "restore") == 0;
    if (!restore && strcmp(mode, "instance") != 0)
        bc_cli_usage_error(c.program, "expected the mode: instance or restore");

    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, BC_PLUGIN_NAME);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

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
    bc_log_shutdown();
    return bc_status_exit_code(st);
}
