/* yz_testcase.h: checking YAML test files without running them (for lint). */
#ifndef YZ_TESTCASE_H
#define YZ_TESTCASE_H

#include "yz_policy.h"

/* Checks the structure of every test file in dir/tests against a loaded ruleset: unknown keys,
 * unknown category and subsidy ids, statuses.  Problems go to d; returns the number of files. */
size_t testcase_check_folder(const yz_ruleset *rs, const char *dir, yz_diags *d);

#endif
