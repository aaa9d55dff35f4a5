// net::Router's prefix routes (added for /v1/conflicts/{id}): exact routes win, the longest
// prefix wins, the prefix itself is not matched, methods still give 405 with Allow.

#include <gtest/gtest.h>

#include "agent/net/http_server.h"
#include "tests/agent/io_runner.h"

namespace tandem::agent::net {
namespace {

namespace asio = boost::asio;

Handler answer(std::string text) {
  return [text](HttpRequest request) -> asio::awaitable<HttpResponse> {
    HttpResponse r;
    r.body = text + " " + std::string(request.path());
    co_return r;
  };
}

HttpResponse dispatch(const Router& router, std::string method, std::string target) {
  agent::testing::IoRunner io(1);
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  auto r = io.run(router.dispatch(std::move(request)));
  EXPECT_TRUE(r.has_value());
  return r ? *r : HttpResponse{};
}

TEST(RouterPrefix, LongestPrefixExactFirstAndMethods) {
  Router router;
  router.add("GET", "/v1/conflicts", answer("list"));
  router.addPrefix("GET", "/v1/conflicts/", answer("one"));
  router.addPrefix("POST", "/v1/conflicts/", answer("post"));
  router.addPrefix("GET", "/v1/", answer("v1"));
  router.add("GET", "/v1/conflicts/special", answer("exact"));

  EXPECT_EQ(dispatch(router, "GET", "/v1/conflicts").body, "list /v1/conflicts");
  EXPECT_EQ(dispatch(router, "GET", "/v1/conflicts/7?x=1").body, "one /v1/conflicts/7");
  EXPECT_EQ(dispatch(router, "POST", "/v1/conflicts/7/resolve").body,
            "post /v1/conflicts/7/resolve");
  EXPECT_EQ(dispatch(router, "GET", "/v1/conflicts/special").body, "exact /v1/conflicts/special");
  EXPECT_EQ(dispatch(router, "GET", "/v1/status").body, "v1 /v1/status");
  // "/v1/conflicts/" itself is no id: the shorter prefix "/v1/" takes it.
  EXPECT_EQ(dispatch(router, "GET", "/v1/conflicts/").body, "v1 /v1/conflicts/");

  auto wrong = dispatch(router, "DELETE", "/v1/conflicts/7");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "GET, POST");
  auto missing = dispatch(router, "GET", "/other");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"no route for GET /other"})");
}

}  // namespace
}  // namespace tandem::agent::net
