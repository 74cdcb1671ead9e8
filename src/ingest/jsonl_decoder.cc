#include "ingest/jsonl_decoder.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>

#include "common/dns_names.h"
#include "common/time_util.h"

namespace dnsight {

static_assert(JsonLinesDecoder::kPadding >= simdjson::SIMDJSON_PADDING);

struct JsonLinesDecoder::Impl {
  simdjson::dom::parser parser;  // dom: runtime CPU dispatch (ondemand is compile-time)
  std::string qname;
  std::string padded;
};

JsonLinesDecoder::JsonLinesDecoder() : impl_(std::make_unique<Impl>()) {}
JsonLinesDecoder::~JsonLinesDecoder() = default;

namespace {

using simdjson::dom::element_type;
using value = simdjson::dom::element;

// A non-negative integer or float field, or a numeric string. Returns false if absent-
// typed wrongly.
bool AsDouble(value v, double* out) {
  if (!v.is_number()) return false;
  return !v.get_double().get(*out) && std::isfinite(*out);
}

bool AsCode(value v, bool qtype, uint16_t* out) {
  if (v.is_number()) {
    uint64_t n;
    if (v.get_uint64().get(n) || n > 0xFFFF) return false;
    *out = static_cast<uint16_t>(n);
    return true;
  }
  if (!v.is_string()) return false;
  std::string_view s;
  if (v.get_string().get(s)) return false;
  auto parsed = qtype ? ParseQtype(s) : ParseRcode(s);
  if (!parsed) return false;
  *out = *parsed;
  return true;
}

bool AsTime(value v, int64_t* out) {
  if (v.is_string()) {
    std::string_view s;
    if (v.get_string().get(s)) return false;
    auto ns = ParseRfc3339(s);
    if (!ns) return false;
    *out = *ns;
    return true;
  }
  double secs;
  if (!AsDouble(v, &secs) || secs < 0 || secs > 7.2581184e9) return false;  // < 2200
  // Seconds since the epoch; keep microsecond precision exactly.
  *out = std::llround(secs * 1e6) * 1000;
  return true;
}

bool AsAddress(value v, IpAddress* out) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  auto a = IpAddress::Parse(s);
  if (!a) return false;
  *out = *a;
  return true;
}

bool AsPort(value v, uint16_t* out) {
  uint64_t n;
  if (v.get_uint64().get(n) || n > 0xFFFF) return false;
  *out = static_cast<uint16_t>(n);
  return true;
}

bool AsU32(value v, uint32_t* out) {
  uint64_t n;
  if (v.get_uint64().get(n) || n > 0xFFFFFFFFull) return false;
  *out = static_cast<uint32_t>(n);
  return true;
}

}  // namespace

bool JsonLinesDecoder::Decode(std::string_view line, size_t padding_available,
                              RawDnsObservation* out, std::string_view* reason) {
  *out = RawDnsObservation{};
  const char* data = line.data();
  if (padding_available < simdjson::SIMDJSON_PADDING) {
    impl_->padded.assign(line);
    impl_->padded.resize(line.size() + simdjson::SIMDJSON_PADDING, ' ');
    data = impl_->padded.data();
  }
  value doc;
  if (impl_->parser.parse(data, line.size(), false).get(doc)) {
    *reason = "bad_json";
    return false;
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) {
    *reason = "bad_json";
    return false;
  }
  bool have_ts = false, have_qname = false;
  int64_t ts = -1;
  double latency_ms = -1;
  for (auto field : obj) {
    const std::string_view key = field.key;
    const value v = field.value;
    bool ok = true;
    const char* bad = "bad_number";
    if (key == "ts" || key == "timestamp") {
      ok = AsTime(v, &ts);
      have_ts = ok;
      bad = "bad_ts";
    } else if (key == "ts_ns") {
      int64_t n;
      ok = !v.get_int64().get(n) && n >= 0 && n <= 7'258'118'400'000'000'000;  // < 2200
      if (ok) ts = n;
      have_ts = ok;
      bad = "bad_ts";
    } else if (key == "qname" || key == "query") {
      std::string_view s;
      ok = !v.get_string().get(s) && s.size() <= 1024;
      if (ok) impl_->qname.assign(s);
      have_qname = ok;
      bad = "bad_qname";
    } else if (key == "client") {
      ok = AsAddress(v, &out->client);
      bad = "bad_address";
    } else if (key == "server") {
      ok = AsAddress(v, &out->server);
      bad = "bad_address";
    } else if (key == "client_port") {
      ok = AsPort(v, &out->client_port);
    } else if (key == "server_port") {
      ok = AsPort(v, &out->server_port);
    } else if (key == "qtype") {
      ok = AsCode(v, true, &out->qtype);
      bad = "bad_qtype";
    } else if (key == "rcode") {
      uint16_t rc;
      ok = AsCode(v, false, &rc);
      if (ok) out->rcode = rc;
      bad = "bad_rcode";
    } else if (key == "latency_ms") {
      ok = AsDouble(v, &latency_ms) && latency_ms >= 0 && latency_ms <= 3.6e6;  // <= 1 h
    } else if (key == "query_size") {
      ok = AsU32(v, &out->query_size);
    } else if (key == "response_size") {
      ok = AsU32(v, &out->response_size);
    } else if (key == "ttl") {
      uint32_t ttl;
      ok = AsU32(v, &ttl);
      if (ok) out->min_ttl = ttl;
    } else if (key == "answers") {
      uint32_t n;
      ok = AsU32(v, &n) && n <= 0xFFFF;
      if (ok) out->answer_count = static_cast<uint16_t>(n);
    } else if (key == "transport") {
      std::string_view s;
      ok = !v.get_string().get(s);
      if (ok) {
        out->transport = s == "udp"   ? Transport::kUdp
                         : s == "tcp" ? Transport::kTcp
                         : s == "dot" ? Transport::kDot
                         : s == "doh" ? Transport::kDoh
                                      : Transport::kUnknown;
      }
      bad = "bad_transport";
    }
    // Unknown keys are ignored so producers can add fields.
    if (!ok) {
      *reason = bad;
      return false;
    }
  }
  if (!have_ts) {
    *reason = "missing_ts";
    return false;
  }
  if (!have_qname) {
    *reason = "missing_qname";
    return false;
  }
  out->query_time_ns = ts;
  out->qname = impl_->qname;
  if (latency_ms >= 0) {
    out->latency_ns = std::llround(latency_ms * 1e6);
    out->response_time_ns = ts + out->latency_ns;
  }
  return true;
}

}  // namespace dnsight
