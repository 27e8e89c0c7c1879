/* yz_jsonfast.cc: simdjson's DOM parser building cJSON nodes (see yz_jsonfast.h for when the fast
 * path declines a document and why the two parsers then agree). */
#include "yz_jsonfast.h"

#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>

#include <cjson/cJSON.h>
#include <simdjson.h>

namespace {

std::atomic<int> enabled{1};

/* a thread's parser and its padded copy of the text (simdjson reads up to SIMDJSON_PADDING bytes
   past the end), both sized for YJF_MAX_LEN once and kept */
struct state {
    simdjson::dom::parser parser;
    std::unique_ptr<char[]> buf;
    bool ready = false, failed = false;
};

thread_local state tl;

struct builder {
    void *(*alloc)(void *ctx, size_t n);
    void *ctx;

    cJSON *node(int type)
    {
        cJSON *c = static_cast<cJSON *>(alloc(ctx, sizeof(cJSON)));
        std::memset(c, 0, sizeof *c);
        c->type = type;
        return c;
    }

    char *copy(std::string_view s)
    {
        char *p = static_cast<char *>(alloc(ctx, s.size() + 1));
        std::memcpy(p, s.data(), s.size());
        p[s.size()] = '\0';
        return p;
    }

    /* a number as cJSON stores it: the double, and the int saturated to int's range */
    cJSON *number(double d)
    {
        cJSON *c = node(cJSON_Number);
        c->valuedouble = d;
        c->valueint = d >= INT_MAX ? INT_MAX : d <= static_cast<double>(INT_MIN) ? INT_MIN : static_cast<int>(d);
        return c;
    }

    /* appends kid to the list of parent the way cJSON links it: the first child's prev is the last */
    static void append(cJSON *parent, cJSON *&last, cJSON *kid)
    {
        if (!last) {
            parent->child = kid;
        } else {
            last->next = kid;
            kid->prev = last;
        }
        last = kid;
        parent->child->prev = kid;
    }

    cJSON *build(simdjson::dom::element e)
    {
        using T = simdjson::dom::element_type;
        switch (e.type()) {
        case T::OBJECT: {
            cJSON *c = node(cJSON_Object), *last = nullptr;
            for (simdjson::dom::key_value_pair kv : simdjson::dom::object(e)) {
                cJSON *kid = build(kv.value);
                if (!kid)
                    return nullptr;
                kid->string = copy(kv.key);
                append(c, last, kid);
            }
            return c;
        }
        case T::ARRAY: {
            cJSON *c = node(cJSON_Array), *last = nullptr;
            for (simdjson::dom::element v : simdjson::dom::array(e)) {
                cJSON *kid = build(v);
                if (!kid)
                    return nullptr;
                append(c, last, kid);
            }
            return c;
        }
        case T::STRING: {
            cJSON *c = node(cJSON_String);
            c->valuestring = copy(e.get_string().value_unsafe());
            return c;
        }
        /* a whole number converts to the double strtod makes of its digits: both round to nearest */
        case T::INT64: return number(static_cast<double>(e.get_int64().value_unsafe()));
        case T::UINT64: return number(static_cast<double>(e.get_uint64().value_unsafe()));
        case T::BOOL: {
            cJSON *c = node(e.get_bool().value_unsafe() ? cJSON_True : cJSON_False);
            c->valueint = c->type == cJSON_True; /* as cJSON sets it */
            return c;
        }
        case T::NULL_VALUE: return node(cJSON_NULL);
        case T::DOUBLE: break; /* a fraction or exponent: cJSON's strtod of at most 63 characters decides */
        }
        return nullptr;
    }
};

/* "-0" as a number (not "-01" in a date): cJSON keeps -0.0, simdjson reads the integer 0 */
bool has_negative_zero(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while ((p = static_cast<const char *>(std::memchr(p, '-', static_cast<size_t>(end - p))))) {
        if (end - p >= 2 && p[1] == '0' && (end - p == 2 || p[2] < '0' || p[2] > '9'))
            return true;
        p++;
    }
    return false;
}

bool prepare()
{
    if (tl.ready)
        return true;
    if (tl.failed)
        return false;
    tl.buf.reset(new (std::nothrow) char[YJF_MAX_LEN + simdjson::SIMDJSON_PADDING]);
    if (!tl.buf || tl.parser.allocate(YJF_MAX_LEN, YJF_MAX_DEPTH) != simdjson::SUCCESS) {
        tl.failed = true;
        return false;
    }
    tl.ready = true;
    return true;
}

} // namespace

extern "C" cJSON *yjf_parse(const char *text, size_t len, void *(*alloc)(void *ctx, size_t n), void *ctx)
{
    if (!enabled.load(std::memory_order_relaxed) || len > YJF_MAX_LEN || has_negative_zero(text, len))
        return nullptr;
    try {
        if (!prepare())
            return nullptr;
        std::memcpy(tl.buf.get(), text, len);
        std::memset(tl.buf.get() + len, 0, simdjson::SIMDJSON_PADDING);
        simdjson::dom::element root;
        if (tl.parser.parse(tl.buf.get(), len, false).get(root) != simdjson::SUCCESS)
            return nullptr;
        builder b{alloc, ctx};
        return b.build(root);
    } catch (...) {
        return nullptr;
    }
}

extern "C" int yjf_enable(int on)
{
    return enabled.exchange(on ? 1 : 0);
}
