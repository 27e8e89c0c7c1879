/* yz_ruleset.c: loading a ruleset (from a province folder on disk or from stored files), its id
 * (a hash over every file's canonical bytes) and the lookups evaluation uses. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yz_diag.h"
#include "yz_hash.h"
#include "yz_loader.h"
#include "yz_sandbox.h"

static int cmp_rfile(const void *a, const void *b)
{
    return strcmp(((const rfile *)a)->path, ((const rfile *)b)->path);
}

void ruleset_hash_files(const yz_file *files, size_t n, char hex[65])
{
    yz_hasher *h = hasher_new(YZ_HASH_SHA256);
    for (size_t i = 0; i < n; i++) {
        char len[32];
        int k = snprintf(len, sizeof len, "%zu", files[i].len);
        hasher_update(h, files[i].path, strlen(files[i].path) + 1);
        hasher_update(h, len, (size_t)k + 1);
        hasher_update(h, files[i].data, files[i].len);
    }
    hasher_final(h, hex);
}

/* removes diagnostics repeated because a file takes part in several merged policies */
static void dedupe(yz_diags *d, size_t from)
{
    if (!d)
        return;
    size_t k = from;
    for (size_t i = from; i < d->n; i++) {
        bool dup = false;
        for (size_t j = from; j < k; j++) {
            yz_diag *a = &d->items[j], *b = &d->items[i];
            if (a->line == b->line && a->col == b->col && a->severity == b->severity &&
                !strcmp(a->message, b->message) && !strcmp(a->file ? a->file : "", b->file ? b->file : "")) {
                dup = true;
                break;
            }
        }
        if (dup) {
            if (d->items[i].severity == YZ_SEV_ERROR)
                d->n_errors--;
            else if (d->items[i].severity == YZ_SEV_WARNING)
                d->n_warnings--;
            yz_free(d->items[i].file);
            yz_free(d->items[i].message);
            yz_free(d->items[i].field);
        } else {
            d->items[k++] = d->items[i];
        }
    }
    d->n = k;
}

static void ruleset_finish(yz_ruleset *rs)
{
    qsort(rs->files, rs->nfiles, sizeof *rs->files, cmp_rfile);
    rs->pub_files = arena_alloc(&rs->mem, (rs->nfiles ? rs->nfiles : 1) * sizeof *rs->pub_files);
    for (size_t i = 0; i < rs->nfiles; i++) {
        rs->pub_files[i].path = rs->files[i].path;
        rs->pub_files[i].data = rs->files[i].data;
        rs->pub_files[i].len = rs->files[i].len;
    }
    ruleset_hash_files(rs->pub_files, rs->nfiles, rs->id);
}

static int load_common(loader *L, yz_ruleset **out)
{
    yz_diags local;
    yz_diags_init(&local);
    if (!L->d)
        L->d = &local;
    size_t first = L->d->n;
    L->errors_before = (int)L->d->n_errors;
    int rc = YZ_OK;
    if (ld_load_lib(L) != 0 || merge_load_chain(L) != 0) {
        rc = YZ_EPOLICY;
    } else {
        merge_build_policies(L);
        if (!L->rs->npolicies && !ld_nerrors(L))
            diag_add(L->d, YZ_SEV_ERROR, L->levels[0].versions[0].file->display, 0, 0,
                     "the effective periods of this policy and the policies it extends never overlap");
        if (ld_nerrors(L))
            rc = YZ_EPOLICY;
    }
    sandbox_check_free();
    dedupe(L->d, first);
    diag_sort_from(L->d, first);
    if (rc == YZ_OK && ld_nerrors(L))
        rc = YZ_EPOLICY;
    if (rc == YZ_OK) {
        ruleset_finish(L->rs);
        *out = L->rs;
    } else {
        yz_ruleset_free(L->rs);
    }
    yz_diags_free(&local);
    return rc;
}

static yz_ruleset *ruleset_new(void)
{
    yz_ruleset *rs = yz_calloc(1, sizeof *rs);
    arena_init(&rs->mem, 64 * 1024);
    return rs;
}

