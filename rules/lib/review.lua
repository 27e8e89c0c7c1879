-- rules/lib/review.lua: first recognition (认定) and review of a recognised person (复核).
--
-- The policy texts distinguish two situations.  A first application is decided by the
-- recognition conditions alone; the status-loss rules (身份丧失情形: refusing public employment
-- services, losing contact, a criminal sentence, ...) take the status away from a person who has
-- it, so they apply only in review.  The record says which it is: recognition.recognised_on is
-- the date the person was recognised (a determination on or after it is a review), null for a
-- first application, absent when unknown.  When it is unknown, a status-loss rule is still
-- decided wherever its own facts settle it (no refusals, a contact within the period).
--
-- Readings (documented in each province file that uses them):
--   * contact: the unemployment registration, the recognition itself and last_contact_on are
--     each a contact with the public employment service; the latest one counts;
--   * refusals: the status is lost on the day of the refusal that reaches the limit within the
--     window (refusals before the recognition do not count: the status did not exist yet), and
--     it stays lost: the window moving on later does not give it back; only a new recognition
--     (a later recognised_on) starts afresh.

local M = {}

--- recognised(r, on) -> the person was recognised as 就业困难人员 on or before the date (a
--- determination for them is a review, 复核): recognition.recognised_on is a date up to on;
--- false for null (a first application); unknown when absent.
function M.recognised(r, on)
  local since = r.recognition.recognised_on
  return since ~= nil and since <= on
end

--- last_contact(r, on) -> the latest contact with the public employment service on or before the
--- date that the record shows (registration, recognition, last_contact_on), or nil, and whether
--- every one of those fields is known (a later contact may hide in an absent one).
function M.last_contact(r, on)
  local latest, complete = nil, true
  local function consider(obj, key)
    if obj == nil then complete = false return end
    local d, known = field(obj, key)
    if not known then complete = false return end
    if d ~= nil and d <= on and (latest == nil or d > latest) then latest = d end
  end
  local reg, rk = field(r, "unemployment_registration")
  consider(rk and reg or nil, "registered_on")
  local rec, ck = field(r, "recognition")
  consider(ck and rec or nil, "recognised_on")
  consider(r, "last_contact_on")
  return latest, complete
end

--- contact_lapsed(r, on, months) -> more than `months` months (超过) have passed since the last
--- contact (last_contact): false as soon as a known contact lies within them, unknown when the
--- fields that could hold a later one are absent.  Returns a note with the date of the last contact.
function M.contact_lapsed(r, on, months)
  local latest, complete = M.last_contact(r, on)
  if latest ~= nil and add_months(latest, months) >= on then
    return false, "最近一次联系：" .. latest
  end
  if not complete then return unknown() end
  if latest == nil then return true, "无联系记录" end
  return true, "最近一次联系：" .. latest
end

-- the refusals on or before `on`, in date order
local function refusals_upto(r, on)
  local list = r.service_refusals
  local out = {}
  for i = 1, #list do
    local d = list[i]
    if d <= on then out[#out + 1] = d end
  end
  table.sort(out)
  return out
end

-- the day the limit-th refusal within a window of `months` (nil: no window) is reached
local function reached_on(dates, months, limit)
  for k = limit, #dates do
    local d = dates[k]
    local from = months and add_days(add_months(d, -months), 1) or nil
    if from == nil or dates[k - limit + 1] >= from then return d end
  end
  return nil
end

--- status_lost_by_refusals(r, on, months, limit) -> the recognised person refused public
--- employment services `limit` times (含本数) within `months` months (nil: in all) on or before
--- the date, counting refusals since the recognition.  The status is lost on the day of that
--- refusal and stays lost (the window moving on does not restore it).  false for a person not
--- recognised; the recognition date is read only when the refusals alone could reach the limit.
--- Returns a note naming the day the status was lost.
function M.status_lost_by_refusals(r, on, months, limit)
  local dates = refusals_upto(r, on)
  if reached_on(dates, months, limit) == nil then return false end
  local since = r.recognition.recognised_on
  if since == nil or since > on then return false, "尚未认定为就业困难人员" end
  local after = {}
  for i = 1, #dates do
    if dates[i] >= since then after[#after + 1] = dates[i] end
  end
  local day = reached_on(after, months, limit)
  if day == nil then return false end
  return true, string.format("%s第%d次拒绝，自该日丧失身份", day, limit)
end

return M
