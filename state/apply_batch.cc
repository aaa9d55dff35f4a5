#include "state/apply_batch.h"

#include <array>
#include <map>
#include <optional>

#include "conflict/codec.h"
#include "state/keys.h"
#include "state/row.h"

namespace tandem::state {

namespace {

std::unexpected<Error> invalid(const std::string& what) {
  return fail("state: apply: " + what);
}

Status checkSystem(ActorId system, const char* what, std::string_view id) {
  if (system >= conflict::kMaxActors) {
    return invalid(std::string(what) + " " + keys::formatRaw(id) + ": system " +
                   std::to_string(system) + " out of range (max " +
                   std::to_string(conflict::kMaxActors - 1) + ")");
  }
  if (id.empty()) {
    return invalid(std::string(what) + " with an empty record id");
  }
  return {};
}

class Writer {
 public:
  Writer(lmdb::WriteTxn& txn, const Tables& t) : txn_(txn), t_(t) {}

  Status actor(const std::string& name, ActorId id) {
    if (name.empty() || id >= conflict::kMaxActors) {
      return invalid("actor " + keys::formatRaw(name) + " id " + std::to_string(id) +
                     " is not valid");
    }
    std::string by_name = std::string(kMetaActorByName) + name;
    std::string by_id = std::string(kMetaActorById) + static_cast<char>(id);
    TANDEM_ASSIGN_OR_RETURN(auto old_id, txn_.get(t_.meta, by_name));
    if (old_id && *old_id != std::string(1, static_cast<char>(id))) {
      return invalid("actor " + keys::formatRaw(name) + " is already id " +
                     std::to_string(static_cast<uint8_t>((*old_id)[0])) + ", cannot become " +
                     std::to_string(id));
    }
    TANDEM_ASSIGN_OR_RETURN(auto old_name, txn_.get(t_.meta, by_id));
    if (old_name && *old_name != name) {
      return invalid("actor id " + std::to_string(id) + " already belongs to " +
                     keys::formatRaw(*old_name) + ", cannot name it " + keys::formatRaw(name));
    }
    TANDEM_RETURN_IF_ERROR(txn_.put(t_.meta, by_name, std::string(1, static_cast<char>(id))));
    return txn_.put(t_.meta, by_id, name);
  }

  Status link(const Link& l) {
    TANDEM_RETURN_IF_ERROR(checkSystem(l.system, "link", l.record));
    if (l.native_id.empty()) {
      return invalid("link of " + keys::formatRaw(l.record) + ": empty native id");
    }
    // Each side is read and written in one descent; the entry it replaces, if it named
    // another record (or another native id), loses its other side. Neither removal can hit
    // the key just written: each is of a different record (native id) than this link's.
    std::optional<std::string> old_record;
    TANDEM_RETURN_IF_ERROR(txn_.putIfChanged(t_.links, keys::systemRecord(l.system, l.native_id),
                                             l.record, &old_record));
    if (old_record && *old_record != l.record) {
      TANDEM_RETURN_IF_ERROR(
          txn_.del(t_.links_by_record, keys::recordSystem(*old_record, l.system)));
    }
    std::optional<std::string> old_native;
    TANDEM_RETURN_IF_ERROR(txn_.putIfChanged(
        t_.links_by_record, keys::recordSystem(l.record, l.system), l.native_id, &old_native));
    if (old_native && *old_native != l.native_id) {
      TANDEM_RETURN_IF_ERROR(txn_.del(t_.links, keys::systemRecord(l.system, *old_native)));
    }
    return {};
  }

  Status unlink(ActorId system, std::string_view native_id) {
    std::string fwd = keys::systemRecord(system, native_id);
    TANDEM_ASSIGN_OR_RETURN(auto record, getCopy(t_.links, fwd));
    if (!record) {
      return {};
    }
    std::string rev = keys::recordSystem(*record, system);
    TANDEM_ASSIGN_OR_RETURN(auto native, getCopy(t_.links_by_record, rev));
    if (native && *native == native_id) {
      TANDEM_RETURN_IF_ERROR(txn_.del(t_.links_by_record, rev));
    }
    TANDEM_RETURN_IF_ERROR(txn_.del(t_.links, fwd));
    return {};
  }

