-- tests/bench/policy/helpers.lua: the derived facts of ../shared/bench/POLICY.md, with its rules for
-- unknowns (a derived number is unknown when any input to it is unknown; null compares false).

local M = {}

local EMPLOYED = { employed = true, self_employed = true, flexible = true, public_welfare_post = true }

--- bench_retire_age(r) -> 60 for men; 50 / 55 for female workers / cadres; unknown otherwise
--- (the synthetic policy uses the pre-2025 ages, in whole years).
function M.bench_retire_age(r)
  if r.sex == "M" then return 60 end
  local g = r.retirement_group
  if g == "female_worker" then return 50 end
  if g == "female_cadre" then return 55 end
  return unknown()
end

--- bench_registered(r, on) -> registration.registered = true and registered_on <= on
--- (false when registered_on is null; three-valued).
function M.bench_registered(r, on)
  local reg = r.unemployment_registration
  local flag, fk = field(reg, "registered")
  local since, sk = field(reg, "registered_on")
  if fk and flag ~= true then return false end
  if sk and since == nil then return false end
  if not (fk and sk) then return unknown() end
  return since <= on
end

--- bench_months(r, on) -> whole months since registered_on, or nil when it is null.
function M.bench_months(r, on)
  local since = r.unemployment_registration.registered_on
  if since == nil then return nil end
  return months_between(since, on)
end

--- bench_household_size(r) -> 1 + the number of other members.
function M.bench_household_size(r)
  return 1 + #r.household.members
end

--- bench_employed(r) -> members with work; unknown when any member's status is absent.
function M.bench_employed(r)
  local members = r.household.members
  local n = 0
  for i = 1, #members do
    if EMPLOYED[members[i].employment_status] then n = n + 1 end
  end
  return n
end

--- bench_si_months(r, on) -> si_allowed - si_received.
function M.bench_si_months(r, on)
  local ytr = M.bench_retire_age(r) - age(r.birth_date, on)
  local allowed = 36
  if ytr <= 5 and 12 * ytr > 36 then allowed = 12 * ytr end
  local received = 0
  local hist = r.subsidy_history
  for i = 1, #hist do
    local e = hist[i]
    if e.subsidy == "social_insurance_flexible" then received = received + e.months end
  end
  return allowed - received
end

--- bench_si_monthly(r) -> min(base * 24 * 2 / 300, floor(contribution * 2 / 3)).
function M.bench_si_monthly(r)
  local base = r.hukou.type == "urban" and 450000 or 360000
  local cap = base * 24 * 2 // 300
  local own = r.flexible_contribution_monthly_fen * 2 // 3
  return own < cap and own or cap
end

return M
