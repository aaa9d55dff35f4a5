#pragma once

// Binary encodings of Record, Shadow and ConflictEntry for the store. Each starts with a format
// byte so a later version can read (and migrate) what an older one wrote. Decoding never
// trusts its input: truncation and corruption come back as errors, never as a crash.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conflict/record.h"
#include "conflict/result.h"

namespace tandem::conflict {

// Names in records and shadows. Format 3 writes each field name, and a record's entity, as its
// number in a table the store keeps beside the values (a 12-field customer's names are ~95
// bytes in full, 12 as numbers, in the record and again in each system's shadow).
class NameTable {
 public:
  virtual ~NameTable() = default;
  // The number of `name`, given one now when it has none yet (a writer's table only).
  virtual Result<uint32_t> number(std::string_view name) = 0;
  // The name numbered `n`, or nullptr when the table has none.
  virtual const std::string* name(uint32_t n) = 0;
};

// Without a name table: format 2, names in full. With one: format 3.
std::string encodeRecord(const Record& r);
Result<std::string> encodeRecord(const Record& r, NameTable& names);
// Reads formats 1 to 3; format 3 needs `names`.
Result<Record> decodeRecord(std::string_view bytes, NameTable* names = nullptr);

std::string encodeShadow(const Shadow& s);
Result<std::string> encodeShadow(const Shadow& s, NameTable& names);
Result<Shadow> decodeShadow(std::string_view bytes, NameTable* names = nullptr);

// What the store writes a shadow against (format 4): the record it belongs to. A shadow field
// holding the record's value at the record's vector with nothing pending (every field of a
// settled record, in every system), or one waiting for a create that sends the record's value
// (every field of a new record, in the systems it goes to), is then two bits instead of ~11 or
// ~21 bytes: such a 12-field customer's shadow is ~13 bytes instead of ~170 or ~270. Such a shadow
// means nothing without the very record it was written against: the store keeps the two in one
// value and writes the shadows again whenever the record changes (state/row.h).
struct ShadowBase {
  struct Field {
    std::string_view name;
    uint64_t hash = 0;  // Value::hash of the record's value
    VersionVector vv;
  };
  std::vector<Field> fields;  // in the record's order (by name)
  uint64_t tombstone_hash = 0;
  VersionVector tombstone_vv;

  // Names are views into `r`: keep it alive while the base is used.
  static ShadowBase of(const Record& r);
  // From the record's encoding (any format decodeRecord reads), without decoding its values:
  // each is hashed where it lies. Names are views into `bytes` or into `names`.
  static Result<ShadowBase> read(std::string_view bytes, NameTable* names);
};

// Format 4, field names numbered in `names`.
Result<std::string> encodeShadowAgainst(const Shadow& s, const ShadowBase& base, NameTable& names);
// Reads format 4 against `base`, which must be the record it was written against, and formats
// 1 to 3 as decodeShadow does.
Result<Shadow> decodeShadowAgainst(std::string_view bytes, const ShadowBase& base,
                                   NameTable* names);

std::string encodeConflict(const ConflictEntry& c);
Result<ConflictEntry> decodeConflict(std::string_view bytes);

}  // namespace tandem::conflict