  Status removeOutbox(ActorId system, std::string_view record) {
    std::string idx = keys::systemRecord(system, record);
    TANDEM_ASSIGN_OR_RETURN(auto due, outboxDue(txn_, t_, idx));
    if (!due) {
      return {};
    }
    TANDEM_RETURN_IF_ERROR(txn_.del(t_.outbox, keys::outbox(*due, system, record)));
    TANDEM_RETURN_IF_ERROR(txn_.del(t_.outbox_index, idx));
    return {};
  }

  Status outbox(const OutboxEntry& e) {
    TANDEM_RETURN_IF_ERROR(checkSystem(e.system, "outbox entry", e.record));
    if (e.due_ms < 0) {
      return invalid("outbox entry " + std::to_string(e.system) + "," + keys::formatRaw(e.record) +
                     ": due time " + std::to_string(e.due_ms) + " is negative");
    }
    if (e.kind > PushKind::Archive) {
      return invalid("outbox entry " + std::to_string(e.system) + "," + keys::formatRaw(e.record) +
                     ": push kind " + std::to_string(static_cast<int>(e.kind)) + " out of range");
    }
    // An entry filed again: the old key goes when its due time changes, the index entry is
    // written over (the refill's "sent" mark moves every create it hands out).
    std::string idx = keys::systemRecord(e.system, e.record);
    TANDEM_ASSIGN_OR_RETURN(auto old_due, outboxDue(txn_, t_, idx));
    const auto due = static_cast<uint64_t>(e.due_ms);
    if (old_due && *old_due != due) {
      TANDEM_RETURN_IF_ERROR(txn_.del(t_.outbox, keys::outbox(*old_due, e.system, e.record)));
    }
    TANDEM_RETURN_IF_ERROR(
        txn_.put(t_.outbox, keys::outbox(due, e.system, e.record), encodeOutboxValue(e)));
    if (old_due == due) {
      return {};
    }
    return txn_.put(t_.outbox_index, idx, keys::be64(due));
  }

  Status loadNextConflict() {
    if (next_conflict_ != 0) {
      return {};
    }
    TANDEM_ASSIGN_OR_RETURN(auto stored, txn_.get(t_.meta, kMetaNextConflict));
    next_conflict_ = 1;
    if (stored) {
      std::string_view v = *stored;
      auto n = keys::takeBe64(v);
      if (!n) {
        return fail("state: meta[\"next_conflict_id\"]: " + n.error().message);
      }
      next_conflict_ = *n;
    }
    return {};
  }

  // The merge core hands out conflict ids from its own sequence (MergeContext::conflict_seq),
  // seeded from Snapshot::conflictSeq(); ids up to `seq` become assignable in this batch.
  Status reserveConflictIds(uint64_t seq) {
    TANDEM_RETURN_IF_ERROR(loadNextConflict());
    if (seq >= next_conflict_) {
      next_conflict_ = seq + 1;
      assigned_ = true;
    }
    return {};
  }

  Result<uint64_t> conflict(const conflict::ConflictEntry& in) {
    if (in.record.empty()) {
      return invalid("conflict with an empty record id");
    }
    TANDEM_RETURN_IF_ERROR(loadNextConflict());
    uint64_t id = in.id;
    if (id == 0) {
      id = next_conflict_++;
      assigned_ = true;
    } else if (id >= next_conflict_) {
      return invalid("conflict " + std::to_string(id) + " on " + keys::formatRaw(in.record) +
                     " was never assigned (next id " + std::to_string(next_conflict_) + ")");
    }
    std::string key = keys::be64(id);
    if (in.id == 0) {
      TANDEM_RETURN_IF_ERROR(txn_.put(t_.conflicts, key, encodeWithId(in, id)));
    } else {
      TANDEM_RETURN_IF_ERROR(txn_.put(t_.conflicts, key, conflict::encodeConflict(in)));
    }
    if (in.open) {
      TANDEM_RETURN_IF_ERROR(txn_.put(t_.conflicts_open, key, ""));
    } else {
      TANDEM_RETURN_IF_ERROR(txn_.del(t_.conflicts_open, key));
    }
    TANDEM_RETURN_IF_ERROR(txn_.put(t_.conflicts_by_rec, keys::recordConflict(in.record, id), ""));
    return id;
  }

  Status finish() {
    if (assigned_) {
      return txn_.put(t_.meta, kMetaNextConflict, keys::be64(next_conflict_));
    }
    return {};
  }

 private:
  Result<std::optional<std::string>> getCopy(const lmdb::Dbi& dbi, std::string_view key) {
    TANDEM_ASSIGN_OR_RETURN(auto v, txn_.get(dbi, key));
    if (!v) {
      return std::nullopt;
    }
    return std::string(*v);
  }

