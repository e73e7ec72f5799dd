#include "store/s3/aws_credentials.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* The keys of one profile, as read from the INI files. */
typedef struct profile_values {
    char *access_key;
    char *secret_key;
    char *session_token;
    char *region;
    char *role_arn;
    char *web_identity_token_file;
    char *role_session_name;
    char *role_source;      /* source_profile or credential_source (unsupported) */
    int found;              /* the section exists */
} profile_values;

static void profile_values_free(profile_values *v)
{
    free(v->access_key);
    free(v->secret_key);
    free(v->session_token);
    free(v->region);
    free(v->role_arn);
    free(v->web_identity_token_file);
    free(v->role_session_name);
    free(v->role_source);
    memset(v, 0, sizeof *v);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* ~/rest with the home directory; NULL if out of memory or no home. */
static char *home_path(const char *rest)
{
    const char *home = env("HOME");
    char buf[4096];
    struct passwd pw, *res = NULL;
    if (!home && getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res)
        home = res->pw_dir;
    if (!home)
        return NULL;
    size_t n = strlen(home) + strlen(rest) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", home, rest);
    return p;
}

/* The file named by env var `var` (with "~/" expanded), else ~/default_rest. */
static char *file_path(const char *var, const char *default_rest)
{
    const char *v = env(var);
    if (!v)
        return home_path(default_rest);
    if (v[0] == '~' && v[1] == '/')
        return home_path(v + 2);
    return strdup(v);
}

/* Whether the header line "[...]" (brackets stripped, trimmed) names the
 * profile: in the credentials file "[name]", in the config file
 * "[profile name]" or, for the default profile, "[default]". */
static int section_matches(char *header, const char *profile, int config_file)
{
    header = trim(header);
    if (!config_file)
        return strcmp(header, profile) == 0;
    if (strcmp(profile, "default") == 0 && strcmp(header, "default") == 0)
        return 1;
    if (strncmp(header, "profile", 7) != 0 || !isspace((unsigned char)header[7]))
        return 0;
    return strcmp(trim(header + 8), profile) == 0;
}

static int set_value(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Reads the profile's section of an INI file into v (later keys win). A
 * missing file is not an error. */
static bc_status read_profile(const char *path, const char *profile, int config_file,
                              profile_values *v)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return BC_OK;
        return bc_error(BC_ERR_AUTH, "cannot read %s: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    int in_section = 0;
    bc_status st = BC_OK;
    while (getline(&line, &cap, f) >= 0) {
        /* Indented lines belong to a nested block (e.g. "s3 =\n  key = v"). */
        if (line[0] == ' ' || line[0] == '\t')
            continue;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close) {
                *close = '\0';
                in_section = section_matches(s + 1, profile, config_file);
                if (in_section)
                    v->found = 1;
            } else {
                in_section = 0;
            }
            continue;
        }
        if (!in_section)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        char **slot = NULL;
        if (strcmp(key, "aws_access_key_id") == 0)
            slot = &v->access_key;
        else if (strcmp(key, "aws_secret_access_key") == 0)
            slot = &v->secret_key;
        else if (strcmp(key, "aws_session_token") == 0 || strcmp(key, "aws_security_token") == 0)
            slot = &v->session_token;
        else if (config_file && strcmp(key, "region") == 0)
            slot = &v->region;
        else if (strcmp(key, "role_arn") == 0)
            slot = &v->role_arn;
        else if (strcmp(key, "web_identity_token_file") == 0)
            slot = &v->web_identity_token_file;
        else if (strcmp(key, "role_session_name") == 0)
            slot = &v->role_session_name;
        else if (strcmp(key, "source_profile") == 0 || strcmp(key, "credential_source") == 0)
            slot = &v->role_source;
        if (slot && *value && set_value(slot, value) < 0) {
            st = bc_oom();
            break;
        }
    }
    free(line);
    fclose(f);
    return st;
}

/* The profile's keys, from the credentials file first. */
static const profile_values *profile_keys(const profile_values *cred, const profile_values *conf)
{
    return cred->access_key ? cred : conf->access_key ? conf : NULL;
}

