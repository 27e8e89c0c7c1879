/* cmd_lint.c: `yuanzhu lint PATH...` */
#include <string.h>

#include "cli.h"

int cmd_lint(cli *c, int argc, char **argv)
{
    (void)c; (void)argc; (void)argv;
    return EXIT_INTERNAL;
}
