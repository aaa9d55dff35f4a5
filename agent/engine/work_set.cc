#include "agent/engine/work_set.h"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace tandem::engine {

conflict::PushPlan planFor(const conflict::Record& record,
                           const std::optional<conflict::Shadow>& shadow,
                           const conflict::SystemSpec& spec, bool linked) {
  if (!linked) {
    // Pending writes of an earlier create do not make the system hold the record.
    return conflict::planPush(record, std::nullopt, spec);
  }
  conflict::PushPlan plan = conflict::planPush(record, shadow, spec);
  if (plan.op == conflict::PushOp::Create) {
    plan.op = conflict::PushOp::Update;  // linked but never confirmed: write the whole body
  }
  return plan;
}

state::PushKind kindOf(const conflict::PushPlan& plan, const EntityConfig& entity, bool linked) {
  if (!linked) {
    return state::PushKind::Create;
  }
  if (plan.op == conflict::PushOp::Delete) {
    bool archive = std::find(entity.archives.begin(), entity.archives.end(), plan.system) !=
                   entity.archives.end();
    return archive ? state::PushKind::Archive : state::PushKind::Delete;
  }
  return state::PushKind::Update;
}

const conflict::SystemSpec* specOf(const EntityConfig& entity, ActorId system) {
  for (const auto& s : entity.systems) {
    if (s.id == system) {
      return &s;
    }
  }
  return nullptr;
}

namespace {

// Values moved out of a record that is not needed any more, copied otherwise. After the plan.
template <class R>
void addFields(PushJob& job, R&& record, const EntityConfig& entity) {
  if (job.native_id.empty()) {
    for (const auto& key : entity.match_keys) {
      const conflict::FieldState* f = record.fields.find(key);
      if (f != nullptr && !f->value.isNull()) {
        job.match_fields.emplace_back(key, f->value);
      }
    }
  }
  // Both sorted by name: the plan's fields (most of a create's) are not copied twice.
  job.other_values.emplace();
  auto planned = job.plan.fields.begin();
  for (auto& [name, field] : record.fields) {
    while (planned != job.plan.fields.end() && planned->name < name) {
      ++planned;
    }
    if (planned != job.plan.fields.end() && planned->name == name) {
      continue;
    }
    if constexpr (std::is_rvalue_reference_v<R&&>) {
      job.other_values->append(name, std::move(field.value));
    } else {
      job.other_values->append(name, field.value);
    }
  }
}

}  // namespace

void addRecordFields(PushJob& job, const conflict::Record& record, const EntityConfig& entity) {
  addFields(job, record, entity);
}

void addRecordFields(PushJob& job, conflict::Record&& record, const EntityConfig& entity) {
  addFields(job, std::move(record), entity);
}

namespace {

// True when the plan writes a value that was never queued for the system before, i.e. not the
// one it refused: a dead-lettered push then goes out again by itself.
bool sendsNewValue(const conflict::PushPlan& plan, const std::optional<conflict::Shadow>& shadow) {
  if (!shadow) {
    return true;
  }
  for (const auto& f : plan.fields) {
    const conflict::ShadowField* sf = shadow->fields.find(f.name);
    if (sf == nullptr) {
      return true;
    }
    bool queued = std::any_of(sf->pending.begin(), sf->pending.end(),
                              [&f](const conflict::PendingWrite& p) { return p.hash == f.hash; });
    if (!queued) {
      return true;
    }
  }
  return false;
}

}  // namespace

WorkSet::WorkSet(const state::Snapshot& snap, const EntityConfig& entity, ActorId agent,
                 int64_t now_ms)
    : snap_(snap), entity_(entity), agent_(agent), now_ms_(now_ms) {}

Status WorkSet::begin() {
  TANDEM_ASSIGN_OR_RETURN(clock_, snap_.clock());
  TANDEM_ASSIGN_OR_RETURN(seq_, snap_.conflictSeq());
  return {};
}

conflict::MergeContext WorkSet::context() {
  return conflict::MergeContext{entity_.policy, clock_, now_ms_, agent_, entity_.systems, seq_};
}

void WorkSet::takeLone(conflict::RecordState& st, ActorId system, const RecordId& id) {
  auto lone = lone_.find({system, id});
  if (lone == lone_.end()) {
    return;
  }
  st.shadows[system] = std::move(lone->second.shadow);
  if (lone->second.dirty) {
    touched_[id] = true;  // written with the record
  }
  lone_.erase(lone);
}

bool WorkSet::holds(const RecordId& id, ActorId system) const {
  auto p = partial_.find(id);
  return p == partial_.end() || p->second == system;
}

