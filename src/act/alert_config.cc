#include "act/alert_config.h"

#include <cstdlib>
#include <set>

#include "common/time_util.h"

namespace dnsight {
namespace {

using Node = YamlNode;

std::string HttpUrl(const Node& n) {
  const std::string url = n.Str();
  if (!ParseHttpEndpoint(url))
    n.Fail("expected an http:// or https:// URL with a host (no user:password@) (got '" + url +
           "')");
  return url;
}

void ParseHttp(const Node& n, HttpSinkOptions* h) {
  if (!n.Has("url")) n.Fail("a " + n["kind"].Str() + " sink needs 'url'");
  h->url = HttpUrl(n["url"]);
  if (n.Has("timeout")) h->connect_timeout_ns = h->read_timeout_ns = n["timeout"].Duration();
  if (n.Has("connect_timeout")) h->connect_timeout_ns = n["connect_timeout"].Duration();
  if (n.Has("read_timeout")) h->read_timeout_ns = n["read_timeout"].Duration();
  if (n.Has("ca_file")) h->ca_file = n["ca_file"].Str();
}

AlertSinkSpec ParseSink(const Node& n) {
  n.ExpectMap();
  AlertSinkSpec s;
  s.where = n.FileLine();
  if (!n.Has("kind")) n.Fail("missing 'kind'");
  s.kind = n["kind"].Str();
  if (s.kind == "alertmanager") {
    n.OnlyKeys({"kind", "url", "resolve_timeout", "timeout", "connect_timeout", "read_timeout",
                "ca_file", "dashboard_url"});
    ParseHttp(n, &s.alertmanager.http);
    if (n.Has("resolve_timeout"))
      s.alertmanager.resolve_timeout_ns = n["resolve_timeout"].Duration();
    if (n.Has("dashboard_url")) s.alertmanager.dashboard_url = HttpUrl(n["dashboard_url"]);
  } else if (s.kind == "webhook") {
    n.OnlyKeys({"kind", "url", "token_env", "timeout", "connect_timeout", "read_timeout", "ca_file",
                "send_suppressed"});
    ParseHttp(n, &s.webhook.http);
    if (n.Has("token_env")) {
      const std::string var = n["token_env"].Str();
      const char* token = var.empty() ? nullptr : std::getenv(var.c_str());
      if (token == nullptr || *token == '\0')
        n["token_env"].Fail("environment variable '" + var + "' is not set or empty");
      s.webhook.bearer_token = token;
    }
    if (n.Has("send_suppressed")) s.webhook.send_suppressed = n["send_suppressed"].Bool();
  } else if (s.kind == "jsonl") {
    n.OnlyKeys({"kind", "path"});
    if (!n.Has("path")) n.Fail("a jsonl sink needs 'path'");
    s.path = n["path"].Str();
    if (s.path.empty()) n["path"].Fail("must not be empty");
  } else {
    n["kind"].Fail("unknown sink kind '" + s.kind + "' (expected alertmanager, webhook or jsonl)");
  }
  return s;
}

AlertRoute ParseRoute(const Node& n) {
  n.OnlyKeys({"team", "class", "view", "entity_suffix"});
  AlertRoute r;
  r.where = n.FileLine();
  if (!n.Has("team")) n.Fail("a route needs 'team'");
  r.team = n["team"].Str();
  if (r.team.empty()) n["team"].Fail("must not be empty");
  if (n.Has("class")) r.classes = n["class"].StrList();
  if (n.Has("view")) r.views = n["view"].StrList();
  if (n.Has("entity_suffix")) r.entity_suffix = n["entity_suffix"].Str();
  return r;
}

}  // namespace

AlertConfig ParseAlertConfig(const YamlNode& n) {
  n.OnlyKeys({"group_wait", "group_by", "dedup_window", "resolve_after", "repeat_interval",
              "refresh_interval", "min_notify_severity", "default_team", "routes", "budgets",
              "queue_capacity", "max_attempts", "retry_backoff", "max_open_alerts", "sinks"});
  AlertConfig c;
  AlertOptions& o = c.options;
  if (n.Has("group_wait")) o.group_wait_ns = n["group_wait"].Duration(true);
  if (n.Has("group_by")) {
    const Node g = n["group_by"];
    o.group_by = AlertGroupBy{false, false, false, false};
    const std::vector<std::string> fields = g.StrList();
    if (fields.empty()) g.Fail("needs at least one of class, view, entity, team");
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string& f = fields[i];
      bool* flag = f == "class"    ? &o.group_by.klass
                   : f == "view"   ? &o.group_by.view
                   : f == "entity" ? &o.group_by.entity
                   : f == "team"   ? &o.group_by.team
                                   : nullptr;
      const Node at = g.IsSequence() ? g.At(i) : g;
      if (flag == nullptr)
        at.Fail("unknown group_by field '" + f + "' (expected class, view, entity or team)");
      if (*flag) at.Fail("'" + f + "' listed twice");
      *flag = true;
    }
  }
  if (n.Has("dedup_window")) o.dedup_window_ns = n["dedup_window"].Duration(true);
  if (n.Has("resolve_after")) o.resolve_after_ns = n["resolve_after"].Duration();
  if (n.Has("repeat_interval")) o.repeat_interval_ns = n["repeat_interval"].Duration();
  if (n.Has("refresh_interval")) o.refresh_interval_ns = n["refresh_interval"].Duration(true);
  if (n.Has("min_notify_severity")) {
    const std::string s = n["min_notify_severity"].Str();
    const auto sev = ParseAlertSeverity(s);
    if (!sev) n["min_notify_severity"].Fail("expected page, ticket or info (got '" + s + "')");
    o.min_notify_severity = *sev;
  }
  if (n.Has("default_team")) o.default_team = n["default_team"].Str();
  if (n.Has("routes")) {
    const Node r = n["routes"];
    r.ExpectSequence();
    for (size_t i = 0; i < r.size(); ++i) o.routes.push_back(ParseRoute(r.At(i)));
  }
  if (n.Has("budgets")) {
    const Node b = n["budgets"];
    b.ExpectMap();
    for (const std::string& team : b.Keys()) o.page_budgets[team] = b[team].Int(0, 1'000'000);
  }
  if (n.Has("max_open_alerts"))
    o.max_open_alerts = static_cast<size_t>(n["max_open_alerts"].Int(1, 10'000'000));
  if (n.Has("queue_capacity"))
    c.dispatch.queue_capacity = static_cast<size_t>(n["queue_capacity"].Int(1, 1 << 20));
  if (n.Has("max_attempts"))
    c.dispatch.max_attempts = static_cast<int>(n["max_attempts"].Int(1, 100));
  if (n.Has("retry_backoff")) c.dispatch.retry_backoff_ns = n["retry_backoff"].Duration();
  if (n.Has("sinks")) {
    const Node s = n["sinks"];
    s.ExpectSequence();
    for (size_t i = 0; i < s.size(); ++i) {
      c.sinks.push_back(ParseSink(s.At(i)));
      const AlertSinkSpec& spec = c.sinks.back();
      // Alertmanager expires a firing alert at endsAt = send time + resolve_timeout;
      // refreshes must come sooner or the alert flickers resolved between them.
      if (spec.kind == "alertmanager" &&
          (o.refresh_interval_ns == 0 ||
           o.refresh_interval_ns >= spec.alertmanager.resolve_timeout_ns)) {
        const Node at = s.At(i).Has("resolve_timeout") ? s.At(i)["resolve_timeout"] : s.At(i);
        at.Fail("resolve_timeout (" + FormatDuration(spec.alertmanager.resolve_timeout_ns) +
                ") must be longer than alerts.refresh_interval (" +
                FormatDuration(o.refresh_interval_ns) +
                (o.refresh_interval_ns == 0 ? ", i.e. off" : "") +
                "), or Alertmanager expires firing alerts between re-sends");
      }
    }
  }
  return c;
}

Result<std::vector<std::unique_ptr<AlertSink>>> MakeAlertSinks(const AlertConfig& config,
                                                               const Clock& clock) {
  std::vector<std::unique_ptr<AlertSink>> sinks;
  for (const AlertSinkSpec& s : config.sinks) {
    if (s.kind == "alertmanager") {
      sinks.push_back(std::make_unique<AlertmanagerSink>(s.alertmanager, clock));
    } else if (s.kind == "webhook") {
      sinks.push_back(std::make_unique<WebhookSink>(s.webhook));
    } else if (s.kind == "jsonl") {
      auto sink = JsonLinesAlertSink::Open(s.path);
      if (!sink.ok()) return Status(sink.status().code(), s.where + ": " + sink.status().message());
      sinks.push_back(std::move(sink).value());
    } else {
      return Status::InvalidArgument(s.where + ": unknown sink kind '" + s.kind + "'");
    }
  }
  return sinks;
}

}  // namespace dnsight