static void list_provinces(const char *dir, const char *prefix, strbuf *out, char ***names, size_t *n, int depth)
{
    char **sub;
    size_t ns = policy_subfolders(dir, &sub);
    for (size_t i = 0; i < ns; i++) {
        char *name = *prefix ? yz_path_join(prefix, sub[i]) : yz_strdup(sub[i]);
        if (out->len)
            sb_adds(out, ", ");
        sb_adds(out, name);
        *names = yz_realloc(*names, (*n + 1) * sizeof **names);
        (*names)[(*n)++] = name;
        if (depth < 2) {
            char *full = yz_path_join(dir, sub[i]);
            list_provinces(full, name, out, names, n, depth + 1);
            yz_free(full);
        }
    }
    yz_names_free(sub, ns);
}

/* The name of a policy folder outside provinces/ (real: its real path): its own, or "draft" when
   that is not a province name; but a copy of a city folder of provinces/, in a folder named after
   its province, is named as that city: a copy of provinces/guangdong/guangzhou at
   /tmp/x/guangdong/guangzhou is "guangdong/guangzhou" (a copy of provinces/guangdong, at
   /tmp/x/guangdong, is "guangdong" already).  Its files then have the original's logical paths, so
   the same rules give the same ruleset id (the null reform of yuanzhu impact), and the draft's
   decisions name the city they are for. */
static const char *draft_name(loader *L, const char *real)
{
    const char *slash = strrchr(real, '/');
    const char *base = slash ? slash + 1 : real;
    if (!ld_valid_name(base) || !strcmp(base, "national"))
        return "draft";
    if (slash && slash > real && L->home) {
        const char *ps = slash - 1;
        while (ps > real && ps[-1] != '/')
            ps--;
        char *city = arena_printf(&L->rs->mem, "%.*s/%s", (int)(slash - ps), ps, base);
        char *known = arena_printf(&L->rs->mem, "%s/provinces/%s", L->home, city);
        if (ld_valid_name(city) && policy_has_files(known))
            return city;
    }
    return arena_strdup(&L->rs->mem, base);
}

int yz_ruleset_load(const char *home, const char *province, yz_ruleset **out, yz_diags *d)
{
    *out = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    L.rs = ruleset_new();
    L.d = d;
    L.home = home;
    if (!getcwd(L.cwd, sizeof L.cwd))
        strcpy(L.cwd, ".");
    level *top = &L.levels[L.nlevels++];
    memset(top, 0, sizeof *top);
    char *provdir = yz_path_join(home, "provinces");
    char *named = yz_path_join(provdir, province);
    bool is_path = strchr(province, '/') && yz_is_dir(province) && !ld_valid_name(province);
    if (!is_path && ld_valid_name(province) && yz_is_dir(named)) {
        ld_level_dirs(&L, top, province);
    } else if (yz_is_dir(province)) {
        char real[PATH_MAX], realprov[PATH_MAX], realnat[PATH_MAX];
        const char *name = NULL;
        char *natdir = yz_path_join(home, "rules/national");
        bool national = realpath(province, real) && realpath(natdir, realnat) && !strcmp(real, realnat);
        yz_free(natdir);
        if (national) {
            name = "national";
        } else if (realpath(province, real) && realpath(provdir, realprov)) {
            size_t rl = strlen(realprov);
            if (!strncmp(real, realprov, rl) && real[rl] == '/')
                name = real + rl + 1;
        }
        if (name) {
            ld_level_dirs(&L, top, name);
        } else {
            const char *base = draft_name(&L, real);
            top->name = base;
            top->logical_dir = arena_printf(&L.rs->mem, "provinces/%s", base);
            top->disk_dir = arena_strdup(&L.rs->mem, province);
        }
    } else {
        strbuf known = STRBUF_INIT;
        char **names = NULL;
        size_t n = 0;
        list_provinces(provdir, "", &known, &names, &n, 0);
        const char *near = yz_suggest(province, (const char *const *)names, n);
        if (near)
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown province '%s' (did you mean '%s'?)", province, near);
        else if (n)
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown province '%s'; known: %s (or give the path of a policy folder)",
                     province, known.buf);
        else
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown province '%s': no policy folder %s", province, named);
        yz_names_free(names, n);
        sb_free(&known);
        yz_free(provdir);
        yz_free(named);
        yz_ruleset_free(L.rs);
        return YZ_EIO;
    }
    if (top->disk_dir && !policy_has_files(top->disk_dir)) {
        /* a province folder that holds only city policies (shandong/qingdao): name the cities */
        strbuf cities = STRBUF_INIT;
        char **names = NULL;
        size_t n = 0;
        list_provinces(top->disk_dir, province, &cities, &names, &n, 1);
        if (n) {
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "'%s' has no policy of its own, only city policies: choose a city: %s",
                     province, cities.buf);
            yz_names_free(names, n);
            sb_free(&cities);
            yz_free(provdir);
            yz_free(named);
            yz_ruleset_free(L.rs);
            return YZ_EIO;
        }
        yz_names_free(names, n);
        sb_free(&cities);
    }
    yz_free(provdir);
    yz_free(named);
    L.rs->province = yz_strdup(top->name);
    int rc = load_common(&L, out);
    if (rc == YZ_OK && top->disk_dir) {
        char *sig = yz_path_join(top->disk_dir, YZ_RULESET_SIGNATURE);
        ruleset_read_signature(*out, sig, ld_display_path(&L, sig));
        yz_free(sig);
    }
    return rc;
}

