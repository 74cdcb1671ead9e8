#include "serve/prom_exposition.h"

#include <charconv>
#include <cmath>

namespace dnsight {
namespace {

void AppendValue(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out->append(std::to_string(static_cast<int64_t>(v)));
  } else {
    // The shortest text that reads back as the same double: a scraper sees the exact
    // value, so a growing sum never looks flat between scrapes.
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, res.ptr);
  }
}

void AppendLabelValue(std::string_view v, std::string* out) {
  for (char c : v) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

void AppendSample(std::string_view name, const PromLabels& labels, std::string_view extra_key,
                  std::string_view extra_value, double value, std::string* out) {
  out->append(name);
  if (!labels.empty() || !extra_key.empty()) {
    out->push_back('{');
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out->push_back(',');
      first = false;
      out->append(k);
      out->append("=\"");
      AppendLabelValue(v, out);
      out->push_back('"');
    }
    if (!extra_key.empty()) {
      if (!first) out->push_back(',');
      out->append(extra_key);
      out->append("=\"");
      out->append(extra_value);
      out->push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
  AppendValue(value, out);
  out->push_back('\n');
}

}  // namespace

void PromExposition::Family(std::string_view name, Type type, std::string_view help) {
  text_.append("# HELP ");
  text_.append(name);
  text_.push_back(' ');
  for (char c : help) {
    if (c == '\n') {
      text_.append("\\n");
    } else if (c == '\\') {
      text_.append("\\\\");
    } else {
      text_.push_back(c);
    }
  }
  text_.append("\n# TYPE ");
  text_.append(name);
  text_.append(type == Type::kCounter ? " counter\n"
               : type == Type::kGauge ? " gauge\n"
                                      : " histogram\n");
}

void PromExposition::Sample(std::string_view name, const PromLabels& labels, double value) {
  AppendSample(name, labels, {}, {}, value, &text_);
}

void PromExposition::Histogram(std::string_view name, const PromLabels& labels,
                               std::span<const double> bounds, std::span<const uint64_t> cumulative,
                               uint64_t count, double sum) {
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    std::string le;
    AppendValue(bounds[i], &le);
    AppendSample(bucket, labels, "le", le, static_cast<double>(cumulative[i]), &text_);
  }
  AppendSample(bucket, labels, "le", "+Inf", static_cast<double>(count), &text_);
  AppendSample(std::string(name) + "_sum", labels, {}, {}, sum, &text_);
  AppendSample(std::string(name) + "_count", labels, {}, {}, static_cast<double>(count), &text_);
}

}  // namespace dnsight
