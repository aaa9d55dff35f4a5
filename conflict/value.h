#pragma once

// A canonical field value: null, bool, integer, number, string, or a set of strings.
// "Empty" has exactly one form, Null: mappers turn "", Odoo's false, an absent key and JSON null
// into it, so an empty value never differs from another empty value (CONVERGENCE.md case 4).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "conflict/result.h"

namespace tandem {
class ByteWriter;
class ByteReader;
}  // namespace tandem

namespace tandem::conflict {

// Appends `s` as a JSON string literal, quotes included: `"`, `\\` and control characters
// escaped, other bytes as they are. The one escaper of the project (values, logs, error bodies).
void appendJsonString(std::string& out, std::string_view s);

class Value {
 public:
  enum class Kind : uint8_t { Null = 0, Bool = 1, Int = 2, Number = 3, String = 4, StringSet = 5 };
  using StringSet = std::vector<std::string>;  // always sorted and without duplicates

  Value() = default;
  static Value null() { return {}; }
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);  // -0.0 becomes 0.0; callers reject NaN/inf before this
  static Value string(std::string s);
  static Value stringSet(StringSet items);  // sorts and removes duplicates

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool isNull() const { return kind() == Kind::Null; }
  bool asBool() const { return std::get<bool>(v_); }
  int64_t asInt() const { return std::get<int64_t>(v_); }
  double asNumber() const { return std::get<double>(v_); }
  const std::string& asString() const { return std::get<std::string>(v_); }
  const StringSet& asStringSet() const { return std::get<StringSet>(v_); }

  bool operator==(const Value&) const = default;

  // JSON text of the value (sets as arrays), for logs, the CLI and conflict review.
  std::string toJson() const;
  // xxHash3-64 of the binary encoding: what shadows store per field.
  uint64_t hash() const;

  void encode(ByteWriter& w) const;
  static Result<Value> decode(ByteReader& r);
  // Passes over one encoded value without building it (what decode() would read).
  static Status skip(ByteReader& r);

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, StringSet> v_;
};

const char* kindName(Value::Kind k);

}  // namespace tandem::conflict
