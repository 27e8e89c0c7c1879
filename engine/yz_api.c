/* yz_api.c: small public helpers: return-code names, locating the engine's home, hashing, the
 * published applicant schema. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yuanzhu.h"
#include "yz_embed.h"
#include "yz_hash.h"
#include "yz_util.h"

#include "yz_config.h" /* YZ_DATADIR, written by the Makefile */

const char *yz_rc_name(int rc)
{
    switch (rc) {
    case YZ_OK: return "ok";
    case YZ_ENOMEM: return "out of memory";
    case YZ_EIO: return "input/output error";
    case YZ_EPARSE: return "parse error";
    case YZ_EPOLICY: return "policy error";
    case YZ_EINPUT: return "invalid record";
    case YZ_ENOTINFORCE: return "no policy in force";
    case YZ_EUSAGE: return "usage error";
    case YZ_ESTORE: return "store error";
    case YZ_EFAILED: return "failed";
    default: return "internal error";
    }
}

static bool has_rules(const char *dir)
{
    char *p = yz_path_join(dir, "rules/lib");
    bool ok = yz_is_dir(p);
    yz_free(p);
    return ok;
}

char *yz_home_default(const char *argv0)
{
    const char *env = getenv("YUANZHU_HOME");
    if (env && *env)
        return yz_strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 && argv0 && realpath(argv0, exe))
        n = (ssize_t)strlen(exe);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* a source tree (bin/yuanzhu beside rules/), then an installation moved as a whole or
               still staged under DESTDIR (PREFIX/bin/yuanzhu beside PREFIX/share/yuanzhu) */
            static const char *const rel[] = {"..", "../share/yuanzhu"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                char *up = yz_path_join(exe, rel[i]);
                char *norm = yz_path_normalize(up);
                yz_free(up);
                if (has_rules(norm))
                    return norm;
                yz_free(norm);
            }
        }
    }
    if (has_rules(YZ_DATADIR))
        return yz_strdup(YZ_DATADIR);
    return yz_strdup(".");
}

int yz_hash_hex(const char *alg, const void *data, size_t n, char hex[65])
{
    yz_hash_alg a;
    if (alg && !strcmp(alg, "sha256"))
        a = YZ_HASH_SHA256;
    else if (alg && !strcmp(alg, "sm3"))
        a = YZ_HASH_SM3;
    else
        return YZ_EUSAGE;
    return hash_hex(a, data, n, hex) == 0 ? YZ_OK : YZ_EUSAGE;
}

const char *yz_applicant_schema(void)
{
    return yz_embed_applicant_schema;
}
