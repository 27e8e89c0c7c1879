# tests/sign/forge.sh: what someone who can write the store can do with the sqlite3 shell, the
# binary and coreutils (sourced by tests/sign/run.sh, POSIX sh).  The chain is rebuilt here from
# docs/audit.md alone, without the engine's code: hash(n) = H(hash(n-1) as hex || event(n)), the
# event the canonical JSON of its rows.  A forger with the chain's secret uses HMAC (openssl).
#
#   rechain DB FROM [HEXKEY]    recomputes the hashes (and decision ids) of events FROM.. so that
#                               the chain verifies again: plain SHA-256, or HMAC-SHA256 with HEXKEY
#   forge_append DB SRC WHEN    appends a copy of decision SRC by operator 'forger', recorded at
#                               WHEN, and chains it
# Both need the output hashes of the decisions they touch: ohash_all DB writes them to DB.ohash
# (from 'yuanzhu show --json', the output exactly as recorded) while the store still verifies.

unlock() { # the triggers that refuse UPDATE and DELETE
    sqlite3 "$1" "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;
        DROP TRIGGER IF EXISTS decisions_no_update; DROP TRIGGER IF EXISTS decisions_no_delete;
        DROP TRIGGER IF EXISTS checkpoints_no_delete; DROP TRIGGER IF EXISTS meta_no_delete;
        DROP TRIGGER IF EXISTS rulesets_no_delete; DROP TRIGGER IF EXISTS ruleset_files_no_delete"
}

ohash_all() {
    sqlite3 "$1" "SELECT seq || ' ' || id FROM decisions ORDER BY seq" | while read -r seq id; do
        echo "$seq $("$YZ" show --json --db "$1" "$id" | sha256sum | cut -c1-64)"
    done > "$1.ohash"
}

event_of() { # DB SEQ: the canonical JSON of event SEQ
    kind=$(sqlite3 "$1" "SELECT kind FROM audit WHERE seq = $2")
    if [ "$kind" = ruleset ]; then
        sqlite3 "$1" "SELECT json_object('dict', x.hash, 'files', json((SELECT json_group_array(json_object('blob', f.blob, 'path', f.path)) FROM (SELECT blob, path FROM ruleset_files WHERE ruleset = r.id ORDER BY path) f)), 'kind', 'ruleset', 'province', r.province, 'recorded_at', r.recorded_at, 'ruleset', r.ruleset, 'seq', r.seq) FROM rulesets r JOIN dicts x ON x.id = r.dict WHERE r.seq = $2"
    else
        oh=$(awk -v s="$2" '$1 == s {print $2}' "$1.ohash")
        sqlite3 "$1" "SELECT CASE WHEN d.signed_by IS NULL THEN
            json_object('as_of', d.as_of, 'engine', d.engine, 'id_number', d.id_number, 'input', i.hash, 'kind', 'decision', 'operator', d.operator, 'output', '$oh', 'province', r.province, 'recorded_at', d.recorded_at, 'ruleset', r.ruleset, 'seq', d.seq, 'target', d.target)
          ELSE
            json_object('as_of', d.as_of, 'engine', d.engine, 'id_number', d.id_number, 'input', i.hash, 'kind', 'decision', 'operator', d.operator, 'output', '$oh', 'province', r.province, 'recorded_at', d.recorded_at, 'ruleset', r.ruleset, 'ruleset_signer', g.signer, 'seq', d.seq, 'target', d.target) END
          FROM decisions d JOIN rulesets r ON r.id = d.ruleset JOIN inputs i ON i.id = d.input LEFT JOIN ruleset_signatures g ON g.id = d.signed_by WHERE d.seq = $2"
    fi
}

chain_h() { # HEXKEY: H(stdin)
    if [ -n "$1" ]; then openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" | awk '{print $NF}'
    else sha256sum | cut -c1-64; fi
}

rechain() { # DB FROM [HEXKEY]
    unlock "$1"
    prev=$(sqlite3 "$1" "SELECT hash FROM audit WHERE seq = $2 - 1")
    [ -n "$prev" ] || prev=$(printf '%064d' 0)
    last=$(sqlite3 "$1" "SELECT max(seq) FROM audit")
    n=$2
    while [ "$n" -le "$last" ]; do
        h=$(printf '%s%s' "$prev" "$(event_of "$1" "$n")" | chain_h "${3:-}")
        sqlite3 "$1" "UPDATE audit SET hash = '$h' WHERE seq = $n; UPDATE decisions SET id = substr('$h', 1, 16) WHERE seq = $n"
        prev=$h
        n=$((n + 1))
    done
}

forge_append() { # DB SRC WHEN
    next=$(($(sqlite3 "$1" "SELECT max(seq) FROM audit") + 1))
    sqlite3 "$1" "INSERT INTO decisions SELECT $next, 'f0f0f0f0f0f0f0f0', ruleset, input, id_number, as_of, 'forger', '$3', engine, target, output, signed_by FROM decisions WHERE seq = $2;
        INSERT INTO audit VALUES ($next, 'decision', '$(printf '%064d' 0)')"
    echo "$next $(awk -v s="$2" '$1 == s {print $2}' "$1.ohash")" >> "$1.ohash"
    rechain "$1" "$next" "${4:-}"
}
