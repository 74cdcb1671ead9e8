#include "engine/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "common/digest.h"
#include "common/dns_names.h"
#include "common/time_util.h"
#include "common/yaml_node.h"

namespace dnsight {
namespace {

using Node = YamlNode;

[[noreturn]] void ThrowConfigError(const std::string& message) {
  throw ConfigError(message);
}

EventPredicate ParsePredicate(const Node& field_node, const std::string& field_name,
                              const Node& value) {
  EventPredicate p;
  if (!ParseDnsField(field_name, &p.field))
    field_node.Fail("unknown event field '" + field_name + "'");
  const bool numeric = IsNumericField(p.field);
  const auto add_value = [&](const Node& v) {
    // YAML reads a bare NULL as a null value; in a qtype list it means the NULL type.
    const std::string s = v.IsNull() && p.field == DnsField::kQtype ? "NULL" : v.Str();
    if (p.field == DnsField::kClient || p.field == DnsField::kServer) {
      // Addresses are compared as raw bytes (see EventPredicate).
      const auto addr = IpAddress::Parse(s);
      if (!addr) v.Fail("expected an IP address (got '" + s + "')");
      p.strings.emplace_back(reinterpret_cast<const char*>(addr->bytes.data()), addr->size());
      return;
    }
    if (!numeric) {
      p.strings.push_back(s);
      return;
    }
    std::optional<uint16_t> code;
    if (p.field == DnsField::kRcode) code = ParseRcode(s);
    if (p.field == DnsField::kQtype) code = ParseQtype(s);
    if (code) {
      p.numbers.push_back(*code);
      return;
    }
    p.numbers.push_back(v.Double());
  };
  const auto add_values = [&](const Node& v) {
    if (v.IsSequence()) {
      for (size_t i = 0; i < v.size(); ++i) add_value(v.At(i));
    } else {
      add_value(v);
    }
  };
  if (value.IsMap()) {
    value.OnlyKeys({"in", "not_in", "ge", "le", "present"});
    const auto keys = value.Keys();
    if (keys.size() != 1) value.Fail("expected exactly one of in, not_in, ge, le, present");
    const std::string& op = keys[0];
    if (op == "in" || op == "not_in") {
      p.op = op == "in" ? EventPredicate::Op::kIn : EventPredicate::Op::kNotIn;
      add_values(value[op]);
    } else if (op == "ge" || op == "le") {
      if (!numeric) value.Fail("'" + op + "' needs a numeric field");
      p.op = op == "ge" ? EventPredicate::Op::kGe : EventPredicate::Op::kLe;
      p.numbers.push_back(value[op].Double());
    } else {
      p.op = EventPredicate::Op::kPresent;
    }
  } else {
    p.op = EventPredicate::Op::kIn;
    add_values(value);
  }
  return p;
}

std::vector<EventPredicate> ParsePredicates(const Node& n) {
  n.ExpectMap();
  std::vector<EventPredicate> out;
  for (const auto& k : n.Keys()) out.push_back(ParsePredicate(n[k], k, n[k]));
  return out;
}

struct AggKindName {
  const char* name;
  AggKind kind;
  bool per_second;
};
constexpr AggKindName kAggKinds[] = {
    {"count", AggKind::kCount, false},       {"rate", AggKind::kCount, true},
    {"sum", AggKind::kSum, false},           {"min", AggKind::kMin, false},
    {"max", AggKind::kMax, false},           {"mean", AggKind::kMean, false},
    {"variance", AggKind::kVariance, false}, {"ratio", AggKind::kRatio, false},
    {"distinct", AggKind::kDistinct, false}, {"quantiles", AggKind::kQuantiles, false},
    {"topk", AggKind::kTopK, false},         {"entropy", AggKind::kEntropy, false},
};

AggregationSpec ParseAggregation(const Node& n, bool* per_second) {
  n.OnlyKeys({"name", "kind", "field", "where", "quantiles", "k", "precision", "relative_accuracy",
              "max_categories"});
  AggregationSpec a;
  if (!n.Has("name")) n.Fail("missing 'name'");
  a.name = n["name"].Str();
  if (!n.Has("kind")) n.Fail("missing 'kind'");
  const std::string kind = n["kind"].Str();
  bool found = false;
  for (const auto& k : kAggKinds) {
    if (kind == k.name) {
      a.kind = k.kind;
      *per_second = k.per_second;
      found = true;
    }
  }
  if (!found) {
    n["kind"].Fail("unknown aggregation kind '" + kind +
                   "' (expected count, rate, sum, min, max, mean, variance, ratio, distinct, "
                   "quantiles, topk, entropy)");
  }
  const bool needs_field = a.kind != AggKind::kCount && a.kind != AggKind::kRatio;
  if (n.Has("field")) {
    const std::string f = n["field"].Str();
    if (!ParseDnsField(f, &a.field)) n["field"].Fail("unknown event field '" + f + "'");
    const bool numeric_kind = a.kind == AggKind::kSum || a.kind == AggKind::kMin ||
                              a.kind == AggKind::kMax || a.kind == AggKind::kMean ||
                              a.kind == AggKind::kVariance || a.kind == AggKind::kQuantiles;
    if (numeric_kind && !IsNumericField(a.field))
      n["field"].Fail("'" + kind + "' needs a numeric field; '" + f + "' is categorical");
  } else if (needs_field) {
    n.Fail("aggregation '" + kind + "' needs a 'field'");
  }
  if (n.Has("where")) a.predicate = ParsePredicates(n["where"]);
  if (a.kind == AggKind::kRatio && a.predicate.empty()) n.Fail("ratio needs a 'where' condition");
  if (n.Has("quantiles")) {
    const Node q = n["quantiles"];
    q.ExpectSequence();
    for (size_t i = 0; i < q.size(); ++i) {
      const double v = q.At(i).Double();
      if (!(v >= 0 && v <= 1)) q.At(i).Fail("quantile must be in [0, 1]");
      a.quantiles.push_back(v);
    }
  } else if (a.kind == AggKind::kQuantiles) {
    a.quantiles = {0.5, 0.95, 0.99};
  }
  if (n.Has("k")) a.top_k = static_cast<int>(n["k"].Int(1, 1000));
  if (n.Has("precision")) a.hll_precision = static_cast<int>(n["precision"].Int(4, 16));
  if (n.Has("relative_accuracy")) {
    a.relative_accuracy = n["relative_accuracy"].Double();
    if (!(a.relative_accuracy > 0 && a.relative_accuracy < 0.5))
      n["relative_accuracy"].Fail("must be in (0, 0.5)");
  }
  if (n.Has("max_categories"))
    a.max_categories = static_cast<int>(n["max_categories"].Int(2, 4096));
  return a;
}

FeatureView ParseView(const Node& n, const EngineOptions& engine) {
  n.OnlyKeys({"name", "entity", "prefix_v4", "prefix_v6", "filter", "windows", "aggregations",
              "transforms", "owner", "description", "sensitivity", "allowed_roles", "ttl",
              "retention"});
  FeatureView v;
  if (!n.Has("name")) n.Fail("missing 'name'");
  v.name = n["name"].Str();
  // The name becomes a directory in the store and a key in the API.
  if (v.name.empty() || v.name.size() > 128 || v.name[0] == '.' ||
      v.name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != std::string::npos)
    n["name"].Fail("view names use letters, digits, '_', '-' and '.' (at most 128)");
  if (n.Has("sensitivity")) {
    v.sensitivity = n["sensitivity"].Str();
    if (v.sensitivity != "normal" && v.sensitivity != "sensitive")
      n["sensitivity"].Fail("expected normal or sensitive");
  }
  if (n.Has("allowed_roles")) {
    const Node roles = n["allowed_roles"];
    roles.ExpectSequence();
    for (size_t i = 0; i < roles.size(); ++i) {
      const std::string r = roles.At(i).Str();
      if (r != "reader" && r != "trainer" && r != "admin")
        roles.At(i).Fail("unknown role '" + r + "' (expected reader, trainer or admin)");
      v.allowed_roles.push_back(r);
    }
  }
  if (n.Has("ttl")) v.ttl_ns = n["ttl"].Duration();
  if (n.Has("retention")) v.retention_ns = n["retention"].Duration();
  if (!n.Has("entity")) n.Fail("missing 'entity'");
  const std::string entity = n["entity"].Str();
  if (!ParseEntityKind(entity, &v.entity))
    n["entity"].Fail("unknown entity '" + entity +
                     "' (expected client, client_prefix, qname, registered_domain, server, qtype, "
                     "global, device)");
  if (n.Has("prefix_v4")) v.prefix_v4 = static_cast<int>(n["prefix_v4"].Int(0, 32));
  if (n.Has("prefix_v6")) v.prefix_v6 = static_cast<int>(n["prefix_v6"].Int(0, 128));
  if (n.Has("filter")) v.filter = ParsePredicates(n["filter"]);
  if (n.Has("owner")) v.owner = n["owner"].Str();
  if (n.Has("description")) v.description = n["description"].Str();
  if (!n.Has("windows")) n.Fail("missing 'windows'");
  const Node w = n["windows"];
  w.ExpectSequence();
  for (size_t i = 0; i < w.size(); ++i) {
    const int64_t d = w.At(i).Duration();
    const int64_t step = d > engine.fine_window_limit_ns ? engine.coarse_pane_ns : engine.pane_ns;
    if (d % step != 0)
      w.At(i).Fail("window " + FormatDuration(d) + " is not a multiple of its pane (" +
                   FormatDuration(step) + ")");
    v.windows_ns.push_back(d);
  }
  if (!n.Has("aggregations")) n.Fail("missing 'aggregations'");
  const Node aggs = n["aggregations"];
  aggs.ExpectSequence();
  std::set<std::string> names;
  for (size_t i = 0; i < aggs.size(); ++i) {
    bool per_second = false;
    v.aggregations.push_back(ParseAggregation(aggs.At(i), &per_second));
    v.per_second.push_back(per_second);
    if (!names.insert(v.aggregations.back().name).second)
      aggs.At(i).Fail("duplicate aggregation name '" + v.aggregations.back().name + "'");
  }
  if (n.Has("transforms")) {
    const Node ts = n["transforms"];
    ts.ExpectSequence();
    for (size_t i = 0; i < ts.size(); ++i) {
      const Node t = ts.At(i);
      t.OnlyKeys({"feature", "kinds", "alpha", "points", "period", "step"});
      if (!t.Has("feature") || !t.Has("kinds")) t.Fail("needs 'feature' and 'kinds'");
      const Node kinds = t["kinds"];
      kinds.ExpectSequence();
      for (size_t k = 0; k < kinds.size(); ++k) {
        FeatureTransform ft;
        ft.source_feature = t["feature"].Str();
        const std::string kind = kinds.At(k).Str();
        if (!ParseTransformSpec(kind, &ft.spec))
          kinds.At(k).Fail("unknown transform '" + kind +
                           "' (expected ewma, rolling_mean, rolling_std, median, mad, pct_change, "
                           "delta_1d, slope)");
        if (t.Has("alpha")) ft.spec.alpha = t["alpha"].Double();
        if (t.Has("points")) ft.spec.window_points = static_cast<int>(t["points"].Int(2, 10000));
        if (t.Has("period")) ft.spec.period_ns = t["period"].Duration();
        if (t.Has("step")) ft.spec.step_ns = t["step"].Duration();
        v.transforms.push_back(ft);
      }
    }
  }
  const std::string err = v.Finalize();
  if (!err.empty()) n.Fail(err);
  return v;
}

SourceConfig ParseSource(const Node& n) {
  n.OnlyKeys({"type", "path", "address", "port", "interface", "filter", "dns_ports", "follow",
              "messages"});
  SourceConfig s;
  s.where = n.FileLine();
  if (!n.Has("type")) n.Fail("missing 'type'");
  s.type = n["type"].Str();
  static const std::set<std::string> kTypes = {"jsonl",      "dnstap_file", "dnstap_unix",
                                               "dnstap_tcp", "pcap_file",   "pcap_live"};
  if (!kTypes.count(s.type))
    n["type"].Fail(
        "unknown source type '" + s.type +
        "' (expected jsonl, dnstap_file, dnstap_unix, dnstap_tcp, pcap_file, pcap_live)");
  if (n.Has("path")) s.path = n["path"].Str();
  if (n.Has("address")) s.address = n["address"].Str();
  if (n.Has("port")) s.port = static_cast<int>(n["port"].Int(0, 65535));
  if (n.Has("interface")) s.interface = n["interface"].Str();
  if (n.Has("filter")) s.bpf_filter = n["filter"].Str();
  if (n.Has("follow")) s.follow = n["follow"].Bool();
  if (n.Has("messages")) {
    s.dnstap_messages = n["messages"].Str();
  }
  if (n.Has("dns_ports")) {
    const Node p = n["dns_ports"];
    p.ExpectSequence();
    s.dns_ports.clear();
    for (size_t i = 0; i < p.size(); ++i)
      s.dns_ports.push_back(static_cast<int>(p.At(i).Int(1, 65535)));
  }
  const bool needs_path = s.type != "dnstap_tcp" && s.type != "pcap_live";
  if (needs_path && s.path.empty()) n.Fail("source type '" + s.type + "' needs a 'path'");
  if (s.type == "pcap_live" && s.interface.empty()) n.Fail("pcap_live needs an 'interface'");
  return s;
}

void ParseRedaction(const Node& n, RedactionOptions* r) {
  n.OnlyKeys({"client", "v4_prefix", "v6_prefix", "key", "key_file"});
  const std::string mode = n.Has("client") ? n["client"].Str() : "none";
  if (mode == "none")
    r->mode = RedactionOptions::Mode::kNone;
  else if (mode == "truncate")
    r->mode = RedactionOptions::Mode::kTruncate;
  else if (mode == "pseudonym")
    r->mode = RedactionOptions::Mode::kPseudonym;
  else
    n["client"].Fail("expected none, truncate or pseudonym");
  if (n.Has("v4_prefix")) r->v4_bits = static_cast<int>(n["v4_prefix"].Int(0, 32));
  if (n.Has("v6_prefix")) r->v6_bits = static_cast<int>(n["v6_prefix"].Int(0, 128));
  if (n.Has("key")) r->key = n["key"].Str();
  if (n.Has("key_file")) {
    std::ifstream in(n["key_file"].Str(), std::ios::binary);
    if (!in) n["key_file"].Fail("cannot read key file '" + n["key_file"].Str() + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    r->key = ss.str();
    while (!r->key.empty() && (r->key.back() == '\n' || r->key.back() == '\r')) r->key.pop_back();
  }
  if (r->mode == RedactionOptions::Mode::kPseudonym && r->key.size() < 16)
    n.Fail("pseudonym redaction needs a secret 'key' or 'key_file' of at least 16 bytes");
}

void ParseEngine(const Node& n, EngineOptions* e) {
  n.OnlyKeys({"threads", "pane", "coarse_pane", "fine_window_limit", "watermark_delay",
              "allowed_lateness", "idle_advance", "max_future", "max_entities_per_view",
              "batch_size", "queue_batches", "coarse_blocks"});
  if (n.Has("max_entities_per_view"))
    e->max_entities_per_view = static_cast<size_t>(n["max_entities_per_view"].Int(1, 1LL << 40));
  if (n.Has("idle_advance")) e->idle_advance_ns = n["idle_advance"].Duration(true);
  if (n.Has("max_future")) e->max_future_ns = n["max_future"].Duration(true);
  if (n.Has("threads")) e->threads = static_cast<int>(n["threads"].Int(1, 256));
  if (n.Has("pane")) e->pane_ns = n["pane"].Duration();
  if (n.Has("coarse_pane")) e->coarse_pane_ns = n["coarse_pane"].Duration();
  if (n.Has("fine_window_limit")) e->fine_window_limit_ns = n["fine_window_limit"].Duration();
  if (n.Has("watermark_delay")) e->watermark_delay_ns = n["watermark_delay"].Duration(true);
  if (n.Has("allowed_lateness")) e->allowed_lateness_ns = n["allowed_lateness"].Duration(true);
  if (n.Has("coarse_blocks")) e->coarse_blocks = n["coarse_blocks"].Bool();
  if (n.Has("batch_size")) e->batch_size = static_cast<size_t>(n["batch_size"].Int(1, 1 << 20));
  if (n.Has("queue_batches"))
    e->queue_batches = static_cast<size_t>(n["queue_batches"].Int(2, 1 << 16));
  if (e->coarse_pane_ns % e->pane_ns != 0) n["coarse_pane"].Fail("must be a multiple of 'pane'");
}

void ParseOutput(const Node& n, OutputOptions* o) {
  n.OnlyKeys({"features", "late_events", "dead_letter", "dead_letter_samples", "counters"});
  if (n.Has("features")) o->features = n["features"].Str();
  if (n.Has("late_events")) o->late_events = n["late_events"].Str();
  if (n.Has("dead_letter")) o->dead_letter = n["dead_letter"].Str();
  if (n.Has("dead_letter_samples"))
    o->dead_letter_samples_per_reason =
        static_cast<size_t>(n["dead_letter_samples"].Int(0, 1 << 20));
  if (n.Has("counters")) o->counters = n["counters"].Str();
}

void ParseStore(const Node& n, StoreConfig* s) {
  n.OnlyKeys({"path", "online", "redis", "offline", "offline_partition", "offline_sync"});
  if (n.Has("path")) s->path = n["path"].Str();
  if (n.Has("online")) {
    s->online = n["online"].Str();
    if (s->online != "embedded" && s->online != "redis" && s->online != "none")
      n["online"].Fail("expected embedded, redis or none");
  }
  if (n.Has("redis")) {
    const Node r = n["redis"];
    r.OnlyKeys({"host", "port", "unix_socket", "db", "key_prefix"});
    if (r.Has("host")) s->redis_host = r["host"].Str();
    if (r.Has("port")) s->redis_port = static_cast<int>(r["port"].Int(1, 65535));
    if (r.Has("unix_socket")) s->redis_unix_socket = r["unix_socket"].Str();
    if (r.Has("db")) s->redis_db = static_cast<int>(r["db"].Int(0, 1 << 16));
    if (r.Has("key_prefix")) s->redis_key_prefix = r["key_prefix"].Str();
  }
  if (n.Has("offline")) s->offline = n["offline"].Bool();
  if (n.Has("offline_partition")) {
    s->offline_partition_ns = n["offline_partition"].Duration();
    if (s->offline_partition_ns % 60'000'000'000 != 0)
      n["offline_partition"].Fail("must be a whole number of minutes");
  }
  if (n.Has("offline_sync")) s->offline_sync = n["offline_sync"].Bool();
  if (s->path.empty() && (s->online == "embedded" || s->offline))
    n.Fail("'path' is needed for the embedded online store and the offline store");
}

void ParseApi(const Node& n, ApiConfig* a) {
  n.OnlyKeys({"listen", "tls_cert", "tls_key", "tokens", "audit_log", "threads", "dashboard_dir"});
  if (n.Has("dashboard_dir")) a->dashboard_dir = n["dashboard_dir"].Str();
  if (n.Has("listen")) {
    a->listen = n["listen"].Str();
    const size_t colon = a->listen.rfind(':');
    if (colon == std::string::npos || colon + 1 == a->listen.size() ||
        a->listen.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      n["listen"].Fail("expected host:port, e.g. 127.0.0.1:8080 (port 0 = any free port)");
  }
  if (n.Has("tls_cert")) a->tls_cert = n["tls_cert"].Str();
  if (n.Has("tls_key")) a->tls_key = n["tls_key"].Str();
  if (a->tls_cert.empty() != a->tls_key.empty()) n.Fail("TLS needs both 'tls_cert' and 'tls_key'");
  if (n.Has("audit_log")) a->audit_log = n["audit_log"].Str();
  if (n.Has("threads")) a->threads = static_cast<int>(n["threads"].Int(1, 256));
  if (n.Has("tokens")) {
    const Node ts = n["tokens"];
    ts.ExpectSequence();
    for (size_t i = 0; i < ts.size(); ++i) {
      const Node t = ts.At(i);
      t.OnlyKeys({"name", "role", "sha256", "token"});
      ApiTokenConfig tok;
      if (!t.Has("name") || !t.Has("role")) t.Fail("a token needs 'name' and 'role'");
      tok.name = t["name"].Str();
      tok.role = t["role"].Str();
      if (tok.role != "reader" && tok.role != "trainer" && tok.role != "admin")
        t["role"].Fail("unknown role '" + tok.role + "' (expected reader, trainer or admin)");
      if (t.Has("sha256") == t.Has("token")) t.Fail("give exactly one of 'sha256' or 'token'");
      if (t.Has("sha256")) {
        tok.sha256 = t["sha256"].Str();
        if (tok.sha256.size() != 64 ||
            tok.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
          t["sha256"].Fail("expected 64 lowercase hex digits");
      } else {
        tok.sha256 = Sha256Hex(t["token"].Str());
      }
      a->tokens.push_back(std::move(tok));
    }
  }
}

void ParseLeases(const Node& n, LeaseConfig* l) {
  n.OnlyKeys({"files"});
  if (n.Has("files")) {
    const Node f = n["files"];
    f.ExpectSequence();
    for (size_t i = 0; i < f.size(); ++i) l->files.push_back(f.At(i).Str());
  }
}

void ParseDetect(const Node& n, const std::vector<FeatureView>& views, DetectConfig* d) {
  n.OnlyKeys(
      {"decisions", "changes", "renotify", "deploy_context", "max_entities_per_rule", "rules"});
  if (n.Has("decisions")) d->decisions = n["decisions"].Str();
  if (n.Has("changes")) {
    const Node c = n["changes"];
    c.ExpectSequence();
    for (size_t i = 0; i < c.size(); ++i) d->changes.push_back(c.At(i).Str());
  }
  if (n.Has("renotify")) d->renotify_ns = n["renotify"].Duration();
  if (n.Has("deploy_context")) d->deploy_context_ns = n["deploy_context"].Duration(true);
  if (n.Has("max_entities_per_rule"))
    d->max_entities_per_rule = static_cast<size_t>(n["max_entities_per_rule"].Int(1, 1LL << 32));
  if (!n.Has("rules")) return;
  const Node rules = n["rules"];
  rules.ExpectSequence();
  for (size_t i = 0; i < rules.size(); ++i) {
    const Node r = rules.At(i);
    r.OnlyKeys({"class",          "view",      "kind",           "features",  "direction",
                "threshold",      "min_delta", "counts",         "min_count", "binomial",
                "binomial_floor", "require",   "window",         "period",    "slot",
                "min_points",     "scope",     "failure_domain", "action",    "severity",
                "model"});
    DetectRuleConfig rc;
    rc.where = r.FileLine();
    if (!r.Has("class") || !r.Has("view")) r.Fail("a rule needs 'class' and 'view'");
    rc.klass = r["class"].Str();
    rc.view = r["view"].Str();
    const FeatureView* view = nullptr;
    for (const auto& v : views)
      if (v.name == rc.view) view = &v;
    if (view == nullptr) r["view"].Fail("no view named '" + rc.view + "'");
    const auto need_feature = [&](const Node& at, const std::string& f) {
      if (std::find(view->feature_names.begin(), view->feature_names.end(), f) ==
          view->feature_names.end())
        at.Fail("view '" + rc.view + "' has no feature '" + f + "'");
    };
    if (r.Has("kind")) {
      rc.kind = r["kind"].Str();
      if (rc.kind != "baseline" && rc.kind != "threshold" && rc.kind != "tunnelling" &&
          rc.kind != "iforest" && rc.kind != "xgboost")
        r["kind"].Fail("expected baseline, threshold, tunnelling, iforest or xgboost");
    }
    if (r.Has("features")) {
      const Node f = r["features"];
      f.ExpectSequence();
      for (size_t j = 0; j < f.size(); ++j) {
        rc.features.push_back(f.At(j).Str());
        need_feature(f.At(j), rc.features.back());
      }
    }
    if (r.Has("model")) rc.model = r["model"].Str();
    const bool trained = rc.kind == "iforest" || rc.kind == "xgboost";
    if (trained && rc.model.empty()) r.Fail("an " + rc.kind + " rule needs 'model'");
    if (rc.kind != "tunnelling" && !trained && rc.features.empty())
      r.Fail("a " + rc.kind + " rule needs 'features'");
    if (r.Has("direction")) {
      rc.direction = r["direction"].Str();
      if (rc.direction != "up" && rc.direction != "down" && rc.direction != "both")
        r["direction"].Fail("expected up, down or both");
    }
    if (r.Has("threshold")) rc.threshold = r["threshold"].Double();
    if (rc.kind == "xgboost") {
      // A probability: default 0.5, and a threshold outside (0, 1] never or always alerts.
      if (!r.Has("threshold")) rc.threshold = 0.5;
      if (!(rc.threshold > 0 && rc.threshold <= 1)) r["threshold"].Fail("must be in (0, 1]");
    }
    if (r.Has("min_delta")) rc.min_delta = r["min_delta"].Double();
    if (r.Has("counts")) {
      const Node c = r["counts"];
      c.ExpectSequence();
      for (size_t j = 0; j < c.size(); ++j) {
        rc.counts.push_back(c.At(j).Str());
        need_feature(c.At(j), rc.counts.back());
      }
      if (rc.counts.size() != rc.features.size())
        c.Fail("needs one count feature per feature (" + std::to_string(rc.features.size()) + ")");
    }
    if (r.Has("min_count")) rc.min_count = r["min_count"].Double();
    if (r.Has("binomial")) rc.binomial = r["binomial"].Bool();
    if (r.Has("binomial_floor")) {
      rc.binomial_floor = r["binomial_floor"].Double();
      if (!(rc.binomial_floor > 0 && rc.binomial_floor < 0.5))
        r["binomial_floor"].Fail("must be in (0, 0.5)");
    }
    if (rc.binomial && rc.counts.empty()) r["binomial"].Fail("binomial scoring needs 'counts'");
    if (r.Has("require")) {
      const Node q = r["require"];
      q.OnlyKeys({"feature", "min"});
      if (!q.Has("feature") || !q.Has("min")) q.Fail("needs 'feature' and 'min'");
      rc.require_feature = q["feature"].Str();
      need_feature(q["feature"], rc.require_feature);
      rc.require_min = q["min"].Double();
    }
    if (r.Has("window")) rc.window = r["window"].Str();
    if (rc.kind == "tunnelling") {
      for (const char* base :
           {"queries", "unique_subdomains", "unique_clients", "subdomain_length_mean",
            "label_entropy_mean", "txt_ratio", "null_ratio"})
        need_feature(r.Has("window") ? r["window"] : r["kind"],
                     std::string(base) + "_" + rc.window);
    }
    if (r.Has("period")) rc.period_ns = r["period"].Duration(true);
    if (r.Has("slot")) rc.slot_ns = r["slot"].Duration();
    if (rc.period_ns % rc.slot_ns != 0) r["period"].Fail("must be a multiple of 'slot'");
    if (r.Has("min_points")) rc.min_points = static_cast<int>(r["min_points"].Int(1, 100000));
    rc.scope_kind = r.Has("scope") ? r["scope"].Str() : std::string(EntityKindName(view->entity));
    if (r.Has("failure_domain")) {
      rc.failure_domain = r["failure_domain"].Str();
      if (rc.failure_domain != "dns_config" && rc.failure_domain != "infrastructure" &&
          rc.failure_domain != "application" && rc.failure_domain != "abuse")
        r["failure_domain"].Fail("expected dns_config, infrastructure, application or abuse");
    }
    if (r.Has("action")) rc.action = r["action"].Str();
    if (r.Has("severity")) {
      rc.severity = r["severity"].Str();
      if (rc.severity != "page" && rc.severity != "ticket" && rc.severity != "info")
        r["severity"].Fail("expected page, ticket or info");
    }
    d->rules.push_back(std::move(rc));
  }
}

}  // namespace

namespace {

EngineConfig ParseConfigUnchecked(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  EngineConfig cfg;
  cfg.path = name;
  const Node top(root, name, "", ThrowConfigError);
  top.OnlyKeys({"sources", "redaction", "engine", "output", "store", "api", "leases", "detect",
                "views", "web", "hosts", "alerts", "remediation", "feedback"});
  if (top.Has("store")) ParseStore(top["store"], &cfg.store);
  if (top.Has("api")) ParseApi(top["api"], &cfg.api);
  if (top.Has("leases")) ParseLeases(top["leases"], &cfg.leases);
  if (top.Has("engine")) ParseEngine(top["engine"], &cfg.engine);
  if (top.Has("redaction")) ParseRedaction(top["redaction"], &cfg.redaction);
  if (top.Has("output")) ParseOutput(top["output"], &cfg.output);
  if (top.Has("sources")) {
    const Node s = top["sources"];
    s.ExpectSequence();
    for (size_t i = 0; i < s.size(); ++i) cfg.sources.push_back(ParseSource(s.At(i)));
  }
  if (!top.Has("views")) top.Fail("missing 'views'");
  const Node views = top["views"];
  views.ExpectSequence();
  std::set<std::string> names;
  for (size_t i = 0; i < views.size(); ++i) {
    cfg.views.push_back(ParseView(views.At(i), cfg.engine));
    if (!names.insert(cfg.views.back().name).second)
      views.At(i)["name"].Fail("duplicate view name '" + cfg.views.back().name + "'");
    if (cfg.views.back().entity == EntityKind::kDevice && cfg.leases.files.empty())
      views.At(i)["entity"].Fail(
          "the device entity needs lease history ('leases: {files: [...]}')");
  }
  if (!cfg.leases.files.empty()) {
    auto table = std::make_shared<LeaseTable>();
    for (const auto& f : cfg.leases.files) {
      if (Status st = table->AddFile(f); !st.ok()) top["leases"].Fail(st.message());
    }
    table->Seal();
    if (table->rejected() > 0) {
      std::fprintf(stderr, "dnsight: leases: %llu malformed line(s) skipped, e.g. %s\n",
                   static_cast<unsigned long long>(table->rejected()),
                   table->rejected_samples().front().c_str());
    }
    cfg.lease_table = table;
    for (auto& v : cfg.views)
      if (v.entity == EntityKind::kDevice) v.leases = table.get();
  }
  // The built-in hosting views join the list, so the stores, the registry and the
  // detectors treat them like any other.
  std::vector<FeatureView> builtin;
  if (top.Has("web")) {
    ParseWebConfig(top["web"], &cfg.web);
    for (auto& v : MakeWebViews(cfg.web.features)) builtin.push_back(std::move(v));
  }
  if (top.Has("hosts")) {
    ParseHostsConfig(top["hosts"], &cfg.hosts);
    builtin.push_back(MakeHostView(cfg.hosts));
  }
  for (auto& v : builtin) {
    if (!names.insert(v.name).second)
      top.Fail("view name '" + v.name + "' is reserved for the built-in hosting views");
    cfg.views.push_back(std::move(v));
  }
  if (top.Has("detect")) ParseDetect(top["detect"], cfg.views, &cfg.detect);
  if (top.Has("alerts")) cfg.ops.alerts = top["alerts"];
  if (top.Has("remediation")) {
    const Node r = top["remediation"];
    r.OnlyKeys({"policy", "audit", "execute"});
    if (!r.Has("policy") || !r.Has("audit")) r.Fail("remediation needs 'policy' and 'audit'");
    cfg.ops.remediation_policy = r["policy"].Str();
    cfg.ops.remediation_audit = r["audit"].Str();
    if (r.Has("execute")) cfg.ops.remediation_execute = r["execute"].Bool();
  }
  if (top.Has("feedback")) {
    const Node f = top["feedback"];
    f.OnlyKeys({"path"});
    if (f.Has("path")) cfg.ops.feedback = f["path"].Str();
  }
  return cfg;
}

}  // namespace

EngineConfig ParseConfig(const std::string& text, const std::string& name) {
  try {
    return ParseConfigUnchecked(text, name);
  } catch (const YAML::Exception& e) {
    // Anything yaml-cpp raises past the parser (odd keys, anchors, conversions) is still a
    // config error, with the position yaml-cpp knows.
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

EngineConfig LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

}  // namespace dnsight
