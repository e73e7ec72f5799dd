/* Object names of base backups, as barman-cloud-backup writes them:
 *
 *   <prefix>/<server>/base/<backup_id>/backup.info
 *   <prefix>/<server>/base/<backup_id>/data.tar[.gz]        PGDATA, first part
 *   <prefix>/<server>/base/<backup_id>/data_0001.tar[.gz]   PGDATA, part 1, 2, ...
 *   <prefix>/<server>/base/<backup_id>/<oid>.tar[.gz]       a tablespace
 *   <prefix>/<server>/base/<backup_id>/<oid>_0001.tar[.gz]
 *   <prefix>/<server>/base/<backup_id>/annotations/keep     barman-cloud-backup-keep
 *   <prefix>/<server>/base/<backup_id>/backup_manifest      bc: PostgreSQL's manifest
 *   <prefix>/<server>/base/<backup_id>/bc_archives.json     bc: the archive objects
 *
 * The part number is "_%04d" (more digits past 9999); the first part has
 * none. barman itself only reads ".tar", ".tar.gz", ".tar.bz2" and
 * ".tar.snappy" archives. A backup id is the local time the backup started,
 * "%Y%m%dT%H%M%S"; barman lists any folder under base/ as a backup. With an
 * empty prefix keys start with the server name. */
#ifndef BC_LAYOUT_BASE_H
#define BC_LAYOUT_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "codec/codec.h"
#include "util/status.h"

#define BC_BACKUP_ID_LEN 15 /* "20240305T142231" */

/* barman's is_backup_id(): 8 digits, 'T', 6 digits (no date check). */
bc_status bc_base_backup_id_check(const char *backup_id);
/* The id barman-cloud gives a backup started at `when` (local time). */
bc_status bc_base_backup_id_format(time_t when, char out[BC_BACKUP_ID_LEN + 1]);

/* "<prefix>/<server>/base/": where to list backups (one folder each). */
bc_status bc_base_dir_key(const char *prefix, const char *server, char *out, size_t outlen);
/* "<prefix>/<server>/base/<backup_id>/". The id only has to be a path
 * component, so folders barman lists can be addressed whatever their name. */
bc_status bc_base_backup_dir_key(const char *prefix, const char *server,
                                 const char *backup_id, char *out, size_t outlen);
bc_status bc_base_info_key(const char *prefix, const char *server, const char *backup_id,
                           char *out, size_t outlen);
/* PGDATA archive: part 0 is "data.tar<suffix>", part N "data_%04u.tar<suffix>";
 * suffix is a codec suffix (bc_codec_suffix()), "" for none. */
bc_status bc_base_data_key(const char *prefix, const char *server, const char *backup_id,
                           unsigned part, const char *suffix, char *out, size_t outlen);
/* Tablespace archive: "<oid>.tar<suffix>", "<oid>_%04u.tar<suffix>". */
bc_status bc_base_tablespace_key(const char *prefix, const char *server,
                                 const char *backup_id, uint32_t oid, unsigned part,
                                 const char *suffix, char *out, size_t outlen);
/* ".../base/<backup_id>/annotations/keep". barman 3.13.3 moved annotations
 * of backups on a barman server to its meta directory; barman-cloud kept
 * this key in every version, so there is no other location to look at. */
bc_status bc_base_keep_key(const char *prefix, const char *server, const char *backup_id,
                           char *out, size_t outlen);

/* "<prefix>/<server>/base/<backup_id>/<name>" for a name of the folder
 * itself ("backup_manifest"). */
bc_status bc_base_object_key(const char *prefix, const char *server, const char *backup_id,
                             const char *name, char *out, size_t outlen);

typedef enum bc_base_object_kind {
    BC_BASE_OTHER = 0,
    BC_BASE_INFO,       /* backup.info */
    BC_BASE_DATA,       /* data[_NNNN].tar[suffix] */
    BC_BASE_TABLESPACE, /* <oid>[_NNNN].tar[suffix] */
    BC_BASE_ANNOTATION, /* annotations/<name> */
    BC_BASE_MANIFEST,   /* backup_manifest, bc_archives.json (bc-backup) */
} bc_base_object_kind;

typedef struct bc_base_object {
    bc_base_object_kind kind;
    unsigned part;          /* archives: 0 for the first part */
    uint32_t oid;           /* BC_BASE_TABLESPACE */
    bc_codec_id codec;      /* archives */
    const char *suffix;     /* archives: the codec suffix inside name, "" if none */
    const char *annotation; /* BC_BASE_ANNOTATION: the name inside name ("keep") */
} bc_base_object;

/* Classifies a name relative to the backup folder ("data_0001.tar.gz",
 * "annotations/keep"). Archives are recognised only in the form barman
 * writes (no "_0000", 4+ digits without extra leading zeros, a decimal oid
 * without leading zeros) with no suffix or a suffix of lib/codec. */
bc_base_object_kind bc_base_object_parse(const char *name, bc_base_object *obj);

#endif
