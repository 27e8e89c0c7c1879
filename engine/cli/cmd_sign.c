/* cmd_sign.c: `yuanzhu sign --key KEY FOLDER...`: a signature over each folder's ruleset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: yuanzhu sign --key PRIVATE_KEY FOLDER...\n"
    "\n"
    "Signs the ruleset of each policy folder (a province name such as guangdong/guangzhou, or a\n"
    "folder) and writes the signature to FOLDER/" YZ_RULESET_SIGNATURE ": the manifest of every file the\n"
    "ruleset is made of (the folder's YAML and Lua, the provinces it builds on, the national\n"
    "baseline, the rule library: their paths and SHA-256) and a signature line.  Signing a folder\n"
    "whose files have not changed with another key adds that key's line (a countersignature).\n"
    "A ruleset with errors is not signed.  lint, check and batch check the signature against the\n"
    "signer's public key (--ruleset-key, YUANZHU_RULESET_KEY, or the store's trusted keys).\n"
    "\n"
    "exit codes: 0 signed; 2 usage error; 3 the rules have errors; 4 a file cannot be read or written\n";

/* the folder on disk that --province-style name or path p names (caller frees) */
static char *folder_of(const cli *c, const char *p)
{
    struct stat sb;
    size_t n = strlen(c->home) + strlen(p) + 16;
    char *dir = malloc(n);
    if (!dir)
        cli_out_of_memory(n);
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(dir, n, "%s", p);
    else
        snprintf(dir, n, "%s/provinces/%s", c->home, p);
    return dir;
}

/* replaces path with text at once (a reader sees the old file or the new one) */
static int write_replace(const char *path, const char *text)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        cli_out_of_memory(n);
    snprintf(tmp, n, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    int e = 0;
    if (!f)
        e = errno;
    else {
        if (fputs(text, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0)
            e = errno ? errno : EIO;
        if (fclose(f) != 0 && !e)
            e = errno;
        if (!e && rename(tmp, path) != 0)
            e = errno;
        if (e)
            unlink(tmp);
    }
    free(tmp);
    return e;
}

static int sign_one(cli *c, const yz_key *key, const char *name)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    int rc = yz_ruleset_load(c->home, name, &rs, &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (rc != YZ_OK) {
        if (rc != YZ_EIO)
            cli_error(c, "the %s rules have errors: nothing was signed (run yuanzhu lint on the folder)", cli_shown(name));
        return rc == YZ_EIO ? EXIT_USAGE : EXIT_POLICY;
    }
    char *dir = folder_of(c, name);
    size_t n = strlen(dir) + sizeof YZ_RULESET_SIGNATURE + 2;
    char *path = malloc(n);
    if (!path)
        cli_out_of_memory(n);
    snprintf(path, n, "%s/%s", dir, YZ_RULESET_SIGNATURE);
    char *old = NULL, *text = NULL;
    size_t len;
    int e = cli_read(path, &old, &len);
    yz_diags_init(&d);
    rc = yz_ruleset_sign(rs, key, e ? NULL : old, &text, &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    free(old);
    int code = rc == YZ_OK ? 0 : rc == YZ_EUSAGE ? EXIT_USAGE : rc == YZ_EPOLICY ? EXIT_POLICY : EXIT_INTERNAL;
    if (!code && (e = write_replace(path, text)) != 0) {
        cli_error(c, "cannot write %s: %s", cli_shown(path), strerror(e));
        code = EXIT_INPUT;
    }
    if (!code) {
        const yz_file *files;
        size_t nf = yz_ruleset_files(rs, &files);
        printf("signed %s (ruleset %.12s, %zu files) with %s: %s\n", cli_shown(yz_ruleset_province(rs)), yz_ruleset_id(rs), nf,
               yz_key_name(key), cli_shown(path));
    }
    yz_free(text);
    free(path);
    free(dir);
    yz_ruleset_free(rs);
    return code;
}

int cmd_sign(cli *c, int argc, char **argv)
{
    cli_keys ks = {{NULL}, 0};
    int code = 0, nfolders = 0;
    for (int i = 1; i < argc && !code; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            cli_keys_free(&ks);
            return cli_help(usage_text);
        } else if ((v = cli_opt(argc, argv, &i, "--key"))) {
            if (ks.n) {
                cli_error(c, "one --key at a time (a second signer signs the folder again with theirs)");
                code = EXIT_USAGE;
            } else
                code = cli_key_add(c, &ks, v);
        } else if (argv[i][0] == '-') {
            code = cli_usage(c, usage_text, "unknown option '%s'", cli_shown(argv[i]));
        } else {
            nfolders++;
        }
    }
    if (!code && (!ks.n || !nfolders)) {
        cli_error(c, "%s", !ks.n ? "sign with which key? add --key PRIVATE_KEY (yuanzhu key new makes one)"
                                 : "name the policy folders to sign (e.g. provinces/guangdong)");
        code = EXIT_USAGE;
    }
    for (int i = 1; i < argc && !code; i++) {
        if (!strcmp(argv[i], "--key")) {
            i++;
            continue;
        }
        if (argv[i][0] == '-')
            continue;
        int r = sign_one(c, ks.k[0], argv[i]);
        if (r)
            code = r;
    }
    cli_keys_free(&ks);
    return code;
}
