/* yz_json.c: JSON documents on top of cJSON (allocating from per-thread arenas), YAML -> JSON,
 * and the canonical JSON writer. */
#include "yz_json.h"
#include "yz_jsonfast.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cJSON allocates through process-wide hooks.  Every cJSON call in this file runs with the
 * calling thread's arena installed, so nodes come from that arena and cJSON's own frees are
 * no-ops.  No cJSON node of ours is ever created outside such a scope.  Outside one (another
 * thread, or code of the program that embeds the engine and uses cJSON itself) the hooks are
 * plain malloc and free, so that code works as if they were not there: the engine's nodes
 * never leave this file, and the program's are never arena memory. */
static _Thread_local arena *tl_arena;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *hook_malloc(size_t n)
{
    return tl_arena ? arena_alloc(tl_arena, n) : malloc(n);
}

static void hook_free(void *p)
{
    if (!tl_arena)
        free(p);
}

static void install_hooks(void)
{
    cJSON_Hooks h = {hook_malloc, hook_free};
    cJSON_InitHooks(&h);
}

static arena *enter(arena *mem)
{
    pthread_once(&hooks_once, install_hooks);
    arena *prev = tl_arena;
    tl_arena = mem;
    return prev;
}

static void leave(arena *prev)
{
    tl_arena = prev;
}

#define YJ_STR_(x) #x
#define YJ_STR(x) YJ_STR_(x)

/* how deeply arrays and objects are nested at offset off (cJSON stops past its limit and says
   only that the text is not JSON) */
static int nesting_at(const char *text, size_t off)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < off; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return depth;
}

/* The first NUL of a JSON text: a zero byte anywhere (cJSON reads one between tokens as white space
 * and ends a string at one), or a \u0000 escape.  cJSON's strings end at a NUL, so it would keep
 * the string up to there and drop the rest unsaid.  "\\u0000" (an escaped backslash, then u0000)
 * is text, not a NUL: the backslashes before the match decide. */
const char *yj_find_nul(const char *text, size_t len, bool *escaped)
{
    const char *raw = memchr(text, '\0', len);
    const char *p = text, *end = raw ? raw : text + len;
    *escaped = false;
    /* each run of backslashes: its last one escapes what follows when the run is odd (records
       rarely hold one, and memchr passes the rest faster than a search for the six bytes) */
    while ((p = memchr(p, '\\', (size_t)(end - p)))) {
        const char *q = p;
        while (q < end && *q == '\\')
            q++;
        if ((q - p) % 2 == 1 && end - q >= 5 && !memcmp(q, "u0000", 5)) {
            *escaped = true;
            return q - 1;
        }
        p = q;
    }
    return raw;
}

void yj_path_at(const char *text, size_t len, size_t off, strbuf *path)
{
    enum { MAXD = 64 };
    struct {
        bool array, want_key;
        size_t index;
        const char *key;
        size_t klen;
    } st[MAXD];
    int depth = 0; /* may exceed MAXD: frames past it are counted, not kept */
    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        char c = text[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < len && text[j] != '"')
                j += text[j] == '\\' ? 2 : 1;
            bool key = depth > 0 && depth <= MAXD && !st[depth - 1].array && st[depth - 1].want_key;
            if (key) {
                st[depth - 1].key = text + i + 1;
                st[depth - 1].klen = (j < off ? j : off) - i - 1;
                st[depth - 1].want_key = false;
            }
            if (j >= off) /* off is inside this string (a member name: named up to off) */
                break;
            i = j;
        } else if (c == '{' || c == '[') {
            if (depth < MAXD) {
                st[depth].array = c == '[';
                st[depth].want_key = c == '{';
                st[depth].index = 0;
                st[depth].key = NULL;
            }
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        } else if (c == ',' && depth > 0 && depth <= MAXD) {
            if (st[depth - 1].array) {
                st[depth - 1].index++;
            } else {
                st[depth - 1].want_key = true;
                st[depth - 1].key = NULL;
            }
        }
    }
    for (int k = 0; k < depth && k < MAXD; k++) {
        if (st[k].array) {
            sb_addf(path, "[%zu]", st[k].index);
        } else if (st[k].key) {
            if (path->len)
                sb_addc(path, '.');
            sb_add(path, st[k].key, st[k].klen);
        } else {
            break;
        }
    }
}

