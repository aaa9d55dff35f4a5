#include "conflict/push.h"

#include <algorithm>

#include "conflict/merge_internal.h"

namespace tandem::conflict {

namespace {

using detail::flagHash;
using detail::nullHash;

void addPending(ShadowField& sf, uint64_t hash, const VersionVector& vv) {
  auto same = std::find_if(sf.pending.begin(), sf.pending.end(),
                           [hash](const PendingWrite& p) { return p.hash == hash; });
  if (same != sf.pending.end()) {
    sf.pending.erase(same);
  }
  sf.pending.push_back(PendingWrite{hash, vv});
  if (sf.pending.size() > kMaxPending) {
    sf.pending.erase(sf.pending.begin());
  }
}

void takeOver(ShadowField& sf, uint64_t hash, const VersionVector& vv) {
  auto it = std::find_if(sf.pending.begin(), sf.pending.end(),
                         [hash](const PendingWrite& p) { return p.hash == hash; });
  if (it != sf.pending.end()) {
    sf.pending.erase(sf.pending.begin(), it + 1);
  }
  sf.hash = hash;
  sf.vv = vv;
}

// Every mapped field for a body that must stand on its own (create, re-create).
void addWholeBody(PushPlan& plan, const Record& record, const Shadow* shadow,
                  const SystemSpec& spec) {
  plan.fields.reserve(plan.fields.size() + record.fields.size());
  for (const auto& [name, f] : record.fields) {
    if (!spec.maps(name)) {
      continue;
    }
    uint64_t h = f.value.hash();
    const ShadowField* sf = shadow != nullptr ? shadow->fields.find(name) : nullptr;
    bool differs = sf != nullptr ? sf->hash != h : h != nullHash();
    if (!f.value.isNull() || differs) {
      plan.fields.push_back(PushField{name, f.value, h, f.vv});
    }
  }
}

}  // namespace

const char* pushOpName(PushOp op) {
  switch (op) {
    case PushOp::None:
      return "none";
    case PushOp::Create:
      return "create";
    case PushOp::Update:
      return "update";
    case PushOp::Delete:
      return "delete";
    case PushOp::Undelete:
      return "undelete";
  }
  return "unknown";
}

bool needsPush(const Record& record, const std::optional<Shadow>& shadow, const SystemSpec& spec) {
  if (!shadow || record.tombstone.deleted) {
    // Told by the tombstones alone (a system without a copy, a deleted record): no value is
    // hashed. Every new record asks this of each system it goes to.
    return detail::needsPushHashed(record, nullptr, shadow, spec);
  }
  std::vector<uint64_t> hashes;
  hashes.reserve(record.fields.size());
  for (const auto& entry : record.fields) {
    hashes.push_back(entry.second.value.hash());
  }
  return detail::needsPushHashed(record, hashes.data(), shadow, spec);
}

namespace detail {

bool needsPushHashed(const Record& record, const uint64_t* hashes,
                     const std::optional<Shadow>& shadow, const SystemSpec& spec) {
  if (!shadow) {
    return !record.tombstone.deleted;
  }
  bool tomb_held = record.tombstone.open_conflict != 0;
  if (record.tombstone.deleted) {
    return !tomb_held && shadow->tombstone.hash != flagHash(true);
  }
  if (!tomb_held && shadow->tombstone.hash == flagHash(true)) {
    return true;
  }
  // Both maps are sorted by name: one merge-join walk, no lookups.
  auto sit = shadow->fields.begin();
  auto send = shadow->fields.end();
  size_t i = 0;
  for (auto it = record.fields.begin(); it != record.fields.end(); ++it, ++i) {
    const auto& [name, f] = *it;
    while (sit != send && sit->first < name) {
      ++sit;
    }
    // The hash first: most fields are held as they are, and maps() is a search by name.
    uint64_t held = sit != send && sit->first == name ? sit->second.hash : nullHash();
    if (hashes[i] != held && f.open_conflict == 0 && spec.maps(name)) {
      return true;
    }
  }
  return false;
}

}  // namespace detail

PushPlan planPush(const Record& record, const std::optional<Shadow>& shadow,
                  const SystemSpec& spec) {
  PushPlan plan;
  plan.system = spec.id;
  plan.tombstone_vv = record.tombstone.vv;
  const Tombstone& t = record.tombstone;
  if (!shadow) {
    if (!t.deleted) {
      plan.op = PushOp::Create;
      addWholeBody(plan, record, nullptr, spec);
    }
    return plan;
  }
  plan.version_token = shadow->version_token;
  bool tomb_held = t.open_conflict != 0;
  bool system_deleted = shadow->tombstone.hash == flagHash(true);
  if (t.deleted) {
    if (!tomb_held && !system_deleted) {
      plan.op = PushOp::Delete;
    }
    return plan;
  }
  if (system_deleted) {
    if (!tomb_held) {
      plan.op = PushOp::Undelete;
      addWholeBody(plan, record, &*shadow, spec);
    }
    return plan;
  }
  for (const auto& [name, f] : record.fields) {
    if (f.open_conflict != 0 || !spec.maps(name)) {
      continue;
    }
    uint64_t h = f.value.hash();
    const ShadowField* sf = shadow->fields.find(name);
    if (h != (sf != nullptr ? sf->hash : nullHash())) {
      plan.fields.push_back(PushField{name, f.value, h, f.vv});
    }
  }
  if (!plan.fields.empty()) {
    plan.op = PushOp::Update;
  }
  return plan;
}

void recordPending(std::optional<Shadow>& shadow, const PushPlan& plan) {
  if (plan.op == PushOp::None) {
    return;
  }
  if (!shadow) {
    shadow.emplace();
    shadow->fields.reserve(plan.fields.size());  // a create: every field is new, in order
  }
  for (const auto& f : plan.fields) {
    addPending(shadow->fields[f.name], f.hash, f.vv);
  }
  if (plan.op != PushOp::Update) {
    addPending(shadow->tombstone, flagHash(plan.op == PushOp::Delete), plan.tombstone_vv);
  }
}

void confirmPush(Shadow& shadow, const PushPlan& plan, std::string version_token,
                 int64_t source_ts_ms) {
  if (plan.op == PushOp::None) {
    return;
  }
  for (const auto& f : plan.fields) {
    takeOver(shadow.fields[f.name], f.hash, f.vv);
  }
  if (plan.op != PushOp::Update) {
    takeOver(shadow.tombstone, flagHash(plan.op == PushOp::Delete), plan.tombstone_vv);
  }
  shadow.version_token = std::move(version_token);
  shadow.source_ts_ms = std::max(shadow.source_ts_ms, source_ts_ms);
}

}  // namespace tandem::conflict
