/* bc-doctor store: the troubleshooting steps for an object store, in the
 * order a connection goes (see doctor.h). Each failure says what it
 * means and what to do; what depends on it is skipped, naming it. */
#include "doctor/doctor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "layout/wal.h"
#include "store/http/probe.h"
#include "util/buffer.h"
#include "util/timefmt.h"
#include "wal/wal.h"

#define PROBE_TIMEOUT 10
#define SKEW_WARN 60           /* seconds */
#define SKEW_FAIL 900          /* S3 refuses requests 15 minutes off */

static void auth_passed(bc_doctor_report *r, const bc_store_access *a, const char *how)
{
    if (a->endpoint)
        bc_doctor_add(r, "authentication", BC_CHECK_OK, NULL, "%s (%s)", how,
                      a->credentials ? a->credentials : "no credentials");
    else
        bc_doctor_add(r, "authentication", BC_CHECK_OK, NULL, "a local directory: file "
                      "permissions only");
}

/* What a failed bc_store_check() means, and what to do about it. */
static void access_checks(bc_doctor_report *r, bc_store *store, const bc_store_access *a)
{
    bc_status st = bc_store_check(store);
    const char *msg = bc_error_msg();
    if (st == BC_OK) {
        auth_passed(r, a, "the store accepted the credentials");
        bc_doctor_add(r, "bucket", BC_CHECK_OK, NULL, "%s exists", bc_store_describe(store));
        bc_doctor_add(r, "prefix", BC_CHECK_OK, NULL, "'%s' can be listed",
                      *bc_store_prefix(store) ? bc_store_prefix(store) : "(the whole bucket)");
        return;
    }
    if (st == BC_ERR_AUTH) {
        const char *cause =
            strstr(msg, "InvalidAccessKeyId") || strstr(msg, "access key is unknown")
                ? "the access key is unknown to the store"
            : strstr(msg, "SignatureDoesNotMatch") || strstr(msg, "signature mismatch")
                ? "the secret key does not match the access key"
            : strstr(msg, "ExpiredToken") || strstr(msg, "has expired") ? "the session token has expired"
            : strstr(msg, "RequestTimeTooSkewed") ? "this machine's clock is too far from the store's"
            : strstr(msg, "AccessDenied") || strstr(msg, "403") || strstr(msg, "denied")
                ? "the credentials are valid but not allowed to list this bucket or prefix"
                : "the store refused the credentials";
        bc_doctor_add(r, "authentication", BC_CHECK_FAIL,
                      "check the credentials' Secret and key names (ObjectStore "
                      "s3Credentials/azureCredentials/googleCredentials), and that the policy "
                      "grants listing inside the prefix (man 7 bc-store)",
                      "%s: %s", cause, msg);
        bc_doctor_needs(r, "bucket", "authentication");
        bc_doctor_needs(r, "prefix", "authentication");
        return;
    }
    auth_passed(r, a, "the store answered the signed request");
    if (st == BC_ERR_NOBUCKET) {
        bc_doctor_add(r, "bucket", BC_CHECK_FAIL, "create it, or correct destinationPath",
                      "%s", msg);
        bc_doctor_needs(r, "prefix", "bucket");
        return;
    }
    bc_doctor_add(r, "bucket", BC_CHECK_OK, NULL, "%s answered", bc_store_describe(store));
    bc_doctor_add(r, "prefix", BC_CHECK_FAIL, "see the message; retry with -v -v for each "
                  "request", "%s", msg);
}

