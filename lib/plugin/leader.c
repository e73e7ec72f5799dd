/* Lease-based leader election (see leader.h). */
#include "plugin/leader.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "util/log.h"

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Kubernetes MicroTime: RFC 3339 with microseconds, UTC. */
static void micro_time(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%06ldZ", ts.tv_nsec / 1000);
}

bc_status bc_leader_init(bc_leader *l, bc_kube *k, const char *ns, const char *pod_name)
{
    memset(l, 0, sizeof *l);
    l->kube = k;
    l->lease_seconds = 15;
    l->renew_deadline = 10;
    l->retry_seconds = 2;
    if (!ns || !*ns)
        return bc_error(BC_ERR_USAGE, "leader election needs a namespace: set NAMESPACE, or run "
                                      "in a pod with a service account");
    snprintf(l->collection, sizeof l->collection,
             "/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
    snprintf(l->path, sizeof l->path, "%s/" BC_LEADER_LEASE, l->collection);
    char host[128] = "";
    if (!pod_name || !*pod_name) {
        gethostname(host, sizeof host - 1);
        pod_name = host;
    }
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1)
        return bc_error(BC_ERR_INTERNAL, "no random bytes for the leader identity");
    snprintf(l->identity, sizeof l->identity, "%s_%02x%02x%02x%02x%02x%02x%02x%02x", pod_name,
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return BC_OK;
}

static const char *spec_str(const json_t *lease, const char *key)
{
    return json_string_value(json_object_get(json_object_get(lease, "spec"), key));
}

/* Takes the lease in place: holder, times, transitions. */
static void take(bc_leader *l, json_t *lease, int renewing)
{
    char now[64];
    micro_time(now, sizeof now);
    json_t *spec = json_object_get(lease, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(lease, "spec", spec);
    }
    if (!renewing) {
        const char *holder = spec_str(lease, "holderIdentity");
        json_int_t transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
        if (holder && *holder && strcmp(holder, l->identity) != 0)
            transitions++;
        json_object_set_new(spec, "leaseTransitions", json_integer(transitions));
        json_object_set_new(spec, "acquireTime", json_string(now));
    }
    json_object_set_new(spec, "holderIdentity", json_string(l->identity));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(l->lease_seconds));
    json_object_set_new(spec, "renewTime", json_string(now));
}

typedef struct attempt {
    bc_leader *l;
    int renewing;
    int taken;   /* set by the mutation: the lease is ours now */
} attempt;

/* For bc_kube_update: take the lease if it is free or ours. */
static bc_status try_take(void *ctx, json_t *lease, int *changed)
{
    attempt *a = ctx;
    bc_leader *l = a->l;
    a->taken = 0; /* bc_kube_update may call again on a fresher lease */
    const char *holder = spec_str(lease, "holderIdentity");
    const char *version = json_string_value(
        json_object_get(json_object_get(lease, "metadata"), "resourceVersion"));
    int mine = holder && strcmp(holder, l->identity) == 0;
    int free_now = !holder || !*holder;
    if (!mine && !free_now) {
        if (a->renewing)
            return BC_OK; /* someone else holds it: the caller sees taken == 0 */
        /* another holder: free once its record stood still a whole lease */
        json_int_t secs = json_integer_value(json_object_get(json_object_get(lease, "spec"),
                                                             "leaseDurationSeconds"));
        if (secs <= 0)
            secs = l->lease_seconds;
        if (!version || strcmp(version, l->seen_version) != 0) {
            snprintf(l->seen_version, sizeof l->seen_version, "%s", version ? version : "");
            clock_gettime(CLOCK_MONOTONIC, &l->seen_at);
            return BC_OK;
        }
        if (since(&l->seen_at) < (double)secs)
            return BC_OK;
        bc_log_info("leader election: the lease of %s ran out", holder);
    }
    take(l, lease, a->renewing && mine);
    *changed = 1;
    a->taken = 1;
    return BC_OK;
}

/* One try: 1 leading, 0 not (yet), -1 API error (logged). */
static int try_once(bc_leader *l, int renewing)
{
    attempt a = {l, renewing, 0};
    bc_status st = bc_kube_update(l->kube, l->path, try_take, &a, NULL);
    if (st == BC_ERR_NOTFOUND && !renewing) {
        json_t *lease = json_pack("{s:s,s:s,s:{s:s},s:{}}", "apiVersion", "coordination.k8s.io/v1",
                                  "kind", "Lease", "metadata", "name", BC_LEADER_LEASE, "spec");
        take(l, lease, 0);
        st = bc_kube_create(l->kube, l->collection, lease, NULL);
        json_decref(lease);
        if (st == BC_OK)
            return 1;
        if (st == BC_ERR_CONFLICT) /* another replica made it first */
            return 0;
    }
    if (st == BC_ERR_CONFLICT) /* others kept changing it: they are alive */
        return 0;
    if (st != BC_OK) {
        bc_log_warning("leader election: %s", bc_error_msg());
        return -1;
    }
    return a.taken;
}

bc_status bc_leader_acquire(bc_leader *l, volatile sig_atomic_t *stop)
{
    bc_log_info("leader election: waiting for lease %s as %s", l->path, l->identity);
    while (!*stop) {
        if (try_once(l, 0) == 1) {
            l->leading = 1;
            clock_gettime(CLOCK_MONOTONIC, &l->renewed_at);
            bc_log_info("leader election: leading (lease %s)", BC_LEADER_LEASE);
            return BC_OK;
        }
        /* the retry period, cut short by a signal */
        poll(NULL, 0, l->retry_seconds * 1000);
    }
    return BC_ERR_INTERNAL;
}

int bc_leader_renew(bc_leader *l)
{
    if (!l->leading)
        return -1;
    if (since(&l->renewed_at) < l->retry_seconds)
        return 0;
    int r = try_once(l, 1);
    if (r == 1) {
        clock_gettime(CLOCK_MONOTONIC, &l->renewed_at);
        return 0;
    }
    if (r == 0) {
        bc_log_error("leader election: another replica holds lease %s now", BC_LEADER_LEASE);
        l->leading = 0;
        return -1;
    }
    if (since(&l->renewed_at) >= l->renew_deadline) {
        bc_log_error("leader election: could not renew lease %s for %d s", BC_LEADER_LEASE,
                     l->renew_deadline);
        l->leading = 0;
        return -1;
    }
    return 0;
}

static bc_status give_up(void *ctx, json_t *lease, int *changed)
{
    bc_leader *l = ctx;
    const char *holder = spec_str(lease, "holderIdentity");
    if (!holder || strcmp(holder, l->identity) != 0)
        return BC_OK;
    take(l, lease, 1);
    json_t *spec = json_object_get(lease, "spec");
    json_object_set_new(spec, "holderIdentity", json_string(""));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
    *changed = 1;
    return BC_OK;
}

void bc_leader_release(bc_leader *l)
{
    if (!l->leading)
        return;
    l->leading = 0;
    if (bc_kube_update(l->kube, l->path, give_up, l, NULL) != BC_OK)
        bc_log_warning("leader election: cannot release the lease: %s", bc_error_msg());
    else
        bc_log_info("leader election: lease %s released", BC_LEADER_LEASE);
}
