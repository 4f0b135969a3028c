// Waits for a line of a file, for tests that must act only once a background job has said
// something: `waitfor FILE TEXT [SECONDS]` reads FILE every 10 ms until a line of it contains
// TEXT (a plain substring), prints that line and exits 0; after SECONDS (default 60) without
// one, or on a bad argument, it says why on stderr and exits 1. A FILE that does not exist yet
// is waited for too (the job's redirection may not have created it yet).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The first line of `path` containing `text`, copied into `line`; 0 when there is none (yet).
static int find_line(const char *path, const char *text, char *line, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, (int)size, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4 || !argv[2][0]) {
        fprintf(stderr, "usage: waitfor FILE TEXT [SECONDS]\n");
        return 1;
    }
    char *end = NULL;
    double limit = argc == 4 ? strtod(argv[3], &end) : 60.0;
    if (argc == 4 && (end == argv[3] || *end || !(limit > 0))) {
        fprintf(stderr, "waitfor: %s: not a positive number of seconds\n", argv[3]);
        return 1;
    }
    char line[4096];
    double start = now();
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (;;) {
        if (find_line(argv[1], argv[2], line, sizeof line)) {
            size_t len = strlen(line);
            fputs(line, stdout);
            if (len == 0 || line[len - 1] != '\n')
                putchar('\n');
            return 0;
        }
        if (now() - start >= limit) {
            fprintf(stderr, "waitfor: no line of %s contains \"%s\" after %g s\n", argv[1],
                    argv[2], limit);
            return 1;
        }
        while (nanosleep(&tick, NULL) != 0 && errno == EINTR) {
        }
    }
}
