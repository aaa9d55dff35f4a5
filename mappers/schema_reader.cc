#include "mappers/schema_reader.h"

#include <algorithm>
#include <cmath>

namespace tandem::mappers {

bool expectType(const JNode& n, JType t, const std::string& path, Diagnostics& diags) {
  bool ok = n.type == t || (t == JType::Double && n.type == JType::Int);
  if (!ok) {
    diags.add(n.loc, path, std::string("expected ") + jtypeName(t) + ", got " + jtypeName(n.type));
  }
  return ok;
}

std::string unknownNameMessage(std::string_view what, const std::string& value,
                               std::span<const std::string_view> names) {
  return "unknown " + std::string(what) + " \"" + value + "\"" + suggestion(value, names);
}

std::string pointerProblem(std::string_view t, bool wildcard) {
  bool ok = t.empty() || t[0] == '/';
  for (size_t i = 0; ok && i < t.size(); ++i) {
    if (t[i] == '~') {
      ok = i + 1 < t.size() && (t[i + 1] == '0' || t[i + 1] == '1');
    }
  }
  if (!ok) {
    return "invalid JSON pointer \"" + std::string(t) +
           "\": it is empty or starts with '/', and '~' is written ~0";
  }
  if (!wildcard && (t.find("/*/") != std::string_view::npos || t.ends_with("/*"))) {
    return "wildcard \"*\" is only allowed in webhook ids";
  }
  return "";
}

ObjectReader::ObjectReader(const JNode* node, std::string path, Diagnostics& diags)
    : node_(node), path_(std::move(path)), diags_(diags) {
  if (node_ != nullptr && !node_->isObject()) {
    expectType(*node_, JType::Object, path_, diags_);
    node_ = nullptr;
  }
}

std::string ObjectReader::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const JNode* ObjectReader::get(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
    known_.push_back(key);
  }
  return valid() ? node_->get(key) : nullptr;
}

const JNode* ObjectReader::require(std::string_view key) {
  const JNode* n = get(key);
  if (n == nullptr && valid()) {
    diags_.add(node_->loc, path_, "missing required key \"" + std::string(key) + "\"");
  }
  return n;
}

void ObjectReader::allow(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    get(k);
  }
}

std::optional<std::string> ObjectReader::str(std::string_view key, bool required) {
  const JNode* n = required ? require(key) : get(key);
  if (n == nullptr || !expectType(*n, JType::String, pathOf(key), diags_)) {
    return std::nullopt;
  }
  return n->text;
}

std::string ObjectReader::strOr(std::string_view key, std::string def) {
  auto s = str(key, false);
  return s ? *s : std::move(def);
}

bool ObjectReader::boolean(std::string_view key, bool def) {
  const JNode* n = get(key);
  if (n == nullptr || !expectType(*n, JType::Bool, pathOf(key), diags_)) {
    return def;
  }
  return n->boolean;
}

int64_t ObjectReader::integer(std::string_view key, int64_t def, int64_t min, int64_t max,
                              bool required) {
  const JNode* n = required ? require(key) : get(key);
  if (n == nullptr || !expectType(*n, JType::Int, pathOf(key), diags_)) {
    return def;
  }
  if (n->integer < min || n->integer > max) {
    diags_.add(n->loc, pathOf(key),
               "out of range: " + std::to_string(n->integer) + " is not in [" +
                   std::to_string(min) + ", " + std::to_string(max) + "]");
    return def;
  }
  return n->integer;
}

double ObjectReader::number(std::string_view key, double def, double min, double max) {
  const JNode* n = get(key);
  if (n == nullptr || !expectType(*n, JType::Double, pathOf(key), diags_)) {
    return def;
  }
  if (!(n->number >= min && n->number <= max)) {
    diags_.add(n->loc, pathOf(key), "out of range: " + n->toJson());
    return def;
  }
  return n->number;
}

std::vector<std::string> ObjectReader::strings(std::string_view key, bool required) {
  std::vector<std::string> out;
  const JNode* n = required ? require(key) : get(key);
  if (n == nullptr || !expectType(*n, JType::Array, pathOf(key), diags_)) {
    return out;
  }
  for (size_t i = 0; i < n->items.size(); ++i) {
    const JNode& item = n->items[i];
    if (expectType(item, JType::String, pathOf(key) + "[" + std::to_string(i) + "]", diags_)) {
      out.push_back(item.text);
    }
  }
  return out;
}

std::optional<ObjectReader> ObjectReader::object(std::string_view key, bool required) {
  const JNode* n = required ? require(key) : get(key);
  if (n == nullptr || !expectType(*n, JType::Object, pathOf(key), diags_)) {
    return std::nullopt;
  }
  return ObjectReader(n, pathOf(key), diags_);
}

void ObjectReader::unknownName(const JNode* at, const std::string& path, std::string_view what,
                               const std::string& value, std::span<const std::string_view> names) {
  diags_.add(at->loc, path, unknownNameMessage(what, value, names));
}

void ObjectReader::finish() {
  if (!valid()) {
    return;
  }
  std::vector<std::string_view> seen;
  for (const auto& m : node_->items) {
    if (std::find(seen.begin(), seen.end(), m.key) != seen.end()) {
      diags_.add(m.key_loc, pathOf(m.key), "duplicate key \"" + m.key + "\"");
      continue;
    }
    seen.push_back(m.key);
    if (std::find(known_.begin(), known_.end(), m.key) == known_.end()) {
      diags_.add(m.key_loc, pathOf(m.key),
                 "unknown key \"" + m.key + "\"" + suggestion(m.key, known_));
    }
  }
}

}  // namespace tandem::mappers
