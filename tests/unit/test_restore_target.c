/* lib/plugin: which backup a recovery Job restores for the Cluster's
 * bootstrap.recovery.recoveryTarget. */
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

int main(void)
{
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
    printf("restore_target: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
