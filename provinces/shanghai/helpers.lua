-- provinces/shanghai/helpers.lua: how long Shanghai's subsidies run (沪人社规〔2022〕8号).
--
-- Each of the three subsidies runs for at most 3 years in total, and is extended to the statutory
-- retirement date for a person near retirement.  The two extensions are judged at different
-- moments:
--
--   * employer subsidies (岗位补贴, 单位社保补贴): the person is within 2 years of retirement WHEN
--     THE 3 YEARS END (期满时距法定退休年龄2年以内) -> sh_months_judged_at_end;
--   * flexible-employment 社保补贴: the person is within 5 years of retirement, judged when the
--     subsidy is first approved (以初次核定时为准), as the library's months_available does
--     -> sh_months_judged_at_start.
--
-- Both read "以内" as including the boundary (民法典 第1259条), by calendar month as the rule
-- library does (rules/lib/subsidy.lua, months_available): exactly 2 (5) years before the
-- retirement month is within.  The library's months_available reads its limit as "不足" (fewer
-- than, boundary excluded); the two differ only in that exact month, which is why the flexible
-- subsidy uses sh_months_judged_at_start rather than months_available.
--
-- Conventions shared by both functions (calendar months, as the subsidies are paid):
--   * the months already received are summed over every id in ids (subsidy_history; one_of and
--     ids_of come from the rule library);
--   * a period not yet used up is assumed to run without a break from the as-of month, which is
--     the first month; the 3 years end with their last month (期满之月);
--   * the months never run past the month the person reaches retirement age, which is the last
--     month paid;
--   * for a woman without retirement_group the result is known when both female groups give the
--     same months;
--   * the result is returned with a Chinese explanation, like months_available.
--
-- Helpers keep no state: every value is computed from the arguments.
local M = {}

--- sh_limit_end(r, on, ids, max_months) -> the last month ("YYYY-MM") of the max_months of the
--- subsidies in ids (received, or if received without a break from the month of `on`, to be),
--- and whether it is already past.  Past periods are read from subsidy_history in the order of
--- their `from` dates.
function M.sh_limit_end(r, on, ids, max_months)
  ids = ids_of(ids)
  local used = months_received(r, ids)
  if used < max_months then
    return month_of(add_months(on, max_months - used - 1)), false
  end
  -- already used up: find the entry during which the total reached max_months
  local entries = {}
  local hist = r.subsidy_history
  for i = 1, #hist do
    local e = hist[i]
    if one_of(e.subsidy, ids) then
      entries[#entries + 1] = { from = e.from, months = e.months }
    end
  end
  table.sort(entries, function(a, b) return a.from < b.from end)
  local total = 0
  for i = 1, #entries do
    local e = entries[i]
    if total + e.months >= max_months then
      return month_of(add_months(e.from, max_months - total - 1)), true
    end
    total = total + e.months
  end
  return month_of(on), true -- not reached (cannot happen when used >= max_months)
end

-- calendar months from the as-of month through the retirement month (0 once retired)
local function months_to_retire(on, retire)
  return on < retire and calendar_months(on, retire) + 1 or 0
end

local function cap_at_retirement(left, why, on, retire)
  local to_retire = months_to_retire(on, retire)
  if left > to_retire then
    left = to_retire
    why = why .. string.format("，至法定退休年龄（%s）止", month_of(retire))
  end
  if left < 0 then left = 0 end
  return left, why
end

-- f(retire) for each retirement date the person may have; known when they agree
local function by_retirement(r, f)
  local dates = retirement_dates_of(r)
  local n, why = f(dates[1])
  if dates[2] then
    local n2, why2 = f(dates[2])
    if n2 ~= n then return unknown() end
    if why2 ~= why then why = string.format("%d个月（两种女性退休年龄类别结果相同）", n) end
  end
  return n, why
end

--- sh_months_judged_at_end(r, on, ids, max_months, near_years) -> months still available of a
--- subsidy limited to max_months in total (counting every id in ids together), extended to the
--- retirement month when the last month of the max_months (sh_limit_end) is near_years years
--- or less before the retirement month (以内: the boundary included).  Returns months,
--- explanation.
function M.sh_months_judged_at_end(r, on, ids, max_months, near_years)
  local used = months_received(r, ids)
  local ends, past = M.sh_limit_end(r, on, ids, max_months)
  return by_retirement(r, function(retire)
    local left = max_months - used
    local rmonth = month_of(retire)
    local why = string.format("已享受%d个月，上限%d个月；期满之月（%s）距法定退休年龄（%s）超过%d年，不延续",
                              used, max_months, ends, rmonth, near_years)
    if calendar_months(ends .. "-01", retire) <= 12 * near_years then
      left = months_to_retire(on, retire)
      why = string.format("%d个月期满之月（%s%s）距法定退休年龄（%s）%d年以内，可延续至退休",
                          max_months, ends, past and "，已届满" or "", rmonth, near_years)
    end
    return cap_at_retirement(left, why, on, retire)
  end)
end

--- sh_months_judged_at_start(r, on, ids, max_months, near_years) -> months still available of a
--- subsidy limited to max_months in total (counting every id in ids together), extended to the
--- retirement month when, in the month it was first approved (or that of `on`, for a first
--- application), the retirement month was near_years years away or less (以内: the boundary
--- included).
function M.sh_months_judged_at_start(r, on, ids, max_months, near_years)
  local used = months_received(r, ids)
  local first = first_approved_on(r, ids) or on
  return by_retirement(r, function(retire)
    local left = max_months - used
    local rmonth = month_of(retire)
    local why = string.format("已享受%d个月，上限%d个月；初次核定时（%s）距法定退休年龄（%s）超过%d年，不延续",
                              used, max_months, month_of(first), rmonth, near_years)
    if calendar_months(first, retire) <= 12 * near_years then
      left = months_to_retire(on, retire)
      why = string.format("初次核定时（%s）距法定退休年龄（%s）%d年以内，可延续至退休", month_of(first), rmonth, near_years)
    end
    return cap_at_retirement(left, why, on, retire)
  end)
end

return M