static void *fast_alloc(void *mem, size_t n)
{
    return arena_alloc(mem, n);
}

yj *yj_parse(arena *mem, const char *text, size_t len, size_t *err_off, const char **err)
{
    *err = NULL;
    *err_off = 0;
    bool escaped;
    const char *nul = yj_find_nul(text, len, &escaped);
    if (nul) {
        *err_off = (size_t)(nul - text);
        *err = escaped ? "a string holds a NUL character (\\u0000)" : "the text holds a NUL byte (a zero byte)";
        return NULL;
    }
    cJSON *v = yjf_parse(text, len, fast_alloc, mem);
    if (v)
        return v;
    arena *prev = enter(mem);
    const char *end = NULL;
    v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    leave(prev);
    if (!v) {
        const char *pos = end ? end : cJSON_GetErrorPtr();
        *err_off = pos && pos >= text && pos <= text + len ? (size_t)(pos - text) : 0;
        *err = nesting_at(text, *err_off) >= CJSON_NESTING_LIMIT ? "nested deeper than " YJ_STR(CJSON_NESTING_LIMIT)
                                                                       " levels: not a record"
                                                                 : "not valid JSON";
        return NULL;
    }
    /* only whitespace may follow */
    for (const char *p = end; p && p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            *err_off = (size_t)(p - text);
            *err = "unexpected text after the JSON value";
            return NULL;
        }
    }
    return v;
}

yj_type yaml_scalar_type(const ynode *n, double *num, bool *boolean)
{
    if (n->style != YS_PLAIN || (n->tag && strcmp(n->tag, "tag:yaml.org,2002:str") == 0))
        return YJ_STRING;
    const char *s = n->str;
    if (ynode_is_null(n))
        return YJ_NULL;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        *boolean = true;
        return YJ_BOOL;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        *boolean = false;
        return YJ_BOOL;
    }
    /* integer: [-+]?[0-9]+ */
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p) {
        const char *q = p;
        while (*q >= '0' && *q <= '9')
            q++;
        if (!*q && q > p && q - p <= 16) {
            *num = (double)strtoll(s, NULL, 10);
            return YJ_NUMBER;
        }
        /* float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
        q = p;
        int digits = 0;
        while (*q >= '0' && *q <= '9') {
            q++;
            digits++;
        }
        if (*q == '.') {
            q++;
            while (*q >= '0' && *q <= '9') {
                q++;
                digits++;
            }
        }
        if (digits && (*q == 'e' || *q == 'E')) {
            q++;
            if (*q == '-' || *q == '+')
                q++;
            const char *e = q;
            while (*q >= '0' && *q <= '9')
                q++;
            if (q == e)
                q = "x";
        }
        if (digits && !*q) {
            double d = strtod(s, NULL);
            if (isfinite(d)) {
                *num = d;
                return YJ_NUMBER;
            }
        }
    }
    return YJ_STRING;
}

/* YAML 1.2 core schema resolution of a scalar */
static yj *scalar_from_yaml(const ynode *n)
{
    double num = 0;
    bool b = false;
    switch (yaml_scalar_type(n, &num, &b)) {
    case YJ_NULL: return cJSON_CreateNull();
    case YJ_BOOL: return cJSON_CreateBool(b);
    case YJ_NUMBER: return cJSON_CreateNumber(num);
    default: return cJSON_CreateString(n->str);
    }
}

static yj *from_yaml(const ynode *n)
{
    if (!n)
        return cJSON_CreateNull();
    switch (n->kind) {
    case YN_SCALAR: return scalar_from_yaml(n);
    case YN_SEQ: {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < n->n; i++)
            cJSON_AddItemToArray(a, from_yaml(n->vals[i]));
        return a;
    }
    case YN_MAP: {
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; i < n->n; i++)
            cJSON_AddItemToObject(o, n->keys[i]->str, from_yaml(n->vals[i]));
        return o;
    }
    }
    return cJSON_CreateNull();
}

