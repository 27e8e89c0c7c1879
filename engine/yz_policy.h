/* yz_policy.h: rulesets: the files of a province's policy chain (national baseline, province,
 * city, and the Lua library), merged and validated into a policy model per effective period. */
#ifndef YZ_POLICY_H
#define YZ_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "yz_json.h"
#include "yz_yaml.h"
#include "yuanzhu.h"

typedef struct ploc {
    const char *file; /* logical path ("provinces/guangdong/policy.yaml") */
    int line, col;
    const char *rule; /* "file:line", as determinations cite it */
} ploc;

typedef struct psource {
    const char *id, *issuer, *number, *title, *date, *in_force, *url, *note;
    bool verified;
    ploc loc;
} psource;

typedef struct pbasis {
    const char *source_id, *article, *note;
    const psource *src;
    const char *unverified; /* "source:<id>" */
    const char *json;       /* this basis as canonical JSON (an element of the item's basis_json) */
} pbasis;

typedef struct pvalue {
    const char *from; /* first day in force; NULL = always */
    const yj *value;  /* of a regional parameter: an object, region group id -> value */
    ploc loc;
    const char *source; /* value_sources: the text this dated value comes from (NULL: the parameter's) */
    bool verified;      /* value_sources: verified; else the parameter's */
} pvalue;

/* A group of regions a regional parameter gives one value for (a minimum-wage tier). */
typedef struct pregion {
    const char *id, *name;
    const char **codes; /* GB/T 2260 prefixes ("4401", "44") */
    size_t ncodes;
    bool verified;
    ploc loc;
} pregion;

typedef struct pparam {
    const char *id, *unit, *source, *description;
    bool verified;
    pvalue *values; /* ascending by from */
    size_t nvalues;
    ploc loc;
    int index;
    const char *unverified; /* "parameter:<id>" */
    /* a regional parameter: the record field whose GB/T 2260 code picks the group, and the groups */
    const char *region_field; /* "unemployment_registration.region", or NULL */
    pregion *regions;
    size_t nregions;
} pparam;

typedef enum { PC_LEAF, PC_ALL, PC_ANY, PC_NOT, PC_CATEGORY, PC_CONDITION, PC_TARGETS, PC_PREREQ, PC_DISQUAL } pckind;

typedef struct pcond pcond;
struct pcond {
    pckind kind;
    const char *text; /* Chinese description, or NULL */
    const char *expr; /* PC_LEAF: Lua source */
    ploc loc;         /* PC_LEAF: first line of the expression itself */
    pcond **kids;
    size_t nkids;
    const char *ref;  /* PC_CATEGORY / PC_CONDITION: the id named */
    int ref_index;    /* resolved index into the policy's categories / conditions */
    int leaf;         /* PC_LEAF (and amount/months expressions): index into ruleset leaves */
    int id;           /* every node: index into ruleset nodes (per-record memo) */
    const char *fail_text; /* "不满足：<text>", made once at load */
    const char *neg_text;  /* "并非：<text>" */
    const char *text_json; /* its text (or expression) as a JSON string, when it has no {P.name} */
    const char *neg_json;
};

/* the kinds of item a policy defines (PI_NKINDS: how many) */
typedef enum { PI_PREREQ, PI_DISQUAL, PI_CONDITION, PI_CATEGORY, PI_SUBSIDY, PI_NKINDS } pikind;

typedef struct pitem {
    pikind kind;
    const char *id, *name, *code;
    pbasis *basis;
    size_t nbasis;
    pcond *when;
    pcond *full; /* categories: prerequisites, no disqualification and when; subsidies: for, when
                    and not receiving an excluded subsidy */
    const char *reason[3]; /* by yz_status: not met, met, undetermined */
    const char **evidence;
    size_t nevidence;
    const char *eff_from, *eff_to; /* NULL = open */
    bool verified;
    const char *note;
    ploc loc;
    int index;
    const char *txt_met, *txt_not; /* default reasons: "符合：<name>" / "可享受<name>", "不符合<name>的条件" */
    const char *ref_text;          /* how a condition that refers to it reads: "前提条件：<name>" ... */
    const char *ref_fail;          /* "不满足：" and that */
    const char *basis_json;        /* its legal basis as canonical JSON (the same in every determination) */
    const char *name_json;         /* its name as a JSON string */
    const char *ref_text_json;
    /* subsidies */
    bool for_targets;
    bool for_anyone;    /* for: anyone: not limited to assistance targets (the when: says who) */
    bool calendar_term; /* term: calendar_months: the as-of month is the first, the last ends on its last day */
    bool schedule;      /* amount.schedule: each period at the parameters in force when it starts */
    int *for_idx; /* categories, any of which qualifies */
    size_t nfor;
    pcond *amount; /* a leaf giving fen per period */
    const char *per;
    const char *amount_note;
    pcond *months; /* a leaf giving months available, or NULL */
    int *excl_idx; /* subsidies that exclude this one */
    const char **excludes;
    size_t nexcl;
    const char *terms;
} pitem;

