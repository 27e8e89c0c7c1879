#!/bin/sh
# tests/sign/run.sh: what the store proves against someone who can write it, end to end with the
# real binary, the sqlite3 shell and the openssl command line (an implementation no one here wrote):
#   keys (SM2, Ed25519, chain secrets) made by yuanzhu read by openssl and the other way round;
#   signed checkpoints: made, verified, and each attack the chain alone misses (a rewrite with the
#   chain recomputed, a cut tail, a back-dated forged append) caught; a checkpoint of another key,
#   store or text refused; SM2 and Ed25519 signatures checked by openssl pkeyutl and openssl's
#   signatures by yuanzhu;
#   signed rulesets: lint, check and batch check the folder's signature before deciding anything;
#   a changed file, another key, no key at all are refused; a store that trusts keys requires them;
#   the decision chains its signer;
#   a keyed (HMAC) chain: a forger without the secret is caught, one with it (openssl) is not;
#   a version 1 store migrated to version 2.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init sign
. tests/sign/forge.sh

H=$T/home
mkdir -p "$H"
cp -R rules provinces "$H/"
export YUANZHU_HOME=$H YUANZHU_OPERATOR=sign-test
unset YUANZHU_CHAIN_KEY YUANZHU_RULESET_KEY YUANZHU_CHECKPOINT_KEY
REC=schemas/examples/applicant.yaml
ID=1234567812345678

# ---- keys ----
expect "key new sm2" 0 "key sm2:" "$YZ" key new --alg sm2 --out "$T/aud"
expect "key new ed25519" 0 "key ed25519:" "$YZ" key new --alg ed25519 --out "$T/ed"
expect "key new hmac" 0 "chain secret hmac:" "$YZ" key new --alg hmac --out "$T/chain"
expect "key new sm2 (another)" 0 "key sm2:" "$YZ" key new --alg sm2 --out "$T/other"
[ "$(stat -c %a "$T/aud.key")" = 600 ] && [ "$(stat -c %a "$T/chain.key")" = 600 ] && ok || bad "private keys are not mode 0600"
expect "a key is never overwritten" 2 "never overwritten" "$YZ" key new --alg sm2 --out "$T/aud"
expect "unknown algorithm" 2 "use sm2, ed25519 or hmac" "$YZ" key new --alg rsa --out "$T/rsa"
expect "key show" 0 "kind:      private key" "$YZ" key show "$T/aud.key"
expect "not a key" 2 "not a key" sh -c "echo hello > '$T/junk'; '$YZ' key show '$T/junk'"
# the key name is the fingerprint of the public key's DER, as openssl computes it
fp=$(openssl pkey -pubin -in "$T/aud.pub" -outform DER | sha256sum | cut -c1-16)
expect "key name = sha256 of the DER public key" 0 "name:      sm2:$fp" "$YZ" key show "$T/aud.pub"
openssl pkey -in "$T/aud.key" -noout 2> /dev/null && openssl pkey -in "$T/ed.key" -noout 2> /dev/null && ok ||
    bad "openssl cannot read the keys yuanzhu made"
openssl genpkey -algorithm SM2 -out "$T/osm2.key" 2> /dev/null && openssl pkey -in "$T/osm2.key" -pubout -out "$T/osm2.pub"
openssl genpkey -algorithm ED25519 -out "$T/oed.key" 2> /dev/null && openssl pkey -in "$T/oed.key" -pubout -out "$T/oed.pub"
expect "an SM2 key made by openssl" 0 "algorithm: sm2" "$YZ" key show "$T/osm2.key"
expect "an Ed25519 key made by openssl" 0 "algorithm: ed25519" "$YZ" key show "$T/oed.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/p256.key" 2> /dev/null
expect "a P-256 key is refused" 2 "signs with sm2 or ed25519" "$YZ" key show "$T/p256.key"

# ---- checkpoints ----
DB=$T/a.db
for d in 2025-06-15 2025-07-01 2025-08-01 2025-09-01; do
    "$YZ" check --province guangdong --as-of $d --db "$DB" "$REC" > /dev/null 2>&1 || bad "check $d failed"
