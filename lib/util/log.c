#include "util/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SECRETS 64

static const char *log_program = "bc";
static bc_log_format log_format = BC_LOG_TEXT;
static int log_verbosity = 0;

/* Secrets are few and registered at start-up; the mutex only guards
 * against a worker thread logging while the list changes. */
static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[MAX_SECRETS];
static size_t nsecrets;

void bc_log_init(const char *program, bc_log_format format, int verbosity)
{
    const char *slash = strrchr(program, '/');
    log_program = slash ? slash + 1 : program;
    log_format = format;
    log_verbosity = verbosity;
}

int bc_log_enabled(bc_log_level level)
{
    if (log_verbosity <= -2)
        return 0;
    if (log_verbosity == -1)
        return level == BC_LOG_ERROR;
    return (int)level <= 1 + log_verbosity;
}

void bc_log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&secrets_lock);
    for (size_t i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            goto out;
    if (nsecrets < MAX_SECRETS) {
        char *copy = strdup(secret);
        if (copy)
            secrets[nsecrets++] = copy;
    }
out:
    pthread_mutex_unlock(&secrets_lock);
}

void bc_log_redact(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return;
    pthread_mutex_lock(&secrets_lock);
    while (*in && o + 1 < outlen) {
        size_t matched = 0;
        for (size_t i = 0; i < nsecrets; i++) {
            size_t n = strlen(secrets[i]);
            if (strncmp(in, secrets[i], n) == 0) {
                matched = n;
                break;
            }
        }
        if (matched) {
            for (const char *m = "***"; *m && o + 1 < outlen; m++)
                out[o++] = *m;
            in += matched;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
    pthread_mutex_unlock(&secrets_lock);
}

static const char *level_name(bc_log_level level)
{
    switch (level) {
    case BC_LOG_ERROR: return "error";
    case BC_LOG_WARNING: return "warning";
    case BC_LOG_INFO: return "info";
    case BC_LOG_DEBUG: return "debug";
    }
    return "info";
}

void bc_log(bc_log_level level, const char *fmt, ...)
{
    char raw[4096], msg[4096];
    va_list ap;

    if (!bc_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    bc_log_redact(raw, msg, sizeof msg);

    if (log_format == BC_LOG_JSON) {
        char ts[40];
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);
        json_t *line = json_pack("{s:s,s:s,s:s,s:s}", "level", level_name(level),
                                 "ts", ts, "logger", log_program, "msg", msg);
        char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
        if (text)
            fprintf(stderr, "%s\n", text);
        free(text);
        json_decref(line);
    } else {
        fprintf(stderr, "%s: %s%s\n", log_program,
                level == BC_LOG_ERROR ? "error: " :
                level == BC_LOG_WARNING ? "warning: " : "", msg);
    }
}

static bc_log_level level_from_name(const char *name)
{
    for (bc_log_level l = BC_LOG_ERROR; l <= BC_LOG_DEBUG; l++)
        if (name && strcmp(name, level_name(l)) == 0)
            return l;
    return BC_LOG_INFO;
}

bc_log_level bc_log_relay(const char *logger, long pid, const char *line, char *msg,
                          size_t msglen)
{
    char clean[4096];
    bc_log_redact(line, clean, sizeof clean);
    json_t *obj = json_loads(clean, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = json_pack("{s:s,s:s}", "level", "info", "msg", clean);
        if (!obj)
            return BC_LOG_INFO;
    }
    bc_log_level level = level_from_name(json_string_value(json_object_get(obj, "level")));
    const char *text = json_string_value(json_object_get(obj, "msg"));
    snprintf(msg, msglen, "%s", text ? text : clean);
    if (log_format == BC_LOG_JSON) {
        json_object_set_new(obj, "logger", json_string(logger));
        json_object_set_new(obj, "pid", json_integer(pid));
        char *out = json_dumps(obj, JSON_COMPACT);
        if (out)
            fprintf(stderr, "%s\n", out);
        free(out);
    } else {
        fprintf(stderr, "%s[%ld]: %s%s\n", logger, pid,
                level == BC_LOG_ERROR ? "error: " : level == BC_LOG_WARNING ? "warning: " : "",
                msg);
    }
    json_decref(obj);
    return level;
}

void bc_log_shutdown(void)
{
    pthread_mutex_lock(&secrets_lock);
    for (size_t i = 0; i < nsecrets; i++)
        free(secrets[i]);
    nsecrets = 0;
    pthread_mutex_unlock(&secrets_lock);
}
