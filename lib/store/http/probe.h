/* One unauthenticated request to an endpoint, to tell apart where a
 * connection fails: name resolution, TCP, the TLS handshake and
 * certificate verification, or the HTTP exchange; and the server's clock
 * (its Date header). For diagnostics (bc-doctor), not for store traffic. */
#ifndef BC_STORE_HTTP_PROBE_H
#define BC_STORE_HTTP_PROBE_H

#include <time.h>

typedef enum bc_probe_stage {
    BC_PROBE_NOTHING = 0,   /* the host name did not resolve */
    BC_PROBE_RESOLVED,      /* resolved; TCP failed */
    BC_PROBE_CONNECTED,     /* TCP up; the TLS handshake or verification failed */
    BC_PROBE_SECURED,       /* TLS verified (https) or plain http; no HTTP reply */
    BC_PROBE_REPLIED        /* an HTTP reply (any status) came back */
} bc_probe_stage;

typedef struct bc_probe_result {
    bc_probe_stage stage;
    int https;
    char host[256];         /* host[:port] of the URL */
    char address[64];       /* the IP address connected to */
    long status;            /* the reply's HTTP status */
    time_t server_date;     /* its Date header; 0 when absent */
    time_t local_date;      /* this machine's clock when the reply came */
    double connect_ms, tls_ms, total_ms;
    char error[512];        /* libcurl's account of the failure */
} bc_probe_result;

/* GET url with timeout_s for each phase, trusting ca_bundle (NULL: the
 * system's CAs). Fills out whatever happens; never fails otherwise. */
void bc_http_probe(const char *url, const char *ca_bundle, long timeout_s, bc_probe_result *out);

#endif
