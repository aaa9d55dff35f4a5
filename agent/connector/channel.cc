// SystemChannel: what a system's entities share. Every request passes the circuit breaker (fail
// fast while open), the rate limiter (requests/s, burst, max in flight), gets the system's auth,
// goes out on the keep-alive pool, and comes back classified: 5xx, 408, transport failures and
// the system's throttle signals are retryable failures with their Retry-After; the rest is an
// answer for the caller to read.
#include <chrono>

#include <rapidjson/document.h>
#include <boost/asio/io_context.hpp>

#include "agent/connector/channel_impl.h"
#include "agent/connector/json_util.h"
#include "agent/net/url.h"
#include "agent/net/webhook_signature.h"
#include "agent/sync/retry_after.h"

namespace tandem::agent::connector {
namespace {

std::optional<std::string> codeAt(const std::string& body, const std::string& pointer) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return std::nullopt;
  }
  const rapidjson::Value* v = valueAt(doc, pointer);
  return v == nullptr ? std::nullopt : scalarText(*v);
}

}  // namespace

std::string systemErrorText(const rapidjson::Value& answer) {
  // Where the systems we know put their human-readable text (HubSpot, Odoo, QuickBooks, Stripe,
  // RFC 7807, OAuth).
  for (const char* pointer :
       {"/message", "/error/message", "/Fault/Error/0/Detail", "/Fault/Error/0/Message",
        "/errors/0/message", "/error_description", "/detail", "/title", "/error"}) {
    const rapidjson::Value* v = valueAt(answer, pointer);
    if (v != nullptr && v->IsString() && v->GetStringLength() > 0) {
      return std::string(v->GetString(), v->GetStringLength());
    }
  }
  return "";
}

std::string systemErrorText(const net::HttpResponse& response) {
  rapidjson::Document doc;
  doc.Parse(response.body.data(), response.body.size());
  if (!doc.HasParseError()) {
    if (std::string text = systemErrorText(doc); !text.empty()) {
      return text;
    }
  }
  return clipped(response.body);
}

std::string clipped(std::string text) {
  constexpr size_t kMax = 300;
  if (text.size() > kMax) {
    text.resize(kMax);
    text += "...";
  }
  return text;
}

SystemChannelImpl::SystemChannelImpl(const mappers::SystemConfig& system, const Clock& clock,
                                     ChannelOptions options, std::unique_ptr<net::HttpClient> http)
    : system_(system),
      clock_(clock),
      options_(std::move(options)),
      http_(std::move(http)),
      limiter_(sync::RateLimitOptions{system.rate_limits.requests_per_second,
                                      static_cast<double>(system.rate_limits.burst),
                                      system.rate_limits.max_in_flight},
               clock),
      breaker_(system.name,
               sync::BreakerOptions{options_.breaker_failures, options_.breaker_cooldown_ms},
               clock) {}

std::string SystemChannelImpl::breakerState() const {
  return sync::toString(breaker_.state());
}

void SystemChannelImpl::addAuth(net::HttpRequest& request) const {
  const mappers::Auth& auth = system_.auth;
  switch (auth.kind) {
    case mappers::AuthKind::None:
      return;
    case mappers::AuthKind::Bearer:
      request.headers.emplace_back(
          auth.header.empty() ? "Authorization" : auth.header,
          (auth.scheme.empty() ? std::string("Bearer") : auth.scheme) + " " + auth.secret.reveal());
      return;
    case mappers::AuthKind::ApiKeyHeader:
      request.headers.emplace_back(auth.header, auth.secret.reveal());
      return;
    case mappers::AuthKind::Basic:
      request.headers.emplace_back(
          "Authorization", "Basic " + net::toBase64(auth.username + ":" + auth.secret.reveal()));
      return;
  }
}

std::optional<ChannelFailure> SystemChannelImpl::throttled(
    const net::HttpResponse& response) const {
  const mappers::ThrottleSignal* hit = nullptr;
  for (const auto& signal : system_.throttle) {
    if (signal.status != response.status) {
      continue;
    }
    if (!signal.error_code_pointer.empty()) {
      const auto code = codeAt(response.body, signal.error_code_pointer);
      if (!code || *code != signal.error_code) {
        continue;
      }
    }
    hit = &signal;
    break;
  }
  if (hit == nullptr && response.status != 429) {
    return std::nullopt;
  }
  std::string header = hit != nullptr ? hit->retry_after_header : "";
  if (header.empty()) {
    header = "Retry-After";
  }
  int64_t wait = system_.default_backoff_ms;
  if (const auto value = response.header(header); !value.empty()) {
    if (auto ms = sync::parseRetryAfterMs(value, clock_.nowMs())) {
      wait = *ms;
    }
  }
  return ChannelFailure{"throttled: HTTP " + std::to_string(response.status) + ": " +
                            systemErrorText(response) + " (retry in " + std::to_string(wait) +
                            " ms)",
                        true, wait};
}

