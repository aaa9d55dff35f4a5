// Settled time: once the system's clock (the answers' Date) is past a bulk load plus the feed's
// overlap, idle polls re-read nothing; records back-dated inside the overlap are still found;
// without a Date the feed behaves as before.
#include "agent/connector/cursor.h"
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

FeedCursor decoded(const std::optional<std::string>& text) {
  EXPECT_TRUE(text);
  auto cursor = decodeCursor(text.value_or("{}"));
  EXPECT_TRUE(cursor) << cursor.error().message;
  return cursor ? std::move(*cursor) : FeedCursor{};
}

class SettledFeed : public ConnectorTest {
 protected:
  void advance(int64_t ms) { clock(R"({"advance_ms":)" + std::to_string(ms) + "}"); }

  // One poll: drains the feed from `cursor` and says how many requests it took.
  struct Poll {
    Drained drained;
    int64_t requests = 0;
  };
  Poll poll(const std::string& name, Connector& c, std::optional<std::string> cursor) {
    const int64_t before = counter(name, "requests");
    Poll p;
    p.drained = drain(c, std::move(cursor), 1000);
    p.requests = counter(name, "requests") - before;
    EXPECT_TRUE(p.drained.errors.empty());
    return p;
  }
  // Three more polls from `p`, each one request that reports nothing; returns the last.
  Poll quietPolls(const std::string& name, Connector& c, Poll p) {
    for (int i = 0; i < 3; ++i) {
      p = poll(name, c, p.drained.cursor);
      EXPECT_TRUE(p.drained.ids.empty());
      EXPECT_EQ(p.requests, 1) << "poll " << i << " read records already in hand again";
    }
    return p;
  }
};

class SettledEachSystem : public SettledFeed, public ::testing::WithParamInterface<std::string> {};

// The bulk load of the brief: after it has settled (the system's clock past it plus the
// overlap), an idle poll is one request that returns nothing, poll after poll.
TEST_P(SettledEachSystem, AnIdleFeedAfterADenseBurstReReadsNothingOnceItHasSettled) {
  const std::string name = GetParam();
  const auto ids = burst(name, 3000);
  advance(3000);  // the finance feed reads a dense second once it is complete
  Connector& c = connector(name);
  const Poll first = poll(name, c, std::nullopt);
  EXPECT_EQ(expectOnce(first.drained.ids), unique(ids));

  // Past the burst plus the overlap on the system's clock: one pass re-reads the overlap once
  // (what the first pass could not settle yet), then nothing is read again.
  advance(spec(name).feed.overlap_ms + 1500);
  Poll p = poll(name, c, first.drained.cursor);
  p = quietPolls(name, c, p);
  EXPECT_EQ(p.drained.calls, 1);
  const FeedCursor cursor = decoded(p.drained.cursor);
  EXPECT_GT(cursor.since_ms, cursor.high_water_ms);
  EXPECT_EQ(cursor.settled_ms, cursor.high_water_ms - cursor.high_water_ms % 1000 + 999);
  EXPECT_FALSE(cursor.pass_open);
  EXPECT_LE(cursor.seen.size(), kSeenCap);

  // A later edit of a record of the burst is reported, once.
  advance(2000);
  humanEdit(name, ids[1234],
            name == "crm"   ? R"({"properties":{"phone":"+1 555 0199"}})"
            : name == "erp" ? R"({"phone":"+1 555 0199"})"
                            : R"({"PrimaryPhone":{"FreeFormNumber":"+1 555 0199"}})");
  const Poll edited = poll(name, c, p.drained.cursor);
  EXPECT_EQ(edited.drained.ids, std::vector<std::string>{ids[1234]});
  EXPECT_TRUE(poll(name, c, edited.drained.cursor).drained.ids.empty());
}

INSTANTIATE_TEST_SUITE_P(Systems, SettledEachSystem, ::testing::Values("crm", "erp", "fin"));

// No Date header: nothing is ever settled, and the feed re-reads its overlap window on every
// poll as it always did, here with the system's clock a minute behind the agent's.
TEST_F(SettledFeed, WithoutADateHeaderTheFeedReReadsItsWindowAsBefore) {
  settings("crm", R"({"date_header":false,"clock_offset_ms":-60000})");
  const auto ids = burst("crm", 300);
  Connector& c = connector("crm");
  const Poll first = poll("crm", c, std::nullopt);
  EXPECT_EQ(expectOnce(first.drained.ids), unique(ids));
  advance(5000);
  Poll p = poll("crm", c, first.drained.cursor);
  const int64_t requests = p.requests;
  EXPECT_GT(requests, 1) << "the window behind the high-water mark is no longer re-read";
  for (int i = 0; i < 3; ++i) {
    p = poll("crm", c, p.drained.cursor);
    EXPECT_TRUE(p.drained.ids.empty());
    EXPECT_EQ(p.requests, requests);
  }
  const FeedCursor cursor = decoded(p.drained.cursor);
  EXPECT_EQ(cursor.settled_ms, 0);
  const int64_t window = cursor.high_water_ms - 1000;
  EXPECT_EQ(cursor.since_ms, window - ((window % 1000) + 1000) % 1000);
}