done
expect "checkpoint needs a key" 2 "which key" "$YZ" audit checkpoint --db "$DB"
expect "checkpoint with a public key" 2 "a public key" "$YZ" audit checkpoint --db "$DB" --key "$T/aud.pub"
expect "checkpoint" 0 "yuanzhu/" "$YZ" audit checkpoint --db "$DB" --key "$T/aud.key" --key "$T/ed.key" --to "$T/cp"
CP=$T/cp
[ "$(sed -n 2p "$CP")" = 5 ] && [ "$(sed -n 3p "$CP")" = "$("$YZ" audit head --db "$DB" | cut -d: -f2)" ] && ok ||
    bad "the checkpoint does not state the head: $(head -3 "$CP")"
grep -q "^origin\|^yuanzhu/[0-9a-f]\{32\}$" "$CP" && grep -q "^chain sha256$" "$CP" && grep -q "^time 20" "$CP" && ok ||
    bad "checkpoint fields: $(cat "$CP")"
[ "$(sqlite3 "$DB" "SELECT count(*) || ' ' || max(size) FROM checkpoints")" = "1 5" ] && ok || bad "the store does not keep its checkpoint"
expect "verify a checkpoint" 0 "appended since: nothing" "$YZ" audit verify --db "$DB" --checkpoint "$CP" --pubkey "$T/aud.pub"
expect "verify with the other signer" 0 "signed by ed25519:" "$YZ" audit verify --db "$DB" --checkpoint "$CP" --pubkey "$T/ed.pub"
expect "--checkpoint needs --pubkey" 2 "needs --pubkey" "$YZ" audit verify --db "$DB" --checkpoint "$CP"

# the signatures, checked by openssl: the signed bytes are the text above the empty line; the
# base64 holds the key id (4 bytes) and the signature
awk 'NF == 0 {exit} {print}' "$CP" > "$T/body"
grep '^— sm2:' "$CP" | awk '{print $3}' | base64 -d | tail -c +5 > "$T/sig.sm2"
grep '^— ed25519:' "$CP" | awk '{print $3}' | base64 -d | tail -c +5 > "$T/sig.ed"
expect "openssl verifies the SM2 signature (SM3, distid $ID)" 0 "Verified Successfully" \
    openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:$ID -pubin -inkey "$T/aud.pub" -in "$T/body" -sigfile "$T/sig.sm2"
expect "the SM2 signature needs that ID (OpenSSL 3.0's empty default fails)" 1 "Verification Failure" \
    openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey "$T/aud.pub" -in "$T/body" -sigfile "$T/sig.sm2"
expect "openssl verifies the Ed25519 signature" 0 "Verified Successfully" \
    openssl pkeyutl -verify -rawin -pubin -inkey "$T/ed.pub" -in "$T/body" -sigfile "$T/sig.ed"

# and the other way round: a checkpoint signed by openssl (with keys openssl made) verifies here
osign() { # BODY KEY SIGFILE [SM2]: the signature line of openssl's signature
    if [ -n "${4:-}" ]; then openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:$ID -inkey "$2" -in "$1" -out "$3"
    else openssl pkeyutl -sign -rawin -inkey "$2" -in "$1" -out "$3"; fi
    alg=$(if [ -n "${4:-}" ]; then echo sm2; else echo ed25519; fi)
    fpx=$(openssl pkey -in "$2" -pubout -outform DER | sha256sum | cut -c1-64)
    printf '— %s:%s %s\n' "$alg" "$(echo "$fpx" | cut -c1-16)" \
        "$( (echo "$fpx" | cut -c1-8 | tr a-f A-F | tr -d '\n' | basenc --base16 -d; cat "$3") | base64 -w0)"
}
{ cat "$T/body"; echo; osign "$T/body" "$T/osm2.key" "$T/os.sig" sm2; osign "$T/body" "$T/oed.key" "$T/oe.sig"; } > "$T/ocp"
expect "an SM2 checkpoint signed by openssl verifies" 0 "appended since: nothing" \
    "$YZ" audit verify --db "$DB" --checkpoint "$T/ocp" --pubkey "$T/osm2.pub"
