/* cli.c: helpers shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <wchar.h>
#include <time.h>

static void verror(const cli *c, const char *fmt, va_list ap)
{
    /* the message quotes arguments, file names and values: shown escaped, on one line */
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        cli_out_of_memory(0);
    fprintf(stderr, "yuanzhu%s%s: error: %s\n", c->cmd ? " " : "", c->cmd ? c->cmd : "", cli_shown(msg));
    free(msg);
}

void cli_error(const cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(c, fmt, ap);
    va_end(ap);
}

bool cli_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int cli_help(const char *usage)
{
    fputs(usage, stdout);
    return 0;
}

int cli_usage(const cli *c, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(c, fmt, ap);
    va_end(ap);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

int cli_input_format(const cli *c, const char *v, const char **format)
{
    if (strcmp(v, "jsonl") && strcmp(v, "csv")) {
        cli_error(c, "--format takes jsonl or csv, not '%s'", v);
        return EXIT_USAGE;
    }
    *format = v;
    return 0;
}

int cli_one_input(const cli *c, const char **input, const char *arg, const char *what)
{
    if (*input) {
        cli_error(c, "one %s at a time ('%s' and '%s')", what, *input, arg);
        return EXIT_USAGE;
    }
    *input = arg;
    return 0;
}

const char *cli_shown(const char *s)
{
    /* a few at a time in one printf: each lives until eight later calls */
    static char *ring[8];
    static unsigned next;
    unsigned k = next++ % 8;
    yz_free(ring[k]);
    ring[k] = yz_text_escape(s, false);
    return ring[k];
}

int cli_check_operator(const cli *c, const char *operator_id)
{
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_operator_check(operator_id, &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    return rc == YZ_OK ? 0 : EXIT_USAGE;
}

size_t cli_print_diags(const cli *c, const yz_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const yz_diag *x = &d->items[i];
        char *s = yz_diag_format(x);
        if (x->file)
            fprintf(stderr, "%s\n", s);
        else
            fprintf(stderr, "yuanzhu%s%s: %s\n", c->cmd ? " " : "", c->cmd ? c->cmd : "", s);
        yz_free(s);
    }
    return d->n_errors;
}

int cli_exit_for(int rc)
{
    switch (rc) {
    case YZ_OK: return EXIT_OK_;
    case YZ_EPOLICY:
    case YZ_ENOTINFORCE: return EXIT_POLICY;
    case YZ_EIO:
    case YZ_EPARSE:
    case YZ_EINPUT: return EXIT_INPUT;
    case YZ_EUSAGE: return EXIT_USAGE;
    case YZ_ESTORE: return EXIT_STORE;
    default: return EXIT_INTERNAL;
    }
}

const char *cli_opt(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    (*i)++;
    return argv[*i];
}

void cli_today(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

int cli_finish(const cli *c, int code)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(c, "cannot write the output: %s", strerror(errno));
        return code ? code : EXIT_INTERNAL;
    }
    return code;
}

int cli_number(const cli *c, const char *opt, const char *v, unsigned long long lo, unsigned long long hi,
               unsigned long long *n)
{
    char *end;
    errno = 0;
    *n = strtoull(v, &end, 10);
    if (!*v) {
        cli_error(c, "%s needs a number from %llu to %llu after it", opt, lo, hi);
        return -1;
    }
    if (*v < '0' || *v > '9' || *end || errno || *n < lo || *n > hi) {
        cli_error(c, "%s takes a number from %llu to %llu, not '%s'", opt, lo, hi, v);
        return -1;
    }
    return 0;
}

int cli_limit_opt(const cli *c, int argc, char **argv, int *i, yz_limits *lim)
{
    const char *v;
    unsigned long long n;
    if ((v = cli_opt(argc, argv, i, "--instructions"))) {
        if (cli_number(c, "--instructions", v, 1000, 2000000000ULL, &n) != 0)
            return -1;
        lim->instructions = n;
        return 1;
    }
    if ((v = cli_opt(argc, argv, i, "--memory-mb"))) {
        if (cli_number(c, "--memory-mb", v, 4, 4096, &n) != 0)
            return -1;
        lim->memory_bytes = (size_t)n << 20;
        return 1;
    }
    if ((v = cli_opt(argc, argv, i, "--cpu-seconds"))) {
        if (cli_number(c, "--cpu-seconds", v, 1, 3600, &n) != 0)
            return -1;
        lim->cpu_ms = (unsigned)n * 1000;
        return 1;
    }
    return 0;
}

