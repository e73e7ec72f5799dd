/* Leader election with a coordination.k8s.io/v1 Lease, as controller-runtime
 * does it for upstream's operator side (lease "822e3f5c.cnpg.io" in the
 * operator's namespace, 15 s lease, renewed every 2 s, lost when it could
 * not be renewed for 10 s, released on a clean stop), so that two replicas
 * of the Deployment never serve at once.
 *
 * Whether another holder's lease has run out is judged by this process's
 * own clock: a lease whose record has not changed for leaseDurationSeconds
 * since this process first saw it is free, whatever the renewTime in it
 * says (clocks of two nodes need not agree; client-go judges so too). */
#ifndef BC_PLUGIN_LEADER_H
#define BC_PLUGIN_LEADER_H

#include <signal.h>
#include <time.h>

#include "kube/kube.h"
#include "util/status.h"

#define BC_LEADER_LEASE "822e3f5c.cnpg.io"

typedef struct bc_leader {
    bc_kube *kube;
    char path[600];          /* the Lease's API path */
    char collection[512];
    char identity[256];      /* holderIdentity: POD_NAME or the host name, and a random part */
    int lease_seconds, renew_deadline, retry_seconds;
    /* what this process saw of another holder's record */
    char seen_version[64];
    struct timespec seen_at;
    struct timespec renewed_at; /* CLOCK_MONOTONIC of the last renewal */
    int leading;
} bc_leader;

/* Prepares an election in namespace ns. */
bc_status bc_leader_init(bc_leader *l, bc_kube *k, const char *ns, const char *pod_name);
/* Waits until this process holds the Lease (BC_OK) or *stop is set
 * (BC_ERR_INTERNAL, no message needed). API errors are logged and retried. */
bc_status bc_leader_acquire(bc_leader *l, volatile sig_atomic_t *stop);
/* Renews the Lease when a retry period has passed since the last renewal;
 * 0 while still leading, -1 once leadership is lost (another holder took
 * it, or renewal failed for the renew deadline). */
int bc_leader_renew(bc_leader *l);
/* Gives the Lease up (holder emptied, duration 1 s) so a successor need
 * not wait for it to run out. */
void bc_leader_release(bc_leader *l);

#endif