expect "an Ed25519 checkpoint signed by openssl verifies" 0 "holds exactly those" \
    "$YZ" audit verify --db "$DB" --checkpoint "$T/ocp" --pubkey "$T/oed.pub"

# refusals
expect "a checkpoint signed by another key is refused" 1 "not by sm2:" \
    "$YZ" audit verify --db "$DB" --checkpoint "$CP" --pubkey "$T/other.pub"
sed '2s/^5$/4/' "$CP" > "$T/cp-edited"
expect "a checkpoint whose text was changed is refused" 1 "does not verify" \
    "$YZ" audit verify --db "$DB" --checkpoint "$T/cp-edited" --pubkey "$T/aud.pub"
sed 's/$/\r/' "$CP" > "$T/cp-crlf"
expect "a checkpoint with CR line ends is refused" 4 "CR line ends" \
    "$YZ" audit verify --db "$DB" --checkpoint "$T/cp-crlf" --pubkey "$T/aud.pub"
head -6 "$CP" > "$T/cp-cut"
expect "a checkpoint without signature lines" 4 "no signature" \
    "$YZ" audit verify --db "$DB" --checkpoint "$T/cp-cut" --pubkey "$T/aud.pub"
"$YZ" check --province guangdong --as-of 2025-06-15 --db "$T/b.db" "$REC" > /dev/null 2>&1
expect "a checkpoint of another store is refused" 1 "of the store yuanzhu/" \
    "$YZ" audit verify --db "$T/b.db" --checkpoint "$CP" --pubkey "$T/aud.pub"

# what was appended since, and a second checkpoint made from the first
"$YZ" check --province guangdong --as-of 2025-10-01 --operator late --db "$DB" "$REC" > /dev/null 2>&1
expect "appended since the checkpoint" 0 "appended since: 1 event (seq 6 to 6: 1 decision, 0 rulesets)" \
    "$YZ" audit verify --db "$DB" --checkpoint "$CP" --pubkey "$T/aud.pub"
expect "a second checkpoint" 0 "checkpoint of 6 events" "$YZ" audit checkpoint --db "$DB" --key "$T/aud.key" --to "$CP"
expect "both checkpoints hold" 0 "2 checked; the latest" "$YZ" audit verify --db "$DB" --checkpoint "$CP" --pubkey "$T/aud.pub"

# ---- the attacks the chain alone misses ----
ohash_all "$DB"
cp "$DB" "$T/base.db"; cp "$DB.ohash" "$T/base.db.ohash"
attack() { cp "$T/base.db" "$T/$1.db"; cp "$T/base.db.ohash" "$T/$1.db.ohash"; echo "$T/$1.db"; }

# the forger's chain is right: a forged append passes plain verification (as the issue says) ...
F=$(attack forged)
forge_append "$F" 3 "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
expect "a forged append with a recomputed chain passes the chain" 0 "ok: 7 events" "$YZ" audit verify --db "$F"
expect "... and --expect-head with the old head" 0 "ok: 7 events" "$YZ" audit verify --db "$F" --expect-head "$("$YZ" audit head --db "$DB")"
expect "... but the checkpoint shows it appended, by whom and when" 0 "appended since: 1 event (seq 7 to 7" \
    "$YZ" audit verify --db "$F" --checkpoint "$CP" --pubkey "$T/aud.pub"
# ... and dated inside the period the checkpoint covers, as a forger would, it is caught
B=$(attack backdated)
forge_append "$B" 3 2000-01-01T09:30:00Z
expect "a back-dated forged append passes the chain" 0 "ok: 7 events" "$YZ" audit verify --db "$B"
expect "a back-dated forged append is caught by the checkpoint" 1 "TAMPERED at seq 7: recorded at" \
    "$YZ" audit verify --db "$B" --checkpoint "$CP" --pubkey "$T/aud.pub"
# a rewrite from the middle, every hash after it recomputed (and the store's own checkpoints gone)
W=$(attack rewrite)
sqlite3 "$W" "DROP TRIGGER decisions_no_update; UPDATE decisions SET operator = 'rewritten' WHERE seq = 4;
    DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints"