// The same clock skew with the Date header: the system's own clock settles the burst, whatever
// the agent's clock says.
TEST_F(SettledFeed, ASkewedSystemClockSettlesByItsOwnDate) {
  settings("crm", R"({"clock_offset_ms":-60000})");
  const auto ids = burst("crm", 300);
  Connector& c = connector("crm");
  const Poll first = poll("crm", c, std::nullopt);
  EXPECT_EQ(expectOnce(first.drained.ids), unique(ids));
  const FeedCursor unsettled = decoded(first.drained.cursor);
  EXPECT_LE(unsettled.settled_ms, kT0 - 60000 + 600 - 1000) << "settled past the overlap";
  advance(3000);  // the Date, whole seconds, past the burst plus the overlap
  Poll p = poll("crm", c, first.drained.cursor);
  p = poll("crm", c, p.drained.cursor);
  EXPECT_EQ(p.requests, 1);
  EXPECT_TRUE(p.drained.ids.empty());
  EXPECT_EQ(decoded(p.drained.cursor).settled_ms, kT0 - 60000 + 999);
}

// The CRM's search index lags: a record updated before the last poll's answer shows up after
// it, inside the overlap. It is found although an earlier pass settled past older records.
TEST_F(SettledFeed, ARecordShowingUpLateInsideTheOverlapIsFound) {
  clock(R"({"freeze_at_ms":1700000000000})");
  seed(5, "crm");
  Connector& c = connector("crm");
  Poll p = poll("crm", c, std::nullopt);
  advance(10000);
  const auto normal = seed(1, "crm");
  p = poll("crm", c, p.drained.cursor);
  EXPECT_EQ(p.drained.ids, normal);

  settings("crm", R"({"search_lag_ms":800})");
  advance(100);
  const auto lagging = seed(1, "crm");  // updated now, searchable 800 ms later
  advance(500);
  p = poll("crm", c, p.drained.cursor);
  EXPECT_TRUE(p.drained.ids.empty()) << "searchable before its lag";
  advance(500);
  p = poll("crm", c, p.drained.cursor);
  EXPECT_EQ(p.drained.ids, lagging);
  advance(5000);
  p = poll("crm", c, p.drained.cursor);
  EXPECT_TRUE(p.drained.ids.empty());
}

// The ERP stamps a slow transaction with the time it started: a row committed after a poll
// that read a newer one, back-dated behind it, is found.
TEST_F(SettledFeed, ARowBackdatedBehindTheHighWaterMarkIsFound) {
  clock(R"({"freeze_at_ms":1700000000000})");
  seed(5, "erp");
  Connector& c = connector("erp");
  Poll p = poll("erp", c, std::nullopt);
  advance(10000);
  const auto normal = seed(1, "erp");
  p = poll("erp", c, p.drained.cursor);
  EXPECT_EQ(p.drained.ids, normal);
  settings("erp", R"({"backdate_ms":4000})");
  const auto backdated = seed(1, "erp");
  settings("erp", R"({"backdate_ms":0})");
  advance(1000);
  p = poll("erp", c, p.drained.cursor);
  EXPECT_EQ(p.drained.ids, backdated);
  advance(10000);
  p = poll("erp", c, p.drained.cursor);
  p = poll("erp", c, p.drained.cursor);
  EXPECT_TRUE(p.drained.ids.empty());
  EXPECT_EQ(p.requests, 1);
}

// The same with an exclusive since (the ERP's domain asks for write_date > since): the settled
// point itself is the next start, and nothing at or before it is asked for again.
TEST_F(SettledFeed, AnExclusiveSinceSettlesAndStillFindsABackdatedRow) {
  auto& body = spec("erp").feed.request.body;
  const size_t at = body.find("\">=\"");
  ASSERT_NE(at, std::string::npos);
  body.replace(at, 4, "\">\"");
  spec("erp").feed.since_inclusive = false;
  const auto ids = burst("erp", 300);
  Connector& c = connector("erp");
  Poll p = poll("erp", c, std::nullopt);
  EXPECT_EQ(expectOnce(p.drained.ids), unique(ids));
  advance(spec("erp").feed.overlap_ms + 1500);
  p = poll("erp", c, p.drained.cursor);
  p = poll("erp", c, p.drained.cursor);
  EXPECT_TRUE(p.drained.ids.empty());
  EXPECT_EQ(p.requests, 1);
  const FeedCursor cursor = decoded(p.drained.cursor);
  EXPECT_EQ(cursor.settled_ms, kT0 + 999);
  EXPECT_EQ(cursor.since_ms, kT0 + 999);

  advance(10000);
  const auto normal = seed(1, "erp");
  p = poll("erp", c, p.drained.cursor);
  EXPECT_EQ(p.drained.ids, normal);
  settings("erp", R"({"backdate_ms":4000})");
  const auto backdated = seed(1, "erp");
  settings("erp", R"({"backdate_ms":0})");
  advance(1000);
  p = poll("erp", c, p.drained.cursor);
  EXPECT_EQ(p.drained.ids, backdated);
}

