#!/usr/bin/python3
# gen_openapi.py: writes engine/serve/openapi.json (the OpenAPI 3.1 description of yuanzhu serve).
# The document is data, kept in the tree; this script is how it is edited: python3 tests/serve/gen_openapi.py
import json, os, sys

def ref(n): return {"$ref": "#/components/schemas/" + n}
def nullable(t): return {"type": [t, "null"]}
def obj(props, required=None, extra=False, **kw):
    o = {"type": "object", "properties": props, "required": sorted(required if required is not None else props)}
    if not extra: o["additionalProperties"] = False
    o.update(kw)
    return o
def resp(desc, schema=None, ctype="application/json", headers=None):
    r = {"description": desc}
    if schema is not None: r["content"] = {ctype: {"schema": schema}}
    if headers: r["headers"] = headers
    return r
def err(desc): return resp(desc, ref("Error"))

S = {}
S["Violation"] = obj({"field": {"type": "string", "description": "where: 'province', 'as_of', or 'record.' and the record's field path"},
                      "message": {"type": "string"},
                      "line": {"type": "integer", "minimum": 1, "description": "for a record sent as text: its line"},
                      "col": {"type": "integer", "minimum": 1}}, required=["message"])
S["Error"] = obj({"error": obj({"code": {"type": "string", "enum": [
    "bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "policy_error", "not_in_force",
    "too_large", "unsupported_media_type", "invalid_request", "invalid_record", "unreadable_record",
    "evaluation_failed", "replay_failed", "store_error", "out_of_memory", "internal"]},
    "message": {"type": "string", "description": "lowercase, says how to fix where it can"},
    "violations": {"type": "array", "items": ref("Violation"), "description": "every problem found (422)"},
    "lint": {"type": "string", "description": "the rules' lint errors, one per line, as file:line:col (409 policy_error)"}},
    required=["code", "message"])})
S["Status3"] = {"type": "string", "enum": ["met", "not_met", "undetermined"]}
S["Basis"] = obj({"source": {"type": "string"}, "number": {"type": "string"}, "title": {"type": "string"},
                  "article": {"type": "string"}, "verified": {"type": "boolean"}}, required=["source"])
S["Condition"] = obj({"text": {"type": "string"}, "result": {"type": ["boolean", "null"]}, "rule": {"type": "string"},
                      "depth": {"type": "integer"}, "error": {"type": "string"}}, required=["text", "result"], extra=True)
S["Missing"] = obj({"field": {"type": "string"}, "label": {"type": "string"}, "document": {"type": "string"},
                    "document_name": {"type": "string"}}, required=["field"], extra=True)
item_props = {"name": {"type": "string"}, "reason": {"type": "string"}, "basis": {"type": "array", "items": ref("Basis")},
              "conditions": {"type": "array", "items": ref("Condition")}, "fields": {"type": "object"},
              "params": {"type": "object"}, "missing": {"type": "array", "items": ref("Missing")},
              "evidence_pending": {"type": "array", "items": {"type": "string"},
                                   "description": "documents still to see (ids of the applicant schema's x-evidence-documents)"},
              "unverified": {"type": "array", "items": {"type": "string"}}}
S["Item"] = obj(dict(item_props, status=ref("Status3")), required=["name", "status", "reason", "basis", "conditions", "missing"], extra=True)
S["Subsidy"] = obj(dict(item_props, status={"type": "string", "enum": ["eligible", "not_eligible", "undetermined"]},
                        amount_fen={"type": ["integer", "null"], "description": "per period, integer fen"},
                        total_fen={"type": ["integer", "null"]}, months={"type": ["integer", "null"]},
                        period={"type": "string", "enum": ["month", "once", "loan"]},
                        start={"type": ["string", "null"]}, end={"type": ["string", "null"]},
                        amount_note={"type": "string"}, terms={"type": "string"}),
                   required=["name", "status", "reason", "basis", "conditions", "missing"], extra=True)
