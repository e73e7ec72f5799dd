/* How a tool reaches the ObjectStore's bucket: the provider, the endpoint,
 * its CA bundle, and the credentials, read from Secrets into the child's
 * environment (or into 0600 files the environment names), as the
 * barman-cloud Go library does for the Python tools. */
#include "plugin/objectstore_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/options.h"
#include "util/fileio.h"

/* File names under private_dir. */
#define CA_FILE "endpoint-ca.pem"
#define GOOGLE_FILE "google-application-credentials.json"

static void drop_secret(char *value, size_t len)
{
    if (value)
        explicit_bzero(value, len);
    free(value);
}

/* Reads the Secret key named by the selector ({name, key}) at
 * section.member (path). */
static bc_status read_secret(const bc_objectstore_env *os, const json_t *section, const char *member,
                             const char *path, char **value, size_t *len)
{
    const json_t *sel;
    const char *name, *key;
    *value = NULL;
    *len = 0;
    bc_status st = bc_json_object(section, member, BC_OS_FIELD, path, &sel);
    if (st == BC_OK && !sel)
        st = bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: missing", path);
    if (st == BC_OK)
        st = bc_json_string(sel, "name", BC_OS_FIELD, path, &name);
    if (st == BC_OK)
        st = bc_json_string(sel, "key", BC_OS_FIELD, path, &key);
    if (st == BC_OK && (!name || !key))
        st = bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: give the Secret's name and key", path);
    if (st != BC_OK)
        return st;
    if (!os->read_secret)
        return bc_error(BC_ERR_INTERNAL, BC_OS_FIELD "%s: no way to read Secrets", path);
    st = os->read_secret(os->secret_ctx, name, key, value, len);
    if (st == BC_OK && !*value)
        st = bc_error(BC_ERR_INTERNAL, "reading Secret %s gave no value", name);
    if (st != BC_OK) {
        drop_secret(*value, *len);
        *value = NULL;
        /* A Secret or key that is not there is a configuration to fix. */
        return bc_error_context(st == BC_ERR_NOTFOUND ? BC_ERR_USAGE : st, BC_OS_FIELD "%s", path);
    }
    return BC_OK;
}

/* Writes the Secret at section.member into private_dir/name (0600,
 * atomically: a tool running meanwhile sees the old file or the new one)
 * and gives its path in *file (malloc'd). */
static bc_status secret_to_file(const bc_objectstore_env *os, const json_t *section,
                                const char *member, const char *path, const char *name,
                                char **file)
{
    char *value;
    size_t len;
    *file = NULL;
    if (!os->private_dir)
        return bc_error(BC_ERR_INTERNAL, BC_OS_FIELD "%s: no private directory to write it to",
                        path);
    bc_status st = read_secret(os, section, member, path, &value, &len);
    if (st != BC_OK)
        return st;
    bc_atomic_file f = {.fd = -1};
    if (asprintf(file, "%s/%s", os->private_dir, name) < 0) {
        *file = NULL;
        st = bc_oom();
    }
    if (st == BC_OK)
        st = bc_atomic_open(&f, *file);
    /* Whatever the umask: the file holds a credential. */
    if (st == BC_OK && fchmod(f.fd, 0600) != 0)
        st = bc_error(BC_ERR_IO, "cannot set the mode of %s", f.tmp);
    if (st == BC_OK) {
        int rc = bc_atomic_sink(&f, value, len);
        if (rc)
            st = bc_sink_status(rc);
    }
    if (st == BC_OK)
        st = bc_atomic_commit(&f, 0);
    bc_atomic_abort(&f);
    drop_secret(value, len);
    if (st != BC_OK) {
        free(*file);
        *file = NULL;
    }
    return st;
}

/* A Secret that becomes environment variables. */
typedef struct env_secret {
    const char *member;
    const char *vars[3];  /* NULL-terminated */
} env_secret;

