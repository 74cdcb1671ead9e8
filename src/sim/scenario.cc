#include "sim/scenario.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "common/time_util.h"
#include "common/yaml_node.h"

namespace dnsight::sim {
namespace {

constexpr std::string_view kClassNames[kIncidentClassCount] = {
    "nxdomain_spike", "servfail_rise", "latency_rise", "dga",
    "tunnelling",     "traffic_surge", "maintenance",  "ttl_change",
};

// ParseDuration, plus sums of parts: "5h30m", "2d3h".
std::optional<int64_t> ParseCompoundDuration(std::string_view text) {
  if (auto d = ParseDuration(text)) return d;
  int64_t total = 0;
  size_t pos = 0;
  if (text.empty()) return std::nullopt;
  while (pos < text.size()) {
    size_t end = pos;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end == pos) return std::nullopt;
    size_t unit_end = end;
    while (unit_end < text.size() && (text[unit_end] < '0' || text[unit_end] > '9')) ++unit_end;
    if (unit_end == end || end - pos > 9) return std::nullopt;
    const auto part = ParseDuration(text.substr(pos, unit_end - pos));
    if (!part) return std::nullopt;
    total += *part;
    pos = unit_end;
  }
  return total;
}

using Node = YamlNode;

[[noreturn]] void ThrowScenarioError(const std::string& message) {
  throw ScenarioError(message);
}

// "36h", "-5h", "90m", "5h30m"; `allow_negative` for UTC offsets.
int64_t Duration(const Node& n, bool allow_negative = false, bool allow_zero = false) {
  std::string s = n.Str();
  bool negative = false;
  if (allow_negative && !s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  const auto d = ParseCompoundDuration(s);
  if (!d || (*d == 0 && !allow_zero))
    n.Fail("expected a duration like 30m, 36h, 2d, 5h30m (got '" + n.Str() + "')");
  if (*d > 3660LL * 86400 * kNanosPerSecond) n.Fail("duration longer than 3660d");
  return negative ? -*d : *d;
}

bool ValidDomain(std::string_view d) {
  if (d.empty() || d.size() > 200 || d.front() == '.' || d.back() == '.') return false;
  size_t label = 0;
  bool dot = false;
  for (const char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      dot = true;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return dot && label > 0;
}

PopSpec ParsePop(const Node& n) {
  n.OnlyKeys({"name", "resolvers", "hit_latency_ms"});
  PopSpec p;
  if (!n.Has("name")) n.Fail("missing 'name'");
  p.name = n["name"].Str();
  if (!n.Has("resolvers")) n.Fail("missing 'resolvers'");
  const Node r = n["resolvers"];
  r.ExpectSequence();
  if (r.size() == 0) r.Fail("a point of presence needs at least one resolver");
  for (size_t i = 0; i < r.size(); ++i) {
    const auto a = ParseIpv4(r.At(i).Str());
    if (!a) r.At(i).Fail("expected an IPv4 address (got '" + r.At(i).Str() + "')");
    p.resolvers.push_back(*a);
  }
  if (n.Has("hit_latency_ms")) p.hit_latency_ms = n["hit_latency_ms"].Double(0.01, 1000);
  return p;
}

RegionSpec ParseRegion(const Node& n) {
  n.OnlyKeys({"name", "utc_offset", "client_share", "pops"});
  RegionSpec r;
  if (!n.Has("name")) n.Fail("missing 'name'");
  r.name = n["name"].Str();
  if (n.Has("utc_offset")) {
    r.utc_offset_ns = Duration(n["utc_offset"], true, true);
    if (std::llabs(r.utc_offset_ns) > 14 * 3600 * kNanosPerSecond)
      n["utc_offset"].Fail("must be within -14h..14h");
  }
  if (n.Has("client_share")) r.client_share = n["client_share"].Double(0, 1e6);
  if (!n.Has("pops")) n.Fail("missing 'pops'");
  const Node pops = n["pops"];
  pops.ExpectSequence();
  if (pops.size() == 0) pops.Fail("a region needs at least one point of presence");
  for (size_t i = 0; i < pops.size(); ++i) r.pops.push_back(ParsePop(pops.At(i)));
  return r;
}

ZoneSpec ParseZone(const Node& n) {
  n.OnlyKeys({"domain", "ttl", "subdomains", "ipv6"});
  ZoneSpec z;
  if (!n.Has("domain")) n.Fail("missing 'domain'");
  z.domain = n["domain"].Str();
  if (!ValidDomain(z.domain))
    n["domain"].Fail("expected a lowercase registered domain like example.com (got '" + z.domain +
                     "')");
  if (n.Has("ttl")) z.ttl_s = n["ttl"].Int(0, 604800);
  if (n.Has("subdomains")) {
    const Node s = n["subdomains"];
    s.ExpectSequence();
    for (size_t i = 0; i < s.size(); ++i) {
      const std::string label = s.At(i).Str();
      if (!ValidDomain(label + ".x")) s.At(i).Fail("bad subdomain '" + label + "'");
      z.subdomains.push_back(label);
    }
  }
  if (n.Has("ipv6")) z.has_ipv6 = n["ipv6"].Bool();
  return z;
}

void ParseFleet(const Node& n, FleetSpec* f) {
  n.OnlyKeys(
      {"regions", "clients", "client_rate_sigma", "zones", "generated_zones", "zone_zipf", "bots"});
  if (n.Has("regions")) {
    const Node r = n["regions"];
    r.ExpectSequence();
    if (r.size() == 0) r.Fail("at least one region is needed");
    for (size_t i = 0; i < r.size(); ++i) f->regions.push_back(ParseRegion(r.At(i)));
  }
  if (n.Has("clients")) f->clients = static_cast<int>(n["clients"].Int(1, 100'000));
  if (n.Has("client_rate_sigma")) f->client_rate_sigma = n["client_rate_sigma"].Double(0, 4);
  if (n.Has("zones")) {
    const Node z = n["zones"];
    z.ExpectSequence();
    std::set<std::string> seen;
    for (size_t i = 0; i < z.size(); ++i) {
      f->zones.push_back(ParseZone(z.At(i)));
      if (!seen.insert(f->zones.back().domain).second)
        z.At(i)["domain"].Fail("duplicate zone '" + f->zones.back().domain + "'");
    }
  }
  if (n.Has("generated_zones"))
    f->generated_zones = static_cast<int>(n["generated_zones"].Int(0, 1'000'000));
  if (n.Has("zone_zipf")) f->zone_zipf = n["zone_zipf"].Double(0, 3);
  if (n.Has("bots")) f->bots = static_cast<int>(n["bots"].Int(0, 250));
  if (f->zones.empty() && f->generated_zones == 0)
    n.Fail("the fleet needs at least one zone (zones or generated_zones)");
}

void ParseTraffic(const Node& n, TrafficSpec* t) {
  n.OnlyKeys({"mean_qps", "bot_qps", "night_factor", "peak_hour", "weekend_factor",
              "nxdomain_share", "servfail_share", "favorite_share"});
  if (n.Has("mean_qps")) t->mean_qps = n["mean_qps"].Double(0, 1e6);
  if (n.Has("bot_qps")) t->bot_qps = n["bot_qps"].Double(0, 1e6);
  if (n.Has("night_factor")) t->night_factor = n["night_factor"].Double(0.01, 1);
  if (n.Has("peak_hour")) t->peak_hour = n["peak_hour"].Double(0, 23.999);
  if (n.Has("weekend_factor")) t->weekend_factor = n["weekend_factor"].Double(0.01, 2);
  if (n.Has("nxdomain_share")) t->nxdomain_share = n["nxdomain_share"].Double(0, 0.5);
  if (n.Has("servfail_share")) t->servfail_share = n["servfail_share"].Double(0, 0.5);
  if (n.Has("favorite_share")) t->favorite_share = n["favorite_share"].Double(0, 0.95);
}

void ParseChanges(const Node& n, ChangeSpec* c) {
  n.OnlyKeys({"deploys_per_day", "cert_deploys_per_week"});
  if (n.Has("deploys_per_day")) c->deploys_per_day = n["deploys_per_day"].Double(0, 100);
  if (n.Has("cert_deploys_per_week"))
    c->cert_deploys_per_week = n["cert_deploys_per_week"].Double(0, 100);
}

// Scope checks that need only the spec (generated zone names and client activity are
// known only when the fleet is built; PlanTimeline checks the rest).
void CheckScope(const Node& n, const IncidentSpec& s, const FleetSpec& fleet) {
  std::set<uint32_t> resolvers;
  std::set<std::string> regions, zones;
  for (const auto& r : fleet.regions) {
    regions.insert(r.name);
    for (const auto& p : r.pops) resolvers.insert(p.resolvers.begin(), p.resolvers.end());
  }
  for (const auto& z : fleet.zones) zones.insert(z.domain);
  const auto need_zone = [&](const std::string& v) {
    if (!zones.count(v))
      n.Fail("unknown zone '" + v + "' (name it under fleet.zones, or use auto)");
  };
  const auto need_resolver = [&](const std::string& v) {
    const auto a = ParseIpv4(v);
    if (!a || !resolvers.count(*a)) n.Fail("unknown resolver '" + v + "'");
  };
  const auto need_client = [&](const std::string& v) {
    const auto a = ParseIpv4(v);
    if (!a || *a < ClientAddress(0) || *a > ClientAddress(static_cast<size_t>(fleet.clients) - 1))
      n.Fail("unknown client '" + v + "' (clients are " + Ipv4Text(ClientAddress(0)) + " .. " +
             Ipv4Text(ClientAddress(static_cast<size_t>(fleet.clients) - 1)) + ")");
  };
  if (s.cls != IncidentClass::kDga && s.scope.size() > 1)
    n.Fail("one scope value per entry (only dga takes a list of clients)");
  for (const std::string& v : s.scope) {
    switch (s.cls) {
      case IncidentClass::kNxdomainSpike:
      case IncidentClass::kServfailRise:
      case IncidentClass::kTtlChange:
        need_zone(v);
        break;
      case IncidentClass::kTrafficSurge:
        if (v != "global") need_zone(v);
        break;
      case IncidentClass::kLatencyRise:
        need_resolver(v);
        break;
      case IncidentClass::kMaintenance:
        if (!regions.count(v)) need_resolver(v);
        break;
      case IncidentClass::kDga:
        need_client(v);
        break;
      case IncidentClass::kTunnelling:
        if (!ValidDomain(v) || v.size() > 60)
          n.Fail("expected a registered domain of at most 60 characters (got '" + v + "')");
        break;
    }
  }
}

IncidentSpec ParseIncident(const Node& n, const FleetSpec& fleet) {
  n.OnlyKeys(
      {"class", "scope", "start", "duration", "magnitude", "variant", "client", "clients", "note"});
  IncidentSpec s;
  s.where = n.Location();
  if (!n.Has("class")) n.Fail("missing 'class'");
  const auto cls = ParseIncidentClass(n["class"].Str());
  if (!cls) {
    std::string list;
    for (const auto name : kClassNames) list += std::string(list.empty() ? "" : ", ") += name;
    n["class"].Fail("unknown incident class '" + n["class"].Str() + "' (expected one of: " + list +
                    ")");
  }
  s.cls = *cls;
  if (!n.Has("start")) n.Fail("missing 'start' (an offset like 36h, or RFC 3339)");
  const std::string start = n["start"].Str();
  if (const auto abs = ParseRfc3339(start)) {
    s.start_is_offset = false;
    s.start_ns = *abs;
  } else {
    s.start_ns = Duration(n["start"], false, true);
  }
  if (!n.Has("duration")) n.Fail("missing 'duration'");
  s.duration_ns = Duration(n["duration"]);
  if (n.Has("magnitude")) {
    const Node m = n["magnitude"];
    switch (s.cls) {
      case IncidentClass::kNxdomainSpike:
      case IncidentClass::kServfailRise:
        s.magnitude = m.Double(0.01, 1.0);  // share of the zone's queries
        break;
      case IncidentClass::kLatencyRise:
      case IncidentClass::kMaintenance:
        s.magnitude = m.Double(1.0, 1000);  // latency multiplier
        break;
      case IncidentClass::kTrafficSurge:
        s.magnitude = m.Double(1.0, 100);  // volume multiplier
        break;
      case IncidentClass::kDga:
        s.magnitude = m.Double(0.1, 6000);  // queries per minute per client
        break;
      case IncidentClass::kTunnelling:
        s.magnitude = m.Double(0.01, 1000);  // queries per second
        break;
      case IncidentClass::kTtlChange:
        s.magnitude = static_cast<double>(m.Int(0, 604800));  // the new TTL in seconds
        break;
    }
  }
  if (n.Has("scope")) {
    const std::vector<std::string> scope = n["scope"].StrList();
    if (!(scope.size() == 1 && scope[0] == "auto")) s.scope = scope;
    CheckScope(n["scope"], s, fleet);
  }
  if (n.Has("variant")) {
    if (s.cls != IncidentClass::kNxdomainSpike)
      n["variant"].Fail("only nxdomain_spike has variants");
    s.variant = n["variant"].Str();
    if (s.variant != "bad_delegation" && s.variant != "random_subdomain")
      n["variant"].Fail("expected bad_delegation or random_subdomain");
  }
  if (n.Has("client")) {
    if (s.cls != IncidentClass::kTunnelling) n["client"].Fail("only tunnelling names a client");
    s.client = n["client"].Str();
    IncidentSpec probe;
    probe.cls = IncidentClass::kDga;
    probe.scope = {s.client};
    CheckScope(n["client"], probe, fleet);
  }
  if (n.Has("clients")) {
    if (s.cls != IncidentClass::kDga) n["clients"].Fail("only dga takes a client count");
    if (!s.scope.empty()) n["clients"].Fail("give either scope (client list) or clients");
    s.clients = static_cast<int>(n["clients"].Int(1, 1000));
  }
  if (n.Has("note")) s.note = n["note"].Str();
  return s;
}

Scenario ParseUnchecked(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ScenarioError(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                        std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  Scenario sc;
  sc.path = name;
  if (root.IsNull()) {
    sc.fleet.regions = DefaultRegions();
    return sc;
  }
  const Node top(root, name, "", ThrowScenarioError);
  top.OnlyKeys({"start", "days", "span", "seed", "rate_scale", "auto_incidents", "fleet", "traffic",
                "changes", "incidents"});
  if (top.Has("start")) {
    const auto t = ParseRfc3339(top["start"].Str());
    if (!t) top["start"].Fail("expected an RFC 3339 time like 2026-11-23T00:00:00Z");
    sc.start_ns = *t;
  }
  if (top.Has("days") && top.Has("span")) top.Fail("give either 'days' or 'span'");
  if (top.Has("days"))
    sc.span_ns = static_cast<int64_t>(std::llround(top["days"].Double(0.001, 366) * 86400.0 *
                                                   static_cast<double>(kNanosPerSecond)));
  if (top.Has("span")) sc.span_ns = Duration(top["span"]);
  if (top.Has("seed"))
    sc.seed = static_cast<uint64_t>(top["seed"].Int(0, std::numeric_limits<int64_t>::max()));
  if (top.Has("rate_scale")) sc.rate_scale = top["rate_scale"].Double(0.0001, 10000);
  if (top.Has("auto_incidents"))
    sc.auto_incidents = static_cast<int>(top["auto_incidents"].Int(0, 100));
  if (top.Has("fleet")) ParseFleet(top["fleet"], &sc.fleet);
  if (sc.fleet.regions.empty()) sc.fleet.regions = DefaultRegions();
  {
    // Positions exist only for regions written in the file (defaults never clash).
    std::set<std::string> names;
    std::set<uint32_t> addresses;
    const auto region_node = [&](size_t i) { return top["fleet"]["regions"].At(i); };
    for (size_t i = 0; i < sc.fleet.regions.size(); ++i) {
      const RegionSpec& r = sc.fleet.regions[i];
      if (!names.insert(r.name).second)
        region_node(i)["name"].Fail("duplicate region or pop name '" + r.name + "'");
      for (size_t j = 0; j < r.pops.size(); ++j) {
        if (!names.insert(r.pops[j].name).second)
          region_node(i)["pops"].At(j)["name"].Fail("duplicate region or pop name '" +
                                                    r.pops[j].name + "'");
        for (size_t k = 0; k < r.pops[j].resolvers.size(); ++k)
          if (!addresses.insert(r.pops[j].resolvers[k]).second)
            region_node(i)["pops"].At(j)["resolvers"].At(k).Fail("resolver listed twice");
      }
    }
  }
  if (top.Has("traffic")) ParseTraffic(top["traffic"], &sc.traffic);
  if (top.Has("changes")) ParseChanges(top["changes"], &sc.changes);
  if (top.Has("incidents")) {
    const Node list = top["incidents"];
    if (!list.IsNull()) {
      list.ExpectSequence();
      for (size_t i = 0; i < list.size(); ++i)
        sc.incidents.push_back(ParseIncident(list.At(i), sc.fleet));
    }
  }
  return sc;
}

}  // namespace

std::string_view IncidentClassName(IncidentClass c) {
  return kClassNames[static_cast<size_t>(c)];
}

std::optional<IncidentClass> ParseIncidentClass(std::string_view name) {
  for (size_t i = 0; i < kIncidentClassCount; ++i)
    if (kClassNames[i] == name) return static_cast<IncidentClass>(i);
  return std::nullopt;
}

bool IsBenign(IncidentClass c) {
  return c == IncidentClass::kTrafficSurge || c == IncidentClass::kMaintenance ||
         c == IncidentClass::kTtlChange;
}

double DefaultMagnitude(IncidentClass c) {
  switch (c) {
    case IncidentClass::kNxdomainSpike:
      return 0.5;
    case IncidentClass::kServfailRise:
      return 0.5;
    case IncidentClass::kLatencyRise:
      return 5.0;
    case IncidentClass::kDga:
      return 20.0;
    case IncidentClass::kTunnelling:
      return 2.0;
    case IncidentClass::kTrafficSurge:
      return 3.0;
    case IncidentClass::kMaintenance:
      return 1.5;
    case IncidentClass::kTtlChange:
      return 60.0;
  }
  return 1.0;
}

std::vector<RegionSpec> DefaultRegions() {
  const auto a = [](const char* text) { return *ParseIpv4(text); };
  constexpr int64_t kHour = 3600 * kNanosPerSecond;
  return {
      {"us-east",
       -5 * kHour,
       0.40,
       {{"iad1", {a("192.0.2.11"), a("192.0.2.12")}, 0.35},
        {"nyc1", {a("192.0.2.21"), a("192.0.2.22")}, 0.45}}},
      {"eu-west",
       1 * kHour,
       0.35,
       {{"ams1", {a("192.0.2.31"), a("192.0.2.32")}, 0.30},
        {"lon1", {a("192.0.2.41"), a("192.0.2.42")}, 0.40}}},
      {"ap-south",
       11 * kHour / 2,
       0.25,
       {{"bom1", {a("198.51.100.11"), a("198.51.100.12")}, 0.50},
        {"sin1", {a("198.51.100.21"), a("198.51.100.22")}, 0.40}}},
  };
}

Scenario ParseScenario(const std::string& text, const std::string& name) {
  try {
    return ParseUnchecked(text, name);
  } catch (const YAML::Exception& e) {
    throw ScenarioError(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                        std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Scenario LoadScenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(path + ": cannot open scenario file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseScenario(ss.str(), path);
}

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  uint32_t out = 0;
  size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    uint32_t v = 0;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 3) {
      v = v * 10 + static_cast<uint32_t>(text[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0 || v > 255) return std::nullopt;
    out = (out << 8) | v;
  }
  if (pos != text.size()) return std::nullopt;
  return out;
}

std::string Ipv4Text(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

uint32_t ClientAddress(size_t index) {
  return (198u << 24 | 18u << 16) + 1 + static_cast<uint32_t>(index);
}

uint32_t BotAddress(size_t index) {
  return (198u << 24 | 19u << 16 | 200u << 8) + 1 + static_cast<uint32_t>(index);
}

}  // namespace dnsight::sim
