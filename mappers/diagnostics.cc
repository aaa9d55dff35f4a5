#include "mappers/diagnostics.h"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace tandem::mappers {

std::string Diagnostic::format() const {
  if (file.empty()) {
    return message;  // already carries its location (parse errors)
  }
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line) + ":" + std::to_string(col);
  }
  out += ": ";
  if (!path.empty()) {
    out += path + ": ";
  }
  out += message;
  return out;
}

void Diagnostics::add(const Loc& loc, std::string path, std::string message) {
  items_.push_back(Diagnostic{loc.file ? *loc.file : std::string("<config>"), loc.line, loc.col,
                              std::move(path), std::move(message)});
}

void Diagnostics::addPlain(std::string file, std::string message) {
  items_.push_back(Diagnostic{std::move(file), 0, 0, "", std::move(message)});
}

void Diagnostics::addFormatted(std::string message) {
  items_.push_back(Diagnostic{"", 0, 0, "", std::move(message)});
}

std::string Diagnostics::formatAll() const {
  std::string out;
  for (const auto& d : items_) {
    out += d.format();
    out += '\n';
  }
  return out;
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_d = SIZE_MAX;
  auto lower = [](std::string_view v) {
    std::string out(v);
    for (char& ch : out) {
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return out;
  };
  for (auto c : candidates) {
    if (lower(c) == lower(word) && c != word) {
      return " (did you mean \"" + std::string(c) + "\"?)";
    }
  }
  for (auto c : candidates) {
    size_t d = editDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  if (best.empty() || best_d > limit || best_d >= std::max(word.size(), best.size())) {
    return "";
  }
  return " (did you mean \"" + std::string(best) + "\"?)";
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string_view> views(candidates.begin(), candidates.end());
  return suggestion(word, std::span<const std::string_view>(views));
}

}  // namespace tandem::mappers
