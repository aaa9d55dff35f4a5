// bench_http_client: requests per second through HttpClient's keep-alive pool against a local
// trivial HttpServer (both on one io_context, 2 threads), sequential and with concurrent
// coroutines. Prints a table; not a test.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/net/http_client.h"
#include "agent/net/http_server.h"
#include "tests/agent/io_runner.h"

namespace {

namespace asio = boost::asio;
using namespace tandem::agent;

asio::awaitable<int> worker(net::HttpClient& client, std::string url, int requests) {
  int ok = 0;
  for (int i = 0; i < requests; ++i) {
    net::HttpRequest request;
    request.target = url;
    auto r = co_await client.send(std::move(request));
    ok += (r && r->status == 200) ? 1 : 0;
  }
  co_return ok;
}

}  // namespace

int main() {
  testing::IoRunner io(2);
  net::Router router;
  router.add("GET", "/ping", [](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    net::HttpResponse r;
    r.body = "pong";
    co_return r;
  });
  net::HttpServer server(io.ioc(), {}, std::move(router));
  if (auto s = server.start(); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/ping";

  std::printf("%-12s %11s %9s %9s %12s %12s\n", "mode", "concurrency", "requests", "ok", "seconds",
              "requests/s");
  for (const int concurrency : {1, 4, 16}) {
    net::HttpClientOptions options;
    options.useSystemCaStore = false;
    options.maxConnectionsPerOrigin = static_cast<size_t>(concurrency);
    options.maxIdlePerOrigin = static_cast<size_t>(concurrency);
    auto client = std::move(*net::makeHttpClient(io.ioc(), options));
    const int perWorker = 20000 / concurrency;
    // Warm-up: open the pool's connections.
    io.run(worker(*client, url, 10));
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::future<int>> futures;
    for (int w = 0; w < concurrency; ++w) {
      futures.push_back(io.spawn(worker(*client, url, perWorker)));
    }
    int ok = 0;
    for (auto& f : futures) {
      ok += f.get();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int total = perWorker * concurrency;
    std::printf("%-12s %11d %9d %9d %12.3f %12.0f\n", "keep-alive", concurrency, total, ok, seconds,
                total / seconds);
  }
  std::printf("(nproc=%u, client and server share one io_context on 2 threads)\n",
              std::thread::hardware_concurrency());
  return 0;
}