yj *yj_from_yaml(arena *mem, const ynode *n)
{
    arena *prev = enter(mem);
    yj *v = from_yaml(n);
    leave(prev);
    return v;
}

#define BUILD(expr)                     \
    do {                                \
        arena *prev_ = enter(mem);      \
        yj *v_ = (expr);                \
        leave(prev_);                   \
        return v_;                      \
    } while (0)

yj *yj_new_object(arena *mem) { BUILD(cJSON_CreateObject()); }
yj *yj_new_array(arena *mem) { BUILD(cJSON_CreateArray()); }
yj *yj_new_int(arena *mem, int64_t v) { BUILD(cJSON_CreateNumber((double)v)); }
yj *yj_new_number(arena *mem, double v) { BUILD(cJSON_CreateNumber(v)); }
yj *yj_new_bool(arena *mem, bool v) { BUILD(cJSON_CreateBool(v)); }
yj *yj_new_null(arena *mem) { BUILD(cJSON_CreateNull()); }

yj *yj_new_string(arena *mem, const char *s, size_t len)
{
    char *copy = arena_strndup(mem, s, len);
    BUILD(cJSON_CreateString(copy));
}

void yj_append(arena *mem, yj *container, const char *key, yj *item)
{
    arena *prev = enter(mem);
    if (key)
        cJSON_AddItemToObject(container, key, item);
    else
        cJSON_AddItemToArray(container, item);
    leave(prev);
}

void yj_set(arena *mem, yj *obj, const char *key, yj *item)
{
    arena *prev = enter(mem);
    if (!item)
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    else if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
    leave(prev);
}

yj *yj_clone(arena *mem, const yj *v)
{
    BUILD(cJSON_Duplicate(v, 1));
}

static void map_strings(arena *mem, yj *v, void (*fn)(strbuf *out, const char *s, void *ctx), void *ctx, strbuf *sb)
{
    for (; v; v = v->next) {
        if ((v->type & 0xFF) == cJSON_String && v->valuestring) {
            sb_clear(sb);
            fn(sb, v->valuestring, ctx);
            v->valuestring = arena_strndup(mem, sb_str(sb), sb->len);
        }
        map_strings(mem, v->child, fn, ctx, sb); /* as deep as cJSON's nesting limit at most */
    }
}

void yj_map_strings(arena *mem, yj *v, void (*fn)(strbuf *out, const char *s, void *ctx), void *ctx)
{
    strbuf sb = STRBUF_INIT;
    if (v) {
        if ((v->type & 0xFF) == cJSON_String && v->valuestring) {
            fn(&sb, v->valuestring, ctx);
            v->valuestring = arena_strndup(mem, sb_str(&sb), sb.len);
        }
        map_strings(mem, v->child, fn, ctx, &sb);
    }
    sb_free(&sb);
}

yj_type yj_typeof(const yj *v)
{
    if (!v)
        return YJ_INVALID;
    switch (v->type & 0xFF) {
    case cJSON_NULL: return YJ_NULL;
    case cJSON_True:
    case cJSON_False: return YJ_BOOL;
    case cJSON_Number: return YJ_NUMBER;
    case cJSON_String: return YJ_STRING;
    case cJSON_Array: return YJ_ARRAY;
    case cJSON_Object: return YJ_OBJECT;
    default: return YJ_INVALID;
    }
}

const char *yj_type_name(const yj *v)
{
    switch (yj_typeof(v)) {
    case YJ_NULL: return "null";
    case YJ_BOOL: return "true/false";
    case YJ_NUMBER: return "a number";
    case YJ_STRING: return "text";
    case YJ_ARRAY: return "a list";
    case YJ_OBJECT: return "an object";
    default: return "nothing";
    }
}

