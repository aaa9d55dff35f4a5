#pragma once

// Byte-ordered keys of the store's tables, so that every scan is a range scan.
//
// Composite keys concatenate their parts: an ActorId is one byte, a time or id is 8 bytes
// big-endian, and a string is written "ordered": each 0x00 byte becomes 00 FF and the string
// ends with 00 01. That keeps tuple order equal to byte order and makes every string part
// prefix-free, so ("r-1", x) never falls inside a scan of ("r-10", ...).
//
//   records          record id (raw bytes)       -> the record and its shadows (state/row.h)
//   links            system | native id          -> record id
//   links_by_record  record id | system          -> native id
//   matchkeys        entity | key name | value   -> record id
//   shadows          record id | system          -> encoded Shadow (schema 3 and 4; empty since)
//   cursors          system | entity             -> opaque bytes
//   outbox           due ms BE | system | record -> OutboxEntry value
//   outbox_index     system | record id          -> due ms BE
//   conflicts        id BE                       -> encoded ConflictEntry
//   conflicts_open   id BE                       -> "" (open conflicts only)
//   conflicts_by_rec record id | id BE           -> ""
//   deadletters      system | record id          -> DeadLetter value
//
// Shadows led with the record id in schemas 3 and 4 (before, system | record id), so a record's
// shadows shared a leaf page; since schema 5 they are in the record's own value.

#include <cstdint>
#include <string>
#include <string_view>

#include "conflict/result.h"
#include "conflict/version_vector.h"

namespace tandem::state::keys {

using conflict::ActorId;

void appendOrdered(std::string& out, std::string_view s);
void appendBe64(std::string& out, uint64_t v);
// Reading side: consume a part from the front of `in`.
Result<std::string> takeOrdered(std::string_view& in);
Result<uint64_t> takeBe64(std::string_view& in);
Result<ActorId> takeActor(std::string_view& in);

std::string systemPrefix(ActorId system);                       // one byte
std::string systemRecord(ActorId system, std::string_view id);  // links, outbox_index, ...
std::string recordSystem(std::string_view id, ActorId system);  // links_by_record, shadows
std::string matchKey(std::string_view entity, std::string_view key, std::string_view value);
std::string outbox(uint64_t due_ms, ActorId system, std::string_view id);
std::string be64(uint64_t v);
std::string recordPrefix(std::string_view id);  // ordered(id), for conflicts_by_rec scans
std::string recordConflict(std::string_view id, uint64_t conflict_id);

// Key renderers for error messages (lmdb::KeyFormatter).
std::string formatRaw(std::string_view key);           // "r-1"
std::string formatSystemString(std::string_view key);  // 2,"r-1"
std::string formatStringSystem(std::string_view key);  // "r-1",2
std::string formatStrings(std::string_view key);       // "customer","email","a@b.c"
std::string formatOutbox(std::string_view key);        // 1700000000000,2,"r-1"
std::string formatId(std::string_view key);            // 42
std::string formatStringId(std::string_view key);      // "r-1",42

}  // namespace tandem::state::keys
