/* cmd_serve.c: `yuanzhu serve`, the decision service (engine/serve/), and `yuanzhu token`, the
 * bearer tokens it accepts. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "serve/serve.h"

static const char serve_usage[] =
    "usage: yuanzhu serve [--listen 127.0.0.1:8080 | --listen unix:PATH] [--db PATH] [--tokens FILE]\n"
    "                     [--threads N] [--max-body BYTES] [--timeout SECONDS] [--request-timeout SECONDS]\n"
    "                     [--max-connections N] [--cpu-seconds N] [--web DIR]\n"
    "                     [--ruleset-key FILE]... [--require-signed] [--chain-key FILE]\n"
    "                     [--checkpoint-every SECONDS --checkpoint-key FILE... [--checkpoint-file FILE]]\n"
    "\n"
    "Serves the engine over HTTP: JSON endpoints under /v1 (described by /v1/openapi.json) for the\n"
    "systems around a caseworker, and a caseworker's web page at /.  Every province's rules are\n"
    "loaded and linted at start; SIGHUP reloads them and the tokens file (a ruleset with errors is\n"
    "never used: the one loaded before stays in service, and /health says so).  SIGTERM or SIGINT\n"
    "finishes the requests in progress and stops.\n"
    "\n"
    "  --listen ADDR        HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one, printed at\n"
    "                       start) or unix:PATH.  Only loopback unless you name another address:\n"
    "                       tokens travel in clear, so put TLS (a reverse proxy) in front of it\n"
    "  --db PATH            the decision store (or YUANZHU_DB; default ./yuanzhu.db, created if absent);\n"
    "                       this process is its only writer while it runs\n"
    "  --tokens FILE        bearer tokens (or YUANZHU_TOKENS; default ./yuanzhu.tokens): hashes of\n"
    "                       tokens with the operator, role and province of each, mode 0600;\n"
    "                       made with 'yuanzhu token add'\n"
    "  --threads N          HTTP worker threads (default: 2 per CPU, at least 4)\n"
    "  --max-body BYTES     the largest request body (default 1048576); larger ones get 413\n"
    "  --timeout S          close a connection silent for S seconds (default 15)\n"
    "  --request-timeout S  close a connection whose request has not fully arrived after S seconds\n"
    "                       (default 30; a client that trickles bytes cannot hold it longer)\n"
    "  --max-connections N  connections at once (default 512)\n"
    "  --cpu-seconds N      stop a rule call after N s of CPU time (default 5): that request fails\n"
    "                       with 500 and nothing is recorded\n"
    "  --web DIR            the web page's files (default: HOME/web, else HOME/engine/web)\n"
    "  --ruleset-key FILE   a public key that may have signed a province's rules (repeat for more; or\n"
    "                       YUANZHU_RULESET_KEY): a folder with a signature (" YZ_RULESET_SIGNATURE ") is used only\n"
    "                       when it holds, at start and on every reload, as batch checks it\n"
    "  --require-signed     use only signed rulesets (always so when the store trusts a key)\n"
    "  --chain-key FILE     the secret of a keyed chain (init --chain-key; or YUANZHU_CHAIN_KEY)\n"
    "  --checkpoint-every S sign a checkpoint of the audit chain's head at start, every S seconds when\n"
    "                       decisions were recorded since the last one, and when stopping (the\n"
    "                       timer in place of running 'yuanzhu audit checkpoint' by hand)\n"
    "  --checkpoint-key FILE the private key that signs them (repeat to sign with several)\n"
    "  --checkpoint-file FILE also append each checkpoint to FILE: keep it away from the store\n"
    "                       (another disk, a log shipper); audit verify --checkpoint FILE --pubkey KEY\n"
    "                       then proves the store still holds what each covered\n"
    "\n"
    "roles: caseworker  determine and record (for the token's province, if it names one), read\n"
    "                   that province's decisions\n"
    "       auditor     read decisions, replay them, audit head and verify, metrics; never records\n"
    "       policy      determine without recording (\"dry_run\": true)\n"
    "       admin       everything\n"
    "The operator recorded with a decision is the token's, never a field of the request.\n"
    "\n"
    "exit codes: 0 stopped by a signal; 2 usage error (also: bad tokens file, a key, cannot listen);\n"
    "            3 no province's rules can be used; 5 the store cannot be opened\n"
    "\n"
    "example: yuanzhu token add --operator gz-0042 --role caseworker --province guangdong\n"
    "         yuanzhu serve --listen 127.0.0.1:8080\n";

static int number_opt(const cli *c, const char *name, const char *v, unsigned long long lo, unsigned long long hi,
                      unsigned long long *out)
{
    return cli_number(c, name, v, lo, hi, out);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int cmd_serve(cli *c, int argc, char **argv)
{
    const char *listen_addr = "127.0.0.1:8080", *db = NULL, *web = NULL;
    const char *tokens = getenv("YUANZHU_TOKENS");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    serve_config cfg = {0};
    cfg.threads = ncpu > 2 ? (unsigned)ncpu * 2 : 4;
    cfg.max_body = 1 << 20;
    cfg.idle_timeout = 15;
    cfg.request_timeout = 30;
    cfg.max_connections = 512;
    cli_key_paths ruleset_key_paths = {{NULL}, 0}, cp_key_paths = {{NULL}, 0};
    const char *chain = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        unsigned long long n;
        if (cli_is_help(argv[i])) {
            return cli_help(serve_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--listen"))) {
            listen_addr = v;
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = cli_opt(argc, argv, &i, "--tokens"))) {
            tokens = v;
        } else if ((v = cli_opt(argc, argv, &i, "--web"))) {
            web = v;
        } else if ((v = cli_opt(argc, argv, &i, "--threads"))) {
            if (number_opt(c, "--threads", v, 1, 256, &n))
                return EXIT_USAGE;
            cfg.threads = (unsigned)n;
        } else if ((v = cli_opt(argc, argv, &i, "--max-body"))) {
            if (number_opt(c, "--max-body", v, 1024, 64ull << 20, &n))
                return EXIT_USAGE;
            cfg.max_body = (size_t)n;
        } else if ((v = cli_opt(argc, argv, &i, "--timeout"))) {
            if (number_opt(c, "--timeout", v, 1, 3600, &n))
                return EXIT_USAGE;
            cfg.idle_timeout = (unsigned)n;
        } else if ((v = cli_opt(argc, argv, &i, "--request-timeout"))) {
            if (number_opt(c, "--request-timeout", v, 1, 3600, &n))
                return EXIT_USAGE;
            cfg.request_timeout = (unsigned)n;
        } else if ((v = cli_opt(argc, argv, &i, "--cpu-seconds"))) {
            if (number_opt(c, "--cpu-seconds", v, 1, 3600, &n))
                return EXIT_USAGE;
            cfg.limits.cpu_ms = (unsigned)n * 1000;
        } else if ((v = cli_opt(argc, argv, &i, "--max-connections"))) {
            if (number_opt(c, "--max-connections", v, 1, 100000, &n))
                return EXIT_USAGE;
            cfg.max_connections = (unsigned)n;
        } else if ((v = cli_opt(argc, argv, &i, "--ruleset-key"))) {
            if (cli_key_path(c, &ruleset_key_paths, v))
                return EXIT_USAGE;
        } else if (!strcmp(argv[i], "--require-signed")) {
            cfg.require_signed = true;
        } else if ((v = cli_opt(argc, argv, &i, "--chain-key"))) {
            chain = v;
        } else if ((v = cli_opt(argc, argv, &i, "--checkpoint-every"))) {
            if (number_opt(c, "--checkpoint-every", v, 1, 7 * 86400, &n))
                return EXIT_USAGE;
            cfg.checkpoint_every = (unsigned)n;
        } else if ((v = cli_opt(argc, argv, &i, "--checkpoint-key"))) {
            if (cli_key_path(c, &cp_key_paths, v))
                return EXIT_USAGE;
        } else if ((v = cli_opt(argc, argv, &i, "--checkpoint-file"))) {
            cfg.checkpoint_file = v;
        } else {
            return cli_usage(c, serve_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (!*listen_addr) {
        cli_error(c, "--listen needs an address: 127.0.0.1:8080 or unix:PATH");
        return EXIT_USAGE;
    }
    if (cfg.checkpoint_every && !cp_key_paths.n) {
        cli_error(c, "--checkpoint-every needs --checkpoint-key FILE: the private key that signs the checkpoints "
                     "(yuanzhu key new)");
        return EXIT_USAGE;
    }
    if (!cfg.checkpoint_every && (cp_key_paths.n || cfg.checkpoint_file)) {
        cli_error(c, "--checkpoint-key and --checkpoint-file go with --checkpoint-every SECONDS");
        return EXIT_USAGE;
    }
    if (cfg.checkpoint_file && !*cfg.checkpoint_file) {
        cli_error(c, "--checkpoint-file needs a file name");
        return EXIT_USAGE;
    }
    cli_keys ruleset_keys = {{NULL}, 0}, cp_keys = {{NULL}, 0}, chain_key = {{NULL}, 0};
    int kc = cli_keys_read(c, &ruleset_key_paths, "YUANZHU_RULESET_KEY", &ruleset_keys);
    if (!kc)
        kc = cli_keys_read(c, &cp_key_paths, NULL, &cp_keys);
    if (!kc && (chain || ((chain = getenv("YUANZHU_CHAIN_KEY")) && *chain)))
        kc = cli_key_add(c, &chain_key, chain);
    for (size_t k = 0; !kc && k < cp_keys.n; k++)
        if (!yz_key_is_private(cp_keys.k[k])) {
            cli_error(c, "--checkpoint-key %s is a public key: checkpoints are signed with the private one",
                      cli_shown(cp_key_paths.p[k]));
            kc = EXIT_USAGE;
        }
    if (kc) {
        cli_keys_free(&ruleset_keys);
        cli_keys_free(&cp_keys);
        cli_keys_free(&chain_key);
        return kc;
    }
    cfg.ruleset_keys = (const yz_key *const *)ruleset_keys.k;
    cfg.n_ruleset_keys = ruleset_keys.n;
    cfg.checkpoint_keys = (const yz_key *const *)cp_keys.k;
    cfg.n_checkpoint_keys = cp_keys.n;
    cfg.chain_key = chain_key.n ? chain_key.k[0] : NULL;
    char *webdir = NULL;
    if (web)
        webdir = strdup(web);
    else {
        char *a = NULL, *b = NULL;
        if (asprintf(&a, "%s/web", c->home) < 0 || asprintf(&b, "%s/engine/web", c->home) < 0)
            cli_out_of_memory(0);
        webdir = is_dir(a) ? a : b;
        free(webdir == a ? b : a);
    }
    if (!webdir)
        cli_out_of_memory(0);
    cfg.home = c->home;
    cfg.listen = listen_addr;
    cfg.db = cli_db_path(db);
    cfg.tokens = tokens && *tokens ? tokens : "yuanzhu.tokens";
    cfg.web = webdir;

    /* the signals are taken by this thread alone: block them before any other thread starts */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    serve *s = NULL;
    char err[1024];
    int code = serve_start(&cfg, &s, err, sizeof err);
    if (code) {
        cli_error(c, "%s", err);
        free(webdir);
        cli_keys_free(&ruleset_keys);
        cli_keys_free(&cp_keys);
        cli_keys_free(&chain_key);
        return code;
    }
    const char *host = listen_addr;
    bool loopback = !strncmp(host, "unix:", 5) || !strncmp(host, "127.", 4) || !strncmp(host, "[::1]", 5) ||
                    !strncmp(host, "localhost:", 10);
    if (!loopback)
        serve_log("warning: listening beyond loopback (%s): bearer tokens travel in clear text; put a TLS proxy in front",
                  listen_addr);
    serve_log("listening on %s (store %s, tokens %s, web %s)", serve_url(s), cfg.db, cfg.tokens, webdir);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            serve_log("SIGHUP: reloading the rules and the tokens");
            serve_reload(s);
        } else {
            serve_log("%s: finishing the requests in progress and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    serve_stop(s);
    serve_log("stopped");
    free(webdir);
    cli_keys_free(&ruleset_keys);
    cli_keys_free(&cp_keys);
    cli_keys_free(&chain_key);
    return 0;
}

static const char token_usage[] =
    "usage: yuanzhu token add --operator ID --role caseworker|auditor|policy|admin [--province P]\n"
    "                         [--tokens FILE] [--hash sha256|sm3]\n"
    "\n"
    "Makes a new bearer token for `yuanzhu serve`, prints it once on standard output, and appends\n"
    "only its hash (with the operator, role and province) to the tokens file (or YUANZHU_TOKENS;\n"
    "default ./yuanzhu.tokens), created with mode 0600.  Keep the token where the caller keeps its\n"
    "secrets: it cannot be shown again.  To revoke one, delete its line and send SIGHUP to the server.\n"
    "\n"
    "  --operator ID   the operator id recorded with every decision made with this token\n"
    "  --role ROLE     caseworker, auditor, policy or admin (see yuanzhu serve --help)\n"
    "  --province P    binds a caseworker to a province (and its cities)\n"
    "  --hash ALG      the hash kept in the file: sha256 (default) or sm3\n"
    "\n"
    "exit codes: 0 made; 2 usage error or the file cannot be written\n";

int cmd_token(cli *c, int argc, char **argv)
{
    const char *sub = NULL, *op = NULL, *role = NULL, *province = NULL, *hash = "sha256";
    const char *tokens = getenv("YUANZHU_TOKENS");
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(token_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--operator"))) {
            op = v;
        } else if ((v = cli_opt(argc, argv, &i, "--role"))) {
            role = v;
        } else if ((v = cli_opt(argc, argv, &i, "--province"))) {
            province = v;
        } else if ((v = cli_opt(argc, argv, &i, "--tokens"))) {
            tokens = v;
        } else if ((v = cli_opt(argc, argv, &i, "--hash"))) {
            hash = v;
        } else if (!sub && !strcmp(argv[i], "add")) {
            sub = argv[i];
        } else {
            return cli_usage(c, token_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (!sub) {
        return cli_usage(c, token_usage, "say what to do: token add");
    }
    if (!op || !*op || !role || !*role) {
        return cli_usage(c, token_usage, "a token needs --operator ID and --role ROLE");
    }
    const char *path = tokens && *tokens ? tokens : "yuanzhu.tokens";
    char tok[128], err[512];
    if (serve_token_add(path, hash, op, role, province, tok, sizeof tok, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        return EXIT_USAGE;
    }
    printf("%s\n", tok);
    fprintf(stderr, "added a token for %s (%s%s%s) to %s; it is printed once, above: keep it safe\n", op, role,
            province && *province ? " in " : "", province && *province ? province : "", path);
    return 0;
}
