// Backoff, Retry-After, circuit breaker, token bucket and response classification, all under
// injected time.

#include <gtest/gtest.h>

#include <set>

#include "agent/clock.h"
#include "agent/net/classify.h"
#include "agent/sync/backoff.h"
#include "agent/sync/circuit_breaker.h"
#include "agent/sync/retry_after.h"
#include "agent/sync/token_bucket.h"

namespace tandem::agent {
namespace {

using sync::Backoff;
using sync::BackoffPolicy;
using sync::BreakerState;

TEST(Backoff, CeilingDoublesUpToTheCap) {
  const BackoffPolicy policy{.baseMs = 100, .maxMs = 1000};
  EXPECT_EQ(Backoff::ceilingMs(policy, 0), 100);
  EXPECT_EQ(Backoff::ceilingMs(policy, 1), 200);
  EXPECT_EQ(Backoff::ceilingMs(policy, 3), 800);
  EXPECT_EQ(Backoff::ceilingMs(policy, 4), 1000);
  EXPECT_EQ(Backoff::ceilingMs(policy, 1000), 1000);  // no overflow for absurd attempts
}

TEST(Backoff, FullJitterStaysWithinBoundsAndSpreads) {
  const BackoffPolicy policy{.baseMs = 100, .maxMs = 1000};
  Backoff backoff(policy, 42);
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::set<int64_t> seen;
    for (int i = 0; i < 200; ++i) {
      const int64_t d = backoff.delayMs(attempt);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, Backoff::ceilingMs(policy, attempt));
      seen.insert(d);
    }
    EXPECT_GT(seen.size(), 20u) << "attempt " << attempt;  // jittered, not a constant
  }
}

