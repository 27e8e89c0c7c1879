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
-- Both read "以内" as including the boundary (民法典 第1259条): exactly 2 (5) years before the
-- retirement date is within.  The library's months_available reads its limit as "不足" (fewer
-- than, boundary excluded); the two differ only on that exact day, which is why the flexible
-- subsidy uses sh_months_judged_at_start rather than months_available.
--
-- Conventions shared by both functions:
--   * the months already received are summed over every id in ids (subsidy_history; one_of and
--     ids_of come from the rule library);
--   * the 3 years "end" on the day the last month is complete: add_months(start, months), the
--     day after the last day the determination shows as its end date (as a person reaches N 周岁
--     on their birthday, not the day before);
--   * a period not yet used up is assumed to run without a break from the as-of date;
--   * the months never run past the retirement date;
--   * the result is returned with a Chinese explanation, like months_available.
--
-- Helpers keep no state: every value is computed from the arguments.
local M = {}

--- sh_limit_end(r, on, ids, max_months) -> the day the max_months of the subsidies in ids are (or,
--- if received without a break from `on`, will be) complete, and whether that day is already past.
--- Past periods are read from subsidy_history in the order of their `from` dates.
function M.sh_limit_end(r, on, ids, max_months)
  ids = ids_of(ids)
  local used = months_received(r, ids)
  if used < max_months then
    return add_months(on, max_months - used), false
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
      return add_months(e.from, max_months - total), true
    end
    total = total + e.months
  end
  return on, true -- not reached (cannot happen when used >= max_months)
end

local function cap_at_retirement(left, why, on, retire)
  local to_retire = on < retire and months_between(on, retire) or 0
  if left > to_retire then
    left = to_retire
    why = why .. string.format("，至法定退休年龄（%s）止", retire)
  end
  if left < 0 then left = 0 end
  return left, why
end

--- sh_months_judged_at_end(r, on, ids, max_months, near_years) -> months still available of a
--- subsidy limited to max_months in total (counting every id in ids together), extended to the
--- retirement date when, on the day the max_months end (sh_limit_end), the retirement date is
--- near_years years away or less (以内: the boundary included).  Returns months, explanation.
function M.sh_months_judged_at_end(r, on, ids, max_months, near_years)
  local used = months_received(r, ids)
  local retire = retirement_date_of(r)
  local ends, past = M.sh_limit_end(r, on, ids, max_months)
  local left = max_months - used
  local why = string.format("已享受%d个月，上限%d个月；期满之日（%s）距法定退休年龄（%s）超过%d年，不延续",
                            used, max_months, ends, retire, near_years)
  if retire <= add_years(ends, near_years) then
    left = on < retire and months_between(on, retire) or 0
    why = string.format("%d个月期满之日（%s%s）距法定退休年龄（%s）%d年以内，可延续至退休",
                        max_months, ends, past and "，已届满" or "", retire, near_years)
  end
  return cap_at_retirement(left, why, on, retire)
end

--- sh_months_judged_at_start(r, on, ids, max_months, near_years) -> months still available of a
--- subsidy limited to max_months in total (counting every id in ids together), extended to the
--- retirement date when, on the day it was first approved (or `on`, for a first application), the
--- retirement date was near_years years away or less (以内: the boundary included).
function M.sh_months_judged_at_start(r, on, ids, max_months, near_years)
  local used = months_received(r, ids)
  local first = first_approved_on(r, ids) or on
  local retire = retirement_date_of(r)
  local left = max_months - used
  local why = string.format("已享受%d个月，上限%d个月；初次核定时（%s）距法定退休年龄（%s）超过%d年，不延续",
                            used, max_months, first, retire, near_years)
  if retire <= add_years(first, near_years) then
    left = on < retire and months_between(on, retire) or 0
    why = string.format("初次核定时（%s）距法定退休年龄（%s）%d年以内，可延续至退休", first, retire, near_years)
  end
  return cap_at_retirement(left, why, on, retire)
end

return M