/* Sets the variables of every selector of t that section holds. */
static bc_status secrets_to_env(const bc_objectstore_env *os, const char *section_name,
                                const json_t *section, const env_secret *t, size_t n,
                                bc_strv *env)
{
    for (size_t i = 0; i < n; i++) {
        char path[128], *value;
        size_t len;
        if (!bc_json_member(section, t[i].member))
            continue;
        snprintf(path, sizeof path, "%s.%s", section_name, t[i].member);
        bc_status st = read_secret(os, section, t[i].member, path, &value, &len);
        if (st == BC_OK && memchr(value, '\0', len))
            st = bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: the value holds a NUL byte, which an "
                          "environment variable cannot", path);
        for (const char *const *var = t[i].vars; st == BC_OK && *var; var++)
            st = bc_strv_setenv(env, *var, value);
        drop_secret(value, len);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

static bc_status s3_credentials(const bc_objectstore_env *os, const json_t *c, bc_strv *argv,
                                bc_strv *env)
{
    /* The region goes into AWS_REGION too: the tools prefer it to
     * AWS_DEFAULT_REGION (which barman-cloud's boto3 reads), and the
     * configuration's region must win over one in the caller's base. */
    static const env_secret keys[] = {
        {"accessKeyId", {"AWS_ACCESS_KEY_ID"}},
        {"secretAccessKey", {"AWS_SECRET_ACCESS_KEY"}},
        {"region", {"AWS_REGION", "AWS_DEFAULT_REGION"}},
        {"sessionToken", {"AWS_SESSION_TOKEN"}},
    };
    int iam;
    (void)argv;
    bc_status st = bc_json_bool(c, "inheritFromIAMRole", BC_OS_FIELD, "s3Credentials.inheritFromIAMRole", &iam);
    /* The role's credentials come from the pod (IRSA's web identity
     * variables, instance metadata); as upstream, nothing is read. */
    if (st != BC_OK || iam)
        return st;
    if (!bc_json_member(c, "accessKeyId") || !bc_json_member(c, "secretAccessKey"))
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "s3Credentials: give accessKeyId and "
                        "secretAccessKey, or set inheritFromIAMRole");
    return secrets_to_env(os, "s3Credentials", c, keys, sizeof keys / sizeof keys[0], env);
}

static bc_status azure_credentials(const bc_objectstore_env *os, const json_t *c, bc_strv *argv,
                                   bc_strv *env)
{
    static const env_secret keys[] = {
        {"storageAccount", {"AZURE_STORAGE_ACCOUNT"}},
        {"storageKey", {"AZURE_STORAGE_KEY"}},
        {"storageSasToken", {"AZURE_STORAGE_SAS_TOKEN"}},
        {"connectionString", {"AZURE_STORAGE_CONNECTION_STRING"}},
    };
    int use_default, managed;
    bc_status st = bc_json_bool(c, "useDefaultAzureCredentials", BC_OS_FIELD,
                              "azureCredentials.useDefaultAzureCredentials", &use_default);
    if (st == BC_OK)
        st = bc_json_bool(c, "inheritFromAzureAD", BC_OS_FIELD, "azureCredentials.inheritFromAzureAD", &managed);
    if (st != BC_OK)
        return st;
    /* Tokens, no Secret: as upstream, default wins when both are set. */
    if (use_default || managed)
        return bc_cli_option_words(argv, BC_OPT_CREDENTIAL, 0,
                                   use_default ? "default" : "managed-identity");
    if (!bc_json_member(c, "connectionString") && !bc_json_member(c, "storageKey") &&
        !bc_json_member(c, "storageSasToken"))
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "azureCredentials: give connectionString, "
                        "storageKey or storageSasToken, or set inheritFromAzureAD or "
                        "useDefaultAzureCredentials");
    return secrets_to_env(os, "azureCredentials", c, keys, sizeof keys / sizeof keys[0], env);
}

