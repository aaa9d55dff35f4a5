// fetchChanges against the three fixture systems: from scratch and resumed, paging, the cursor
// boundary (C17), capped feeds (C18), malformed pages and single bad records.
#include <algorithm>

#include "agent/connector/cursor.h"
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

std::string phoneEdit(const std::string& system, const std::string& phone) {
  if (system == "crm") {
    return R"({"properties":{"phone":")" + phone + R"("}})";
  }
  if (system == "erp") {
    return R"({"phone":")" + phone + R"("})";
  }
  return R"({"PrimaryPhone":{"FreeFormNumber":")" + phone + R"("}})";
}

class FeedEachSystem : public ConnectorTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(FeedEachSystem, FromScratchThenResumeFromCursor) {
  const std::string name = GetParam();
  const auto ids = seed(5, name);
  Connector& c = connector(name);
  const Drained first = drain(c, std::nullopt);
  EXPECT_EQ(first.ids.size(), 5u);
  EXPECT_EQ(unique(first.ids), unique(ids));
  EXPECT_TRUE(first.errors.empty());
  ASSERT_TRUE(first.cursor);

  const Drained quiet = drain(c, first.cursor);
  EXPECT_TRUE(quiet.ids.empty()) << "re-read the overlap window without de-duplicating";

  humanEdit(name, ids[2], phoneEdit(name, "+1 555 0102"));
  const Drained edited = drain(c, quiet.cursor);
  EXPECT_EQ(edited.ids, std::vector<std::string>{ids[2]});

  // A fresh connector (agent restart) resumes from the stored cursor alone.
  Connector& restarted = connector(name);
  EXPECT_TRUE(drain(restarted, edited.cursor).ids.empty());
  humanEdit(name, ids[4], phoneEdit(name, "+1 555 0104"));
  EXPECT_EQ(drain(restarted, edited.cursor).ids, std::vector<std::string>{ids[4]});
}

TEST_P(FeedEachSystem, RecordsCarryPointersFromTheConfig) {
  const std::string name = GetParam();
  const auto ids = seed(1, name);
  Connector& c = connector(name);
  auto batch = fetch(c, std::nullopt);
  ASSERT_TRUE(batch) << batch.error().message;
  ASSERT_EQ(batch->records.size(), 1u);
  const NativeRecord& rec = batch->records[0];
  EXPECT_EQ(rec.id, ids[0]);
  EXPECT_GT(rec.updated_ms, kT0);
  EXPECT_FALSE(rec.deleted);
  EXPECT_FALSE(rec.archived);
  EXPECT_TRUE(rec.body.IsObject());
  EXPECT_EQ(rec.version, name == "fin" ? "0" : "");
}

INSTANTIATE_TEST_SUITE_P(Systems, FeedEachSystem, ::testing::Values("crm", "erp", "fin"));

// The feed cases of CONVERGENCE.md, named by their number.
class Convergence : public ConnectorTest {};

// Distinct updated times: each page restarts the search from the last one seen (keyset).
TEST_F(ConnectorTest, CrmPagesRestartFromTheLastUpdatedSeen) {
  clock(R"({"freeze_at_ms":1700000000000})");
  spec("crm").feed.paging.limit = 3;
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    clock(R"({"advance_ms":5})");
    ids.push_back(seed(1, "crm")[0]);
  }
  Connector& c = connector("crm");
  const Drained all = drain(c, std::nullopt);
  EXPECT_EQ(all.calls, 4);  // 3 new, then 2 + 2 + 1 new after the re-read boundary record
  EXPECT_EQ(all.ids, ids);
}

