/* fuzz.h: what every fuzz harness defines: libFuzzer calls these, and so does driver.c, which
 * replays the regression inputs in `make test` without libFuzzer. */
#ifndef YZ_FUZZ_H
#define YZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yuanzhu.h"

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

/* A record as it would be stored and hashed (its canonical JSON) must parse and validate again,
 * to the same bytes; what says what the record came from (in the message). */
static inline void fuzz_check_canonical(const yz_record *rec, const char *what)
{
    yz_diags d;
    yz_diags_init(&d);
    char *canon = yz_record_canonical(rec);
    yz_record *again = NULL;
    int rc = yz_record_parse(canon, strlen(canon), "canonical", &again, &d);
    FUZZ_ASSERT(rc == YZ_OK, "the canonical JSON of a valid %s does not parse as a record (%s: %s): %s", what,
                yz_rc_name(rc), d.n ? d.items[0].message : "", canon);
    char *canon2 = yz_record_canonical(again);
    FUZZ_ASSERT(!strcmp(canon, canon2), "canonical JSON is not stable:\n%s\n%s", canon, canon2);
    yz_free(canon2);
    yz_record_free(again);
    yz_free(canon);
    yz_diags_free(&d);
}

#endif
