#include "agent/ops/table.h"

#include <algorithm>

namespace tandem::agent::ops {

namespace {

// Characters, not bytes: continuation bytes of UTF-8 do not count.
size_t width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(cells[i]));
    }
  };
  measure(header_);
  for (const auto& r : rows_) {
    measure(r);
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) {
        text += std::string(widths[i] - width(cells[i]) + 2, ' ');
      }
    }
    out << text << "\n";
  };
  line(header_);
  for (const auto& r : rows_) {
    line(r);
  }
}

std::string ellipsize(const std::string& text, size_t max) {
  if (width(text) <= max || max < 4) {
    return text;
  }
  std::string out;
  size_t chars = 0;
  for (char c : text) {
    if ((c & 0xC0) != 0x80) {
      if (chars == max - 3) {
        break;
      }
      ++chars;
    }
    out += c;
  }
  return out + "...";
}

}  // namespace tandem::agent::ops
