#pragma once

// Request templates (mappers::RequestSpec): {id}, {version}, {since}, {after}, {offset}, {limit},
// {idempotency_key}, {from}, {to} and the system's vars ({realm}) in the URL, query, headers and
// JSON body.
//   - URL path: the value percent-encoded; a placeholder without a value is an error. Literal
//     URL text that cannot stand in a URL (space, ", <, >, ...) is percent-encoded too.
//   - Query parameter or header: one whose placeholder has no value is left out.
//   - Body: a JSON string that is exactly one placeholder becomes the typed value (numbers for
//     {limit}, {offset} and an integer {id}); a member or array element whose placeholder has
//     no value is left out; placeholders inside longer strings are replaced as text.
// Unknown placeholders are errors. The mapped record is merged in at `record_at` after the
// placeholders are filled, so record values are never read as templates.

#include <map>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "agent/net/http_message.h"
#include "conflict/result.h"
#include "mappers/config.h"

namespace tandem::agent::connector {

struct PlaceholderValue {
  std::string text;
  bool number = false;  // written as a JSON number in bodies
};

class TemplateValues {
 public:
  // The system's vars are always set.
  explicit TemplateValues(const mappers::SystemConfig& system);
  void set(const std::string& name, std::string text, bool number = false);
  // nullptr when the placeholder has no value (e.g. {after} on the first page).
  const PlaceholderValue* find(std::string_view name) const;
  bool known(std::string_view name) const;

 private:
  std::map<std::string, PlaceholderValue, std::less<>> values_;
  std::map<std::string, bool, std::less<>> vars_;
};

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string percentEncode(std::string_view text);

// The absolute URL: base_url + the filled template (an absolute template is taken as is).
Result<std::string> renderUrl(const std::string& base_url, std::string_view url_template,
                              const TemplateValues& values);

// `url` with "name=value" appended to its query.
std::string appendQuery(std::string url, std::string_view name, std::string_view value);

// The filled JSON body template as a document ("" = no body: an empty object).
Result<rapidjson::Document> renderJsonTemplate(std::string_view body_template,
                                               const TemplateValues& values);

// The whole request: URL, headers, and the body with `record` merged at `record_at` (record may
// be nullptr; a spec without body and without record sends no body).
Result<net::HttpRequest> renderRequest(const mappers::SystemConfig& system,
                                       const mappers::RequestSpec& spec,
                                       const TemplateValues& values,
                                       const std::string& record_at = "",
                                       const rapidjson::Value* record = nullptr);

// Every placeholder in the spec is known (checked once when a connector is made).
Status checkRequestTemplate(const mappers::RequestSpec& spec, const TemplateValues& values);

}  // namespace tandem::agent::connector