// The search's "total" (feed.total) says how many records the running query still holds, so
// the initial load can show an ETA; after the last page nothing remains.
TEST_F(ConnectorTest, CrmFeedReportsHowManyRecordsRemain) {
  clock(R"({"freeze_at_ms":1700000000000})");
  spec("crm").feed.paging.limit = 3;
  for (int i = 0; i < 8; ++i) {
    clock(R"({"advance_ms":5})");
    seed(1, "crm");
  }
  Connector& c = connector("crm");
  auto first = fetch(c, std::nullopt);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->more);
  ASSERT_TRUE(first->remaining.has_value());
  EXPECT_EQ(*first->remaining, 5u);
  std::optional<std::string> cursor = first->cursor;
  std::optional<uint64_t> last;
  for (int i = 0; i < 10; ++i) {
    auto b = fetch(c, cursor);
    ASSERT_TRUE(b) << b.error().message;
    last = b->remaining;
    cursor = b->cursor ? b->cursor : cursor;
    if (!b->more) {
      break;
    }
  }
  EXPECT_EQ(last, std::optional<uint64_t>(0));
  // A feed without a total pointer says nothing.
  seed(2, "erp");
  auto erp = fetch(connector("erp"), std::nullopt);
  ASSERT_TRUE(erp);
  EXPECT_FALSE(erp->remaining.has_value());
}

// One shared updated time: restarting cannot move on, so the body token is followed.
TEST_F(ConnectorTest, CrmFollowsTheBodyTokenWithinOneUpdatedTime) {
  clock(R"({"freeze_at_ms":1700000000000})");
  spec("crm").feed.paging.limit = 3;
  const auto ids = seed(8, "crm");
  Connector& c = connector("crm");
  const Drained all = drain(c, std::nullopt);
  EXPECT_EQ(all.calls, 4);  // 3 from 1970, restart at the shared time: 0 + 3 + 2 new
  EXPECT_EQ(all.ids.size(), 8u);
  EXPECT_EQ(unique(all.ids), unique(ids));
}

// A search's paging token is an offset: an edit mid-scan moves a record to the end and shifts
// the rest up. Restarting from the last updated time does not skip the record that moved up.
TEST_F(ConnectorTest, CrmEditMidScanDoesNotSkipARecord) {
  clock(R"({"freeze_at_ms":1700000000000})");
  spec("crm").feed.paging.limit = 3;
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    clock(R"({"advance_ms":5})");
    ids.push_back(seed(1, "crm")[0]);
  }
  clock(R"({"advance_ms":10000})");  // the seeds are now older than the overlap window
  Connector& c = connector("crm");
  auto first = fetch(c, std::nullopt);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->records.size(), 3u);
  humanEdit("crm", ids[0], phoneEdit("crm", "+1 555 0199"));
  const Drained rest = drain(c, first->cursor);
  std::set<std::string> all = unique(rest.ids);
  for (const auto& r : first->records) {
    all.insert(r.id);
  }
  EXPECT_EQ(all, unique(ids));
  EXPECT_EQ(rest.ids.size(), 5u);  // the 4 not yet seen plus the edited one, each once
}

TEST_F(ConnectorTest, ErpPagesByOffsetUntilAShortPage) {
  spec("erp").feed.paging.limit = 3;
  const auto ids = seed(7, "erp");
  Connector& c = connector("erp");
  auto first = fetch(c, std::nullopt);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->records.size(), 3u);
  EXPECT_TRUE(first->more);
  const Drained rest = drain(c, first->cursor);
  // Each page starts one record early (offsets 2, 4, 6): 3 (1 new), 3 (2 new), 1 (1 new).
  EXPECT_EQ(rest.calls, 3);
  EXPECT_EQ(rest.ids.size(), 4u);
  std::set<std::string> all = unique(rest.ids);
  for (const auto& r : first->records) {
    all.insert(r.id);
  }
  EXPECT_EQ(all, unique(ids));
}

TEST_F(ConnectorTest, OffsetPagingSurvivesARecordMovingToTheEndMidScan) {
  clock(R"({"freeze_at_ms":1700000000000})");
  spec("erp").feed.paging.limit = 3;
  const auto ids = seed(7, "erp");
  clock(R"({"advance_ms":10000})");  // the seeds are now older than the overlap window
  Connector& c = connector("erp");
  auto first = fetch(c, std::nullopt);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->records.size(), 3u);
  // An edit on the first page moves that record to the end of the order and shifts the rest.
  humanEdit("erp", first->records[0].id, phoneEdit("erp", "+49 40 5555"));
  const Drained rest = drain(c, first->cursor);
  std::set<std::string> all = unique(rest.ids);
  for (const auto& r : first->records) {
    all.insert(r.id);
  }
  EXPECT_EQ(all, unique(ids));
  EXPECT_EQ(rest.ids.size(), 5u);  // the 4 not yet seen plus the edited one, each once
}