const char *yj_key(const yj *v) { return v->string; }
const char *yj_str(const yj *v) { return v->valuestring ? v->valuestring : ""; }
char *yj_str_buf(yj *v) { return v && (v->type & 0xFF) == cJSON_String ? v->valuestring : NULL; }
double yj_num(const yj *v) { return v->valuedouble; }
bool yj_bool(const yj *v) { return (v->type & 0xFF) == cJSON_True; }
yj *yj_first(const yj *c) { return c ? c->child : NULL; }
yj *yj_next(const yj *v) { return v->next; }

size_t yj_size(const yj *c)
{
    size_t n = 0;
    for (yj *x = c ? c->child : NULL; x; x = x->next)
        n++;
    return n;
}

yj *yj_get(const yj *obj, const char *key)
{
    for (yj *x = obj ? obj->child : NULL; x; x = x->next)
        if (x->string && strcmp(x->string, key) == 0)
            return x;
    return NULL;
}

bool yj_is_int(const yj *v, int64_t *out)
{
    if (yj_typeof(v) != YJ_NUMBER)
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return false;
    if (out)
        *out = (int64_t)d;
    return true;
}

/* ---- a member found without parsing ---- */

/* The scan steps through the members of the top-level object one by one.  Inside a member's
 * value that is an object or an array it only has to find the bracket that closes it: it counts
 * the brackets outside strings, 64 bytes at a time (a bitmap of the block's quotes, backslashes
 * and brackets, with SSE2, AVX2 or AVX-512 on x86-64; the bytes inside strings are the prefix XOR
 * of its unescaped quotes), and a block whose closing brackets cannot bring the count back is
 * passed in a few instructions.  A stored determination spends most of its bytes in such values. */

/* the end of the string whose opening quote is at p (at its closing quote), or NULL; *esc says
   whether it holds an escape */
static const char *string_end(const char *p, const char *end, bool *esc)
{
    *esc = false;
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\') {
            *esc = true;
            if (++p == end)
                return NULL;
        }
    return p < end ? p : NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* the bytes of a 64-byte block that are quotes, backslashes, opening and closing brackets; with
   x | 0x20, '[' becomes '{' and ']' becomes '}', and no other byte does */
typedef struct {
    uint64_t quote, bslash, open, close;
} block_bits;

/* the bytes escaped by a backslash before them; *carry: the block's first byte is (in), its last
   backslash escapes the next block's first byte (out).  Escapes are rare: a loop over them. */
static inline uint64_t escaped(uint64_t bslash, uint64_t *carry)
{
    uint64_t esc = *carry;
    bslash &= ~esc;
    *carry = 0;
    while (bslash) {
        uint64_t bit = bslash & -bslash, next = bit << 1;
        if (!next)
            *carry = 1;
        esc |= next;
        bslash &= ~(bit | next);
    }
    return esc;
}

static inline uint64_t prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* the scan state between blocks, and between the blocks and the bytes after the last one */
typedef struct {
    int depth;            /* brackets open; the value is closed at 0 */
    uint64_t inside, carry; /* all ones when a string runs on into the next block; see escaped */
} scan_state;

/* one block: the offset in it of the bracket that closes the value, or -1 */
static inline int scan_block(scan_state *st, block_bits b)
{
    uint64_t e = (b.bslash | st->carry) ? escaped(b.bslash, &st->carry) : 0;
    uint64_t str = prefix_xor(b.quote & ~e) ^ st->inside; /* in a string, its opening quote included */
    st->inside = (uint64_t)-(str >> 63);
    uint64_t open = b.open & ~str, close = b.close & ~str;
    int closes = __builtin_popcountll(close);
    if (closes < st->depth) {
        st->depth += __builtin_popcountll(open) - closes;
        return -1;
    }
    for (uint64_t all = open | close; all; all &= all - 1) {
        uint64_t bit = all & -all;
        if (open & bit)
            st->depth++;
        else if (--st->depth == 0)
            return __builtin_ctzll(bit);
    }
    return -1;
}

