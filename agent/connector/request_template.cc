#include "agent/connector/request_template.h"

#include <charconv>
#include <optional>

#include "mappers/body_template.h"
#include "mappers/mapper.h"

namespace tandem::agent::connector {
namespace {

constexpr std::string_view kStandard[] = {"id",    "version",         "since", "after", "offset",
                                          "limit", "idempotency_key", "from",  "to"};

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// One placeholder occurrence: [begin, end) in the text, with its name.
struct Hole {
  size_t begin = 0;
  size_t end = 0;
  std::string_view name;
};

std::optional<Hole> nextHole(std::string_view text, size_t from) {
  for (size_t open = text.find('{', from); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    size_t close = open + 1;
    while (close < text.size() && isNameChar(text[close])) {
      ++close;
    }
    if (close < text.size() && text[close] == '}' && close > open + 1) {
      return Hole{open, close + 1, text.substr(open + 1, close - open - 1)};
    }
  }
  return std::nullopt;
}

// Literal URL template text with what cannot stand in a URL (space, quotes, <, >, ...)
// percent-encoded, so a query such as QuickBooks' "select * from Customer where ..." can be
// written as it reads. '%' is kept: a template may be encoded already.
std::string encodeLiteral(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr std::string_view kUnsafe = " \"<>\\^`{|}";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || kUnsafe.find(ch) != std::string_view::npos) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// Fills every placeholder of `text`; nullopt when one has no value. `encode`: a URL part (values
// percent-encoded, literal text made URL-safe).
Result<std::optional<std::string>> fill(std::string_view text, const TemplateValues& values,
                                        bool encode, std::string_view where) {
  std::string out;
  size_t pos = 0;
  const auto literal = [&](std::string_view part) {
    out += encode ? encodeLiteral(part) : std::string(part);
  };
  while (auto hole = nextHole(text, pos)) {
    if (!values.known(hole->name)) {
      return fail(std::string(where) + ": unknown placeholder {" + std::string(hole->name) + "}");
    }
    const PlaceholderValue* v = values.find(hole->name);
    if (v == nullptr) {
      return std::optional<std::string>();
    }
    literal(text.substr(pos, hole->begin - pos));
    out += encode ? percentEncode(v->text) : v->text;
    pos = hole->end;
  }
  literal(text.substr(pos));
  return std::optional<std::string>(std::move(out));
}

// Fills placeholders in every string of `v`. Returns false when `v` must be left out.
Result<bool> fillJson(rapidjson::Value& v, const TemplateValues& values,
                      rapidjson::Document::AllocatorType& a, const std::string& where) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd();) {
      auto keep = fillJson(it->value, values, a, where);
      if (!keep) {
        return keep;
      }
      it = *keep ? it + 1 : v.EraseMember(it);
    }
    return true;
  }
  if (v.IsArray()) {
    for (auto it = v.Begin(); it != v.End();) {
      auto keep = fillJson(*it, values, a, where);
      if (!keep) {
        return keep;
      }
      it = *keep ? it + 1 : v.Erase(it);
    }
    return true;
  }
  if (!v.IsString()) {
    return true;
  }
  const std::string_view text(v.GetString(), v.GetStringLength());
  const auto hole = nextHole(text, 0);
  if (!hole) {
    return true;
  }
  if (hole->begin == 0 && hole->end == text.size()) {
    if (!values.known(hole->name)) {
      return fail(where + ": unknown placeholder {" + std::string(hole->name) + "}");
    }
    const PlaceholderValue* p = values.find(hole->name);
    if (p == nullptr) {
      return false;
    }
    if (p->number) {
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(p->text.data(), p->text.data() + p->text.size(), n);
      if (ec != std::errc() || end != p->text.data() + p->text.size()) {
        return fail(where + ": {" + std::string(hole->name) + "} \"" + p->text +
                    "\" is not an integer");
      }
      v.SetInt64(n);
    } else {
      v.SetString(p->text.data(), static_cast<rapidjson::SizeType>(p->text.size()), a);
    }
    return true;
  }
  auto filled = fill(text, values, false, where);
  if (!filled) {
    return std::unexpected(filled.error());
  }
  if (!*filled) {
    return false;
  }
  v.SetString((*filled)->data(), static_cast<rapidjson::SizeType>((*filled)->size()), a);
  return true;
}

}  // namespace

TemplateValues::TemplateValues(const mappers::SystemConfig& system) {
  for (const auto& [name, value] : system.vars) {
    values_[name] = PlaceholderValue{value, false};
    vars_[name] = true;
  }
}