S["Determination"] = obj({
    "as_of": {"type": "string", "format": "date"}, "engine": {"type": "string"}, "id_number": {"type": "string"},
    "province": {"type": "string"}, "ruleset": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "policy": obj({"title": {"type": "string"}, "from": {"type": "string"}, "to": nullable("string"),
                   "files": {"type": "array", "items": {"type": "string"}},
                   "region": obj({"code": {"type": "string"}, "name": {"type": "string"}}, extra=True)}, required=["title", "from", "to"], extra=True),
    "target": obj({"status": ref("Status3"), "reason": {"type": "string"}, "categories": {"type": "array", "items": {"type": "string"}}}),
    "categories": {"type": "object", "additionalProperties": ref("Item")},
    "prerequisites": {"type": "object", "additionalProperties": ref("Item")},
    "disqualifications": {"type": "object", "additionalProperties": ref("Item")},
    "subsidies": {"type": "object", "additionalProperties": ref("Subsidy")},
    "missing": {"type": "array", "items": ref("Missing")}},
    required=["as_of", "categories", "engine", "id_number", "missing", "policy", "province", "ruleset", "subsidies", "target"],
    extra=True, description="exactly as `yuanzhu check --json` prints it: canonical JSON, sorted keys, money in integer fen")
S["DeterminationRequest"] = obj({
    "province": {"type": "string", "description": "a name from GET /v1/provinces (guangdong, guangdong/guangzhou, ...)"},
    "as_of": {"type": "string", "format": "date", "description": "the date decided for (default: the server's today)"},
    "record": {"anyOf": [{"type": "object", "description": "the applicant record (GET /v1/schemas/applicant-record.v1.json)"},
                         {"type": "string", "description": "the record as JSON or YAML text"}]},
    "dry_run": {"type": "boolean", "default": False, "description": "decide without recording (the policy role must send true)"}},
    required=["province", "record"])
S["NewDecision"] = obj({"id": {"type": "string", "pattern": "^[0-9a-f]{16}$"}, "seq": {"type": "integer"},
                        "operator": {"type": "string", "description": "the token's operator"}})
S["DeterminationResponse"] = obj({"decision": {"oneOf": [ref("NewDecision"), {"type": "null"}]},
                                  "determination": ref("Determination")})
S["DecisionMeta"] = obj({k: {"type": "string"} for k in ["as_of", "engine", "id", "id_number", "operator", "province", "recorded_at", "ruleset", "target"]} | {"seq": {"type": "integer"}})
S["StoredDecision"] = obj({"decision": ref("DecisionMeta"), "determination": ref("Determination"),
                           "input": {"type": "object", "description": "the applicant record as stored (canonical JSON)"}})
S["Replay"] = obj({"decision": {"type": "string"}, "seq": {"type": "integer"}, "match": {"type": "boolean"},
                   "against": {"type": "string", "enum": ["recorded", "current"]},
                   "difference": {"type": ["string", "null"], "description": "recorded -> replayed, one line per difference"}})
S["PersonDecision"] = obj(dict(S["DecisionMeta"]["properties"], categories={"type": "array", "items": {"type": "string"}},
                               subsidies={"type": "object", "additionalProperties": {"type": "integer"}}))
S["PersonDecisions"] = obj({"id_number": {"type": "string"}, "province": {"type": "string"},
                            "decisions": {"type": "array", "items": ref("PersonDecision")}}, required=["id_number", "decisions"])
S["Policy"] = obj({"title": nullable("string"), "region_code": nullable("string"), "region_name": nullable("string"),
                   "from": {"type": "string"}, "to": nullable("string")})
S["Province"] = obj({"name": {"type": "string"}, "in_service": {"type": "boolean"},
                     "ruleset": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"}, "loaded_at": nullable("string"),
                     "policies": {"type": "array", "items": ref("Policy")},
                     "errors": {"type": "string", "description": "lint errors of the last load (the ruleset shown stays in service)"}},
                    required=["name", "in_service", "ruleset", "loaded_at", "policies"])