/* the bytes after the last whole block, one at a time */
static const char *scan_rest(scan_state *st, const char *p, const char *end)
{
    bool in_str = st->inside != 0, esc = st->carry != 0;
    for (; p < end; p++) {
        if (esc)
            esc = false;
        else if (in_str)
            esc = *p == '\\', in_str = *p != '"';
        else if (*p == '"')
            in_str = true;
        else if (*p == '{' || *p == '[')
            st->depth++;
        else if ((*p == '}' || *p == ']') && --st->depth == 0)
            return p;
    }
    return NULL;
}

/* value_end for one way of reading a block: the blocks, then the bytes after them */
#define VALUE_END(name, attr, classify)                                  \
    attr static const char *name(const char *p, const char *end)         \
    {                                                                    \
        scan_state st = {1, 0, 0};                                       \
        for (; end - p >= 64; p += 64) {                                 \
            int at = scan_block(&st, classify(p));                       \
            if (at >= 0)                                                 \
                return p + at;                                           \
        }                                                                \
        return scan_rest(&st, p, end);                                   \
    }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static inline block_bits classify_sse2(const char *p)
{
    block_bits b = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        __m128i y = _mm_or_si128(x, _mm_set1_epi8(0x20));
        b.quote |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('"'))) << (16 * i);
        b.bslash |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))) << (16 * i);
        b.open |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(y, _mm_set1_epi8('{'))) << (16 * i);
        b.close |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(y, _mm_set1_epi8('}'))) << (16 * i);
    }
    return b;
}

__attribute__((target("avx2"))) static inline block_bits classify_avx2(const char *p)
{
    block_bits b = {0, 0, 0, 0};
    for (int i = 0; i < 2; i++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * i));
        __m256i y = _mm256_or_si256(x, _mm256_set1_epi8(0x20));
        b.quote |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('"'))) << (32 * i);
        b.bslash |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('\\')))
                    << (32 * i);
        b.open |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(y, _mm256_set1_epi8('{'))) << (32 * i);
        b.close |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(y, _mm256_set1_epi8('}'))) << (32 * i);
    }
    return b;
}

__attribute__((target("avx512bw"))) static inline block_bits classify_avx512(const char *p)
{
    __m512i x = _mm512_loadu_si512((const void *)p);
    __m512i y = _mm512_or_si512(x, _mm512_set1_epi8(0x20));
    block_bits b = {_mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('"')), _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\')),
                    _mm512_cmpeq_epi8_mask(y, _mm512_set1_epi8('{')), _mm512_cmpeq_epi8_mask(y, _mm512_set1_epi8('}'))};
    return b;
}

VALUE_END(value_end_sse2, , classify_sse2)
VALUE_END(value_end_avx2, __attribute__((target("avx2,popcnt,bmi"))), classify_avx2)
VALUE_END(value_end_avx512, __attribute__((target("avx512f,avx512bw,popcnt,bmi"))), classify_avx512)

static int scan_widest = 512; /* json_scan_limit */

int json_scan_limit(int bits)
{
    scan_widest = bits;
    if (bits >= 512 && __builtin_cpu_supports("avx512bw"))
        return 512;
    return bits >= 256 && __builtin_cpu_supports("avx2") ? 256 : 128;
}

/* p just after the bracket that opens a member's value: the bracket that closes that value, or
   NULL when the text ends first; read with the widest vectors the processor has */