int yz_ruleset_load_files(const yz_file *files, size_t n, const char *province, yz_ruleset **out, yz_diags *d)
{
    *out = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    L.rs = ruleset_new();
    L.d = d;
    L.mem_files = files;
    L.nmem = n;
    strcpy(L.cwd, "/");
    if (!ld_valid_name(province)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "bad province name '%s'", province);
        yz_ruleset_free(L.rs);
        return YZ_EUSAGE;
    }
    level *top = &L.levels[L.nlevels++];
    memset(top, 0, sizeof *top);
    ld_level_dirs(&L, top, province);
    L.rs->province = yz_strdup(province);
    return load_common(&L, out);
}

void yz_ruleset_free(yz_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->ndocs; i++)
        ydoc_free(rs->docs[i]);
    yz_free(rs->docs);
    yz_free(rs->files);
    yz_free(rs->policies);
    yz_free(rs->leaves);
    yz_free(rs->province);
    yz_free(rs->sig_text);
    yz_free(rs->sig_file);
    yz_free(rs->signer);
    yz_free(rs->signer_pem);
    yz_free(rs->sig_note);
    arena_free(&rs->mem);
    yz_free(rs);
}

const char *yz_ruleset_id(const yz_ruleset *rs)
{
    return rs->id;
}

const char *yz_ruleset_province(const yz_ruleset *rs)
{
    return rs->province;
}

size_t yz_ruleset_files(const yz_ruleset *rs, const yz_file **files)
{
    *files = rs->pub_files;
    return rs->nfiles;
}

size_t yz_ruleset_policy_count(const yz_ruleset *rs)
{
    return rs->npolicies;
}

void yz_ruleset_policy(const yz_ruleset *rs, size_t i, yz_policy_info *info)
{
    const ppolicy *p = rs->policies[i];
    info->title = p->title;
    info->region_code = p->region_code;
    info->region_name = p->region_name;
    info->from = p->eff_from;
    info->to = p->eff_to;
}

size_t yz_province_names(const char *home, char ***names)
{
    strbuf all = STRBUF_INIT;
    char **list = NULL;
    size_t n = 0;
    char *provdir = yz_path_join(home, "provinces");
    list_provinces(provdir, "", &all, &list, &n, 0);
    sb_free(&all);
    /* only folders that hold a policy (shandong/ may only hold qingdao/) */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char *dir = yz_path_join(provdir, list[i]);
        if (policy_has_files(dir))
            list[k++] = list[i];
        else
            yz_free(list[i]);
        yz_free(dir);
    }
    n = k;
    yz_free(provdir);
    qsort(list, n, sizeof *list, yz_strcmp_ptr);
    *names = list;
    return n;
}

