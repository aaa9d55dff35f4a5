#pragma once

// Async HTTP/1.1 client over Boost.Beast with a keep-alive pool per origin
// (scheme, host, port), a timeout on every step, a body limit on every response and TLS with SNI
// and peer verification. Every failure is a value:
//   "http GET http://127.0.0.1:4/x: connect: Connection refused"
//   "http GET http://127.0.0.1:4/x: response body exceeds 8388608 bytes"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "agent/net/http_message.h"
#include "conflict/result.h"

namespace boost::asio {
class io_context;
}

namespace tandem::agent::net {

struct HttpClientOptions {
  std::chrono::milliseconds connectTimeout{5000};    // resolve + connect (+ waiting for a slot)
  std::chrono::milliseconds handshakeTimeout{5000};  // TLS handshake
  std::chrono::milliseconds ioTimeout{30000};        // each write and each read
  size_t maxConnectionsPerOrigin = 8;
  size_t maxIdlePerOrigin = 8;
  uint64_t bodyLimit = 8 * 1024 * 1024;
  // TLS: verify the peer against the system CA store (read before the first TLS connection),
  // plus this PEM file (read at start) when not empty.
  std::string caFile;
  bool useSystemCaStore = true;
  std::string userAgent = "tandem/0.1";
};

// What went wrong, for callers that classify failures (retryable vs permanent).
enum class HttpFailure {
  kNone,
  kInvalidRequest,  // bad URL or method: never retry
  kConnect,         // resolve or connect failed or timed out
  kTls,             // handshake or certificate verification failed
  kTimeout,         // write or read timed out
  kConnection,      // reset, EOF, truncated response
  kProtocol,        // malformed HTTP from the peer
  kBodyLimit,       // response larger than bodyLimit
  kCancelled,
};

struct HttpError {
  HttpFailure kind = HttpFailure::kNone;
  std::string message;
};

using HttpResult = std::expected<HttpResponse, HttpError>;

struct HttpClientStats {
  uint64_t connectionsOpened = 0;
  uint64_t requestsSent = 0;
  uint64_t reusedConnections = 0;
  uint64_t staleRetries = 0;  // requests re-sent after a pooled connection turned out closed
};

class HttpClient;

// Status checked once at construction: a bad CA file is a configuration error.
Result<std::unique_ptr<HttpClient>> makeHttpClient(boost::asio::io_context& ioc,
                                                   HttpClientOptions options);

class HttpClient {
 public:
  // Prefer makeHttpClient(), which loads the TLS trust store and reports errors.
  HttpClient(boost::asio::io_context& ioc, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request (request.target is an absolute URL). Content-Length, Host and User-Agent
  // are set automatically. Safe to call from coroutines on any thread running the io_context.
  boost::asio::awaitable<HttpResult> send(HttpRequest request);

  HttpClientStats stats() const;
  // Idle pooled connections for an origin ("http://127.0.0.1:8080"), for tests and metrics.
  size_t idleConnections(const std::string& origin) const;

  class Impl;

 private:
  friend Result<std::unique_ptr<HttpClient>> makeHttpClient(boost::asio::io_context& ioc,
                                                            HttpClientOptions options);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::agent::net
