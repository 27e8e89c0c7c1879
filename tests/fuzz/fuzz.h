/* fuzz.h: what every fuzz harness defines: libFuzzer calls these, and so does driver.c, which
 * replays the regression inputs in `make test` without libFuzzer. */
#ifndef YZ_FUZZ_H
#define YZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Called once before the first input with the program's arguments: builds the state every input
 * shares (rulesets, sandboxes).  Returns 0. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Runs one input.  Returns 0; a bug is a crash (sanitizer report or abort). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message when an invariant of the engine does not hold (the input that
 * broke it is the reproducer). */
#define FUZZ_ASSERT(cond, ...)                                                  \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* FUZZ_VERBOSE=1 in the environment: harnesses print the diagnostics of each input (triage) */
#define FUZZ_SHOW_DIAGS(d)                                                      \
    do {                                                                        \
        if (getenv("FUZZ_VERBOSE"))                                             \
            for (size_t i_ = 0; i_ < (d)->n; i_++) {                            \
                char *m_ = yz_diag_format(&(d)->items[i_]);                     \
                fprintf(stderr, "%s\n", m_);                                    \
                yz_free(m_);                                                    \
            }                                                                   \
    } while (0)

#endif
