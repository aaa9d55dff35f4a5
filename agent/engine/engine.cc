// SyncEngine: construction, identity helpers and ingest (one detector batch, one transaction).

#include "agent/engine/engine.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "agent/engine/work_set.h"

namespace tandem::engine {

int64_t defaultBackoffMs(uint32_t attempts, int64_t retry_after_ms) {
  int64_t delay = 500;
  for (uint32_t i = 1; i < attempts && delay < 60'000; ++i) {
    delay *= 2;
  }
  return std::max(std::min<int64_t>(delay, 60'000), retry_after_ms);
}

std::string idempotencyKey(const RecordId& record, ActorId system, uint64_t generation) {
  std::string key = record + "@" + std::to_string(system);
  if (generation != 0) {
    key += "." + std::to_string(generation);
  }
  return key;
}

std::optional<RecordId> recordOfIdempotencyKey(std::string_view key) {
  size_t at = key.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == key.size()) {
    return std::nullopt;
  }
  unsigned system = 0;
  auto tail = key.substr(at + 1);
  size_t dot = tail.find('.');
  if (dot != std::string_view::npos) {
    auto gen = tail.substr(dot + 1);
    uint64_t g = 0;
    auto [gp, gec] = std::from_chars(gen.data(), gen.data() + gen.size(), g);
    if (gen.empty() || gec != std::errc() || gp != gen.data() + gen.size()) {
      return std::nullopt;
    }
    tail = tail.substr(0, dot);
  }
  auto [ptr, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), system);
  if (ec != std::errc() || ptr != tail.data() + tail.size() || system >= conflict::kMaxActors) {
    return std::nullopt;
  }
  return RecordId(key.substr(0, at));
}

SyncEngine::SyncEngine(state::Store& store, agent::Clock& clock, EngineConfig config)
    : store_(store), clock_(clock), config_(std::move(config)) {
  rng_.seed(config_.id_seed ? *config_.id_seed : std::random_device{}());
}

Result<state::Applied> SyncEngine::apply(const state::Batch& batch, state::Durability durability) {
  TANDEM_ASSIGN_OR_RETURN(auto applied, store_.apply(batch, durability));
  if (!handed_records_.empty()) {
    for (const auto& r : batch.records) {
      auto it = handed_records_.find(r.id);
      if (it != handed_records_.end()) {
        it->second.changed = true;
      }
    }
  }
  return applied;
}

const EntityConfig* SyncEngine::entity(std::string_view name) const {
  for (const auto& e : config_.entities) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

// Time-ordered ids (48-bit ms timestamp, then 32 random bits): records created together sit
// together in every table keyed by record id, so an initial load appends to the right edge of
// the B-trees instead of dirtying a random page per record (bench_state_apply: increasing vs
// random ids). The random part keeps ids from two processes or a restored state apart; a
// collision is caught by the caller's existence check.
RecordId SyncEngine::freshId() {
  char buf[21];
  const auto ms = static_cast<unsigned long long>(clock_.nowMs()) & 0xffffffffffffULL;
  std::snprintf(buf, sizeof buf, "%012llx%08llx", ms,
                static_cast<unsigned long long>(rng_() & 0xffffffffULL));
  return RecordId(buf);
}

Result<std::optional<std::string>> SyncEngine::cursor(ActorId system,
                                                      const std::string& entity) const {
  TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
  return snap.cursor(system, entity);
}

namespace {

const std::string* matchValue(const Incoming& in, const std::string& key) {
  for (const auto& [k, v] : in.match_values) {
    if (k == key && !v.empty()) {
      return &v;
    }
  }
  return nullptr;
}

}  // namespace

Result<IngestResult> SyncEngine::ingest(ActorId system, const std::string& entity_name,
                                        std::vector<Incoming> records,
                                        std::optional<std::string> cursor) {
  const EntityConfig* entity = this->entity(entity_name);
  if (entity == nullptr) {
    return fail("engine: ingest from system " + std::to_string(system) + ": unknown entity \"" +
                entity_name + "\"");
  }
  if (specOf(*entity, system) == nullptr) {
    return fail("engine: ingest " + entity_name + ": system " + std::to_string(system) +
                " is not configured for this entity");
  }
  IngestResult out;
  state::Batch batch;
  HandOut hand;
  {
    TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
    WorkSet ws(snap, *entity, config_.agent, clock_.nowMs());
    for (const auto& [to, h] : handed_) {
      if (h.room > h.jobs.size()) {
        hand.room[to] = h.room - h.jobs.size();
      }
    }
    if (!hand.room.empty()) {
      ws.handOut(&hand);
    }
    TANDEM_RETURN_IF_ERROR(ws.begin());
    std::map<std::pair<std::string, std::string>, RecordId> batch_matches;
    for (auto& in : records) {
      if (in.native_id.empty()) {
        return fail("engine: ingest " + entity_name + " from system " + std::to_string(system) +
                    ": record with an empty native id");
      }
      in.report.system = system;
      // Nothing below links this native id before addLink(): the lookup serves both uses.
      TANDEM_ASSIGN_OR_RETURN(const std::optional<RecordId> linked,
                              ws.linkedRecord(system, in.native_id));
      std::optional<RecordId> id = linked;
      if (!id && !in.idempotency_key.empty()) {
        // The create tandem sent carried this key: the record is ours even if its link was lost.
        std::optional<RecordId> keyed = recordOfIdempotencyKey(in.idempotency_key);
        if (keyed) {
          TANDEM_ASSIGN_OR_RETURN(auto native, ws.nativeId(*keyed, system));
          auto loaded = ws.load(*keyed, false);
          if (!native && loaded) {
            id = keyed;
          }
        }
      }
      for (const auto& key : entity->match_keys) {
        if (id) {
          break;
        }
        const std::string* v = matchValue(in, key);
        if (v == nullptr) {
          continue;
        }
        std::optional<RecordId> found;
        auto bm = batch_matches.find({key, *v});
        if (bm != batch_matches.end()) {
          found = bm->second;
        } else {
          TANDEM_ASSIGN_OR_RETURN(found, snap.match(entity->name, key, *v));
        }
        if (found) {
          // The same person already linked to another record of this system is someone else.
          TANDEM_ASSIGN_OR_RETURN(auto native, ws.nativeId(*found, system));
          if (!native) {
            id = found;
          }
        }
      }
      if (!id) {
        for (int tries = 0; !id; ++tries) {
          RecordId fresh = freshId();
          TANDEM_ASSIGN_OR_RETURN(auto existing, snap.record(fresh));
          if (!existing && !ws.isNew(fresh)) {
            id = fresh;
          } else if (tries > 8) {
            return fail("engine: no free record id after 8 tries");
          }
        }
        ++out.new_records;
      }
      if (!linked) {
        ws.addLink(system, in.native_id, *id);
      }
      // Most reports of a linked record show what tandem already knows the system holds (the
      // echo of its own create or update, a re-read): only that system's shadow is loaded and
      // its updated time and version token refreshed, as the merge would.
      bool refreshed = false;
      if (linked) {
        TANDEM_ASSIGN_OR_RETURN(conflict::Shadow * lone, ws.loneShadow(system, *id));
        if (lone != nullptr && conflict::reportOnlyRefreshes(*lone, in.report)) {
          if (conflict::refreshShadow(*lone, in.report)) {
            ws.touchLone(system, *id);
          }
          refreshed = true;
        }
      }
      if (!refreshed) {
        TANDEM_ASSIGN_OR_RETURN(conflict::RecordState * st, ws.load(*id, true));
        if (in.doubtful && linked && conflict::reportChangesRecord(*st, in.report)) {
          // Perhaps a read from before tandem's own write, or older than another read already
          // merged: merged, the value that write (or that newer version) replaced would count as
          // a person's edit and win (a lost edit). Read again instead.
          out.reread.push_back(in.native_id);
          continue;
        }
        conflict::MergeContext ctx = ws.context();
        TANDEM_ASSIGN_OR_RETURN(conflict::MergeResult merged,
                                conflict::mergeReport(*st, in.report, ctx));
        TANDEM_ASSIGN_OR_RETURN(size_t added, ws.foldConflicts(merged));
        out.conflicts += added;
        if (merged.changed || !linked) {
          ws.touch(*id);
        }
      }
      // A report that only refreshes holds the values of the shadow, whose match keys were
      // stored when those values were first taken in (from this system, or from the one whose
      // record tandem pushed here): nothing to look up.
      if (refreshed) {
        continue;
      }
      for (const auto& key : entity->match_keys) {
        const std::string* v = matchValue(in, key);
        if (v == nullptr) {
          continue;
        }
        auto [it, inserted] = batch_matches.emplace(std::make_pair(key, *v), *id);
        if (inserted) {
          TANDEM_ASSIGN_OR_RETURN(auto stored, snap.match(entity->name, key, *v));
          if (!stored) {
            batch.match_keys.push_back(state::MatchKey{entity->name, key, *v, *id});
          }
        }
      }
    }
    TANDEM_ASSIGN_OR_RETURN(out.pushes_queued, ws.finish(batch));
    for (const auto& r : batch.records) {
      if (!ws.isNew(r.id)) {
        ++out.updated_records;
      }
    }
    if (cursor) {
      batch.cursors.push_back(state::CursorPut{system, entity->name, std::move(*cursor)});
    }
  }  // the snapshot ends before the write
  // Deferred durability: lost to a power failure with its cursor, the batch is read again.
  TANDEM_ASSIGN_OR_RETURN(auto applied, apply(batch, state::Durability::Deferred));
  (void)applied;
  for (auto& [to, h] : hand.jobs) {
    ++handed_records_[h.job.record].jobs;
    handed_[to].jobs.push_back(std::move(h));  // only once their marks are committed
  }
  return out;
}

}  // namespace tandem::engine
