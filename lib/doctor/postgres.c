/* bc-doctor postgres: what the server says of its WAL archiving, in the
 * order that explains a pile of WAL (see doctor.h). */
#include "doctor/doctor.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wal/wal.h"

/* What archive_command runs, in words. */
static const char *archiver_kind(const char *cmd)
{
    if (strstr(cmd, "bc-wal-archive"))
        return "bc-wal-archive";
    if (strstr(cmd, "barman-cloud-wal-archive"))
        return "barman-cloud-wal-archive";
    if (strstr(cmd, "/controller/manager") && strstr(cmd, "wal-archive"))
        return "CloudNativePG's instance manager (the plugin archives through it)";
    return NULL;
}

static void settings_checks(bc_doctor_report *r, const bc_pg_archiver *a)
{
    if (strcmp(a->wal_level, "minimal") == 0)
        bc_doctor_add(r, "wal_level", BC_CHECK_FAIL, "set wal_level = replica (and restart)",
                      "minimal: WAL cannot be archived nor a backup taken");
    else
        bc_doctor_add(r, "wal_level", BC_CHECK_OK, NULL, "%s", a->wal_level);
    int on = strcmp(a->archive_mode, "on") == 0 || strcmp(a->archive_mode, "always") == 0;
    int active = on && (strcmp(a->archive_mode, "always") == 0 || !a->in_recovery);
    if (!on)
        bc_doctor_add(r, "archive_mode", BC_CHECK_FAIL, "set archive_mode = on (and restart)",
                      "%s: no WAL is archived", a->archive_mode);
    else
        bc_doctor_add(r, "archive_mode", BC_CHECK_OK, NULL, "%s%s", a->archive_mode,
                      active ? "" : " (a standby: the primary archives)");
    if (!bc_doctor_needs(r, "archive_command", "archive_mode"))
        return;
    const char *kind = archiver_kind(a->archive_command);
    if (!*a->archive_command || strcmp(a->archive_command, "(disabled)") == 0)
        bc_doctor_add(r, "archive_command", BC_CHECK_FAIL, "set archive_command to "
                      "bc-wal-archive [options] DESTINATION_URL SERVER_NAME %%p, or enable the "
                      "plugin's isWALArchiver", "empty: WAL piles up in pg_wal");
    else if (!kind)
        bc_doctor_add(r, "archive_command", BC_CHECK_WARN, "if this is meant to archive to the "
                      "object store, use bc-wal-archive or the plugin", "'%s' is neither "
                      "bc-wal-archive, barman-cloud nor the plugin", a->archive_command);
    else
        bc_doctor_add(r, "archive_command", BC_CHECK_OK, NULL, "%s: %s", kind,
                      a->archive_command);
}

/* A backup that has run for this long is likely stuck (a lost client
 * leaves its session inside pg_backup_start). */
#define STUCK_BACKUP_SECS (12 * 3600L)

static void backup_running_check(bc_doctor_report *r, const bc_pg_archiver *a)
{
    char age[32];
    bc_doctor_age(a->backup_secs, age, sizeof age);
    if (a->backups < 0)
        bc_doctor_add(r, "backup in progress", BC_CHECK_WARN, "connect as a superuser or a "
                      "pg_monitor member", "pg_stat_activity cannot be read in full");
    else if (!a->backups)
        bc_doctor_add(r, "backup in progress", BC_CHECK_OK, NULL, "no backup running");
    else
        bc_doctor_add(r, "backup in progress", a->backup_secs > STUCK_BACKUP_SECS
                      ? BC_CHECK_WARN : BC_CHECK_OK, "if its client is gone, end the session "
                      "(pg_terminate_backend) and take a new backup", "%ld running, the oldest "
                      "for %s (%s)", a->backups, age, *a->backup_client ? a->backup_client
                      : "no application_name");
}

