#include "store/s3/aws_credentials.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* The keys of one profile, as read from the INI files. */
typedef struct profile_values {
    char *access_key;
    char *secret_key;
    char *session_token;
    char *region;
    int found;              /* the section exists */
} profile_values;

static void profile_values_free(profile_values *v)
{
    free(v->access_key);
    free(v->secret_key);
    free(v->session_token);
    free(v->region);
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
        if (slot && *value && set_value(slot, value) < 0) {
            st = bc_oom();
            break;
        }
    }
    free(line);
    fclose(f);
    return st;
}

static bc_status dup_into(char **dst, const char *src)
{
    if (!src)
        return BC_OK;
    *dst = strdup(src);
    return *dst ? BC_OK : bc_oom();
}

bc_status bc_aws_credentials_load(const char *profile_opt, bc_aws_credentials *out)
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

    const char *env_key = env("AWS_ACCESS_KEY_ID"), *env_secret = env("AWS_SECRET_ACCESS_KEY");
    const char *env_token = env("AWS_SESSION_TOKEN");
    if (!env_token)
        env_token = env("AWS_SECURITY_TOKEN");

    char source[1024];
    if (!explicit_profile && (env_key || env_secret)) {
        if (!env_key || !env_secret) {
            st = bc_error(BC_ERR_AUTH, "%s is set but %s is not",
                          env_key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          env_key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
            goto done;
        }
        snprintf(source, sizeof source, "environment variables");
        st = dup_into(&out->access_key, env_key);
        if (st == BC_OK)
            st = dup_into(&out->secret_key, env_secret);
        if (st == BC_OK)
            st = dup_into(&out->session_token, env_token);
        if (st != BC_OK)
            goto done;
    } else {
        const profile_values *from = cred.access_key ? &cred : conf.access_key ? &conf : NULL;
        if (!from) {
            if (explicit_profile && !cred.found && !conf.found)
                st = bc_error(BC_ERR_AUTH, "AWS profile '%s' not found in %s or %s", profile,
                              cred_path ? cred_path : "~/.aws/credentials",
                              conf_path ? conf_path : "~/.aws/config");
            else
                st = bc_error(BC_ERR_AUTH,
                              "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                              "or aws_access_key_id and aws_secret_access_key in profile '%s' of %s",
                              profile, cred_path ? cred_path : "~/.aws/credentials");
            goto done;
        }
        if (!from->secret_key) {
            st = bc_error(BC_ERR_AUTH, "profile '%s' in %s has aws_access_key_id but no "
                          "aws_secret_access_key", profile, from == &cred ? cred_path : conf_path);
            goto done;
        }
        snprintf(source, sizeof source, "profile '%s' in %s", profile,
                 from == &cred ? cred_path : conf_path);
        st = dup_into(&out->access_key, from->access_key);
        if (st == BC_OK)
            st = dup_into(&out->secret_key, from->secret_key);
        if (st == BC_OK)
            st = dup_into(&out->session_token, from->session_token);
        if (st != BC_OK)
            goto done;
    }
    st = dup_into(&out->source, source);
    if (st != BC_OK)
        goto done;

    const char *region = env("AWS_REGION");
    if (!region)
        region = env("AWS_DEFAULT_REGION");
    if (!region)
        region = conf.region;
    if (!region)
        region = "us-east-1";
    st = dup_into(&out->region, region);
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
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    free(c->region);
    free(c->source);
    memset(c, 0, sizeof *c);
}
