#include "agent/net/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tandem::agent::net {
namespace {

std::unexpected<Error> urlError(std::string_view text, const std::string& why) {
  return fail("url \"" + std::string(text) + "\": " + why);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string Url::hostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!defaultPort()) {
    h += ":" + std::to_string(port);
  }
  return h;
}

std::string Url::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::string Url::toString() const {
  return scheme + "://" + hostHeader() + target;
}

Result<Url> parseUrl(std::string_view text) {
  Url url;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    return urlError(text, "missing scheme (expected http:// or https://)");
  }
  url.scheme = lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return urlError(text, "unsupported scheme \"" + url.scheme + "\" (expected http or https)");
  }
  std::string_view rest = text.substr(sep + 3);
  const auto pathStart = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, pathStart);
  std::string_view tail = pathStart == std::string_view::npos ? "" : rest.substr(pathStart);
  if (tail.find('#') != std::string_view::npos) {
    return urlError(text, "fragments are not allowed");
  }
  if (authority.find('@') != std::string_view::npos) {
    return urlError(text, "userinfo is not allowed (put credentials in the auth config)");
  }
  std::string_view portText;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return urlError(text, "unterminated IPv6 literal");
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return urlError(text, "unexpected text after IPv6 literal");
      }
      portText = after.substr(1);
      if (portText.empty()) {
        return urlError(text, "empty port");
      }
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
      if (portText.empty()) {
        return urlError(text, "empty port");
      }
    }
    url.host = lower(authority);
  }
  if (url.host.empty()) {
    return urlError(text, "missing host");
  }
  if (!portText.empty()) {
    unsigned value = 0;
    const auto [ptr, ec] =
        std::from_chars(portText.data(), portText.data() + portText.size(), value);
    if (ec != std::errc() || ptr != portText.data() + portText.size() || value == 0 ||
        value > 65535) {
      return urlError(text, "invalid port \"" + std::string(portText) + "\"");
    }
    url.port = static_cast<uint16_t>(value);
  } else {
    url.port = url.tls() ? 443 : 80;
  }
  if (tail.empty()) {
    url.target = "/";
  } else if (tail.front() == '?') {
    url.target = "/" + std::string(tail);
  } else {
    url.target = std::string(tail);
  }
  for (const char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return urlError(text, "control character or space in path (percent-encode it)");
    }
  }
  return url;
}

}  // namespace tandem::agent::net
