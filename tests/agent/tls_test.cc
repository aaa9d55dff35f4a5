// TLS against a local Asio SSL server whose self-signed certificate (for "localhost") is made
// here with OpenSSL: verification fails without the CA, succeeds with it as the CA file, checks
// the host name, and the client sends SNI.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "agent/net/http_client.h"
#include "tests/agent/io_runner.h"

namespace tandem::agent::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct SelfSigned {
  std::string certPem;
  std::string keyPem;
};

std::string bioString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

SelfSigned makeSelfSigned(const char* dnsName) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dnsName), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  const std::string san = std::string("DNS:") + dnsName;
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, san},
                                   std::pair{NID_basic_constraints, std::string("CA:TRUE")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  SelfSigned out;
  BIO* certBio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(certBio, cert);
  out.certPem = bioString(certBio);
  BIO_free(certBio);
  BIO* keyBio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(keyBio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.keyPem = bioString(keyBio);
  BIO_free(keyBio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

// Blocking TLS server on 127.0.0.1:0; answers "ok" to each connection that completes a
// handshake, and remembers the SNI name it saw.
class TlsServer {
 public:
  explicit TlsServer(const SelfSigned& identity)
      : ssl_(asio::ssl::context::tls_server),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    ssl_.use_certificate_chain(asio::buffer(identity.certPem));
    ssl_.use_private_key(asio::buffer(identity.keyPem), asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string sni() {
    std::lock_guard lock(mu_);
    return sni_;
  }

 private:
  void serve() {
    for (;;) {
      asio::ssl::stream<tcp::socket> stream(ioc_, ssl_);
      boost::system::error_code ec;
      acceptor_.accept(stream.next_layer(), ec);
      if (ec) {
        return;
      }
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) {
        continue;  // the client refused our certificate
      }
      if (const char* name =
              SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
        std::lock_guard lock(mu_);
        sni_ = name;
      }
      asio::streambuf head;
      asio::read_until(stream, head, "\r\n\r\n", ec);
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      asio::write(stream, asio::buffer(reply), ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context ioc_;
  asio::ssl::context ssl_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::string sni_;
  std::thread thread_;
};

struct Tls : ::testing::Test {
  SelfSigned identity = makeSelfSigned("localhost");
  std::filesystem::path caFile = std::filesystem::temp_directory_path() /
                                 ("tandem-test-ca-" + std::to_string(::getpid()) + ".pem");
  void SetUp() override { std::ofstream(caFile) << identity.certPem; }
  void TearDown() override { std::filesystem::remove(caFile); }

  HttpResult get(testing::IoRunner& io, HttpClientOptions options, const std::string& url) {
    options.useSystemCaStore = false;
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
