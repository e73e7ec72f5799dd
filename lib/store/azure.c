/* Placeholder until the azure-blob-storage backend lands: every URL of this form is
 * refused with a usage error naming the provider. */
#include "store/store.h"

static bc_status azure_open(const bc_store_config *cfg, const char *bucket, const char *prefix,
                           void **backend)
{
    (void)bucket;
    (void)prefix;
    *backend = NULL;
    return bc_error(BC_ERR_USAGE, "%s: the azure-blob-storage backend is not available yet", cfg->url);
}

const bc_store_ops bc_store_azure_ops = {
    .scheme = "https",
    .provider = "azure-blob-storage",
    .open = azure_open,
};
