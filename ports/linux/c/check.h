// The checks the C test programs share: `check(ok, what)` prints `ok WHAT`, or
// `FAIL WHAT (errno text)`, and counts it in `passed` or `failed`; each program prints its own
// `NAME: N passed, N failed` line at the end and exits with status 0 only if nothing failed.
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what) {
    if (ok) {
        printf("ok %s\n", what);
        passed++;
    } else {
        printf("FAIL %s (%s)\n", what, strerror(errno));
        failed++;
    }
}

#endif
