#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "agent/net/webhook_signature.h"

namespace tandem::agent::net {
namespace {

// Independent of the code under test: OpenSSL's one-shot HMAC and base64 straight from here.
std::string referenceBase64Hmac(const std::string& key, const std::string& data) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  unsigned char out[64] = {};
  const int n = EVP_EncodeBlock(out, mac, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

TEST(WebhookSignature, Rfc4231Vectors) {
  EXPECT_EQ(toHex(hmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(toHex(hmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(toHex(hmacSha256(std::string(131, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(toBase64(hmacSha256("Jefe", "what do ya want for nothing?")),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
}

constexpr int64_t kNow = 1'700'000'000'000;

SignedRequest hubspotRequest(const std::string& timestamp, const std::string& signature) {
  return SignedRequest{.method = "POST",
                       .uri = "https://agent.example.com/webhooks/crm?x=1",
                       .body = R"([{"objectId":42,"propertyName":"email"}])",
                       .timestamp = timestamp,
                       .signature = signature};
}

TEST(WebhookSignature, HubSpotV3AcceptsAFreshCorrectSignature) {
  const std::string ts = std::to_string(kNow - 60'000);
  const std::string sig = referenceBase64Hmac(
      "app-secret", std::string("POST") + "https://agent.example.com/webhooks/crm?x=1" +
                        R"([{"objectId":42,"propertyName":"email"}])" + ts);
  const auto scheme = SignatureScheme::hubspotV3();
  EXPECT_TRUE(verifySignature(scheme, "app-secret", hubspotRequest(ts, sig), kNow).has_value());
  auto wrongSecret = verifySignature(scheme, "other", hubspotRequest(ts, sig), kNow);
  ASSERT_FALSE(wrongSecret.has_value());
  EXPECT_EQ(wrongSecret.error().message, "webhook signature: mismatch");
  auto tampered = hubspotRequest(ts, sig);
  tampered.body = R"([{"objectId":43,"propertyName":"email"}])";
  EXPECT_EQ(verifySignature(scheme, "app-secret", tampered, kNow).error().message,
            "webhook signature: mismatch");
}

TEST(WebhookSignature, HubSpotV3RejectsExpiredAndFutureTimestamps) {
  const auto scheme = SignatureScheme::hubspotV3();
  const std::string old = std::to_string(kNow - 300'001);
  const std::string sigOld = computeSignature(scheme, "s", hubspotRequest(old, ""));
  auto expired = verifySignature(scheme, "s", hubspotRequest(old, sigOld), kNow);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().message,
            "webhook signature: timestamp " + old + " is 300001 ms old (tolerance 300000 ms)");
  const std::string future = std::to_string(kNow + 400'000);
  const std::string sigFuture = computeSignature(scheme, "s", hubspotRequest(future, ""));
  EXPECT_EQ(verifySignature(scheme, "s", hubspotRequest(future, sigFuture), kNow).error().message,
            "webhook signature: timestamp " + future +
                " is 400000 ms in the future (tolerance 300000 ms)");
  EXPECT_EQ(verifySignature(scheme, "s", hubspotRequest("", sigOld), kNow).error().message,
            "webhook signature: missing timestamp");
  EXPECT_EQ(verifySignature(scheme, "s", hubspotRequest("12x", sigOld), kNow).error().message,
            "webhook signature: invalid timestamp \"12x\"");
}

TEST(WebhookSignature, QuickBooksSignsTheBodyOnly) {
  const std::string body = R"({"eventNotifications":[{"realmId":"1"}]})";
  const std::string sig = referenceBase64Hmac("verifier-token", body);
  SignedRequest request{
      .method = "POST", .uri = "/ignored", .body = body, .timestamp = "", .signature = sig};
  EXPECT_TRUE(
      verifySignature(SignatureScheme::quickbooks(), "verifier-token", request, kNow).has_value());
  request.signature = "";
  EXPECT_EQ(verifySignature(SignatureScheme::quickbooks(), "verifier-token", request, kNow)
                .error()
                .message,
            "webhook signature: missing signature");
}

TEST(WebhookSignature, GenericHexWithPrefixIgnoresHexCase) {
  auto scheme = SignatureScheme::genericHex();
  scheme.prefix = "sha256=";
  // RFC 4231 test case 2 as a webhook.
  SignedRequest request{.method = "POST",
                        .uri = "/hook",
                        .body = "what do ya want for nothing?",
                        .timestamp = "",
                        .signature =
                            "sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC"
                            "58B964EC3843"};
  EXPECT_TRUE(verifySignature(scheme, "Jefe", request, kNow).has_value());
  request.signature = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  EXPECT_EQ(verifySignature(scheme, "Jefe", request, kNow).error().message,
            "webhook signature: expected prefix \"sha256=\"");
  request.signature = "sha256=5bdcc146";
  EXPECT_EQ(verifySignature(scheme, "Jefe", request, kNow).error().message,
            "webhook signature: mismatch");
}

TEST(WebhookSignature, SecondsTimestamps) {
  SignatureScheme scheme;
  scheme.parts = {SignaturePart::kTimestamp, SignaturePart::kBody};
  scheme.toleranceMs = 300'000;
  scheme.timestampInSeconds = true;
  const std::string ts = std::to_string(kNow / 1000 - 10);
  SignedRequest request{
      .method = "POST", .uri = "/hook", .body = "{}", .timestamp = ts, .signature = ""};
  const std::string sig = computeSignature(scheme, "k", request);
  request.signature = sig;
  EXPECT_TRUE(verifySignature(scheme, "k", request, kNow).has_value());
  EXPECT_FALSE(verifySignature(scheme, "k", request, kNow + 301'000).has_value());
}

}  // namespace
}  // namespace tandem::agent::net
