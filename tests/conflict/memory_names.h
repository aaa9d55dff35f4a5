#pragma once

// A table of names in memory, for the codec on its own (value format 3 without a store): the
// codec's tests and bench_codec.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "conflict/codec.h"

namespace tandem::conflict::testing {

class MemoryNames final : public NameTable {
 public:
  Result<uint32_t> number(std::string_view name) override {
    auto [it, added] = numbers.emplace(std::string(name), static_cast<uint32_t>(names.size()));
    if (added) {
      names.emplace_back(name);
    }
    return it->second;
  }
  const std::string* name(uint32_t n) override { return n < names.size() ? &names[n] : nullptr; }
  std::map<std::string, uint32_t> numbers;
  std::vector<std::string> names;
};

}  // namespace tandem::conflict::testing
