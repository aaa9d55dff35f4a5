// SyncEngine: the pusher's side. What to send now, and what the answer means for the state.

#include <algorithm>

#include "agent/engine/engine.h"
#include "agent/engine/work_set.h"

namespace tandem::engine {

namespace {

std::string sys(ActorId s) {
  return std::to_string(s);
}

}  // namespace

Result<std::vector<PushJob>> SyncEngine::duePushes(ActorId system, size_t limit,
                                                   const DueFilter& filter,
                                                   state::Durability durability) {
  std::vector<PushJob> jobs;
  state::Batch batch;
  const int64_t now = clock_.nowMs();
  // Held creates are skipped, not counted: look further so updates behind them still go.
  const size_t scan = filter.hold_creates.empty() ? limit : limit * 8 + 64;
  const auto held = [&filter](const std::string& entity) {
    return std::find(filter.hold_creates.begin(), filter.hold_creates.end(), entity) !=
           filter.hold_creates.end();
  };
  Handed& handed = handed_[system];
  // The next ingests hand this system at most as many creates as it takes now, and none when
  // its refills come slowly (a slow or rate-limited system with a backlog): a handed create's
  // lease runs from the ingest, and one that waits out its lease is read back before it goes.
  const bool refills_often =
      handed.last_refill_ms && now - *handed.last_refill_ms < kHandOutRefillWithinMs;
  handed.room = filter.hold_creates.empty() && refills_often ? limit : 0;
  handed.last_refill_ms = now;
  {
    TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
    // An outbox entry planned from the record as stored now, so the latest value per field is
    // sent (case 19).
    const auto plan = [&](state::OutboxEntry& e) -> Status {
      TANDEM_ASSIGN_OR_RETURN(auto native, snap.nativeId(e.record, system));
      // The record and the system's shadow in one read (state/row.h). A create is planned from
      // the record alone (planFor): its shadow is not decoded.
      TANDEM_ASSIGN_OR_RETURN(auto row, snap.row(e.record, native ? 1u << system : 0u));
      const conflict::Record* record = row ? &row->record : nullptr;
      const EntityConfig* ent = record != nullptr ? entity(record->entity) : nullptr;
      const conflict::SystemSpec* spec = ent != nullptr ? specOf(*ent, system) : nullptr;
      if (spec == nullptr) {
        batch.outbox_removals.push_back(state::SystemRecord{system, e.record});
        return {};
      }
      const std::optional<conflict::Shadow>& shadow = row->shadows[system];
      if (!native && held(record->entity)) {
        if (filter.held != nullptr) {
          filter.held->push_back(e.record);
        }
        return {};
      }
      conflict::PushPlan p = planFor(*record, shadow, *spec, native.has_value());
      if (p.op == conflict::PushOp::None) {
        batch.outbox_removals.push_back(state::SystemRecord{system, e.record});
        return {};
      }
      PushJob job;
      job.record = e.record;
      job.entity = record->entity;
      job.native_id = native.value_or("");
      job.plan = std::move(p);
      job.idempotency_key =
          e.idempotency_key.empty() ? idempotencyKey(e.record, system) : e.idempotency_key;
      job.attempts = e.attempts;
      if (!native) {
        // A create is recorded as sent before it is sent: after a crash its outcome is unknown
        // and the connector reads back by the key instead of creating a second record.
        job.outcome_unknown = e.attempts > 0 || e.last_error == kCreateSent;
        state::OutboxEntry sent = e;
        sent.kind = state::PushKind::Create;
        sent.last_error = kCreateSent;
        sent.due_ms = now + kCreateLeaseMs;
        batch.outbox.push_back(std::move(sent));
      }
      addRecordFields(job, std::move(row->record), *ent);
      jobs.push_back(std::move(job));
      return {};
    };
    // First the creates ingests handed over (see WorkSet::handOut), each checked against its
    // outbox entry: one whose entry changed since (the record's create refused, its entry
    // dropped) or whose lease ran out is left to the scan below.
    while (!handed.jobs.empty() && jobs.size() < limit) {
      HandedCreate h = std::move(handed.jobs.front());
      handed.jobs.pop_front();
      bool changed = false;
      if (auto it = handed_records_.find(h.job.record); it != handed_records_.end()) {
        changed = it->second.changed;
        if (--it->second.jobs == 0) {
          handed_records_.erase(it);
        }
      }
      TANDEM_ASSIGN_OR_RETURN(auto entry, snap.outboxEntry(system, h.job.record));
      if (!entry || entry->last_error != kCreateSent || entry->due_ms != h.lease_due_ms ||
          h.lease_due_ms <= now) {
        continue;
      }
      if (held(h.job.entity)) {
        // Handed over before a reload made this system's pusher hold creates: due now and not
        // marked, for the scan once the hold ends.
        entry->last_error.clear();
        entry->due_ms = now;
        batch.outbox.push_back(std::move(*entry));
      } else if (changed) {
        // The record changed after its create was planned (deleted, say): planned again from
        // the stored record, as a create never sent.
        entry->last_error.clear();
        TANDEM_RETURN_IF_ERROR(plan(*entry));
      } else {
        jobs.push_back(std::move(h.job));
      }
    }
    TANDEM_ASSIGN_OR_RETURN(auto due, snap.dueOutbox(now, scan, system));
    for (auto& e : due) {
      if (jobs.size() >= limit) {
        break;
      }
      TANDEM_RETURN_IF_ERROR(plan(e));
    }
  }
  if (!batch.empty()) {
    TANDEM_RETURN_IF_ERROR(apply(batch, durability));
  }
  return jobs;
}

Result<FollowUp> SyncEngine::completePush(ActorId system, const PushJob& job,
                                          const PushOutcome& outcome) {
  std::vector<Completion> one;
  one.push_back(Completion{job, outcome});
  TANDEM_ASSIGN_OR_RETURN(auto follow, completePushes(system, one));
  return follow.at(0);
}

Result<std::vector<FollowUp>> SyncEngine::completePushes(ActorId system,
                                                         const std::vector<Completion>& done) {
  std::vector<FollowUp> follow(done.size(), FollowUp::None);
  // One transaction per entity (a WorkSet holds one entity's records), in first-seen order.
  std::vector<std::string> entities;
  for (const auto& c : done) {
    if (std::find(entities.begin(), entities.end(), c.job.entity) == entities.end()) {
      entities.push_back(c.job.entity);
    }
  }
  for (const auto& name : entities) {
    const EntityConfig* ent = entity(name);
    if (ent == nullptr || specOf(*ent, system) == nullptr) {
      return fail("engine: complete push to system " + sys(system) + ": entity \"" + name +
                  "\" is not synced with that system");
    }
    const int64_t now = clock_.nowMs();
    state::Batch batch;
    std::vector<RecordId> recreated;
    {
      TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
      WorkSet ws(snap, *ent, config_.agent, now);
      TANDEM_RETURN_IF_ERROR(ws.begin());
      for (size_t i = 0; i < done.size(); ++i) {
        if (done[i].job.entity != name) {
          continue;
        }
        TANDEM_ASSIGN_OR_RETURN(follow[i],
                                completeOne(ws, snap, system, done[i], now, batch, recreated));
      }
      TANDEM_RETURN_IF_ERROR(ws.finish(batch));
      for (auto& e : batch.outbox) {
        if (e.system == system &&
            std::find(recreated.begin(), recreated.end(), e.record) != recreated.end()) {
          e.idempotency_key = idempotencyKey(e.record, system, static_cast<uint64_t>(now));
        }
      }
    }
    // An entry finish() queued again wins over its removal: the store applies removals first.
    // Deferred durability: an answer lost to a power failure is an unknown outcome again (a
    // create is read back by its key, an update is sent again). duePushes' marking of the next
    // creates as sent is durable and takes these along.
    TANDEM_RETURN_IF_ERROR(apply(batch, state::Durability::Deferred));
  }
  return follow;
}

Result<FollowUp> SyncEngine::completeOne(WorkSet& ws, const state::Snapshot& snap, ActorId system,
                                         const Completion& done, int64_t now, state::Batch& batch,
                                         std::vector<RecordId>& recreated) {
  const PushJob& job = done.job;
  const PushOutcome& outcome = done.outcome;
  FollowUp follow = FollowUp::None;
  const bool success = std::holds_alternative<PushSuccess>(outcome);
  // Read for a failure's bookkeeping (attempts, backoff, the dead letter's kind); a success
  // drops the entry without reading it.
  std::optional<state::OutboxEntry> entry;
  if (!success) {
    TANDEM_ASSIGN_OR_RETURN(entry, snap.outboxEntry(system, job.record));
  }
  // A success changes the system's shadow alone: the other systems' are not loaded.
  auto loaded = success ? ws.loadFor(job.record, system) : ws.load(job.record, false);
  if (!loaded) {
    return failWith("engine: complete push to system " + sys(system), loaded.error());
  }
  conflict::RecordState& st = **loaded;

  if (const auto* ok = std::get_if<PushSuccess>(&outcome)) {
    std::string native = job.native_id;
    if (native.empty()) {
      if (ok->native_id.empty()) {
        return fail("engine: create of " + job.record + " in system " + sys(system) +
                    " succeeded without a native id");
      }
      native = ok->native_id;
      ws.addLink(system, native, job.record);
    }
    auto& shadow = st.shadows[system];
    if (!shadow) {
      shadow.emplace();
    }
    conflict::confirmPush(*shadow, job.plan, ok->version_token, ok->source_ts_ms);
    // The plan was made when the push was handed out; the canonical field may have moved on
    // since with the same value (a conflict amended, an echo from a third system). The system
    // holds that value, so it has seen the canonical version of it: a person's next edit there
    // follows it, and is not concurrent with it (which would reopen the field's last conflict).
    for (const auto& f : job.plan.fields) {
      const conflict::FieldState* canonical = st.record.fields.find(f.name);
      conflict::ShadowField* held = shadow->fields.find(f.name);
      if (canonical != nullptr && held != nullptr && held->hash == f.hash &&
          canonical->value.hash() == f.hash) {
        held->vv.merge(canonical->vv);
      }
    }
    ws.touchShadows(job.record);        // the record is as it was
    ws.dropOutbox(system, job.record);  // queued again when the record changed meanwhile
  } else if (const auto* retry = std::get_if<PushRetryable>(&outcome)) {
    if (entry) {
      entry->attempts = job.attempts + 1;
      entry->due_ms = now + config_.backoff(entry->attempts, retry->retry_after_ms);
      entry->last_error = retry->error;
      batch.outbox.push_back(*entry);
    }
  } else if (std::holds_alternative<PushStale>(outcome)) {
    if (entry) {
      entry->last_error = "stale: re-read before the next push";
      batch.outbox.push_back(*entry);
    }
    follow = FollowUp::Reread;
  } else if (std::holds_alternative<PushPermanent>(outcome) || job.native_id.empty()) {
    // A create answered "not found" has nothing to delete: an operator looks at it.
    const auto* perm = std::get_if<PushPermanent>(&outcome);
    state::DeadLetter d;
    d.system = system;
    d.record = job.record;
    d.reason = perm != nullptr ? perm->error : "create answered not found";
    d.time_ms = now;
    d.attempts = job.attempts + 1;
    d.kind = entry ? entry->kind : state::PushKind::Update;
    batch.dead_letters.push_back(std::move(d));
    batch.outbox_removals.push_back(state::SystemRecord{system, job.record});
  } else {
    // Gone from the system (silent hard delete, case 16): a delete reported by that system,
    // settled by the entity's delete policy.
    conflict::Report report;
    report.system = system;
    report.deleted = true;
    const auto& shadow = st.shadows[system];
    report.source_ts_ms = std::max(now, shadow ? shadow->source_ts_ms : 0);
    report.version_token = shadow ? shadow->version_token : "";
    conflict::MergeContext ctx = ws.context();
    TANDEM_ASSIGN_OR_RETURN(auto merged, conflict::mergeReport(st, report, ctx));
    TANDEM_RETURN_IF_ERROR(ws.foldConflicts(merged));
    ws.touch(job.record);
    ws.dropOutbox(system, job.record);
    if (!st.record.tombstone.deleted) {
      // The record lives on: the system gets it again as a new record, under a fresh key.
      ws.removeLink(system, job.native_id);
      st.shadows[system].reset();
      batch.shadow_removals.push_back(state::SystemRecord{system, job.record});
      recreated.push_back(job.record);
    }
  }
  return follow;
}

}  // namespace tandem::engine
