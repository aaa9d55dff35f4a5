#pragma once

// Test helper: a blocking loopback TCP server on port 0 that misbehaves on purpose. For each
// accepted connection it reads the request head and then runs `script` with the socket.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace tandem::agent::testing {

class RawServer {
 public:
  using Script = std::function<void(boost::asio::ip::tcp::socket&)>;

  // connections: how many connections to serve before the thread ends.
  RawServer(Script script, int connections = 1)
      : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, script = std::move(script), connections] {
      for (int i = 0; i < connections; ++i) {
        boost::asio::ip::tcp::socket socket(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec) {
          return;
        }
        accepted_.fetch_add(1);
        boost::asio::streambuf head;
        boost::asio::read_until(socket, head, "\r\n\r\n", ec);
        if (!ec) {
          script(socket);
        }
      }
    });
  }
  ~RawServer() {
    // Wakes a blocking accept() on Linux; closing from this thread would race with it.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Reads until the peer closes (or errors), so a script can hold a connection open.
  static void drainUntilClosed(boost::asio::ip::tcp::socket& socket) {
    char scratch[4096];
    boost::system::error_code ec;
    while (!ec) {
      socket.read_some(boost::asio::buffer(scratch), ec);
    }
  }

  static void send(boost::asio::ip::tcp::socket& socket, const std::string& bytes) {
    boost::system::error_code ignored;
    boost::asio::write(socket, boost::asio::buffer(bytes), ignored);
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace tandem::agent::testing
