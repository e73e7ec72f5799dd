/* WAL file names and where barman-cloud keeps them in the store.
 *
 *   <prefix>/<server>/wals/<TTTTTTTTLLLLLLLL>/<segment>[.suffix]
 *   <prefix>/<server>/wals/<TTTTTTTT>.history[.suffix]
 *
 * Accepted names are exactly barman's: a segment (24 hex digits), a
 * segment followed by ".partial", a backup label ("<segment>.<8 hex>.backup")
 * or a timeline history file ("<8 hex>.history"). */
#ifndef BC_LAYOUT_WAL_H
#define BC_LAYOUT_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

typedef enum bc_wal_kind {
    BC_WAL_INVALID = 0,
    BC_WAL_SEGMENT,
    BC_WAL_PARTIAL,
    BC_WAL_BACKUP,
    BC_WAL_HISTORY
} bc_wal_kind;

#define BC_WAL_SEGMENT_LEN 24

/* Classifies a bare file name (no directory part). */
bc_wal_kind bc_wal_classify(const char *name);
const char *bc_wal_basename(const char *path);

/* Timeline, log and segment numbers of a name of any kind (log and seg are
 * 0 for a history file). */
int bc_wal_parse(const char *name, uint32_t *tli, uint32_t *log, uint32_t *seg);

/* The first page header of a segment (PostgreSQL's XLogLongPageHeaderData,
 * in the byte order of the machine that wrote it, little-endian here). */
#define BC_WAL_LONG_HEADER_SIZE 40
typedef struct bc_wal_header {
    int valid;            /* 40 bytes read, with XLP_LONG_HEADER set */
    uint16_t magic;       /* changes with PostgreSQL's WAL format */
    uint32_t tli;         /* the timeline the page was written on */
    uint64_t pageaddr;    /* the LSN of the page: segment number * size */
    uint64_t sysid;       /* pg_control's system identifier */
    uint32_t seg_size, block_size;
} bc_wal_header;

void bc_wal_header_parse(const unsigned char *b, size_t len, bc_wal_header *h);

/* A timeline history file ("<tli>.history"): the timelines before it, in
 * order, each with the LSN where the next one branched off. Comments and
 * lines that are not "<tli> <hi>/<lo> [reason]" are skipped; at most
 * BC_WAL_HISTORY_MAX entries are kept. Returns the number of entries. */
#define BC_WAL_HISTORY_MAX 64
typedef struct bc_wal_history_entry {
    uint32_t tli;
    uint64_t switch_lsn;
} bc_wal_history_entry;
size_t bc_wal_history_parse(const char *text, size_t len,
                            bc_wal_history_entry out[BC_WAL_HISTORY_MAX]);

/* A server name becomes a path component: no '/', not "." or "..". */
bc_status bc_server_name_check(const char *server);

/* Whether size is a possible wal_segment_size: a power of two from 1 MiB
 * to 1 GiB, as PostgreSQL can be built with. */
int bc_wal_segment_size_valid(int64_t size);
/* The name of segment number segno of timeline tli, with per_log segments
 * in each 4 GiB log (4 GiB / segment size). */
void bc_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t per_log, char out[25]);

/* The folder of a server's whole WAL archive: "<prefix>/<server>/wals/". */
bc_status bc_wals_root_key(const char *prefix, const char *server, char *out, size_t outlen);

/* Folder of a WAL name, with trailing '/': ".../wals/TTTTTTTTLLLLLLLL/"
 * (".../wals/" for history files). */
bc_status bc_wal_dir_key(const char *prefix, const char *server, const char *name,
                         char *out, size_t outlen);
/* Object key for a WAL name stored with the given codec suffix ("" if none). */
bc_status bc_wal_key(const char *prefix, const char *server, const char *name,
                     const char *suffix, char *out, size_t outlen);

#endif