/* The name of the check that failed, or NULL when the endpoint answered. */
static const char *connection_checks(bc_doctor_report *r, const bc_store_config *cfg,
                                     const bc_store_access *a)
{
    bc_probe_result p;
    const char *ca = cfg->ca_bundle && *cfg->ca_bundle ? cfg->ca_bundle
                     : strncmp(cfg->url, "s3://", 5) == 0 ? getenv("AWS_CA_BUNDLE") : NULL;
    bc_http_probe(a->endpoint, ca, PROBE_TIMEOUT, &p);
    if (p.stage == BC_PROBE_NOTHING) {
        bc_doctor_add(r, "name resolution", BC_CHECK_FAIL,
                      "check the endpoint's host name and the Pod's DNS (resolv.conf)",
                      "%s does not resolve: %s", p.host, p.error);
        bc_doctor_needs(r, "tcp connect", "name resolution");
        return "name resolution";
    }
    bc_doctor_add(r, "name resolution", BC_CHECK_OK, NULL, "%s resolves%s%s", p.host,
                  *p.address ? " to " : "", p.address);
    if (p.stage == BC_PROBE_RESOLVED) {
        bc_doctor_add(r, "tcp connect", BC_CHECK_FAIL,
                      "check the port, the store's address, and network policies or "
                      "firewalls between this machine and the store",
                      "cannot connect to %s: %s", p.host, p.error);
        return "tcp connect";
    }
    bc_doctor_add(r, "tcp connect", BC_CHECK_OK, NULL, "connected to %s in %.1f ms", p.host,
                  p.connect_ms);
    if (p.https) {
        if (p.stage == BC_PROBE_CONNECTED) {
            bc_doctor_add(r, "tls", BC_CHECK_FAIL,
                          "if the store uses a private CA, pass its PEM file with "
                          "--ca-bundle (or AWS_CA_BUNDLE); in the ObjectStore, set "
                          "endpointCA to a Secret key holding it",
                          "the TLS handshake with %s failed: %s", p.host, p.error);
            return "tls";
        }
        bc_doctor_add(r, "tls", BC_CHECK_OK, NULL, "certificate of %s verified (%s)", p.host,
                      ca ? ca : "the system's CAs");
    }
    if (p.stage != BC_PROBE_REPLIED) {
        bc_doctor_add(r, "http", BC_CHECK_FAIL, "is the endpoint an object store? check the URL",
                      "no HTTP reply from %s: %s", p.host, p.error);
        return "http";
    }
    if (!p.server_date) {
        bc_doctor_add(r, "clock", BC_CHECK_WARN, NULL, "%s sent no Date header: the clock "
                      "could not be compared", p.host);
        return NULL;
    }
    long skew = (long)(p.local_date - p.server_date);
    long off = skew < 0 ? -skew : skew;
    bc_doctor_add(r, "clock", off >= SKEW_FAIL ? BC_CHECK_FAIL : off >= SKEW_WARN ? BC_CHECK_WARN
                  : BC_CHECK_OK, "synchronise this machine's clock (NTP): signed requests "
                  "more than 15 minutes off are refused",
                  "this machine's clock is %lds %s the store's", off,
                  skew >= 0 ? "ahead of" : "behind");
    return NULL;
}

/* Put, read back, compare and delete a small probe object. */
static void write_test(bc_doctor_report *r, bc_store *store, const char *server)
{
    char key[1024], body[128];
    const char *prefix = bc_store_prefix(store);
    snprintf(key, sizeof key, "%s%s%s/bc-doctor-probe-%ld-%ld", prefix, *prefix ? "/" : "",
             server, (long)getpid(), (long)time(NULL));
    snprintf(body, sizeof body, "bc-doctor write test %ld\n", (long)time(NULL));
    bc_source src = {.fd = -1, .mem = (const unsigned char *)body, .size = (int64_t)strlen(body)};
    bc_put_opts put = {.if_absent = BC_IF_ABSENT};
    bc_status st = bc_store_put(store, key, &src, &put);
    if (st != BC_OK) {
        bc_doctor_add(r, "write test", BC_CHECK_FAIL, "grant the credentials the object write "
                      "permission under the prefix (man 7 bc-store)", "cannot write %s: %s",
                      key, bc_error_msg());
        return;
    }
    bc_buffer got = {0};
    st = bc_store_get(store, key, bc_buffer_sink, &got);
    int same = st == BC_OK && got.len == strlen(body) && memcmp(got.data, body, got.len) == 0;
    char reason[1024];
    snprintf(reason, sizeof reason, "%s", st != BC_OK ? bc_error_msg() : "different bytes");
    bc_buffer_free(&got);
    const char *k = key;
    bc_status del = bc_store_delete(store, &k, 1);
    if (!same)
        bc_doctor_add(r, "write test", BC_CHECK_FAIL, "grant the read permission as well",
                      "wrote %s but reading it back failed: %s", key, reason);
    else if (del != BC_OK)
        bc_doctor_add(r, "write test", BC_CHECK_WARN, "grant the delete permission (retention "
                      "needs it); remove the probe by hand", "wrote and read back %s, but "
                      "could not delete it: %s", key, bc_error_msg());
    else
        bc_doctor_add(r, "write test", BC_CHECK_OK, NULL, "wrote, read back and deleted %s",
                      key);
}

typedef struct gaps_ctx {
    size_t n;
    char first[160];
} gaps_ctx;

static void on_gap(void *ctx, uint32_t tli, const char *first, const char *last)
{
    gaps_ctx *g = ctx;
    if (g->n++ == 0)
        snprintf(g->first, sizeof g->first, "timeline %u: %s to %s", tli, first, last);
}

