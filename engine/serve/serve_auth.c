/* serve_auth.c: bearer tokens and roles.  The tokens file holds no token, only its hash:
 *
 *     # HASH OPERATOR ROLE [PROVINCE]
 *     sha256:9f86d081884c7d65...  gz-0042  caseworker  guangdong
 *
 * and must be readable by its owner alone (like ssh's keys).  A request's identity is the
 * token's: the operator recorded with a decision comes from here, never from the request. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"

typedef struct token_entry {
    char alg[8];
    char hash[65];
    serve_principal p;
} token_entry;

struct serve_tokens {
    token_entry *items;
    size_t n;
};

static const struct role {
    const char *name;
    unsigned rights;
} roles[] = {
    {"caseworker", RIGHT_DETERMINE | RIGHT_RECORD | RIGHT_READ | RIGHT_ANY},
    {"auditor", RIGHT_READ | RIGHT_REPLAY | RIGHT_VERIFY | RIGHT_METRICS | RIGHT_ANY},
    {"policy", RIGHT_DETERMINE | RIGHT_ANY},
    {"admin", RIGHT_DETERMINE | RIGHT_RECORD | RIGHT_READ | RIGHT_REPLAY | RIGHT_VERIFY | RIGHT_METRICS | RIGHT_ANY},
};

unsigned serve_role_rights(const char *role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(role, roles[i].name))
            return roles[i].rights;
    return 0;
}

bool serve_province_covers(const char *p, const char *q)
{
    if (!p || !*p)
        return true;
    size_t n = strlen(p);
    return !strncmp(p, q, n) && (q[n] == '\0' || q[n] == '/');
}

static bool valid_operator(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof ((serve_principal *)0)->operator_id)
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._@-", *c)))
            return false;
    return true;
}

static bool valid_province(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof ((serve_principal *)0)->province || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("_-/", *c)))
            return false;
    return true;
}

static bool valid_hash(const char *alg, const char *hex)
{
    if (strcmp(alg, "sha256") && strcmp(alg, "sm3"))
        return false;
    if (strlen(hex) != 64)
        return false;
    for (const char *c = hex; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

/* one line into e: 0, or -1 with why */
static int parse_line(char *line, token_entry *e, const char **why)
{
    char *save = NULL, *f[5];
    int n = 0;
    for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == 5) {
            *why = "too many fields (HASH OPERATOR ROLE [PROVINCE])";
            return -1;
        }
        f[n++] = t;
    }
    if (n < 3) {
        *why = "too few fields (HASH OPERATOR ROLE [PROVINCE])";
        return -1;
    }
    if (n == 5) {
        *why = "too many fields (HASH OPERATOR ROLE [PROVINCE])";
        return -1;
    }
    memset(e, 0, sizeof *e);
    char *colon = strchr(f[0], ':');
    if (!colon || (size_t)(colon - f[0]) >= sizeof e->alg) {
        *why = "the hash must read sha256:HEX or sm3:HEX";
        return -1;
    }
    *colon = '\0';
    if (!valid_hash(f[0], colon + 1)) {
        *why = "the hash must read sha256:HEX or sm3:HEX (64 lowercase hex digits)";
        return -1;
    }
    strcpy(e->alg, f[0]);
    strcpy(e->hash, colon + 1);
    if (!valid_operator(f[1])) {
        *why = "bad operator id (letters, digits and . _ @ -, at most 63)";
        return -1;
    }
    strcpy(e->p.operator_id, f[1]);
    e->p.rights = serve_role_rights(f[2]);
    if (!e->p.rights) {
        *why = "unknown role (caseworker, auditor, policy or admin)";
        return -1;
    }
    strcpy(e->p.role, f[2]);
    if (n == 4) {
        if (!valid_province(f[3])) {
            *why = "bad province name";
            return -1;
        }
        if (strcmp(f[2], "caseworker")) {
            *why = "only a caseworker is bound to a province";
            return -1;
        }
        strcpy(e->p.province, f[3]);
    }
    return 0;
}

