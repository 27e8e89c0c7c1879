-- rules/lib/subsidy.lua: registration, subsidies already received, caps and money arithmetic.
--
-- subsidy_history entries name a subsidy by the id the rules use (social_insurance_flexible,
-- social_insurance_employer, public_welfare_post, vocational_training, ...).  Money is integer
-- fen: use mul_div / round_half_up rather than "/", which gives a float.

local M = {}

local function member(list, x)
  for i = 1, #list do if list[i] == x then return true end end
  return false
end

--- ids_of(ids) -> a list of subsidy ids: ids itself, or { ids } when it is one id.
function M.ids_of(ids)
  if type(ids) == "string" then return { ids } end
  return ids
end
local ids_of = M.ids_of

--- registered(r, on) -> registered unemployed on a date: unemployment_registration.registered
--- is true and registered_on is on or before the date.
function M.registered(r, on)
  local reg = r.unemployment_registration
  local flag, fk = field(reg, "registered")
  if fk and flag ~= true then return false end
  local since, sk = field(reg, "registered_on")
  if sk and since == nil then return false end
  if not (fk and sk) then return unknown() end
  return since <= on
end

--- unemployed_months(r, on) -> whole months since the most recent registration (0 when not
--- registered).
function M.unemployed_months(r, on)
  if not M.registered(r, on) then return 0 end
  return months_between(r.unemployment_registration.registered_on, on)
end

--- receiving(r, on, ids) -> a subsidy in ids (an id or a list) is being received on the date:
--- some history entry has from <= on and (to is null or to >= on).
function M.receiving(r, on, ids)
  ids = ids_of(ids)
  local hist = r.subsidy_history
  local unknown_seen = false
  for i = 1, #hist do
    local e, ek = field(hist, i)
    if not ek then
      unknown_seen = true
    else
      local s, sk = field(e, "subsidy")
      if not sk then
        unknown_seen = true
      elseif member(ids, s) then
        local from, fk = field(e, "from")
        local to, tk = field(e, "to")
        if fk and tk then
          if from <= on and (to == nil or to >= on) then return true end
        else
          unknown_seen = true
        end
      end
    end
  end
  if unknown_seen then return unknown() end
  return false
end

--- months_received(r, ids) -> total months of the subsidies in ids already received.
function M.months_received(r, ids)
  ids = ids_of(ids)
  local hist = r.subsidy_history
  local n = 0
  for i = 1, #hist do
    local e = hist[i]
    if member(ids, e.subsidy) then n = n + e.months end
  end
  return n
end

--- times_received(r, ids, since) -> number of history entries of those subsidies starting on or
--- after since (nil: all).
function M.times_received(r, ids, since)
  ids = ids_of(ids)
  local hist = r.subsidy_history
  local n = 0
  for i = 1, #hist do
    local e = hist[i]
    if member(ids, e.subsidy) and (since == nil or e.from >= since) then n = n + 1 end
  end
  return n
end

--- first_approved_on(r, ids) -> the earliest first_approved_on among those subsidies, or nil.
function M.first_approved_on(r, ids)
  ids = ids_of(ids)
  local hist = r.subsidy_history
  local first = nil
  for i = 1, #hist do
    local e = hist[i]
    if member(ids, e.subsidy) then
      local d = e.first_approved_on
      if first == nil or d < first then first = d end
    end
  end
  return first
end

-- months_available for one retirement date: months, explanation
local function available_until(r, on, ids, max_months, near_years, retire)
  local used = M.months_received(r, ids)
  local first = M.first_approved_on(r, ids) or on
  local rmonth = month_of(retire)
  -- calendar months from the as-of month through the retirement month; none once retired
  local to_retire = on < retire and calendar_months(on, retire) + 1 or 0
  local left = max_months - used
  local why = string.format("已享受%d个月，上限%d个月", used, max_months)
  if near_years and calendar_months(first, retire) < 12 * near_years and to_retire > left then
    left = to_retire
    why = string.format("首次核定时（%s）距法定退休年龄不足%d年，可延长至退休（%s）", month_of(first), near_years, rmonth)
  end
  if left > to_retire then
    left = to_retire
    why = why .. string.format("，至法定退休年龄（%s）止", rmonth)
  end
  if left < 0 then left = 0 end
  return left, why
end

--- months_available(r, on, ids, max_months, near_years) -> months still available of a subsidy
--- limited to max_months in total (counting every id in ids together), extended to retirement
--- for a person who, when first approved, was fewer than near_years years from it (age judged at
--- first approval: 以初次核定其享受补贴时年龄为准); never beyond retirement.  Returns the months
--- and an explanation.  Counted in calendar months (the subsidies are paid by the month): the
--- as-of month is the first, the month the person reaches retirement age is the last one paid,
--- and "fewer than 5 years" compares months: first approved in 2026-08 with retirement in 2031-07
--- is 59 months, so fewer (extended through 2031-07: 60 months from 2026-08); first approved in
--- 2026-07, whatever the day, is exactly 5 years, so not.  For a woman without retirement_group
--- the result is known when both female groups give the same months.
function M.months_available(r, on, ids, max_months, near_years)
  local dates = retirement_dates_of(r)
  local n, why = available_until(r, on, ids, max_months, near_years, dates[1])
  if dates[2] then
    local n2, why2 = available_until(r, on, ids, max_months, near_years, dates[2])
    if n2 ~= n then return unknown() end
    if why2 ~= why then why = string.format("%d个月（两种女性退休年龄类别结果相同）", n) end
  end
  return n, why
end

--- count_between(dates, from, to) -> how many dates of a list lie in [from, to].
function M.count_between(dates, from, to)
  local n = 0
  for i = 1, #dates do
    local d = dates[i]
    if d >= from and d <= to then n = n + 1 end
  end
  return n
end

--- refusals_within(r, on, months) -> public-employment-service offers refused in the months up
--- to the date (after add_months(on, -months), up to and including on).
function M.refusals_within(r, on, months)
  local from = add_days(add_months(on, -months), 1)
  return M.count_between(r.service_refusals, from, on)
end

--- mul_div(a, num, den) -> floor(a * num / den) in integers (money in fen).
function M.mul_div(a, num, den)
  if math.type(a) ~= "integer" or math.type(num) ~= "integer" or math.type(den) ~= "integer" or den <= 0 then
    error("mul_div: expects whole numbers and a positive divisor", 2)
  end
  return (a * num) // den
end

--- round_half_up(a, num, den) -> a * num / den rounded to the nearest integer, halves up.
function M.round_half_up(a, num, den)
  if math.type(a) ~= "integer" or math.type(num) ~= "integer" or math.type(den) ~= "integer" or den <= 0 then
    error("round_half_up: expects whole numbers and a positive divisor", 2)
  end
  return (2 * a * num + den) // (2 * den)
end

--- one_of(x, list) -> x is an element of list.
function M.one_of(x, list)
  return member(list, x)
end

return M