S["Provinces"] = obj({"provinces": {"type": "array", "items": ref("Province")}})
S["Whoami"] = obj({"operator": {"type": "string"}, "role": {"type": "string", "enum": ["caseworker", "auditor", "policy", "admin"]},
                   "province": nullable("string"), "rights": {"type": "array", "items": {"type": "string",
                   "enum": ["determine", "record", "read", "replay", "verify", "metrics"]}}})
S["AuditHead"] = obj({"seq": {"type": "integer"}, "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                      "head": {"type": "string", "description": "SEQ:HASH, to keep outside the store"},
                      "alg": {"type": "string", "enum": ["sha256", "sm3"]}})
S["VerifyRequest"] = obj({"expect_head": {"type": ["string", "null"], "description": "a head kept earlier (SEQ:HASH or HASH)"}}, required=[])
S["Verify"] = obj({"ok": {"type": "boolean"}, "events": {"type": "integer"}, "head": {"type": "string"},
                   "alg": {"type": "string"}, "bad_seq": {"type": ["integer", "null"]}, "problem": {"type": ["string", "null"]}})
S["ReplayRequest"] = obj({"against": {"type": "string", "enum": ["recorded", "current"], "default": "recorded"}}, required=[])
S["Health"] = obj({"status": {"type": "string", "enum": ["ok", "degraded"]}, "version": {"type": "string"},
                   "started_at": {"type": "string"}, "tokens": {"type": "integer"},
                   "rulesets": obj({"in_service": {"type": "integer"}, "with_errors": {"type": "integer"}}),
                   "reload": obj({"at": {"type": "string"}, "ok": {"type": "boolean"}}),
                   "problems": {"type": "array", "items": {"type": "string"}},
                   "checkpoints": obj({"every_seconds": {"type": "integer"}, "made": {"type": "integer"},
                                       "failed": {"type": "integer"}, "last_size": {"type": "integer"},
                                       "last_hash": {"type": ["string", "null"]}, "last_time": {"type": ["string", "null"]},
                                       "last_error": {"type": ["string", "null"]}},
                                      description="signed checkpoints (serve --checkpoint-every), when made")},
                  required=["status", "version", "started_at", "tokens", "rulesets", "reload", "problems"])

auth = [{"bearer": []}]
common = {"400": err("a body where none is taken, or one that is not JSON"), "401": err("no token, or an unknown one"),
          "403": err("the token's role lacks the right")}
idp = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{6,16}$"},
       "description": "a decision id, or a unique prefix of at least 6 characters"}
