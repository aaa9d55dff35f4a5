#include <algorithm>
#include <array>

#include "conflict/merge_internal.h"
#include "conflict/push.h"

namespace tandem::conflict {

bool SystemSpec::maps(std::string_view field) const {
  return fields.empty() || std::binary_search(fields.begin(), fields.end(), field);
}

void amendConflict(ConflictEntry& stored, const ConflictEntry& amendment) {
  for (const auto& side : amendment.sides) {
    bool known = std::any_of(stored.sides.begin(), stored.sides.end(), [&](const ConflictSide& s) {
      return s.system == side.system && s.value == side.value;
    });
    if (!known) {
      stored.sides.push_back(side);
    }
  }
  stored.outcome = amendment.outcome;
  stored.outcome_vv = amendment.outcome_vv;
  stored.open = amendment.open;
  if (!amendment.note.empty()) {
    stored.note = amendment.note;
  }
}

namespace detail {

uint64_t flagHash(bool deleted) {
  static const uint64_t kTrue = Value::boolean(true).hash();
  static const uint64_t kFalse = Value::boolean(false).hash();
  return deleted ? kTrue : kFalse;
}

uint64_t nullHash() {
  static const uint64_t kNull = Value::null().hash();
  return kNull;
}

ConflictEntry newEntry(const Record& record, std::string_view field, PolicyKind policy,
                       const MergeContext& ctx) {
  ConflictEntry e = amendmentOf(record, field, ++ctx.conflict_seq, policy, ctx);
  return e;
}

ConflictEntry amendmentOf(const Record& record, std::string_view field, uint64_t id,
                          PolicyKind policy, const MergeContext& ctx) {
  ConflictEntry e;
  e.id = id;
  e.record = record.id;
  e.entity = record.entity;
  e.field = std::string(field);
  e.policy = policy;
  e.created_ms = ctx.now_ms;
  return e;
}

VersionVector agentOutcome(const VersionVector& a, const VersionVector& b,
                           const MergeContext& ctx) {
  VersionVector out = VersionVector::merged(a, b);
  out.set(ctx.agent, ctx.clock.tick(ctx.agent, static_cast<uint64_t>(ctx.now_ms)));
  return out;
}

void syncEqualShadows(RecordState& state, std::string_view field, const MergeContext& ctx) {
  const FieldState* cf = state.record.fields.find(field);
  if (cf == nullptr) {
    return;
  }
  uint64_t h = cf->value.hash();
  for (const auto& spec : ctx.systems) {
    auto& shadow = state.shadows[spec.id];
    if (!shadow) {
      continue;
    }
    ShadowField* sf = shadow->fields.find(field);
    if (sf != nullptr && sf->hash == h) {
      sf->vv = cf->vv;
    }
  }
}

void syncTombstoneShadows(RecordState& state, const MergeContext& ctx) {
  const Tombstone& t = state.record.tombstone;
  uint64_t h = flagHash(t.deleted);
  for (const auto& spec : ctx.systems) {
    auto& shadow = state.shadows[spec.id];
    if (shadow && shadow->tombstone.hash == h) {
      shadow->tombstone.vv = t.vv;
    }
  }
}

std::vector<ActorId> systemsNeedingPush(const RecordState& state, const MergeContext& ctx) {
  // Hash each canonical value once for all systems; records have a dozen fields or so.
  constexpr size_t kOnStack = 64;
  std::array<uint64_t, kOnStack> stack_hashes;
  std::vector<uint64_t> heap_hashes;
  uint64_t* hashes = stack_hashes.data();
  if (state.record.fields.size() > kOnStack) {
    heap_hashes.resize(state.record.fields.size());
    hashes = heap_hashes.data();
  }
  size_t i = 0;
  for (const auto& entry : state.record.fields) {
    hashes[i++] = entry.second.value.hash();
  }
  std::vector<ActorId> out;
  for (const auto& spec : ctx.systems) {
    if (needsPushHashed(state.record, hashes, state.shadows[spec.id], spec)) {
      out.push_back(spec.id);
    }
  }
  return out;
}

bool confirmPending(ShadowField& sf, uint64_t hash) {
  auto it = std::find_if(sf.pending.begin(), sf.pending.end(),
                         [hash](const PendingWrite& p) { return p.hash == hash; });
  if (it == sf.pending.end()) {
    return false;
  }
  sf.hash = hash;
  sf.vv = it->vv;
  sf.pending.erase(sf.pending.begin(), it + 1);
  return true;
}

}  // namespace detail
}  // namespace tandem::conflict
