#include "conflict/resolve.h"

#include "conflict/merge_internal.h"

namespace tandem::conflict {

namespace {

std::string where(const ConflictEntry& e) {
  return "resolve conflict " + std::to_string(e.id) + " (" + e.record + "." + e.field + ")";
}

}  // namespace

Result<ResolveResult> resolveConflict(RecordState& st, ConflictEntry& entry, const Value& chosen,
                                      std::string note, const MergeContext& ctx) {
  Record& rec = st.record;
  if (!entry.open) {
    return fail(where(entry) + ": already resolved");
  }
  if (entry.record != rec.id) {
    return fail(where(entry) + ": given record " + rec.id);
  }
  VersionVector all = entry.outcome_vv;
  for (const auto& side : entry.sides) {
    all.merge(side.vv);
  }
  if (entry.field == kDeleteField) {
    if (chosen.kind() != Value::Kind::Bool) {
      return fail(where(entry) + ": expected a bool (keep deleted?), got " +
                  kindName(chosen.kind()));
    }
    Tombstone& t = rec.tombstone;
    all.merge(t.vv);
    for (const auto& spec : ctx.systems) {
      if (st.shadows[spec.id]) {
        all.merge(st.shadows[spec.id]->tombstone.vv);
      }
    }
    t.vv = detail::agentOutcome(all, VersionVector{}, ctx);
    t.deleted = chosen.asBool();
    t.source = ctx.agent;
    t.ts_ms = ctx.now_ms;
    if (t.open_conflict == entry.id) {
      t.open_conflict = 0;
    }
    detail::syncTombstoneShadows(st, ctx);
    entry.outcome_vv = t.vv;
  } else {
    FieldState* cf = rec.fields.find(entry.field);
    if (cf == nullptr) {
      return fail(where(entry) + ": record has no field \"" + entry.field + "\"");
    }
    all.merge(cf->vv);
    for (const auto& spec : ctx.systems) {
      if (st.shadows[spec.id]) {
        if (const ShadowField* sf = st.shadows[spec.id]->fields.find(entry.field)) {
          all.merge(sf->vv);
        }
      }
    }
    cf->value = chosen;
    cf->vv = detail::agentOutcome(all, VersionVector{}, ctx);
    cf->source = ctx.agent;
    cf->source_ts_ms = ctx.now_ms;
    if (cf->open_conflict == entry.id) {
      cf->open_conflict = 0;
    }
    cf->last_conflict = 0;
    cf->prev_hash = 0;
    cf->flips = 0;
    cf->flip_window_start_ms = 0;
    detail::syncEqualShadows(st, entry.field, ctx);
    entry.outcome_vv = cf->vv;
  }
  entry.outcome = chosen;
  entry.open = false;
  entry.resolved_ms = ctx.now_ms;
  entry.note = std::move(note);
  return ResolveResult{detail::systemsNeedingPush(st, ctx)};
}

}  // namespace tandem::conflict
