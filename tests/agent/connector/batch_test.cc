// batch.create against finance (QuickBooks' batch endpoint, as demo.json configures it): results
// matched to their records by bId whatever their order, and each result's own Fault the outcome
// of that record alone: permanent with the system's text, or retryable when it looks transient.
#include <mutex>

#include <boost/asio/use_awaitable.hpp>

#include "agent/net/http_server.h"
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

namespace asio = boost::asio;

// Keys as the pusher makes them (record id @ system . generation): longer than the 10 characters
// QuickBooks allows a bId when the batch carries a requestid, which it does not.
std::vector<std::string> keysFor(size_t n) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; ++i) {
    keys.push_back("0000018bd5e2f00" + std::to_string(10000 + i) + "@2.1700000000000");
  }
  return keys;
}

class FinBatchTest : public ConnectorTest {
 protected:
  void TearDown() override {
    connectors_.clear();
    channels_.clear();
    http_.reset();
  }

  // Finance played by a server answering each batch with `answer(bIds of the request)`.
  void script(std::function<std::string(const std::vector<std::string>&)> answer) {
    net::Router router;
    router.add("POST", "/v3/company/9130357992222222/batch",
               [this, answer](net::HttpRequest r) -> asio::awaitable<net::HttpResponse> {
                 std::vector<std::string> bIds;
                 auto body = parseJson(r.body);
                 for (const auto& item : body["BatchItemRequest"].GetArray()) {
                   bIds.emplace_back(item["bId"].GetString());
                 }
                 {
                   std::lock_guard lock(mu_);
                   requests_.push_back(r.body);
                 }
                 net::HttpResponse res;
                 res.status = 200;
                 res.headers.emplace_back("Content-Type", "application/json");
                 res.body = answer(bIds);
                 co_return res;
               });
    http_ =
        std::make_unique<net::HttpServer>(io_.ioc(), net::HttpServerOptions{}, std::move(router));
    ASSERT_TRUE(http_->start());
    system("fin").base_url = "http://127.0.0.1:" + std::to_string(http_->port());
  }

  std::unique_ptr<net::HttpServer> http_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

TEST_F(FinBatchTest, ResultsAreMatchedByBIdThoughAnsweredInAnotherOrder) {
  Connector& c = connector("fin");
  ASSERT_EQ(c.batchCreateLimit(), 30u);
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back(R"({"DisplayName":"P)" + std::to_string(i) +
                     R"(","PrimaryEmailAddr":{"Address":"p)" + std::to_string(i) + R"(@x.io"}})");
  }
  auto outcomes = createMany(c, bodies, keysFor(5));
  ASSERT_TRUE(outcomes) << outcomes.error().message;
  ASSERT_EQ(outcomes->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const auto* ok = as<engine::PushSuccess>((*outcomes)[i]);
    ASSERT_TRUE(ok) << describe((*outcomes)[i]);
    EXPECT_EQ(ok->version_token, "0");
    EXPECT_GT(ok->source_ts_ms, 0);
    auto rec = get(c, ok->native_id);
    ASSERT_TRUE(rec);
    EXPECT_EQ(text(*rec, "/PrimaryEmailAddr/Address"), "p" + std::to_string(i) + "@x.io");
  }
  EXPECT_EQ(counter("fin", "api_creates"), 5);
  EXPECT_EQ(counter("fin", "batch_requests"), 1);
  EXPECT_EQ(counter("fin", "requests"), 6);  // one batch, five gets
}

// The fixture's own rules per item: a duplicate DisplayName (6240) or an unknown property (2010)
// refuses that record for good, with QuickBooks' text; the others are created.
TEST_F(FinBatchTest, AFaultFailsItsRecordAlonePermanentlyWithTheSystemsText) {
  humanCreate("fin", R"({"DisplayName":"Ada Lovelace"})");
  Connector& c = connector("fin");
  auto outcomes = createMany(c,
                             {R"({"DisplayName":"Bob"})", R"({"DisplayName":"ada lovelace"})",
                              R"({"DisplayName":"Cy","Nickname":"C"})", R"({"DisplayName":"Dee"})"},
                             keysFor(4));
  ASSERT_TRUE(outcomes) << outcomes.error().message;
  ASSERT_EQ(outcomes->size(), 4u);
  EXPECT_TRUE(as<engine::PushSuccess>((*outcomes)[0])) << describe((*outcomes)[0]);
  EXPECT_TRUE(as<engine::PushSuccess>((*outcomes)[3])) << describe((*outcomes)[3]);
  const auto* dup = as<engine::PushPermanent>((*outcomes)[1]);
  ASSERT_TRUE(dup) << describe((*outcomes)[1]);
  EXPECT_EQ(dup->error,
            "connector fin.customer batch create: The name supplied already exists. : Id=1");
  const auto* bad = as<engine::PushPermanent>((*outcomes)[2]);
  ASSERT_TRUE(bad) << describe((*outcomes)[2]);
  EXPECT_EQ(bad->error,
            "connector fin.customer batch create: Property Name:Unrecognized field \"Nickname\" "
            "specified is unsupported or invalid");
  EXPECT_EQ(counter("fin", "api_creates"), 2);
  EXPECT_EQ(counter("fin", "requests"), 1) << "one request, nothing sent again";
}

