/* test_store.c: packing a decision on a worker and appending it on the writer (the path batch
 * records through): the stored input and output are the canonical bytes, the input hash is their
 * SHA-256 (checked against OpenSSL directly), the same input is not decided twice, and the chain
 * verifies. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "yuanzhu.h"

static void sha256_hex(const char *s, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static yz_record *record(const char *json)
{
    yz_record *rec = NULL;
    yz_record_parse(json, strlen(json), "t.json", &rec, NULL);
    return rec;
}

void test_store(void)
{
    char path[] = "/tmp/yz-unit-store-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    CHECK_INT(yz_ruleset_load(".", "guangdong", &rs, &d), YZ_OK);
    yz_store *st = NULL;
    CHECK_INT(yz_store_open(path, "sha256", &st, &d), YZ_OK);
    yz_evaluator *ev = NULL;
    if (rs)
        CHECK_INT(yz_evaluator_new(rs, NULL, &ev, &d), YZ_OK);
    /* keys out of order and spaces: the stored input is the canonical form */
    const char *json = "{ \"sex\": \"F\", \"schema\": 1, \"birth_date\": \"1985-06-15\", \"id_number\": \"440106198506150025\" }";
    yz_record *rec = record(json);
    CHECK(rec != NULL);
    if (!rs || !st || !ev || !rec) {
        yz_record_free(rec);
        yz_evaluator_free(ev);
        yz_store_close(st);
        yz_ruleset_free(rs);
        yz_diags_free(&d);
        unlink(path);
        return;
    }
    yz_determination *det = NULL;
    CHECK_INT(yz_evaluate(ev, rec, "2025-06-15", &det, &d), YZ_OK);
    char *canon = yz_record_canonical(rec);
    CHECK_STR(canon, "{\"birth_date\":\"1985-06-15\",\"id_number\":\"440106198506150025\",\"schema\":1,\"sex\":\"F\"}");
    char *out = yz_determination_json(det);

    yz_store_dict *dict = NULL;
    CHECK_INT(yz_store_dict_get(st, rs, rec, det, &dict, &d), YZ_OK);
    yz_packer *pkr = yz_packer_new(dict);
    yz_packed *pk = NULL;
    CHECK_INT(yz_pack(pkr, rec, det, &pk), YZ_OK);
    char want[65];
    sha256_hex(canon, want);
    CHECK_STR(yz_packed_input_hash(pk), want);

    CHECK(!yz_store_decided(st, yz_ruleset_id(rs), want, "2025-06-15"));
    bool skipped = true;
    char id[17] = "";
    int64_t seq = 0;
    CHECK_INT(yz_store_append(st, pk, "unit-1", &skipped, id, &seq, &d), YZ_OK);
    CHECK(!skipped && strlen(id) == 16 && seq >= 2); /* the ruleset's registration comes first */
    CHECK(yz_store_decided(st, yz_ruleset_id(rs), want, "2025-06-15"));
    CHECK(!yz_store_decided(st, yz_ruleset_id(rs), want, "2025-06-16"));
    /* the same input with the same ruleset and date: skipped, nothing written */
    char id2[17] = "";
    int64_t seq2 = 0;
    CHECK_INT(yz_store_append(st, pk, "unit-2", &skipped, id2, &seq2, &d), YZ_OK);
    CHECK(skipped);
    int64_t head = 0;
    char hh[65];
    CHECK_INT(yz_store_head(st, &head, hh, &d), YZ_OK);
    CHECK_INT(head, seq);

    /* what comes back is byte for byte what was packed */
    yz_stored *s = NULL;
    CHECK_INT(yz_store_load(st, id, true, &s, &d), YZ_OK);
    if (s) {
        CHECK_STR(s->input, canon);
        CHECK_STR(s->output, out);
        CHECK_STR(s->operator_id, "unit-1");
        CHECK_STR(s->as_of, "2025-06-15");
        CHECK_STR(s->id_number, "440106198506150025");
        CHECK_STR(s->ruleset, yz_ruleset_id(rs));
        /* the stored files are the ruleset's: its id is recomputed from them */
        yz_ruleset *back = NULL;
        CHECK_INT(yz_ruleset_load_files(s->files, s->nfiles, s->province, &back, &d), YZ_OK);
        CHECK_STR(back ? yz_ruleset_id(back) : NULL, yz_ruleset_id(rs));
        yz_ruleset_free(back);
        char *diff = NULL;
        CHECK_INT(yz_replay(".", s, NULL, &diff, &d), YZ_OK);
        yz_free(diff);
    }
    yz_stored_free(s);
    yz_verify_report rep;
    CHECK_INT(yz_store_verify(st, NULL, &rep, &d), YZ_OK);
    CHECK_INT(rep.bad_seq, 0);
    CHECK_INT(rep.head_seq, seq);

    yz_packed_free(pk);
    yz_packer_free(pkr);
    yz_store_dict_free(dict);
    yz_free(out);
    yz_free(canon);
    yz_determination_free(det);
    yz_record_free(rec);
    yz_evaluator_free(ev);
    yz_store_close(st);
    yz_ruleset_free(rs);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "store: %s\n", d.items[i].message);
    yz_diags_free(&d);
    char aux[64];
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path);
    unlink(aux);
}