/* A profile value, from the credentials file first. */
#define PROFILE_GET(f) (cred.f ? cred.f : conf.f)

/* STS AssumeRoleWithWebIdentity of role_arn with the token in token_file. */
static bc_status web_identity(bc_aws_credentials *out, const char *role_arn,
                              const char *token_file, const char *session_name,
                              const char *region, const char *ca_bundle)
{
    char sts[1024], name[64];
    const char *url = env("AWS_ENDPOINT_URL_STS");
    if (!url)
        url = env("AWS_ENDPOINT_URL");
    if (!url) {
        snprintf(sts, sizeof sts, "https://sts.%s.amazonaws.com%s", region,
                 strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
        url = sts;
    }
    if (!session_name) {
        snprintf(name, sizeof name, "botocore-session-%lld", (long long)time(NULL));
        session_name = name;
    }
    return bc_aws_web_identity(out, role_arn, token_file, session_name, url, ca_bundle);
}

/* Container credentials, when the variables name an endpoint. */
static bc_status container(bc_aws_credentials *out, const char *ca_bundle)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char url[2048];
    if (rel)
        snprintf(url, sizeof url, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
    else
        snprintf(url, sizeof url, "%s", full);
    return bc_aws_container(out, url, env("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                            env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), ca_bundle);
}

static int env_true(const char *name)
{
    const char *v = env(name);
    return v && strcasecmp(v, "true") == 0;
}

bc_status bc_aws_credentials_load(const char *profile_opt, const char *ca_bundle,
                                  bc_aws_credentials *out)
{
    bc_status st = BC_OK;
    profile_values cred = { 0 }, conf = { 0 };
    char *cred_path = NULL, *conf_path = NULL;
    int explicit_profile = profile_opt && *profile_opt;
    const char *profile = explicit_profile ? profile_opt : env("AWS_PROFILE");
    if (!profile)
        profile = "default";

    memset(out, 0, sizeof *out);
    cred_path = file_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    conf_path = file_path("AWS_CONFIG_FILE", ".aws/config");
    if (cred_path)
        st = read_profile(cred_path, profile, 0, &cred);
    if (st == BC_OK && conf_path)
        st = read_profile(conf_path, profile, 1, &conf);
    if (st != BC_OK)
        goto done;

    const char *region = env("AWS_REGION");
    if (!region)
        region = env("AWS_DEFAULT_REGION");
    if (!region)
        region = conf.region;
    if (!region)
        region = "us-east-1";
    st = bc_aws_dup(&out->region, region);
    if (st != BC_OK)
        goto done;

    const char *env_key = env("AWS_ACCESS_KEY_ID"), *env_secret = env("AWS_SECRET_ACCESS_KEY");
    const char *env_token = env("AWS_SESSION_TOKEN");
    if (!env_token)
        env_token = env("AWS_SECURITY_TOKEN");
    const char *env_role = env("AWS_ROLE_ARN"), *env_token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    const profile_values *from = profile_keys(&cred, &conf);
    const char *where = from == &conf || (!cred.found && conf.found) ? conf_path : cred_path;
    const char *role_arn = PROFILE_GET(role_arn);
    const char *role_token_file = PROFILE_GET(web_identity_token_file);

    char source[2048];
    if (!explicit_profile && (env_key || env_secret)) {
        if (!env_key || !env_secret) {
            st = bc_error(BC_ERR_AUTH, "%s is set but %s is not",
                          env_key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          env_key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
            goto done;
        }
        snprintf(source, sizeof source, "environment variables");
        st = bc_aws_dup(&out->access_key, env_key);
        if (st == BC_OK)
            st = bc_aws_dup(&out->secret_key, env_secret);
        if (st == BC_OK)
            st = bc_aws_dup(&out->session_token, env_token);
        if (st == BC_OK)
            st = bc_aws_dup(&out->source, source);
    } else if (!explicit_profile && env_role && env_token_file) {
        snprintf(source, sizeof source, "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)");
        st = bc_aws_dup(&out->source, source);
        if (st == BC_OK)
            st = web_identity(out, env_role, env_token_file, env("AWS_ROLE_SESSION_NAME"),
                              region, ca_bundle);
    } else if (from) {
        if (!from->secret_key) {
            st = bc_error(BC_ERR_AUTH, "profile '%s' in %s has aws_access_key_id but no "
                          "aws_secret_access_key", profile, where);
            goto done;
        }
        snprintf(source, sizeof source, "profile '%s' in %s", profile, where);
        st = bc_aws_dup(&out->access_key, from->access_key);
        if (st == BC_OK)
            st = bc_aws_dup(&out->secret_key, from->secret_key);
        if (st == BC_OK)
            st = bc_aws_dup(&out->session_token, from->session_token);
        if (st == BC_OK)
            st = bc_aws_dup(&out->source, source);
    } else if (role_arn && role_token_file) {
        snprintf(source, sizeof source, "web identity of profile '%s' in %s", profile, where);
        st = bc_aws_dup(&out->source, source);
        if (st == BC_OK)
            st = web_identity(out, role_arn, role_token_file, PROFILE_GET(role_session_name),
                              region, ca_bundle);
    } else if (role_arn) {
        st = bc_error(BC_ERR_AUTH, "profile '%s' in %s assumes role %s through %s, which bc "
                      "does not support (only role_arn with web_identity_token_file; see "
                      "bc-store(7))", profile, where, role_arn,
                      PROFILE_GET(role_source) ? "source_profile or credential_source"
                                               : "no web_identity_token_file");
    } else if (explicit_profile && !cred.found && !conf.found) {
        st = bc_error(BC_ERR_AUTH, "AWS profile '%s' not found in %s or %s", profile,
                      cred_path ? cred_path : "~/.aws/credentials",
                      conf_path ? conf_path : "~/.aws/config");
    } else if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
               env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        snprintf(source, sizeof source, "container credentials (AWS_CONTAINER_CREDENTIALS_%s_URI)",
                 env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ? "RELATIVE" : "FULL");
        st = bc_aws_dup(&out->source, source);
        if (st == BC_OK)
            st = container(out, ca_bundle);
    } else if (!env_true("AWS_EC2_METADATA_DISABLED")) {
        const char *imds = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        snprintf(source, sizeof source, "EC2 instance metadata at %s",
                 imds ? imds : "http://169.254.169.254");
        st = bc_aws_dup(&out->source, source);
        if (st == BC_OK)
            st = bc_aws_imds(out, imds ? imds : "http://169.254.169.254",
                             env_true("AWS_EC2_METADATA_V1_DISABLED"));
        if (st != BC_OK)
            bc_error_context(st, "no AWS credentials (set AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY, keys in profile '%s' of %s, web identity "
                             "or container variables: see bc-store(7)), and none from", profile,
                             cred_path ? cred_path : "~/.aws/credentials");
    } else {
        st = bc_error(BC_ERR_AUTH,
                      "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                      "or aws_access_key_id and aws_secret_access_key in profile '%s' of %s",
                      profile, cred_path ? cred_path : "~/.aws/credentials");
    }
    if (st != BC_OK)
        goto done;

    bc_log_add_secret(out->secret_key);
    bc_log_add_secret(out->session_token);

done:
    if (st != BC_OK)
        bc_aws_credentials_free(out);
    profile_values_free(&cred);
    profile_values_free(&conf);
    free(cred_path);
    free(conf_path);
    return st;
}

void bc_aws_credentials_free(bc_aws_credentials *c)
{
    if (!c)
        return;
    if (c->secret_key)
        explicit_bzero(c->secret_key, strlen(c->secret_key));
    if (c->session_token)
        explicit_bzero(c->session_token, strlen(c->session_token));
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    free(c->region);
    free(c->source);
    bc_aws_refresh_free(c->refresh);
    memset(c, 0, sizeof *c);
}
