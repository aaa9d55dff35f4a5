#pragma once

// The named databases of the store, opened once at Store::open. Internal to state/.

#include <cstdint>
#include <optional>
#include <string_view>

#include "state/keys.h"
#include "state/lmdb.h"

namespace tandem::state {

struct Tables {
  lmdb::Dbi meta;
  lmdb::Dbi records;
  lmdb::Dbi links;
  lmdb::Dbi links_by_record;
  lmdb::Dbi matchkeys;
  lmdb::Dbi shadows;
  lmdb::Dbi cursors;
  lmdb::Dbi outbox;
  lmdb::Dbi outbox_index;
  lmdb::Dbi conflicts;
  lmdb::Dbi conflicts_open;
  lmdb::Dbi conflicts_by_rec;
  lmdb::Dbi deadletters;
};

// Opens (creating) every table in `txn`.
Result<Tables> openTables(lmdb::WriteTxn& txn);

// An error about the value or key at `key` of `dbi`, with where it is in front:
// "state: records[\"r-1\"]: corrupt value: ...".
inline std::unexpected<Error> storedError(const lmdb::Dbi& dbi, std::string_view key,
                                          const Error& e) {
  return failWith("state: " + dbi.describe(key), e);
}

// The due time the outbox entry at `idx` (keys::systemRecord(system, record)) is filed under,
// from outbox_index; nullopt when there is no entry.
inline Result<std::optional<uint64_t>> outboxDue(const lmdb::Txn& txn, const Tables& t,
                                                 std::string_view idx) {
  TANDEM_ASSIGN_OR_RETURN(auto due, txn.get(t.outbox_index, idx));
  if (!due) {
    return std::nullopt;
  }
  std::string_view in = *due;
  auto due_ms = keys::takeBe64(in);
  if (!due_ms) {
    return storedError(t.outbox_index, idx, due_ms.error());
  }
  return *due_ms;
}

// Meta keys.
inline constexpr std::string_view kMetaSchema = "schema_version";
inline constexpr std::string_view kMetaClock = "actor_clock";
inline constexpr std::string_view kMetaNextConflict = "next_conflict_id";
inline constexpr std::string_view kMetaActorByName = "actor/";  // + name -> id byte
inline constexpr std::string_view kMetaActorById = "actor#";    // + id byte -> name
inline constexpr std::string_view kMetaNote = "note/";          // + caller's key -> its value
inline constexpr std::string_view kMetaName = "name#";  // + be64 number -> a field or entity name

}  // namespace tandem::state
