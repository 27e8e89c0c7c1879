// app.js: the caseworker's page of `yuanzhu serve`.  It talks only to the server it came from
// (/v1/...), keeps the bearer token in this tab's sessionStorage, builds an applicant record from
// the form (a field left empty is left out: unknown, never "no") or takes one pasted as JSON/YAML,
// and shows the determination as `yuanzhu check` does: the conclusion, each category and subsidy
// with its reason and legal basis, and the evidence still to collect as a checklist.
"use strict";

const $ = (id) => document.getElementById(id);
const STATUS_MARK = { met: "✔", eligible: "✔", not_met: "✘", not_eligible: "✘", undetermined: "?" };
const STATUS_TEXT = { met: "是", not_met: "否", undetermined: "待定" };
const RELATIONS = { spouse: "配偶", child: "子女", parent: "父母", sibling: "兄弟姐妹", other: "其他" };
const EMPLOYMENT = {
  unemployed: "失业", employed: "就业", self_employed: "自主创业", flexible: "灵活就业",
  public_welfare_post: "公益性岗位", student: "在校学生", military: "服兵役", retired: "退休", abroad: "出境", detained: "羁押",
};
let schema = null;      // the applicant record schema (labels, evidence document names)
let whoami = null;
let lastRecord = null;  // what was last sent, for the notice

// ---- talking to the server ----
async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + (sessionStorage.getItem("yz-token") || "") };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  return { status: r.status, json, text };
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function yuan(fen) {
  if (fen === null || fen === undefined) return "";
  const neg = fen < 0, a = Math.abs(fen);
  const s = Math.floor(a / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + String(a % 100).padStart(2, "0");
  return (neg ? "-" : "") + s + " 元";
}

function today() {
  const d = new Date();
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
}

// ---- signing in ----
async function login(token) {
  sessionStorage.setItem("yz-token", token);
  const r = await api("GET", "/v1/whoami");
  if (r.status !== 200) {
    sessionStorage.removeItem("yz-token");
    $("login-error").textContent = r.status === 401 ? "令牌无效，请核对后重新输入。" : "登录失败：" + (r.json ? r.json.error.message : r.status);
    $("login-error").hidden = false;
    return false;
  }
  whoami = r.json;
  const roles = { caseworker: "经办人", auditor: "审计人员", policy: "政策人员", admin: "管理员" };
  $("who").textContent = whoami.operator + "（" + (roles[whoami.role] || whoami.role) + (whoami.province ? "，" + whoami.province : "") + "）";
  $("login").hidden = true;
  $("apply").hidden = false;
  $("record").hidden = !whoami.rights.includes("record");
  await Promise.all([loadProvinces(), loadSchema()]);
  return true;
}

async function loadProvinces() {
  const r = await api("GET", "/v1/provinces");
  const sel = $("province");
  sel.textContent = "";
  for (const p of (r.json ? r.json.provinces : [])) {
    if (!p.in_service) continue;
    if (whoami.province && !(p.name === whoami.province || p.name.startsWith(whoami.province + "/"))) continue;
    const pol = p.policies[p.policies.length - 1] || {};
    sel.append(el("option", { value: p.name, text: (pol.region_name || p.name) + "（" + p.name + "）" }));
  }
}

async function loadSchema() {
  const r = await fetch("/v1/schemas/applicant-record.v1.json");
  schema = await r.json();
  const box = $("evidence");
  box.textContent = "";
  for (const [id, name] of Object.entries(schema["x-evidence-documents"] || {})) {
    box.append(el("label", {}, el("input", { type: "checkbox", name: "evidence", value: id }), name));
  }
}

function docName(id) {
  return (schema && schema["x-evidence-documents"] && schema["x-evidence-documents"][id]) || id;
}

// ---- the record ----
function addMember() {
  const row = el("div", { class: "member" });
  const rel = el("select", { "data-m": "relation" }, el("option", { value: "", text: "关系" }));
  for (const [v, t] of Object.entries(RELATIONS)) rel.append(el("option", { value: v, text: t }));
  const emp = el("select", { "data-m": "employment_status" }, el("option", { value: "", text: "就业状态不明" }));
  for (const [v, t] of Object.entries(EMPLOYMENT)) emp.append(el("option", { value: v, text: t }));
  const del = el("button", { type: "button", class: "secondary", text: "删除" });
  del.addEventListener("click", () => row.remove());
  row.append(el("label", {}, "成员身份号码", el("input", { "data-m": "id_number", maxlength: "18" })),
             el("label", {}, "与申请人关系", rel), el("label", {}, "成员就业状态", emp), del);
  $("members").append(row);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] = o[k] || {};
  o[keys[keys.length - 1]] = value;
}

