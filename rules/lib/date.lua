-- rules/lib/date.lua: calendar dates for rules.
--
-- Dates are text "YYYY-MM-DD" (as in records and as_of); every function checks its arguments and
-- raises an error naming the bad value.  Conventions (documented in docs/rules-library.md):
--   * months are calendar months: add_months("2024-01-31", 1) is "2024-02-29" (the month end when
--     the day does not exist);
--   * months_between(a, b) is the number of whole months n with add_months(a, n) <= b;
--   * calendar months ignore the day: calendar_months("2026-08-31", "2031-07-01") is 59, the
--     count of month steps from 2026-08 to 2031-07; subsidy terms are counted this way (the
--     as-of month is the first month paid, see subsidy.lua);
--   * a person reaches N 周岁 on add_months(birth, 12 * N): their Nth birthday, or 28 February
--     for someone born on 29 February in a year without one;
--   * "以上、以下、以内、届满" include the boundary, "不满、超过" exclude it (民法典 第1259条):
--     write >= / <= for the first and < / > for the second.

local M = {}

local byte, format, type, error, mtype = string.byte, string.format, type, error, math.type

local function bad(what, v)
  error(format("%s: expected a date YYYY-MM-DD, got %s", what,
    type(v) == "string" and ("'" .. v .. "'") or type(v)), 3)
end

local function leap(y)
  return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
end

local DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function dim(y, m)
  if m == 2 and leap(y) then return 29 end
  return DAYS[m]
end

-- year, month, day of a date (raises on anything that is not a real date); no tables, no
-- allocation: rules call this for every record
local function ymd(s, what)
  if type(s) ~= "string" or #s ~= 10 then bad(what or "date", s) end
  local b1, b2, b3, b4, b5, b6, b7, b8, b9, b10 = byte(s, 1, 10)
  if b5 ~= 45 or b8 ~= 45
    or b1 < 48 or b1 > 57 or b2 < 48 or b2 > 57 or b3 < 48 or b3 > 57 or b4 < 48 or b4 > 57
    or b6 < 48 or b6 > 57 or b7 < 48 or b7 > 57 or b9 < 48 or b9 > 57 or b10 < 48 or b10 > 57 then
    bad(what or "date", s)
  end
  local y = (b1 - 48) * 1000 + (b2 - 48) * 100 + (b3 - 48) * 10 + (b4 - 48)
  local m = (b6 - 48) * 10 + (b7 - 48)
  local day = (b9 - 48) * 10 + (b10 - 48)
  if y < 1000 or m < 1 or m > 12 or day < 1 or day > dim(y, m) then bad(what or "date", s) end
  return y, m, day
end

local function fmt(y, m, d)
  return format("%04d-%02d-%02d", y, m, d)
end

-- days since 1970-01-01 (Howard Hinnant's days_from_civil)
local function to_days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

--- date_parts(s) -> year, month, day (integers).
function M.date_parts(s)
  return ymd(s, "date_parts")
end

--- is_date(s) -> true when s is a real date written YYYY-MM-DD.
function M.is_date(s)
  return (pcall(ymd, s))
end

--- days_between(a, b) -> days from a to b (negative when b is earlier).
function M.days_between(a, b)
  local y1, m1, d1 = ymd(a, "days_between")
  local y2, m2, d2 = ymd(b, "days_between")
  return to_days(y2, m2, d2) - to_days(y1, m1, d1)
end

--- add_days(d, n) -> the date n days after d (n may be negative).
function M.add_days(d, n)
  local y, m, day = ymd(d, "add_days")
  if mtype(n) ~= "integer" then error("add_days: the number of days must be a whole number", 2) end
  return fmt(from_days(to_days(y, m, day) + n))
end

--- add_months(d, n) -> the date n calendar months after d, on the month end when the day does
--- not exist ("2024-01-31" + 1 = "2024-02-29").
function M.add_months(d, n)
  local y, m, day = ymd(d, "add_months")
  if mtype(n) ~= "integer" then error("add_months: the number of months must be a whole number", 2) end
  local total = y * 12 + (m - 1) + n
  local ny, nm = total // 12, total % 12 + 1
  local last = dim(ny, nm)
  return fmt(ny, nm, day > last and last or day)
end

--- add_years(d, n) -> add_months(d, 12 * n).
function M.add_years(d, n)
  if mtype(n) ~= "integer" then error("add_years: the number of years must be a whole number", 2) end
  return M.add_months(d, 12 * n)
end

--- months_between(a, b) -> whole months from a to b: the largest n with add_months(a, n) <= b
--- (0 when b is before a).
function M.months_between(a, b)
  local y1, m1, d1 = ymd(a, "months_between")
  local y2, m2, d2 = ymd(b, "months_between")
  local n = (y2 - y1) * 12 + (m2 - m1)
  if n <= 0 then return 0 end
  -- one less when the day of b comes before the (clamped) day of a
  local total = y1 * 12 + (m1 - 1) + n
  local ny, nm = total // 12, total % 12 + 1
  local last = dim(ny, nm)
  local dd = d1 > last and last or d1
  if d2 < dd then n = n - 1 end
  return n
end

--- years_between(a, b) -> whole years from a to b (months_between // 12).
function M.years_between(a, b)
  return M.months_between(a, b) // 12
end

--- age(birth, on) -> age in 周岁 on a date: whole years since birth (0 before the first birthday).
function M.age(birth, on)
  local y1, m1, d1 = ymd(birth, "age (birth date)")
  local y2, m2, d2 = ymd(on, "age (on)")
  if on < birth then error("age: the date " .. on .. " is before the birth date " .. birth, 2) end
  -- the same as months_between(birth, on) // 12: whole years, a 29 February birthday falling on
  -- 28 February in other years
  local n = y2 - y1
  local bd = d1
  if m1 == 2 and d1 == 29 and not leap(y2) then bd = 28 end
  if m2 < m1 or (m2 == m1 and d2 < bd) then n = n - 1 end
  return n
end

--- month_index(d) -> the calendar month of a date as one number (year * 12 + month - 1), so that
--- month_index(b) - month_index(a) counts calendar months ("2026-08-31" and "2026-08-01" are the
--- same month).
function M.month_index(d)
  local y, m = ymd(d, "month_index")
  return y * 12 + m - 1
end

--- month_of(d) -> "YYYY-MM", the calendar month of a date.
function M.month_of(d)
  ymd(d, "month_of")
  return d:sub(1, 7)
end

--- calendar_months(a, b) -> calendar months from the month of a to the month of b, whatever
--- the days ("2026-08-31" to "2031-07-01" is 59); negative when b's month is earlier.
function M.calendar_months(a, b)
  local y1, m1 = ymd(a, "calendar_months")
  local y2, m2 = ymd(b, "calendar_months")
  return (y2 * 12 + m2) - (y1 * 12 + m1)
end

--- month_end(d) -> the last day of the month of a date.
function M.month_end(d)
  local y, m = ymd(d, "month_end")
  return fmt(y, m, dim(y, m))
end

--- date_min(a, b) -> the earlier date.
function M.date_min(a, b)
  ymd(a, "date_min"); ymd(b, "date_min")
  return a < b and a or b
end

--- date_max(a, b) -> the later date.
function M.date_max(a, b)
  ymd(a, "date_max"); ymd(b, "date_max")
  return a > b and a or b
end

--- within(d, from, to) -> from <= d <= to (to may be nil: open-ended).
function M.within(d, from, to)
  ymd(d, "within"); ymd(from, "within")
  if to ~= nil then ymd(to, "within") end
  return d >= from and (to == nil or d <= to)
end

return M
