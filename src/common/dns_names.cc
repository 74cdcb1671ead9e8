#include "common/dns_names.h"

#include <strings.h>

#include <charconv>

namespace dnsight {
namespace {

struct Code {
  uint16_t value;
  const char* name;
};

constexpr Code kQtypes[] = {
    {1, "A"},           {2, "NS"},      {5, "CNAME"},   {6, "SOA"},       {10, "NULL"},
    {12, "PTR"},        {13, "HINFO"},  {15, "MX"},     {16, "TXT"},      {17, "RP"},
    {18, "AFSDB"},      {24, "SIG"},    {25, "KEY"},    {28, "AAAA"},     {29, "LOC"},
    {33, "SRV"},        {35, "NAPTR"},  {36, "KX"},     {37, "CERT"},     {39, "DNAME"},
    {41, "OPT"},        {43, "DS"},     {44, "SSHFP"},  {45, "IPSECKEY"}, {46, "RRSIG"},
    {47, "NSEC"},       {48, "DNSKEY"}, {49, "DHCID"},  {50, "NSEC3"},    {51, "NSEC3PARAM"},
    {52, "TLSA"},       {53, "SMIMEA"}, {55, "HIP"},    {59, "CDS"},      {60, "CDNSKEY"},
    {61, "OPENPGPKEY"}, {62, "CSYNC"},  {63, "ZONEMD"}, {64, "SVCB"},     {65, "HTTPS"},
    {99, "SPF"},        {249, "TKEY"},  {250, "TSIG"},  {251, "IXFR"},    {252, "AXFR"},
    {255, "ANY"},       {256, "URI"},   {257, "CAA"},
};

constexpr Code kRcodes[] = {
    {0, "NOERROR"},  {1, "FORMERR"},  {2, "SERVFAIL"}, {3, "NXDOMAIN"}, {4, "NOTIMP"},
    {5, "REFUSED"},  {6, "YXDOMAIN"}, {7, "YXRRSET"},  {8, "NXRRSET"},  {9, "NOTAUTH"},
    {10, "NOTZONE"}, {16, "BADVERS"}, {17, "BADKEY"},  {18, "BADTIME"}, {23, "BADCOOKIE"},
};

std::optional<uint16_t> ParseNumber(std::string_view s) {
  unsigned v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > 0xFFFF) return std::nullopt;
  return static_cast<uint16_t>(v);
}

template <size_t N>
std::optional<uint16_t> Parse(const Code (&table)[N], std::string_view name,
                              std::string_view prefix) {
  if (name.empty() || name.size() > 16) return std::nullopt;
  for (const auto& c : table) {
    if (std::string_view(c.name).size() == name.size() &&
        strncasecmp(c.name, name.data(), name.size()) == 0)
      return c.value;
  }
  if (name.size() > prefix.size() && strncasecmp(name.data(), prefix.data(), prefix.size()) == 0)
    return ParseNumber(name.substr(prefix.size()));
  return ParseNumber(name);
}

}  // namespace

std::optional<uint16_t> ParseQtype(std::string_view name) {
  return Parse(kQtypes, name, "TYPE");
}

std::string QtypeName(uint16_t qtype) {
  for (const auto& c : kQtypes)
    if (c.value == qtype) return c.name;
  return "TYPE" + std::to_string(qtype);
}

std::optional<uint16_t> ParseRcode(std::string_view name) {
  return Parse(kRcodes, name, "RCODE");
}

std::string RcodeName(int rcode) {
  for (const auto& c : kRcodes)
    if (c.value == rcode) return c.name;
  return "RCODE" + std::to_string(rcode);
}

}  // namespace dnsight
