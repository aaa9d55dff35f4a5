#include "agent/net/webhook_signature.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace tandem::agent::net {

SignatureScheme SignatureScheme::hubspotV3() {
  SignatureScheme s;
  s.parts = {SignaturePart::kMethod, SignaturePart::kUri, SignaturePart::kBody,
             SignaturePart::kTimestamp};
  s.encoding = SignatureEncoding::kBase64;
  s.toleranceMs = 5 * 60 * 1000;
  return s;
}

SignatureScheme SignatureScheme::quickbooks() {
  SignatureScheme s;
  s.parts = {SignaturePart::kBody};
  s.encoding = SignatureEncoding::kBase64;
  return s;
}

SignatureScheme SignatureScheme::genericHex() {
  SignatureScheme s;
  s.parts = {SignaturePart::kBody};
  s.encoding = SignatureEncoding::kHex;
  return s;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string toHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::string toBase64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string computeSignature(const SignatureScheme& scheme, std::string_view secret,
                             const SignedRequest& request) {
  std::string message;
  for (const auto part : scheme.parts) {
    switch (part) {
      case SignaturePart::kMethod:
        message += request.method;
        break;
      case SignaturePart::kUri:
        message += request.uri;
        break;
      case SignaturePart::kBody:
        message += request.body;
        break;
      case SignaturePart::kTimestamp:
        message += request.timestamp;
        break;
    }
  }
  const std::string mac = hmacSha256(secret, message);
  return scheme.encoding == SignatureEncoding::kHex ? toHex(mac) : toBase64(mac);
}

Status verifySignature(const SignatureScheme& scheme, std::string_view secret,
                       const SignedRequest& request, int64_t nowMs) {
  std::string_view received = request.signature;
  if (received.empty()) {
    return fail("webhook signature: missing signature");
  }
  if (!scheme.prefix.empty()) {
    if (!received.starts_with(scheme.prefix)) {
      return fail("webhook signature: expected prefix \"" + scheme.prefix + "\"");
    }
    received.remove_prefix(scheme.prefix.size());
  }
  if (scheme.toleranceMs > 0) {
    if (request.timestamp.empty()) {
      return fail("webhook signature: missing timestamp");
    }
    int64_t ts = 0;
    const auto* end = request.timestamp.data() + request.timestamp.size();
    const auto [ptr, ec] = std::from_chars(request.timestamp.data(), end, ts);
    if (ec != std::errc() || ptr != end || ts < 0) {
      return fail("webhook signature: invalid timestamp \"" + std::string(request.timestamp) +
                  "\"");
    }
    const int64_t tsMs = scheme.timestampInSeconds ? ts * 1000 : ts;
    const int64_t age = nowMs - tsMs;
    if (age > scheme.toleranceMs) {
      return fail("webhook signature: timestamp " + std::string(request.timestamp) + " is " +
                  std::to_string(age) + " ms old (tolerance " + std::to_string(scheme.toleranceMs) +
                  " ms)");
    }
    if (-age > scheme.toleranceMs) {
      return fail("webhook signature: timestamp " + std::string(request.timestamp) + " is " +
                  std::to_string(-age) + " ms in the future (tolerance " +
                  std::to_string(scheme.toleranceMs) + " ms)");
    }
  }
  const std::string expected = computeSignature(scheme, secret, request);
  std::string got(received);
  if (scheme.encoding == SignatureEncoding::kHex) {
    std::transform(got.begin(), got.end(), got.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  // Length is not secret (it is fixed by the scheme); the bytes are compared in constant time.
  if (got.size() != expected.size() ||
      CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
    return fail("webhook signature: mismatch");
  }
  return {};
}

}  // namespace tandem::agent::net