// A bulk load read by offset: each page whose last updated second moves past the query's since
// restarts the query there, skipping the tail it already read (less the margin), so no request
// asks for an offset deeper than one second's records plus a page. Nothing is skipped or reported
// twice, and a record edited mid-scan (it moves to the end) is reported again with its edit.
TEST_F(ConnectorTest, ErpOffsetPagingRestartsAtTheLastSecondSoOffsetsStaySmall) {
  clock(R"({"freeze_at_ms":1700000000000})");
  spec("erp").feed.paging.limit = 10;
  std::vector<std::string> ids;
  for (int second = 0; second < 6; ++second) {
    for (const auto& id : seed(25, "erp")) {
      ids.push_back(id);
    }
    clock(R"({"advance_ms":1000})");
  }
  clock(R"({"advance_ms":10000})");  // the seeds are now older than the overlap window
  Connector& c = connector("erp");
  std::vector<std::string> got;
  std::optional<std::string> cursor;
  int64_t deepest = 0;
  bool edited = false;
  for (int call = 0; call < 100; ++call) {
    auto page = fetch(c, cursor);
    ASSERT_TRUE(page) << page.error().message;
    for (const auto& r : page->records) {
      got.push_back(r.id);
    }
    cursor = page->cursor;
    auto decoded = decodeCursor(*cursor);
    ASSERT_TRUE(decoded) << decoded.error().message;
    if (decoded->scan) {
      deepest = std::max(deepest, decoded->scan->offset);
    }
    if (!edited && got.size() >= 60) {
      edited = true;  // in the middle of the third second's records
      humanEdit("erp", got[55], phoneEdit("erp", "+49 40 5556"));
    }
    if (!page->more) {
      break;
    }
  }
  EXPECT_EQ(unique(got), unique(ids));
  EXPECT_EQ(got.size(), ids.size() + 1);  // each once, the edited one twice
  EXPECT_LT(deepest, 25 + 10) << "an offset past one second's records and a page";
}

// Many records share one updated second (ERP write_date has whole seconds), the second goes on
// filling after the cursor was stored, a record is edited twice within that second, and a slow
// transaction back-dates a row behind the cursor: every change is reported exactly once.
TEST_F(Convergence, C17_CursorBoundarySharedSecondAndBackdatedRow) {
  clock(R"({"freeze_at_ms":1700000000200})");
  spec("erp").feed.paging.limit = 4;  // pages break inside the shared second
  const auto ids = seed(10, "erp");
  Connector& c = connector("erp");
  const Drained first = drain(c, std::nullopt);
  EXPECT_EQ(first.ids.size(), 10u);
  EXPECT_EQ(unique(first.ids), unique(ids));

  // Same second, after the cursor: two new rows and a second edit of an already reported one.
  clock(R"({"advance_ms":300})");
  const auto more = seed(2, "erp");
  humanEdit("erp", ids[0], phoneEdit("erp", "+49 30 0000"));
  const Drained second = drain(c, first.cursor);
  std::set<std::string> expected(more.begin(), more.end());
  expected.insert(ids[0]);
  EXPECT_EQ(second.ids.size(), 3u);
  EXPECT_EQ(unique(second.ids), expected);

  // Three seconds later a normal row is read, moving the cursor's high-water mark to that
  // second; then a slow transaction commits a row stamped two and a half seconds back, behind it.
  clock(R"({"advance_ms":3000})");
  const auto normal = seed(1, "erp");
  const Drained third = drain(c, second.cursor);
  EXPECT_EQ(third.ids, normal);
  settings("erp", R"({"backdate_ms":2500})");
  const auto backdated = seed(1, "erp");
  settings("erp", R"({"backdate_ms":0})");
  const Drained fourth = drain(c, third.cursor);
  EXPECT_EQ(fourth.ids, backdated);

  const Drained quiet = drain(c, fourth.cursor);
  EXPECT_TRUE(quiet.ids.empty());
}