Result<conflict::RecordState*> WorkSet::loadFor(const RecordId& id, ActorId system) {
  auto it = states_.find(id);
  if (it != states_.end()) {
    // Loaded for another system: a second system's shadow makes it whole.
    return holds(id, system) ? &it->second : load(id, false);
  }
  return read(id, false, system);
}

Result<conflict::RecordState*> WorkSet::load(const RecordId& id, bool create) {
  auto it = states_.find(id);
  if (it == states_.end()) {
    return read(id, create, std::nullopt);
  }
  auto p = partial_.find(id);
  if (p != partial_.end()) {
    const ActorId held = p->second;
    partial_.erase(p);
    uint32_t rest = 0;
    for (const auto& spec : entity_.systems) {
      rest |= spec.id != held ? 1u << spec.id : 0;
    }
    TANDEM_ASSIGN_OR_RETURN(auto row, snap_.row(id, rest));
    for (const auto& spec : entity_.systems) {
      if (spec.id != held) {
        it->second.shadows[spec.id] = row ? std::move(row->shadows[spec.id]) : std::nullopt;
        takeLone(it->second, spec.id, id);
      }
    }
  }
  return &it->second;
}

Result<conflict::RecordState*> WorkSet::read(const RecordId& id, bool create,
                                             std::optional<ActorId> only) {
  // The record and the shadows wanted in one read (state/row.h); a shadow this set already
  // holds apart (lone_) replaces the stored one.
  uint32_t wanted = 0;
  for (const auto& spec : entity_.systems) {
    wanted |= !only || *only == spec.id ? 1u << spec.id : 0;
  }
  TANDEM_ASSIGN_OR_RETURN(auto row, snap_.row(id, wanted));
  conflict::RecordState st;
  if (row) {
    if (row->record.entity != entity_.name) {
      return fail("engine: record " + id + " is a " + row->record.entity + ", not a " +
                  entity_.name);
    }
    st.record = std::move(row->record);
    for (const auto& spec : entity_.systems) {
      if ((wanted >> spec.id & 1u) == 0) {
        continue;
      }
      st.shadows[spec.id] = std::move(row->shadows[spec.id]);
      takeLone(st, spec.id, id);
    }
    if (only) {
      partial_[id] = *only;
    }
  } else if (create) {
    st.record.id = id;
    st.record.entity = entity_.name;
    created_[id] = true;
  } else {
    return fail("engine: record " + id + " not found");
  }
  return &states_.emplace(id, std::move(st)).first->second;
}

Result<conflict::Shadow*> WorkSet::loneShadow(ActorId system, const RecordId& id) {
  if (states_.count(id) != 0) {
    return nullptr;
  }
  auto it = lone_.find({system, id});
  if (it == lone_.end()) {
    TANDEM_ASSIGN_OR_RETURN(auto shadow, snap_.shadow(system, id));
    if (!shadow) {
      return nullptr;
    }
    it = lone_.emplace(std::make_pair(system, id), Lone{std::move(*shadow), false}).first;
  }
  return &it->second.shadow;
}

Result<std::optional<RecordId>> WorkSet::linkedRecord(ActorId system, const std::string& native) {
  auto it = links_.find({system, native});
  if (it != links_.end()) {
    return it->second;
  }
  return snap_.linkedRecord(system, native);
}

Result<std::optional<std::string>> WorkSet::nativeId(const RecordId& id, ActorId system) {
  auto it = natives_.find({system, id});
  if (it != natives_.end()) {
    return it->second.empty() ? std::nullopt : std::optional<std::string>(it->second);
  }
  return snap_.nativeId(id, system);
}

void WorkSet::addLink(ActorId system, const std::string& native, const RecordId& id) {
  links_[{system, native}] = id;
  natives_[{system, id}] = native;
}

void WorkSet::removeLink(ActorId system, const std::string& native) {
  auto it = links_.find({system, native});
  std::optional<RecordId> id = it != links_.end() ? it->second : std::nullopt;
  if (it == links_.end()) {
    auto stored = snap_.linkedRecord(system, native);
    if (stored) {
      id = *stored;
    }
  }
  links_[{system, native}] = std::nullopt;
  if (id) {
    natives_[{system, *id}] = "";
  }
}

void WorkSet::putConflict(conflict::ConflictEntry entry) {
  uint64_t id = entry.id;
  conflicts_[id] = std::move(entry);
}

