#include "conflict/policy.h"

#include <algorithm>
#include <limits>

namespace tandem::conflict {

namespace {

size_t rankIn(const std::vector<ActorId>& list, ActorId a) {
  auto it = std::find(list.begin(), list.end(), a);
  if (it == list.end()) {
    return list.size() + a;  // unlisted systems after every listed one, by id
  }
  return static_cast<size_t>(it - list.begin());
}

PolicyOutcome pick(bool first) {
  PolicyOutcome out;
  out.pick = first ? PolicyOutcome::Pick::First : PolicyOutcome::Pick::Second;
  return out;
}

// -1: a < b, 0: equal or not comparable (kinds differ), +1: a > b. `comparable` tells which.
int compareValues(const Value& a, const Value& b, bool& comparable) {
  using K = Value::Kind;
  comparable = true;
  auto num = [](const Value& v) {
    return v.kind() == K::Int ? static_cast<double>(v.asInt()) : v.asNumber();
  };
  if (a.kind() == K::Int && b.kind() == K::Int) {
    return a.asInt() < b.asInt() ? -1 : (a.asInt() > b.asInt() ? 1 : 0);
  }
  if ((a.kind() == K::Int || a.kind() == K::Number) &&
      (b.kind() == K::Int || b.kind() == K::Number)) {
    double x = num(a);
    double y = num(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.kind() == K::String && b.kind() == K::String) {
    int c = a.asString().compare(b.asString());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  comparable = false;
  return 0;
}

PolicyOutcome extreme(const EntityPolicy& entity, const Candidate& a, const Candidate& b,
                      bool want_max) {
  if (a.value->isNull() != b.value->isNull()) {
    return pick(!a.value->isNull());  // null loses
  }
  bool comparable = false;
  int c = compareValues(*a.value, *b.value, comparable);
  if (!comparable || c == 0) {
    return pick(lwwBeats(entity, a, b));
  }
  return pick(want_max ? c > 0 : c < 0);
}

PolicyOutcome unite(const EntityPolicy& entity, const Candidate& a, const Candidate& b) {
  using K = Value::Kind;
  const Value& x = *a.value;
  const Value& y = *b.value;
  bool x_set = x.kind() == K::StringSet || x.isNull();
  bool y_set = y.kind() == K::StringSet || y.isNull();
  if (!x_set || !y_set) {
    return pick(lwwBeats(entity, a, b));
  }
  if (x.isNull()) {
    return pick(false);
  }
  if (y.isNull()) {
    return pick(true);
  }
  Value::StringSet all;
  all.reserve(x.asStringSet().size() + y.asStringSet().size());
  std::set_union(x.asStringSet().begin(), x.asStringSet().end(), y.asStringSet().begin(),
                 y.asStringSet().end(), std::back_inserter(all));
  if (all == x.asStringSet()) {
    return pick(true);
  }
  if (all == y.asStringSet()) {
    return pick(false);
  }
  PolicyOutcome out;
  out.pick = PolicyOutcome::Pick::Merged;
  out.merged = Value::stringSet(std::move(all));
  return out;
}

}  // namespace

const char* deletePolicyName(DeletePolicy p) {
  switch (p) {
    case DeletePolicy::UpdateWins:
      return "update-wins";
    case DeletePolicy::DeleteWins:
      return "delete-wins";
    case DeletePolicy::Prefer:
      return "prefer";
    case DeletePolicy::Manual:
      return "manual";
  }
  return "unknown";
}

bool lwwBeats(const EntityPolicy& entity, const Candidate& a, const Candidate& b) {
  if (a.ts_ms != b.ts_ms) {
    return a.ts_ms > b.ts_ms;
  }
  size_t ra = rankIn(entity.priority, a.system);
  size_t rb = rankIn(entity.priority, b.system);
  if (ra != rb) {
    return ra < rb;
  }
  return a.value->hash() > b.value->hash();
}

PolicyOutcome applyPolicy(const PolicySpec& spec, const EntityPolicy& entity, const Candidate& a,
                          const Candidate& b) {
  switch (spec.kind) {
    case PolicyKind::Lww:
      return pick(lwwBeats(entity, a, b));
    case PolicyKind::Prefer: {
      size_t ra = rankIn(spec.prefer, a.system);
      size_t rb = rankIn(spec.prefer, b.system);
      bool a_listed = ra < spec.prefer.size();
      bool b_listed = rb < spec.prefer.size();
      if ((a_listed || b_listed) && ra != rb) {
        return pick(ra < rb);
      }
      return pick(lwwBeats(entity, a, b));
    }
    case PolicyKind::Manual: {
      PolicyOutcome out;
      out.pick = PolicyOutcome::Pick::Held;
      return out;
    }
    case PolicyKind::Max:
      return extreme(entity, a, b, true);
    case PolicyKind::Min:
      return extreme(entity, a, b, false);
    case PolicyKind::Union:
      return unite(entity, a, b);
  }
  return pick(lwwBeats(entity, a, b));
}

DeleteOutcome applyDeletePolicy(const EntityPolicy& entity, ActorId deleter,
                                std::span<const ActorId> updaters) {
  switch (entity.on_delete_conflict) {
    case DeletePolicy::UpdateWins:
      return DeleteOutcome::UpdateWins;
    case DeletePolicy::DeleteWins:
      return DeleteOutcome::DeleteWins;
    case DeletePolicy::Manual:
      return DeleteOutcome::Held;
    case DeletePolicy::Prefer: {
      size_t best_update = std::numeric_limits<size_t>::max();
      for (ActorId u : updaters) {
        best_update = std::min(best_update, rankIn(entity.delete_prefer, u));
      }
      size_t del = rankIn(entity.delete_prefer, deleter);
      bool any_listed =
          del < entity.delete_prefer.size() || best_update < entity.delete_prefer.size();
      if (any_listed && del < best_update) {
        return DeleteOutcome::DeleteWins;
      }
      return DeleteOutcome::UpdateWins;
    }
  }
  return DeleteOutcome::UpdateWins;
}

}  // namespace tandem::conflict
