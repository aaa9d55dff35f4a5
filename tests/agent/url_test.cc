#include <gtest/gtest.h>

#include "agent/net/url.h"

namespace tandem::agent::net {
namespace {

TEST(Url, ParsesSchemeHostPortTarget) {
  auto url = parseUrl("HTTPS://API.Example.com:8443/v1/contacts?limit=10");
  ASSERT_TRUE(url.has_value()) << url.error().message;
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "api.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/v1/contacts?limit=10");
  EXPECT_EQ(url->hostHeader(), "api.example.com:8443");
  EXPECT_EQ(url->origin(), "https://api.example.com:8443");
}

TEST(Url, DefaultsPortAndTarget) {
  auto http = parseUrl("http://127.0.0.1");
  ASSERT_TRUE(http.has_value());
  EXPECT_EQ(http->port, 80);
  EXPECT_EQ(http->target, "/");
  EXPECT_EQ(http->hostHeader(), "127.0.0.1");
  auto https = parseUrl("https://crm.example.com?x=1");
  ASSERT_TRUE(https.has_value());
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->target, "/?x=1");
  EXPECT_EQ(https->toString(), "https://crm.example.com/?x=1");
}

TEST(Url, Ipv6Literal) {
  auto url = parseUrl("http://[::1]:8080/a");
  ASSERT_TRUE(url.has_value()) << url.error().message;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->hostHeader(), "[::1]:8080");
}

TEST(Url, RejectsMalformedInput) {
  const std::pair<const char*, const char*> cases[] = {
      {"example.com/x", "url \"example.com/x\": missing scheme (expected http:// or https://)"},
      {"ftp://x/y", "url \"ftp://x/y\": unsupported scheme \"ftp\" (expected http or https)"},
      {"http:///x", "url \"http:///x\": missing host"},
      {"http://h:0/", "url \"http://h:0/\": invalid port \"0\""},
      {"http://h:70000/", "url \"http://h:70000/\": invalid port \"70000\""},
      {"http://h:8a/", "url \"http://h:8a/\": invalid port \"8a\""},
      {"http://h:/", "url \"http://h:/\": empty port"},
      {"http://u:p@h/",
       "url \"http://u:p@h/\": userinfo is not allowed (put credentials in the "
       "auth config)"},
      {"http://h/x#frag", "url \"http://h/x#frag\": fragments are not allowed"},
      {"http://[::1/x", "url \"http://[::1/x\": unterminated IPv6 literal"},
      {"http://h/a b",
       "url \"http://h/a b\": control character or space in path (percent-encode "
       "it)"},
  };
  for (const auto& [input, message] : cases) {
    auto url = parseUrl(input);
    ASSERT_FALSE(url.has_value()) << input;
    EXPECT_EQ(url.error().message, message);
  }
}

}  // namespace
}  // namespace tandem::agent::net