rechain "$W" 4
expect "a rewrite from the middle passes the chain" 0 "ok: 6 events" "$YZ" audit verify --db "$W"
expect "a rewrite from the middle is caught by the checkpoint" 1 "TAMPERED at seq 5: event 5 is not the one" \
    "$YZ" audit verify --db "$W" --checkpoint "$CP" --pubkey "$T/aud.pub"
cp "$T/base.db" "$T/w2.db"; cp "$T/base.db.ohash" "$T/w2.db.ohash"
sqlite3 "$T/w2.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET operator = 'rewritten' WHERE seq = 4"
rechain "$T/w2.db" 4
expect "a rewrite that left the store's checkpoints is caught by them" 1 "the store's own checkpoint" "$YZ" audit verify --db "$T/w2.db"
# the tail cut off
C=$(attack cut)
sqlite3 "$C" "DROP TRIGGER decisions_no_delete; DROP TRIGGER audit_no_delete; DROP TRIGGER checkpoints_no_delete;
    DELETE FROM decisions WHERE seq > 4; DELETE FROM audit WHERE seq > 4; DELETE FROM checkpoints"
expect "a cut tail passes the chain" 0 "ok: 4 events" "$YZ" audit verify --db "$C"
expect "a cut tail is caught by the checkpoint" 1 "TAMPERED at seq 5: the checkpoint of" \
    "$YZ" audit verify --db "$C" --checkpoint "$CP" --pubkey "$T/aud.pub"
# what the chain catches by itself is still caught, with checkpoints as without
U=$(attack altered)
sqlite3 "$U" "DROP TRIGGER decisions_no_update; UPDATE decisions SET output = (SELECT output FROM decisions WHERE seq = 2) WHERE seq = 4"
expect "an altered output is still caught" 1 "TAMPERED at seq 4" "$YZ" audit verify --db "$U" --checkpoint "$CP" --pubkey "$T/aud.pub"
# a checkpoint verifies the events since the last checkpoint its key made (audit verify checks all)
"$YZ" check --province guangdong --as-of 2025-06-15 --db "$U" "$REC" > /dev/null 2>&1 || bad "check into the copy"
sqlite3 "$U" "UPDATE decisions SET operator = 'x' WHERE seq = 7"
expect "a checkpoint of a tampered chain is refused" 1 "nothing was signed" "$YZ" audit checkpoint --db "$U" --key "$T/aud.key"
expect "... and nothing was kept" 0 "2" sqlite3 "$U" "SELECT count(*) FROM checkpoints"
D=$(attack deleted)
sqlite3 "$D" "DROP TRIGGER decisions_no_delete; DROP TRIGGER audit_no_delete; DELETE FROM decisions WHERE seq = 3; DELETE FROM audit WHERE seq = 3"
expect "a deleted event is still caught" 1 "TAMPERED at seq 3: event 3 is missing" "$YZ" audit verify --db "$D" --checkpoint "$CP" --pubkey "$T/aud.pub"
# the forger's tool models the chain exactly: rechaining an untouched store changes nothing
N=$(attack noop)
rechain "$N" 2
[ "$(sqlite3 "$N" "SELECT group_concat(hash) FROM audit")" = "$(sqlite3 "$T/base.db" "SELECT group_concat(hash) FROM audit")" ] && ok ||
    bad "tests/sign/forge.sh does not rebuild the engine's chain"

# ---- a keyed chain ----
KDB=$T/k.db
expect "init --chain-key" 0 "hmac-sha256 keyed by hmac:" "$YZ" init --db "$KDB" --chain-key "$T/chain.key"
expect "recording needs the secret" 2 "need that secret" "$YZ" check --province guangdong --as-of 2025-06-15 --db "$KDB" "$REC"
[ "$(sqlite3 "$KDB" "SELECT count(*) FROM decisions")" = 0 ] && ok || bad "a decision was recorded without the chain key"
for d in 2025-06-15 2025-07-01; do
    YUANZHU_CHAIN_KEY=$T/chain.key "$YZ" check --province guangdong --as-of $d --db "$KDB" "$REC" > /dev/null 2>&1 || bad "keyed check $d"
