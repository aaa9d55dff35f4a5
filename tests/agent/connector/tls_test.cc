// The channel over https: the system's base_url with a self-signed certificate trusted through
// ChannelOptions::ca_file (SNI sent, peer verified), and refused without it. The certificate
// and the blocking TLS server are the ones of tests/agent/tls_test.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "agent/connector/connector.h"
#include "tests/agent/io_runner.h"
#include "tests/agent/tls_server.h"

namespace tandem::agent::connector {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

using tandem::testing::makeSelfSigned;
using tandem::testing::SelfSigned;
using tandem::testing::TlsServer;

mappers::SystemConfig httpsSystem(uint16_t port) {
  mappers::SystemConfig s;
  s.name = "secure";
  s.base_url = "https://localhost:" + std::to_string(port);
  mappers::SystemEntity e;
  e.entity = "thing";
  e.connector.pointers.id = "/id";
  e.connector.del.mode = mappers::DeleteMode::Request;
  e.connector.del.request = {"DELETE", "/things/{id}", {}, ""};
  s.entities.push_back(std::move(e));
  return s;
}

struct ConnectorTls : ::testing::Test {
  SelfSigned identity = makeSelfSigned("localhost");
  std::filesystem::path caFile = std::filesystem::temp_directory_path() /
                                 ("tandem-connector-ca-" + std::to_string(::getpid()) + ".pem");
  void SetUp() override { std::ofstream(caFile) << identity.certPem; }
  void TearDown() override { std::filesystem::remove(caFile); }

  engine::PushOutcome remove(uint16_t port, ChannelOptions options) {
    const mappers::SystemConfig system = httpsSystem(port);
    auto channel = SystemChannel::make(io.ioc(), system, clock, std::move(options));
    EXPECT_TRUE(channel) << channel.error().message;
    auto conn = Connector::make(**channel, system, system.entities.front());
    EXPECT_TRUE(conn) << conn.error().message;
    auto outcome = io.run((*conn)->remove("7", ""));
    EXPECT_TRUE(outcome) << "no answer within the deadline";
    return outcome ? *outcome : engine::PushOutcome{engine::PushRetryable{"deadline", 0}};
  }

  testing::IoRunner io;
  SystemClock clock;
};

TEST_F(ConnectorTls, TrustedThroughTheCaFileWithSni) {
  TlsServer server(identity);
  ChannelOptions options;
  options.ca_file = caFile.string();
  const auto outcome = remove(server.port(), options);
  const auto* ok = std::get_if<engine::PushSuccess>(&outcome);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->native_id, "7");
  EXPECT_EQ(server.sni(), "localhost");
}

TEST_F(ConnectorTls, UntrustedCertificateIsPermanent) {
  TlsServer server(identity);
  const auto outcome = remove(server.port(), {});
  const auto* p = std::get_if<engine::PushPermanent>(&outcome);
  ASSERT_TRUE(p);
  EXPECT_TRUE(
      p->error.starts_with("connector secure.thing delete 7: http DELETE https://localhost:"))
      << p->error;
  EXPECT_NE(p->error.find("certificate verify failed"), std::string::npos) << p->error;
}

}  // namespace
}  // namespace tandem::agent::connector
