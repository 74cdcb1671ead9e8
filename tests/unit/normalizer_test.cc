#include "ingest/normalizer.h"

#include <gtest/gtest.h>
#include <libpsl.h>
#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "common/time_util.h"

namespace dnsight {
namespace {

TEST(RegisteredDomain, PublicSuffixList) {
  RegisteredDomainFinder f(16);
  const auto rd = [&](std::string_view n) { return std::string(n.substr(n.size() - f.Find(n))); };
  EXPECT_EQ(rd("www.example.com"), "example.com");
  EXPECT_EQ(rd("a.b.c.example.co.uk"), "example.co.uk");
  EXPECT_EQ(rd("example.co.uk"), "example.co.uk");
  EXPECT_EQ(rd("co.uk"), "");
  EXPECT_EQ(rd("com"), "");
  EXPECT_EQ(rd(""), "");
  // Served from the cache the second time, same answer.
  EXPECT_EQ(rd("x.y.www.example.com"), "example.com");
  EXPECT_EQ(rd("x.y.www.example.com"), "example.com");
}

// Every rule of the system list, with names one and two labels below it and under a
// popular-looking parent: the cached finder (with its two-label shortcut) agrees with an
// uncached libpsl lookup on the same list.
TEST(RegisteredDomain, AgreesWithLibpslOnEveryRule) {
  const char* path = psl_builtin_filename();
  std::FILE* f = path ? std::fopen(path, "r") : nullptr;
  if (f == nullptr) GTEST_SKIP() << "no public suffix list text installed";
  psl_ctx_t* psl = psl_load_file(path);
  ASSERT_NE(psl, nullptr);
  const auto reference = [&](const std::string& name) -> std::string {
    const char* rd = psl_registrable_domain(psl, name.c_str());
    return rd ? rd : "";
  };
  RegisteredDomainFinder finder(1 << 12);  // small: evictions and refills too
  char line[512];
  int rules = 0, checked = 0;
  std::vector<std::string> names;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::string rule(line);
    rule = rule.substr(0, rule.find_first_of(" \t\r\n"));
    if (rule.empty() || rule.starts_with("//")) continue;
    if (rule[0] == '!') rule.erase(0, 1);
    if (rule.starts_with("*.")) rule.replace(0, 1, "wild");
    ++rules;
    // The parent of the rule too: its own shortcut entry is made before the deeper name.
    const size_t dot = rule.find('.');
    if (dot != std::string::npos) names.push_back("www." + rule.substr(dot + 1));
    for (const char* prefix : {"", "x.", "www.shop.", "a.b.c.d."}) names.push_back(prefix + rule);
  }
  std::fclose(f);
  // And random labels above random rules, so the cache sees keys in every order.
  std::mt19937 rng(7);
  const size_t rule_names = names.size();
  for (int i = 0; i < 20000; ++i) {
    std::string name = names[rng() % rule_names];
    for (unsigned labels = rng() % 4; labels > 0; --labels) {
      std::string label;
      for (unsigned n = 1 + rng() % 6; n > 0; --n) label.push_back("abz09-_"[rng() % 7]);
      name = label + "." + name;
    }
    names.push_back(std::move(name));
  }
  // A second finder whose cache may grow to 2^17 slots: it starts small and grows (dropping
  // its contents) several times over these names, twice through.
  RegisteredDomainFinder growing(1 << 17);
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& name : names) {
      const std::string want = reference(name);
      for (RegisteredDomainFinder* finder_under_test : {&finder, &growing}) {
        const std::string got(
            std::string_view(name).substr(name.size() - finder_under_test->Find(name)));
        ASSERT_EQ(got, want) << name;
      }
      checked += pass == 0;
    }
  }
  psl_free(psl);
  EXPECT_GT(rules, 5000);
  EXPECT_GT(checked, 5 * 5000 + 20000);
}

TEST(Normalizer, LowercasesStripsDotAndMeasures) {
  EventNormalizer n({});
  DnsEventBatch b;
  RawDnsObservation o;
  o.query_time_ns = 100;
  o.response_time_ns = 350;
  o.qname = "WWW.Example.COM.";
  o.client = *IpAddress::Parse("192.0.2.77");
  std::string_view reason;
  ASSERT_TRUE(n.Append(o, &b, &reason));
  const DnsEvent& e = b.events[0];
  EXPECT_EQ(b.qname(e), "www.example.com");
  EXPECT_EQ(b.registered_domain(e), "example.com");
  EXPECT_EQ(b.subdomain(e), "www");
  EXPECT_EQ(e.ts_ns, 100);
  EXPECT_EQ(e.latency_ns, 250);
  EXPECT_EQ(e.label_count, 3);
  // www: 0 bits; example: e×2,x,a,m,p,l over 7 chars; com: log2(3)
  const double ex = -(2.0 / 7 * std::log2(2.0 / 7)) - 5 * (1.0 / 7 * std::log2(1.0 / 7));
  EXPECT_NEAR(e.label_entropy, (0 + ex + std::log2(3.0)) / 3, 1e-5);
  EXPECT_TRUE(e.new_domain);
  ASSERT_TRUE(n.Append(o, &b, &reason));
  EXPECT_FALSE(b.events[1].new_domain);
}

