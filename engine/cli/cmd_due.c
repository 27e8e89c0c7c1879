/* cmd_due.c: `yuanzhu due`: whose status changes by a date, and what the caseworker should do. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char due_usage[] =
    "usage: yuanzhu due --by YYYY-MM-DD [--from YYYY-MM-DD] [--province P] [--region CODE]\n"
    "                   [--json | --csv] [--mask] [--jobs N] [--db PATH]\n"
    "\n"
    "Lists everyone whose status changes between their newest decision's as-of date (or --from,\n"
    "when later) and --by: a subsidy period ends, the cumulative limit of a subsidy is reached, an\n"
    "age threshold is crossed, retirement age is reached, the months of unemployment cross a\n"
    "category's threshold, a status-loss rule (身份丧失) applies, an amount changes with a dated\n"
    "standard, the policy's period ends (e.g. Shanghai's on 2026-12-31), or a review is due where\n"
    "the province's rules set an interval.  Each row gives the day, what to do (复核 review the\n"
    "case, 续办 renew a subsidy whose period ends, 停发 stop a payment), the cause, and the rule and\n"
    "legal basis it rests on.\n"
    "\n"
    "The days come from the rules themselves: the record and the rules stored with the decision are\n"
    "evaluated again at the dates the rules expose, monthly in between, and by bisection to the first\n"
    "day the outcome differs.  Granted monthly subsidies are taken as received without a break from\n"
    "their start; nothing else in the record is assumed to change.\n"
    "\n"
    "  --by DATE       the last day to look at (required)\n"
    "  --from DATE     start on DATE instead of the decision's as-of date (e.g. today)\n"
    "  --province P    newest decisions made with P's rules or its cities'\n"
    "  --region CODE   people whose hukou or unemployment registration is in CODE (GB/T 2260:\n"
    "                  440000 a province, 440100 a city, 440106 a district)\n"
    "  --json          one JSON object per line (sorted keys), each change with its conditions\n"
    "  --csv           CSV (UTF-8 with a byte order mark) for a spreadsheet\n"
    "  --mask          ID numbers as 440106********0025, and no names\n"
    "  --jobs N        worker threads (default: one per CPU)\n"
    "\n"
    "exit codes: 0 ok (also when nothing is due); 2 usage error; 4 the report cannot be written;\n"
    "            5 the store cannot be read, or some decisions are damaged (left out, each named);\n"
    "            70 out of memory\n"
    "\n"
    "example: yuanzhu due --from 2026-06-01 --by 2026-12-31 --province guangdong --region 440106\n";

static const char *cause_zh(const char *cause)
{
    static const char *const names[][2] = {
        {"subsidy_ends", "补贴期满"},     {"limit_reached", "累计期限届满"}, {"age", "年龄条件"},
        {"retirement", "达到退休年龄"},   {"unemployment", "失业时长"},      {"status_loss", "身份丧失"},
        {"amount_changes", "标准调整"},   {"policy_ends", "政策到期"},       {"policy_changes", "政策更替"},
        {"review_due", "定期复核"},       {"rule", "条件变化"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i][0], cause))
            return names[i][1];
    return cause;
}

static int write_stdout(const char *buf, size_t n, void *ctx)
{
    (void)ctx;
    return fwrite(buf, 1, n, stdout) == n ? 0 : -1;
}

static void print_text(const yz_due_report *rep, const yz_due_options *o, bool mask)
{
    const yz_due_row *rows;
    size_t n = yz_due_rows(rep, &rows);
    const yz_due_summary *sum = yz_due_summary_of(rep);
    printf("到期提醒：截至 %s（自各人最近一次决定的核定日期%s%s%s起）\n", o->by, o->from ? "或 " : "",
           o->from ? o->from : "", o->from ? " 中较晚者" : "");
    printf("查看 %llu 人，%zu 项需要办理\n", (unsigned long long)sum->persons, n);
    if (!n)
        return;
    putchar('\n');
    cli_pad("日期", 12);
    cli_pad("办理", 6);
    cli_pad("原因", 14);
    cli_pad("身份号码", 20);
    printf("%s\n", mask ? "" : "姓名");
    for (size_t i = 0; i < n; i++) {
        const yz_due_row *r = &rows[i];
        char masked[32];
        yz_mask_id(r->id_number, masked);
        cli_pad(r->date, 12);
        cli_pad(r->action, 6);
        cli_pad(cause_zh(r->cause), 14);
        cli_pad(cli_shown(mask ? masked : r->id_number), 20);
        printf("%s\n", mask || !r->name ? "" : cli_shown(r->name));
        printf("    %s\n", cli_shown(r->summary));
        printf("    ");
        if (r->basis)
            printf("依据：%s · ", cli_shown(r->basis));
        if (r->rule)
            printf("规则：%s · ", cli_shown(r->rule));
        printf("决定 %s（核定日期 %s，%s）\n", r->decision, cli_shown(r->decision_as_of), cli_shown(r->province));
    }
}

int cmd_due(cli *c, int argc, char **argv)
{
    const char *db = NULL, *format = NULL;
    bool mask = false;
    yz_due_options o = {0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(due_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = cli_opt(argc, argv, &i, "--by"))) {
            o.by = v;
        } else if ((v = cli_opt(argc, argv, &i, "--from"))) {
            o.from = v;
        } else if ((v = cli_opt(argc, argv, &i, "--province"))) {
            o.province = v;
        } else if ((v = cli_opt(argc, argv, &i, "--region"))) {
            o.region = v;
        } else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "--csv")) {
            if (format && strcmp(format, argv[i] + 2)) {
                cli_error(c, "--json or --csv: choose one");
                return EXIT_USAGE;
            }
            format = !strcmp(argv[i], "--json") ? "jsonl" : "csv";
        } else if ((v = cli_opt(argc, argv, &i, "--jobs"))) {
            unsigned long long n;
            if (cli_number(c, "--jobs", v, 1, 64, &n) != 0)
                return EXIT_USAGE;
            o.jobs = (int)n;
        } else if (!strcmp(argv[i], "--mask")) {
            mask = true;
        } else {
            return cli_usage(c, due_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (!o.by) {
        return cli_usage(c, due_usage, "by which date? add --by YYYY-MM-DD");
    }
    yz_store *st;
    int code = cli_open_existing(c, cli_db_path(db), &st);
    if (code)
        return code;
    yz_diags d;
    yz_diags_init(&d);
    yz_due_report *rep = NULL;
    int rc = yz_due_run(st, &o, &rep, &d);
    if (rep && format) {
        int w = yz_due_write(rep, format, mask, write_stdout, NULL, &d);
        if (w != YZ_OK)
            rc = w;
    } else if (rep) {
        print_text(rep, &o, mask);
    }
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    yz_due_report_free(rep);
    yz_store_close(st);
    /* damaged decisions were left out (each named above): the store needs audit verify */
    return rc == YZ_OK ? 0 : rc == YZ_EIO ? EXIT_INPUT : rc == YZ_EFAILED ? EXIT_STORE : cli_exit_for(rc);
}
