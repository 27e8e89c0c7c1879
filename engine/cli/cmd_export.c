/* cmd_export.c: `yuanzhu export`: recorded decisions as a spreadsheet (CSV) or JSON Lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char export_usage[] =
    "usage: yuanzhu export [--db PATH] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--province P]\n"
    "                      [--format csv|jsonl] [--encoding utf-8|gbk|gb18030] [--mask]\n"
    "                      [--header ids|zh] [--output FILE]\n"
    "\n"
    "Writes the recorded decisions, one row each in the order they were recorded, for a\n"
    "spreadsheet or a program: the decision's metadata (seq, decision, recorded_at, as_of,\n"
    "province, ruleset, operator, engine), the person (id_number, name, region: the hukou region),\n"
    "target (met / not_met / undetermined), status_loss (the status-loss rules met, ';'-separated),\n"
    "then a column per category of the rules involved (category.ID: met / not_met / undetermined)\n"
    "and four per subsidy (subsidy.ID: eligible / not_eligible / undetermined; subsidy.ID.amount_fen\n"
    "per period in fen, subsidy.ID.months, subsidy.ID.end when granted).  An empty cell: the item\n"
    "was not part of that decision (another province, or not in force then).\n"
    "\n"
    "  --from, --to     only decisions recorded on these dates (UTC, inclusive)\n"
    "  --province P     only decisions made with P's rules or its cities' (guangdong takes\n"
    "                   guangdong/guangzhou)\n"
    "  --format         csv (default; UTF-8 with a byte order mark, CRLF line ends, as Excel reads\n"
    "                   it) or jsonl (one JSON object per line, always UTF-8)\n"
    "  --encoding       gbk or gb18030 for Excel in Chinese locales (no byte order mark); a\n"
    "                   character GBK lacks becomes '?' with a warning: gb18030 holds all\n"
    "  --mask           ID numbers as 440106********0025, and no names (to share outside the office)\n"
    "  --header zh      the CSV header in Chinese (姓名, 大龄失业人员, ...) instead of ids\n"
    "  --output FILE    write to FILE instead of standard output (FILE.part until it is complete)\n"
    "\n"
    "The export reads one decision at a time: its memory does not grow with the store.\n"
    "\n"
    "exit codes: 0 ok; 2 usage error; 4 the output cannot be written; 5 the store cannot be read, or\n"
    "            some decisions are damaged (left out, each named; the others are written)\n"
    "\n"
    "example: yuanzhu export --province guangdong --from 2026-01-01 --to 2026-03-31 --mask \\\n"
    "             --encoding gbk --output q1.csv\n";

static int write_file(const char *buf, size_t n, void *ctx)
{
    return fwrite(buf, 1, n, (FILE *)ctx) == n ? 0 : -1;
}

int cmd_export(cli *c, int argc, char **argv)
{
    const char *db = NULL, *output = NULL, *header = NULL;
    yz_export_options o = {0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(export_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = cli_opt(argc, argv, &i, "--from"))) {
            o.from = v;
        } else if ((v = cli_opt(argc, argv, &i, "--to"))) {
            o.to = v;
        } else if ((v = cli_opt(argc, argv, &i, "--province"))) {
            o.province = v;
        } else if ((v = cli_opt(argc, argv, &i, "--format"))) {
            o.format = v;
        } else if ((v = cli_opt(argc, argv, &i, "--encoding"))) {
            o.encoding = v;
        } else if ((v = cli_opt(argc, argv, &i, "--header"))) {
            header = v;
        } else if ((v = cli_opt(argc, argv, &i, "--output"))) {
            output = v;
        } else if (!strcmp(argv[i], "--mask")) {
            o.mask = true;
        } else {
            return cli_usage(c, export_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (header && strcmp(header, "ids") && strcmp(header, "zh")) {
        cli_error(c, "--header takes ids or zh, not '%s'", header);
        return EXIT_USAGE;
    }
    o.zh_header = header && !strcmp(header, "zh");
    yz_store *st;
    int code = cli_open_existing(c, cli_db_path(db), &st);
    if (code)
        return code;
    /* a file is written under a temporary name and renamed when complete: an export that fails
       or is killed half-way leaves no half-written file under the name asked for */
    FILE *f = stdout;
    char *part = NULL;
    if (output) {
        size_t n = strlen(output) + 8;
        part = malloc(n);
        if (!part)
            cli_out_of_memory(n);
        snprintf(part, n, "%s.part", output);
        if (!(f = fopen(part, "wb"))) {
            if (errno == ENOMEM)
                cli_out_of_memory(0);
            cli_error(c, "cannot write %s: %s", output, strerror(errno));
            free(part);
            yz_store_close(st);
            return EXIT_INPUT;
        }
    }
    o.write = write_file;
    o.ctx = f;
    yz_diags d;
    yz_diags_init(&d);
    yz_export_summary sum;
    int rc = yz_export(st, &o, &sum, &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    yz_store_close(st);
    if (part) {
        bool written = fclose(f) == 0, complete = rc == YZ_OK || rc == YZ_EFAILED; /* EFAILED: damaged rows left out */
        if (complete && (!written || rename(part, output) != 0)) {
            cli_error(c, "cannot write %s: %s", output, strerror(errno));
            rc = YZ_EIO;
            complete = false;
        }
        if (!complete)
            remove(part);
        else
            fprintf(stderr, "exported %llu decisions (%zu categories, %zu subsidies) to %s\n",
                    (unsigned long long)sum.decisions, sum.categories, sum.subsidies, output);
        free(part);
    }
    /* damaged decisions were left out (each named above): the store needs audit verify */
    return rc == YZ_OK ? 0 : rc == YZ_EIO ? EXIT_INPUT : rc == YZ_EFAILED ? EXIT_STORE : cli_exit_for(rc);
}