// The CRM's updatedAt has milliseconds, but a burst shares one: page boundaries fall inside it.
TEST_F(Convergence, C17_CursorBoundaryCrmSharedMillisecondAcrossPages) {
  clock(R"({"freeze_at_ms":1700000000500})");
  spec("crm").feed.paging.limit = 3;
  const auto ids = seed(7, "crm");
  Connector& c = connector("crm");
  const Drained first = drain(c, std::nullopt);
  EXPECT_EQ(first.ids.size(), 7u);
  EXPECT_EQ(unique(first.ids), unique(ids));
  const auto late = seed(2, "crm");  // the same millisecond, after the cursor was stored
  const Drained second = drain(c, first.cursor);
  EXPECT_EQ(second.ids.size(), 2u);
  EXPECT_EQ(unique(second.ids), unique(late));
}

// QuickBooks-like CDC returns the oldest `cdc_cap` changes and has no paging: the connector
// narrows the window to the last second it saw and repeats until nothing is cut off.
TEST_F(Convergence, C18_CappedFeedNarrowsUntilNothingIsMissed) {
  settings("fin", R"({"cdc_cap":5})");
  spec("fin").feed.paging.max_results = 5;
  clock(R"({"freeze_at_ms":1700000000000})");
  std::vector<std::string> ids;
  for (int i = 0; i < 23; ++i) {
    if (i % 2 == 0) {
      clock(R"({"advance_ms":1000})");  // two changes per second
    }
    const auto one = seed(1, "fin");
    ids.push_back(one[0]);
  }
  Connector& c = connector("fin");
  const Drained all = drain(c, std::nullopt);
  EXPECT_EQ(all.ids.size(), 23u);
  EXPECT_EQ(unique(all.ids), unique(ids));
  EXPECT_GT(all.calls, 5);
  EXPECT_GT(counter("fin", "cdc_truncated"), 0);
  EXPECT_TRUE(drain(c, all.cursor).ids.empty());
}

// HubSpot-like search pages at most `search_cap` deep. Groups of contacts share an updated
// time, one group nearly as large as the cap: the token is followed inside a group, and when the
// cap is near the search restarts from the last updated time seen.
TEST_F(Convergence, C18_CappedSearchRestartsFromTheLastUpdatedSeen) {
  settings("crm", R"({"search_cap":10})");
  spec("crm").feed.paging.limit = 4;
  spec("crm").feed.paging.max_results = 10;
  clock(R"({"freeze_at_ms":1700000000000})");
  std::vector<std::string> ids;
  for (int group : {3, 9, 4, 9}) {
    clock(R"({"advance_ms":7})");
    for (const auto& id : seed(group, "crm")) {
      ids.push_back(id);
    }
  }
  Connector& c = connector("crm");
  const Drained all = drain(c, std::nullopt);
  EXPECT_EQ(all.ids.size(), 25u);
  EXPECT_EQ(unique(all.ids), unique(ids));
  EXPECT_EQ(counter("crm", "status_400"), 0) << "paged past the search cap";
}

TEST_F(ConnectorTest, CappedFeedWithTheCapWithinOneSecondIsAnErrorWithoutADenseFallback) {
  settings("fin", R"({"cdc_cap":5})");
  spec("fin").feed.paging.max_results = 5;
  spec("fin").feed.dense_fallback.reset();
  clock(R"({"freeze_at_ms":1700000000000})");
  seed(6, "fin");
  Connector& c = connector("fin");
  auto first = fetch(c, std::nullopt);  // from 1970: narrowing to the second of the burst works
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->records.size(), 5u);
  EXPECT_TRUE(first->more);
  auto stuck = fetch(c, first->cursor);
  ASSERT_FALSE(stuck);
  EXPECT_EQ(stuck.error().message,
            "connector fin.customer feed: page 1: 5 records reached the feed's cap of 5 at or "
            "after 2023-11-14T22:13:20Z without a later updated time; the window cannot be "
            "narrowed further (a feed.dense_fallback request would read that second page by "
            "page)");
  EXPECT_FALSE(fetch(c, first->cursor)) << "the error repeats on every poll";
}

