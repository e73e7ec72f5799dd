/* lib/plugin: what the plugin reads from a Cluster (its stores, server
 * names, replica state), and which backup a recovery Job restores for
 * bootstrap.recovery.recoveryTarget. */
#include <stdio.h>
#include <string.h>

#include "plugin/plugin_internal.h"

#include "check.h"

/* The chosen backup's id, or "none". */
static const char *chosen(const json_t *list, const char *target_json)
{
    json_t *target = json_loads(target_json, 0, NULL);
    const json_t *b = bc_plugin_choose_backup(list, target);
    json_decref(target);
    return b ? json_string_value(json_object_get(b, "backup_id")) : "none";
}

/* The Cluster pg with the given spec and status members (JSON text). */
static bc_status parse(const char *spec, const char *status, bc_cluster_config *cfg)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"metadata\": {\"name\": \"pg\", \"namespace\": \"ns\"},"
             " \"spec\": {\"plugins\": [{\"name\": \"" BC_PLUGIN_NAME "\","
             "   \"parameters\": {\"barmanObjectName\": \"own\"}}]%s%s},"
             " \"status\": {%s}}",
             *spec ? ", " : "", spec, status);
    return bc_cluster_config_parse(json, strlen(json), cfg);
}

static const char replica_source[] =
    "\"externalClusters\": [{\"name\": \"origin\","
    "  \"connectionParameters\": {\"host\": \"origin-rw\"},"
    "  \"plugin\": {\"name\": \"" BC_PLUGIN_NAME "\","
    "    \"parameters\": {\"barmanObjectName\": \"theirs\", \"serverName\": \"origin\"}}}]";

/* is_replica, promoting and source_streams as three digits ("101") for
 * the Cluster with replica_source, this spec.replica and status members;
 * "parse error" if it does not parse. */
static const char *replica_flags(const char *replica, const char *status)
{
    static char flags[16];
    char spec[2048];
    bc_cluster_config c;
    snprintf(spec, sizeof spec, "%s, \"replica\": %s", replica_source, replica);
    if (parse(spec, status, &c) != BC_OK)
        return "parse error";
    snprintf(flags, sizeof flags, "%d%d%d", c.is_replica, c.promoting, c.source_streams);
    bc_cluster_config_free(&c);
    return flags;
}

static void check_cluster_config(void)
{
    bc_cluster_config c;

    CHECK(parse("", "\"currentPrimary\": \"pg-1\"", &c) == BC_OK);
    CHECK(c.enabled && strcmp(c.object_name, "own") == 0 && strcmp(c.server_name, "pg") == 0);
    CHECK(strcmp(c.current_primary, "pg-1") == 0);
    CHECK(!c.is_replica && !c.promoting && !c.source_streams && !c.replica_object);
    bc_cluster_config_free(&c);

    /* the replica source's store and server */
    char spec[2048];
    snprintf(spec, sizeof spec, "%s, \"replica\": {\"source\": \"origin\"}", replica_source);
    CHECK(parse(spec, "", &c) == BC_OK);
    CHECK(c.replica_object && strcmp(c.replica_object, "theirs") == 0 &&
          strcmp(c.replica_server, "origin") == 0);
    bc_cluster_config_free(&c);

    /* a replica cluster, old style (enabled) and new style (self/primary) */
    CHECK(strcmp(replica_flags("{\"enabled\": true, \"source\": \"origin\"}", ""), "101") == 0);
    CHECK(strcmp(replica_flags("{\"enabled\": false, \"source\": \"origin\"}", ""), "001") == 0);
    CHECK(strcmp(replica_flags("{\"self\": \"pg\", \"primary\": \"origin\", \"source\": \"origin\"}",
                               ""), "101") == 0);
    /* this cluster is the primary one */
    CHECK(strcmp(replica_flags("{\"primary\": \"pg\", \"source\": \"origin\"}", ""), "001") == 0);

    /* a promotion token not yet applied, then applied */
    static const char promoted[] =
        "{\"primary\": \"pg\", \"source\": \"origin\", \"promotionToken\": \"tok\"}";
    CHECK(strcmp(replica_flags(promoted, "\"lastPromotionToken\": \"older\""), "011") == 0);
    CHECK(strcmp(replica_flags(promoted, "\"lastPromotionToken\": \"tok\""), "001") == 0);

    /* a source reached only through its archive cannot stream */
    CHECK(parse("\"externalClusters\": [{\"name\": \"origin\"}],"
                " \"replica\": {\"enabled\": true, \"source\": \"origin\"}", "", &c) == BC_OK);
    CHECK(c.is_replica && !c.source_streams && !c.replica_object);
    bc_cluster_config_free(&c);
}

int main(void)
{
    check_cluster_config();

    /* three backups a day apart (end times in barman's ctime form, UTC),
     * and a failed one in between */
    json_t *list = json_loads(
        "[{\"backup_id\": \"20260101T000000\", \"status\": \"DONE\","
        "  \"end_time\": \"Thu Jan  1 00:10:00 2026\", \"end_xlog\": \"0/3000100\"},"
        " {\"backup_id\": \"20260101T120000\", \"status\": \"FAILED\","
        "  \"end_time\": \"Thu Jan  1 12:10:00 2026\", \"end_xlog\": \"0/4000100\"},"
        " {\"backup_id\": \"20260102T000000\", \"status\": \"DONE\","
        "  \"end_time\": \"Fri Jan  2 00:10:00 2026\", \"end_xlog\": \"0/5000100\"},"
        " {\"backup_id\": \"20260103T000000\", \"status\": \"DONE\","
        "  \"end_time\": \"Sat Jan  3 00:10:00 2026\", \"end_xlog\": \"1/0\"}]",
        0, NULL);
    CHECK(list != NULL);

    CHECK(strcmp(chosen(list, "{}"), "20260103T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"backupID\": \"20260102T000000\"}"), "20260102T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"backupID\": \"20260101T120000\"}"), "none") == 0); /* failed */
    CHECK(strcmp(chosen(list, "{\"backupID\": \"20990101T000000\"}"), "none") == 0);

    /* targetTime: the last backup that ended by then */
    CHECK(strcmp(chosen(list, "{\"targetTime\": \"2026-01-02T12:00:00Z\"}"), "20260102T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"targetTime\": \"2026-01-02 00:10:00\"}"), "20260102T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"targetTime\": \"2026-01-02 00:09:59\"}"), "20260101T000000") == 0);
    /* with an offset: 01:00+02 is 23:00 UTC the day before, before the
     * second backup ended; read as UTC it would pick the second */
    CHECK(strcmp(chosen(list, "{\"targetTime\": \"2026-01-02 01:00:00+02\"}"), "20260101T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"targetTime\": \"2026-01-01T20:00:00-05:00\"}"), "20260102T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"targetTime\": \"2025-12-31T00:00:00Z\"}"), "none") == 0);

    /* targetLSN */
    CHECK(strcmp(chosen(list, "{\"targetLSN\": \"0/5000100\"}"), "20260102T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"targetLSN\": \"0/50000FF\"}"), "20260101T000000") == 0);
    CHECK(strcmp(chosen(list, "{\"targetLSN\": \"2/0\"}"), "20260103T000000") == 0);

    json_decref(list);
    return check_report("cluster");
}