// "New" means not seen in the current or the previous generation of the bounded set: a
// domain stays known for one full generation after the one it was last seen in.
TEST(Normalizer, FirstSeenForgetsAfterTwoGenerations) {
  NormalizerOptions o;
  o.first_seen = true;
  o.seen_domains_capacity = 4;
  EventNormalizer n(o);
  DnsEventBatch b;
  std::string_view reason;
  const auto is_new = [&](const std::string& name) {
    RawDnsObservation obs;
    obs.query_time_ns = 1;
    obs.qname = name;
    EXPECT_TRUE(n.Append(obs, &b, &reason)) << name;
    return b.events.back().new_domain;
  };
  EXPECT_TRUE(is_new("www.a0.com"));
  EXPECT_FALSE(is_new("mail.a0.com"));  // same registered domain
  EXPECT_FALSE(is_new("com"));          // no registered domain: never new
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(is_new("a" + std::to_string(i) + ".com")) << i;
  // The generation is full: a4..a7 go to a new one, a0 is still known from the previous.
  for (int i = 4; i < 8; ++i) EXPECT_TRUE(is_new("a" + std::to_string(i) + ".com")) << i;
  EXPECT_FALSE(is_new("a0.com"));
  EXPECT_FALSE(is_new("a5.com"));
  // a8 starts a third generation; a0..a3 are forgotten, a4..a7 remain.
  EXPECT_TRUE(is_new("a8.com"));
  EXPECT_TRUE(is_new("a1.net"));
  EXPECT_TRUE(is_new("a2.com"));
  EXPECT_FALSE(is_new("a6.com"));
}

// Gated scoring gives exactly the ungated score where a gate matches, 0 elsewhere, and the
// name model keeps learning from every event either way.
TEST(Normalizer, ScoreGatesLimitScoringNotLearning) {
  NormalizerOptions all;
  all.score_names = true;
  NormalizerOptions gated = all;
  EventPredicate nx;
  nx.field = DnsField::kRcode;
  nx.numbers = {3};
  gated.score_gates = {{nx}};
  EventNormalizer a(all), g(gated);
  DnsEventBatch ba, bg;
  std::string_view reason;
  int scored_nx = 0;
  for (int i = 0; i < 3000; ++i) {
    RawDnsObservation o;
    o.query_time_ns = 1000 + i;
    // 400 plausible domains to learn from (past the model's warm-up), and random ones.
    const std::string name =
        "www." +
        (i % 7 == 0 ? "xq" + std::to_string(i * 7919) + "zk" : "shop" + std::to_string(i % 400)) +
        ".com";
    o.qname = name;
    o.rcode = i % 3 == 0 ? 3 : 0;
    o.client = *IpAddress::Parse("192.0.2.1");
    ASSERT_TRUE(a.Append(o, &ba, &reason));
    ASSERT_TRUE(g.Append(o, &bg, &reason));
  }
  ASSERT_EQ(ba.events.size(), bg.events.size());
  for (size_t i = 0; i < ba.events.size(); ++i) {
    if (ba.events[i].rcode == 3) {
      EXPECT_EQ(bg.events[i].dga_score, ba.events[i].dga_score) << i;
      scored_nx += ba.events[i].dga_score > 0;
    } else {
      EXPECT_EQ(bg.events[i].dga_score, 0.0f) << i;
    }
  }
  EXPECT_GT(scored_nx, 100);
}