done
expect "verifying needs the secret" 2 "need that secret" "$YZ" audit verify --db "$KDB"
"$YZ" key new --alg hmac --out "$T/chain2" > /dev/null
expect "another secret is refused" 2 "not by hmac:" "$YZ" audit verify --db "$KDB" --chain-key "$T/chain2.key"
expect "a keyed store verifies with its secret" 0 "ok: 3 events" "$YZ" audit verify --db "$KDB" --chain-key "$T/chain.key"
expect "a chain key for a plain store is refused" 2 "not keyed" "$YZ" audit verify --db "$DB" --chain-key "$T/chain.key"
expect "a keyed store's checkpoint states its chain" 0 "chain hmac-sha256 hmac:" \
    "$YZ" audit checkpoint --db "$KDB" --key "$T/aud.key" --chain-key "$T/chain.key" --to "$T/kcp"
ohash_all "$KDB"
cp "$KDB" "$T/kf.db"; cp "$KDB.ohash" "$T/kf.db.ohash"
forge_append "$T/kf.db" 2 "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
expect "a forged append without the secret is caught by the keyed chain" 1 "TAMPERED at seq 4" \
    "$YZ" audit verify --db "$T/kf.db" --chain-key "$T/chain.key"
cp "$KDB" "$T/kg.db"; cp "$KDB.ohash" "$T/kg.db.ohash"
forge_append "$T/kg.db" 2 "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cat "$T/chain.key")"
expect "with the secret (HMAC-SHA256 by openssl) it verifies: the secret is what protects" 0 "ok: 4 events" \
    "$YZ" audit verify --db "$T/kg.db" --chain-key "$T/chain.key"
# the chain setting removed and the whole chain recomputed plain: the checkpoint says what it was
cp "$KDB" "$T/kd.db"; cp "$KDB.ohash" "$T/kd.db.ohash"
unlock "$T/kd.db"
sqlite3 "$T/kd.db" "DELETE FROM meta WHERE key = 'chain_key'; DELETE FROM checkpoints"
rechain "$T/kd.db" 1
expect "a downgraded chain passes by itself" 0 "ok: 3 events" "$YZ" audit verify --db "$T/kd.db"
expect "a downgraded chain is caught by the checkpoint" 1 "chain setting was changed" \
    "$YZ" audit verify --db "$T/kd.db" --checkpoint "$T/kcp" --pubkey "$T/aud.pub"

# ---- signed rulesets ----
G=$H/provinces/guangdong
expect "sign a ruleset" 0 "signed guangdong" "$YZ" sign --key "$T/aud.key" guangdong
head -1 "$G/ruleset.sig" | grep -qx "yuanzhu ruleset guangdong" && grep -q "  provinces/guangdong/policy.yaml$" "$G/ruleset.sig" &&
    grep -q "  rules/national/policy.yaml$" "$G/ruleset.sig" && grep -q "  rules/lib/date.lua$" "$G/ruleset.sig" && ok ||
    bad "the manifest lacks files: $(cat "$G/ruleset.sig")"
# the manifest lines are sha256sum's, over the files as they are on disk
awk 'NR > 1 && NF == 2' "$G/ruleset.sig" > "$T/manifest"
(cd "$H" && sha256sum -c --quiet "$T/manifest") && ok || bad "the manifest's hashes are not sha256sum's"
awk 'NF == 0 {exit} {print}' "$G/ruleset.sig" > "$T/rbody"
grep '^— sm2:' "$G/ruleset.sig" | awk '{print $3}' | base64 -d | tail -c +5 > "$T/rsig"
expect "openssl verifies the ruleset's SM2 signature" 0 "Verified Successfully" \
    openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:$ID -pubin -inkey "$T/aud.pub" -in "$T/rbody" -sigfile "$T/rsig"
expect "lint checks the signature" 0 "" "$YZ" lint --today 2025-01-01 --ruleset-key "$T/aud.pub" "$G/policy.yaml"
expect "lint: a signature with no key to check it is an error" 3 "no key to check the signature" "$YZ" lint --today 2025-01-01 "$G/policy.yaml"
expect "lint: signed by another key" 3 "not by a key configured" "$YZ" lint --today 2025-01-01 --ruleset-key "$T/other.pub" "$G/policy.yaml"
expect "check: no key configured is an error" 3 "no key to check the signature" \
    "$YZ" check --province guangdong --as-of 2025-06-15 --no-record "$REC"
