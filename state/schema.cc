#include "state/schema.h"

#include <array>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "conflict/bytes.h"
#include "state/keys.h"
#include "state/names.h"
#include "state/row.h"
#include "state/store.h"

namespace tandem::state {

namespace {

// Version history:
//   1  records and shadows in value format 1; shadows keyed system | record id.
//   2  records and shadows written in value format 2.
//   3  shadows keyed record id | system.
//   4  records and shadows written in value format 3 (names numbered in meta).
//   5  a record and its shadows in one row of records (state/row.h); shadows empty.

// 1 -> 2: records and shadows are written in value format 2 (conflict/codec.cc). Format 1
// values are still read and each is rewritten when it next changes, so nothing needs
// rewriting here: the new version only makes a build that cannot read format 2 refuse the
// store instead of failing on its first record.
Status migrate1to2(lmdb::WriteTxn& /*txn*/, const Tables& /*tables*/) {
  return {};
}

// True for a key laid out record id | system: an ordered string and then one byte. A key laid
// out system | record id (one byte, then an ordered string ending the key) never is: read as an
// ordered string from its front, it either does not parse (system 0 and an id not starting
// with 01 or FF), or ends at the key's last terminator (the id's own 00 bytes are escaped), or,
// for system 0 and an id starting with 01, ends at once with at least two bytes left.
bool isRecordSystemKey(std::string_view key) {
  auto id = keys::takeOrdered(key);
  return id && key.size() == 1;
}

// Parts of a key laid out system | record id.
Result<std::pair<ActorId, std::string>> takeSystemRecord(std::string_view key) {
  TANDEM_ASSIGN_OR_RETURN(ActorId system, keys::takeActor(key));
  TANDEM_ASSIGN_OR_RETURN(std::string id, keys::takeOrdered(key));
  if (!key.empty()) {
    return fail("corrupt key: bytes after the record id");
  }
  return std::pair{system, std::move(id)};
}

// Copies out up to `limit` entries of `dbi` for which `want` holds, from the first key >= `from`
// and no further than the keys starting with `prefix` (no view into the map is held across the
// writes that follow).
template <class Want>
Result<std::vector<std::pair<std::string, std::string>>> copyOut(lmdb::WriteTxn& txn,
                                                                 const lmdb::Dbi& dbi,
                                                                 std::string_view from,
                                                                 std::string_view prefix,
                                                                 size_t limit, Want want) {
  std::vector<std::pair<std::string, std::string>> out;
  TANDEM_ASSIGN_OR_RETURN(auto cur, txn.cursor(dbi));
  TANDEM_ASSIGN_OR_RETURN(auto kv, cur.seek(from));
  while (kv && out.size() < limit && kv->first.starts_with(prefix)) {
    if (want(kv->first, kv->second)) {
      out.emplace_back(std::string(kv->first), std::string(kv->second));
    }
    TANDEM_ASSIGN_OR_RETURN(kv, cur.next());
  }
  return out;
}

// 2 -> 3: shadows are keyed record id | system instead of system | record id. Under the old
// key, time-ordered new ids were inserted at one point per system inside the tree and LMDB
// split those pages in the middle, leaving them ~50% full (20k records: 7,681 pages for
// 60,000 shadows); under the new key a record's shadows sit together and new ids append at the
// right edge. Every entry is moved to its new key, value unchanged.
//
// In place, a chunk at a time, so a large table never has to fit in memory: a chunk of old
// entries is copied out (no view into the map is held across a write), deleted and put back
// under the new keys, and the scan resumes after the chunk's last old key. Entries already
// moved may sort anywhere, so the scan skips keys in the new layout (isRecordSystemKey).
Status migrate2to3(lmdb::WriteTxn& txn, const Tables& tables) {
  constexpr size_t kChunk = 1024;
  const lmdb::Dbi& dbi = tables.shadows;
  std::string from;  // where the next chunk starts looking; "" is the first key
  for (;;) {
    TANDEM_ASSIGN_OR_RETURN(
        auto chunk, copyOut(txn, dbi, from, "", kChunk, [](std::string_view key, std::string_view) {
          return !isRecordSystemKey(key);
        }));
    if (chunk.empty()) {
      return {};
    }
    std::vector<std::string> new_keys;
    new_keys.reserve(chunk.size());
    for (const auto& [key, value] : chunk) {
      auto parts = takeSystemRecord(key);
      if (!parts) {
        return storedError(dbi, key, parts.error());
      }
      new_keys.push_back(keys::recordSystem(parts->second, parts->first));
    }
    for (const auto& [key, value] : chunk) {
      TANDEM_RETURN_IF_ERROR(txn.del(dbi, key));
    }
    for (size_t i = 0; i < chunk.size(); ++i) {
      TANDEM_RETURN_IF_ERROR(txn.put(dbi, new_keys[i], chunk[i].second));
    }
    from = std::move(chunk.back().first);  // deleted: the seek lands on the key after it
  }
}

// 3 -> 4: records and shadows are written in value format 3, which names fields by number in
// the name table (state/names.h) instead of in full. Formats 1 and 2 are still read and each
// value is rewritten when it next changes, so, as for 1 -> 2, nothing is rewritten here: the
// new version makes a build that cannot read format 3 refuse the store.
Status migrate3to4(lmdb::WriteTxn& /*txn*/, const Tables& /*tables*/) {
  return {};
}

// 4 -> 5: each record and its shadows become one row of records (state/row.h), each shadow
// written against its record (shadow format 4): a settled shadow shrinks from ~170 bytes and
// its own key to ~18 bytes in the row, and the engine reads a record and its shadows at once.
// The record's bytes are kept as they are. In place, a chunk of records at a time (as 2 -> 3);
// keys already holding a row are passed over. Shadows of a record that is not stored, which no
// build writes, are dropped with the table's other entries at the end.
Status migrate4to5(lmdb::WriteTxn& txn, const Tables& tables) {
  StoredNames stored;
  TANDEM_RETURN_IF_ERROR(stored.load(txn, tables.meta));
  StoredNames::Writing names(stored, txn, tables.meta);
  constexpr size_t kChunk = 512;
  std::string from;
  for (;;) {
    TANDEM_ASSIGN_OR_RETURN(
        auto chunk, copyOut(txn, tables.records, from, "", kChunk,
                            [](std::string_view, std::string_view v) { return !isRow(v); }));
    if (chunk.empty()) {
      break;
    }
    for (const auto& [id, record_bytes] : chunk) {
      auto record = conflict::decodeRecord(record_bytes, &names);
      if (!record) {
        return storedError(tables.records, id, record.error());
      }
      const conflict::ShadowBase base = conflict::ShadowBase::of(*record);
      std::string prefix = keys::recordSystem(id, 0);
      prefix.pop_back();
      TANDEM_ASSIGN_OR_RETURN(auto old_shadows,
                              copyOut(txn, tables.shadows, prefix, prefix, conflict::kMaxActors + 1,
                                      [&](std::string_view k, std::string_view) {
                                        return k.size() == prefix.size() + 1;
                                      }));
      std::array<std::string, conflict::kMaxActors> shadows;
      uint32_t systems = 0;
      for (const auto& [key, value] : old_shadows) {
        const auto system = static_cast<uint8_t>(key.back());
        auto shadow = conflict::decodeShadow(value, &names);
        if (!shadow) {
          return storedError(tables.shadows, key, shadow.error());
        }
        if (system >= conflict::kMaxActors) {
          return storedError(tables.shadows, key, Error{"corrupt key: system out of range"});
        }
        TANDEM_ASSIGN_OR_RETURN(shadows[system],
                                conflict::encodeShadowAgainst(*shadow, base, names));
        systems |= 1u << system;
        TANDEM_RETURN_IF_ERROR(txn.del(tables.shadows, key));
      }
      TANDEM_RETURN_IF_ERROR(
          txn.put(tables.records, id, assembleRow(record_bytes, shadows, systems)));
    }
    from = chunk.back().first;
  }
  TANDEM_RETURN_IF_ERROR(txn.clear(tables.shadows));
  stored.commit();
  return {};
}

// A change of layout adds {n, &migrateNtoN+1} here and bumps kSchemaVersion.
constexpr std::array<MigrationStep, 4> kMigrations{
    {{1, &migrate1to2}, {2, &migrate2to3}, {3, &migrate3to4}, {4, &migrate4to5}}};

std::string encodeVersion(uint32_t v) {
  std::string out;
  ByteWriter(out).varint(v);
  return out;
}

Result<uint32_t> decodeVersion(std::string_view bytes) {
  ByteReader r(bytes);
  TANDEM_ASSIGN_OR_RETURN(uint64_t v, r.varint("schema version"));
  if (!r.atEnd() || v > UINT32_MAX) {
    return fail("corrupt value: schema version");
  }
  return static_cast<uint32_t>(v);
}

Migration findMigration(std::span<const MigrationStep> steps, uint32_t from) {
  for (const auto& s : steps) {
    if (s.from == from) {
      return s.run;
    }
  }
  return nullptr;
}

}  // namespace

Result<Tables> openTables(lmdb::WriteTxn& txn) {
  Tables t;
  TANDEM_ASSIGN_OR_RETURN(t.meta, txn.openDbi("meta", keys::formatRaw));
  TANDEM_ASSIGN_OR_RETURN(t.records, txn.openDbi("records", keys::formatRaw));
  TANDEM_ASSIGN_OR_RETURN(t.links, txn.openDbi("links", keys::formatSystemString));
  TANDEM_ASSIGN_OR_RETURN(t.links_by_record,
                          txn.openDbi("links_by_record", keys::formatStringSystem));
  TANDEM_ASSIGN_OR_RETURN(t.matchkeys, txn.openDbi("matchkeys", keys::formatStrings));
  TANDEM_ASSIGN_OR_RETURN(t.shadows, txn.openDbi("shadows", keys::formatStringSystem));
  TANDEM_ASSIGN_OR_RETURN(t.cursors, txn.openDbi("cursors", keys::formatSystemString));
  TANDEM_ASSIGN_OR_RETURN(t.outbox, txn.openDbi("outbox", keys::formatOutbox));
  TANDEM_ASSIGN_OR_RETURN(t.outbox_index, txn.openDbi("outbox_index", keys::formatSystemString));
  TANDEM_ASSIGN_OR_RETURN(t.conflicts, txn.openDbi("conflicts", keys::formatId));
  TANDEM_ASSIGN_OR_RETURN(t.conflicts_open, txn.openDbi("conflicts_open", keys::formatId));
  TANDEM_ASSIGN_OR_RETURN(t.conflicts_by_rec,
                          txn.openDbi("conflicts_by_rec", keys::formatStringId));
  TANDEM_ASSIGN_OR_RETURN(t.deadletters, txn.openDbi("deadletters", keys::formatSystemString));
  return t;
}

std::span<const MigrationStep> migrations() {
  return kMigrations;
}

Status checkSchema(lmdb::WriteTxn& txn, const Tables& tables, const std::string& dir,
                   std::span<const MigrationStep> steps) {
  TANDEM_ASSIGN_OR_RETURN(auto stored, txn.get(tables.meta, kMetaSchema));
  if (!stored) {
    return txn.put(tables.meta, kMetaSchema, encodeVersion(kSchemaVersion));
  }
  auto version = decodeVersion(*stored);
  if (!version) {
    return fail("state: " + dir + ": meta[\"schema_version\"]: " + version.error().message);
  }
  if (*version > kSchemaVersion) {
    return fail("state: " + dir + ": schema version " + std::to_string(*version) +
                " is newer than this build (" + std::to_string(kSchemaVersion) +
                "); refusing to open");
  }
  for (uint32_t v = *version; v < kSchemaVersion; ++v) {
    Migration m = findMigration(steps, v);
    if (m == nullptr) {
      return fail("state: " + dir + ": no migration from schema version " + std::to_string(v) +
                  " to " + std::to_string(v + 1));
    }
    auto done = m(txn, tables);
    if (!done) {
      return failWith("state: " + dir + ": migrate schema " + std::to_string(v) + " -> " +
                          std::to_string(v + 1),
                      done.error());
    }
  }
  if (*version != kSchemaVersion) {
    return txn.put(tables.meta, kMetaSchema, encodeVersion(kSchemaVersion));
  }
  return {};
}

}  // namespace tandem::state
