/* main.c: runs every unit test group; exit status 1 when a check failed. */
#include <stdlib.h>

#include "unit.h"

int unit_checks, unit_failures;

static const struct {
    const char *name;
    void (*fn)(void);
} groups[] = {
    {"util", test_util},       {"dates", test_dates},     {"schema", test_schema},
    {"library", test_library}, {"sandbox", test_sandbox}, {"eval", test_eval},
    {"lualint", test_lualint}, {"yaml", test_yaml},       {"json", test_json},     {"jsonfast", test_jsonfast},
    {"merge", test_merge},     {"store", test_store},
    {"records", test_records}, {"ledger", test_ledger}, {"sign", test_sign}, {"batch", test_batch},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (argc > 1 && strcmp(argv[1], groups[i].name) != 0)
            continue;
        int before = unit_failures;
        groups[i].fn();
        printf("%-8s %s\n", groups[i].name, unit_failures == before ? "ok" : "FAILED");
    }
    printf("unit: %d checks, %d failed\n", unit_checks, unit_failures);
    return unit_failures ? 1 : 0;
}
