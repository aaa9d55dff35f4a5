// The feed cursor's `seen` is bounded: however many records share one second, it stays within
// kSeenCap entries on every page, and each record is still reported once where it was before
// (the CRM's token paging, the finance feed's dense fallback).
#include "agent/connector/cursor.h"
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

using SeenCap = ConnectorTest;

TEST_F(SeenCap, SeenStaysWithinItsCapAndEveryRecordIsReportedOnce) {
  for (const std::string name : {"crm", "fin"}) {
    SCOPED_TRACE(name);
    const auto ids = burst(name, 5000);
    clock(R"({"advance_ms":3000})");  // the dense second is read once it is complete
    Connector& c = connector(name);
    std::optional<std::string> cursor;
    std::vector<std::string> reported;
    size_t most = 0;
    for (int call = 0; call < 200; ++call) {
      auto batch = fetch(c, cursor);
      ASSERT_TRUE(batch) << batch.error().message;
      for (const auto& rec : batch->records) {
        reported.push_back(rec.id);
      }
      cursor = batch->cursor;
      ASSERT_TRUE(cursor);
      auto decoded = decodeCursor(*cursor);
      ASSERT_TRUE(decoded) << decoded.error().message;
      most = std::max(most, decoded->seen.size());
      if (!batch->more) {
        break;
      }
    }
    EXPECT_EQ(expectOnce(reported), unique(ids));
    EXPECT_EQ(most, kSeenCap);
    if (name == "fin") {
      EXPECT_GT(counter("fin", "cdc_truncated"), 0) << "the fallback was not used";
    }
  }
}

TEST(SeenCapCursor, TheCapDropsTheOldestUpdatedFirstThenTheEarliestReported) {
  FeedCursor c;
  c.remember("late", 3000, 1);
  for (int i = 0; i < 5; ++i) {
    c.remember("same" + std::to_string(i), 2000, 1);
  }
  c.remember("old", 1000, 1);
  // Encoding keeps the order they were reported in.
  auto back = decodeCursor(encodeCursor(c));
  ASSERT_TRUE(back);
  back->capSeen(4);
  std::set<std::string> kept;
  for (const auto& [id, entry] : back->seen) {
    kept.insert(id);
  }
  EXPECT_EQ(kept, (std::set<std::string>{"late", "same2", "same3", "same4"}));
  back->remember("same0", 2000, 2);  // reported again: the latest of its second now
  back->capSeen(2);
  kept.clear();
  for (const auto& [id, entry] : back->seen) {
    kept.insert(id);
  }
  EXPECT_EQ(kept, (std::set<std::string>{"late", "same0"}));

  // A cursor written before the cap decodes, its entries in their written order.
  const auto old = decodeCursor(R"({"v":1,"since":5,"hw":5,"seen":{"7":[5,99],"8":[5,98]}})");
  ASSERT_TRUE(old) << old.error().message;
  ASSERT_EQ(old->seen.size(), 2u);
  EXPECT_EQ(old->seen.at("7").hash, 99u);
  EXPECT_LT(old->seen.at("7").order, old->seen.at("8").order);
}

}  // namespace
}  // namespace tandem::agent::connector::testing