// Every kind of result in one answer, answered last first with a stranger among them.
TEST_F(FinBatchTest, MixedResultsEachGetTheirOwnOutcome) {
  script([](const std::vector<std::string>& b) {
    return R"({"BatchItemResponse":[)"
           R"({"bId":"not-asked","Customer":{"Id":"99","SyncToken":"0"}},)"
           R"({"bId":")" +
           b[7] +
           R"(","Fault":{"type":"ValidationFault","code":"x"}},)"
           R"({"bId":")" +
           b[6] +
           R"(","Fault":null,"Customer":{"Id":"11","SyncToken":"0"}},)"
           R"({"bId":")" +
           b[4] +
           R"("},)"
           R"({"bId":")" +
           b[3] +
           R"(","Fault":{"type":"SERVICE","status":"503","Error":[)"
           R"({"Message":"Service Unavailable"}]}},)"
           R"({"bId":")" +
           b[2] +
           R"(","Fault":{"type":"SERVICE","Error":[{"Message":"ThrottleExceeded",)"
           R"("code":"3001"}]}},)"
           R"({"bId":")" +
           b[1] +
           R"(","Fault":{"type":"ValidationFault","Error":[{"Message":"Duplicate Name )"
           R"(Exists Error","Detail":"The name supplied already exists. : Id=3",)"
           R"("code":"6240"}]}},)"
           R"({"bId":")" +
           b[0] +
           R"(","Customer":{"Id":"10","SyncToken":"0","MetaData":{"LastUpdatedTime":)"
           R"("2023-11-14T14:13:20-08:00"}}}],"time":"2023-11-14T14:13:20.000-08:00"})";
  });
  system("fin").default_backoff_ms = 4000;
  Connector& c = connector("fin");
  std::vector<std::string> bodies;
  for (int i = 0; i < 8; ++i) {
    bodies.push_back(R"({"DisplayName":"P)" + std::to_string(i) + R"("})");
  }
  const auto keys = keysFor(8);
  auto outcomes = createMany(c, bodies, keys);
  ASSERT_TRUE(outcomes) << outcomes.error().message;
  ASSERT_EQ(outcomes->size(), 8u);
  const auto& o = *outcomes;
  const auto* first = as<engine::PushSuccess>(o[0]);
  ASSERT_TRUE(first) << describe(o[0]);
  EXPECT_EQ(first->native_id, "10");
  EXPECT_EQ(first->source_ts_ms, 1700000000000);
  const auto* dup = as<engine::PushPermanent>(o[1]);
  ASSERT_TRUE(dup) << describe(o[1]);
  EXPECT_EQ(dup->error,
            "connector fin.customer batch create: The name supplied already exists. : Id=3");
  // The system's throttle signal (error code 3001 at /Fault/Error/0/code): again later, after
  // the system's default backoff.
  const auto* throttled = as<engine::PushRetryable>(o[2]);
  ASSERT_TRUE(throttled) << describe(o[2]);
  EXPECT_EQ(throttled->retry_after_ms, 4000);
  EXPECT_EQ(throttled->error, "connector fin.customer batch create: ThrottleExceeded (transient)");
  const auto* unavailable = as<engine::PushRetryable>(o[3]);
  ASSERT_TRUE(unavailable) << describe(o[3]);
  EXPECT_EQ(unavailable->error,
            "connector fin.customer batch create: Service Unavailable (transient)");
  // Neither an id nor an error, or no result at all: the outcome is unknown, read back first.
  for (size_t i : {4u, 5u}) {
    const auto* unknown = as<engine::PushRetryable>(o[i]);
    ASSERT_TRUE(unknown) << i << ": " << describe(o[i]);
    EXPECT_TRUE(unknown->error.starts_with(
        "connector fin.customer batch create: the answer has no result for this record"))
        << unknown->error;
  }
  const auto* nullFault = as<engine::PushSuccess>(o[6]);
  ASSERT_TRUE(nullFault) << describe(o[6]);
  EXPECT_EQ(nullFault->native_id, "11");
  const auto* noText = as<engine::PushPermanent>(o[7]);
  ASSERT_TRUE(noText) << describe(o[7]);
  EXPECT_EQ(noText->error,
            R"(connector fin.customer batch create: {"type":"ValidationFault","code":"x"})");
  // The request as QuickBooks takes it: the items in the records' order, bId the key.
  std::lock_guard lock(mu_);
  ASSERT_EQ(requests_.size(), 1u);
  auto sent = parseJson(requests_[0]);
  const auto& items = sent["BatchItemRequest"];
  ASSERT_EQ(items.Size(), 8u);
  EXPECT_EQ(std::string(items[0]["bId"].GetString()), keys[0]);
  EXPECT_STREQ(items[0]["operation"].GetString(), "create");
  EXPECT_STREQ(items[0]["Customer"]["DisplayName"].GetString(), "P0");
}

}  // namespace
}  // namespace tandem::agent::connector::testing
