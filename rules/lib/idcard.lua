-- rules/lib/idcard.lua: resident ID numbers (公民身份号码, GB 11643-1999).
--
-- 6-digit address code (GB/T 2260; it records where the number was issued, not the present
-- hukou), 8-digit birth date, 3-digit sequence (odd = male, even = female), check character.
-- A lowercase x is read as X.

local M = {}

local W = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 }
local MAP = "10X98765432"

--- id_check_char(first17) -> the check character ("0"-"9" or "X") for 17 digits.
function M.id_check_char(s17)
  if type(s17) ~= "string" or #s17 < 17 or not s17:sub(1, 17):match("^%d+$") then
    error("id_check_char: expected 17 digits", 2)
  end
  local sum = 0
  for i = 1, 17 do sum = sum + (s17:byte(i) - 48) * W[i] end
  local k = sum % 11 + 1
  return MAP:sub(k, k)
end

--- id_problem(s) -> nil when s is a valid resident ID number, else a Chinese description.
function M.id_problem(s)
  if type(s) ~= "string" then return "身份号码缺失" end
  if #s ~= 18 then return "身份号码应为18位" end
  if not s:sub(1, 17):match("^%d+$") then return "前17位应为数字" end
  local last = s:sub(18, 18):upper()
  if not last:match("^[0-9X]$") then return "第18位应为数字或X" end
  if not is_date(s:sub(7, 10) .. "-" .. s:sub(11, 12) .. "-" .. s:sub(13, 14)) then
    return "第7至14位不是有效的出生日期"
  end
  if M.id_check_char(s) ~= last then return "校验码错误" end
  return nil
end

--- id_valid(s) -> true for a valid 18-character resident ID number.
function M.id_valid(s)
  return M.id_problem(s) == nil
end

local function checked(s, what)
  local p = M.id_problem(s)
  if p then error(what .. ": " .. p .. " (" .. tostring(s) .. ")", 3) end
  return s
end

--- id_birth_date(s) -> "YYYY-MM-DD".
function M.id_birth_date(s)
  checked(s, "id_birth_date")
  return s:sub(7, 10) .. "-" .. s:sub(11, 12) .. "-" .. s:sub(13, 14)
end

--- id_sex(s) -> "M" or "F" from the sequence digit (the 17th).
function M.id_sex(s)
  checked(s, "id_sex")
  return (s:byte(17) - 48) % 2 == 1 and "M" or "F"
end

--- id_region(s) -> the 6-digit address code; id_province(s) -> its first two digits
--- ("44" = 广东).
function M.id_region(s)
  checked(s, "id_region")
  return s:sub(1, 6)
end

function M.id_province(s)
  checked(s, "id_province")
  return s:sub(1, 2)
end

--- id_age(s, on) -> age in 周岁 on a date, from the birth date in the number.
function M.id_age(s, on)
  return age(M.id_birth_date(s), on)
end

--- region_in(code, prefix, ...) -> true when a GB/T 2260 region code starts with any prefix
--- ("440106" is in "44" and "4401").
function M.region_in(code, ...)
  if type(code) ~= "string" then error("region_in: expected a region code, got " .. type(code), 2) end
  for i = 1, select("#", ...) do
    local p = select(i, ...)
    if code:sub(1, #p) == p then return true end
  end
  return false
end

return M
