#include "agent/net/http_client.h"

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "agent/net/url.h"

namespace tandem::agent::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadBuffer = 64 * 1024;  // Beast reads at most 64 KiB a time anyway

struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool reused = false;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};
using ConnectionPtr = std::unique_ptr<Connection>;

struct Pool {
  std::deque<ConnectionPtr> idle;
  size_t total = 0;  // idle + checked out + connecting
  std::vector<std::shared_ptr<asio::steady_timer>> waiters;
};

// How one attempt on one connection ended.
struct Attempt {
  std::optional<HttpResponse> response;
  HttpError error;
  bool retryOnFresh = false;  // nothing could have been processed by the server
  bool keepAlive = false;
};

}  // namespace

class HttpClient::Impl {
 public:
  Impl(asio::io_context& ioc, HttpClientOptions options)
      : ioc_(ioc), options_(std::move(options)), ssl_(ssl::context::tls_client) {}

  Status init() {
    ssl_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (!options_.caFile.empty()) {
      ssl_.load_verify_file(options_.caFile, ec);
      if (ec) {
        return fail("http client: CA file " + options_.caFile + ": " + ec.message());
      }
    }
    return {};
  }

  // The system CA store, loaded before the first TLS connection rather than by init():
  // OpenSSL parses the whole bundle when the default paths are set (about 30 ms of CPU for
  // Debian's 140 certificates, and the agent has a client per system), and a system reached over
  // plain HTTP never needs it. A failure here fails that connection as a TLS error, retried like
  // one; a CA file of the configuration's own is still loaded, and checked, at start.
  Status systemCaStore() {
    std::call_once(system_store_once_, [this] {
      if (!options_.useSystemCaStore) {
        return;
      }
      error_code ec;
      ssl_.set_default_verify_paths(ec);
      if (ec) {
        system_store_error_ = "system CA store: " + ec.message();
      }
    });
    if (!system_store_error_.empty()) {
      return fail(system_store_error_);
    }
    return {};
  }

  asio::awaitable<HttpResult> send(HttpRequest request) {
    // Each request runs on its own strand, so its timers and sockets never race.
    co_return co_await asio::co_spawn(asio::make_strand(ioc_), run(std::move(request)),
                                      asio::use_awaitable);
  }

  HttpClientStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

  size_t idleConnections(const std::string& origin) const {
    std::lock_guard lock(mu_);
    auto it = pools_.find(origin);
    return it == pools_.end() ? 0 : it->second.idle.size();
  }

 private:
  asio::awaitable<HttpResult> run(HttpRequest request) {
    const std::string what = "http " + request.method + " " + request.target;
    auto url = parseUrl(request.target);
    if (!url) {
      co_return std::unexpected(
          HttpError{HttpFailure::kInvalidRequest, what + ": " + url.error().message});
    }
    if (request.method.empty() || request.method.find_first_of(" \t\r\n") != std::string::npos) {
      co_return std::unexpected(HttpError{HttpFailure::kInvalidRequest, what + ": invalid method"});
    }
    http::request<http::string_body> req;
    const auto verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
      req.method_string(request.method);
    } else {
      req.method(verb);
    }
    req.target(url->target);
    req.version(11);
    req.set(http::field::host, url->hostHeader());
    req.set(http::field::user_agent, options_.userAgent);
    for (const auto& [name, value] : request.headers) {
      // A CR or LF in a header would let templated values inject headers or requests.
      if (name.empty() || name.find_first_of(":\r\n ") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        co_return std::unexpected(
            HttpError{HttpFailure::kInvalidRequest, what + ": invalid header \"" + name + "\""});
      }
      req.set(name, value);
    }
    req.body() = std::move(request.body);
    req.prepare_payload();
    const bool head = verb == http::verb::head;

