// A read-eval-print loop over standard input, as interactive WASI programs are: prints a
// prompt, reads a line (`add A B`, `mul A B`, `quit`), answers `= N` or an error, until `quit`
// or end of file (then `bye`).
#include <stdio.h>
#include <string.h>

int main(void) {
    char line[256];
    for (;;) {
        fputs("> ", stdout);
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            break;
        char op[16];
        long a, b;
        if (strncmp(line, "quit", 4) == 0)
            break;
        if (sscanf(line, "%15s %ld %ld", op, &a, &b) == 3 && strcmp(op, "add") == 0)
            printf("= %ld\n", a + b);
        else if (sscanf(line, "%15s %ld %ld", op, &a, &b) == 3 && strcmp(op, "mul") == 0)
            printf("= %ld\n", a * b);
        else
            printf("? %s", line);
    }
    printf("bye\n");
    return 0;
}
