#pragma once

// The declarative field mapping of one system × entity, as loaded and validated from the
// configuration. mappers/mapper.h compiles it into a plan.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conflict/value.h"

namespace tandem::mappers {

enum class FieldType { String, Number, Integer, Bool, DateTime, StringSet };

// Date-time forms on the wire. Canonical date-times are integer epoch milliseconds UTC.
//   rfc3339           2026-11-23T11:04:05Z (.sss when ms are not zero); reads any offset
//   rfc3339_offset    2026-11-23T11:04:05+0000 (written with +0000); reads any offset
//   epoch_s, epoch_ms integer seconds / milliseconds since 1970
//   naive_utc         2026-11-23 11:04:05.123 (UTC without zone; fraction read and written)
//   naive_utc_seconds 2026-11-23 11:04:05 (UTC without zone, whole seconds; Odoo-like)
enum class TimeFormat { Rfc3339, Rfc3339Offset, EpochS, EpochMs, NaiveUtc, NaiveUtcSeconds };

enum class Direction { Both, Read, Write };

// How the system represents the value:
//   native   the JSON type that fits the canonical type (string-set: array of strings)
//   string   everything as a string (HubSpot-like): numbers, bools, epochs; string-set joined
//            with `delimiter`
//   many2one read [id, "Name"] (Odoo-like) and take the id; written as the bare integer id
enum class Encoding { Native, String, Many2One };

enum class CaseFold { None, Lower, Upper };

// How an empty canonical value is written: null, "" (HubSpot-like clears) or false (Odoo-like).
enum class EmptyForm { Null, EmptyString, False };

// Applied to strings and string-set items when entering the canonical record, so every
// system's form of a value maps to one canonical form (CONVERGENCE case 3).
struct Normalize {
  bool trim = true;
  bool collapse_spaces = false;
  CaseFold fold = CaseFold::None;
};

struct FieldMapping {
  std::string field;  // canonical field
  std::string path;   // JSON pointer into the system record
  Direction direction = Direction::Both;
  Encoding as = Encoding::Native;
  TimeFormat format = TimeFormat::Rfc3339;
  std::string delimiter = ";";
  int decimals = -1;  // numbers written as strings with this many decimals; -1 = shortest
  std::vector<std::pair<std::string, std::string>> map;  // system value → canonical value
  bool has_default_in = false;
  std::optional<std::string> default_in;   // canonical value for unknown system values (or null)
  std::optional<std::string> default_out;  // system value for unknown canonical values
  bool required = false;                   // missing/empty on read is an error
  std::optional<conflict::Value> default_on_create;
  // Unset: the mapping's "empty_as", or "" for "as": "string" and false for many2one.
  std::optional<EmptyForm> empty_as;
};

// One system field holding several canonical fields joined by a separator (full name ↔ first
// + last). Read splits at the last separator: everything before goes to the first field.
struct JoinMapping {
  std::string path;
  std::vector<std::string> fields;
  std::string separator = " ";
  Direction direction = Direction::Both;
  bool required = false;
};

struct ConstantMapping {
  std::string path;
  std::string json;  // JSON text of the value
  bool create_only = true;
};

struct MappingSpec {
  EmptyForm empty_as = EmptyForm::Null;
  std::vector<FieldMapping> fields;
  std::vector<JoinMapping> joins;
  std::vector<ConstantMapping> constants;
};

const char* fieldTypeName(FieldType t);
const char* timeFormatName(TimeFormat f);

}  // namespace tandem::mappers
