// The feed's dense_fallback against the QuickBooks-like finance fixture: more customers share one
// LastUpdatedTime second than the CDC endpoint returns (1,000), so the window cannot be narrowed;
// that second is read through the query endpoint page by page and the CDC feed goes on after it.
#include "agent/connector/cursor.h"
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

class DenseFallback : public ConnectorTest {
 protected:
  // 10 customers, 3 s later `dense` in one second (three of them archived within it: an archive
  // is a change too), 3 s later 10 more. Returns all their ids.
  std::vector<std::string> seedAroundADenseSecond(int dense) {
    clock(R"({"freeze_at_ms":1700000000000})");
    std::vector<std::string> ids = seed(10, "fin");
    clock(R"({"advance_ms":3000})");
    const auto burst = seed(dense, "fin");
    for (const size_t i : {size_t{5}, burst.size() / 2, burst.size() - 1}) {
      EXPECT_TRUE(client_->humanRemove("fin", burst[i], false));
    }
    ids.insert(ids.end(), burst.begin(), burst.end());
    clock(R"({"advance_ms":3000})");
    for (const auto& id : seed(10, "fin")) {
      ids.push_back(id);
    }
    return ids;
  }

  // `polls` polls from `cursor` (moved on): every id they reported, in order.
  std::vector<std::string> pollTimes(Connector& c, std::optional<std::string>& cursor, int polls) {
    std::vector<std::string> reported;
    for (int poll = 0; poll < polls; ++poll) {
      const Drained d = drain(c, cursor);
      EXPECT_TRUE(d.errors.empty());
      reported.insert(reported.end(), d.ids.begin(), d.ids.end());
      cursor = d.cursor;
    }
    return reported;
  }

  static std::set<std::string> expectOnce(const std::vector<std::string>& ids) {
    std::set<std::string> out;
    for (const auto& id : ids) {
      EXPECT_TRUE(out.insert(id).second) << "reported twice: " << id;
    }
    return out;
  }
};

TEST_F(DenseFallback, ASecondDenserThanTheCapIsReadExactlyOnceAndTheFeedMovesPastIt) {
  const auto ids = seedAroundADenseSecond(2500);
  Connector& c = connector("fin");
  const Drained all = drain(c, std::nullopt);
  EXPECT_TRUE(all.errors.empty());
  EXPECT_EQ(all.ids.size(), ids.size());
  EXPECT_EQ(expectOnce(all.ids), unique(ids));
  EXPECT_GT(counter("fin", "cdc_truncated"), 0);
  ASSERT_TRUE(all.cursor);
  auto cursor = decodeCursor(*all.cursor);
  ASSERT_TRUE(cursor) << cursor.error().message;
  EXPECT_FALSE(cursor->dense_ms);
  EXPECT_GE(cursor->since_ms, kT0 + 4000) << "the window still starts in the dense second";

  // Past the second: polls read only the CDC feed, one request each, and report nothing.
  Drained quiet = drain(c, all.cursor);
  EXPECT_TRUE(quiet.ids.empty());
  EXPECT_EQ(quiet.calls, 1);
  quiet = drain(c, quiet.cursor);
  EXPECT_TRUE(quiet.ids.empty());
  EXPECT_EQ(quiet.calls, 1);

  // A later edit of a customer from the dense second is reported, once.
  clock(R"({"advance_ms":5000})");
  humanEdit("fin", ids[1000], R"({"PrimaryPhone":{"FreeFormNumber":"+1 555 0100"}})");
  const Drained edited = drain(c, quiet.cursor);
  EXPECT_EQ(edited.ids, std::vector<std::string>{ids[1000]});
  EXPECT_TRUE(drain(c, edited.cursor).ids.empty());
}

TEST_F(DenseFallback, ArchivedCustomersOfTheDenseSecondComeBackArchived) {
  const auto ids = seedAroundADenseSecond(1200);
  Connector& c = connector("fin");
  std::optional<std::string> cursor;
  std::set<std::string> archived;
  for (int call = 0; call < 20; ++call) {
    auto batch = fetch(c, cursor);
    ASSERT_TRUE(batch) << batch.error().message;
    for (const auto& rec : batch->records) {
      if (rec.archived) {
        archived.insert(rec.id);
      }
    }
    cursor = batch->cursor;
    if (!batch->more) {
      break;
    }
  }
  EXPECT_EQ(archived, (std::set<std::string>{ids[10 + 5], ids[10 + 600], ids[10 + 1199]}));
}

