// Deletes are edits of a tombstone pseudo-field with its own clock (DESIGN.md "Merge core").
// A delete concurrent with an update is a conflict settled by the entity's delete policy, with
// a conflict entry on field kDeleteField (CONVERGENCE.md case 15).

#include <algorithm>

#include "conflict/merge_internal.h"

namespace tandem::conflict::detail {

namespace {

PolicyKind kindOf(DeletePolicy p) {
  switch (p) {
    case DeletePolicy::Prefer:
      return PolicyKind::Prefer;
    case DeletePolicy::Manual:
      return PolicyKind::Manual;
    default:
      return PolicyKind::Lww;
  }
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out += n;
  }
  return out;
}

// Settles a delete against concurrent updates; `updates` holds one side per updating system.
void settleDelete(RecordState& st, const ConflictSide& deleter,
                  const std::vector<ConflictSide>& updates, const std::vector<std::string>& fields,
                  const MergeContext& ctx, MergeResult& out) {
  Record& rec = st.record;
  Tombstone& t = rec.tombstone;
  std::vector<ActorId> updaters;
  VersionVector all = VersionVector::merged(t.vv, deleter.vv);
  for (const auto& u : updates) {
    updaters.push_back(u.system);
    all.merge(u.vv);
  }
  DeleteOutcome outcome = applyDeletePolicy(ctx.policy, deleter.system, updaters);
  ConflictEntry e = newEntry(rec, kDeleteField, kindOf(ctx.policy.on_delete_conflict), ctx);
  e.sides.push_back(deleter);
  e.sides.insert(e.sides.end(), updates.begin(), updates.end());
  std::string what = "delete by actor " + std::to_string(deleter.system) + " vs update" +
                     (fields.empty() ? std::string() : " of " + joined(fields)) + ": ";
  if (outcome == DeleteOutcome::Held) {
    t.open_conflict = e.id;
    e.open = true;
    e.outcome = Value::boolean(t.deleted);
    e.outcome_vv = t.vv;
    e.note = what + "held until resolved (manual)";
  } else {
    bool deleted = outcome == DeleteOutcome::DeleteWins;
    t.vv = agentOutcome(all, VersionVector{}, ctx);
    t.deleted = deleted;
    t.source = ctx.agent;
    t.ts_ms = ctx.now_ms;
    e.outcome = Value::boolean(deleted);
    e.outcome_vv = t.vv;
    e.note = what + (deleted ? "delete wins" : "update wins, record revived") + " (" +
             deletePolicyName(ctx.policy.on_delete_conflict) + ")";
    syncTombstoneShadows(st, ctx);
  }
  out.new_conflicts.push_back(std::move(e));
}

}  // namespace

void mergeTombstone(RecordState& st, Shadow& sh, const Report& report, const MergeContext& ctx,
                    MergeResult& out) {
  if (!report.deleted) {
    return;
  }
  bool deleted = *report.deleted;
  uint64_t h = flagHash(deleted);
  ShadowField& sf = sh.tombstone;
  if (sf.hash == h) {
    return;
  }
  out.changed = true;
  if (confirmPending(sf, h)) {
    return;
  }
  Tombstone& t = st.record.tombstone;
  const VersionVector base = sf.vv;
  if (!deleted && t.deleted && sf.hash == 0 && base.empty()) {
    // The first word from this system about the record's life, and it still holds it: the
    // delete has not reached it yet. Not an undelete; the delete gets pushed to it.
    sf.hash = h;
    return;
  }
  if (deleted == t.deleted) {
    sf.hash = h;
    t.vv.merge(base);
    sf.vv = t.vv;
    return;
  }
  VersionVector vnew = base;
  vnew.set(report.system, ctx.clock.tick(report.system, static_cast<uint64_t>(ctx.now_ms)));
  sf.hash = h;
  sf.vv = vnew;
  if (t.open_conflict != 0) {
    return;  // held for review: the record stays as it is until resolved
  }
  bool seen = base.descends(t.vv);
  ConflictSide mine{report.system, Value::boolean(deleted), vnew, report.source_ts_ms};
  if (!deleted) {
    if (seen) {
      t = Tombstone{false, vnew, report.system, report.source_ts_ms, 0};
      syncTombstoneShadows(st, ctx);
      return;
    }
    // Undeleted here while deleted elsewhere, neither having seen the other.
    ConflictSide deleter{t.source, Value::boolean(true), t.vv, t.ts_ms};
    settleDelete(st, deleter, {mine}, {}, ctx, out);
    return;
  }
  // A delete: concurrent with every update of a field this system maps but had not seen.
  std::vector<ConflictSide> updates;
  std::vector<std::string> fields;
  for (const auto& [name, shf] : sh.fields) {
    const FieldState* cf = st.record.fields.find(name);
    if (cf == nullptr || cf->vv.empty() || shf.hash == cf->value.hash() ||
        shf.vv.descends(cf->vv)) {
      continue;
    }
    fields.push_back(name);
    auto known = std::find_if(updates.begin(), updates.end(),
                              [&](const ConflictSide& u) { return u.system == cf->source; });
    if (known == updates.end()) {
      updates.push_back(ConflictSide{cf->source, Value::boolean(false), cf->vv, cf->source_ts_ms});
    } else {
      known->vv.merge(cf->vv);
      known->ts_ms = std::max(known->ts_ms, cf->source_ts_ms);
    }
  }
  if (!seen && updates.empty()) {
    updates.push_back(ConflictSide{t.source, Value::boolean(false), t.vv, t.ts_ms});
  }
  if (updates.empty()) {
    t = Tombstone{true, vnew, report.system, report.source_ts_ms, 0};
    syncTombstoneShadows(st, ctx);
    return;
  }
  settleDelete(st, mine, updates, fields, ctx, out);
}

void updateAgainstDelete(RecordState& st, const ConflictSide& update, std::string_view field,
                         const MergeContext& ctx, MergeResult& out) {
  const Tombstone& t = st.record.tombstone;
  ConflictSide deleter{t.source, Value::boolean(true), t.vv, t.ts_ms};
  ConflictSide updater{update.system, Value::boolean(false), update.vv, update.ts_ms};
  settleDelete(st, deleter, {updater}, {std::string(field)}, ctx, out);
}

}  // namespace tandem::conflict::detail
