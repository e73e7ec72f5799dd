/* util/timefmt: the timestamp forms cloud APIs, Kubernetes, PostgreSQL and
 * barman write. */
#include "util/timefmt.h"

#include <string.h>

#include "check.h"

int main(void)
{
    const time_t t = 1255369830; /* 2009-10-12 17:50:30 UTC */
    CHECK(bc_time_from_iso8601("2009-10-12T17:50:30Z") == t);
    CHECK(bc_time_from_iso8601("2009-10-12T17:50:30") == t);
    CHECK(bc_time_from_iso8601("2009-10-12T17:50:30.123456Z") == t);
    CHECK(bc_time_from_iso8601("2009-10-12 17:50:30") == t);
    /* offsets east and west of UTC, in each spelling */
    CHECK(bc_time_from_iso8601("2009-10-12T19:50:30+02:00") == t);
    CHECK(bc_time_from_iso8601("2009-10-12 19:50:30+02") == t);
    CHECK(bc_time_from_iso8601("2009-10-12 19:50:30.5+0200") == t);
    CHECK(bc_time_from_iso8601("2009-10-12T12:20:30-05:30") == t);
    CHECK(bc_time_from_iso8601("2009-10-13T03:50:30+10") == t);
    /* not timestamps */
    CHECK(bc_time_from_iso8601(NULL) == 0);
    CHECK(bc_time_from_iso8601("") == 0);
    CHECK(bc_time_from_iso8601("2009-10-12") == 0);
    CHECK(bc_time_from_iso8601("2009-10-12X17:50:30") == 0);
    CHECK(bc_time_from_iso8601("2009-10-12T17:50:30+2") == 0);
    CHECK(bc_time_from_iso8601("2009-10-12T17:50:30+25:00") == 0);
    CHECK(bc_time_from_iso8601("2009-10-12T17:50:30+02:7") == 0);

    CHECK(bc_time_from_ctime("Mon Oct 12 17:50:30 2009") == t);
    CHECK(bc_time_from_ctime("2009-10-12T17:50:30Z") == 0);
    char out[32];
    bc_time_to_rfc3339(t, out, sizeof out);
    CHECK(strcmp(out, "2009-10-12T17:50:30Z") == 0);

    return check_report("timefmt");
}
