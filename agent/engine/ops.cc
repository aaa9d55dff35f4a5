// SyncEngine: operator actions (conflict resolution, dead-letter retry), one transaction each.

#include "agent/engine/engine.h"
#include "agent/engine/work_set.h"
#include "conflict/resolve.h"

namespace tandem::engine {

Status SyncEngine::resolveConflict(uint64_t conflict_id, const conflict::Value& chosen,
                                   std::string note) {
  const std::string where = "engine: resolve conflict " + std::to_string(conflict_id);
  state::Batch batch;
  {
    TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
    TANDEM_ASSIGN_OR_RETURN(auto entry, snap.conflict(conflict_id));
    if (!entry) {
      return fail(where + ": no such conflict");
    }
    if (!entry->open) {
      return fail(where + ": already closed");
    }
    const EntityConfig* ent = entity(entry->entity);
    if (ent == nullptr) {
      return fail(where + ": unknown entity \"" + entry->entity + "\"");
    }
    WorkSet ws(snap, *ent, config_.agent, clock_.nowMs());
    TANDEM_RETURN_IF_ERROR(ws.begin());
    auto loaded = ws.load(entry->record, false);
    if (!loaded) {
      return failWith(where, loaded.error());
    }
    conflict::MergeContext ctx = ws.context();
    auto resolved = conflict::resolveConflict(**loaded, *entry, chosen, std::move(note), ctx);
    if (!resolved) {
      return failWith(where, resolved.error());
    }
    ws.putConflict(std::move(*entry));
    ws.touch((*loaded)->record.id);
    TANDEM_RETURN_IF_ERROR(ws.finish(batch));
  }
  TANDEM_RETURN_IF_ERROR(apply(batch, state::Durability::Sync));
  return {};
}

Status SyncEngine::retryDeadLetter(ActorId system, const RecordId& record) {
  state::Batch batch;
  {
    TANDEM_ASSIGN_OR_RETURN(auto snap, store_.read());
    TANDEM_ASSIGN_OR_RETURN(auto dead, snap.deadLetter(system, record));
    if (!dead) {
      return fail("engine: retry dead letter " + record + " of system " + std::to_string(system) +
                  ": no such dead letter");
    }
    state::OutboxEntry e;
    e.system = system;
    e.record = record;
    e.due_ms = clock_.nowMs();
    e.kind = dead->kind;
    // A refused create was not applied: a fresh key, or a request-id cache replays the refusal.
    e.idempotency_key = dead->kind == state::PushKind::Create
                            ? idempotencyKey(record, system, static_cast<uint64_t>(e.due_ms))
                            : idempotencyKey(record, system);
    e.enqueued_ms = e.due_ms;
    batch.dead_letter_removals.push_back(state::SystemRecord{system, record});
    batch.outbox.push_back(std::move(e));
  }
  TANDEM_RETURN_IF_ERROR(apply(batch, state::Durability::Sync));
  return {};
}

}  // namespace tandem::engine
