// xtask-cflags: -msimd128
// Uses 128-bit SIMD, a proposal the runner does not enable: it must fail with status 125.
#include <stdio.h>
#include <wasm_simd128.h>

static volatile v128_t keep;

int main(int argc, char **argv) {
    keep = wasm_i32x4_splat(argc);
    v128_t b = wasm_i32x4_add(keep, keep);
    printf("simd %d\n", wasm_i32x4_extract_lane(b, 0));
    return 0;
}
