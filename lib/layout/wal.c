#include "layout/wal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

bc_wal_kind bc_wal_classify(const char *name)
{
    size_t n = strlen(name);
    if (n == 16 && all_hex(name, 8) && strcmp(name + 8, ".history") == 0)
        return BC_WAL_HISTORY;
    if (n < BC_WAL_SEGMENT_LEN || !all_hex(name, BC_WAL_SEGMENT_LEN))
        return BC_WAL_INVALID;
    const char *rest = name + BC_WAL_SEGMENT_LEN;
    if (*rest == '\0')
        return BC_WAL_SEGMENT;
    if (strcmp(rest, ".partial") == 0)
        return BC_WAL_PARTIAL;
    if (strlen(rest) == 16 && rest[0] == '.' && all_hex(rest + 1, 8) &&
        strcmp(rest + 9, ".backup") == 0)
        return BC_WAL_BACKUP;
    return BC_WAL_INVALID;
}

const char *bc_wal_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static uint32_t hex32(const char *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        int c = tolower((unsigned char)s[i]);
        v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

int bc_wal_parse(const char *name, uint32_t *tli, uint32_t *log, uint32_t *seg)
{
    bc_wal_kind kind = bc_wal_classify(name);
    if (kind == BC_WAL_INVALID)
        return -1;
    *tli = hex32(name);
    *log = kind == BC_WAL_HISTORY ? 0 : hex32(name + 8);
    *seg = kind == BC_WAL_HISTORY ? 0 : hex32(name + 16);
    return 0;
}

bc_status bc_server_name_check(const char *server)
{
    if (!server[0] || strchr(server, '/') || !strcmp(server, ".") || !strcmp(server, ".."))
        return bc_error(BC_ERR_USAGE,
                        "invalid server name '%s': it must be a non-empty name without '/'",
                        server);
    /* The name goes into restore_command in postgresql.auto.conf, where a
     * newline ends the setting, and into one-line messages: refuse control
     * characters (barman-cloud takes any name, but none with one can have
     * worked). The name itself is not echoed: it would break the line. */
    for (const unsigned char *p = (const unsigned char *)server; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return bc_error(BC_ERR_USAGE,
                            "invalid server name: it holds a control character (0x%02x at "
                            "byte %zu)", *p, (size_t)(p - (const unsigned char *)server) + 1);
    return BC_OK;
}

bc_status bc_wals_root_key(const char *prefix, const char *server, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s%s%s/wals/", prefix, prefix[0] ? "/" : "", server);
    if (n < 0 || (size_t)n >= outlen)
        return bc_error(BC_ERR_USAGE, "server name is too long");
    return BC_OK;
}

bc_status bc_wal_dir_key(const char *prefix, const char *server, const char *name,
                         char *out, size_t outlen)
{
    uint32_t tli, log, seg;
    if (bc_wal_parse(name, &tli, &log, &seg) != 0)
        return bc_error(BC_ERR_USAGE, "'%s' is not a WAL file name", name);
    if (bc_wal_classify(name) == BC_WAL_HISTORY)
        return bc_wals_root_key(prefix, server, out, outlen);
    int n = snprintf(out, outlen, "%s%s%s/wals/%08X%08X/", prefix, prefix[0] ? "/" : "",
                     server, tli, log);
    if (n < 0 || (size_t)n >= outlen)
        return bc_error(BC_ERR_USAGE, "object key for %s is too long", name);
    return BC_OK;
}

bc_status bc_wal_key(const char *prefix, const char *server, const char *name,
                     const char *suffix, char *out, size_t outlen)
{
    bc_status st = bc_wal_dir_key(prefix, server, name, out, outlen);
    if (st != BC_OK)
        return st;
    size_t used = strlen(out);
    int n = snprintf(out + used, outlen - used, "%s%s", name, suffix);
    if (n < 0 || (size_t)n >= outlen - used)
        return bc_error(BC_ERR_USAGE, "object key for %s is too long", name);
    return BC_OK;
}

size_t bc_wal_history_parse(const char *text, size_t len,
                            bc_wal_history_entry out[BC_WAL_HISTORY_MAX])
{
    size_t n = 0;
    for (size_t at = 0; at < len && n < BC_WAL_HISTORY_MAX;) {
        const char *line = text + at, *nl = memchr(line, '\n', len - at);
        size_t linelen = nl ? (size_t)(nl - line) : len - at;
        at += linelen + 1;
        char buf[128];
        if (linelen == 0 || linelen >= sizeof buf || line[0] == '#')
            continue;
        memcpy(buf, line, linelen);
        buf[linelen] = '\0';
        unsigned long tli;
        unsigned hi, lo;
        char *end;
        tli = strtoul(buf, &end, 10);
        if (end == buf || tli == 0 || tli > UINT32_MAX || sscanf(end, " %X/%X", &hi, &lo) != 2)
            continue;
        out[n].tli = (uint32_t)tli;
        out[n++].switch_lsn = (uint64_t)hi << 32 | lo;
    }
    return n;
}

static uint64_t le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

void bc_wal_header_parse(const unsigned char *b, size_t len, bc_wal_header *h)
{
    memset(h, 0, sizeof *h);
    if (len < BC_WAL_LONG_HEADER_SIZE)
        return;
    h->magic = (uint16_t)le(b, 2);
    uint16_t info = (uint16_t)le(b + 2, 2);
    h->tli = (uint32_t)le(b + 4, 4);
    h->pageaddr = le(b + 8, 8);
    /* bytes 16-23: xlp_rem_len and padding */
    h->sysid = le(b + 24, 8);
    h->seg_size = (uint32_t)le(b + 32, 4);
    h->block_size = (uint32_t)le(b + 36, 4);
    h->valid = (info & 0x0002) != 0; /* XLP_LONG_HEADER */
}

int bc_wal_segment_size_valid(int64_t size)
{
    return size >= ((int64_t)1 << 20) && size <= ((int64_t)1 << 30) && (size & (size - 1)) == 0;
}

void bc_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t per_log, char out[25])
{
    snprintf(out, 25, "%08X%08X%08X", tli, (uint32_t)(segno / per_log),
             (uint32_t)(segno % per_log));
}
