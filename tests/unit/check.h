/* The check counter shared by the C unit tests: each program counts its
 * checks and ends with one "NAME: N passed, N failed" line. */
#ifndef BC_TESTS_CHECK_H
#define BC_TESTS_CHECK_H

#include <stdio.h>

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

#endif