Result<size_t> WorkSet::foldConflicts(conflict::MergeResult& result) {
  size_t added = result.new_conflicts.size();
  for (auto& c : result.new_conflicts) {
    putConflict(std::move(c));
  }
  for (const auto& a : result.amendments) {
    auto it = conflicts_.find(a.id);
    if (it == conflicts_.end()) {
      TANDEM_ASSIGN_OR_RETURN(auto stored, snap_.conflict(a.id));
      if (!stored) {
        return fail("engine: record " + a.record + ": amendment to conflict " +
                    std::to_string(a.id) + ", which is not stored");
      }
      it = conflicts_.emplace(a.id, std::move(*stored)).first;
    }
    conflict::amendConflict(it->second, a);
  }
  return added;
}

Result<size_t> WorkSet::finish(state::Batch& batch) {
  size_t queued = 0;
  for (const auto& [id, unused] : touched_) {
    conflict::RecordState& st = states_.at(id);
    for (const auto& spec : entity_.systems) {
      if (!holds(id, spec.id)) {
        continue;  // not loaded, not changed
      }
      auto& shadow = st.shadows[spec.id];
      if (!conflict::needsPush(st.record, shadow, spec)) {
        continue;
      }
      TANDEM_ASSIGN_OR_RETURN(auto native, nativeId(id, spec.id));
      conflict::PushPlan plan = planFor(st.record, shadow, spec, native.has_value());
      if (plan.op == conflict::PushOp::None) {
        continue;
      }
      TANDEM_ASSIGN_OR_RETURN(auto dead, snap_.deadLetter(spec.id, id));
      // A refused create was not applied: it goes out again under a key never sent before, or a
      // system that caches answers by request id (QuickBooks' requestid) replays the refusal.
      const bool fresh_key = dead && dead->kind == state::PushKind::Create;
      if (dead) {
        if (!sendsNewValue(plan, shadow)) {
          continue;  // what was refused, held for an operator: retryDeadLetter() sends it
        }
        batch.dead_letter_removals.push_back(state::SystemRecord{spec.id, id});  // fixed at source
      }
      conflict::recordPending(shadow, plan);
      TANDEM_ASSIGN_OR_RETURN(auto existing, snap_.outboxEntry(spec.id, id));
      if (existing && dropped_.count({spec.id, id}) == 0) {
        continue;  // its values are computed when it is sent, so it carries these too
      }
      state::OutboxEntry e;
      e.system = spec.id;
      e.record = id;
      e.due_ms = now_ms_;
      e.kind = kindOf(plan, entity_, native.has_value());
      e.idempotency_key = fresh_key ? idempotencyKey(id, spec.id, static_cast<uint64_t>(now_ms_))
                                    : idempotencyKey(id, spec.id);
      e.enqueued_ms = now_ms_;
      if (hand_out_ != nullptr && !native && !fresh_key && isNew(id)) {
        // A record new in this batch has no push anywhere yet: its create goes straight to the
        // pusher, marked as sent here as duePushes would (after a crash, read back by key).
        auto room = hand_out_->room.find(spec.id);
        if (room != hand_out_->room.end() && room->second > 0) {
          --room->second;
          e.last_error = kCreateSent;
          e.due_ms = now_ms_ + kCreateLeaseMs;
          HandedCreate handed;
          handed.job.record = id;
          handed.job.entity = entity_.name;
          handed.job.plan = std::move(plan);
          handed.job.idempotency_key = e.idempotency_key;
          addRecordFields(handed.job, st.record, entity_);
          handed.lease_due_ms = e.due_ms;
          hand_out_->jobs.emplace_back(spec.id, std::move(handed));
        }
      }
      batch.outbox.push_back(std::move(e));
      ++queued;
    }
  }
  for (auto& [id, st] : states_) {
    auto touched = touched_.find(id);
    if (touched == touched_.end()) {
      continue;
    }
    if (touched->second) {
      batch.records.push_back(std::move(st.record));
    }
    for (const auto& spec : entity_.systems) {
      if (holds(id, spec.id) && st.shadows[spec.id]) {
        batch.shadows.push_back(state::ShadowPut{spec.id, id, std::move(*st.shadows[spec.id])});
      }
    }
  }
  for (auto& [key, lone] : lone_) {
    if (lone.dirty) {
      batch.shadows.push_back(state::ShadowPut{key.first, key.second, std::move(lone.shadow)});
    }
  }
  for (const auto& [key, id] : links_) {
    if (id) {
      batch.links.push_back(state::Link{key.first, key.second, *id});
    } else {
      batch.link_removals.push_back(state::Link{key.first, key.second, {}});
    }
  }
  for (auto& [cid, c] : conflicts_) {
    batch.conflicts.push_back(std::move(c));
  }
  for (const auto& [key, unused] : dropped_) {
    batch.outbox_removals.push_back(state::SystemRecord{key.first, key.second});
  }
  batch.clock = clock_;
  batch.conflict_seq = seq_;
  return queued;
}

}  // namespace tandem::engine