expect "check with the key" 0 "援助对象" "$YZ" check --province guangdong --as-of 2025-06-15 --no-record --ruleset-key "$T/aud.pub" "$REC"
expect "check with the key from the environment" 0 "援助对象" env YUANZHU_RULESET_KEY="$T/other.pub:$T/aud.pub" \
    "$YZ" check --province guangdong --as-of 2025-06-15 --no-record "$REC"
expect "check --require-signed: unsigned refused" 3 "is not signed" \
    "$YZ" check --province guangdong/guangzhou --as-of 2025-06-15 --no-record --require-signed --ruleset-key "$T/aud.pub" "$REC"
# countersigned: both lines, either key accepts it
expect "countersign" 0 "signed guangdong" "$YZ" sign --key "$T/ed.key" "$G"
[ "$(grep -c '^— ' "$G/ruleset.sig")" = 2 ] && ok || bad "the countersignature replaced the first: $(cat "$G/ruleset.sig")"
expect "the countersigner's key alone" 0 "" "$YZ" lint --today 2025-01-01 --ruleset-key "$T/ed.pub" "$G/policy.yaml"
# a ruleset signed by openssl, its manifest written by sha256sum (the file list taken from
# yuanzhu's own signature), is accepted
Z=$H/provinces/zhejiang
"$YZ" sign --key "$T/other.key" zhejiang > /dev/null || bad "sign zhejiang"
{ echo "yuanzhu ruleset zhejiang"; (cd "$H" && sha256sum $(awk 'NR > 1 && NF == 2 {print $2}' "$Z/ruleset.sig")); } > "$T/zbody"
awk 'NF == 0 {exit} {print}' "$Z/ruleset.sig" | cmp -s - "$T/zbody" && ok || bad "yuanzhu's manifest is not sha256sum's: $(diff "$T/zbody" "$Z/ruleset.sig")"
{ cat "$T/zbody"; echo; osign "$T/zbody" "$T/osm2.key" "$T/zsig" sm2; } > "$Z/ruleset.sig"
expect "a ruleset signed by openssl is accepted" 0 "援助对象" \
    "$YZ" check --province zhejiang --as-of 2025-06-15 --no-record --ruleset-key "$T/osm2.pub" "$REC"
rm -f "$Z/ruleset.sig"

# the store: decisions record the signer; a store that trusts a key requires it
S=$T/s.db
"$YZ" check --province guangdong --as-of 2025-06-15 --db "$S" --ruleset-key "$T/aud.pub" "$REC" > /dev/null 2>&1 || bad "signed check"
"$YZ" check --province guangdong/guangzhou --as-of 2025-06-15 --db "$S" "$REC" > /dev/null 2>&1 || bad "unsigned check"
expect "the decision names its ruleset's signer" 0 "\"ruleset_signer\":\"sm2:$fp\"" "$YZ" history --db "$S" --json 440106198506150025
[ "$(sqlite3 "$S" "SELECT count(signed_by) || '/' || count(*) FROM decisions")" = "1/2" ] && ok || bad "signed_by: $(sqlite3 "$S" "SELECT seq, signed_by FROM decisions")"
expect "key trust" 0 "records only decisions whose ruleset is signed" "$YZ" key trust --db "$S" "$T/aud.pub"
expect "a trusting store refuses an unsigned ruleset" 3 "records only rulesets signed by a key it trusts" \
    "$YZ" check --province guangdong/guangzhou --as-of 2025-06-15 --db "$S" "$REC"
expect "a trusting store checks with its own keys" 0 "已记录" "$YZ" check --province guangdong --as-of 2025-07-01 --db "$S" "$REC"
"$YZ" init --db "$T/s2.db" > /dev/null && "$YZ" key trust --db "$T/s2.db" "$T/other.pub" > /dev/null || bad "trust in s2.db"
expect "a key given on the command line does not override the store's trust" 3 "does not trust" \
    "$YZ" check --province guangdong --as-of 2025-06-15 --db "$T/s2.db" --ruleset-key "$T/aud.pub" "$REC"
