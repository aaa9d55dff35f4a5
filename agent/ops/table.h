#pragma once

// Plain text tables for people: columns padded to their widest cell, two spaces apart.

#include <ostream>
#include <string>
#include <vector>

namespace tandem::agent::ops {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  size_t size() const { return rows_.size(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Cuts `text` to `max` characters with "..." (UTF-8 aware: never splits a character).
std::string ellipsize(const std::string& text, size_t max);

}  // namespace tandem::agent::ops
