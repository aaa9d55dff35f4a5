#include "agent/net/http_server.h"

#include <atomic>
#include <map>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tandem::agent::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Session {
  explicit Session(tcp::socket&& socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  asio::cancellation_signal cancel;
  bool busy = false;  // a request is being handled; only touched on the session's strand
};
using SessionPtr = std::shared_ptr<Session>;

HttpRequest toRequest(http::request<http::string_body>&& msg) {
  HttpRequest request;
  request.method = std::string(msg.method_string());
  request.target = std::string(msg.target());
  for (const auto& field : msg.base()) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(msg.body());
  return request;
}

}  // namespace

class HttpServer::Core : public std::enable_shared_from_this<HttpServer::Core> {
 public:
  Core(asio::io_context& ioc, HttpServerOptions options, Router router)
      : ioc_(ioc),
        options_(std::move(options)),
        router_(std::move(router)),
        acceptor_(asio::make_strand(ioc)),
        drainTimer_(asio::make_strand(ioc)) {}

  Status start() {
    const std::string where =
        "http server: bind " + options_.bindAddress + ":" + std::to_string(options_.port);
    error_code ec;
    const auto address = asio::ip::make_address(options_.bindAddress, ec);
    if (ec) {
      return fail(where + ": invalid bind address");
    }
    const tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return fail(where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(acceptor_.get_executor(), acceptLoop(shared_from_this()),
                   [](std::exception_ptr) {});
    return {};
  }

  uint16_t port() const { return port_; }
  uint64_t accepted() const { return accepted_.load(); }
  size_t open() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }

  void drain(std::chrono::milliseconds deadline, std::function<void()> onDrained) {
    auto self = shared_from_this();
    {
      std::lock_guard lock(mu_);
      draining_ = true;
      onDrained_ = std::move(onDrained);
      for (auto& [id, session] : sessions_) {
        asio::post(session->stream.get_executor(), [session] {
          if (!session->busy) {
            session->cancel.emit(asio::cancellation_type::terminal);
            session->stream.cancel();
          }
        });
      }
    }
    asio::post(acceptor_.get_executor(), [self] {
      error_code ignored;
      self->acceptor_.close(ignored);
    });
    asio::post(drainTimer_.get_executor(), [self, deadline] {
      self->drainTimer_.expires_after(deadline);
      self->drainTimer_.async_wait([self](error_code ec) {
        if (!ec) {
          self->cutAll();
        }
      });
      self->maybeDrained();
    });
  }

  void cutAll() {
    std::lock_guard lock(mu_);
    for (auto& [id, session] : sessions_) {
      asio::post(session->stream.get_executor(), [session] {
        session->cancel.emit(asio::cancellation_type::terminal);
        session->stream.cancel();
        error_code ignored;
        session->stream.socket().close(ignored);
      });
    }
  }

  void stopNow() {
    auto self = shared_from_this();
    {
      std::lock_guard lock(mu_);
      draining_ = true;
    }
    asio::post(acceptor_.get_executor(), [self] {
      error_code ignored;
      self->acceptor_.close(ignored);
    });
    cutAll();
  }

