// Imports a function nobody provides (`env.missing_fn`): it must fail to instantiate, with
// one line naming the import, and status 125.
#include <stdio.h>

__attribute__((import_module("env"), import_name("missing_fn"))) int missing_fn(void);

int main(void) {
    printf("never printed %d\n", missing_fn());
    return 0;
}