static void archiver_checks(bc_doctor_report *r, const bc_pg_archiver *a,
                            const bc_doctor_pg_opts *o)
{
    time_t now = time(NULL);
    char age[32], fage[32];
    bc_doctor_age((long)(now - a->last_archived_time), age, sizeof age);
    bc_doctor_age((long)(now - a->last_failed_time), fage, sizeof fage);
    if (a->last_failed_time && a->last_failed_time >= a->last_archived_time)
        bc_doctor_add(r, "archiver", BC_CHECK_FAIL, "run archive_command by hand as the "
                      "postgres user on that file to see its error (or read the sidecar's "
                      "log); then bc-doctor store for the store",
                      "archiving is failing: %lld failures, the last %s ago on %s; last "
                      "success %s", a->failed_count, fage, a->last_failed_wal,
                      a->last_archived_time ? a->last_archived_wal : "never");
    else if (a->failed_count)
        bc_doctor_add(r, "archiver", BC_CHECK_WARN, "read the server log of that time",
                      "%lld archived, %lld failed since the statistics were reset (the last "
                      "on %s, %s ago); succeeding since", a->archived_count, a->failed_count,
                      a->last_failed_wal, fage);
    else
        bc_doctor_add(r, "archiver", BC_CHECK_OK, NULL, "%lld archived, none failed",
                      a->archived_count);
    if (!a->last_archived_time)
        bc_doctor_add(r, "last archived", a->in_recovery ? BC_CHECK_OK : BC_CHECK_WARN,
                      "switch WAL (SELECT pg_switch_wal()) and look again", "nothing archived "
                      "since the statistics were reset");
    else
        bc_doctor_add(r, "last archived",
                      now - a->last_archived_time > o->max_archived_age && !a->in_recovery
                          ? BC_CHECK_WARN : BC_CHECK_OK,
                      "is archive_timeout set (CloudNativePG: 5min)? otherwise the server is "
                      "idle, or archiving stopped", "%s, %s ago (current segment %s)",
                      a->last_archived_wal, age, *a->current_wal ? a->current_wal : "-");
    if (a->ready < 0)
        bc_doctor_add(r, "backlog", BC_CHECK_WARN, "connect as a superuser or a member of "
                      "pg_monitor to see it", "pg_wal/archive_status cannot be listed: %s",
                      a->ready_error);
    else
        bc_doctor_add(r, "backlog", a->ready > o->max_ready ? BC_CHECK_WARN : BC_CHECK_OK,
                      "the archiver is behind or failing: see the archiver check; the "
                      "segments stay in pg_wal until archived",
                      "%ld segment%s waiting to be archived (%lld MiB in pg_wal)", a->ready,
                      a->ready == 1 ? "" : "s", (long long)a->ready * a->wal_segment_size >> 20);
}

/* Switch WAL, then wait until the segment is in the store. */
static void archive_test(bc_doctor_report *r, bc_pg *pg, const bc_doctor_pg_opts *o)
{
    bc_store *store = NULL;
    char name[BC_PG_WALNAME_LEN];
    bc_status st = bc_store_open(o->archive_store, &store);
    if (st == BC_OK)
        st = bc_pg_switch_wal(pg, name);
    if (st != BC_OK) {
        bc_doctor_add(r, "archive test", BC_CHECK_FAIL, "bc-doctor store for the store",
                      "%s", bc_error_msg());
        bc_store_close(store);
        return;
    }
    time_t start = time(NULL);
    bc_wal_object obj;
    for (;;) {
        st = bc_wal_find(store, o->server, name, 0, &obj);
        if (st != BC_ERR_NOTFOUND || time(NULL) - start >= o->archive_wait)
            break;
        usleep(250 * 1000);   /* polling the store, as pgbackrest check does */
    }
    if (st == BC_OK)
        bc_doctor_add(r, "archive test", BC_CHECK_OK, NULL, "switched WAL; %s reached %s as "
                      "%s within %lds", name, bc_store_describe(store), obj.key,
                      (long)(time(NULL) - start));
    else if (st == BC_ERR_NOTFOUND)
        bc_doctor_add(r, "archive test", BC_CHECK_FAIL, "see the archiver check and "
                      "archive_command: the URL and server name there must be these",
                      "switched WAL; %s did not reach %s under server '%s' within %ds", name,
                      bc_store_describe(store), o->server, o->archive_wait);
    else
        bc_doctor_add(r, "archive test", BC_CHECK_FAIL, "bc-doctor store for the store",
                      "%s", bc_error_msg());
    bc_store_close(store);
}

bc_status bc_doctor_postgres(const bc_doctor_pg_opts *o, bc_doctor_report *r)
{
    r->subject = "postgres";
    bc_pg *pg = NULL;
    bc_status st = bc_pg_connect(&o->conn, &pg);
    if (st != BC_OK) {
        bc_doctor_add(r, "connection", BC_CHECK_FAIL, "check -h/-p/-U/-d (or PGHOST, PGPORT, "
                      "PGUSER, PGDATABASE) and pg_hba.conf", "%s", bc_error_msg());
        bc_doctor_needs(r, "wal_level", "connection");
        return BC_OK;
    }
    bc_pg_archiver a;
    st = bc_pg_archiver_get(pg, &a);
    if (st != BC_OK) {
        bc_doctor_add(r, "connection", BC_CHECK_FAIL, "connect as a role that may read "
                      "pg_stat_archiver (superuser or pg_monitor)", "%s", bc_error_msg());
        bc_pg_close(pg);
        return BC_OK;
    }
    bc_doctor_add(r, "connection", BC_CHECK_OK, NULL, "%s, a %s", bc_pg_target(pg),
                  a.in_recovery ? "standby" : "primary");
    settings_checks(r, &a);
    if (bc_doctor_needs(r, "archiver", "archive_command"))
        archiver_checks(r, &a, o);
    backup_running_check(r, &a);
    if (o->archive_store) {
        if (a.in_recovery)
            bc_doctor_add(r, "archive test", BC_CHECK_SKIP, NULL, "skipped because a standby "
                          "cannot switch WAL: run it on the primary");
        else if (bc_doctor_needs(r, "archive test", "archive_command"))
            archive_test(r, pg, o);
    }
    bc_pg_close(pg);
    return BC_OK;
}