const ppolicy *ruleset_policy_at(const yz_ruleset *rs, const char *as_of)
{
    for (size_t i = 0; i < rs->npolicies; i++) {
        const ppolicy *p = rs->policies[i];
        if (strcmp(as_of, p->eff_from) >= 0 && (!p->eff_to || strcmp(as_of, p->eff_to) <= 0))
            return p;
    }
    return NULL;
}

int yz_ruleset_in_force(const yz_ruleset *rs, const char *as_of, yz_diags *d)
{
    if (ruleset_policy_at(rs, as_of))
        return YZ_OK;
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < rs->npolicies; i++) {
        const ppolicy *p = rs->policies[i];
        const char *file = p->version_files[p->nlevels - 1];
        sb_addf(&sb, "%s%s to %s (%s)", i ? "; " : "", p->eff_from, p->eff_to ? p->eff_to : "open", file);
    }
    diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
             "no %s policy is in force on %s: the ruleset covers %s; add a policy file for that date (see docs/policy-format.md, 'Successive policies')",
             rs->province, as_of, sb.len ? sb.buf : "no period");
    sb_free(&sb);
    return YZ_ENOTINFORCE;
}

const rfile *ruleset_file(const yz_ruleset *rs, const char *path)
{
    for (size_t i = 0; i < rs->nfiles; i++)
        if (!strcmp(rs->files[i].path, path))
            return &rs->files[i];
    return NULL;
}

const char *ruleset_display(const yz_ruleset *rs, const char *path)
{
    const rfile *f = ruleset_file(rs, path);
    return f ? f->display : path;
}

const pvalue *param_entry_at(const pparam *p, const char *as_of)
{
    const pvalue *v = NULL;
    for (size_t i = 0; i < p->nvalues; i++)
        if (!p->values[i].from || strcmp(p->values[i].from, as_of) <= 0)
            v = &p->values[i];
    return v;
}

const yj *param_value_at(const pparam *p, const char *as_of)
{
    const pvalue *v = param_entry_at(p, as_of);
    return v ? v->value : NULL;
}

const pregion *param_region_for(const pparam *p, const char *code)
{
    const pregion *best = NULL;
    size_t best_len = 0;
    for (size_t g = 0; g < p->nregions; g++)
        for (size_t c = 0; c < p->regions[g].ncodes; c++) {
            size_t n = strlen(p->regions[g].codes[c]);
            if (n > best_len && !strncmp(code, p->regions[g].codes[c], n)) {
                best = &p->regions[g];
                best_len = n;
            }
        }
    return best;
}

const yj *param_region_value(const pparam *p, const pregion *g, const char *as_of)
{
    const yj *v = param_value_at(p, as_of);
    return v && g ? yj_get(v, g->id) : NULL;
}

const char *source_in_force(const psource *s)
{
    return s->in_force ? s->in_force : s->date;
}

bool basis_cited(const ppolicy *pol, const pbasis *b, const char *as_of)
{
    if (pol->edition < 2 || !b->src)
        return true;
    const char *from = source_in_force(b->src);
    return !from || strcmp(from, as_of) <= 0;
}

const pparam *policy_param(const ppolicy *pol, const char *id)
{
    size_t lo = 0, hi = pol->nparams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(pol->params[mid].id, id);
        if (!c)
            return &pol->params[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const pitem *policy_item(const ppolicy *pol, pikind kind, const char *id)
{
    for (size_t i = 0; i < pol->nitems[kind]; i++)
        if (!strcmp(pol->items[kind][i].id, id))
            return &pol->items[kind][i];
    return NULL;
}

bool item_in_force(const pitem *it, const char *as_of)
{
    return (!it->eff_from || strcmp(as_of, it->eff_from) >= 0) && (!it->eff_to || strcmp(as_of, it->eff_to) <= 0);
}
