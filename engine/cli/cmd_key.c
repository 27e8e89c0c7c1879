/* cmd_key.c: `key new`, `key show`, `key trust`: signing keys and chain secrets. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: yuanzhu key new --alg sm2|ed25519|hmac --out NAME\n"
    "       yuanzhu key show FILE\n"
    "       yuanzhu key trust [--db PATH] PUBLIC_KEY\n"
    "\n"
    "new    makes a key.  sm2 (SM2 with SM3, 国密) and ed25519 sign checkpoints and rulesets: NAME.key\n"
    "       is the private key (PEM, readable by you only), NAME.pub the public key for whoever checks\n"
    "       your signatures.  hmac makes the secret of a keyed audit chain (yuanzhu init --chain-key),\n"
    "       NAME.key only.  Existing files are never overwritten.  Keep private keys and secrets away\n"
    "       from the store: whoever holds them can sign or chain what they like.\n"
    "show   prints a key's name (its algorithm and fingerprint), what it is, and its public key.\n"
    "trust  makes the store require that the ruleset of every decision recorded from now on be\n"
    "       signed by this key (or another the store trusts).  A store never forgets a trusted key.\n"
    "\n"
    "SM2 signatures use the distinguishing ID " YZ_SM2_ID "; check one with\n"
    "  openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:" YZ_SM2_ID " -pubin -inkey NAME.pub ...\n"
    "\n"
    "exit codes: 0 ok; 2 usage error; 4 a file cannot be read or written; 5 the store failed\n";

/* writes a new file with this mode, never replacing one; 0 or an errno value */
static int write_new(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errno;
    size_t n = strlen(text);
    int e = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : errno ? errno : EIO;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e)
        unlink(path);
    return e;
}

static int key_new(cli *c, const char *alg, const char *out)
{
    if (!alg || !out || !*out) {
        cli_error(c, "key new needs --alg sm2|ed25519|hmac and --out NAME (the files NAME.key and NAME.pub)");
        return EXIT_USAGE;
    }
    size_t n = strlen(out) + 5;
    char *priv = malloc(n), *pub = malloc(n);
    if (!priv || !pub)
        cli_out_of_memory(n);
    snprintf(priv, n, "%s.key", out);
    snprintf(pub, n, "%s.pub", out);
    bool hmac = !strcmp(alg, "hmac");
    int code = 0;
    if (access(priv, F_OK) == 0 || (!hmac && access(pub, F_OK) == 0)) {
        cli_error(c, "%s exists: a key is never overwritten; choose another --out NAME",
                  cli_shown(access(priv, F_OK) == 0 ? priv : pub));
        code = EXIT_USAGE;
    }
    yz_key *k = NULL;
    yz_diags d;
    yz_diags_init(&d);
    if (!code && yz_key_generate(alg, &k, &d) != YZ_OK)
        code = EXIT_USAGE;
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (!code) {
        char *text = yz_key_private_text(k);
        int e = write_new(priv, text, 0600);
        memset(text, 0, strlen(text));
        yz_free(text);
        if (e) {
            cli_error(c, "cannot write %s: %s", cli_shown(priv), strerror(e));
            code = EXIT_INPUT;
        }
    }
    if (!code && !hmac) {
        char *text = yz_key_public_pem(k);
        int e = write_new(pub, text, 0644);
        yz_free(text);
        if (e) {
            cli_error(c, "cannot write %s: %s", cli_shown(pub), strerror(e));
            unlink(priv);
            code = EXIT_INPUT;
        }
    }
    if (!code && hmac)
        printf("made %s: the chain secret %s (keep it away from the store; yuanzhu init --chain-key %s)\n", cli_shown(priv),
               yz_key_name(k), cli_shown(priv));
    else if (!code)
        printf("made %s (private, mode 0600) and %s (public): key %s\n", cli_shown(priv), cli_shown(pub), yz_key_name(k));
    yz_key_free(k);
    free(priv);
    free(pub);
    return code;
}

static int key_show(cli *c, const char *path)
{
    cli_keys ks = {{NULL}, 0};
    int code = cli_key_add(c, &ks, path);
    if (code)
        return code;
    const yz_key *k = ks.k[0];
    const char *alg = yz_key_alg(k);
    printf("name:      %s\n", yz_key_name(k));
    printf("algorithm: %s\n", !strcmp(alg, "sm2")       ? "sm2 (SM2 with SM3, distinguishing ID " YZ_SM2_ID ")"
                              : !strcmp(alg, "ed25519") ? "ed25519"
                                                        : "hmac (the secret of a keyed audit chain)");
    printf("kind:      %s\n", !strcmp(alg, "hmac") ? "secret" : yz_key_is_private(k) ? "private key" : "public key");
    char *pem = yz_key_public_pem(k);
    if (pem)
        fputs(pem, stdout);
    yz_free(pem);
    cli_keys_free(&ks);
    return 0;
}

static int key_trust(cli *c, const char *db, const char *path)
{
    cli_keys ks = {{NULL}, 0};
    int code = cli_key_add(c, &ks, path);
    if (code)
        return code;
    yz_store *st;
    const char *dbp = cli_db_path(db);
    if ((code = cli_open_existing(c, dbp, &st)) != 0) {
        cli_keys_free(&ks);
        return code;
    }
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_store_trust_key(st, ks.k[0], &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (rc == YZ_OK)
        printf("%s now records only decisions whose ruleset is signed by a key it trusts: %s and any trusted before\n",
               cli_shown(dbp), yz_key_name(ks.k[0]));
    yz_store_close(st);
    cli_keys_free(&ks);
    return rc == YZ_OK ? 0 : rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
}

int cmd_key(cli *c, int argc, char **argv)
{
    const char *sub = NULL, *alg = NULL, *out = NULL, *db = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(usage_text);
        } else if ((v = cli_opt(argc, argv, &i, "--alg"))) {
            alg = v;
        } else if ((v = cli_opt(argc, argv, &i, "--out"))) {
            out = v;
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if (!sub && (!strcmp(argv[i], "new") || !strcmp(argv[i], "show") || !strcmp(argv[i], "trust"))) {
            sub = argv[i];
        } else if (sub && strcmp(sub, "new") && argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            return cli_usage(c, usage_text, "unexpected '%s'", cli_shown(argv[i]));
        }
    }
    if (!sub) {
        return cli_usage(c, usage_text, "say what to do: key new, key show or key trust");
    }
    if (!strcmp(sub, "new"))
        return key_new(c, alg, out);
    if (!file) {
        cli_error(c, "key %s needs a key file", sub);
        return EXIT_USAGE;
    }
    return !strcmp(sub, "show") ? key_show(c, file) : key_trust(c, db, file);
}
