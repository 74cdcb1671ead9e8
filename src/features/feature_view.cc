#include "features/feature_view.h"

#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "common/dns_names.h"
#include "common/time_util.h"

namespace dnsight {
namespace {

struct EntityName {
  EntityKind kind;
  std::string_view name;
};

constexpr EntityName kEntityNames[] = {
    {EntityKind::kClient, "client"},   {EntityKind::kClientPrefix, "client_prefix"},
    {EntityKind::kQname, "qname"},     {EntityKind::kRegisteredDomain, "registered_domain"},
    {EntityKind::kServer, "server"},   {EntityKind::kQtype, "qtype"},
    {EntityKind::kGlobal, "global"},   {EntityKind::kDevice, "device"},
    {EntityKind::kService, "service"}, {EntityKind::kNode, "node"},
};

constexpr std::string_view kAggKindNames[] = {"count",     "sum",      "min",    "max",
                                              "mean",      "variance", "ratio",  "distinct",
                                              "quantiles", "topk",     "entropy"};

void AppendPredicate(std::ostringstream& os, const EventPredicate& p) {
  os << DnsFieldName(p.field) << ' ' << static_cast<int>(p.op);
  for (double n : p.numbers) os << ' ' << n;
  for (const auto& s : p.strings) os << " '" << s << "'";
  os << ';';
}

// 16 hex digits of XXH3 over the canonical form.
std::string VersionOf(const std::string& canon) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, XXH3_64bits(canon.data(), canon.size()));
  return buf;
}

}  // namespace

bool ParseEntityKind(std::string_view name, EntityKind* out) {
  for (const auto& e : kEntityNames) {
    if (e.kind == EntityKind::kService || e.kind == EntityKind::kNode) continue;
    if (e.name == name) {
      *out = e.kind;
      return true;
    }
  }
  return false;
}

std::string_view EntityKindName(EntityKind k) {
  for (const auto& e : kEntityNames)
    if (e.kind == k) return e.name;
  return "?";
}

std::string FeatureView::CanonicalForm() const {
  std::ostringstream os;
  os.precision(17);
  os << "view " << name << "\nentity " << EntityKindName(entity);
  if (entity == EntityKind::kClientPrefix) os << " /" << prefix_v4 << " /" << prefix_v6;
  if (!builtin.empty()) {
    // A built-in view is defined by its maker's code: name the computation and its columns.
    os << "\nbuiltin " << builtin << "\nwindows";
    for (int64_t w : windows_ns) os << ' ' << FormatDuration(w);
    for (const auto& f : feature_names) os << "\nfeature " << f;
    os << '\n';
    return os.str();
  }
  os << "\nfilter ";
  for (const auto& p : filter) AppendPredicate(os, p);
  os << "\nwindows";
  for (int64_t w : windows_ns) os << ' ' << FormatDuration(w);
  for (size_t i = 0; i < aggregations.size(); ++i) {
    const auto& a = aggregations[i];
    os << "\nagg " << a.name << ' ' << kAggKindNames[static_cast<size_t>(a.kind)] << ' '
       << DnsFieldName(a.field) << (per_second[i] ? " per_second" : "") << " where ";
    for (const auto& p : a.predicate) AppendPredicate(os, p);
    switch (a.kind) {
      case AggKind::kQuantiles:
        os << " q";
        for (double q : a.quantiles) os << ' ' << q;
        os << " alpha " << a.relative_accuracy;
        break;
      case AggKind::kTopK:
        os << " k " << a.top_k;
        break;
      case AggKind::kDistinct:
        os << " p " << a.hll_precision;
        break;
      case AggKind::kEntropy:
        os << " max " << a.max_categories;
        break;
      default:
        break;
    }
  }
  for (const auto& t : transforms) {
    os << "\ntransform " << t.source_feature << ' ' << t.spec.name << ' ' << t.spec.alpha << ' '
       << t.spec.window_points << ' ' << t.spec.period_ns << ' ' << t.spec.step_ns;
  }
  os << '\n';
  return os.str();
}

std::string FeatureView::Finalize() {
  if (name.empty()) return "view has no name";
  if (!builtin.empty()) {
    if (feature_names.empty() || windows_ns.empty()) return "built-in view has no features";
    longest_window_ns = *std::max_element(windows_ns.begin(), windows_ns.end());
    if (ttl_ns == 0) ttl_ns = longest_window_ns;
    version = VersionOf(CanonicalForm());
    return "";
  }
  if (aggregations.empty()) return "view has no aggregations";
  if (windows_ns.empty()) return "view has no windows";
  per_second.resize(aggregations.size(), false);
  feature_names.clear();
  longest_window_ns = 0;
  for (int64_t w : windows_ns) {
    longest_window_ns = std::max(longest_window_ns, w);
    const std::string suffix = "_" + FormatDuration(w);
    for (const auto& a : aggregations)
      for (const auto& out : a.OutputNames()) feature_names.push_back(out + suffix);
  }
  transform_source_index.clear();
  for (const auto& t : transforms) {
    int found = -1;
    for (size_t i = 0; i < feature_names.size(); ++i)
      if (feature_names[i] == t.source_feature) found = static_cast<int>(i);
    if (found < 0)
      return "transform source feature '" + t.source_feature + "' is not a feature of this view";
    transform_source_index.push_back(found);
  }
  for (const auto& t : transforms) feature_names.push_back(t.source_feature + "_" + t.spec.name);
  if (ttl_ns == 0) ttl_ns = longest_window_ns;
  version = VersionOf(CanonicalForm());
  return "";
}

