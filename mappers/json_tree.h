#pragma once

// A JSON tree where every value knows where it was written (file:line:col), for configuration
// files. Parsed by RapidJSON's SAX reader (comments and trailing commas allowed, UTF-8
// validated) over a stream that tracks the line and column of each token's first character.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conflict/result.h"

namespace tandem::mappers {

struct Loc {
  std::shared_ptr<const std::string> file;
  uint32_t line = 0;
  uint32_t col = 0;
};

enum class JType { Null, Bool, Int, Double, String, Array, Object };
const char* jtypeName(JType t);  // "null", "bool", "integer", "number", "string", ...

struct JNode {
  JType type = JType::Null;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;  // also set for Int
  std::string text;
  std::vector<JNode> items;  // array elements, or object members (each with `key`)
  std::string key;
  Loc loc;      // first character of the value
  Loc key_loc;  // first character of the key (object members)

  bool isObject() const { return type == JType::Object; }
  bool isString() const { return type == JType::String; }
  const JNode* get(std::string_view k) const;
  std::string toJson() const;  // compact JSON text, comments dropped
};

constexpr int kConfigMaxDepth = 64;
constexpr size_t kConfigMaxBytes = 16u << 20;

// Parses config text. Errors read "demo.json:3:7: parse error: Missing a comma or '}' after an
// object member."
Result<JNode> parseJsonWithLocations(std::string_view text, const std::string& file_name);

}  // namespace tandem::mappers
