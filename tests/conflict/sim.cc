#include "tests/conflict/sim.h"

#include <algorithm>

namespace tandem::conflict::testing {

namespace {

void setBit(std::vector<uint64_t>& bits, size_t i) {
  if (bits.size() <= i / 64) {
    bits.resize(i / 64 + 1, 0);
  }
  bits[i / 64] |= uint64_t{1} << (i % 64);
}

bool testBit(const std::vector<uint64_t>& bits, size_t i) {
  return i / 64 < bits.size() && ((bits[i / 64] >> (i % 64)) & 1) != 0;
}

}  // namespace

Simulator::Simulator(uint64_t seed, SimFaults faults) : rng_(seed), faults_(faults) {
  for (ActorId s = 0; s < kSystems; ++s) {
    SystemSpec spec{s, {}};
    if (!maps(s, 3)) {
      spec.fields = {"f0", "f1", "f2"};
    }
    specs_.push_back(std::move(spec));
  }
  // A mix of policies whose outcome is always one of the sides: f0, f1 lww, f2 prefer, f3 max.
  policy_.priority = {1, 0, 2};
  policy_.fields["f2"] = PolicySpec{PolicyKind::Prefer, {1}};
  policy_.fields["f3"] = PolicySpec{PolicyKind::Max, {}};
  state_.record.id = "r1";
  state_.record.entity = "customer";
  for (auto& sys : systems_) {
    sys.edit.fill(-1);
  }
  // Every system holds the (empty) record and the agent has seen each once.
  for (size_t s = 0; s < kSystems; ++s) {
    systems_[s].updated_ts = systemTime(s);
    poll(s);
    deliver(inbox_.size() - 1, false);
  }
}

MergeContext Simulator::ctx() {
  return MergeContext{policy_, clock_, now_, kAgentId, specs_, conflict_seq_};
}

int64_t Simulator::systemTime(size_t s) {
  return std::max(systems_[s].updated_ts + 1, now_ + skew_[s]);
}

Report Simulator::snapshot(size_t s) const {
  Report r;
  r.system = static_cast<ActorId>(s);
  for (size_t f = 0; f < kFields; ++f) {
    if (maps(s, f)) {
      r.fields[fieldName(f)] = valueOf(systems_[s].edit[f]);
    }
  }
  r.source_ts_ms = systems_[s].updated_ts;
  r.version_token = std::to_string(systems_[s].version);
  return r;
}

void Simulator::humanEdit(std::optional<size_t> system) {
  tick();
  size_t s = system ? *system : pick(kSystems);
  size_t f = pick(kFields);
  while (!maps(s, f)) {
    f = pick(kFields);
  }
  Edit e;
  e.field = f;
  int before = systems_[s].edit[f];
  if (before >= 0) {
    e.history = edits_[before].history;
  }
  int id = static_cast<int>(edits_.size());
  setBit(e.history, id);
  edits_.push_back(std::move(e));
  SystemRecord& sys = systems_[s];
  sys.edit[f] = id;
  sys.version++;
  sys.updated_ts = systemTime(s);
  if (chance(0.6)) {
    poll(s);  // a webhook
  }
}

void Simulator::deliver(size_t index, bool keep_copy) {
  tick();
  Report r = inbox_[index];
  if (!keep_copy) {
    inbox_.erase(inbox_.begin() + static_cast<std::ptrdiff_t>(index));
  }
  auto res = mergeReport(state_, r, ctx());
  if (!res) {
    return;
  }
  for (const auto& e : res->new_conflicts) {
    log_[e.id] = e;
  }
  for (const auto& a : res->amendments) {
    amendConflict(log_[a.id], a);
  }
  planPushes(res->push_to);
}

void Simulator::planPushes(const std::vector<ActorId>& systems) {
  for (ActorId t : systems) {
    PushPlan plan = planPush(state_.record, state_.shadows[t], specs_[t]);
    if (plan.op == PushOp::None) {
      continue;
    }
    recordPending(state_.shadows[t], plan);
    // The outbox keeps the latest push per record and system.
    auto it =
        std::find_if(jobs_.begin(), jobs_.end(), [t](const PushJob& j) { return j.system == t; });
    if (it != jobs_.end()) {
      it->plan = std::move(plan);
    } else {
      jobs_.push_back(PushJob{t, std::move(plan)});
    }
  }
}

void Simulator::executePush(size_t index, bool allow_faults) {
  tick();
  PushJob job = jobs_[index];
  jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(index));
  if (allow_faults && chance(faults_.dropped_push)) {
    return;  // never sent; the shadow still differs and a later plan retries
  }
  SystemRecord& sys = systems_[job.system];
  if (job.plan.version_token != std::to_string(sys.version)) {
    poll(job.system);  // 412: re-read and merge
    return;
  }
  for (const auto& f : job.plan.fields) {
    sys.edit[static_cast<size_t>(std::stoi(f.name.substr(1)))] = editOf(f.value);
  }
  sys.version++;
  sys.updated_ts = systemTime(job.system);
  if (allow_faults && chance(faults_.lost_answer)) {
    return;  // applied, but the agent never hears
  }
  confirmPush(*state_.shadows[job.system], job.plan, std::to_string(sys.version), sys.updated_ts);
}

