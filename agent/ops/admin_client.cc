// How the CLI reaches a running agent: its admin API over loopback HTTP.

#include <future>

#include <rapidjson/document.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "agent/net/http_client.h"
#include "agent/ops/cli.h"

namespace tandem::agent::ops {

namespace {

std::string connectHost(const std::string& bind) {
  if (bind == "0.0.0.0" || bind.empty()) {
    return "127.0.0.1";
  }
  if (bind == "::") {
    return "[::1]";
  }
  if (bind.find(':') != std::string::npos) {
    return "[" + bind + "]";
  }
  return bind;
}

}  // namespace

namespace cli_detail {

std::string adminAddress(const mappers::Config& config) {
  return connectHost(config.agent.admin.bind) + ":" + std::to_string(config.agent.admin.port);
}

Result<std::optional<net::HttpResponse>> callAdmin(const CliContext& ctx,
                                                   const mappers::Config& config,
                                                   net::HttpRequest request) {
  if (ctx.admin) {
    return ctx.admin(config, std::move(request));
  }
  return callAdminOverHttp(config, std::move(request));
}

std::string errorOf(const net::HttpResponse& response) {
  rapidjson::Document doc;
  doc.Parse(response.body.data(), response.body.size());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("error") && doc["error"].IsString()) {
    return doc["error"].GetString();
  }
  return "HTTP " + std::to_string(response.status) + ": " + response.body;
}

}  // namespace cli_detail

Result<std::optional<net::HttpResponse>> callAdminOverHttp(const mappers::Config& config,
                                                           net::HttpRequest request) {
  boost::asio::io_context ioc;
  net::HttpClientOptions options;
  options.connectTimeout = std::chrono::seconds(2);
  options.ioTimeout = std::chrono::seconds(60);
  options.useSystemCaStore = false;
  auto client = net::makeHttpClient(ioc, options);
  if (!client) {
    return failWith("admin api", client.error());
  }
  request.target = "http://" + cli_detail::adminAddress(config) + request.target;
  const auto& token = config.agent.admin.token.reveal();
  if (!token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + token);
  }
  if (!request.body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  auto future =
      boost::asio::co_spawn(ioc, (*client)->send(std::move(request)), boost::asio::use_future);
  ioc.run();
  net::HttpResult result = future.get();
  if (!result) {
    if (result.error().kind == net::HttpFailure::kConnect) {
      return std::optional<net::HttpResponse>{};
    }
    return fail("admin api: " + result.error().message);
  }
  return std::optional<net::HttpResponse>(std::move(*result));
}

}  // namespace tandem::agent::ops