void TemplateValues::set(const std::string& name, std::string text, bool number) {
  values_[name] = PlaceholderValue{std::move(text), number};
}

const PlaceholderValue* TemplateValues::find(std::string_view name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

bool TemplateValues::known(std::string_view name) const {
  for (std::string_view s : kStandard) {
    if (s == name) {
      return true;
    }
  }
  return vars_.contains(name);
}

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> renderUrl(const std::string& base_url, std::string_view url_template,
                              const TemplateValues& values) {
  const std::string where = "url \"" + std::string(url_template) + "\"";
  const size_t q = url_template.find('?');
  const std::string_view path = url_template.substr(0, q);
  std::string out;
  size_t pos = 0;
  while (auto hole = nextHole(path, pos)) {
    if (!values.known(hole->name)) {
      return fail(where + ": unknown placeholder {" + std::string(hole->name) + "}");
    }
    const PlaceholderValue* v = values.find(hole->name);
    if (v == nullptr) {
      return fail(where + ": {" + std::string(hole->name) + "} has no value");
    }
    out += encodeLiteral(path.substr(pos, hole->begin - pos));
    out += percentEncode(v->text);
    pos = hole->end;
  }
  out += encodeLiteral(path.substr(pos));
  if (q != std::string_view::npos) {
    std::string query;
    std::string_view rest = url_template.substr(q + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view param = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      auto filled = fill(param, values, true, where);
      if (!filled) {
        return std::unexpected(filled.error());
      }
      if (*filled && !(*filled)->empty()) {
        query += (query.empty() ? "" : "&") + **filled;
      }
    }
    if (!query.empty()) {
      out += "?" + query;
    }
  }
  if (out.starts_with("http://") || out.starts_with("https://")) {
    return out;
  }
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  if (!out.empty() && out.front() != '/') {
    base += '/';
  }
  return base + out;
}

std::string appendQuery(std::string url, std::string_view name, std::string_view value) {
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += percentEncode(name);
  url += '=';
  url += percentEncode(value);
  return url;
}

Result<rapidjson::Document> renderJsonTemplate(std::string_view body_template,
                                               const TemplateValues& values) {
  rapidjson::Document doc;
  if (body_template.empty()) {
    doc.SetObject();
    return doc;
  }
  doc.Parse(body_template.data(), body_template.size());
  if (doc.HasParseError()) {
    return fail("body template is not JSON: " + std::string(body_template));
  }
  auto keep = fillJson(doc, values, doc.GetAllocator(), "body");
  if (!keep) {
    return std::unexpected(keep.error());
  }
  if (!*keep) {
    doc.SetObject();
  }
  return doc;
}

Result<net::HttpRequest> renderRequest(const mappers::SystemConfig& system,
                                       const mappers::RequestSpec& spec,
                                       const TemplateValues& values, const std::string& record_at,
                                       const rapidjson::Value* record) {
  net::HttpRequest request;
  request.method = spec.method;
  auto url = renderUrl(system.base_url, spec.url, values);
  if (!url) {
    return std::unexpected(url.error());
  }
  request.target = std::move(*url);
  for (const auto& [name, value] : spec.headers) {
    auto filled = fill(value, values, false, "header " + name);
    if (!filled) {
      return std::unexpected(filled.error());
    }
    if (*filled) {
      request.headers.emplace_back(name, std::move(**filled));
    }
  }
  if (spec.body.empty() && record == nullptr) {
    return request;
  }
  auto body = renderJsonTemplate(spec.body, values);
  if (!body) {
    return std::unexpected(body.error());
  }
  if (record == nullptr) {
    request.body = mappers::toJson(*body);
    return request;
  }
  if (auto placed = mappers::placeRecord(*body, body->GetAllocator(), record_at, *record);
      !placed) {
    return std::unexpected(placed.error());
  }
  request.body = mappers::toJson(*body);
  return request;
}

Status checkRequestTemplate(const mappers::RequestSpec& spec, const TemplateValues& values) {
  auto check = [&](std::string_view text, const std::string& where) -> Status {
    for (auto hole = nextHole(text, 0); hole; hole = nextHole(text, hole->end)) {
      if (!values.known(hole->name)) {
        return fail(where + ": unknown placeholder {" + std::string(hole->name) + "}");
      }
    }
    return {};
  };
  if (auto ok = check(spec.url, "url \"" + spec.url + "\""); !ok) {
    return ok;
  }
  for (const auto& [name, value] : spec.headers) {
    if (auto ok = check(value, "header " + name); !ok) {
      return ok;
    }
  }
  return check(spec.body, "body");
}

}  // namespace tandem::agent::connector
