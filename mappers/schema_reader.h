#pragma once

// Typed, collecting access to one configuration object: every read records the key as known,
// wrong types and missing required keys become diagnostics, and finish() reports unknown keys
// with a suggestion. Nothing stops at the first problem.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mappers/diagnostics.h"
#include "mappers/json_tree.h"

namespace tandem::mappers {

template <class E>
struct Choice {
  std::string_view name;
  E value;
};

class ObjectReader {
 public:
  // `node` may be null (an absent optional object): every read then yields its default.
  ObjectReader(const JNode* node, std::string path, Diagnostics& diags);

  bool valid() const { return node_ != nullptr && node_->isObject(); }
  const std::string& path() const { return path_; }
  const JNode* node() const { return node_; }
  Diagnostics& diags() { return diags_; }
  std::string pathOf(std::string_view key) const;

  // Raw access; marks the key known. Null when absent.
  const JNode* get(std::string_view key);
  const JNode* require(std::string_view key);  // reports "missing required key"
  void allow(std::initializer_list<std::string_view> keys);

  std::optional<std::string> str(std::string_view key, bool required = false);
  std::string strOr(std::string_view key, std::string def);
  bool boolean(std::string_view key, bool def);
  int64_t integer(std::string_view key, int64_t def, int64_t min, int64_t max,
                  bool required = false);
  double number(std::string_view key, double def, double min, double max);
  std::vector<std::string> strings(std::string_view key, bool required = false);
  std::optional<ObjectReader> object(std::string_view key, bool required = false);

  template <class E>
  E choice(std::string_view key, std::span<const Choice<E>> choices, E def, bool required = false) {
    auto s = str(key, required);
    if (!s) {
      return def;
    }
    for (const auto& c : choices) {
      if (c.name == *s) {
        return c.value;
      }
    }
    std::vector<std::string_view> names;
    for (const auto& c : choices) {
      names.push_back(c.name);
    }
    unknownName(get(key), pathOf(key), key, *s, names);
    return def;
  }

  // Reports every key that no read asked for.
  void finish();

 private:
  void unknownName(const JNode* at, const std::string& path, std::string_view what,
                   const std::string& value, std::span<const std::string_view> names);

  const JNode* node_;
  std::string path_;
  Diagnostics& diags_;
  std::vector<std::string_view> known_;
};

// Reports "expected <type>, got <type>" and returns false when `n` is not of type `t`.
bool expectType(const JNode& n, JType t, const std::string& path, Diagnostics& diags);

// "" when `p` is a valid JSON pointer ("" or "/a/b" with ~0 ~1 escapes; "*" steps into every
// array element where `wildcard`), else the problem.
std::string pointerProblem(std::string_view p, bool wildcard = false);

// "unknown format \"epoch_sec\" (did you mean \"epoch_s\"?)": helper for enumerations.
std::string unknownNameMessage(std::string_view what, const std::string& value,
                               std::span<const std::string_view> names);

}  // namespace tandem::mappers
