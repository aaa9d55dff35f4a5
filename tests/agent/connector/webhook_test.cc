// Webhook deliveries sent by the fixture servers themselves (HubSpot v3 and QuickBooks schemes)
// to an agent HTTP server on port 0, verified by the connector: good, tampered, expired, early.
#include <mutex>

#include "agent/net/http_server.h"
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

class WebhookTest : public ConnectorTest {
 protected:
  void SetUp() override {
    ConnectorTest::SetUp();
    net::Router router;
    for (const char* path : {"/hooks/crm", "/hooks/fin"}) {
      router.add("POST", path,
                 [this](net::HttpRequest request) -> boost::asio::awaitable<net::HttpResponse> {
                   std::lock_guard lock(mu_);
                   received_.push_back(std::move(request));
                   co_return net::HttpResponse{};
                 });
    }
    server_http_ =
        std::make_unique<net::HttpServer>(io_.ioc(), net::HttpServerOptions{}, std::move(router));
    ASSERT_TRUE(server_http_->start());
    const std::string base = "http://127.0.0.1:" + std::to_string(server_http_->port());
    ASSERT_TRUE(client_->setWebhook("crm", base + "/hooks/crm", "crm-hook-secret"));
    ASSERT_TRUE(client_->setWebhook("fin", base + "/hooks/fin", "fin-verifier"));
  }
  void TearDown() override {
    server_.reset();  // stop the senders before the receiver goes away
    server_http_.reset();
  }

  net::HttpRequest waitForDelivery(const std::string& path) {
    net::HttpRequest out;
    const bool got = agent::testing::waitFor([&] {
      std::lock_guard lock(mu_);
      for (auto& r : received_) {
        if (r.target == path) {
          out = r;
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(got) << "no webhook delivery to " << path;
    return out;
  }

  std::mutex mu_;
  std::vector<net::HttpRequest> received_;
  std::unique_ptr<net::HttpServer> server_http_;
};

int64_t timestampOf(const net::HttpRequest& request) {
  return std::stoll(std::string(request.header("X-HubSpot-Request-Timestamp")));
}

TEST_F(WebhookTest, CrmDeliveryVerifiesAndNamesTheRecords) {
  Connector& c = connector("crm");
  ASSERT_NE(c.webhook(), nullptr);
  EXPECT_EQ(c.webhook()->path, "/hooks/crm");
  const auto ids = seed(3, "crm");
  const net::HttpRequest delivery = waitForDelivery("/hooks/crm");
  const int64_t ts = timestampOf(delivery);
  auto verified = c.verifyWebhook(delivery, ts + 1000);
  ASSERT_TRUE(verified) << verified.error().message;
  // Each seed is one event; the first batch may hold fewer than all three.
  ASSERT_FALSE(verified->ids.empty());
  for (const auto& id : verified->ids) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  }
}

TEST_F(WebhookTest, CrmTamperedBodyIsASignatureMismatch) {
  Connector& c = connector("crm");
  seed(1, "crm");
  net::HttpRequest delivery = waitForDelivery("/hooks/crm");
  delivery.body.insert(1, " ");
  auto verified = c.verifyWebhook(delivery, timestampOf(delivery));
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().message, "webhook crm: signature mismatch");
}

TEST_F(WebhookTest, CrmOldOrEarlyTimestampIsRefused) {
  Connector& c = connector("crm");
  seed(1, "crm");
  const net::HttpRequest delivery = waitForDelivery("/hooks/crm");
  const int64_t ts = timestampOf(delivery);
  auto old = c.verifyWebhook(delivery, ts + 400000);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().message,
            "webhook crm: timestamp " + std::to_string(ts) + " is 400000 ms old, tolerance 300000");
  auto early = c.verifyWebhook(delivery, ts - 300001);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().message, "webhook crm: timestamp " + std::to_string(ts) +
                                       " is 300001 ms in the future, tolerance 300000");
  EXPECT_TRUE(c.verifyWebhook(delivery, ts + 300000)) << "the tolerance is inclusive";
}

TEST_F(WebhookTest, MissingHeadersAreNamed) {
  Connector& c = connector("crm");
  seed(1, "crm");
  net::HttpRequest delivery = waitForDelivery("/hooks/crm");
  net::HttpRequest unsigned_copy = delivery;
  std::erase_if(unsigned_copy.headers,
                [](const auto& h) { return h.first == "X-HubSpot-Signature-v3"; });
  auto a = c.verifyWebhook(unsigned_copy, timestampOf(delivery));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, "webhook crm: missing header X-HubSpot-Signature-v3");
  std::erase_if(delivery.headers,
                [](const auto& h) { return h.first == "X-HubSpot-Request-Timestamp"; });
  auto b = c.verifyWebhook(delivery, 0);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "webhook crm: missing header X-HubSpot-Request-Timestamp");
}

TEST_F(WebhookTest, FinBodySignatureAndNestedIds) {
  Connector& c = connector("fin");
  const auto ids = seed(1, "fin");
  const net::HttpRequest delivery = waitForDelivery("/hooks/fin");
  auto verified = c.verifyWebhook(delivery, 0);  // no timestamp in this scheme
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->ids, ids);

  system("fin").entities.front().connector.webhook->secret = mappers::Secret("test", "other");
  Connector& wrong = connector("fin");
  auto refused = wrong.verifyWebhook(delivery, 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "webhook fin: signature mismatch");
}

TEST_F(WebhookTest, EntityWithoutWebhookSaysSo) {
  Connector& c = connector("erp");
  EXPECT_EQ(c.webhook(), nullptr);
  auto r = c.verifyWebhook(net::HttpRequest{}, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "webhook erp: entity customer has no webhook");
}

}  // namespace
}  // namespace tandem::agent::connector::testing
