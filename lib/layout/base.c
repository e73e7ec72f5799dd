#include "layout/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "layout/wal.h" /* bc_server_name_check */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

bc_status bc_base_backup_id_check(const char *id)
{
    if (strlen(id) != BC_BACKUP_ID_LEN || !all_digits(id, 8) || id[8] != 'T' ||
        !all_digits(id + 9, 6))
        return bc_error(BC_ERR_USAGE, "'%s' is not a backup id (YYYYMMDDTHHMMSS)", id);
    return BC_OK;
}

bc_status bc_base_backup_id_format(time_t when, char out[BC_BACKUP_ID_LEN + 1])
{
    struct tm tm;
    /* barman-cloud: datetime.now().strftime("%Y%m%dT%H%M%S"), local time */
    if (!localtime_r(&when, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999 ||
        strftime(out, BC_BACKUP_ID_LEN + 1, "%Y%m%dT%H%M%S", &tm) != BC_BACKUP_ID_LEN)
        return bc_error(BC_ERR_USAGE, "cannot make a backup id for time %lld", (long long)when);
    return BC_OK;
}

static bc_status check_names(const char *server, const char *backup_id)
{
    bc_status st = bc_server_name_check(server);
    if (st != BC_OK || !backup_id)
        return st;
    if (!backup_id[0] || strchr(backup_id, '/') || !strcmp(backup_id, ".") ||
        !strcmp(backup_id, ".."))
        return bc_error(BC_ERR_USAGE, "invalid backup id '%s'", backup_id);
    return BC_OK;
}

/* "<prefix>/<server>/base/" [+ "<backup_id>/"] + the formatted rest. */
static bc_status base_key(const char *prefix, const char *server, const char *backup_id,
                          char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static bc_status base_key(const char *prefix, const char *server, const char *backup_id,
                          char *out, size_t outlen, const char *fmt, ...)
{
    bc_status st = check_names(server, backup_id);
    if (st != BC_OK)
        return st;
    int n = snprintf(out, outlen, "%s%s%s/base/%s%s", prefix, prefix[0] ? "/" : "", server,
                     backup_id ? backup_id : "", backup_id ? "/" : "");
    if (n >= 0 && (size_t)n < outlen) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(out + n, outlen - (size_t)n, fmt, ap);
        va_end(ap);
        n = m < 0 ? -1 : n + m;
    }
    if (n < 0 || (size_t)n >= outlen)
        return bc_error(BC_ERR_USAGE, "object key for backup %s of %s is too long",
                        backup_id ? backup_id : "", server);
    return BC_OK;
}

static bc_status check_suffix(const char *suffix)
{
    if (suffix[0] && (suffix[0] != '.' || strchr(suffix, '/')))
        return bc_error(BC_ERR_USAGE, "invalid archive suffix '%s'", suffix);
    return BC_OK;
}

bc_status bc_base_dir_key(const char *prefix, const char *server, char *out, size_t outlen)
{
    return base_key(prefix, server, NULL, out, outlen, "%s", "");
}

bc_status bc_base_backup_dir_key(const char *prefix, const char *server,
                                 const char *backup_id, char *out, size_t outlen)
{
    return base_key(prefix, server, backup_id, out, outlen, "%s", "");
}

bc_status bc_base_info_key(const char *prefix, const char *server, const char *backup_id,
                           char *out, size_t outlen)
{
    return base_key(prefix, server, backup_id, out, outlen, "%s", "backup.info");
}

/* barman's _build_dest_name(): name, "_%04d" after the first part, ".tar". */
bc_status bc_base_data_key(const char *prefix, const char *server, const char *backup_id,
                           unsigned part, const char *suffix, char *out, size_t outlen)
{
    bc_status st = check_suffix(suffix);
    if (st != BC_OK)
        return st;
    if (part == 0)
        return base_key(prefix, server, backup_id, out, outlen, "data.tar%s", suffix);
    return base_key(prefix, server, backup_id, out, outlen, "data_%04u.tar%s", part, suffix);
}

bc_status bc_base_tablespace_key(const char *prefix, const char *server,
                                 const char *backup_id, uint32_t oid, unsigned part,
                                 const char *suffix, char *out, size_t outlen)
{
    bc_status st = check_suffix(suffix);
    if (st != BC_OK)
        return st;
    if (oid == 0)
        return bc_error(BC_ERR_USAGE, "tablespace oid 0 is not valid");
    if (part == 0)
        return base_key(prefix, server, backup_id, out, outlen, "%u.tar%s", (unsigned)oid,
                        suffix);
    return base_key(prefix, server, backup_id, out, outlen, "%u_%04u.tar%s", (unsigned)oid,
                    part, suffix);
}

bc_status bc_base_object_key(const char *prefix, const char *server, const char *backup_id,
                             const char *name, char *out, size_t outlen)
{
    if (!name[0] || strchr(name, '/'))
        return bc_error(BC_ERR_USAGE, "invalid object name '%s' in backup %s", name, backup_id);
    return base_key(prefix, server, backup_id, out, outlen, "%s", name);
}

bc_status bc_base_keep_key(const char *prefix, const char *server, const char *backup_id,
                           char *out, size_t outlen)
{
    return base_key(prefix, server, backup_id, out, outlen, "%s", "annotations/keep");
}

/* A decimal number as "%u"/"%04u" print it: at least min_digits digits, no
 * leading zero beyond those; fits in 32 bits. */
static int parse_number(const char *s, size_t n, size_t min_digits, uint32_t *out)
{
    if (n < min_digits || n > 10 || !all_digits(s, n) || (n > min_digits && s[0] == '0'))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > UINT32_MAX)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* "<base>[_NNNN].tar[suffix]" with base "data" or an oid. */
static bc_base_object_kind parse_archive(const char *name, bc_base_object *obj)
{
    const char *tar = strstr(name, ".tar");
    if (!tar)
        return BC_BASE_OTHER;
    const char *under = memchr(name, '_', (size_t)(tar - name));
    const char *base_end = under ? under : tar;
    uint32_t part = 0, oid = 0;
    if (under && (!parse_number(under + 1, (size_t)(tar - under - 1), 4, &part) || part == 0))
        return BC_BASE_OTHER;
    bc_base_object_kind kind;
    if ((size_t)(base_end - name) == 4 && memcmp(name, "data", 4) == 0)
        kind = BC_BASE_DATA;
    else if (parse_number(name, (size_t)(base_end - name), 1, &oid) && oid != 0)
        kind = BC_BASE_TABLESPACE;
    else
        return BC_BASE_OTHER;
    const char *suffix = tar + 4;
    size_t suffix_len = 0;
    bc_codec_id codec = bc_codec_from_suffix(suffix, &suffix_len);
    if (suffix_len != strlen(suffix))
        return BC_BASE_OTHER;
    obj->kind = kind;
    obj->part = part;
    obj->oid = oid;
    obj->codec = codec;
    obj->suffix = suffix;
    return kind;
}

bc_base_object_kind bc_base_object_parse(const char *name, bc_base_object *obj)
{
    memset(obj, 0, sizeof *obj);
    obj->kind = BC_BASE_OTHER;
    const char *slash = strchr(name, '/');
    if (slash) {
        /* only "annotations/<name>" has a folder */
        if (slash - name != 11 || memcmp(name, "annotations", 11) != 0 || !slash[1] ||
            strchr(slash + 1, '/'))
            return BC_BASE_OTHER;
        obj->annotation = slash + 1;
        return obj->kind = BC_BASE_ANNOTATION;
    }
    if (strcmp(name, "backup.info") == 0)
        return obj->kind = BC_BASE_INFO;
    if (strcmp(name, "backup_manifest") == 0 || strcmp(name, "bc_archives.json") == 0)
        return obj->kind = BC_BASE_MANIFEST;
    return parse_archive(name, obj);
}