TEST(Backoff, SameSeedSameSequenceOtherSeedOtherSequence) {
  const BackoffPolicy policy{.baseMs = 500, .maxMs = 60'000};
  Backoff a(policy, 7);
  Backoff b(policy, 7);
  Backoff c(policy, 8);
  std::vector<int64_t> sa, sb, sc;
  for (int i = 0; i < 10; ++i) {
    sa.push_back(a.delayMs(i));
    sb.push_back(b.delayMs(i));
    sc.push_back(c.delayMs(i));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(Backoff, RetryAfterIsAFloor) {
  Backoff backoff({.baseMs = 10, .maxMs = 20}, 1);
  EXPECT_EQ(backoff.delayMs(0, 5000), 5000);
}

TEST(RetryAfter, DelaySeconds) {
  EXPECT_EQ(sync::parseRetryAfterMs("120", 0).value(), 120'000);
  EXPECT_EQ(sync::parseRetryAfterMs(" 0 ", 0).value(), 0);
}

TEST(RetryAfter, HttpDateForms) {
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s since the epoch.
  const int64_t now = 784'111'777'000 - 30'000;
  EXPECT_EQ(sync::parseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", now).value(), 30'000);
  EXPECT_EQ(sync::parseRetryAfterMs("Sunday, 06-Nov-94 08:49:37 GMT", now).value(), 30'000);
  EXPECT_EQ(sync::parseRetryAfterMs("Sun Nov  6 08:49:37 1994", now).value(), 30'000);
  // A date in the past means "now".
  EXPECT_EQ(sync::parseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", now + 60'000).value(), 0);
}

TEST(HttpDate, ReadsEachFormInWholeSecondsAndRejectsTheRest) {
  EXPECT_EQ(sync::parseHttpDateMs("Sun, 06 Nov 1994 08:49:37 GMT"), 784'111'777'000);
  EXPECT_EQ(sync::parseHttpDateMs(" Sunday, 06-Nov-94 08:49:37 GMT"), 784'111'777'000);
  EXPECT_EQ(sync::parseHttpDateMs("Sun Nov  6 08:49:37 1994"), 784'111'777'000);
  for (const char* bad : {"", "yesterday", "784111777", "Sun, 06 Nov 1994 08:49:37 PST"}) {
    EXPECT_FALSE(sync::parseHttpDateMs(bad)) << bad;
  }
}

TEST(RetryAfter, RejectsGarbage) {
  for (const char* bad : {"soon", "", "-5", "1.5", "Sun, 06 Nov 1994 08:49:37 PST"}) {
    auto r = sync::parseRetryAfterMs(bad, 0);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().message,
              std::string("Retry-After \"") + bad + "\": expected delay-seconds or an HTTP-date");
  }
  EXPECT_EQ(sync::parseRetryAfterMs("99999999999999", 0).error().message,
            "Retry-After \"99999999999999\": delay out of range");
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndProbesAfterCooldown) {
  SimulatedClock clock;
  sync::CircuitBreaker breaker("crm", {.failureThreshold = 3, .cooldownMs = 1000}, clock);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  breaker.recordFailure();
  breaker.recordFailure();
  breaker.recordSuccess();  // resets the streak
  breaker.recordFailure();
  breaker.recordFailure();
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_TRUE(breaker.allowRequest());
  breaker.recordFailure();
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_FALSE(breaker.allowRequest());
  clock.advanceMs(400);
  EXPECT_EQ(breaker.msUntilProbe(), 600);
  EXPECT_EQ(breaker.describe(), "breaker crm: open after 3 consecutive failures, probe in 600 ms");
  EXPECT_FALSE(breaker.allowRequest());
  clock.advanceMs(600);
  EXPECT_TRUE(breaker.allowRequest());  // the probe
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(breaker.allowRequest());  // only one probe at a time
  breaker.recordSuccess();
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_TRUE(breaker.allowRequest());
  EXPECT_EQ(breaker.describe(), "breaker crm: closed");
}

TEST(CircuitBreaker, FailedProbeReopensForAnotherCooldown) {
  SimulatedClock clock;
  sync::CircuitBreaker breaker("erp", {.failureThreshold = 1, .cooldownMs = 500}, clock);
  breaker.recordFailure();
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  clock.advanceMs(500);
  ASSERT_TRUE(breaker.allowRequest());
  breaker.recordFailure();
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker.msUntilProbe(), 500);
  EXPECT_FALSE(breaker.allowRequest());
  clock.advanceMs(499);
  EXPECT_FALSE(breaker.allowRequest());
  clock.advanceMs(1);
  EXPECT_TRUE(breaker.allowRequest());
}

TEST(TokenBucket, BurstThenSteadyRateUnderSimulatedTime) {
  SimulatedClock clock;
  sync::TokenBucket bucket(/*ratePerSecond=*/4, /*burst=*/2, clock);
  EXPECT_EQ(bucket.tryTake(), 0);
  EXPECT_EQ(bucket.tryTake(), 0);
  EXPECT_EQ(bucket.tryTake(), 250);  // one token every 250 ms
  clock.advanceMs(100);
  EXPECT_EQ(bucket.tryTake(), 150);
  clock.advanceMs(150);
  EXPECT_EQ(bucket.tryTake(), 0);
  EXPECT_EQ(bucket.tryTake(), 250);
  clock.advanceMs(10'000);  // idle time refills only up to the burst
  EXPECT_EQ(bucket.tryTake(), 0);
  EXPECT_EQ(bucket.tryTake(), 0);
  EXPECT_GT(bucket.tryTake(), 0);
}

TEST(TokenBucket, TenSecondsAtFivePerSecondAdmitFiftyPlusBurst) {
  SimulatedClock clock;
  sync::TokenBucket bucket(5, 3, clock);
  int admitted = 0;
  for (int ms = 0; ms < 10'000; ms += 10) {
    while (bucket.tryTake() == 0) {
      ++admitted;
    }
    clock.advanceMs(10);
  }
  EXPECT_EQ(admitted, 3 + 50 - 1);  // the burst, then one per 200 ms (the last lands at 10 s)
}

net::HttpResponse response(int status, std::string body = "", net::Headers headers = {}) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(Classify, SuccessRetryablePermanent) {
  const net::ClassifyRules rules;
  EXPECT_EQ(net::classifyResponse(response(204), rules, 0).outcome, net::Outcome::kSuccess);
  for (int status : {500, 502, 503, 429, 408}) {
    EXPECT_EQ(net::classifyResponse(response(status), rules, 0).outcome, net::Outcome::kRetryable)
        << status;
  }
  const auto bad = net::classifyResponse(
      response(422, R"({"message":"Property values were not valid","category":"VALIDATION"})"),
      rules, 0);
  EXPECT_EQ(bad.outcome, net::Outcome::kPermanent);
  EXPECT_EQ(bad.reason, "HTTP 422: Property values were not valid");
  const auto plain = net::classifyResponse(response(404, "no such contact"), rules, 0);
  EXPECT_EQ(plain.outcome, net::Outcome::kPermanent);
  EXPECT_EQ(plain.reason, "HTTP 404: no such contact");
}

TEST(Classify, RetryAfterIsCarried) {
  const auto r =
      net::classifyResponse(response(429, "", {{"Retry-After", "7"}}), net::ClassifyRules{}, 0);
  EXPECT_EQ(r.outcome, net::Outcome::kRetryable);
  EXPECT_EQ(r.retryAfterMs, 7000);
}

TEST(Classify, StaleTokenByStatusAndErrorCode) {
  net::ClassifyRules rules;
  rules.staleToken = {
      {.status = 401, .errorCodePointer = "/category", .errorCodes = {"EXPIRED_AUTHENTICATION"}}};
  EXPECT_EQ(
      net::classifyResponse(response(401, R"({"category":"EXPIRED_AUTHENTICATION"})"), rules, 0)
          .outcome,
      net::Outcome::kStaleToken);
  // Same status, other code: a real authorization failure, not worth a refresh loop.
  const auto denied = net::classifyResponse(
      response(401, R"({"category":"INVALID_AUTHENTICATION","message":"bad key"})"), rules, 0);
  EXPECT_EQ(denied.outcome, net::Outcome::kPermanent);
  EXPECT_EQ(denied.reason, "HTTP 401: bad key");
}

TEST(Classify, TransportFailures) {
  EXPECT_EQ(net::classifyFailure({net::HttpFailure::kTimeout, "t"}).outcome,
            net::Outcome::kRetryable);
  EXPECT_EQ(net::classifyFailure({net::HttpFailure::kConnect, "c"}).outcome,
            net::Outcome::kRetryable);
  EXPECT_EQ(net::classifyFailure({net::HttpFailure::kConnection, "c"}).outcome,
            net::Outcome::kRetryable);
  const auto tls = net::classifyFailure({net::HttpFailure::kTls, "x: tls: certificate verify"});
  EXPECT_EQ(tls.outcome, net::Outcome::kPermanent);
  EXPECT_EQ(tls.reason, "x: tls: certificate verify");
}

}  // namespace
}  // namespace tandem::agent