static const char *value_end(const char *p, const char *end)
{
    if (scan_widest >= 512 && __builtin_cpu_supports("avx512bw"))
        return value_end_avx512(p, end);
    if (scan_widest >= 256 && __builtin_cpu_supports("avx2"))
        return value_end_avx2(p, end);
    return value_end_sse2(p, end);
}
#else
static inline block_bits classify_bytes(const char *p)
{
    block_bits b = {0, 0, 0, 0};
    for (int i = 0; i < 64; i++) {
        uint64_t bit = (uint64_t)1 << i;
        char c = p[i], y = (char)(c | 0x20);
        b.quote |= c == '"' ? bit : 0;
        b.bslash |= c == '\\' ? bit : 0;
        b.open |= y == '{' ? bit : 0;
        b.close |= y == '}' ? bit : 0;
    }
    return b;
}

VALUE_END(value_end, , classify_bytes)

int json_scan_limit(int bits)
{
    (void)bits;
    return 64;
}
#endif

static bool literal_byte(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E';
}

bool json_top_string(const char *s, size_t len, const char *key, const char **v, size_t *n)
{
    const char *end = s + len, *p = skip_ws(s, end);
    size_t kn = strlen(key);
    if (p == end || *p != '{')
        return false;
    for (p = skip_ws(p + 1, end); p < end && *p == '"'; p = skip_ws(p + 1, end)) {
        bool esc;
        const char *k = p + 1, *kend = string_end(p, end, &esc);
        if (!kend || esc)
            return false; /* an escaped key may spell the one sought: the parser tells */
        p = skip_ws(kend + 1, end);
        if (p == end || *p != ':')
            return false;
        p = skip_ws(p + 1, end);
        if (p == end)
            return false;
        if ((size_t)(kend - k) == kn && !memcmp(k, key, kn)) {
            const char *vend = *p == '"' ? string_end(p, end, &esc) : NULL;
            if (!vend || esc)
                return false;
            *v = p + 1;
            *n = (size_t)(vend - p - 1);
            return true;
        }
        if (*p == '"') {
            p = string_end(p, end, &esc);
        } else if (*p == '{' || *p == '[') {
            p = value_end(p + 1, end);
        } else {
            const char *q = p;
            while (q < end && literal_byte(*q))
                q++;
            p = q > p ? q - 1 : NULL;
        }
        if (!p)
            return false;
        p = skip_ws(p + 1, end);
        if (p == end || *p != ',')
            return false; /* the end of the object (no such member), or not JSON */
    }
    return false;
}

/* ---- canonical writing ---- */

void json_quote(strbuf *sb, const char *s, size_t n)
{
    /* worst case: every byte escaped as \u00XX */
    if (sb->len + n * 6 + 3 > sb->cap)
        sb_grow(sb, n * 6 + 2);
    char *o = sb->buf + sb->len;
    *o++ = '"';
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    while (i < n) {
        /* eight bytes at a time while none needs escaping (most text: Chinese UTF-8, ids, dates):
         * the classic "has a byte below / equal to" tests, exact for "any byte matches" */
        if (i + 8 <= n) {
            uint64_t x, q, b;
            memcpy(&x, s + i, 8);
            q = x ^ (ones * '"');
            b = x ^ (ones * '\\');
            if (!((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)) {
                memcpy(o, s + i, 8);
                o += 8;
                i += 8;
                continue;
            }
        }
        unsigned char c = (unsigned char)s[i++];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = "0123456789abcdef"[c >> 4];
            *o++ = "0123456789abcdef"[c & 15];
            break;
        }
    }
    *o++ = '"';
    *o = '\0';
    sb->len = (size_t)(o - sb->buf);
}

/* decimal digits of a 64-bit integer, without printf */
static void add_int(strbuf *sb, int64_t v)
{
    char tmp[24];
    int k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[k++] = '-';
    if (sb->len + (size_t)k + 1 > sb->cap)
        sb_grow(sb, (size_t)k);
    while (k)
        sb->buf[sb->len++] = tmp[--k];
    sb->buf[sb->len] = '\0';
}

