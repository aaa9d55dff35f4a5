#pragma once

// Webhook signature checks: HMAC-SHA256 over a configured composition of the request's method,
// URI, body and timestamp, encoded hex or base64, compared in constant time, with a timestamp
// tolerance against replays.
//   HubSpot v3:  base64(HMAC(secret, method + uri + body + timestamp)), timestamp in ms, 5 min
//   QuickBooks:  base64(HMAC(verifier token, body)), no timestamp
//   generic:     hex(HMAC(secret, body)), optional "sha256=" prefix

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conflict/result.h"

namespace tandem::agent::net {

enum class SignaturePart { kMethod, kUri, kBody, kTimestamp };
enum class SignatureEncoding { kHex, kBase64 };

struct SignatureScheme {
  std::vector<SignaturePart> parts{SignaturePart::kBody};
  SignatureEncoding encoding = SignatureEncoding::kHex;
  std::string prefix;       // stripped from the received signature, e.g. "sha256="
  int64_t toleranceMs = 0;  // 0: no timestamp check
  bool timestampInSeconds = false;

  static SignatureScheme hubspotV3();
  static SignatureScheme quickbooks();
  static SignatureScheme genericHex();
};

struct SignedRequest {
  std::string_view method;
  std::string_view uri;  // as the scheme signs it (HubSpot: the full https://... URL)
  std::string_view body;
  std::string_view timestamp;  // header value, when the scheme uses one
  std::string_view signature;  // header value
};

// Raw 32-byte HMAC-SHA256 and the two encodings.
std::string hmacSha256(std::string_view key, std::string_view data);
std::string toHex(std::string_view bytes);
std::string toBase64(std::string_view bytes);

// The encoded signature the sender should have sent (without prefix).
std::string computeSignature(const SignatureScheme& scheme, std::string_view secret,
                             const SignedRequest& request);

// OK, or why not: "webhook signature: mismatch",
// "webhook signature: timestamp 1700000000000 is 400000 ms old (tolerance 300000 ms)".
Status verifySignature(const SignatureScheme& scheme, std::string_view secret,
                       const SignedRequest& request, int64_t nowMs);

}  // namespace tandem::agent::net