json_body = lambda n, req=True: {"required": req, "content": {"application/json": {"schema": ref(n)}}}
paths = {
 "/v1/determinations": {"post": {"summary": "decide one applicant (and record it unless dry_run)", "security": auth,
   "description": "roles: caseworker (for the token's province), policy (dry_run only), admin",
   "requestBody": json_body("DeterminationRequest"),
   "responses": {"201": resp("decided and recorded", ref("DeterminationResponse"), headers={"Location": {"schema": {"type": "string"}}}),
                 "200": resp("decided, not recorded (dry_run)", ref("DeterminationResponse")),
                 **common, "400": err("the body is not JSON (with where), or holds a NUL or bytes that are not UTF-8"),
                 "409": err("the province's rules have errors (lint), or no policy is in force on the date"),
                 "413": err("the body is larger than the limit"), "415": err("the body is not application/json"),
                 "422": err("the request or the record breaks its schema: every violation with its field path"),
                 "500": err("a rule could not decide (the CPU-time backstop)"),
                 "503": err("the store could not record it (nothing was recorded), or out of memory")}}},
 "/v1/decisions/{id}": {"get": {"summary": "a decision as recorded", "security": auth, "parameters": [idp],
   "description": "roles: caseworker (decisions of the token's province), auditor, admin",
   "responses": {"200": resp("the decision", ref("StoredDecision")), **common, "404": err("no such decision")}}},
 "/v1/decisions/{id}/replay": {"post": {"summary": "redo a decision and compare byte for byte", "security": auth,
   "parameters": [idp], "requestBody": json_body("ReplayRequest", False), "description": "roles: auditor, admin",
   "responses": {"200": resp("the comparison", ref("Replay")), **common, "404": err("no such decision"),
                 "409": err("the rules cannot be loaded"), "415": err("a body that is not JSON"), "422": err("bad member")}}},
 "/v1/people/{id_number}/decisions": {"get": {"summary": "one person's decisions, oldest first", "security": auth,
   "parameters": [{"name": "id_number", "in": "path", "required": True, "schema": {"type": "string"}}],
   "description": "roles: caseworker (the token's province only), auditor, admin",
   "responses": {"200": resp("the decisions", ref("PersonDecisions")), **common}}},
 "/v1/provinces": {"get": {"summary": "the rulesets in service, their ids and effective periods", "security": auth,
   "responses": {"200": resp("the provinces", ref("Provinces")), "400": common["400"], "401": common["401"]}}},
 "/v1/whoami": {"get": {"summary": "the token's operator, role, province and rights", "security": auth,
   "responses": {"200": resp("who the token is", ref("Whoami")), "400": common["400"], "401": common["401"]}}},
 "/v1/audit/head": {"get": {"summary": "the head of the audit chain (keep it outside the store)", "security": auth,
   "description": "roles: auditor, admin", "responses": {"200": resp("the head", ref("AuditHead")), **common}}},
 "/v1/audit/verify": {"post": {"summary": "walk the whole audit chain", "security": auth, "description": "roles: auditor, admin",
   "requestBody": json_body("VerifyRequest", False),
   "responses": {"200": resp("the verdict (ok false: tampering found at bad_seq)", ref("Verify")), **common,
                 "415": err("a body that is not JSON"), "422": err("bad member")}}},
 "/health": {"get": {"summary": "is it up, and are all rules in service (no token needed)", "security": [],
   "responses": {"200": resp("up; degraded when some rules have errors", ref("Health"))}}},
 "/metrics": {"get": {"summary": "Prometheus text: requests, latencies, decisions, errors", "security": auth,
   "description": "roles: auditor, admin",
   "responses": {"200": resp("the metrics", {"type": "string"}, "text/plain"), **common}}},
 "/v1/openapi.json": {"get": {"summary": "this document", "security": [], "responses": {"200": resp("OpenAPI 3.1", {"type": "object"})}}},
 "/v1/schemas/applicant-record.v1.json": {"get": {"summary": "the applicant record JSON Schema", "security": [],
   "responses": {"200": resp("JSON Schema 2020-12", {"type": "object"}, "application/schema+json")}}},
 "/": {"get": {"summary": "the caseworker's web page (no token needed to load it; it asks for one)", "security": [],
   "responses": {"200": resp("HTML", {"type": "string"}, "text/html")}}},
}
doc = {"openapi": "3.1.0",
       "info": {"title": "yuanzhu decision service", "version": "0.1.0",
                "summary": "employment-assistance (就业援助) eligibility decisions with a tamper-evident audit trail",
                "description": "Every response is UTF-8 JSON. Errors are {\"error\": {\"code\", \"message\", ...}}. "
                               "The operator recorded with a decision is the bearer token's, never a request field. "
                               "Money is integer fen.", "license": {"name": "see the repository"}},
       "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
       "servers": [{"url": "/"}],
       "components": {"schemas": S, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                       "description": "made by `yuanzhu token add`; the server keeps only its hash"}}},
       "security": auth, "paths": paths}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../engine/serve/openapi.json")
text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
if len(sys.argv) > 1 and sys.argv[1] == "--check":
    sys.exit(0 if open(out, encoding="utf-8").read() == text else 1)
open(out, "w", encoding="utf-8").write(text)