/* The WAL: what is there, how fresh, whether anything is missing (with
 * the segment size of the newest backup, as bc-ls wals counts them); and
 * the time the newest segment was stored (0: none), for the recovery
 * window. */
static time_t wal_checks(bc_doctor_report *r, bc_store *store, const bc_doctor_store_opts *o,
                         int64_t segment_size)
{
    bc_wal_inventory inv = {0};
    bc_status st = bc_wal_inventory_load(store, o->server, &inv);
    if (st != BC_OK) {
        bc_doctor_add(r, "wal", BC_CHECK_FAIL, "see the message", "cannot list the WAL: %s",
                      bc_error_msg());
        return 0;
    }
    const bc_wal_entry *newest = NULL;
    uint32_t tlis[16];
    size_t ntli = 0, segments = 0;
    for (size_t i = 0; i < inv.n; i++) {
        const bc_wal_entry *e = &inv.items[i];
        if (e->kind != BC_WAL_SEGMENT)
            continue;
        segments++;
        if (!newest || e->mtime > newest->mtime ||
            (e->mtime == newest->mtime && strcmp(e->name, newest->name) > 0))
            newest = e;
        size_t t = 0;
        while (t < ntli && tlis[t] != e->tli)
            t++;
        if (t == ntli && ntli < sizeof tlis / sizeof tlis[0])
            tlis[ntli++] = e->tli;
    }
    time_t stored = 0;
    if (!newest) {
        bc_doctor_add(r, "wal", BC_CHECK_FAIL, "check archive_command (bc-doctor postgres) "
                      "and that the server name is the cluster's", "no WAL segment archived "
                      "for server '%s' in %s", o->server, bc_store_describe(store));
    } else {
        char tl[128] = "";
        for (size_t t = 0; t < ntli; t++)
            snprintf(tl + strlen(tl), sizeof tl - strlen(tl), "%s%u", t ? ", " : "", tlis[t]);
        bc_doctor_add(r, "wal", BC_CHECK_OK, NULL, "%zu segment%s on timeline%s %s", segments,
                      segments > 1 ? "s" : "", ntli > 1 ? "s" : "", tl);
        char age[32];
        long secs = newest->mtime ? (long)(time(NULL) - newest->mtime) : -1;
        bc_doctor_age(secs, age, sizeof age);
        if (secs < 0)
            bc_doctor_add(r, "newest wal", BC_CHECK_OK, NULL, "%s (the store gives no time)",
                          newest->name);
        else
            bc_doctor_add(r, "newest wal", secs > o->max_wal_age ? BC_CHECK_WARN : BC_CHECK_OK,
                          "WAL archiving may have stopped: check pg_stat_archiver and the "
                          "sidecar's log (bc-doctor postgres)", "%s, stored %s ago",
                          newest->name, age);
        stored = newest->mtime;
        gaps_ctx g = {0};
        bc_wal_find_gaps(&inv, (UINT64_C(1) << 32) / (uint64_t)segment_size, on_gap, &g);
        if (g.n)
            bc_doctor_add(r, "wal gaps", BC_CHECK_WARN, "point-in-time recovery cannot cross a "
                          "gap; take a new backup after it", "%zu gap%s, the first %s", g.n,
                          g.n > 1 ? "s" : "", g.first);
        else
            bc_doctor_add(r, "wal gaps", BC_CHECK_OK, NULL, "no segment missing inside a "
                          "timeline");
    }
    bc_wal_inventory_free(&inv);
    return stored;
}

