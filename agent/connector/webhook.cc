// Webhook deliveries: HMAC-SHA256 over the configured parts (method, URI, body, timestamp),
// hex or base64, compared in constant time, the timestamp checked against a tolerance, and the
// record ids read from the payload (a "*" step in the pointer visits every array element).
#include <algorithm>
#include <cctype>
#include <charconv>

#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include "agent/connector/connector_impl.h"
#include "agent/connector/json_util.h"
#include "agent/net/webhook_signature.h"

namespace tandem::agent::connector {
namespace {

std::vector<std::string> pointerTokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  pointer.remove_prefix(1);  // the leading '/'
  for (;;) {
    const size_t slash = pointer.find('/');
    std::string token(pointer.substr(0, slash));
    std::string unescaped;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
        unescaped += token[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    tokens.push_back(std::move(unescaped));
    if (slash == std::string_view::npos) {
      break;
    }
    pointer.remove_prefix(slash + 1);
  }
  return tokens;
}

void collectIds(const rapidjson::Value& v, const std::vector<std::string>& tokens, size_t at,
                std::vector<std::string>& out) {
  if (at == tokens.size()) {
    if (auto text = scalarText(v); text && !text->empty()) {
      out.push_back(std::move(*text));
    }
    return;
  }
  const std::string& token = tokens[at];
  if (v.IsArray()) {
    if (token == "*") {
      for (const auto& item : v.GetArray()) {
        collectIds(item, tokens, at + 1, out);
      }
      return;
    }
    size_t index = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
    if (ec == std::errc() && end == token.data() + token.size() && index < v.Size()) {
      collectIds(v[static_cast<rapidjson::SizeType>(index)], tokens, at + 1, out);
    }
    return;
  }
  if (v.IsObject()) {
    const auto it = v.FindMember(rapidjson::StringRef(token.data(), token.size()));
    if (it != v.MemberEnd()) {
      collectIds(it->value, tokens, at + 1, out);
    }
  }
}

// The URL the sender signed: the request target made absolute with the Host header (and the
// scheme a TLS-terminating proxy reports in X-Forwarded-Proto).
std::string signedUri(const net::HttpRequest& request) {
  if (request.target.starts_with("http://") || request.target.starts_with("https://")) {
    return request.target;
  }
  std::string scheme(request.header("X-Forwarded-Proto"));
  if (scheme.empty()) {
    scheme = "http";
  }
  return scheme + "://" + std::string(request.header("Host")) + request.target;
}

}  // namespace

Result<WebhookDelivery> ConnectorImpl::verifyWebhook(const net::HttpRequest& request,
                                                     int64_t now_ms) const {
  const std::string w = "webhook " + system_.name;
  if (!spec_.webhook) {
    return fail(w + ": entity " + entity_ + " has no webhook");
  }
  const mappers::WebhookSpec& hook = *spec_.webhook;
  std::string_view signature = request.header(hook.signature_header);
  if (signature.empty()) {
    return fail(w + ": missing header " + hook.signature_header);
  }
  std::string_view timestamp;
  if (!hook.timestamp_header.empty()) {
    timestamp = request.header(hook.timestamp_header);
    if (timestamp.empty()) {
      return fail(w + ": missing header " + hook.timestamp_header);
    }
    int64_t ts = 0;
    const auto [end, ec] =
        std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
    if (ec != std::errc() || end != timestamp.data() + timestamp.size() || ts < 0) {
      return fail(w + ": timestamp " + quoteForError(timestamp) + " is not an integer");
    }
    const int64_t ts_ms = hook.timestamp_in_ms ? ts : ts * 1000;
    const int64_t age = now_ms - ts_ms;
    if (age > hook.tolerance_ms) {
      return fail(w + ": timestamp " + std::string(timestamp) + " is " + std::to_string(age) +
                  " ms old, tolerance " + std::to_string(hook.tolerance_ms));
    }
    if (-age > hook.tolerance_ms) {
      return fail(w + ": timestamp " + std::string(timestamp) + " is " + std::to_string(-age) +
                  " ms in the future, tolerance " + std::to_string(hook.tolerance_ms));
    }
  }
  net::SignatureScheme scheme;
  scheme.parts.clear();
  for (const mappers::SignaturePart part : hook.signed_parts) {
    switch (part) {
      case mappers::SignaturePart::Method:
        scheme.parts.push_back(net::SignaturePart::kMethod);
        break;
      case mappers::SignaturePart::Uri:
        scheme.parts.push_back(net::SignaturePart::kUri);
        break;
      case mappers::SignaturePart::Body:
        scheme.parts.push_back(net::SignaturePart::kBody);
        break;
      case mappers::SignaturePart::Timestamp:
        scheme.parts.push_back(net::SignaturePart::kTimestamp);
        break;
    }
  }
  const bool hex = hook.encoding == mappers::SignatureEncoding::Hex;
  scheme.encoding = hex ? net::SignatureEncoding::kHex : net::SignatureEncoding::kBase64;
  const std::string uri = signedUri(request);
  const net::SignedRequest signed_request{request.method, uri, request.body, timestamp, signature};
  const std::string expected = net::computeSignature(scheme, hook.secret.reveal(), signed_request);
  std::string got(signature);
  if (got.starts_with("sha256=")) {
    got.erase(0, 7);
  }
  if (hex) {
    std::transform(got.begin(), got.end(), got.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  if (got.size() != expected.size() ||
      CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
    return fail(w + ": signature mismatch");
  }
  rapidjson::Document doc;
  doc.Parse(request.body.data(), request.body.size());
  if (doc.HasParseError()) {
    return fail(w + ": body is not JSON");
  }
  WebhookDelivery delivery;
  collectIds(doc, pointerTokens(hook.ids_pointer), 0, delivery.ids);
  std::sort(delivery.ids.begin(), delivery.ids.end());
  delivery.ids.erase(std::unique(delivery.ids.begin(), delivery.ids.end()), delivery.ids.end());
  return delivery;
}

}  // namespace tandem::agent::connector