// The hash columns hold XXH3 of each requested field's key, one per event, and PopBack
// keeps them in step with the events; fields without a column are ignored.
TEST(Normalizer, HashesRequestedFields) {
  NormalizerOptions o;
  o.hashed_fields = {DnsField::kRegisteredDomain, DnsField::kClient, DnsField::kClient,
                     DnsField::kLatencyMs};
  o.redaction.mode = RedactionOptions::Mode::kTruncate;  // hashes are of the redacted address
  o.redaction.v6_bits = 48;
  EventNormalizer n(o);
  DnsEventBatch b;
  std::string_view reason;
  const char* clients[] = {"2001:db8:1::7", "2001:db8:2::7", "2001:db8:3::7"};
  int k = 0;
  for (const char* name : {"WWW.Example.com.", "a.b.example.org", "com"}) {
    RawDnsObservation obs;
    obs.query_time_ns = 1000;
    obs.qname = name;
    obs.client = *IpAddress::Parse(clients[k++]);
    ASSERT_TRUE(n.Append(obs, &b, &reason)) << name;
  }
  ASSERT_EQ(b.FieldHashes(DnsField::kQname), nullptr);
  const uint64_t* rd = b.FieldHashes(DnsField::kRegisteredDomain);
  const uint64_t* client = b.FieldHashes(DnsField::kClient);
  ASSERT_NE(rd, nullptr);
  ASSERT_NE(client, nullptr);
  for (size_t i = 0; i < b.size(); ++i) {
    const std::string_view d = b.registered_domain(b.events[i]);
    EXPECT_EQ(rd[i], XXH3_64bits(d.data(), d.size())) << i;
    const char* prefixes[] = {"2001:db8:1::", "2001:db8:2::", "2001:db8:3::"};
    const IpAddress redacted = *IpAddress::Parse(prefixes[i]);
    EXPECT_EQ(b.events[i].client, redacted) << i;
    EXPECT_EQ(client[i], XXH3_64bits(redacted.bytes.data(), 16)) << i;
  }
  EXPECT_EQ(b.registered_domain(b.events[0]), "example.com");
  b.PopBack();
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.field_hashes[static_cast<size_t>(HashedFieldSlot(DnsField::kClient))].size(), 2u);
  EXPECT_NE(b.FieldHashes(DnsField::kRegisteredDomain), nullptr);
  EXPECT_EQ(b.arena, "www.example.coma.b.example.org");
}

TEST(Normalizer, RejectsBadInput) {
  EventNormalizer n({});
  DnsEventBatch b;
  RawDnsObservation o;
  std::string_view reason;
  o.qname = "a.b";
  EXPECT_FALSE(n.Append(o, &b, &reason));
  EXPECT_EQ(reason, "missing_timestamp");
  o.query_time_ns = 1;
  o.qname = "a..b";
  EXPECT_FALSE(n.Append(o, &b, &reason));
  EXPECT_EQ(reason, "bad_qname");
  EXPECT_TRUE(b.arena.empty());
  EXPECT_TRUE(b.events.empty());
}

TEST(Redaction, TruncateAndPseudonym) {
  ClientRedactor trunc({RedactionOptions::Mode::kTruncate, 24, 48, "", 16});
  EXPECT_EQ(trunc.Apply(*IpAddress::Parse("192.0.2.77")).ToString(), "192.0.2.0");
  EXPECT_EQ(trunc.Apply(*IpAddress::Parse("2001:db8:1:2:3::9")).ToString(), "2001:db8:1::");
  ClientRedactor p1({RedactionOptions::Mode::kPseudonym, 24, 48, "0123456789abcdef-key", 16});
  ClientRedactor p2({RedactionOptions::Mode::kPseudonym, 24, 48, "another-secret-key-0", 16});
  const auto a = *IpAddress::Parse("192.0.2.77");
  const IpAddress x = p1.Apply(a);
  EXPECT_EQ(x, p1.Apply(a));  // stable (and cached)
  EXPECT_NE(x, a);
  EXPECT_NE(x, p2.Apply(a));  // keyed
  EXPECT_EQ(x.family, IpFamily::kV4);
  EXPECT_EQ(x.bytes[0] & 0xf0, 0xf0);
  EXPECT_NE(p1.Apply(*IpAddress::Parse("192.0.2.78")), x);
}

TEST(TimeUtil, Rfc3339AndDurations) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("2026-11-23T10:00:00+01:00"), ParseRfc3339("2026-11-23T09:00:00Z"));
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-11-23T10:00:00.120Z")), "2026-11-23T10:00:00.12Z");
  EXPECT_FALSE(ParseRfc3339("2026-11-23T10:00:00"));
  EXPECT_FALSE(ParseRfc3339("2026-11-23T10:00:00.Z"));
  EXPECT_EQ(ParseDuration("5m"), 300 * kNanosPerSecond);
  EXPECT_EQ(FormatDuration(3600 * kNanosPerSecond), "1h");
  EXPECT_FALSE(ParseDuration("5 minutes"));
  EXPECT_FALSE(ParseDuration("-1s"));
}

}  // namespace
}  // namespace dnsight