TEST_F(DenseFallback, ARestartInTheMiddleOfTheFallbackLosesAndRepeatsNothing) {
  const auto ids = seedAroundADenseSecond(2500);
  Connector& c = connector("fin");
  std::vector<std::string> reported;
  std::optional<std::string> stored;
  bool mid_fallback = false;
  for (int call = 0; call < 20 && !mid_fallback; ++call) {
    auto batch = fetch(c, stored);
    ASSERT_TRUE(batch) << batch.error().message;
    for (const auto& rec : batch->records) {
      reported.push_back(rec.id);
    }
    ASSERT_TRUE(batch->more) << "the feed ended before the fallback was half read";
    stored = batch->cursor;
    auto cursor = decodeCursor(*stored);
    ASSERT_TRUE(cursor) << cursor.error().message;
    // Two pages of the fallback read, the third (the last) still to come.
    mid_fallback = cursor->dense_ms && cursor->scan && cursor->scan->page == 2;
  }
  ASSERT_TRUE(mid_fallback) << "never stored a cursor in the middle of the fallback";
  EXPECT_LT(reported.size(), ids.size());

  // The agent restarts: a new connector from the stored cursor alone.
  Connector& restarted = connector("fin");
  const Drained rest = drain(restarted, stored);
  EXPECT_TRUE(rest.errors.empty());
  reported.insert(reported.end(), rest.ids.begin(), rest.ids.end());
  EXPECT_EQ(reported.size(), ids.size());
  EXPECT_EQ(expectOnce(reported), unique(ids));
  EXPECT_TRUE(drain(restarted, rest.cursor).ids.empty());
}

// A dense second the system's clock is not yet past (plus the overlap) may still be filling: a
// bulk import in progress, or the agent's own bulk create, and a person may edit one of its
// records in it. The feed reads up to it (the cap's worth it is given) and waits; once the clock
// is past, one fallback read gets the whole second, each record once, and the feed moves on.
TEST_F(DenseFallback, ADenseSecondStillFillingIsReadWholeOnlyOnceItIsComplete) {
  clock(R"({"freeze_at_ms":1700000000000})");
  const auto first = seed(1500, "fin");
  Connector& c = connector("fin");
  const Drained early = drain(c, std::nullopt);
  EXPECT_TRUE(early.errors.empty());
  EXPECT_EQ(early.ids.size(), 1000u) << "read the second through the fallback while it was open";

  const auto late = seed(5, "fin");  // the same second
  humanEdit("fin", first[1200], R"({"PrimaryPhone":{"FreeFormNumber":"+1 555 0177"}})");
  std::optional<std::string> cursor = early.cursor;
  EXPECT_TRUE(pollTimes(c, cursor, 2).empty());

  clock(R"({"advance_ms":3000})");
  const auto later = seed(1, "fin");
  std::vector<std::string> reported = early.ids;
  const auto rest = pollTimes(c, cursor, 2);
  reported.insert(reported.end(), rest.begin(), rest.end());
  std::set<std::string> expected = unique(first);
  expected.insert(late.begin(), late.end());
  expected.insert(later.begin(), later.end());
  EXPECT_EQ(expectOnce(reported), expected);
  const Drained quiet = drain(c, cursor);
  EXPECT_TRUE(quiet.ids.empty());
  EXPECT_EQ(quiet.calls, 1) << "still reading the dense second after it was read whole";
}

// Without a Date header the feed cannot tell whether a dense second is over, so it reads it
// through the fallback at once. A person then edits one of its records later in the same second,
// and a change in the next second follows. That later change shows the second is over, but not
// that the fallback saw all of it: the edit must still be found (it was lost: the feed went on
// after the second for good, E2eSoak.C05). Once a pass begins after a change later than the
// second plus the overlap, the second is not read again.
TEST_F(DenseFallback, AnEditLaterInADenseSecondThanItsReadIsFoundAfterALaterChange) {
  settings("fin", R"({"date_header":false})");
  clock(R"({"freeze_at_ms":1700000000000})");
  const auto ids = seed(1500, "fin");
  Connector& c = connector("fin");
  const Drained all = drain(c, std::nullopt);
  EXPECT_EQ(expectOnce(all.ids), unique(ids));

  clock(R"({"advance_ms":600})");  // still the same second
  humanEdit("fin", ids[700], R"({"PrimaryPhone":{"FreeFormNumber":"+1 555 0177"}})");
  clock(R"({"advance_ms":600})");
  const auto later = seed(1, "fin");
  std::optional<std::string> cursor = all.cursor;
  EXPECT_EQ(expectOnce(pollTimes(c, cursor, 3)), (std::set<std::string>{ids[700], later[0]}));

  clock(R"({"advance_ms":3000})");
  const auto much_later = seed(1, "fin");
  EXPECT_EQ(pollTimes(c, cursor, 2), much_later);
  for (int poll = 0; poll < 3; ++poll) {
    const Drained d = drain(c, cursor);
    EXPECT_TRUE(d.ids.empty());
    EXPECT_EQ(d.calls, 1) << "poll " << poll << " still reads the dense second";
    cursor = d.cursor;
  }
}

