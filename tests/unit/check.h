/* The check counter shared by the C unit tests: each program counts its
 * checks and ends with one "NAME: N passed, N failed" line. */
#ifndef BC_TESTS_CHECK_H
#define BC_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int passed, failed;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (cond)                                                               \
            passed++;                                                           \
        else {                                                                  \
            failed++;                                                           \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
        }                                                                       \
    } while (0)

/* CHECK with a printf-style note of what was seen, for a failure to say. */
#define CHECK_MSG(cond, ...)                                                    \
    do {                                                                        \
        if (cond)                                                               \
            passed++;                                                           \
        else {                                                                  \
            failed++;                                                           \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            printf(__VA_ARGS__);                                                \
            printf("\n");                                                       \
        }                                                                       \
    } while (0)

/* Removes a test's scratch tree (a path without quotes); a failure to is
 * a failed check, so a test never leaves litter unnoticed. */
static inline void check_remove_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        failed++;
        printf("FAIL could not remove %s\n", dir);
    }
}

/* The closing line, and main's return value. */
static inline int check_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    return failed != 0;
}

#endif