// A dense second followed by a later change, before the system's clock is past the second plus
// the overlap: the later change shows the second is over, not that every change stamped with it
// is visible yet, so the feed stops at the second (after the cap's worth of it) until the clock
// is past it; then it reads the second whole, once, and the window stays out of it.
TEST_F(SettledFeed, ADenseSecondIsReadWholeOnceTheSystemClockIsPastItAndTheOverlap) {
  clock(R"({"freeze_at_ms":1700000000000})");
  auto ids = seed(1500, "fin");
  advance(1000);
  const auto later = seed(1, "fin");
  ids.insert(ids.end(), later.begin(), later.end());
  Connector& c = connector("fin");
  Poll p = poll("fin", c, std::nullopt);
  std::vector<std::string> reported = p.drained.ids;
  EXPECT_EQ(reported.size(), 1000u);
  EXPECT_LT(decoded(p.drained.cursor).settled_ms, kT0) << "settled into the open dense second";
  p = poll("fin", c, p.drained.cursor);
  EXPECT_TRUE(p.drained.ids.empty());
  EXPECT_EQ(p.requests, 1);

  advance(3000);  // the Date (whole seconds, less the round trip) past the second plus the overlap
  p = poll("fin", c, p.drained.cursor);
  reported.insert(reported.end(), p.drained.ids.begin(), p.drained.ids.end());
  EXPECT_EQ(expectOnce(reported), unique(ids));
  quietPolls("fin", c, p);
}

// Without a Date header the system's clock is known only from the records: once a pass begins
// after a change later than the dense second plus the overlap, its read of the second is complete
// and the window stays out of it.
TEST_F(SettledFeed, WithoutADateALaterChangePastTheOverlapEndsTheDenseSecondsRereads) {
  settings("fin", R"({"date_header":false})");
  clock(R"({"freeze_at_ms":1700000000000})");
  auto ids = seed(1500, "fin");
  Connector& c = connector("fin");
  Poll p = poll("fin", c, std::nullopt);
  EXPECT_EQ(expectOnce(p.drained.ids), unique(ids));
  p = poll("fin", c, p.drained.cursor);
  EXPECT_GT(p.requests, 1) << "the dense second was not read again";
  advance(2000);
  const auto later = seed(1, "fin");
  p = poll("fin", c, p.drained.cursor);
  EXPECT_EQ(p.drained.ids, later);
  p = poll("fin", c, p.drained.cursor);  // begins past the second plus the overlap: complete
  EXPECT_TRUE(p.drained.ids.empty());
  quietPolls("fin", c, p);
}

TEST(SettledCursor, SettledTimeAndThePassSurviveEncodingAndOldCursorsDecode) {
  FeedCursor c;
  c.since_ms = 1700000001000;
  c.settled_ms = 1700000000999;
  c.pass_open = true;
  c.pass_at_ms = 1700000003000;
  c.pass_hw_ms = 1700000002000;
  auto back = decodeCursor(encodeCursor(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->settled_ms, c.settled_ms);
  EXPECT_TRUE(back->pass_open);
  EXPECT_EQ(back->pass_at_ms, c.pass_at_ms);
  EXPECT_EQ(back->pass_hw_ms, c.pass_hw_ms);

  c.pass_at_ms.reset();  // a pass whose first answer had no Date
  back = decodeCursor(encodeCursor(c));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->pass_open);
  EXPECT_FALSE(back->pass_at_ms);

  c.pass_open = false;
  back = decodeCursor(encodeCursor(c));
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->pass_open);

  // Written before settled time: nothing settled, and the pass that may be under way settles
  // nothing either (its start is not known).
  const auto old = decodeCursor(R"({"v":1,"since":5,"hw":5,"seen":{"7":[5,99]},"capped":true})");
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->settled_ms, 0);
  EXPECT_TRUE(old->pass_open);
  EXPECT_FALSE(old->pass_at_ms);
  ASSERT_EQ(old->seen.size(), 1u);
  EXPECT_EQ(old->seen.at("7").hash, 99u);

  const auto bad = decodeCursor(R"({"v":1,"since":5,"settled":0,"pass":"x"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "cursor: \"pass\" must be an integer or null");
}

}  // namespace
}  // namespace tandem::agent::connector::testing