/* opens the file for reading after checking that nobody else may read it */
static FILE *open_private(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            snprintf(err, errlen, "no tokens file %s: create one with 'yuanzhu token add --tokens %s --operator ID --role ROLE'",
                     path, path);
        else
            snprintf(err, errlen, "cannot read the tokens file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "the tokens file %s is not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "the tokens file %s may be read by others (mode %04o): run chmod 600 %s", path,
                 (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return NULL;
    }
    return fdopen(fd, "r");
}

serve_tokens *serve_tokens_load(const char *path, char *err, size_t errlen)
{
    FILE *f = open_private(path, err, errlen);
    if (!f)
        return NULL;
    serve_tokens *t = sv_calloc(1, sizeof *t);
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '#' || *s == '\n' || *s == '\r' || !*s)
            continue;
        token_entry e;
        const char *why = NULL;
        if (parse_line(s, &e, &why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            fclose(f);
            serve_tokens_free(t);
            return NULL;
        }
        t->items = sv_realloc(t->items, (t->n + 1) * sizeof *t->items);
        t->items[t->n++] = e;
    }
    fclose(f);
    return t;
}

void serve_tokens_free(serve_tokens *t)
{
    if (!t)
        return;
    free(t->items);
    free(t);
}

size_t serve_tokens_count(const serve_tokens *t)
{
    return t ? t->n : 0;
}

/* equal hex digests, in time that does not depend on where they differ */
static bool same_hash(const char *a, const char *b)
{
    unsigned char x = 0;
    for (int i = 0; i < 64; i++)
        x |= (unsigned char)(a[i] ^ b[i]);
    return x == 0;
}

int serve_tokens_check(const serve_tokens *t, const char *authorization, serve_principal *p, const char **why)
{
    if (!authorization || !*authorization) {
        *why = "no bearer token";
        return 401;
    }
    if (strncasecmp(authorization, "Bearer ", 7) != 0) {
        *why = "the Authorization header is not 'Bearer TOKEN'";
        return 401;
    }
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    size_t n = strlen(tok);
    while (n && tok[n - 1] == ' ')
        n--;
    if (!n || n > 256) {
        *why = "an empty or overlong bearer token";
        return 401;
    }
    char sha[65] = "", sm3[65] = "";
    for (size_t i = 0; t && i < t->n; i++) {
        const token_entry *e = &t->items[i];
        char *h = !strcmp(e->alg, "sm3") ? sm3 : sha;
        if (!h[0] && yz_hash_hex(e->alg, tok, n, h) != YZ_OK)
            continue;
        if (same_hash(h, e->hash)) {
            *p = e->p;
            return 0;
        }
    }
    *why = "unknown token";
    return 401;
}

int serve_token_add(const char *path, const char *hash_alg, const char *operator_id, const char *role,
                    const char *province, char *out, size_t outlen, char *err, size_t errlen)
{
    if (!valid_operator(operator_id)) {
        snprintf(err, errlen, "--operator: '%s' is not an operator id (letters, digits and . _ @ -, at most 63)", operator_id);
        return -1;
    }
    if (!serve_role_rights(role)) {
        snprintf(err, errlen, "--role takes caseworker, auditor, policy or admin, not '%s'", role);
        return -1;
    }
    if (province && *province && (!valid_province(province) || strcmp(role, "caseworker"))) {
        snprintf(err, errlen, !strcmp(role, "caseworker") ? "--province: '%s' is not a province name"
                                                          : "--province binds a caseworker to a province; a %s is not bound",
                 !strcmp(role, "caseworker") ? province : role);
        return -1;
    }
    unsigned char raw[32];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        snprintf(err, errlen, "cannot get random bytes for a token: %s", strerror(errno));
        return -1;
    }
    if (outlen < 3 + 2 * sizeof raw + 1) {
        snprintf(err, errlen, "internal: token buffer too small");
        return -1;
    }
    strcpy(out, "yz_");
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 3 + 2 * i, 3, "%02x", raw[i]);
    char hex[65];
    if (yz_hash_hex(hash_alg, out, strlen(out), hex) != YZ_OK) {
        snprintf(err, errlen, "--hash takes sha256 or sm3 (available in this OpenSSL), not '%s'", hash_alg);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write the tokens file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
        snprintf(err, errlen, "the tokens file %s may be read by others (mode %04o): run chmod 600 %s first", path,
                 (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -1;
    }
    flock(fd, LOCK_EX);
    char line[512];
    int n = 0;
    if (st.st_size == 0)
        n = snprintf(line, sizeof line, "# yuanzhu tokens (hashes only): HASH OPERATOR ROLE [PROVINCE]\n");
    n += snprintf(line + n, sizeof line - (size_t)n, "%s:%s %s %s%s%s\n", hash_alg, hex, operator_id, role,
                  province && *province ? " " : "", province && *province ? province : "");
    ssize_t w = write(fd, line, (size_t)n);
    int e = errno;
    if (w != n || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write the tokens file %s: %s", path, strerror(w < 0 ? e : errno ? errno : EIO));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}