n=$(sqlite3 "$S" "SELECT count(*) FROM decisions")
expect "batch: a trusting store refuses an unsigned ruleset" 3 "records only rulesets signed" \
    "$YZ" batch --province guangdong/guangzhou --as-of 2025-06-15 --db "$S" --quiet --rejects "$T/gz.rejects" tests/batch/ledger.jsonl
expect "audit verify checks the recorded signatures" 0 "ok: " "$YZ" audit verify --db "$S"
cp "$S" "$T/s3.db"
sqlite3 "$T/s3.db" "DROP TRIGGER ruleset_signatures_no_update; UPDATE ruleset_signatures SET note = replace(note, 'yuanzhu ruleset guangdong', 'yuanzhu ruleset guangdong ')"
expect "an altered ruleset signature is caught" 1 "does not verify (altered)" "$YZ" audit verify --db "$T/s3.db"
cp "$S" "$T/s4.db"
sqlite3 "$T/s4.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET signed_by = NULL"
expect "a decision's signer removed is caught" 1 "TAMPERED at seq 2" "$YZ" audit verify --db "$T/s4.db"
# a file changed after signing: refused before any decision
echo "# changed after signing" >> "$G/policy.yaml"
expect "lint: a file changed after signing" 3 "policy.yaml: error: changed after the ruleset was signed" \
    "$YZ" lint --today 2025-01-01 --ruleset-key "$T/aud.pub" "$G/policy.yaml"
expect "check refuses a ruleset changed after signing" 3 "nothing was decided" \
    "$YZ" check --province guangdong --as-of 2025-08-01 --db "$S" "$REC"
expect "batch refuses a ruleset changed after signing" 3 "changed after the ruleset was signed" \
    "$YZ" batch --province guangdong --as-of 2025-06-15 --db "$S" --quiet --rejects "$T/gd.rejects" tests/batch/ledger.jsonl
[ "$(sqlite3 "$S" "SELECT count(*) FROM decisions")" = "$n" ] && ok || bad "a decision was recorded with a changed ruleset"
sed -i '$ d' "$G/policy.yaml"
expect "restored, it decides again" 0 "已记录" "$YZ" check --province guangdong --as-of 2025-08-01 --db "$S" "$REC"

# ---- a version 1 store, migrated ----
V=$T/v1.db
sqlite3 "$V" < schemas/store.sql
sqlite3 "$V" "ATTACH '$T/base.db' AS n; INSERT INTO meta SELECT * FROM n.meta WHERE key IN ('hash', 'created_at', 'created_by');
    INSERT INTO dicts SELECT * FROM n.dicts; INSERT INTO blobs SELECT * FROM n.blobs; INSERT INTO rulesets SELECT * FROM n.rulesets;
    INSERT INTO ruleset_files SELECT * FROM n.ruleset_files; INSERT INTO inputs SELECT * FROM n.inputs;
    INSERT INTO decisions SELECT seq, id, ruleset, input, id_number, as_of, operator, recorded_at, engine, target, output FROM n.decisions;
    INSERT INTO audit SELECT * FROM n.audit; PRAGMA user_version = 1"
expect "a version 1 store verifies after migration" 0 "ok: 6 events" "$YZ" audit verify --db "$V"
[ "$(sqlite3 "$V" "PRAGMA user_version")" = 2 ] && [ "$(sqlite3 "$V" "SELECT length(value) FROM meta WHERE key = 'store_id'")" = 32 ] && ok ||
    bad "the store was not migrated to version 2"
"$YZ" check --province guangdong --as-of 2025-06-15 --db "$V" --ruleset-key "$T/aud.pub" "$REC" > /dev/null 2>&1 || bad "check after migration"
expect "a migrated store records and checkpoints" 0 "checkpoint of 7 events" "$YZ" audit checkpoint --db "$V" --key "$T/aud.key" --to "$T/vcp"

finish sign
