-- rules/lib/household.lua: the person's hukou household, for zero-employment (零就业家庭) tests.
--
-- A member is "employed" when their employment_status is employed, self_employed, flexible or
-- public_welfare_post.  Results follow three-valued logic: one member known to be employed
-- decides "not zero-employment" even when other members are unknown.

local M = {}

local EMPLOYED = { employed = true, self_employed = true, flexible = true, public_welfare_post = true }

--- employed_status(s) -> true when an employment status counts as having work.
function M.employed_status(s)
  return EMPLOYED[s] == true
end

-- three-valued helpers: true, false or nil (unknown)
local function get(obj, key)
  local v, known = field(obj, key)
  if not known then return nil, false end
  return v, true
end

--- members_employed(r) -> how many other household members have work (unknown when a status
--- is absent and no bound can be given).
function M.members_employed(r)
  local members = r.household.members
  local n = 0
  for i = 1, #members do
    local m = members[i]
    local s = m.employment_status
    if EMPLOYED[s] then n = n + 1 end
  end
  return n
end

--- member_in_working_age(id_number, on, min_age) -> a household member is of working age on the
--- date, from the birth date and sex in their ID number: at least min_age 周岁 and not yet at
--- statutory retirement age (members carry no retirement group: a woman between the two female
--- retirement dates is unknown).  A number that cannot be read counts as working age.
function M.member_in_working_age(idn, on, min_age)
  if idn == nil or not id_valid(idn) then return true end
  local birth = id_birth_date(idn)
  if on < birth then return true end
  if age(birth, on) < (min_age or 16) then return false end
  if id_sex(idn) == "M" then return on < retirement_date(birth, "male") end
  if on < retirement_date(birth, "female_worker") then return true end
  if on >= retirement_date(birth, "female_cadre") then return false end
  return nil
end

--- zero_employment(r, on, opts) -> true when every working-age member of the household who is
--- able and willing to work is without work (members below min_age or at or above statutory
--- retirement age, member_in_working_age, are outside the test: an employed parent of 70 does
--- not make the household one with work) (the applicant, who is checked separately, counts as
--- one).  opts (all optional):
---   no_business_income = true    a household with business or investment income is not one
---                                (Zhejiang, Qingdao)
---   min_age = 16                 members younger than this are not counted
---   exclude = {"student", ...}   member statuses that are not counted (Xi'an: student,
---                                military, retired)
---   single_needs_minor_child = true  a person living alone with no child under 18 is not one
---                                (Tianjin)
function M.zero_employment(r, on, opts)
  opts = opts or {}
  local unknown_seen = false
  local exclude = {}
  for _, s in ipairs(opts.exclude or { "student", "retired" }) do exclude[s] = true end
  local min_age = opts.min_age or 16

  if opts.no_business_income then
    local b, known = get(r.household, "business_or_investment_income")
    if known and b == true then return false, "家庭有经营或投资收入" end
    if not known then unknown_seen = true end
  end

  local members, known = get(r.household, "members")
  if not known then return unknown() end
  if opts.single_needs_minor_child and #members == 0 then
    local kids, k2 = get(r.family, "children_under_18")
    if k2 and kids == 0 then return false, "单人户且无未成年子女" end
    if not k2 then unknown_seen = true end
  end
  for i = 1, #members do
    local m, mk = get(members, i)
    if not mk then
      unknown_seen = true
    else
      -- is this member counted? false = certainly not; nil = unknown
      local counted = true
      local status, sk = get(m, "employment_status")
      local pension, pk = get(m, "receiving_pension")
      local ability, ak = get(m, "ability_to_work")
      local willing, wk = get(m, "willing_to_work")
      local student, stk = get(m, "student")
      local idn, ik = get(m, "id_number")
      local in_age = nil
      if ik then in_age = M.member_in_working_age(idn, on, min_age) end
      if (sk and exclude[status]) or (pk and pension == true) or (ak and ability == "none")
        or (wk and willing == false) or (stk and student == true and exclude.student) then
        counted = false
      elseif in_age == false then
        counted = false
      elseif not (pk and ak and wk) or in_age == nil then
        counted = nil
      end
      if counted ~= false then
        if not sk then
          unknown_seen = true
        elseif EMPLOYED[status] then
          if counted == true then
            return false, "家庭成员（" .. (get(m, "relation") or "成员") .. "）已就业"
          end
          unknown_seen = true
        end
      end
    end
  end
  if unknown_seen then return unknown() end
  return true
end

return M
