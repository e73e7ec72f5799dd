/* Placeholder until the google-cloud-storage backend lands: every URL of this form is
 * refused with a usage error naming the provider. */
#include "store/store.h"

static bc_status gcs_open(const bc_store_config *cfg, const char *bucket, const char *prefix,
                           void **backend)
{
    (void)bucket;
    (void)prefix;
    *backend = NULL;
    return bc_error(BC_ERR_USAGE, "%s: the google-cloud-storage backend is not available yet", cfg->url);
}

const bc_store_ops bc_store_gcs_ops = {
    .scheme = "gs",
    .provider = "google-cloud-storage",
    .open = gcs_open,
};