function formRecord() {
  const rec = { schema: 1 };
  for (const e of $("record-form").elements) {
    if (!e.name || e.name === "evidence" || e.value === "") continue;
    let v = e.value.trim();
    if (e.dataset.type === "bool") v = v === "true";
    else if (e.name === "id_number") v = v.toUpperCase();
    setPath(rec, e.name, v);
  }
  for (const e of document.querySelectorAll("#record-form input[data-path]:checked")) setPath(rec, e.dataset.path, JSON.parse(e.dataset.json));
  const members = [];
  for (const row of $("members").children) {
    const m = {};
    for (const f of row.querySelectorAll("[data-m]")) if (f.value) m[f.dataset.m] = f.dataset.m === "id_number" ? f.value.trim().toUpperCase() : f.value;
    if (Object.keys(m).length) members.push(m);
  }
  if (members.length) setPath(rec, "household.members", members);
  rec.evidence = [...document.querySelectorAll("#evidence input:checked")].map((e) => e.value);
  return rec;
}

// ---- deciding ----
async function decide(record) {
  $("problems").hidden = true;
  const pasted = !$("paste").hidden;
  const body = { province: $("province").value, as_of: $("as-of").value, dry_run: !record };
  if (pasted) {
    body.record = $("paste-text").value;
    if (!body.record.trim()) return showProblems("请粘贴申请人记录，或切换到“填写常用项”。");
  } else {
    const form = $("record-form");
    if (!form.reportValidity()) return;
    body.record = formRecord();
  }
  lastRecord = body.record;
  for (const b of [$("decide"), $("record")]) b.disabled = true;
  try {
    const r = await api("POST", "/v1/determinations", body);
    if (r.status === 200 || r.status === 201) showResult(r.json);
    else showError(r);
  } catch (e) {
    showProblems("无法连接服务：" + e.message);
  } finally {
    for (const b of [$("decide"), $("record")]) b.disabled = false;
  }
}

function showProblems(text, list) {
  const box = $("problems");
  box.textContent = text;
  if (list && list.length) {
    const ul = el("ul");
    for (const v of list) ul.append(el("li", { text: (v.field ? fieldLabel(v.field) + "：" : "") + v.message + (v.line ? "（第 " + v.line + " 行）" : "") }));
    box.append(ul);
  }
  box.hidden = false;
}

function fieldLabel(path) {
  // "record.hukou.region" -> "户籍地区划代码（hukou.region）"
  const p = path.replace(/^record\./, "");
  let node = schema ? { properties: schema.properties } : null;
  for (const k of p.replace(/\[\d+\]/g, "").split(".")) {
    node = node && node.properties ? node.properties[k] : node && node.items && node.items.properties ? node.items.properties[k] : null;
  }
  return node && node["x-label"] ? node["x-label"] + "（" + p + "）" : p;
}

function showError(r) {
  const e = r.json && r.json.error;
  if (!e) return showProblems("服务返回 " + r.status + "：" + r.text);
  const head = {
    invalid_record: "记录不符合申请人记录格式，未作核定：",
    unreadable_record: "记录无法读取（既不是 JSON 也不是 YAML）：",
    invalid_request: "请求有误：",
    policy_error: "该地政策文件有错误，暂不能核定，请联系政策人员：",
    not_in_force: "核定日期没有生效的政策：",
    forbidden: "无权进行此操作：",
    unauthorized: "令牌已失效，请重新登录。",
    store_error: "判定结果未能记录，请稍后重试：",
  }[e.code] || "出错了：";
  showProblems(head + (e.violations ? "" : e.message) + (e.lint ? "\n" + e.lint : ""), e.violations);
}

function basisText(basis) {
  return (basis || []).map((b) => [b.number || b.title || b.source, b.article].filter(Boolean).join(" ") + (b.verified === false ? "（待核实）" : "")).join("；");
}

