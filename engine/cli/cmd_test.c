/* cmd_test.c: `yuanzhu test PATH...` */
#include <string.h>

#include "cli.h"

int cmd_test(cli *c, int argc, char **argv)
{
    (void)c; (void)argc; (void)argv;
    return EXIT_INTERNAL;
}
