-- rules/lib/graduate.lua: graduates and students in their graduating year.
--
-- 毕业年度 is the calendar year of graduation (1 January to 31 December), not "within 12 months
-- of graduating": a student graduating in June 2025 is in the graduating year from 2025-01-01,
-- and so is a graduate of June 2025 until 2025-12-31.  A student's coming graduation is
-- graduate.expected_on; a graduate's is graduate.graduated_on.

local M = {}

--- graduating_year(r, on) -> the person graduates or graduated in the calendar year of the date
--- (毕业年度): graduate.graduated_on, or for a student (employment.status student)
--- graduate.expected_on, falls in that year.  A person who is known not to be a student is
--- decided from graduated_on alone (expected_on is not needed).
function M.graduating_year(r, on)
  local year = on:sub(1, 4)
  local g = r.graduate
  local done, dk = field(g, "graduated_on")
  if dk and done ~= nil and done:sub(1, 4) == year then return true end
  local emp, ek = field(r, "employment")
  local status, sk = nil, false
  if ek then status, sk = field(emp, "status") end
  if sk and status ~= "student" then
    if not dk then return unknown() end
    return false
  end
  local expected, xk = field(g, "expected_on")
  if xk and expected ~= nil and expected:sub(1, 4) == year then return true end
  if not (dk and xk and sk) then return unknown() end
  return false
end

--- left_school_within(r, on, years) -> graduated on or before the date and no more than `years`
--- years before it (离校N年内: the Nth anniversary included).
function M.left_school_within(r, on, years)
  local done = r.graduate.graduated_on
  return done ~= nil and done <= on and on <= add_years(done, years)
end

return M