static void write_number(strbuf *sb, double d)
{
    int64_t i;
    cJSON tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.type = cJSON_Number;
    tmp.valuedouble = d;
    if (yj_is_int(&tmp, &i)) {
        add_int(sb, i);
        return;
    }
    if (!isfinite(d)) {
        sb_adds(sb, "null");
        return;
    }
    /* shortest representation that reads back exactly */
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    sb_adds(sb, buf);
}

static int cmp_members(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

void yj_write_canonical(strbuf *sb, const yj *v)
{
    switch (yj_typeof(v)) {
    case YJ_NULL: sb_adds(sb, "null"); break;
    case YJ_BOOL: sb_adds(sb, yj_bool(v) ? "true" : "false"); break;
    case YJ_NUMBER: write_number(sb, v->valuedouble); break;
    case YJ_STRING: json_quote(sb, yj_str(v), strlen(yj_str(v))); break;
    case YJ_ARRAY:
        sb_addc(sb, '[');
        for (yj *x = v->child; x; x = x->next) {
            if (x != v->child)
                sb_addc(sb, ',');
            yj_write_canonical(sb, x);
        }
        sb_addc(sb, ']');
        break;
    case YJ_OBJECT: {
        size_t n = yj_size(v);
        const cJSON *small[64];
        const cJSON **m = n <= 64 ? small : yz_malloc(n * sizeof *m);
        size_t k = 0;
        for (yj *x = v->child; x; x = x->next)
            m[k++] = x;
        if (n <= 24) {
            /* a record's objects are small: insertion sort, without qsort's calls per comparison */
            for (size_t i = 1; i < n; i++) {
                const cJSON *x = m[i];
                size_t j = i;
                while (j > 0 && strcmp(m[j - 1]->string, x->string) > 0) {
                    m[j] = m[j - 1];
                    j--;
                }
                m[j] = x;
            }
        } else {
            qsort(m, n, sizeof *m, cmp_members);
        }
        sb_addc(sb, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sb_addc(sb, ',');
            json_quote(sb, m[i]->string, strlen(m[i]->string));
            sb_addc(sb, ':');
            yj_write_canonical(sb, m[i]);
        }
        sb_addc(sb, '}');
        if (m != small)
            yz_free(m);
        break;
    }
    default: sb_adds(sb, "null"); break;
    }
}

void jw_init(jw *w, strbuf *sb)
{
    memset(w, 0, sizeof *w);
    w->sb = sb;
}

/* a value directly after its key needs no comma; any other element after the first does */
static void before_value(jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (w->nonempty[w->depth])
            sb_addc(w->sb, ',');
        w->nonempty[w->depth] = true;
    }
}

void jw_obj_begin(jw *w)
{
    before_value(w);
    sb_addc(w->sb, '{');
    w->depth++;
    w->nonempty[w->depth] = false;
}

void jw_obj_end(jw *w)
{
    sb_addc(w->sb, '}');
    w->depth--;
}

void jw_arr_begin(jw *w)
{
    before_value(w);
    sb_addc(w->sb, '[');
    w->depth++;
    w->nonempty[w->depth] = false;
}

void jw_arr_end(jw *w)
{
    sb_addc(w->sb, ']');
    w->depth--;
}

void jw_key(jw *w, const char *key)
{
    before_value(w);
    json_quote(w->sb, key, strlen(key));
    sb_addc(w->sb, ':');
    w->after_key = true;
}

