// Directory listing in a preopen (argv[1]): makes COUNT (argv[2], default 3) files with
// long names, lists them with readdir (several fd_readdir calls with cookies when many),
// prints the count and the first names in order.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int count = argc > 2 ? atoi(argv[2]) : 3;
    char path[512];
    for (int i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/entry-with-a-fairly-long-name-%04d", argv[1], i);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror("create");
            return 1;
        }
        fclose(f);
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror("opendir");
        return 1;
    }
    int seen = 0, dots = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            dots++;
            continue;
        }
        if (seen < 2)
            printf("%s type=%s\n", e->d_name, e->d_type == DT_REG ? "file" : "other");
        seen++;
    }
    closedir(d);
    printf("entries: %d\n", seen);
    return 0;
}
