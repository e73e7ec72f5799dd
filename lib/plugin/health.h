/* The operator side's health probe endpoint (upstream's
 * --health-probe-bind-address): plain HTTP on its own thread, so that it
 * answers while the process waits for the leader lease and while the
 * gRPC loop is busy. GET /healthz is 200 while the process runs; GET
 * /readyz is 200 only once gRPC is being served (leading and listening),
 * 503 before. Anything else is 404. */
#ifndef BC_PLUGIN_HEALTH_H
#define BC_PLUGIN_HEALTH_H

#include "util/status.h"

typedef struct bc_health bc_health;

/* Listens on address (":8081", "127.0.0.1:0"); "0" or "" turns it off
 * (*out NULL, BC_OK). */
bc_status bc_health_start(const char *address, bc_health **out);
/* The port listened on (for ":0"). */
int bc_health_port(const bc_health *h);
void bc_health_set_ready(bc_health *h, int ready);
void bc_health_stop(bc_health *h);

#endif