static bc_status google_credentials(const bc_objectstore_env *os, const json_t *c, bc_strv *argv,
                                    bc_strv *env)
{
    int gke;
    char *file;
    (void)argv;
    bc_status st = bc_json_bool(c, "gkeEnvironment", BC_OS_FIELD, "googleCredentials.gkeEnvironment", &gke);
    if (st != BC_OK)
        return st;
    /* As upstream, a key file given wins over gkeEnvironment. */
    if (!bc_json_member(c, "applicationCredentials")) {
        if (gke) /* workload identity: the metadata server */
            return BC_OK;
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "googleCredentials: give "
                        "applicationCredentials, or set gkeEnvironment");
    }
    st = secret_to_file(os, c, "applicationCredentials",
                        "googleCredentials.applicationCredentials", GOOGLE_FILE, &file);
    if (st == BC_OK)
        st = bc_strv_setenv(env, "GOOGLE_APPLICATION_CREDENTIALS", file);
    free(file);
    return st;
}

typedef struct provider {
    const char *section;
    const char *cloud_provider;
    bc_status (*credentials)(const bc_objectstore_env *os, const json_t *c, bc_strv *argv,
                             bc_strv *env);
} provider;

static const provider providers[] = {
    {"s3Credentials", "aws-s3", s3_credentials},
    {"azureCredentials", "azure-blob-storage", azure_credentials},
    {"googleCredentials", "google-cloud-storage", google_credentials},
};

/* The one provider the configuration has credentials for, in *p (NULL for
 * a file:// destination without any). */
static bc_status find_provider(const json_t *cfg, const provider **p, const json_t **creds)
{
    *p = NULL;
    *creds = NULL;
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        const json_t *c;
        bc_status st = bc_json_object(cfg, providers[i].section, BC_OS_FIELD, providers[i].section, &c);
        if (st != BC_OK)
            return st;
        if (c && *p)
            return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s and %s: give only one of "
                            "s3Credentials, azureCredentials and googleCredentials",
                            (*p)->section, providers[i].section);
        if (c) {
            *p = &providers[i];
            *creds = c;
        }
    }
    const char *dest = bc_objectstore_destination(cfg);
    /* file:// (tests, demonstrations) is the one store that needs none. */
    if (!*p && !(dest && strncmp(dest, "file://", 7) == 0))
        return bc_error(BC_ERR_USAGE, "spec.configuration: no credentials: give s3Credentials, "
                        "azureCredentials or googleCredentials");
    return BC_OK;
}

bc_status bc_os_store_args(const bc_objectstore_env *os, bc_strv *argv, bc_strv *env)
{
    const json_t *cfg = os->configuration, *creds;
    const provider *p;
    const char *endpoint;
    bc_status st = find_provider(cfg, &p, &creds);
    if (st == BC_OK && p)
        st = bc_cli_option_words(argv, BC_OPT_CLOUD_PROVIDER, 0, p->cloud_provider);
    if (st == BC_OK && p)
        st = p->credentials(os, creds, argv, env);
    if (st == BC_OK)
        st = bc_json_string(cfg, "endpointURL", BC_OS_FIELD, "endpointURL", &endpoint);
    if (st == BC_OK && endpoint) {
        if (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8))
            return bc_error(BC_ERR_USAGE, BC_OS_FIELD "endpointURL: '%s' does not start with "
                            "http:// or https://", endpoint);
        st = bc_cli_option_words(argv, BC_OPT_ENDPOINT_URL, 0, endpoint);
    }
    /* The CA bundle is a file path, not a secret: --ca-bundle, which every
     * provider's backend honours (AWS_CA_BUNDLE reaches only S3's, and
     * REQUESTS_CA_BUNDLE, upstream's choice for Azure, none). */
    if (st == BC_OK && bc_json_member(cfg, "endpointCA") && os->mounted_ca &&
        access(os->mounted_ca, R_OK) == 0)
        return bc_cli_option_words(argv, BC_OPT_CA_BUNDLE, 0, os->mounted_ca);
    if (st == BC_OK && bc_json_member(cfg, "endpointCA")) {
        char *file;
        st = secret_to_file(os, cfg, "endpointCA", "endpointCA", CA_FILE, &file);
        if (st == BC_OK)
            st = bc_cli_option_words(argv, BC_OPT_CA_BUNDLE, 0, file);
        free(file);
    }
    return st;
}
