// SyncEngine at start: placing the stored records of an entity in a system that joined it later,
// and reclaiming creates a crashed run left unanswered.

#include <limits>
#include <set>

#include "agent/engine/engine.h"
#include "agent/engine/work_set.h"

namespace tandem::engine {

namespace {

std::string placedNote(const std::string& entity, ActorId system) {
  return "placed/" + entity + "/" + std::to_string(system);
}

}  // namespace

Result<size_t> SyncEngine::placeExisting(size_t page) {
  if (page == 0) {
    page = 1;
  }
  size_t queued = 0;
  for (const auto& ent : config_.entities) {
    std::vector<ActorId> joined;
    std::vector<ActorId> left;
    {
      TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
      std::set<ActorId> syncing;
      for (const auto& spec : ent.systems) {
        syncing.insert(spec.id);
        TANDEM_ASSIGN_OR_RETURN(auto note, snap.note(placedNote(ent.name, spec.id)));
        if (!note) {
          joined.push_back(spec.id);
        }
      }
      TANDEM_ASSIGN_OR_RETURN(auto actors, snap.actors());
      for (const auto& [name, id] : actors) {
        if (syncing.count(id) != 0) {
          continue;
        }
        TANDEM_ASSIGN_OR_RETURN(auto note, snap.note(placedNote(ent.name, id)));
        if (note) {
          left.push_back(id);  // placed again if it joins again
        }
      }
    }
    if (joined.empty() && left.empty()) {
      continue;
    }
    std::string after;
    for (;;) {
      state::Batch batch;
      size_t seen = 0;
      {
        TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
        TANDEM_ASSIGN_OR_RETURN(auto ids, snap.recordIds(after, page));
        seen = ids.size();
        if (!ids.empty()) {
          after = ids.back();
        }
        WorkSet ws(snap, ent, config_.agent, clock_.nowMs());
        TANDEM_RETURN_IF_ERROR(ws.begin());
        bool any = false;
        for (const auto& id : ids) {
          TANDEM_ASSIGN_OR_RETURN(auto record, snap.record(id));
          if (!record || record->entity != ent.name || record->tombstone.deleted) {
            continue;
          }
          bool lacking = false;
          for (ActorId system : joined) {
            TANDEM_ASSIGN_OR_RETURN(auto native, snap.nativeId(id, system));
            lacking = lacking || !native;
          }
          if (!lacking) {
            continue;
          }
          auto loaded = ws.load(id, false);
          if (!loaded) {
            return failWith("engine: place records of " + ent.name, loaded.error());
          }
          ws.touch(id);  // finish() queues what each system lacks, creates included
          any = true;
        }
        if (any) {
          TANDEM_ASSIGN_OR_RETURN(size_t n, ws.finish(batch));
          queued += n;
        }
      }
      const bool last = seen < page;
      if (last) {
        for (ActorId system : joined) {
          batch.notes.emplace_back(placedNote(ent.name, system), "1");
        }
        for (ActorId system : left) {
          batch.notes.emplace_back(placedNote(ent.name, system), std::nullopt);
        }
      }
      if (!batch.empty()) {
        TANDEM_RETURN_IF_ERROR(apply(batch, state::Durability::Sync));
      }
      if (last) {
        break;
      }
    }
  }
  return queued;
}

Result<size_t> SyncEngine::reclaimSentCreates() {
  state::Batch batch;
  const int64_t now = clock_.nowMs();
  {
    TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
    TANDEM_ASSIGN_OR_RETURN(auto all,
                            snap.dueOutbox(std::numeric_limits<int64_t>::max(),
                                           std::numeric_limits<size_t>::max(), std::nullopt));
    for (auto& e : all) {
      if (e.last_error == kCreateSent && e.due_ms > now) {
        e.due_ms = now;  // the entry put replaces the one under its old due time
        batch.outbox.push_back(std::move(e));
      }
    }
  }
  const size_t n = batch.outbox.size();
  if (n > 0) {
    TANDEM_RETURN_IF_ERROR(apply(batch, state::Durability::Sync));
  }
  return n;
}

Result<size_t> SyncEngine::unmarkUnsentCreates(ActorId system, const std::vector<PushJob>& jobs) {
  state::Batch batch;
  const int64_t now = clock_.nowMs();
  {
    TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
    for (const auto& job : jobs) {
      if (!job.native_id.empty() || job.outcome_unknown) {
        continue;
      }
      TANDEM_ASSIGN_OR_RETURN(auto entry, snap.outboxEntry(system, job.record));
      // Gone (the record changed and its entry was dropped) or queued again since: left alone.
      if (!entry || entry->last_error != kCreateSent) {
        continue;
      }
      entry->last_error.clear();
      entry->due_ms = now;  // the entry put replaces the one under its old due time
      batch.outbox.push_back(std::move(*entry));
    }
  }
  const size_t n = batch.outbox.size();
  if (n > 0) {
    TANDEM_RETURN_IF_ERROR(apply(batch, state::Durability::Deferred));
  }
  return n;
}

Result<size_t> SyncEngine::releaseHanded() {
  size_t n = 0;
  for (auto& [system, h] : handed_) {
    std::vector<PushJob> jobs;
    jobs.reserve(h.jobs.size());
    for (auto& handed : h.jobs) {
      jobs.push_back(std::move(handed.job));
    }
    h.jobs.clear();
    h.room = 0;
    TANDEM_ASSIGN_OR_RETURN(size_t unmarked, unmarkUnsentCreates(system, jobs));
    n += unmarked;
  }
  handed_records_.clear();
  return n;
}

}  // namespace tandem::engine