 private:
  static asio::awaitable<void> acceptLoop(std::shared_ptr<Core> self) {
    for (;;) {
      auto [ec, socket] =
          co_await self->acceptor_.async_accept(asio::make_strand(self->ioc_), kTuple);
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
        co_return;
      }
      if (ec) {
        continue;  // e.g. EMFILE; the listener stays up
      }
      auto session = std::make_shared<Session>(std::move(socket));
      uint64_t id = 0;
      {
        std::lock_guard lock(self->mu_);
        if (self->draining_) {
          continue;  // socket closes with the session
        }
        id = self->nextId_++;
        self->sessions_.emplace(id, session);
      }
      self->accepted_.fetch_add(1);
      auto ex = session->stream.get_executor();
      asio::co_spawn(
          ex, serve(self, session),
          asio::bind_cancellation_slot(session->cancel.slot(),
                                       [self, id](std::exception_ptr) { self->finished(id); }));
    }
  }

  void finished(uint64_t id) {
    {
      std::lock_guard lock(mu_);
      sessions_.erase(id);
    }
    asio::post(drainTimer_.get_executor(), [self = shared_from_this()] { self->maybeDrained(); });
  }

  // On drainTimer_'s strand.
  void maybeDrained() {
    std::function<void()> done;
    {
      std::lock_guard lock(mu_);
      if (!draining_ || !sessions_.empty() || !onDrained_) {
        return;
      }
      done = std::move(onDrained_);
      onDrained_ = nullptr;
    }
    drainTimer_.cancel();
    done();
  }

  bool draining() const {
    std::lock_guard lock(mu_);
    return draining_;
  }

  static asio::awaitable<void> serve(std::shared_ptr<Core> self, SessionPtr session) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto& stream = session->stream;
    const auto& options = self->options_;
    beast::flat_buffer buffer;
    // Beast reads max(512, free capacity) bytes a time; a drained buffer never grows.
    buffer.reserve(16 * 1024);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.bodyLimit);
      stream.expires_after(options.readTimeout);
      auto [rec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      (void)n;
      if (rec == http::error::body_limit) {
        auto response =
            jsonError(413, "request body exceeds " + std::to_string(options.bodyLimit) + " bytes");
        co_await writeResponse(self, stream, std::move(response), false, 11);
        co_await lingeringClose(stream);
        co_return;
      }
      if (rec) {
        const bool malformed =
            rec.category() == http::make_error_code(http::error::bad_version).category() &&
            rec != http::error::end_of_stream && rec != http::error::partial_message;
        if (malformed) {
          co_await writeResponse(self, stream,
                                 jsonError(400, "malformed request: " + rec.message()), false, 11);
        }
        break;
      }
      session->busy = true;
      auto& msg = parser.get();
      const unsigned version = msg.version();
      bool keepAlive = msg.keep_alive();
      HttpResponse response = co_await self->router_.dispatch(toRequest(std::move(msg)));
      keepAlive = keepAlive && !self->draining();
      const bool ok = co_await writeResponse(self, stream, std::move(response), keepAlive, version);
      session->busy = false;
      if (!ok || !keepAlive || self->draining()) {
        break;
      }
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
  }

  static asio::awaitable<bool> writeResponse(const std::shared_ptr<Core>& self,
                                             beast::tcp_stream& stream, HttpResponse response,
                                             bool keepAlive, unsigned version) {
    http::response<http::string_body> msg{static_cast<http::status>(response.status), version};
    msg.set(http::field::server, self->options_.serverName);
    for (auto& [name, value] : response.headers) {
      msg.set(name, value);
    }
    msg.body() = std::move(response.body);
    msg.keep_alive(keepAlive);
    msg.prepare_payload();
    stream.expires_after(self->options_.writeTimeout);
    auto [ec, n] = co_await http::async_write(stream, msg, kTuple);
    (void)n;
    co_return !ec;
  }

  // After refusing a request whose body is still arriving, read and discard a bounded amount
  // so the client sees our 413 instead of a connection reset.
  static asio::awaitable<void> lingeringClose(beast::tcp_stream& stream) {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 16 * 1024> scratch{};
    size_t total = 0;
    while (total < 64 * 1024 * 1024) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
      if (ec) {
        break;
      }
      total += n;
    }
    stream.close();
  }

  asio::io_context& ioc_;
  HttpServerOptions options_;
  Router router_;
  tcp::acceptor acceptor_;
  asio::steady_timer drainTimer_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> accepted_{0};
  mutable std::mutex mu_;
  bool draining_ = false;
  uint64_t nextId_ = 1;
  std::map<uint64_t, SessionPtr> sessions_;
  std::function<void()> onDrained_;
};

HttpServer::HttpServer(asio::io_context& ioc, HttpServerOptions options, Router router)
    : core_(std::make_shared<Core>(ioc, std::move(options), std::move(router))) {}

HttpServer::~HttpServer() {
  core_->stopNow();
}

Status HttpServer::start() {
  return core_->start();
}
uint16_t HttpServer::port() const {
  return core_->port();
}
void HttpServer::drain(std::chrono::milliseconds deadline, std::function<void()> onDrained) {
  core_->drain(deadline, std::move(onDrained));
}
uint64_t HttpServer::acceptedConnections() const {
  return core_->accepted();
}
size_t HttpServer::openConnections() const {
  return core_->open();
}

}  // namespace tandem::agent::net
