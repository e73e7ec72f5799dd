/* bc-doctor: the troubleshooting guide as a command. Runs a subject's
 * checks in dependency order and says what is wrong and what to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "doctor/doctor.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-doctor store [options] DESTINATION_URL SERVER_NAME\n"
    "       bc-doctor postgres [options] [--archive-test DESTINATION_URL SERVER_NAME]\n"
    "       bc-doctor cluster [options] NAME\n"
    "       bc-doctor bundle [options] -o FILE.tar.gz NAME\n"
    "\n"
    "Run the troubleshooting steps for a subject in order, each as a check that\n"
    "passes, warns or fails; a failed check says what it means and what to do,\n"
    "and the checks that depend on it are skipped, naming it.\n"
    "\n"
    "store: the URL and provider, the credentials found, name resolution, TCP,\n"
    "TLS and its certificate, the store's clock, authentication, the bucket,\n"
    "listing the prefix, optionally a write test; then the archive of\n"
    "SERVER_NAME: timelines, the newest WAL and its age, gaps, the last DONE\n"
    "and the last FAILED backup, the recovery window.\n"
    "\n"
    "postgres: the connection, wal_level, archive_mode, archive_command,\n"
    "pg_stat_archiver (failures, the last archived WAL and its age), the .ready\n"
    "backlog, a backup in progress; with --archive-test, a WAL switch and a wait\n"
    "(60 s at most) for the segment to reach the store.\n"
    "\n"
    "cluster: through the Kubernetes API (KUBECONFIG or in-cluster), the\n"
    "CloudNativePG Cluster NAME: its plugin entry, isWALArchiver, the\n"
    "barmanObjectName and serverName parameters, the ObjectStore, every Secret\n"
    "and key it names (keys only), the Role and RoleBinding, the plugin's Service\n"
    "and TLS Secrets, the plugin-barman-cloud sidecar in each Pod, the latest\n"
    "Backup, the ObjectStore's status; then the store checks with the\n"
    "ObjectStore's own settings and credentials, as the sidecar runs them.\n"
    "\n"
    "bundle: the Cluster, its ObjectStores, Backups, ScheduledBackups, Pods and\n"
    "events, the plugin's Service and Deployment, the sidecar and plugin log\n"
    "tails, the cluster report and the versions, into a tar.gz that is safe to\n"
    "share: Secrets are never fetched, credential-looking values are redacted\n"
    "and REDACTIONS.txt in the bundle lists them.\n"
    "\n"
    "Doctor:\n"
    "      --format text|json        report format on stdout (default text)\n"
    "      --write-test              store: put, read back, compare and delete a\n"
    "                                probe object under SERVER_NAME\n"
    "      --archive-test            postgres: switch WAL and wait for the segment\n"
    "                                in DESTINATION_URL under SERVER_NAME\n"
    "Connection (postgres):\n"
    "  -h, --host HOST               server host or socket directory\n"
    "  -p, --port PORT               server port\n"
    "  -U, --user NAME               user name (a superuser or pg_monitor member)\n"
    "  -d, --dbname CONNSTR          database name or connection string\n"
    "Kubernetes (cluster, bundle):\n"
    "  -n, --namespace NAMESPACE     the Cluster's namespace (default: the\n"
    "                                kubeconfig's or the service account's)\n"
    "  -o, --output FILE             bundle: the tar.gz to write\n"
    "      --log-lines N             bundle: the tail of each log (default 500)\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 no check failed (warnings allowed); 1 a check failed; 3 bad\n"
    "command line; 4 the report could not be made. See bc-doctor(1).\n";

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_cli_parser p;
    int json = 0, opt;
    char *end;
    int archive_test = 0;
    bc_doctor_cluster_opts co = {0};
    bc_doctor_bundle_opts bo = {.log_lines = 500};
    bc_doctor_store_opts so = {.max_wal_age = 3600, .max_backup_age = 8 * 86400};
    bc_doctor_pg_opts po = {.conn = {.application_name = "bc-doctor"}, .archive_wait = 60,
                            .max_archived_age = 3600, .max_ready = 4};

    /* The subject comes first; options and operands follow it. */
    const char *subject = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    if (subject) {
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    bc_cli_begin(&p, &c, "bc-doctor", BC_CLI_DOCTOR, help, help_tail);
    while ((opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_FORMAT:
            if (!strcmp(optarg, "json"))
                json = 1;
            else if (strcmp(optarg, "text"))
                return bc_cli_usage_error(c.program, "invalid --format '%s': use text or json",
                                          optarg);
            break;
        case BC_OPT_WRITE_TEST: so.write_test = 1; break;
        case BC_OPT_ARCHIVE_TEST: archive_test = 1; break;
        case 'h': po.conn.host = optarg; break;
        case 'p': po.conn.port = optarg; break;
        case 'U': po.conn.user = optarg; break;
        case 'd': po.conn.dbname = optarg; break;
        case 'n': co.namespace_ = bo.namespace_ = optarg; break;
        case 'o': bo.output = optarg; break;
        case BC_OPT_LOG_LINES:
            bo.log_lines = strtol(optarg, &end, 10);
            if (*end || bo.log_lines < 1 || bo.log_lines > 100000)
                return bc_cli_usage_error(c.program, "invalid --log-lines '%s': use 1 to "
                                          "100000", optarg);
            break;
        }
    }
    if (opt == BC_CLI_STOP)
        return p.code;
    if (!subject)
        return bc_cli_usage_error(c.program, "expected a subject: store, postgres, cluster or "
                                  "bundle");
    int store = strcmp(subject, "store") == 0, postgres = strcmp(subject, "postgres") == 0;
    int cluster = strcmp(subject, "cluster") == 0, bundle = strcmp(subject, "bundle") == 0;
    if (!store && !postgres && !cluster && !bundle)
        return bc_cli_usage_error(c.program, "unknown subject '%s': use store, postgres, "
                                  "cluster or bundle", subject);
    int npos = argc - optind;
    if ((cluster || bundle) && npos != 1)
        return bc_cli_usage_error(c.program, "expected the Cluster's NAME");
    if (bundle && !bo.output)
        return bc_cli_usage_error(c.program, "bundle needs -o FILE.tar.gz");
    if (store && npos != 2)
        return bc_cli_usage_error(c.program, "expected DESTINATION_URL SERVER_NAME");
    if (postgres && npos != (archive_test ? 2 : 0))
        return bc_cli_usage_error(c.program, archive_test
                                  ? "--archive-test needs DESTINATION_URL SERVER_NAME"
                                  : "postgres takes no operands without --archive-test");
    bc_cli_start_logging(&c);
    if (npos == 2)
        c.store.url = argv[optind];

    bc_doctor_report r = {0};
    bc_status st;
    if (store) {
        so.server = argv[optind + 1];
        st = bc_doctor_store(&c.store, &so, &r);
    } else if (cluster) {
        co.name = argv[optind];
        st = bc_doctor_cluster(&co, &r);
    } else if (bundle) {
        bo.name = argv[optind];
        st = bc_doctor_bundle(&bo, &r);
    } else {
        if (archive_test) {
            po.archive_store = &c.store;
            po.server = argv[optind + 1];
        }
        st = bc_doctor_postgres(&po, &r);
    }
    if (st == BC_OK)
        st = bc_doctor_print(&r, json, stdout);
    int failed = bc_doctor_count(&r, BC_CHECK_FAIL) > 0;
    bc_doctor_report_free(&r);
    if (st != BC_OK)
        return bc_cli_end(&c, st, NULL);
    bc_cli_end(&c, BC_OK, NULL);
    return failed ? BC_EXIT_OPERATION : BC_EXIT_OK;
}
