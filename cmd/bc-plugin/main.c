/* bc-plugin: the CloudNativePG plugin (CNPG-i over gRPC on a Unix socket).
 * This build serves the Identity service; the WAL, Backup, Metrics and
 * restore services come next (see the man page). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin.h"
#include "util/cli.h"
#include "util/log.h"

#define SOCKET_NAME "barman-cloud.cloudnative-pg.io"

static const char help[] =
    "usage: bc-plugin instance [--plugin-path DIR] [options]\n"
    "\n"
    "Serve CloudNativePG's plugin interface (CNPG-i, gRPC) on the Unix socket\n"
    "DIR/" SOCKET_NAME ", until SIGTERM or SIGINT.\n"
    "\n"
    "      --plugin-path DIR         where the socket goes (default /plugins)\n"
    "  -v, --verbose / -q, --quiet   more / less output\n"
    "      --log-format text|json    message format on stderr\n"
    "  -V, --version, --help\n"
    "\n"
    "Exit status: 0 stopped by a signal; 3 bad command line; 4 the socket could\n"
    "not be served. See bc-plugin(1).\n";

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
    if (argc - optind != 1 || strcmp(argv[optind], "instance") != 0)
        bc_cli_usage_error(c.program, "expected the mode: instance");

    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, SOCKET_NAME);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    bc_plugin plugin = {0};
    bc_grpc_server *server = NULL;
    bc_status st = bc_grpc_server_new(path, &server);
    if (st == BC_OK)
        st = bc_plugin_add_identity(&plugin, server);
    if (st == BC_OK) {
        bc_log_info("serving CNPG-i on %s", path);
        st = bc_grpc_server_run(server, &stop);
    }
    if (st != BC_OK)
        bc_log_error("%s", bc_error_msg());
    bc_grpc_server_free(server);
    bc_log_shutdown();
    return bc_status_exit_code(st);
}
