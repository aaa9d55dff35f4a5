#pragma once

// A small URL parser for the REST connector: scheme://host[:port][/path][?query].
// Only http and https; userinfo and fragments are rejected, IPv6 literals in brackets work.

#include <cstdint>
#include <string>
#include <string_view>

#include "conflict/result.h"

namespace tandem::agent::net {

struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // without brackets for IPv6 literals
  uint16_t port = 0;   // explicit or the scheme's default
  std::string target;  // path + query, at least "/"

  bool tls() const { return scheme == "https"; }
  bool defaultPort() const { return port == (tls() ? 443 : 80); }
  // "host" or "host:port" (brackets around IPv6), as sent in the Host header.
  std::string hostHeader() const;
  // scheme://host:port, the connection pool key.
  std::string origin() const;
  std::string toString() const;
};

// Errors: `url "ftp://x": unsupported scheme "ftp" (expected http or https)`.
Result<Url> parseUrl(std::string_view text);

}  // namespace tandem::agent::net
