#include "conflict/merge.h"

#include <algorithm>
#include <array>
#include <utility>

#include "conflict/merge_internal.h"

namespace tandem::conflict {

namespace {

using detail::agentOutcome;

// The reported side of one field edit, by reference: copied into a ConflictSide only when an
// entry is written, so the common path does not copy values.
struct Reported {
  ActorId system;
  const Value& value;
  const VersionVector& vv;
  int64_t ts_ms;

  ConflictSide side() const { return ConflictSide{system, value, vv, ts_ms}; }
};

// Sets the canonical value and tracks flips back to the previous value (case 3).
void setValue(FieldState& cf, Value value, const VersionVector& vv, ActorId source, int64_t ts,
              const MergeContext& ctx) {
  uint64_t old_hash = cf.value.hash();
  uint64_t new_hash = value.hash();
  if (new_hash != old_hash) {
    if (new_hash == cf.prev_hash) {
      if (cf.flips == 0 || ctx.now_ms - cf.flip_window_start_ms > kFlipWindowMs) {
        cf.flips = 0;
        cf.flip_window_start_ms = ctx.now_ms;
      }
      ++cf.flips;
    }
    cf.prev_hash = old_hash;
  }
  cf.value = std::move(value);
  cf.vv = vv;
  cf.source = source;
  cf.source_ts_ms = ts;
}

void freezeIfOscillating(const Record& rec, std::string_view name, FieldState& cf,
                         const Reported& reported, const MergeContext& ctx, MergeResult& out) {
  if (cf.flips <= kMaxFlips || cf.open_conflict != 0) {
    return;
  }
  ConflictEntry e = detail::newEntry(rec, name, ctx.policy.forField(name).kind, ctx);
  e.sides.push_back(ConflictSide{cf.source, cf.value, cf.vv, cf.source_ts_ms});
  if (reported.system != cf.source || !(reported.value == cf.value)) {
    e.sides.push_back(reported.side());
  }
  e.outcome = cf.value;
  e.outcome_vv = cf.vv;
  e.open = true;
  e.note = "frozen: value oscillated " + std::to_string(cf.flips) + " times in " +
           std::to_string(kFlipWindowMs / 1000) + " s; not pushed until resolved";
  cf.open_conflict = e.id;
  out.new_conflicts.push_back(std::move(e));
}

// Two concurrent values of one field: the policy decides, the outcome dominates both sides, and
// the conflict log gets a new entry or the field's current episode gets one more side.
void mergeConcurrent(Record& rec, std::string_view name, FieldState& cf, const Reported& reported,
                     const MergeContext& ctx, MergeResult& out) {
  const PolicySpec& spec = ctx.policy.forField(name);
  ConflictSide canonical{cf.source, cf.value, cf.vv, cf.source_ts_ms};
  Candidate a{&canonical.value, canonical.system, canonical.ts_ms};
  Candidate b{&reported.value, reported.system, reported.ts_ms};
  PolicyOutcome po = applyPolicy(spec, ctx.policy, a, b);
  VersionVector ovv = agentOutcome(cf.vv, reported.vv, ctx);

  if (po.pick == PolicyOutcome::Pick::Held) {
    cf.vv = ovv;
    ConflictEntry e = detail::newEntry(rec, name, spec.kind, ctx);
    e.sides = {canonical, reported.side()};
    e.outcome = cf.value;
    e.outcome_vv = ovv;
    e.open = true;
    e.note = "held at the last agreed value until resolved (manual)";
    cf.open_conflict = e.id;
    cf.last_conflict = e.id;
    out.new_conflicts.push_back(std::move(e));
    return;
  }
  switch (po.pick) {
    case PolicyOutcome::Pick::First:
      cf.vv = ovv;
      break;
    case PolicyOutcome::Pick::Second:
      setValue(cf, reported.value, ovv, reported.system, reported.ts_ms, ctx);
      break;
    default:  // Merged
      setValue(cf, std::move(po.merged), ovv, ctx.agent, std::max(a.ts_ms, b.ts_ms), ctx);
      break;
  }
  if (cf.last_conflict != 0) {
    ConflictEntry e = detail::amendmentOf(rec, name, cf.last_conflict, spec.kind, ctx);
    e.sides = {reported.side()};
    e.outcome = cf.value;
    e.outcome_vv = cf.vv;
    out.amendments.push_back(std::move(e));
  } else {
    ConflictEntry e = detail::newEntry(rec, name, spec.kind, ctx);
    e.sides = {canonical, reported.side()};
    e.outcome = cf.value;
    e.outcome_vv = cf.vv;
    e.note = std::string("settled by policy ") + policyName(spec.kind);
    cf.last_conflict = e.id;
    out.new_conflicts.push_back(std::move(e));
  }
  freezeIfOscillating(rec, name, cf, reported, ctx, out);
}

struct FieldReport {
  ActorId system;
  std::string_view name;
  const Value& value;
  uint64_t hash;  // value.hash()
  int64_t ts_ms;
};

void mergeField(RecordState& st, Shadow& sh, const FieldReport& fr, const MergeContext& ctx,
                MergeResult& out, bool& delete_checked) {
  Record& rec = st.record;
  const uint64_t h = fr.hash;
  ShadowField* sf = sh.fields.find(fr.name);
  if (sf != nullptr && sf->hash == h) {
    return;  // nothing happened in the system: unchanged, an echo, or a stale returner
  }
  out.changed = true;
  if (sf != nullptr && detail::confirmPending(*sf, h)) {
    return;  // our own write showing up (even after its answer was lost)
  }
  if (fr.value.isNull() && (sf == nullptr || (sf->hash == 0 && sf->vv.empty()))) {
    // The system shows no value for a field it never showed one for (at most a write of tandem's
    // is pending there): nothing was edited. (A record tandem created there before the field had
    // a value, or one a person made there that matched by key without it.) It lacks the
    // canonical value, if any, and gets it; taken as an edit, the empty value would have been
    // concurrent with the value and, under a manual policy, held it back from there for good.
    sh.fields[fr.name].hash = h;
    return;
  }
  // The first value the system shows for a field: tandem's own create may have put it there (a
  // mapping's default_on_create, such as a CRM lifecycle stage), which the echo then shows.
  const bool first_value = sf == nullptr || (sf->hash == 0 && sf->vv.empty());
  if (sf == nullptr) {
    sf = &sh.fields[fr.name];
  }
  const VersionVector base = sf->vv;
  FieldState* cf = rec.fields.find(fr.name);
  if (cf != nullptr ? cf->value == fr.value : fr.value.isNull()) {
    sf->hash = h;  // the system holds the canonical value, so it has seen C(f)
    if (cf != nullptr) {
      cf->vv.merge(base);
      sf->vv = cf->vv;
    }
    return;
  }
  VersionVector vnew = base;
  vnew.set(fr.system, ctx.clock.tick(fr.system, static_cast<uint64_t>(ctx.now_ms)));
  sf->hash = h;
  sf->vv = vnew;
  Reported reported{fr.system, fr.value, vnew, fr.ts_ms};

  // An edit the delete had not seen is concurrent with it, and the delete policy decides (case
  // 15). A first value is no such sign: reviving a deleted record because the echo of tandem's
  // own create showed the defaults it wrote would undo a person's delete.
  const Tombstone& t = rec.tombstone;
  if (t.deleted && !delete_checked && t.open_conflict == 0 && !first_value &&
      !sh.tombstone.vv.descends(t.vv)) {
    delete_checked = true;
    detail::updateAgainstDelete(st, reported.side(), fr.name, ctx, out);
  }
  if (cf == nullptr) {
    cf = &rec.fields[fr.name];
  }
  if (cf->open_conflict != 0) {
    // Held (manual or frozen): the value stays; the edit joins the open conflict.
    ConflictEntry e = detail::amendmentOf(rec, fr.name, cf->open_conflict,
                                          ctx.policy.forField(fr.name).kind, ctx);
    e.sides = {reported.side()};
    e.outcome = cf->value;
    e.outcome_vv = cf->vv;
    e.open = true;
    out.amendments.push_back(std::move(e));
    return;
  }
  if (base.descends(cf->vv)) {
    // The system had seen the current value: its change wins outright.
    setValue(*cf, fr.value, vnew, fr.system, fr.ts_ms, ctx);
    cf->last_conflict = 0;
    freezeIfOscillating(rec, fr.name, *cf, reported, ctx, out);
  } else {
    mergeConcurrent(rec, fr.name, *cf, reported, ctx, out);
  }
  detail::syncEqualShadows(st, fr.name, ctx);
}

const SystemSpec* findSystem(const MergeContext& ctx, ActorId id) {
  for (const auto& s : ctx.systems) {
    if (s.id == id) {
      return &s;
    }
  }
  return nullptr;
}

}  // namespace

Result<MergeResult> mergeReport(RecordState& st, const Report& report, const MergeContext& ctx) {
  if (report.system >= kMaxActors || report.system == ctx.agent ||
      findSystem(ctx, report.system) == nullptr) {
    return fail("merge: record " + st.record.id + ": report from actor " +
                std::to_string(report.system) + ", which is not a configured system");
  }
  MergeResult out;
  auto& slot = st.shadows[report.system];
  if (!slot) {
    slot.emplace();
    out.changed = true;
  }
  Shadow& sh = *slot;
  if (report.source_ts_ms < sh.source_ts_ms) {
    // Older than what we already know from this system (a delayed or repeated report).
    out.push_to = detail::systemsNeedingPush(st, ctx);
    return out;
  }
  if (refreshShadow(sh, report)) {
    out.changed = true;
  }
  detail::mergeTombstone(st, sh, report, ctx, out);
  // Most reported fields are unchanged: find the others in one walk over both sorted maps,
  // then merge them (merging may add shadow fields, so not during the walk).
  constexpr size_t kOnStack = 64;
  std::array<std::pair<const FieldMap<Value>::Entry*, uint64_t>, kOnStack> changed;
  size_t n_changed = 0;
  bool walked = report.fields.size() <= kOnStack;
  if (walked) {
    auto sit = sh.fields.begin();
    for (const auto& entry : report.fields) {
      while (sit != sh.fields.end() && sit->first < entry.first) {
        ++sit;
      }
      uint64_t h = entry.second.hash();
      if (sit == sh.fields.end() || sit->first != entry.first || sit->second.hash != h) {
        changed[n_changed++] = {&entry, h};
      }
    }
  }
  bool delete_checked = false;
  if (walked) {
    for (size_t i = 0; i < n_changed; ++i) {
      const auto& [entry, h] = changed[i];
      mergeField(st, sh,
                 FieldReport{report.system, entry->first, entry->second, h, report.source_ts_ms},
                 ctx, out, delete_checked);
    }
  } else {
    for (const auto& [name, value] : report.fields) {
      mergeField(st, sh, FieldReport{report.system, name, value, value.hash(), report.source_ts_ms},
                 ctx, out, delete_checked);
    }
  }
  out.push_to = detail::systemsNeedingPush(st, ctx);
  return out;
}

bool reportOnlyRefreshes(const Shadow& sh, const Report& report) {
  if (report.source_ts_ms < sh.source_ts_ms) {
    return false;  // mergeReport's older-report path
  }
  if (report.deleted && sh.tombstone.hash != detail::flagHash(*report.deleted)) {
    return false;
  }
  // Both maps are sorted by name: one walk.
  auto sit = sh.fields.begin();
  for (const auto& [name, value] : report.fields) {
    while (sit != sh.fields.end() && sit->first < name) {
      ++sit;
    }
    if (sit == sh.fields.end() || sit->first != name || sit->second.hash != value.hash()) {
      return false;
    }
  }
  return true;
}

bool refreshShadow(Shadow& sh, const Report& report) {
  if (report.source_ts_ms == sh.source_ts_ms && report.version_token == sh.version_token) {
    return false;
  }
  sh.source_ts_ms = report.source_ts_ms;
  sh.version_token = report.version_token;
  return true;
}

bool reportChangesRecord(const RecordState& st, const Report& report) {
  if (report.system >= kMaxActors || !st.shadows[report.system]) {
    return true;
  }
  const Shadow& sh = *st.shadows[report.system];
  auto known = [](const ShadowField& sf, uint64_t h) {
    return sf.hash == h || std::any_of(sf.pending.begin(), sf.pending.end(),
                                       [h](const PendingWrite& p) { return p.hash == h; });
  };
  for (const auto& [name, value] : report.fields) {
    const ShadowField* sf = sh.fields.find(name);
    if (sf != nullptr && known(*sf, value.hash())) {
      continue;
    }
    const FieldState* cf = st.record.fields.find(name);
    if (cf != nullptr ? cf->value == value : value.isNull()) {
      continue;
    }
    return true;
  }
  if (report.deleted && !known(sh.tombstone, Value::boolean(*report.deleted).hash()) &&
      st.record.tombstone.deleted != *report.deleted) {
    return true;
  }
  return false;
}

}  // namespace tandem::conflict
