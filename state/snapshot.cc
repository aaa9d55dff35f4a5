#include <functional>

#include "conflict/codec.h"
#include "state/keys.h"
#include "state/lmdb.h"
#include "state/names.h"
#include "state/row.h"
#include "state/store.h"
#include "state/tables.h"

namespace tandem::state {

namespace {

template <class T>
Result<T> at(const lmdb::Dbi& dbi, std::string_view key, Result<T>&& r) {
  if (!r) {
    return storedError(dbi, key, r.error());
  }
  return std::move(r);
}

using Visit = std::function<Result<bool>(std::string_view key, std::string_view value)>;

// Visits keys starting with `prefix` from the first key >= `from` while `visit` returns true.
Status scan(const lmdb::ReadTxn& txn, const lmdb::Dbi& dbi, std::string_view prefix,
            std::string_view from, const Visit& visit) {
  TANDEM_ASSIGN_OR_RETURN(auto cur, txn.cursor(dbi));
  TANDEM_ASSIGN_OR_RETURN(auto kv, cur.seek(from));
  while (kv && kv->first.starts_with(prefix)) {
    TANDEM_ASSIGN_OR_RETURN(bool more, visit(kv->first, kv->second));
    if (!more) {
      break;
    }
    TANDEM_ASSIGN_OR_RETURN(kv, cur.next());
  }
  return {};
}

Result<OutboxEntry> decodeOutbox(const lmdb::Dbi& dbi, std::string_view key,
                                 std::string_view value) {
  OutboxEntry e;
  std::string_view in = key;
  auto due = keys::takeBe64(in);
  auto sys = due ? keys::takeActor(in) : Result<ActorId>(std::unexpected(due.error()));
  auto rec = sys ? keys::takeOrdered(in) : Result<std::string>(std::unexpected(sys.error()));
  if (!rec) {
    return storedError(dbi, key, rec.error());
  }
  e.due_ms = static_cast<int64_t>(*due);
  e.system = *sys;
  e.record = std::move(*rec);
  auto ok = decodeOutboxValue(value, e);
  if (!ok) {
    return storedError(dbi, key, ok.error());
  }
  return e;
}

Result<DeadLetter> decodeDeadLetter(const lmdb::Dbi& dbi, std::string_view key,
                                    std::string_view value) {
  DeadLetter d;
  std::string_view in = key;
  auto sys = keys::takeActor(in);
  auto rec = sys ? keys::takeOrdered(in) : Result<std::string>(std::unexpected(sys.error()));
  if (!rec) {
    return storedError(dbi, key, rec.error());
  }
  d.system = *sys;
  d.record = std::move(*rec);
  auto ok = decodeDeadLetterValue(value, d);
  if (!ok) {
    return storedError(dbi, key, ok.error());
  }
  return d;
}

Result<std::optional<std::string>> getString(const lmdb::ReadTxn& txn, const lmdb::Dbi& dbi,
                                             std::string_view key) {
  TANDEM_ASSIGN_OR_RETURN(auto v, txn.get(dbi, key));
  if (!v) {
    return std::nullopt;
  }
  return std::string(*v);
}

}  // namespace

Snapshot::Snapshot(std::unique_ptr<lmdb::ReadTxn> txn, const Tables* tables, StoredNames* names)
    : txn_(std::move(txn)), tables_(tables), names_(names) {}
Snapshot::Snapshot(Snapshot&&) noexcept = default;
Snapshot& Snapshot::operator=(Snapshot&&) noexcept = default;
Snapshot::~Snapshot() = default;

Result<std::optional<RecordRow>> Snapshot::row(std::string_view id, uint32_t systems) const {
  TANDEM_ASSIGN_OR_RETURN(auto v, txn_->get(tables_->records, id));
  if (!v) {
    return std::nullopt;
  }
  StoredNames::Reading names(*names_, *txn_, tables_->meta);
  TANDEM_ASSIGN_OR_RETURN(auto row, at(tables_->records, id, decodeRow(*v, systems, &names)));
  if (row.record.id != id) {
    return storedError(tables_->records, id,
                       Error{"corrupt value: holds record " + keys::formatRaw(row.record.id)});
  }
  return row;
}

Result<std::optional<conflict::Record>> Snapshot::record(std::string_view id) const {
  TANDEM_ASSIGN_OR_RETURN(auto row, this->row(id, 0));
  if (!row) {
    return std::nullopt;
  }
  return std::move(row->record);
}

Result<std::optional<conflict::Shadow>> Snapshot::shadow(ActorId system,
                                                         std::string_view id) const {
  TANDEM_ASSIGN_OR_RETURN(auto v, txn_->get(tables_->records, id));
  if (!v) {
    return std::nullopt;
  }
  StoredNames::Reading names(*names_, *txn_, tables_->meta);
  return at(tables_->records, id, decodeRowShadow(*v, system, &names));
}

Result<std::optional<RecordId>> Snapshot::linkedRecord(ActorId system,
                                                       std::string_view native_id) const {
  return getString(*txn_, tables_->links, keys::systemRecord(system, native_id));
}

Result<std::optional<std::string>> Snapshot::nativeId(std::string_view id, ActorId system) const {
  return getString(*txn_, tables_->links_by_record, keys::recordSystem(id, system));
}

Result<std::vector<Link>> Snapshot::links(ActorId system, std::string_view after_native,
                                          size_t limit) const {
  std::vector<Link> out;
  std::string prefix = keys::systemPrefix(system);
  std::string from = after_native.empty() ? prefix : keys::systemRecord(system, after_native);
  const auto& dbi = tables_->links;
  TANDEM_RETURN_IF_ERROR(scan(*txn_, dbi, prefix, from, [&](auto key, auto value) -> Result<bool> {
    std::string_view in = key.substr(1);
    auto native = keys::takeOrdered(in);
    if (!native) {
      return storedError(dbi, key, native.error());
    }
    if (!after_native.empty() && *native == after_native) {
      return true;
    }
    out.push_back(Link{system, std::move(*native), std::string(value)});
    return out.size() < limit;
  }));
  return out;
}

Result<std::optional<RecordId>> Snapshot::match(std::string_view entity, std::string_view key,
                                                std::string_view value) const {
  return getString(*txn_, tables_->matchkeys, keys::matchKey(entity, key, value));
}

Result<std::optional<std::string>> Snapshot::cursor(ActorId system, std::string_view entity) const {
  return getString(*txn_, tables_->cursors, keys::systemRecord(system, entity));
}

Result<std::optional<OutboxEntry>> Snapshot::outboxEntry(ActorId system,
                                                         std::string_view id) const {
  std::string idx = keys::systemRecord(system, id);
  TANDEM_ASSIGN_OR_RETURN(auto due_ms, outboxDue(*txn_, *tables_, idx));
  if (!due_ms) {
    return std::nullopt;
  }
  std::string key = keys::outbox(*due_ms, system, id);
  TANDEM_ASSIGN_OR_RETURN(auto v, txn_->get(tables_->outbox, key));
  if (!v) {
    return fail("state: " + tables_->outbox_index.describe(idx) + ": points at missing " +
                tables_->outbox.describe(key));
  }
  return decodeOutbox(tables_->outbox, key, *v);
}

// Walks outbox keys (due | system | record) up to now_ms. With a system given, it skips the
// other systems' entries by seeking: to (due, system) when behind it, to (due + 1, system)
// when past it, so the walk costs one seek per distinct due time, not one step per entry.
Result<std::vector<OutboxEntry>> Snapshot::dueOutbox(int64_t now_ms, size_t limit,
                                                     std::optional<ActorId> system) const {
  std::vector<OutboxEntry> out;
  if (now_ms < 0 || limit == 0) {
    return out;
  }
  auto last_due = static_cast<uint64_t>(now_ms);
  const auto& dbi = tables_->outbox;
  TANDEM_ASSIGN_OR_RETURN(auto cur, txn_->cursor(dbi));
  TANDEM_ASSIGN_OR_RETURN(auto kv, cur.first());
  while (kv) {
    std::string_view in = kv->first;
    auto due = keys::takeBe64(in);
    auto sys = due ? keys::takeActor(in) : Result<ActorId>(std::unexpected(due.error()));
    if (!sys) {
      return storedError(dbi, kv->first, sys.error());
    }
    if (*due > last_due) {
      break;
    }
    if (system && *sys != *system) {
      if (*sys > *system && *due == last_due) {
        break;
      }
      uint64_t next_due = *sys < *system ? *due : *due + 1;
      std::string target = keys::be64(next_due) + keys::systemPrefix(*system);
      TANDEM_ASSIGN_OR_RETURN(kv, cur.seek(target));
      continue;
    }
    TANDEM_ASSIGN_OR_RETURN(auto e, decodeOutbox(dbi, kv->first, kv->second));
    out.push_back(std::move(e));
    if (out.size() >= limit) {
      break;
    }
    TANDEM_ASSIGN_OR_RETURN(kv, cur.next());
  }
  return out;
}

Result<size_t> Snapshot::outboxSize() const {
  MDB_stat st{};
  int rc = mdb_stat(txn_->raw(), tables_->outbox.dbi, &st);
  if (rc != 0) {
    return fail("state: stat outbox: " + lmdb::errorText(rc));
  }
  return st.ms_entries;
}

Result<uint64_t> Snapshot::recordCount() const {
  MDB_stat st{};
  int rc = mdb_stat(txn_->raw(), tables_->records.dbi, &st);
  if (rc != 0) {
    return fail("state: stat records: " + lmdb::errorText(rc));
  }
  return st.ms_entries;
}

Result<std::vector<RecordId>> Snapshot::recordIds(std::string_view after, size_t limit) const {
  std::vector<RecordId> out;
  if (limit == 0) {
    return out;
  }
  TANDEM_RETURN_IF_ERROR(
      scan(*txn_, tables_->records, "", after, [&](auto key, auto) -> Result<bool> {
        if (!after.empty() && key == after) {
          return true;
        }
        out.emplace_back(key);
        return out.size() < limit;
      }));
  return out;
}

Result<std::optional<std::string>> Snapshot::note(std::string_view key) const {
  return getString(*txn_, tables_->meta, std::string(kMetaNote) + std::string(key));
}

Result<std::optional<conflict::ConflictEntry>> Snapshot::conflict(uint64_t id) const {
  std::string key = keys::be64(id);
  TANDEM_ASSIGN_OR_RETURN(auto v, txn_->get(tables_->conflicts, key));
  if (!v) {
    return std::nullopt;
  }
  return at(tables_->conflicts, key, conflict::decodeConflict(*v));
}

Result<std::vector<conflict::ConflictEntry>> Snapshot::conflicts(uint64_t from_id,
                                                                 size_t limit) const {
  std::vector<conflict::ConflictEntry> out;
  const auto& dbi = tables_->conflicts;
  if (limit == 0) {
    return out;
  }
  TANDEM_RETURN_IF_ERROR(
      scan(*txn_, dbi, "", keys::be64(from_id), [&](auto key, auto value) -> Result<bool> {
        TANDEM_ASSIGN_OR_RETURN(auto c, at(dbi, key, conflict::decodeConflict(value)));
        out.push_back(std::move(c));
        return out.size() < limit;
      }));
  return out;
}

Result<std::vector<conflict::ConflictEntry>> Snapshot::openConflicts(size_t limit) const {
  std::vector<conflict::ConflictEntry> out;
  if (limit == 0) {
    return out;
  }
  TANDEM_RETURN_IF_ERROR(
      scan(*txn_, tables_->conflicts_open, "", "", [&](auto key, auto) -> Result<bool> {
        std::string_view in = key;
        TANDEM_ASSIGN_OR_RETURN(uint64_t id, at(tables_->conflicts_open, key, keys::takeBe64(in)));
        TANDEM_ASSIGN_OR_RETURN(auto c, conflict(id));
        if (!c) {
          return fail("state: " + tables_->conflicts_open.describe(key) +
                      ": open conflict missing from conflicts");
        }
        out.push_back(std::move(*c));
        return out.size() < limit;
      }));
  return out;
}

Result<std::vector<conflict::ConflictEntry>> Snapshot::conflictsOfRecord(
    std::string_view id) const {
  std::vector<conflict::ConflictEntry> out;
  std::string prefix = keys::recordPrefix(id);
  const auto& dbi = tables_->conflicts_by_rec;
  TANDEM_RETURN_IF_ERROR(scan(*txn_, dbi, prefix, prefix, [&](auto key, auto) -> Result<bool> {
    std::string_view in = key.substr(prefix.size());
    TANDEM_ASSIGN_OR_RETURN(uint64_t cid, at(dbi, key, keys::takeBe64(in)));
    TANDEM_ASSIGN_OR_RETURN(auto c, conflict(cid));
    if (!c) {
      return fail("state: " + dbi.describe(key) + ": conflict missing from conflicts");
    }
    out.push_back(std::move(*c));
    return true;
  }));
  return out;
}

Result<std::optional<DeadLetter>> Snapshot::deadLetter(ActorId system, std::string_view id) const {
  std::string key = keys::systemRecord(system, id);
  TANDEM_ASSIGN_OR_RETURN(auto v, txn_->get(tables_->deadletters, key));
  if (!v) {
    return std::nullopt;
  }
  return decodeDeadLetter(tables_->deadletters, key, *v);
}

Result<std::vector<DeadLetter>> Snapshot::deadLetters(std::optional<ActorId> system,
                                                      size_t limit) const {
  std::vector<DeadLetter> out;
  if (limit == 0) {
    return out;
  }
  std::string prefix = system ? keys::systemPrefix(*system) : "";
  const auto& dbi = tables_->deadletters;
  TANDEM_RETURN_IF_ERROR(
      scan(*txn_, dbi, prefix, prefix, [&](auto key, auto value) -> Result<bool> {
        TANDEM_ASSIGN_OR_RETURN(auto d, decodeDeadLetter(dbi, key, value));
        out.push_back(std::move(d));
        return out.size() < limit;
      }));
  return out;
}

Result<conflict::ActorClock> Snapshot::clock() const {
  TANDEM_ASSIGN_OR_RETURN(auto v, txn_->get(tables_->meta, kMetaClock));
  if (!v) {
    return conflict::ActorClock{};
  }
  return at(tables_->meta, kMetaClock, decodeClock(*v));
}

Result<uint64_t> Snapshot::conflictSeq() const {
  TANDEM_ASSIGN_OR_RETURN(auto v, txn_->get(tables_->meta, kMetaNextConflict));
  if (!v) {
    return uint64_t{0};
  }
  std::string_view in = *v;
  auto next = keys::takeBe64(in);
  if (!next || !in.empty() || *next == 0) {
    return fail(
        "state: meta[\"next_conflict_id\"]: corrupt value: expected a nonzero "
        "8-byte id");
  }
  return *next - 1;
}

Result<std::vector<std::pair<std::string, ActorId>>> Snapshot::actors() const {
  std::vector<std::pair<std::string, ActorId>> out;
  const auto& dbi = tables_->meta;
  TANDEM_RETURN_IF_ERROR(
      scan(*txn_, dbi, kMetaActorById, kMetaActorById, [&](auto key, auto value) -> Result<bool> {
        if (key.size() != kMetaActorById.size() + 1) {
          return storedError(dbi, key, Error{"corrupt key: actor id"});
        }
        out.emplace_back(std::string(value), static_cast<ActorId>(key.back()));
        return true;
      }));
  return out;
}

}  // namespace tandem::state