bool FeatureView::UsesField(DnsField f) const {
  const auto in = [f](const std::vector<EventPredicate>& ps) {
    for (const auto& p : ps)
      if (p.field == f) return true;
    return false;
  };
  if (in(filter)) return true;
  for (const auto& a : aggregations) {
    if ((a.ReadsField() && a.field == f) || in(a.predicate)) return true;
  }
  return false;
}

bool FeatureView::Accepts(const DnsEventBatch& b, const DnsEvent& e) const {
  if (!builtin.empty()) return false;
  for (const auto& p : filter)
    if (!p.Matches(b, e)) return false;
  return true;
}

void FeatureView::EntityKey(const DnsEventBatch& b, const DnsEvent& e, std::string* key) const {
  key->clear();
  const auto append_addr = [&](const IpAddress& a) {
    key->push_back(static_cast<char>(a.family));
    key->append(reinterpret_cast<const char*>(a.bytes.data()), a.size());
  };
  switch (entity) {
    case EntityKind::kClient:
      append_addr(e.client);
      break;
    case EntityKind::kClientPrefix:
      append_addr(e.client.Masked(e.client.family == IpFamily::kV4 ? prefix_v4 : prefix_v6));
      break;
    case EntityKind::kQname:
      key->append(b.qname(e));
      break;
    case EntityKind::kRegisteredDomain:
      key->append(b.registered_domain(e));
      break;
    case EntityKind::kServer:
      append_addr(e.server);
      break;
    case EntityKind::kQtype:
      key->push_back(static_cast<char>(e.qtype >> 8));
      key->push_back(static_cast<char>(e.qtype & 0xFF));
      break;
    case EntityKind::kGlobal:
    case EntityKind::kService:
    case EntityKind::kNode:
      break;
    case EntityKind::kDevice: {
      const std::string_view device =
          leases != nullptr ? leases->Resolve(e.client, e.ts_ns) : std::string_view();
      if (!device.empty()) {
        key->push_back('d');
        key->append(device);
      } else {
        key->push_back('u');
        append_addr(e.client);
      }
      break;
    }
  }
}

uint64_t FeatureView::EntityHash(std::string_view key) const {
  if ((entity == EntityKind::kClient || entity == EntityKind::kServer) && !key.empty())
    key.remove_prefix(1);  // the family tag; the address bytes alone are the field's key
  return XXH3_64bits(key.data(), key.size());
}

std::optional<DnsField> FeatureView::EntityHashField() const {
  switch (entity) {
    case EntityKind::kClient:
      return DnsField::kClient;
    case EntityKind::kServer:
      return DnsField::kServer;
    case EntityKind::kQname:
      return DnsField::kQname;
    case EntityKind::kRegisteredDomain:
      return DnsField::kRegisteredDomain;
    default:
      return std::nullopt;
  }
}

const uint64_t* FeatureView::EntityHashes(const DnsEventBatch& b) const {
  const std::optional<DnsField> f = EntityHashField();
  return f ? b.FieldHashes(*f) : nullptr;
}

std::string FeatureView::EntityText(std::string_view key) const {
  if (key.size() > 2 && key[0] == '\xff' && key[1] == '\xff') return "(overflow)";
  // The address encoded at key[offset...]: family byte, then the address bytes.
  const auto addr_at = [&](size_t offset) {
    IpAddress a;
    if (key.size() <= offset || key.size() - offset - 1 > a.bytes.size()) return a;
    a.family = static_cast<IpFamily>(key[offset]);
    std::copy(key.begin() + static_cast<ptrdiff_t>(offset) + 1, key.end(), a.bytes.begin());
    return a;
  };
  const auto addr = [&] { return addr_at(0); };
  switch (entity) {
    case EntityKind::kClient:
    case EntityKind::kServer:
      return key.size() > 1 ? addr().ToString() : "";
    case EntityKind::kClientPrefix: {
      if (key.size() <= 1) return "";
      const IpAddress a = addr();
      return a.ToString() + "/" + std::to_string(a.family == IpFamily::kV4 ? prefix_v4 : prefix_v6);
    }
    case EntityKind::kQname:
    case EntityKind::kRegisteredDomain:
    case EntityKind::kService:
    case EntityKind::kNode:
      return std::string(key);
    case EntityKind::kQtype:
      return key.size() == 2 ? QtypeName(static_cast<uint16_t>((static_cast<uint8_t>(key[0]) << 8) |
                                                               static_cast<uint8_t>(key[1])))
                             : "";
    case EntityKind::kGlobal:
      return "*";
    case EntityKind::kDevice:
      // "d" + device id, or "u" + address bytes when no lease covered the event.
      if (key.size() > 1 && key[0] == 'd') return std::string(key.substr(1));
      if (key.size() > 2 && key[0] == 'u') return "unleased:" + addr_at(1).ToString();
      return "";
  }
  return "";
}

}  // namespace dnsight
