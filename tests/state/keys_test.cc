// Keys sort like the tuples they encode, so scans are range scans.

#include "state/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace tandem::state::keys {
namespace {

TEST(Keys, OrderedStringsSortLikeTuplesEvenWithZeroBytes) {
  std::vector<std::pair<std::string, ActorId>> tuples = {
      {"r-1", 2}, {"r-10", 0}, {std::string("r-1\0x", 5), 0}, {"r", 9}, {"", 3}, {"r-1", 1}};
  std::vector<std::string> encoded;
  for (const auto& [id, sys] : tuples) {
    encoded.push_back(recordSystem(id, sys));
  }
  auto sortedTuples = tuples;
  std::sort(sortedTuples.begin(), sortedTuples.end());
  std::sort(encoded.begin(), encoded.end());
  for (size_t i = 0; i < encoded.size(); ++i) {
    std::string_view in = encoded[i];
    auto id = takeOrdered(in);
    ASSERT_TRUE(id);
    auto sys = takeActor(in);
    ASSERT_TRUE(sys);
    EXPECT_EQ(*id, sortedTuples[i].first);
    EXPECT_EQ(*sys, sortedTuples[i].second);
    EXPECT_TRUE(in.empty());
  }
}

TEST(Keys, RecordPrefixDoesNotMatchLongerIds) {
  EXPECT_FALSE(recordConflict("r-10", 1).starts_with(recordPrefix("r-1")));
  EXPECT_TRUE(recordConflict("r-1", 1).starts_with(recordPrefix("r-1")));
}

TEST(Keys, OutboxOrdersByDueTimeFirst) {
  EXPECT_LT(outbox(5, 9, "z"), outbox(6, 0, "a"));
  EXPECT_LT(outbox(256, 0, "a"), outbox(257, 0, "a"));
  EXPECT_LT(outbox(6, 0, "b"), outbox(6, 1, "a"));
}

TEST(Keys, TruncatedKeysAreErrors) {
  std::string_view in("r-1\0", 4);
  auto s = takeOrdered(in);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "corrupt key: unterminated string");
  std::string_view shortNum("\x01\x02", 2);
  auto n = takeBe64(shortNum);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, "corrupt key: truncated 64-bit number");
}

TEST(Keys, FormattersRenderForMessages) {
  EXPECT_EQ(formatRaw("r-1"), "\"r-1\"");
  EXPECT_EQ(formatSystemString(systemRecord(2, "r-1")), "2,\"r-1\"");
  EXPECT_EQ(formatOutbox(outbox(1700000000000, 1, "r\"x")), "1700000000000,1,\"r\\\"x\"");
  EXPECT_EQ(formatStrings(matchKey("customer", "email", "a@b.c")),
            "\"customer\",\"email\",\"a@b.c\"");
  EXPECT_EQ(formatStringId(recordConflict("r-1", 42)), "\"r-1\",42");
  EXPECT_EQ(formatSystemString(std::string("\x02r", 2)), "\"\\x02r\"");  // unparsable: raw
}

}  // namespace
}  // namespace tandem::state::keys
