-- rules/lib/retirement.lua: statutory retirement dates under the 2025 reform.
--
-- 全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13, in force
-- 2025-01-01) and its 办法: from January 2025 the retirement age rises by one month every
-- `step` months of birth, up to `cap` months:
--
--   group           original age   step   cap (new age)
--   male                 60          4     36 (63)
--   female_cadre         55          4     36 (58)
--   female_worker        50          2     60 (55)
--
-- delay = min((months from 2025-01 to the original retirement month) // step + 1, cap) when the
-- original retirement month is 2025-01 or later, else 0.  The retirement date is the birth date
-- plus the original age and the delay (add_months).  Anchors: men born 1965-01, women-55 born
-- 1970-01 and women-50 born 1975-01 retire in 2025-02; men reach 63 from birth month 1976-09,
-- women-55 reach 58 from 1981-09, women-50 reach 55 from 1984-11.
--
-- Whether a woman is in the 50 or the 55 group cannot be read from her ID number: it is the
-- record's retirement_group.  When it is absent, a result that would differ between the groups
-- is unknown; one that is the same for both is known.

local M = {}

local GROUPS = {
  male = { age = 60, step = 4, cap = 36 },
  female_cadre = { age = 55, step = 4, cap = 36 },
  female_worker = { age = 50, step = 2, cap = 60 },
}
local REFORM_START = 2025 * 12 -- month index of 2025-01

local function group_of(name, fn)
  local g = GROUPS[name]
  if not g then
    error(fn .. ": unknown retirement group '" .. tostring(name) .. "' (male, female_worker or female_cadre)", 3)
  end
  return g
end

--- retirement_delay_months(birth, group) -> months added by the reform (0 to 36, or 60).
function M.retirement_delay_months(birth, group)
  local g = group_of(group, "retirement_delay_months")
  local y, m = date_parts(birth)
  local original = (y + g.age) * 12 + (m - 1)
  if original < REFORM_START then return 0 end
  local d = (original - REFORM_START) // g.step + 1
  return d > g.cap and g.cap or d
end

--- retirement_date(birth, group) -> the date the statutory retirement age is reached.
function M.retirement_date(birth, group)
  local g = group_of(group, "retirement_date")
  return add_months(birth, g.age * 12 + M.retirement_delay_months(birth, group))
end

--- retirement_age_months(birth, group) -> the statutory retirement age in months.
function M.retirement_age_months(birth, group)
  local g = group_of(group, "retirement_age_months")
  return g.age * 12 + M.retirement_delay_months(birth, group)
end

-- Calls f(group) for the person's group; for a woman whose group is absent, calls it for both
-- female groups and returns the result when they agree, else raises unknown.
local function by_group(r, f)
  if r.sex == "M" then return f("male") end
  local ok, g = try(function() return r.retirement_group end)
  if ok then return f(g) end
  local a, b = f("female_worker"), f("female_cadre")
  if a == b then return a end
  return unknown()
end

--- retirement_date_of(r) -> the person's retirement date (unknown for a woman without
--- retirement_group).
function M.retirement_date_of(r)
  return by_group(r, function(g) return M.retirement_date(r.birth_date, g) end)
end

--- retirement_dates_of(r) -> the retirement dates the person may have, earliest first: one for
--- a man or a woman with retirement_group; for a woman without it, both female ones (worker,
--- then cadre).  For a result that is known when both groups give the same answer.
function M.retirement_dates_of(r)
  if r.sex == "M" then return { M.retirement_date(r.birth_date, "male") } end
  local ok, g = try(function() return r.retirement_group end)
  if ok then return { M.retirement_date(r.birth_date, g) } end
  return { M.retirement_date(r.birth_date, "female_worker"), M.retirement_date(r.birth_date, "female_cadre") }
end

--- working_age(r, on, min_age) -> within the statutory working age on a date: at least min_age
--- 周岁 (default 16) and before the retirement date.
function M.working_age(r, on, min_age)
  if age(r.birth_date, on) < (min_age or 16) then return false end
  return by_group(r, function(g) return on < M.retirement_date(r.birth_date, g) end)
end

--- months_to_retirement(r, on) -> whole months from a date to the retirement date (0 after it).
function M.months_to_retirement(r, on)
  return by_group(r, function(g) return months_between(on, M.retirement_date(r.birth_date, g)) end)
end

--- near_retirement(r, on, years) -> fewer than `years` years (不足) from the retirement date on a
--- date, i.e. on + years is after the retirement date.
function M.near_retirement(r, on, years)
  return by_group(r, function(g) return add_years(on, years) > M.retirement_date(r.birth_date, g) end)
end

return M
