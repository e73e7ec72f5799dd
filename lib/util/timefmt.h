/* Timestamps as text, in UTC: the ISO 8601 / RFC 3339 form cloud APIs and
 * Kubernetes write, and the ctime() form of barman's JSON. */
#ifndef BC_UTIL_TIMEFMT_H
#define BC_UTIL_TIMEFMT_H

#include <stddef.h>
#include <time.h>

/* "2009-10-12T17:50:30[.000][Z|+hh[:mm]|-hh[mm]]" -> seconds since the
 * epoch; 0 when it is not one. A space may stand for the T, as PostgreSQL
 * writes timestamps ("2009-10-12 19:50:30+02"); no offset means UTC. */
time_t bc_time_from_iso8601(const char *s);
/* "Mon Oct 12 17:50:30 2009" (barman's to_json(), UTC) -> seconds; 0 if not. */
time_t bc_time_from_ctime(const char *s);
/* t as "2009-10-12T17:50:30Z". */
void bc_time_to_rfc3339(time_t t, char *out, size_t len);

#endif
