#include "mappers/transforms.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace tandem::mappers {
namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly n digits at s[pos..].
bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!isDigit(s[pos + i])) {
      return false;
    }
    out = out * 10 + (s[pos + i] - '0');
  }
  return true;
}

void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

unsigned daysInMonth(int y, int m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<double> parseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return std::nullopt;
  }
  size_t i = s[0] == '-' ? 1 : 0;
  if (i >= s.size() || !(isDigit(s[i]) || s[i] == '.')) {
    return std::nullopt;  // refuses "nan", "inf", "+1", " 1"
  }
  double d = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> parseInteger(std::string_view s) {
  int64_t v = 0;
  if (s.empty() || s[0] == '+') {
    return std::nullopt;
  }
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::string formatNumber(double d, int decimals) {
  char buf[64];
  std::to_chars_result res =
      decimals >= 0 ? std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, decimals)
                    : std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, res.ptr);
}

bool isEpochFormat(TimeFormat f) {
  return f == TimeFormat::EpochS || f == TimeFormat::EpochMs;
}

std::optional<int64_t> parseTime(std::string_view s, TimeFormat f) {
  if (isEpochFormat(f)) {
    auto v = parseInteger(s);
    if (!v || (f == TimeFormat::EpochS && (*v > INT64_MAX / 1000 || *v < INT64_MIN / 1000))) {
      return std::nullopt;
    }
    return f == TimeFormat::EpochS ? *v * 1000 : *v;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || !(s[10] == 'T' || s[10] == ' ') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > daysInMonth(y, mo) || h > 23 ||
      mi > 59 || sec > 59) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    size_t start = pos;
    while (pos < s.size() && isDigit(s[pos])) {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) {
      return std::nullopt;
    }
  }
  int64_t offset_min = 0;
  bool naive = f == TimeFormat::NaiveUtc || f == TimeFormat::NaiveUtcSeconds;
  if (naive) {
    if (pos != s.size()) {
      return std::nullopt;
    }
  } else {
    if (pos >= s.size()) {
      return std::nullopt;
    }
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh = 0, om = 0;
      int sign = s[pos] == '-' ? -1 : 1;
      if (!digits(s, pos + 1, 2, oh)) {
        return std::nullopt;
      }
      size_t mpos = pos + 3;
      if (mpos < s.size() && s[mpos] == ':') {
        ++mpos;
      }
      if (!digits(s, mpos, 2, om) || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_min = sign * (oh * 60 + om);
      pos = mpos + 2;
    } else {
      return std::nullopt;
    }
    if (pos != s.size()) {
      return std::nullopt;
    }
  }
  int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return secs * 1000 + ms;
}

std::string formatTime(int64_t ms, TimeFormat f) {
  if (f == TimeFormat::EpochMs) {
    return std::to_string(ms);
  }
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t frac = ms - secs * 1000;
  if (f == TimeFormat::EpochS) {
    return std::to_string(secs);
  }
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civilFromDays(days, y, m, d);
  char buf[64];
  char sep = (f == TimeFormat::NaiveUtc || f == TimeFormat::NaiveUtcSeconds) ? ' ' : 'T';
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u%c%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, sep, static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem % 3600 / 60), static_cast<long long>(rem % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (frac != 0 && f != TimeFormat::NaiveUtcSeconds) {
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac));
    out += buf;
  }
  if (f == TimeFormat::Rfc3339) {
    out += 'Z';
  } else if (f == TimeFormat::Rfc3339Offset) {
    out += "+0000";
  }
  return out;
}

void normalizeString(std::string& s, const Normalize& n) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  if (n.trim) {
    size_t b = 0;
    while (b < s.size() && space(s[b])) {
      ++b;
    }
    size_t e = s.size();
    while (e > b && space(s[e - 1])) {
      --e;
    }
    if (b > 0 || e < s.size()) {
      s = s.substr(b, e - b);
    }
  }
  if (n.collapse_spaces) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
      if (space(c)) {
        if (out.empty() || out.back() != ' ') {
          out.push_back(' ');
        }
      } else {
        out.push_back(c);
      }
    }
    s = std::move(out);
  }
  if (n.fold == CaseFold::Lower) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c - 'A' + 'a');
      }
    }
  } else if (n.fold == CaseFold::Upper) {
    for (char& c : s) {
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 'a' + 'A');
      }
    }
  }
}

}  // namespace tandem::mappers
