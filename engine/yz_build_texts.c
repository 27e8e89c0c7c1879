/* yz_build_texts.c: what explanations need made once per policy: the whole condition of each
 * category and subsidy made explicit (prerequisites, disqualifications, for:, excludes:), and the
 * texts every determination would otherwise format again. */
#include <string.h>

#include "yz_build.h"
#include "yz_json.h"

static pcond *group(loader *L, pckind kind, size_t cap)
{
    pcond *g = build_new_cond(L, kind);
    g->kids = arena_alloc(ld_mem(L), (cap ? cap : 1) * sizeof *g->kids);
    return g;
}

/* the whole condition of a category or subsidy, made explicit so explanations can name each part */
void build_full_conditions(loader *L, ppolicy *pol)
{
    size_t np = pol->nitems[PI_PREREQ], nd = pol->nitems[PI_DISQUAL];
    for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++) {
        pitem *it = &pol->items[PI_CATEGORY][i];
        pcond *all = group(L, PC_ALL, np + nd + 1);
        all->loc = it->loc;
        for (size_t k = 0; k < np; k++) {
            pcond *r = build_new_cond(L, PC_PREREQ);
            r->ref_index = (int)k;
            r->ref = pol->items[PI_PREREQ][k].id;
            r->loc = pol->items[PI_PREREQ][k].loc;
            all->kids[all->nkids++] = r;
        }
        for (size_t k = 0; k < nd; k++) {
            const pitem *dq = &pol->items[PI_DISQUAL][k];
            pcond *r = build_new_cond(L, PC_DISQUAL);
            r->ref_index = (int)k;
            r->ref = dq->id;
            r->loc = dq->loc;
            pcond *n = group(L, PC_NOT, 1);
            n->kids[n->nkids++] = r;
            n->loc = dq->loc;
            n->text = arena_printf(ld_mem(L), "未出现身份丧失情形：%s", dq->name ? dq->name : dq->id);
            all->kids[all->nkids++] = n;
        }
        if (it->when)
            all->kids[all->nkids++] = it->when;
        it->full = all;
    }
    for (size_t i = 0; i < pol->nitems[PI_SUBSIDY]; i++) {
        pitem *it = &pol->items[PI_SUBSIDY][i];
        pcond *all = group(L, PC_ALL, 2 + it->nexcl);
        all->loc = it->loc;
        if (it->for_targets) {
            pcond *t = build_new_cond(L, PC_TARGETS);
            t->loc = it->loc;
            all->kids[all->nkids++] = t;
        } else if (it->nfor) {
            pcond *any = group(L, PC_ANY, it->nfor);
            any->loc = it->loc;
            for (size_t k = 0; k < it->nfor; k++) {
                if (it->for_idx[k] < 0)
                    continue;
                pcond *r = build_new_cond(L, PC_CATEGORY);
                r->ref_index = it->for_idx[k];
                r->ref = pol->items[PI_CATEGORY][it->for_idx[k]].id;
                r->loc = it->loc;
                any->kids[any->nkids++] = r;
            }
            if (any->nkids)
                all->kids[all->nkids++] = any;
        }
        if (it->when)
            all->kids[all->nkids++] = it->when;
        for (size_t k = 0; k < it->nexcl; k++) {
            const pitem *other = it->excl_idx[k] >= 0 ? &pol->items[PI_SUBSIDY][it->excl_idx[k]] : NULL;
            const char *oname = other && other->name ? other->name : it->excludes[k];
            pcond *leaf = build_new_cond(L, PC_LEAF);
            leaf->expr = arena_printf(ld_mem(L), "receiving(r, as_of, \"%s\")", it->excludes[k]);
            leaf->text = arena_printf(ld_mem(L), "正在享受%s", oname);
            leaf->loc = it->loc;
            build_add_leaf(L, leaf);
            pcond *n = group(L, PC_NOT, 1);
            n->kids[n->nkids++] = leaf;
            n->loc = it->loc;
            n->text = arena_printf(ld_mem(L), "未在享受%s（不得重复享受）", oname);
            all->kids[all->nkids++] = n;
        }
        if (!all->nkids && !it->for_anyone) {
            pcond *t = build_new_cond(L, PC_TARGETS);
            t->loc = it->loc;
            all->kids[all->nkids++] = t;
        }
        it->full = all;
    }
}