int cli_read(const char *path, char **out, size_t *len)
{
    const size_t max = 16u << 20;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f && errno == ENOMEM)
        cli_out_of_memory(0);
    if (!f)
        return errno;
    if (f != stdin) {
        /* a pipe (check <(...)) or a device is read like standard input, up to the limit */
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && (size_t)st.st_size > max))) {
            fclose(f);
            return S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
        }
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        cli_out_of_memory(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                if (f != stdin)
                    fclose(f);
                return EFBIG;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                cli_out_of_memory(cap + 1);
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    int err = ferror(f) ? (errno ? errno : EIO) : 0;
    if (f != stdin)
        fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

const char *cli_db_path(const char *opt)
{
    if (opt && *opt)
        return opt;
    const char *env = getenv("YUANZHU_DB");
    return env && *env ? env : "yuanzhu.db";
}

int cli_open_existing(const cli *c, const char *path, yz_store **st)
{
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOMEM)
        cli_out_of_memory(0);
    if (!f) {
        cli_error(c, "no store at %s: decisions are recorded by 'yuanzhu check' (or give --db PATH / YUANZHU_DB)", path);
        return EXIT_STORE;
    }
    fclose(f);
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_store_open(path, NULL, st, &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    return rc == YZ_OK ? 0 : EXIT_STORE;
}

int cli_key_add(const cli *c, cli_keys *ks, const char *path)
{
    if (!path || !*path) {
        cli_error(c, "a key option needs the path of a key file");
        return EXIT_USAGE;
    }
    if (ks->n == CLI_MAX_KEYS) {
        cli_error(c, "at most %d keys at a time", CLI_MAX_KEYS);
        return EXIT_USAGE;
    }
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_key_read(path, &ks->k[ks->n], &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (rc != YZ_OK)
        return rc == YZ_EIO ? EXIT_INPUT : EXIT_USAGE;
    ks->n++;
    return 0;
}

int cli_key_env(const cli *c, cli_keys *ks, const char *var)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return 0;
    char *copy = strdup(v), *save = NULL;
    if (!copy)
        cli_out_of_memory(strlen(v) + 1);
    int code = 0;
    for (char *p = strtok_r(copy, ":", &save); p && !code; p = strtok_r(NULL, ":", &save))
        code = cli_key_add(c, ks, p);
    free(copy);
    return code;
}

void cli_keys_free(cli_keys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        yz_key_free(ks->k[i]);
    ks->n = 0;
}

int cli_key_path(const cli *c, cli_key_paths *kp, const char *path)
{
    if (kp->n == CLI_MAX_KEYS) {
        cli_error(c, "at most %d keys at a time", CLI_MAX_KEYS);
        return EXIT_USAGE;
    }
    kp->p[kp->n++] = path;
    return 0;
}

int cli_keys_read(const cli *c, const cli_key_paths *kp, const char *env, cli_keys *ks)
{
    int code = 0;
    for (size_t i = 0; i < kp->n && !code; i++)
        code = cli_key_add(c, ks, kp->p[i]);
    return code || kp->n || !env ? code : cli_key_env(c, ks, env);
}

int cli_chain_key(const cli *c, yz_store *st, const char *path, yz_key **key)
{
    *key = NULL;
    if (!path || !*path)
        path = getenv("YUANZHU_CHAIN_KEY");
    if (!path || !*path)
        return 0;
    cli_keys ks = {{NULL}, 0};
    int code = cli_key_add(c, &ks, path);
    if (code)
        return code;
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_store_set_chain_key(st, ks.k[0], &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (rc != YZ_OK) {
        cli_keys_free(&ks);
        return EXIT_USAGE;
    }
    *key = ks.k[0];
    return 0;
}

size_t cli_width(const char *s)
{
    static locale_t utf8;
    if (!utf8)
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
    size_t cols = 0, len = strlen(s);
    mbstate_t st;
    memset(&st, 0, sizeof st);
    while (len) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, len, &st);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) { /* not UTF-8: count the byte */
            memset(&st, 0, sizeof st);
            n = 1;
            cols++;
        } else {
            int w = wcwidth(wc);
            cols += w > 0 ? (size_t)w : 0;
        }
        s += n;
        len -= n;
    }
    if (utf8)
        uselocale(old);
    return cols;
}

void cli_pad(const char *s, size_t width)
{
    fputs(s, stdout);
    for (size_t w = cli_width(s); w < width; w++)
        putchar(' ');
}
