/* cmd_show.c: `yuanzhu show`: one recorded decision, as check printed it, or exactly as stored. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char show_usage[] =
    "usage: yuanzhu show [--db PATH] [--json | --input] DECISION_ID\n"
    "\n"
    "Prints a recorded decision as check printed it when it was made: the conclusion, each\n"
    "category and subsidy with its reason and legal basis, what was still missing, and who recorded\n"
    "it when.  DECISION_ID is the id check printed (or its first 6 or more digits).\n"
    "\n"
    "  --json    the determination exactly as recorded: its canonical JSON, byte for byte\n"
    "  --input   the applicant record it was made from (canonical JSON)\n"
    "  --db PATH the decision store (or YUANZHU_DB; default ./yuanzhu.db)\n"
    "\n"
    "The text is written from the recorded determination, not decided again (replay does that).\n"
    "\n"
    "exit codes: 0 ok; 2 usage error or no such decision; 5 the store cannot be read\n";

/* the text of a stored decision, items in the order of its ruleset's files when they load */
static char *stored_text(const cli *c, const yz_stored *s)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    if (yz_ruleset_load_files(s->files, s->nfiles, s->province, &rs, &d) != YZ_OK)
        cli_error(c, "note: the stored ruleset %.12s cannot be loaded, so items are listed by id", s->ruleset);
    yz_diags_free(&d);
    char *text = NULL;
    if (yz_determination_json_text(s->output, rs, &text) != YZ_OK)
        cli_error(c, "decision %s holds no readable determination (the store is damaged: run audit verify)", s->id);
    yz_ruleset_free(rs);
    return text;
}

int cmd_show(cli *c, int argc, char **argv)
{
    const char *db = NULL, *id = NULL;
    bool input = false, json = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(show_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if (!strcmp(argv[i], "--input")) {
            input = true;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] != '-' && !id) {
            id = argv[i];
        } else {
            return cli_usage(c, show_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (!id) {
        return cli_usage(c, show_usage, "which decision? give its id");
    }
    if (input && json) {
        cli_error(c, "--json prints the determination, --input the record: choose one");
        return EXIT_USAGE;
    }
    yz_store *st;
    const char *path = cli_db_path(db);
    int code = cli_open_existing(c, path, &st);
    if (code)
        return code;
    yz_diags d;
    yz_diags_init(&d);
    yz_stored *s = NULL;
    int rc = yz_store_load(st, id, !input && !json, &s, &d);
    cli_print_diags(c, &d);
    if (rc != YZ_OK) {
        code = rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
    } else if (input) {
        printf("%s\n", s->input);
    } else if (json) {
        fputs(s->output, stdout);
    } else {
        char *text = stored_text(c, s);
        if (text) {
            fputs(text, stdout);
            printf("\n决定编号 %s（%s，序号 %lld，记录于 %s，经办人 %s，%s）\n", s->id, cli_shown(path), (long long)s->seq,
                   cli_shown(s->recorded_at), cli_shown(s->operator_id), cli_shown(s->engine));
        } else {
            code = EXIT_STORE;
        }
        yz_free(text);
    }
    yz_stored_free(s);
    yz_diags_free(&d);
    yz_store_close(st);
    return code;
}