TEST_F(ConnectorTest, TruncatedPageIsAnErrorAndTheCursorStaysWhereItWas) {
  const auto ids = seed(3, "erp");
  Connector& c = connector("erp");
  const Drained first = drain(c, std::nullopt);
  ASSERT_EQ(first.ids.size(), 3u);
  humanEdit("erp", ids[1], phoneEdit("erp", "+49 89 1111"));
  settings("erp", R"({"p_truncate":1})");
  auto cut = fetch(c, first.cursor);
  ASSERT_FALSE(cut);
  EXPECT_TRUE(
      cut.error().message.starts_with("connector erp.customer feed: page 1: answer is not "
                                      "JSON: "))
      << cut.error().message;
  settings("erp", R"({"p_truncate":0})");
  // The stored cursor did not move: the edit is still ahead of it.
  EXPECT_EQ(drain(c, first.cursor).ids, std::vector<std::string>{ids[1]});
}

TEST_F(ConnectorTest, RecordsThatAreNotAnArrayAreAnError) {
  seed(1, "crm");
  spec("crm").feed.records_pointer = "/total";
  Connector& c = connector("crm");
  auto batch = fetch(c, std::nullopt);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().message,
            "connector crm.customer feed: page 1: records at \"/total\" is not an array (got "
            "integer)");
}

TEST_F(ConnectorTest, OneBadRecordComesBackWithItsErrorAndTheRestOfTheBatch) {
  humanCreate("erp", R"({"name":"Ada Lovelace","email":"ada@x.io"})");
  const std::string bad = humanCreate("erp", R"({"name":"Bob Bad","vat":"DE123"})");
  humanCreate("erp", R"({"name":"Cy Young","email":"cy@x.io"})");
  spec("erp").pointers.archived = "/vat";  // false when empty, a string for Bob: not a bool
  Connector& c = connector("erp");
  auto batch = fetch(c, std::nullopt);
  ASSERT_TRUE(batch) << batch.error().message;
  ASSERT_EQ(batch->records.size(), 3u);
  int errors = 0;
  for (const auto& rec : batch->records) {
    if (!rec.error.empty()) {
      ++errors;
      EXPECT_EQ(rec.error, "connector erp.customer feed: page 1: record 2 (id " + rec.id +
                               "): archived at \"/vat\": expected bool, got string");
    }
  }
  EXPECT_EQ(errors, 1);
  (void)bad;
}

TEST_F(ConnectorTest, RejectedCredentialsAreAnErrorWithTheSystemsText) {
  system("crm").auth.secret = mappers::Secret("test", "wrong-token");
  Connector& c = connector("crm");
  auto batch = fetch(c, std::nullopt);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().message,
            "connector crm.customer feed: page 1: HTTP 401: Authentication credentials not "
            "found. This API supports OAuth 2.0 authentication.");
}

TEST_F(ConnectorTest, ServerErrorsAndThrottlingFailTheFeedPage) {
  Connector& c = connector("erp");
  settings("erp", R"({"p_500":1})");
  auto failed = fetch(c, std::nullopt);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message,
            "connector erp.customer feed: page 1: HTTP 500: could not serialize access due to "
            "concurrent update");
  settings("erp", R"({"p_500":0,"p_429":1})");
  auto throttled = fetch(c, std::nullopt);
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.error().message,
            "connector erp.customer feed: page 1: throttled: HTTP 429: 429 Too Many Requests: "
            "rate limit exceeded (retry in 1000 ms)");
}

TEST_F(ConnectorTest, BadCursorIsAnError) {
  Connector& c = connector("fin");
  auto batch = fetch(c, std::string("{\"v\":1,\"seen\":[1]}"));
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().message,
            "connector fin.customer feed: cursor: \"seen\" must map ids to [updated, hash]");
}

}  // namespace
}  // namespace tandem::agent::connector::testing