void jw_key_plain(jw *w, const char *key, size_t n)
{
    before_value(w);
    strbuf *sb = w->sb;
    if (sb->len + n + 4 > sb->cap)
        sb_grow(sb, n + 3);
    char *o = sb->buf + sb->len;
    *o++ = '"';
    memcpy(o, key, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    *o = '\0';
    sb->len = (size_t)(o - sb->buf);
    w->after_key = true;
}

void jw_str(jw *w, const char *s)
{
    jw_strn(w, s, strlen(s));
}

void jw_strn(jw *w, const char *s, size_t n)
{
    before_value(w);
    json_quote(w->sb, s, n);
}

void jw_int(jw *w, int64_t v)
{
    before_value(w);
    add_int(w->sb, v);
}

void jw_bool(jw *w, bool v)
{
    before_value(w);
    sb_adds(w->sb, v ? "true" : "false");
}

void jw_null(jw *w)
{
    before_value(w);
    sb_adds(w->sb, "null");
}

void jw_raw(jw *w, const char *json, size_t n)
{
    before_value(w);
    sb_add(w->sb, json, n);
}

/* ---- structural difference ---- */

typedef struct diffctx {
    strbuf *out;
    int n, max;
    strbuf path;
} diffctx;

static void short_json(strbuf *sb, const yj *v)
{
    if (!v) {
        sb_adds(sb, "(absent)");
        return;
    }
    strbuf t = STRBUF_INIT;
    yj_write_canonical(&t, v);
    if (t.len > 120) {
        size_t k = 117;
        while (k > 0 && ((unsigned char)t.buf[k] & 0xC0) == 0x80)
            k--;
        sb_add(sb, t.buf, k);
        sb_adds(sb, "...");
    } else {
        sb_add(sb, t.buf, t.len);
    }
    sb_free(&t);
}

static void diff_rec(diffctx *c, const yj *a, const yj *b)
{
    yj_type ta = a ? yj_typeof(a) : YJ_INVALID, tb = b ? yj_typeof(b) : YJ_INVALID;
    if (ta == YJ_OBJECT && tb == YJ_OBJECT) {
        /* keys of both, in sorted order */
        size_t na = yj_size(a), nb = yj_size(b), n = 0;
        const char **keys = yz_malloc((na + nb + 1) * sizeof *keys);
        for (const yj *x = yj_first(a); x; x = yj_next(x))
            keys[n++] = yj_key(x);
        for (const yj *x = yj_first(b); x; x = yj_next(x))
            if (!yj_get(a, yj_key(x)))
                keys[n++] = yj_key(x);
        qsort(keys, n, sizeof *keys, yz_strcmp_ptr);
        size_t base = c->path.len;
        for (size_t i = 0; i < n; i++) {
            if (base)
                sb_addc(&c->path, '.');
            sb_adds(&c->path, keys[i]);
            diff_rec(c, yj_get(a, keys[i]), yj_get(b, keys[i]));
            c->path.len = base;
            if (c->path.buf)
                c->path.buf[base] = '\0';
        }
        yz_free(keys);
        return;
    }
    if (ta == YJ_ARRAY && tb == YJ_ARRAY && yj_size(a) == yj_size(b)) {
        size_t base = c->path.len, i = 0;
        for (const yj *x = yj_first(a), *y = yj_first(b); x && y; x = yj_next(x), y = yj_next(y), i++) {
            sb_addf(&c->path, "[%zu]", i);
            diff_rec(c, x, y);
            c->path.len = base;
            c->path.buf[base] = '\0';
        }
        return;
    }
    strbuf sa = STRBUF_INIT, sbv = STRBUF_INIT;
    if (a)
        yj_write_canonical(&sa, a);
    if (b)
        yj_write_canonical(&sbv, b);
    bool same = a && b && !strcmp(sb_str(&sa), sb_str(&sbv));
    sb_free(&sa);
    sb_free(&sbv);
    if (same)
        return;
    c->n++;
    if (c->n > c->max)
        return;
    sb_addf(c->out, "  %s: ", c->path.len ? c->path.buf : "(whole)");
    short_json(c->out, a);
    sb_adds(c->out, " -> ");
    short_json(c->out, b);
    sb_addc(c->out, '\n');
}

int yj_diff(const yj *a, const yj *b, strbuf *out, int max_lines)
{
    diffctx c = {out, 0, max_lines, STRBUF_INIT};
    diff_rec(&c, a, b);
    if (c.n > c.max)
        sb_addf(out, "  ... and %d more differences\n", c.n - c.max);
    sb_free(&c.path);
    return c.n;
}
