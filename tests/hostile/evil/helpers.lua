-- tests/hostile/evil/helpers.lua: helpers that try to carry state from one record to the next.
-- Each must start every record as it started the first.

local M = {}

local calls = 0
--- count_calls() -> how many times it was called (in this record only).
function M.count_calls()
  calls = calls + 1
  return calls
end

local last
--- remember_record(r) -> true when no record was kept from before.
function M.remember_record(r)
  local before = last
  last = r
  return before == nil
end

local box = {}
--- replace_box() -> 1 the first time in a record.
function M.replace_box()
  box = { n = (box.n or 0) + 1 }
  return box.n
end

local state = { inner = { n = 0 } }
--- bump_nested() -> 1 the first time, if the nested table could be changed (it cannot).
function M.bump_nested()
  state.inner.n = state.inner.n + 1 --! bump_nested
  return state.inner.n
end

return M
