// TLS against a local Asio SSL server whose self-signed certificate (for "localhost") is made
// here with OpenSSL: verification fails without the CA, succeeds with it as the CA file, checks
// the host name, and the client sends SNI.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "agent/net/http_client.h"
#include "tests/agent/io_runner.h"
#include "tests/agent/tls_server.h"

namespace tandem::agent::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

using tandem::testing::makeSelfSigned;
using tandem::testing::SelfSigned;
using tandem::testing::TlsServer;

struct Tls : ::testing::Test {
  SelfSigned identity = makeSelfSigned("localhost");
  std::filesystem::path caFile = std::filesystem::temp_directory_path() /
                                 ("tandem-test-ca-" + std::to_string(::getpid()) + ".pem");
  void SetUp() override { std::ofstream(caFile) << identity.certPem; }
  void TearDown() override { std::filesystem::remove(caFile); }

  // Without the system CA store unless `system_store`: the tests' certificate is in no store.
  HttpResult get(testing::IoRunner& io, HttpClientOptions options, const std::string& url,
                 bool system_store = false) {
    options.useSystemCaStore = system_store;
    auto client = makeHttpClient(io.ioc(), options);
    EXPECT_TRUE(client.has_value());
    HttpRequest request;
    request.target = url;
    auto result = io.run((*client)->send(request));
    if (!result) {
      return std::unexpected(HttpError{HttpFailure::kNone, "test deadline passed"});
    }
    return std::move(*result);
  }
};

TEST_F(Tls, VerificationFailsWithoutTheCa) {
  testing::IoRunner io;
  TlsServer server(identity);
  const std::string url = "https://localhost:" + std::to_string(server.port()) + "/x";
  auto r = get(io, {}, url);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, HttpFailure::kTls);
  EXPECT_EQ(r.error().message.rfind("http GET " + url + ": tls handshake: ", 0), 0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
      << r.error().message;
}

TEST_F(Tls, SucceedsWithTheCaFileAndSendsSni) {
  testing::IoRunner io;
  TlsServer server(identity);
  HttpClientOptions options;
  options.caFile = caFile.string();
  auto r = get(io, options, "https://localhost:" + std::to_string(server.port()) + "/x");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(server.sni(), "localhost");
}

// The system store is read before the first TLS connection, after the CA file: trusting what
// it adds must not forget the configuration's own CA.
TEST_F(Tls, TheSystemStoreKeepsTheCaFileTrusted) {
  testing::IoRunner io;
  TlsServer server(identity);
  HttpClientOptions options;
  options.caFile = caFile.string();
  const std::string url = "https://localhost:" + std::to_string(server.port()) + "/x";
  auto r = get(io, options, url, /*system_store=*/true);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

TEST_F(Tls, HostNameMustMatchTheCertificate) {
  testing::IoRunner io;
  TlsServer server(identity);
  HttpClientOptions options;
  options.caFile = caFile.string();
  // Trusted certificate, but issued for "localhost", not for the IP address.
  auto r = get(io, options, "https://127.0.0.1:" + std::to_string(server.port()) + "/x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, HttpFailure::kTls);
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
      << r.error().message;
}

TEST(TlsConfig, MissingCaFileIsAConfigurationError) {
  testing::IoRunner io;
  HttpClientOptions options;
  options.useSystemCaStore = false;
  options.caFile = "/nonexistent/ca.pem";
  auto client = makeHttpClient(io.ioc(), options);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().message.rfind("http client: CA file /nonexistent/ca.pem: ", 0), 0u)
      << client.error().message;
}

}  // namespace
}  // namespace tandem::agent::net