TEST_F(DenseFallback, ASmallCapAndPageSizeStillReadEveryRecordOnce) {
  settings("fin", R"({"cdc_cap":5})");
  spec("fin").feed.paging.max_results = 5;
  spec("fin").feed.dense_fallback->paging.limit = 4;
  const auto ids = seedAroundADenseSecond(23);
  clock(R"({"advance_ms":3000})");  // the last 10 are dense too: past them plus the overlap
  Connector& c = connector("fin");
  const Drained all = drain(c, std::nullopt);
  EXPECT_TRUE(all.errors.empty());
  EXPECT_EQ(expectOnce(all.ids), unique(ids));
}

// A fallback whose request selects nothing (here: a filter no customer matches) would skip the
// second silently: it is an error, and the stored cursor stays in the fallback.
TEST_F(DenseFallback, AFallbackThatSelectsNothingIsAnErrorInsteadOfSkippingTheSecond) {
  auto& url = spec("fin").feed.dense_fallback->request.url;
  url.replace(url.find("Active IN (true, false)"), 23, "DisplayName = 'nobody'");
  seedAroundADenseSecond(1200);
  Connector& c = connector("fin");
  std::optional<std::string> cursor;
  for (int call = 0; call < 10; ++call) {
    auto batch = fetch(c, cursor);
    if (!batch) {
      EXPECT_EQ(batch.error().message,
                "connector fin.customer feed dense_fallback 2023-11-14T22:13:23Z: page 1: the "
                "dense fallback returned no records for a second in which the feed reached its "
                "cap of 1000; check that its request selects that second");
      ASSERT_TRUE(cursor);
      EXPECT_TRUE(decodeCursor(*cursor)->dense_ms);
      return;
    }
    ASSERT_TRUE(batch->more) << "the feed moved past the dense second";
    cursor = batch->cursor;
  }
  FAIL() << "no error";
}

TEST(DenseFallbackCursor, TheSecondBeingReadTheFloorAndTheRecheckSurviveEncoding) {
  FeedCursor c;
  c.since_ms = 1700000003000;
  c.dense_ms = 1700000003000;
  c.floor_ms = 1700000002000;
  c.recheck_ms = 1700000002500;
  c.scan.emplace();
  c.scan->since_ms = 1700000003000;
  c.scan->page = 2;
  c.scan->offset = 1800;
  auto back = decodeCursor(encodeCursor(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->dense_ms, c.dense_ms);
  EXPECT_EQ(back->floor_ms, c.floor_ms);
  EXPECT_EQ(back->recheck_ms, c.recheck_ms);
  ASSERT_TRUE(back->scan);
  EXPECT_EQ(back->scan->offset, 1800);
  const auto plain = decodeCursor(R"({"v":1,"since":5,"hw":5})");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->dense_ms);
  EXPECT_EQ(plain->floor_ms, 0);
  EXPECT_FALSE(plain->recheck_ms);
  const auto bad = decodeCursor(R"({"v":1,"since":5,"dense":"x"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "cursor: \"dense\" must be an integer");
  const auto bad_recheck = decodeCursor(R"({"v":1,"since":5,"recheck":true})");
  ASSERT_FALSE(bad_recheck);
  EXPECT_EQ(bad_recheck.error().message, "cursor: \"recheck\" must be an integer");
  const auto bad_pass = decodeCursor(R"({"v":1,"since":5,"settled":0,"pass":7,"pass_hw":"x"})");
  ASSERT_FALSE(bad_pass);
  EXPECT_EQ(bad_pass.error().message, "cursor: \"pass_hw\" must be an integer");
}

}  // namespace
}  // namespace tandem::agent::connector::testing
