// Arguments and environment: prints argc, each argument and $GREETING.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("hello from wasm: argc=%d", argc);
    for (int i = 1; i < argc; i++)
        printf(" [%s]", argv[i]);
    const char *g = getenv("GREETING");
    printf(" GREETING=%s\n", g ? g : "(unset)");
    return 0;
}