void Simulator::step(bool allow_edits) {
  size_t roll = pick(100);
  if (roll < 25 && allow_edits) {
    humanEdit();
  } else if (roll < 35) {
    poll(pick(kSystems));
  } else if (roll < 70) {
    if (!inbox_.empty()) {
      size_t i = pick(inbox_.size());
      if (chance(faults_.dropped_report)) {
        inbox_.erase(inbox_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        deliver(i, chance(faults_.dup_report));
      }
    }
  } else if (roll < 95) {
    if (!jobs_.empty()) {
      executePush(pick(jobs_.size()), true);
    }
  } else {
    std::vector<ActorId> all;
    for (const auto& spec : specs_) {
      if (needsPush(state_.record, state_.shadows[spec.id], spec)) {
        all.push_back(spec.id);
      }
    }
    planPushes(all);
  }
}

bool Simulator::quiesce() {
  for (int round = 0; round < 100; ++round) {
    while (!inbox_.empty()) {
      deliver(pick(inbox_.size()), false);
    }
    while (!jobs_.empty()) {
      executePush(pick(jobs_.size()), false);
      while (!inbox_.empty()) {
        deliver(pick(inbox_.size()), false);
      }
    }
    for (size_t s = 0; s < kSystems; ++s) {
      poll(s);
    }
    while (!inbox_.empty()) {
      deliver(pick(inbox_.size()), false);
    }
    std::vector<ActorId> all;
    for (const auto& spec : specs_) {
      if (needsPush(state_.record, state_.shadows[spec.id], spec)) {
        all.push_back(spec.id);
      }
    }
    planPushes(all);
    if (jobs_.empty() && inbox_.empty() && checkConverged().empty()) {
      return true;
    }
  }
  return false;
}

std::string Simulator::checkConverged() const {
  for (size_t f = 0; f < kFields; ++f) {
    const FieldState* cf = state_.record.fields.find(fieldName(f));
    Value canonical = cf != nullptr ? cf->value : Value::null();
    if (cf != nullptr && cf->open_conflict != 0) {
      return fieldName(f) + " is held by conflict " + std::to_string(cf->open_conflict);
    }
    for (size_t s = 0; s < kSystems; ++s) {
      if (!maps(s, f)) {
        continue;
      }
      Value held = valueOf(systems_[s].edit[f]);
      if (!(held == canonical)) {
        return fieldName(f) + ": system " + std::to_string(s) + " holds " + held.toJson() +
               ", canonical " + canonical.toJson();
      }
    }
  }
  return {};
}

std::string Simulator::checkNothingLostSilently() const {
  // A value is accounted for when the final value had seen it, or a value in the conflict log
  // had (a logged value was written by someone who saw what it replaced in their system).
  std::map<std::string, std::vector<uint64_t>> accounted;
  auto addHistory = [&](const std::string& field, int edit) {
    auto& bits = accounted[field];
    const auto& h = edits_[static_cast<size_t>(edit)].history;
    if (bits.size() < h.size()) {
      bits.resize(h.size(), 0);
    }
    for (size_t i = 0; i < h.size(); ++i) {
      bits[i] |= h[i];
    }
  };
  for (const auto& [id, e] : log_) {
    for (const auto& side : e.sides) {
      if (!side.value.isNull()) {
        addHistory(e.field, editOf(side.value));
      }
    }
  }
  for (size_t f = 0; f < kFields; ++f) {
    int final_edit = systems_[0].edit[f];
    if (final_edit >= 0) {
      addHistory(fieldName(f), final_edit);
    }
    const auto& bits = accounted[fieldName(f)];
    for (size_t id = 0; id < edits_.size(); ++id) {
      if (edits_[id].field == f && !testBit(bits, id)) {
        return "e" + std::to_string(id) + " (" + fieldName(f) +
               ") was overwritten unseen and is not in the conflict log; final value e" +
               std::to_string(final_edit);
      }
    }
  }
  return {};
}

std::string Simulator::checkConflictEntries() const {
  for (const auto& [id, e] : log_) {
    if (e.sides.size() < 2) {
      return "conflict " + std::to_string(id) + " has " + std::to_string(e.sides.size()) + " side";
    }
    bool found = std::any_of(e.sides.begin(), e.sides.end(),
                             [&](const ConflictSide& side) { return side.value == e.outcome; });
    if (!found) {
      return "conflict " + std::to_string(id) + " outcome " + e.outcome.toJson() +
             " is none of its sides";
    }
    if (e.open) {
      return "conflict " + std::to_string(id) + " is open: " + e.note;
    }
  }
  return {};
}

}  // namespace tandem::conflict::testing
