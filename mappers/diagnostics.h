#pragma once

// Validation problems, all collected before reporting: each with file, line, column, the
// JSON path of the value and a message, plus a suggestion when a name is close to a known one.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mappers/json_tree.h"

namespace tandem::mappers {

struct Diagnostic {
  std::string file;
  uint32_t line = 0;
  uint32_t col = 0;
  std::string path;
  std::string message;

  // "demo.json:14:9: systems[1].entities.customer.connector.feed.since_format: unknown ..."
  std::string format() const;
};

class Diagnostics {
 public:
  void add(const Loc& loc, std::string path, std::string message);
  void addPlain(std::string file, std::string message);  // file-level problems (unreadable)
  void addFormatted(std::string message);  // a message that already names file:line:col
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::string formatAll() const;  // one per line

 private:
  std::vector<Diagnostic> items_;
};

size_t editDistance(std::string_view a, std::string_view b);

// ` (did you mean "epoch_s"?)` when one candidate is close to `word`, else "".
std::string suggestion(std::string_view word, std::span<const std::string_view> candidates);
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace tandem::mappers