function itemLine(kind, it) {
  const li = el("li", { class: it.status });
  li.append(el("span", { class: "mark", text: STATUS_MARK[it.status] || "?" }), el("span", { class: "name", text: it.name }));
  if (kind === "subsidy" && it.status === "eligible") {
    let amount = "";
    if (it.period === "month") amount = "每月 " + yuan(it.amount_fen) + (it.months > 0 ? " × " + it.months + " 个月" : "") +
      (it.start ? "（" + it.start + " 至 " + (it.end || "") + "）" : "") + (it.total_fen ? "，合计 " + yuan(it.total_fen) : "");
    else if (it.period === "once") amount = "一次性 " + yuan(it.amount_fen);
    else if (it.period === "loan") amount = "贷款额度最高 " + yuan(it.amount_fen) + (it.months > 0 ? "，期限最长 " + it.months + " 个月" : "");
    li.append("：", el("span", { class: "amount", text: amount }));
    if (it.terms) li.append(el("span", { class: "detail", text: it.terms }));
  } else if (it.reason) {
    li.append(" —— ", el("span", { class: "reason", text: it.reason }));
  }
  const b = basisText(it.basis);
  if (b && it.status !== "not_met" && it.status !== "not_eligible") li.append(el("span", { class: "basis", text: "依据：" + b }));
  for (const m of it.missing || []) li.append(el("span", { class: "detail", text: "需补充：" + (m.label || m.field) + (m.document_name ? "（请提供" + m.document_name + "）" : "") }));
  return li;
}

function showResult(res) {
  const d = res.determination;
  const rec = typeof lastRecord === "object" ? lastRecord : null;
  $("r-name").textContent = (rec && rec.name) || "";
  $("r-id").textContent = d.id_number;
  $("r-policy").textContent = d.policy.title;
  $("r-asof").textContent = d.as_of;
  $("r-decision").textContent = res.decision ? res.decision.id + "（序号 " + res.decision.seq + "）" : "未记录（仅核定）";
  $("r-operator").textContent = res.decision ? res.decision.operator : (whoami ? whoami.operator : "");
  $("r-ruleset").textContent = d.ruleset.slice(0, 16);
  const c = $("r-conclusion");
  c.className = "conclusion " + d.target.status;
  c.textContent = "结论：" + STATUS_TEXT[d.target.status] + " —— " + d.target.reason;

  const cats = $("r-categories");
  cats.textContent = "";
  for (const it of Object.values(d.categories)) cats.append(itemLine("category", it));
  const subs = $("r-subsidies");
  subs.textContent = "";
  for (const it of Object.values(d.subsidies)) subs.append(itemLine("subsidy", it));

  // the checklist: documents still to see for what was granted, and what is missing for what is undetermined
  const list = $("r-evidence");
  list.textContent = "";
  const seen = new Set();
  const add = (key, text) => {
    if (seen.has(key)) return;
    seen.add(key);
    list.append(el("li", {}, el("label", {}, el("input", { type: "checkbox" }), text)));
  };
  for (const sec of ["prerequisites", "categories", "subsidies"]) {
    for (const it of Object.values(d[sec] || {})) {
      for (const doc of it.evidence_pending || []) add("doc:" + doc + ":" + it.name, docName(doc) + "（" + it.name + "）");
    }
  }
  for (const m of d.missing || []) add("field:" + m.field, "补充" + (m.label || m.field) + (m.document_name ? "：请提供" + m.document_name : ""));
  $("r-none").hidden = list.children.length > 0;
  $("result").hidden = false;
  $("result").scrollIntoView({ behavior: "smooth" });
}

// ---- wiring ----
function switchTab(paste) {
  $("paste").hidden = !paste;
  $("record-form").hidden = paste;
  $("tab-paste").classList.toggle("active", paste);
  $("tab-form").classList.toggle("active", !paste);
  $("tab-paste").setAttribute("aria-selected", String(paste));
  $("tab-form").setAttribute("aria-selected", String(!paste));
}

document.addEventListener("DOMContentLoaded", async () => {
  $("as-of").value = today();
  $("login-form").addEventListener("submit", (e) => { e.preventDefault(); login($("token").value.trim()); });
  $("tab-form").addEventListener("click", () => switchTab(false));
  $("tab-paste").addEventListener("click", () => switchTab(true));
  $("add-member").addEventListener("click", addMember);
  $("decide").addEventListener("click", () => decide(false));
  $("record").addEventListener("click", () => decide(true));
  $("print").addEventListener("click", () => window.print());
  $("again").addEventListener("click", () => { $("result").hidden = true; $("record-form").reset(); $("members").textContent = ""; $("as-of").value = today(); window.scrollTo(0, 0); });
  $("paste-file").addEventListener("change", async (e) => { const f = e.target.files[0]; if (f) $("paste-text").value = await f.text(); });
  const saved = sessionStorage.getItem("yz-token");
  if (saved) await login(saved);
});