    bool fresh = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto conn = co_await acquire(*url, what, fresh);
      if (!conn) {
        co_return std::unexpected(std::move(conn).error());
      }
      // No co_await inside ?: here: GCC 12 miscompiles temporaries in that form.
      Attempt result;
      if ((*conn)->tls) {
        result = co_await exchange(*(*conn)->tls, **conn, req, head, what);
      } else {
        result = co_await exchange(*(*conn)->plain, **conn, req, head, what);
      }
      if (result.response) {
        release(*url, std::move(*conn), result.keepAlive);
        co_return std::move(*result.response);
      }
      const bool retry = result.retryOnFresh && (*conn)->reused && attempt == 0;
      release(*url, std::move(*conn), false);
      if (!retry) {
        co_return std::unexpected(std::move(result.error));
      }
      {
        std::lock_guard lock(mu_);
        ++stats_.staleRetries;
      }
      fresh = true;
    }
    co_return std::unexpected(HttpError{HttpFailure::kConnection, what + ": unreachable"});
  }

  template <class Stream>
  asio::awaitable<Attempt> exchange(Stream& stream, Connection& conn,
                                    http::request<http::string_body>& req, bool head,
                                    const std::string& what) {
    Attempt out;
    conn.lowest().expires_after(options_.ioTimeout);
    {
      std::lock_guard lock(mu_);
      ++stats_.requestsSent;
    }
    auto [wec, written] = co_await http::async_write(stream, req, kTuple);
    (void)written;
    if (wec) {
      out.retryOnFresh = wec != beast::error::timeout;
      out.error = stepError(what, "write", wec);
      co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.bodyLimit);
    if (head) {
      parser.skip(true);
    }
    conn.lowest().expires_after(options_.ioTimeout);
    auto [rec, readBytes] = co_await http::async_read(stream, conn.buffer, parser, kTuple);
    (void)readBytes;
    if (rec) {
      const bool closedBeforeAnswer =
          !parser.got_some() && conn.buffer.size() == 0 &&
          (rec == http::error::end_of_stream || rec == asio::error::eof ||
           rec == asio::error::connection_reset || rec == asio::error::broken_pipe ||
           rec == ssl::error::stream_truncated);
      out.retryOnFresh = closedBeforeAnswer;
      out.error = stepError(what, "read", rec);
      co_return out;
    }
    auto& msg = parser.get();
    HttpResponse response;
    response.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg.base()) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.keepAlive = msg.keep_alive();
    response.body = std::move(msg.body());
    out.response = std::move(response);
    co_return out;
  }

  HttpError stepError(const std::string& what, const char* step, const error_code& ec) const {
    if (ec == http::error::body_limit) {
      return {HttpFailure::kBodyLimit,
              what + ": response body exceeds " + std::to_string(options_.bodyLimit) + " bytes"};
    }
    if (ec == beast::error::timeout) {
      const auto ms = options_.ioTimeout.count();
      return {HttpFailure::kTimeout,
              what + ": " + step + ": timed out after " + std::to_string(ms) + " ms"};
    }
    if (ec == asio::error::operation_aborted) {
      return {HttpFailure::kCancelled, what + ": " + step + ": cancelled"};
    }
    if (ec == http::error::partial_message) {
      return {HttpFailure::kConnection,
              what + ": " + step + ": connection closed mid-response (truncated)"};
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof) {
      return {HttpFailure::kConnection,
              what + ": " + step + ": connection closed by peer before a response"};
    }
    if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      return {HttpFailure::kProtocol, what + ": " + step + ": malformed response: " + ec.message()};
    }
    if (ec.category() == asio::error::get_ssl_category() ||
        ec.category() == ssl::error::get_stream_category()) {
      return {HttpFailure::kTls, what + ": " + step + ": tls: " + ec.message()};
    }
    return {HttpFailure::kConnection, what + ": " + step + ": " + ec.message()};
  }

  // Takes an idle pooled connection (unless `fresh`), or opens one when the origin has room,
  // or waits for a slot until the connect timeout.
  asio::awaitable<std::expected<ConnectionPtr, HttpError>> acquire(const Url& url,
                                                                   const std::string& what,
                                                                   bool fresh) {
    const auto origin = url.origin();
    const auto deadline = std::chrono::steady_clock::now() + options_.connectTimeout;
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
      std::shared_ptr<asio::steady_timer> timer;
      {
        std::lock_guard lock(mu_);
        Pool& pool = pools_[origin];
        if (!pool.idle.empty() && (!fresh || pool.total >= options_.maxConnectionsPerOrigin)) {
          ConnectionPtr conn = std::move(pool.idle.back());
          pool.idle.pop_back();
          if (!fresh) {
            conn->reused = true;
            ++stats_.reusedConnections;
            co_return conn;
          }
          // A fresh connection is wanted: drop an idle one (likely just as stale) for room.
          --pool.total;
        }
        if (pool.total < options_.maxConnectionsPerOrigin) {
          ++pool.total;
          break;
        }
        timer = std::make_shared<asio::steady_timer>(ex, deadline);
        pool.waiters.push_back(timer);
      }
      // Woken early by release() (posted to this strand, so it cannot be lost).
      auto [ec] = co_await timer->async_wait(kTuple);
      {
        std::lock_guard lock(mu_);
        auto& waiters = pools_[origin].waiters;
        std::erase(waiters, timer);
      }
      if (!ec) {
        co_return std::unexpected(
            HttpError{HttpFailure::kConnect,
                      what + ": connect: timed out waiting for a free connection (max " +
                          std::to_string(options_.maxConnectionsPerOrigin) + " per origin)"});
      }
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) {
        co_return std::unexpected(
            HttpError{HttpFailure::kCancelled, what + ": connect: cancelled"});
      }
    }
    auto conn = co_await connect(url, what);
    if (!conn) {
      std::lock_guard lock(mu_);
      Pool& pool = pools_[origin];
      --pool.total;
      wakeOne(pool);
    }
    co_return conn;
  }

  asio::awaitable<std::expected<ConnectionPtr, HttpError>> connect(const Url& url,
                                                                   const std::string& what) {
    auto ex = co_await asio::this_coro::executor;
    auto conn = std::make_unique<Connection>();
    // Beast reads max(512, free capacity) bytes a time, and a buffer the parser keeps draining
    // never grows: without this a 150 KB feed page took 300 reads of 512 bytes.
    conn->buffer.reserve(kReadBuffer);
    auto resolver = std::make_shared<tcp::resolver>(ex);
    // The resolver has no deadline of its own: a timer on this strand cancels it.
    asio::steady_timer guard(ex, options_.connectTimeout);
    auto timedOut = std::make_shared<bool>(false);
    guard.async_wait([resolver, timedOut](error_code ec) {
      if (!ec) {
        *timedOut = true;
        resolver->cancel();
      }
    });
    auto [rec, endpoints] =
        co_await resolver->async_resolve(url.host, std::to_string(url.port), kTuple);
    guard.cancel();
    if (rec) {
      const std::string reason =
          *timedOut ? "timed out after " + std::to_string(options_.connectTimeout.count()) + " ms"
                    : rec.message();
      co_return std::unexpected(HttpError{HttpFailure::kConnect, what + ": resolve: " + reason});
    }
    if (url.tls()) {
      if (auto store = systemCaStore(); !store) {
        co_return std::unexpected(
            HttpError{HttpFailure::kTls, what + ": tls: " + store.error().message});
      }
      conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, ssl_);
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(ex);
    }
    conn->lowest().expires_after(options_.connectTimeout);
    auto [cec, ep] = co_await conn->lowest().async_connect(endpoints, kTuple);
    (void)ep;
    if (cec) {
      const std::string reason =
          cec == beast::error::timeout
              ? "timed out after " + std::to_string(options_.connectTimeout.count()) + " ms"
              : cec.message();
      co_return std::unexpected(HttpError{HttpFailure::kConnect, what + ": connect: " + reason});
    }
    conn->lowest().socket().set_option(tcp::no_delay(true));
    {
      std::lock_guard lock(mu_);
      ++stats_.connectionsOpened;
    }
    if (conn->tls) {
      error_code ignored;
      asio::ip::make_address(url.host, ignored);
      if (ignored) {  // SNI only for names, never for IP literals (RFC 6066 section 3)
        if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), url.host.c_str())) {
          co_return std::unexpected(HttpError{HttpFailure::kTls, what + ": tls: cannot set SNI"});
        }
      }
      conn->tls->set_verify_callback(ssl::host_name_verification(url.host));
      conn->lowest().expires_after(options_.handshakeTimeout);
      auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
      if (hec) {
        const std::string reason =
            hec == beast::error::timeout
                ? "timed out after " + std::to_string(options_.handshakeTimeout.count()) + " ms"
                : hec.message();
        co_return std::unexpected(
            HttpError{HttpFailure::kTls, what + ": tls handshake: " + reason});
      }
    }
    co_return conn;
  }

  void release(const Url& url, ConnectionPtr conn, bool keepAlive) {
    std::lock_guard lock(mu_);
    Pool& pool = pools_[url.origin()];
    if (keepAlive && pool.idle.size() < options_.maxIdlePerOrigin) {
      conn->reused = false;
      conn->lowest().expires_never();
      pool.idle.push_back(std::move(conn));
    } else {
      --pool.total;
      error_code ignored;
      conn->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      conn->lowest().close();
    }
    wakeOne(pool);
  }

  // Caller holds mu_. The cancel runs on the waiter's strand, after its wait has started.
  static void wakeOne(Pool& pool) {
    if (pool.waiters.empty()) {
      return;
    }
    auto timer = pool.waiters.front();
    pool.waiters.erase(pool.waiters.begin());
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }

  asio::io_context& ioc_;
  HttpClientOptions options_;
  ssl::context ssl_;
  std::once_flag system_store_once_;
  std::string system_store_error_;  // written once, under system_store_once_
  mutable std::mutex mu_;
  std::map<std::string, Pool> pools_;
  HttpClientStats stats_;
};

HttpClient::HttpClient(asio::io_context& ioc, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(ioc, std::move(options))) {}

HttpClient::~HttpClient() = default;

asio::awaitable<HttpResult> HttpClient::send(HttpRequest request) {
  return impl_->send(std::move(request));
}

HttpClientStats HttpClient::stats() const {
  return impl_->stats();
}

size_t HttpClient::idleConnections(const std::string& origin) const {
  return impl_->idleConnections(origin);
}

Result<std::unique_ptr<HttpClient>> makeHttpClient(asio::io_context& ioc,
                                                   HttpClientOptions options) {
  auto client = std::make_unique<HttpClient>(ioc, std::move(options));
  TANDEM_RETURN_IF_ERROR(client->impl_->init());
  return client;
}

}  // namespace tandem::agent::net
