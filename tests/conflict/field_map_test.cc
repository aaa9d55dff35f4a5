// FieldMap: a sorted vector, whichever order its names come in; a name past the last one held
// is appended without a search.
#include "conflict/field_map.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tandem::conflict {
namespace {

std::vector<std::string> names(const FieldMap<int>& m) {
  std::vector<std::string> out;
  for (const auto& [name, value] : m) {
    out.push_back(name);
  }
  return out;
}

TEST(FieldMap, NamesInAnyOrderEndSortedAndEachOnce) {
  const std::vector<std::string> sorted = {"a", "b", "city", "email", "name", "phone", "zip"};
  std::vector<std::string> order = sorted;
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    FieldMap<int> m;
    for (size_t i = 0; i < order.size(); ++i) {
      m[order[i]] = static_cast<int>(i);
      m[order[i]] += 100;  // found again, not added twice
    }
    EXPECT_EQ(names(m), sorted);
    for (size_t i = 0; i < order.size(); ++i) {
      ASSERT_NE(m.find(order[i]), nullptr);
      EXPECT_EQ(*m.find(order[i]), static_cast<int>(i) + 100);
    }
    EXPECT_EQ(m.find("nope"), nullptr);
    std::shuffle(order.begin(), order.end(), rng);
  }
}

TEST(FieldMap, AppendingAfterTheLastNameAndInsertingBeforeIt) {
  FieldMap<int> m;
  m["m"] = 1;
  m["z"] = 2;  // after the last: appended
  m["a"] = 3;  // before the first
  m["q"] = 4;  // between
  m["z"] = 5;  // the last itself: found, not appended again
  EXPECT_EQ(names(m), (std::vector<std::string>{"a", "m", "q", "z"}));
  EXPECT_EQ(*m.find("z"), 5);
  EXPECT_EQ(m.size(), 4u);
}

}  // namespace
}  // namespace tandem::conflict
