#include "dnsight/dns_event.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace dnsight {
namespace {

struct FieldName {
  DnsField field;
  std::string_view name;
  bool numeric;
};

constexpr FieldName kFields[] = {
    {DnsField::kQnameLength, "qname_length", true},
    {DnsField::kLabelCount, "label_count", true},
    {DnsField::kLabelEntropy, "label_entropy", true},
    {DnsField::kLatencyMs, "latency_ms", true},
    {DnsField::kTtl, "ttl", true},
    {DnsField::kResponseSize, "response_size", true},
    {DnsField::kQuerySize, "query_size", true},
    {DnsField::kAnswerCount, "answer_count", true},
    {DnsField::kRcode, "rcode", true},
    {DnsField::kQtype, "qtype", true},
    {DnsField::kQname, "qname", false},
    {DnsField::kRegisteredDomain, "registered_domain", false},
    {DnsField::kSubdomain, "subdomain", false},
    {DnsField::kSubdomainLength, "subdomain_length", true},
    {DnsField::kClient, "client", false},
    {DnsField::kServer, "server", false},
    {DnsField::kTransport, "transport", true},
    {DnsField::kNewDomain, "new_domain", true},
    {DnsField::kDgaScore, "dga_score", true},
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

bool IsNumericField(DnsField f) {
  for (const auto& e : kFields)
    if (e.field == f) return e.numeric;
  return false;
}

bool ParseDnsField(std::string_view name, DnsField* out) {
  for (const auto& e : kFields) {
    if (e.name == name) {
      *out = e.field;
      return true;
    }
  }
  return false;
}

std::string_view DnsFieldName(DnsField f) {
  for (const auto& e : kFields)
    if (e.field == f) return e.name;
  return "?";
}

double NumericField(const DnsEventBatch& b, const DnsEvent& e, DnsField f) {
  switch (f) {
    case DnsField::kQnameLength:
      return e.qname_len;
    case DnsField::kLabelCount:
      return e.label_count;
    case DnsField::kLabelEntropy:
      return e.label_entropy;
    case DnsField::kLatencyMs:
      return e.latency_ns < 0 ? kNaN : static_cast<double>(e.latency_ns) / 1e6;
    case DnsField::kTtl:
      return e.min_ttl < 0 ? kNaN : static_cast<double>(e.min_ttl);
    case DnsField::kResponseSize:
      return e.rcode < 0 ? kNaN : e.response_size;
    case DnsField::kQuerySize:
      return e.query_size == 0 ? kNaN : e.query_size;
    case DnsField::kAnswerCount:
      return e.rcode < 0 ? kNaN : e.answer_count;
    case DnsField::kRcode:
      return e.rcode < 0 ? kNaN : e.rcode;
    case DnsField::kQtype:
      return e.qtype;
    case DnsField::kSubdomainLength:
      return static_cast<double>(b.subdomain(e).size());
    case DnsField::kTransport:
      return static_cast<double>(e.transport);
    case DnsField::kNewDomain:
      return e.new_domain ? 1 : 0;
    case DnsField::kDgaScore:
      return e.dga_score;
    default:
      return kNaN;
  }
}

int HashedFieldSlot(DnsField f) {
  switch (f) {
    case DnsField::kQname:
      return 0;
    case DnsField::kRegisteredDomain:
      return 1;
    case DnsField::kSubdomain:
      return 2;
    case DnsField::kClient:
      return 3;
    case DnsField::kServer:
      return 4;
    default:
      return -1;
  }
}

std::string_view CategoryField(const DnsEventBatch& b, const DnsEvent& e, DnsField f,
                               std::string* scratch) {
  switch (f) {
    case DnsField::kQname:
      return b.qname(e);
    case DnsField::kRegisteredDomain:
      return b.registered_domain(e);
    case DnsField::kSubdomain:
      return b.subdomain(e);
    case DnsField::kClient:
      return {reinterpret_cast<const char*>(e.client.bytes.data()), e.client.size()};
    case DnsField::kServer:
      return {reinterpret_cast<const char*>(e.server.bytes.data()), e.server.size()};
    default: {
      const double v = NumericField(b, e, f);
      if (std::isnan(v)) return {};
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
      scratch->assign(buf, r.ptr);
      return *scratch;
    }
  }
}

}  // namespace dnsight