/* One merged policy: the versions of every level in force over one period. */
typedef struct ppolicy {
    const char *title, *region_code, *region_name;
    const char *eff_from, *eff_to; /* intersection of the levels' periods; eff_to NULL = open */
    ploc eff_to_loc;               /* where eff_to is written */
    const char **version_files;    /* the policy file of each level, national first */
    size_t nlevels;
    psource *sources;
    size_t nsources;
    pparam *params; /* sorted by id */
    size_t nparams;
    pitem *items[PI_NKINDS];
    size_t nitems[PI_NKINDS]; /* by pikind, in file order (parent first) */
    const char **lua_files; /* helper Lua files, in load order (parents first) */
    size_t nlua;
    int index;
    int edition; /* edition: 1 (absent) or 2: the output behaviours a ruleset asks for, so that the
                    decisions of older rulesets replay byte for byte (docs/policy-format.md) */
} ppolicy;

/* A ruleset file: logical path (what is hashed, stored and named in determinations) and the
 * path shown to a person (relative to the working directory). */
typedef struct rfile {
    char *path;
    const char *display;
    char *data; /* canonical bytes: no BOM, LF line ends */
    size_t len;
} rfile;

struct yz_ruleset {
    arena mem;
    char *province;
    char id[65];
    rfile *files; /* sorted by path */
    size_t nfiles;
    yz_file *pub_files;
    ppolicy **policies; /* by effective period, ascending */
    size_t npolicies;
    pcond **leaves; /* every Lua expression of every policy, by pcond.leaf */
    size_t nleaves;
    size_t nnodes;  /* condition nodes of every policy, numbered by pcond.id */
    const char **lib_files; /* the files of rules/lib, sorted */
    size_t nlib;
    ydoc **docs; /* parsed YAML, kept for the lifetime of the ruleset */
    size_t ndocs;
    /* its folder's signature (YZ_RULESET_SIGNATURE), see yz_manifest.c */
    char *sig_text;   /* as read, or NULL when there is none */
    size_t sig_len;
    int sig_errno;    /* why it could not be read (0: it was, or there is none) */
    char *sig_file;   /* its path as shown */
    char *signer;     /* after yz_ruleset_verify accepted it: the key's name, its PEM, the note */
    char *signer_pem;
    char *sig_note;
};

/* The policy in force on as_of ("YYYY-MM-DD"), or NULL. */
const ppolicy *ruleset_policy_at(const yz_ruleset *rs, const char *as_of);
/* The file with this logical path, or NULL. */
const rfile *ruleset_file(const yz_ruleset *rs, const char *path);
/* The display path for a logical path (the logical path itself when unknown). */
const char *ruleset_display(const yz_ruleset *rs, const char *path);
/* Value of a parameter on a date, or NULL when it has none yet (of a regional parameter: the
 * object of every group's value). */
const yj *param_value_at(const pparam *p, const char *as_of);
/* The dated value of a parameter in force on a date, or NULL. */
const pvalue *param_entry_at(const pparam *p, const char *as_of);
/* The group of a regional parameter for a GB/T 2260 code (the longest matching prefix), or NULL. */
const pregion *param_region_for(const pparam *p, const char *code);
/* A regional parameter's value for a group on a date, or NULL. */
const yj *param_region_value(const pparam *p, const pregion *g, const char *as_of);
/* The date a source is in force from: its in_force, else its date, else NULL (always). */
const char *source_in_force(const psource *s);
/* True when the policy cites this basis in a determination made on as_of: from edition 2 a text
 * not yet in force then is not cited. */
bool basis_cited(const ppolicy *pol, const pbasis *b, const char *as_of);
const pparam *policy_param(const ppolicy *pol, const char *id);
const pitem *policy_item(const ppolicy *pol, pikind kind, const char *id);
/* True when the item's own effective period (if it has one) includes as_of. */
bool item_in_force(const pitem *it, const char *as_of);

/* Folders of policies: whether dir holds a policy file (ending .yaml or .yml); its sub-folders that are
 * policy folders of their own (cities: every folder but tests/), by name; the names of its test
 * files (under tests/, ending .yaml or .yml).  Sorted; free with yz_names_free. */
bool policy_has_files(const char *dir);
size_t policy_subfolders(const char *dir, char ***out);
size_t policy_test_files(const char *dir, char ***out);

/* Ruleset manifests (yz_manifest.c): the first line, then one line per file, as
 * yz_ruleset_manifest writes them; and reading a policy folder's signature file into rs (when
 * there is one) after it loaded. */
void manifest_begin(strbuf *sb, const char *province);
void manifest_file(strbuf *sb, const char *sha256_hex, const char *path);
void ruleset_read_signature(yz_ruleset *rs, const char *path, const char *shown);
/* yz_ruleset_verify, saying why signatures are required (required_by, e.g. "the store x.db
 * requires signed rulesets"; NULL: they are not). */
int ruleset_check_signature(yz_ruleset *rs, const yz_key *const *keys, size_t n, const char *required_by, yz_diags *d);
/* The parts of rs's accepted signature the store keeps (NULL when none was accepted). */
const char *ruleset_signer_pem(const yz_ruleset *rs);
const char *ruleset_signature_note(const yz_ruleset *rs);

/* The ruleset id of files sorted by path: SHA-256 over "path NUL length NUL bytes" of each. */
void ruleset_hash_files(const yz_file *files, size_t n, char hex[65]);
/* Lints a folder or file; see yz_lint.  Exposed for the test runner. */
int policy_lint(const char *home, const char *path, const char *today, const yz_key *const *keys, size_t n,
                yz_diags *d);

#endif