boost::asio::awaitable<ChannelResult> SystemChannelImpl::send(std::string_view op,
                                                              net::HttpRequest request) {
  if (!breaker_.allowRequest()) {
    co_return std::unexpected(
        ChannelFailure{breaker_.describe(), true, std::max<int64_t>(breaker_.msUntilProbe(), 1)});
  }
  const bool read = op == "feed" || op == "get";
  sync::Permit permit = co_await limiter_.acquire(read ? sync::RequestPriority::kRead
                                                       : sync::RequestPriority::kWrite);
  if (!permit.valid()) {
    if (breaker_.state() == sync::BreakerState::kHalfOpen) {
      breaker_.recordFailure();  // the probe never went out: wait for another cooldown
    }
    co_return std::unexpected(ChannelFailure{"cancelled while waiting for the rate limiter"});
  }
  addAuth(request);
  if (net::findHeader(request.headers, "Accept").empty()) {
    request.headers.emplace_back("Accept", "application/json");
  }
  if (!request.body.empty() && net::findHeader(request.headers, "Content-Type").empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  const auto started = std::chrono::steady_clock::now();
  net::HttpResult result = co_await http_->send(std::move(request));
  permit.release();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (options_.observer) {
    options_.observer(RequestObservation{system_.name, op, result ? result->status : 0, seconds});
  }
  if (!result) {
    const bool retryable = result.error().kind != net::HttpFailure::kInvalidRequest &&
                           result.error().kind != net::HttpFailure::kTls &&
                           result.error().kind != net::HttpFailure::kBodyLimit;
    if (result.error().kind != net::HttpFailure::kInvalidRequest) {
      breaker_.recordFailure();
    } else {
      breaker_.recordSuccess();
    }
    co_return std::unexpected(ChannelFailure{result.error().message, retryable, 0});
  }
  if (auto throttle = throttled(*result)) {
    breaker_.recordSuccess();  // the system is up, only busy: retry-after paces it, not the breaker
    co_return std::unexpected(std::move(*throttle));
  }
  if (result->status >= 500 || result->status == 408) {  // 408: the server gave up waiting
    breaker_.recordFailure();
    int64_t wait = 0;
    if (const auto value = result->header("Retry-After"); !value.empty()) {
      if (auto ms = sync::parseRetryAfterMs(value, clock_.nowMs())) {
        wait = *ms;
      }
    }
    co_return std::unexpected(ChannelFailure{
        "HTTP " + std::to_string(result->status) + ": " + systemErrorText(*result), true, wait});
  }
  breaker_.recordSuccess();
  co_return std::move(*result);
}

Result<std::unique_ptr<SystemChannel>> SystemChannel::make(boost::asio::io_context& ioc,
                                                           const mappers::SystemConfig& system,
                                                           const Clock& clock,
                                                           ChannelOptions options) {
  const std::string where = "connector " + system.name;
  if (auto url = net::parseUrl(system.base_url); !url) {
    return failWith(where + ": base_url", url.error());
  }
  if (system.rate_limits.requests_per_second <= 0 || system.rate_limits.max_in_flight <= 0) {
    return fail(where + ": rate_limits need requests_per_second > 0 and max_in_flight > 0");
  }
  net::HttpClientOptions http;
  http.connectTimeout = std::chrono::milliseconds(system.timeouts.connect_ms);
  http.handshakeTimeout = std::chrono::milliseconds(system.timeouts.connect_ms);
  http.ioTimeout = std::chrono::milliseconds(system.timeouts.request_ms);
  http.maxConnectionsPerOrigin = static_cast<size_t>(std::max(system.rate_limits.max_in_flight, 1));
  http.maxIdlePerOrigin = http.maxConnectionsPerOrigin;
  http.caFile = options.ca_file;
  auto client = net::makeHttpClient(ioc, std::move(http));
  if (!client) {
    return failWith(where, client.error());
  }
  return std::unique_ptr<SystemChannel>(
      new SystemChannelImpl(system, clock, std::move(options), std::move(*client)));
}

}  // namespace tandem::agent::connector