static void backup_checks(bc_doctor_report *r, const bc_catalog *cat,
                          const bc_doctor_store_opts *o, time_t newest_wal)
{
    const bc_catalog_entry *done = NULL, *oldest_done = NULL, *failed = NULL;
    size_t ndone = 0;
    for (size_t i = 0; i < cat->n; i++) {
        bc_backup_status s;
        if (bc_backup_info_get_status(cat->items[i].info, &s) != BC_OK)
            continue;
        if (s == BC_BACKUP_DONE) {
            ndone++;
            done = &cat->items[i];
            if (!oldest_done)
                oldest_done = &cat->items[i];
        } else if (s == BC_BACKUP_FAILED) {
            failed = &cat->items[i];
        }
    }
    if (!done) {
        bc_doctor_add(r, "last backup", BC_CHECK_FAIL, "take a backup (a Backup or "
                      "ScheduledBackup with method plugin, or bc-backup)",
                      "no DONE backup for server '%s' (%zu in all)", o->server, cat->n);
    } else {
        bc_backup_time end = {0};
        bc_backup_info_get_time(done->info, BC_BI_END_TIME, &end);
        char age[32];
        long secs = end.when ? (long)(time(NULL) - end.when) : -1;
        bc_doctor_age(secs, age, sizeof age);
        bc_doctor_add(r, "last backup", secs > o->max_backup_age ? BC_CHECK_WARN : BC_CHECK_OK,
                      "check the ScheduledBackup and the latest Backup's status",
                      "%s DONE, finished %s ago (%zu DONE in all)", done->id,
                      secs >= 0 ? age : "?", ndone);
    }
    if (failed && (!done || strcmp(failed->id, done->id) > 0)) {
        const char *err = NULL;
        bc_backup_info_get_str(failed->info, BC_BI_ERROR, &err);
        bc_doctor_add(r, "failed backup", BC_CHECK_WARN, "read the error; the sidecar's log "
                      "has the whole story", "%s FAILED after the last DONE one: %s",
                      failed->id, err ? err : "no error recorded");
    } else {
        bc_doctor_add(r, "failed backup", BC_CHECK_OK, NULL, "%s", failed
                      ? "no FAILED backup since the last DONE one" : "no FAILED backup");
    }
    if (oldest_done) {
        bc_backup_time begin = {0};
        bc_backup_info_get_time(oldest_done->info, BC_BI_BEGIN_TIME, &begin);
        char from[40], to[40];
        bc_time_to_rfc3339(begin.when, from, sizeof from);
        if (newest_wal)
            bc_time_to_rfc3339(newest_wal, to, sizeof to);
        bc_doctor_add(r, "recovery window", BC_CHECK_OK, NULL, "from %s (backup %s) to %s",
                      from, oldest_done->id, newest_wal ? to : "the newest WAL");
    } else {
        bc_doctor_needs(r, "recovery window", "last backup");
    }
}

/* The segment size of the newest backup that records one (barman's
 * default otherwise). */
static int64_t segment_size_of(const bc_catalog *cat)
{
    for (size_t i = cat->n; i-- > 0;) {
        int64_t size;
        if (bc_backup_info_get_int(cat->items[i].info, "xlog_segment_size", &size) == BC_OK &&
            bc_wal_segment_size_valid(size))
            return size;
    }
    return BC_BI_DEFAULT_XLOG_SEGMENT_SIZE;
}

bc_status bc_doctor_store(const bc_store_config *cfg, const bc_doctor_store_opts *o,
                          bc_doctor_report *r)
{
    r->subject = "store";
    bc_store *store = NULL;
    bc_status st = bc_store_open(cfg, &store);
    if (st == BC_ERR_USAGE) {
        bc_doctor_add(r, "url", BC_CHECK_FAIL, "use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, "
                      "https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX or "
                      "file:///DIRECTORY (man 7 bc-store)", "%s", bc_error_msg());
        bc_doctor_needs(r, "credentials", "url");
        return BC_OK;
    }
    bc_doctor_add(r, "url", BC_CHECK_OK, NULL, "%s, server %s", cfg->url, o->server);
    if (st != BC_OK) {
        bc_doctor_add(r, "credentials", BC_CHECK_FAIL, "set the variables the message names; "
                      "in the ObjectStore, the credentials section and its Secret",
                      "%s", bc_error_msg());
        return BC_OK;
    }
    bc_store_access a;
    bc_store_access_info(store, &a);
    bc_doctor_add(r, "credentials", BC_CHECK_OK, NULL, "%s", a.credentials ? a.credentials
                  : "none needed");
    const char *down = a.endpoint ? connection_checks(r, cfg, &a) : NULL;
    if (down)
        bc_doctor_needs(r, "authentication", down);
    else
        access_checks(r, store, &a);
    if (o->write_test && bc_doctor_needs(r, "write test", "prefix"))
        write_test(r, store, o->server);
    if (bc_doctor_needs(r, "wal", "prefix")) {
        bc_catalog cat = {0};
        st = bc_catalog_load(store, o->server, &cat);
        if (st == BC_OK) {
            time_t newest = wal_checks(r, store, o, segment_size_of(&cat));
            backup_checks(r, &cat, o, newest);
        } else {
            bc_doctor_add(r, "backups", BC_CHECK_FAIL, "see the message", "cannot list the "
                          "backups: %s", bc_error_msg());
        }
        bc_catalog_free(&cat);
    }
    bc_store_close(store);
    return BC_OK;
}
