/* driver.c: replays fuzz inputs without libFuzzer: calls a harness on every file named on the
 * command line, so the crash reproducers run in `make test` (gcc) and `make check` (sanitizers).
 * Prints one line with the count; a bug in the engine shows as a crash or abort. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "yz_util.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    /* FUZZ_TRACE: name each input first, so a crash report says which one it was */
    bool trace = getenv("FUZZ_TRACE") != NULL;
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (trace)
            fprintf(stderr, "%s\n", argv[i]);
        char *data;
        size_t len;
        int e = yz_read_file(argv[i], 64u << 20, &data, &len);
        if (e) {
            fprintf(stderr, "%s: cannot read: %s\n", argv[i], strerror(e));
            return 1;
        }
        /* an exact copy, so that reading past the input is caught as it is under libFuzzer */
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
            abort();
        memcpy(copy, data, len);
        yz_free(data);
        LLVMFuzzerTestOneInput(copy, len);
        free(copy);
        n++;
    }
    printf("%d inputs\n", n);
    return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}