static const char *quoted(loader *L, const char *s)
{
    strbuf sb = STRBUF_INIT;
    json_quote(&sb, s, strlen(s));
    const char *r = arena_strndup(ld_mem(L), sb.buf, sb.len);
    sb_free(&sb);
    return r;
}

static void texts_of(loader *L, pcond *c)
{
    if (!c)
        return;
    const char *t = c->text ? c->text : c->expr;
    if (t && !strchr(t, '{')) { /* texts with {P.name} depend on the date: made per determination */
        c->fail_text = arena_printf(ld_mem(L), "不满足：%s", t);
        c->neg_text = arena_printf(ld_mem(L), "并非：%s", t);
        c->text_json = quoted(L, t);
        c->neg_json = quoted(L, c->neg_text);
    }
    for (size_t i = 0; i < c->nkids; i++)
        texts_of(L, c->kids[i]);
}

/* texts every determination would otherwise format again */
void build_texts(loader *L, ppolicy *pol)
{
    static const char *const prefix[PI_NKINDS] = {"前提条件：", "身份丧失情形：", "", "属于：", ""};
    for (int k = 0; k < PI_NKINDS; k++) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            pitem *it = &pol->items[k][i];
            const char *name = it->name ? it->name : it->id;
            it->txt_met = arena_printf(ld_mem(L), k == PI_SUBSIDY ? "可享受%s" : "符合：%s", name);
            it->txt_not = arena_printf(ld_mem(L), "不符合%s的条件", name);
            it->ref_text = arena_printf(ld_mem(L), "%s%s", prefix[k], name);
            it->ref_fail = arena_printf(ld_mem(L), "不满足：%s", it->ref_text);
            for (size_t b = 0; b < it->nbasis; b++)
                it->basis[b].unverified = arena_printf(ld_mem(L), "source:%s", it->basis[b].source_id);
            it->name_json = quoted(L, name);
            it->ref_text_json = quoted(L, it->ref_text);
            strbuf sb = STRBUF_INIT;
            jw w;
            jw_init(&w, &sb);
            jw_arr_begin(&w);
            for (size_t b = 0; b < it->nbasis; b++) {
                const pbasis *pb = &it->basis[b];
                size_t start = sb.len;
                jw_obj_begin(&w);
                if (pb->article) {
                    JW_KEY(&w, "article");
                    jw_str(&w, pb->article);
                }
                if (pb->note) {
                    JW_KEY(&w, "note");
                    jw_str(&w, pb->note);
                }
                if (pb->src && pb->src->number) {
                    JW_KEY(&w, "number");
                    jw_str(&w, pb->src->number);
                }
                JW_KEY(&w, "source");
                jw_str(&w, pb->source_id);
                if (pb->src && pb->src->title) {
                    JW_KEY(&w, "title");
                    jw_str(&w, pb->src->title);
                }
                if (pb->src && !pb->src->verified) {
                    JW_KEY(&w, "verified");
                    jw_bool(&w, false);
                }
                jw_obj_end(&w);
                if (sb.buf[start] == ',') /* the separator jw wrote before this element */
                    start++;
                it->basis[b].json = arena_strndup(ld_mem(L), sb.buf + start, sb.len - start);
            }
            jw_arr_end(&w);
            it->basis_json = arena_strndup(ld_mem(L), sb.buf, sb.len);
            sb_free(&sb);
            texts_of(L, it->full ? it->full : it->when);
            texts_of(L, it->amount);
            texts_of(L, it->months);
        }
    }
    for (size_t i = 0; i < pol->nparams; i++)
        pol->params[i].unverified = arena_printf(ld_mem(L), "parameter:%s", pol->params[i].id);
}