  static std::string encodeWithId(const conflict::ConflictEntry& in, uint64_t id) {
    conflict::ConflictEntry c = in;
    c.id = id;
    return conflict::encodeConflict(c);
  }

  lmdb::WriteTxn& txn_;
  const Tables& t_;
  uint64_t next_conflict_ = 0;  // 0: not loaded yet
  bool assigned_ = false;
};

// What a batch changes of one row: applied as the store's members are, removals first.
struct RowChange {
  bool remove_record = false;  // the stored row goes, its shadows with it
  const conflict::Record* record = nullptr;
  uint32_t shadow_removals = 0;  // bit s: system s's stored shadow goes
  std::array<const conflict::Shadow*, conflict::kMaxActors> shadows{};
};

// Writes one row: the batch's record or the stored one, the batch's shadows written against it,
// and the stored shadows the batch keeps (copied when the record is unchanged, else decoded
// against the old record and written again against the new).
Status applyRow(lmdb::WriteTxn& txn, const Tables& t, std::string_view id, const RowChange& c,
                conflict::NameTable& names) {
  // Read and written in one descent (nothing else writes the records table meanwhile).
  TANDEM_ASSIGN_OR_RETURN(lmdb::WriteTxn::Place at, txn.find(t.records, id));
  static const std::string kNone;
  // The place's own copy: a write in this transaction may move the page the value lies in.
  const std::string& stored = at.value && !c.remove_record ? *at.value : kNone;
  RowView old;
  if (!stored.empty()) {
    auto parsed = parseRow(stored);
    if (!parsed) {
      return storedError(t.records, id, parsed.error());
    }
    old = *parsed;
  }
  uint32_t puts = 0;
  for (size_t s = 0; s < conflict::kMaxActors; ++s) {
    puts |= c.shadows[s] != nullptr ? 1u << s : 0;
  }
  const uint32_t keep = old.systems & ~c.shadow_removals & ~puts;
  std::string record;
  if (c.record != nullptr) {
    TANDEM_ASSIGN_OR_RETURN(record, conflict::encodeRecord(*c.record, names));
  } else {
    record = std::string(old.record);
  }
  if (record.empty()) {
    if (puts != 0) {
      return invalid("shadow of record " + keys::formatRaw(id) + ", which is not stored");
    }
    if (at.value) {
      TANDEM_RETURN_IF_ERROR(txn.del(t.records, id));
    }
    return {};
  }
  const bool same_record = !stored.empty() && record == old.record;
  std::array<std::string, conflict::kMaxActors> shadows;
  if ((puts | keep) != 0) {
    auto base = c.record != nullptr
                    ? Result<conflict::ShadowBase>(conflict::ShadowBase::of(*c.record))
                    : conflict::ShadowBase::read(old.record, &names);
    if (!base) {
      return storedError(t.records, id, base.error());
    }
    std::optional<conflict::ShadowBase> old_base;
    if (keep != 0 && !same_record) {
      auto read = conflict::ShadowBase::read(old.record, &names);
      if (!read) {
        return storedError(t.records, id, read.error());
      }
      old_base = std::move(*read);
    }
    for (size_t s = 0; s < conflict::kMaxActors; ++s) {
      if ((puts >> s & 1u) != 0) {
        TANDEM_ASSIGN_OR_RETURN(shadows[s],
                                conflict::encodeShadowAgainst(*c.shadows[s], *base, names));
      } else if ((keep >> s & 1u) != 0 && same_record) {
        shadows[s] = std::string(old.shadows[s]);
      } else if ((keep >> s & 1u) != 0) {
        auto shadow = decodeRowShadowOf(old, s, *old_base, &names);
        if (!shadow) {
          return storedError(t.records, id, shadow.error());
        }
        TANDEM_ASSIGN_OR_RETURN(shadows[s], conflict::encodeShadowAgainst(*shadow, *base, names));
      }
    }
  }
  TANDEM_RETURN_IF_ERROR(txn.putIfChanged(at, assembleRow(record, shadows, puts | keep)));
  return {};
}

Status applyRows(lmdb::WriteTxn& txn, const Tables& t, const Batch& b, conflict::NameTable& names) {
  if (b.record_removals.empty() && b.records.empty() && b.shadow_removals.empty() &&
      b.shadows.empty()) {
    return {};
  }
  std::map<std::string_view, RowChange> rows;
  for (const auto& id : b.record_removals) {
    RowChange& c = rows[id];
    c = RowChange{};
    c.remove_record = true;
  }
  for (const auto& r : b.records) {
    if (r.id.empty()) {
      return invalid("record with an empty id");
    }
    rows[r.id].record = &r;
  }
  for (const auto& s : b.shadow_removals) {
    TANDEM_RETURN_IF_ERROR(checkSystem(s.system, "shadow removal", s.record));
    RowChange& c = rows[s.record];
    c.shadow_removals |= 1u << s.system;
    c.shadows[s.system] = nullptr;
  }
  for (const auto& s : b.shadows) {
    TANDEM_RETURN_IF_ERROR(checkSystem(s.system, "shadow", s.record));
    rows[s.record].shadows[s.system] = &s.shadow;
  }
  for (const auto& [id, c] : rows) {
    TANDEM_RETURN_IF_ERROR(applyRow(txn, t, id, c, names));
  }
  return {};
}

}  // namespace

Result<Applied> applyBatch(lmdb::WriteTxn& txn, const Tables& t, const Batch& b,
                           conflict::NameTable& names) {
  Writer w(txn, t);
  Applied applied;
  for (const auto& [name, id] : b.actors) {
    TANDEM_RETURN_IF_ERROR(w.actor(name, id));
  }
  TANDEM_RETURN_IF_ERROR(applyRows(txn, t, b, names));
  for (const auto& l : b.link_removals) {
    TANDEM_RETURN_IF_ERROR(w.unlink(l.system, l.native_id));
  }
  for (const auto& l : b.links) {
    TANDEM_RETURN_IF_ERROR(w.link(l));
  }
  for (const auto& m : b.match_key_removals) {
    TANDEM_RETURN_IF_ERROR(txn.del(t.matchkeys, keys::matchKey(m.entity, m.key, m.value)));
  }
  for (const auto& m : b.match_keys) {
    if (m.record.empty()) {
      return invalid("match key " + keys::formatStrings(keys::matchKey(m.entity, m.key, m.value)) +
                     " with an empty record id");
    }
    TANDEM_RETURN_IF_ERROR(
        txn.put(t.matchkeys, keys::matchKey(m.entity, m.key, m.value), m.record));
  }
  for (const auto& o : b.outbox_removals) {
    TANDEM_RETURN_IF_ERROR(w.removeOutbox(o.system, o.record));
  }
  for (const auto& o : b.outbox) {
    TANDEM_RETURN_IF_ERROR(w.outbox(o));
  }
  if (b.conflict_seq) {
    TANDEM_RETURN_IF_ERROR(w.reserveConflictIds(*b.conflict_seq));
  }
  applied.conflict_ids.reserve(b.conflicts.size());
  for (const auto& c : b.conflicts) {
    TANDEM_ASSIGN_OR_RETURN(uint64_t id, w.conflict(c));
    applied.conflict_ids.push_back(id);
  }
  for (const auto& d : b.dead_letter_removals) {
    TANDEM_RETURN_IF_ERROR(txn.del(t.deadletters, keys::systemRecord(d.system, d.record)));
  }
  for (const auto& d : b.dead_letters) {
    TANDEM_RETURN_IF_ERROR(checkSystem(d.system, "dead letter", d.record));
    TANDEM_RETURN_IF_ERROR(
        txn.put(t.deadletters, keys::systemRecord(d.system, d.record), encodeDeadLetterValue(d)));
  }
  for (const auto& c : b.cursors) {
    if (c.system >= conflict::kMaxActors) {
      return invalid("cursor of " + keys::formatRaw(c.entity) + ": system " +
                     std::to_string(c.system) + " out of range");
    }
    TANDEM_RETURN_IF_ERROR(txn.put(t.cursors, keys::systemRecord(c.system, c.entity), c.bytes));
  }
  for (const auto& [key, value] : b.notes) {
    if (key.empty()) {
      return invalid("note with an empty key");
    }
    std::string k = std::string(kMetaNote) + key;
    if (value) {
      TANDEM_RETURN_IF_ERROR(txn.put(t.meta, k, *value));
    } else {
      TANDEM_RETURN_IF_ERROR(txn.del(t.meta, k));
    }
  }
  if (b.clock) {
    TANDEM_RETURN_IF_ERROR(txn.put(t.meta, kMetaClock, encodeClock(*b.clock)));
  }
  TANDEM_RETURN_IF_ERROR(w.finish());
  return applied;
}

}  // namespace tandem::state
