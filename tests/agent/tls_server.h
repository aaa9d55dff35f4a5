#pragma once

// A self-signed certificate made with OpenSSL and a blocking TLS server on 127.0.0.1:0 that
// answers "ok" and remembers the SNI name it saw: the https peer of the HTTP client's and the
// connector's TLS tests.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace tandem::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct SelfSigned {
  std::string certPem;
  std::string keyPem;
};

inline std::string bioString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

inline SelfSigned makeSelfSigned(const char* dnsName) {
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

}  // namespace tandem::testing
