#pragma once

// The connector's private view of a SystemChannel: one request out through the system's breaker,
// rate limiter, auth and HTTP client, with the answer classified far enough that every caller
// treats transport failures, 5xx and throttling the same way.

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "agent/connector/connector.h"
#include "agent/net/http_client.h"
#include "agent/net/http_message.h"
#include "agent/sync/circuit_breaker.h"
#include "agent/sync/rate_limiter.h"

namespace tandem::agent::connector {

// Why a request brought back no answer the caller can interpret. Always worth a retry unless
// `retryable` is false (a bad URL, a TLS verification failure, an oversized answer).
struct ChannelFailure {
  std::string message;
  bool retryable = true;
  int64_t retry_after_ms = 0;
};

// An HTTP answer with a status the caller must interpret (2xx, 4xx other than throttling), or a
// failure (no answer, 5xx, throttled, breaker open).
using ChannelResult = std::expected<net::HttpResponse, ChannelFailure>;

class SystemChannelImpl final : public SystemChannel {
 public:
  SystemChannelImpl(const mappers::SystemConfig& system, const Clock& clock, ChannelOptions options,
                    std::unique_ptr<net::HttpClient> http);

  const std::string& system() const override { return system_.name; }
  std::string breakerState() const override;

  const mappers::SystemConfig& config() const { return system_; }
  const Clock& clock() const { return clock_; }

  // `request.target` is an absolute URL; auth headers are added here. `op` names the request for
  // the observer ("feed", "get", "create", "update", "delete"). Writes queue for the rate limiter
  // ahead of reads ("feed", "get"): they carry work the agent has already taken in.
  boost::asio::awaitable<ChannelResult> send(std::string_view op, net::HttpRequest request);

 private:
  std::optional<ChannelFailure> throttled(const net::HttpResponse& response) const;
  void addAuth(net::HttpRequest& request) const;

  const mappers::SystemConfig system_;
  const Clock& clock_;
  const ChannelOptions options_;
  std::unique_ptr<net::HttpClient> http_;
  sync::RateLimiter limiter_;
  sync::CircuitBreaker breaker_;
};

// The error text a system put in an error answer: the first of the usual places that holds a
// string (/message, /error/message, /Fault/Error/0/Detail, ...), else the body cut to 300 bytes.
std::string systemErrorText(const net::HttpResponse& response);
// The same places in an answer already parsed (or a part of one, such as one result of a batch);
// "" when none holds a string.
std::string systemErrorText(const rapidjson::Value& answer);
// `text` cut to 300 characters (and "..."), for an error message quoting a system's answer.
std::string clipped(std::string text);

}  // namespace tandem::agent::connector
