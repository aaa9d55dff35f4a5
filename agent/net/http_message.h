#pragma once

// Plain request/response structs shared by the HTTP client and server: no Beast in sight.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::agent::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup of the first header with this name; empty view when absent.
std::string_view findHeader(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  // Client: an absolute URL ("https://api.example.com/v1/x?y=1").
  // Server: the request target as received ("/v1/x?y=1").
  std::string target;
  Headers headers;
  std::string body;

  std::string_view header(std::string_view name) const { return findHeader(headers, name); }
  // Server side: the target without its query string.
  std::string_view path() const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;

  std::string_view header(std::string_view name) const { return findHeader(headers, name); }
};

// {"error":"<message>"} with the given status and application/json content type.
HttpResponse jsonError(int status, std::string_view message);

}  // namespace tandem::agent::net
