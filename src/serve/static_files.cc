#include "serve/static_files.h"

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <system_error>

namespace dnsight {
namespace {

struct DashboardFile {
  std::string_view url;   // the exact request path
  std::string_view path;  // relative to web_dir
  std::string_view content_type;
};

constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kJs = "text/javascript; charset=utf-8";
constexpr std::string_view kCss = "text/css; charset=utf-8";

constexpr DashboardFile kFiles[] = {
    {"/ui/", "index.html", kHtml},
    {"/ui/index.html", "index.html", kHtml},
    {"/ui/app.js", "app.js", kJs},
    {"/ui/style.css", "style.css", kCss},
    {"/ui/vendor/uPlot.iife.min.js", "node_modules/uplot/dist/uPlot.iife.min.js", kJs},
    {"/ui/vendor/uPlot.min.css", "node_modules/uplot/dist/uPlot.min.css", kCss},
};

// The page may load scripts, styles and data from this origin only; uPlot styles its
// elements through the CSSOM (element.style), which style-src does not restrict.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// httplib routes are regular expressions matched against the whole decoded path; escape
// the table's paths so that "." matches only a dot.
std::string ExactPathPattern(std::string_view path) {
  std::string out;
  out.reserve(path.size() * 2);
  for (const char c : path) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool ReadWholeFile(const std::filesystem::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

void Redirect(httplib::Response& res, const char* to) {
  res.set_redirect(to, 302);
  res.set_header("Cache-Control", "no-cache");
}

}  // namespace

Status MountDashboard(httplib::Server& server, const std::string& web_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (web_dir.empty()) return Status::InvalidArgument("dashboard: no directory given");
  if (!fs::is_directory(web_dir, ec))
    return Status::NotFound("dashboard: '" + web_dir +
                            "' is not a directory (it should name the repository's web/)");
  const fs::path root = fs::absolute(web_dir, ec);
  if (ec) return Status::NotFound("dashboard: cannot resolve '" + web_dir + "': " + ec.message());

  for (const auto& f : kFiles) {
    const fs::path file = root / f.path;
    if (fs::is_regular_file(file, ec)) continue;
    if (f.path.starts_with("node_modules/"))
      return Status::NotFound("dashboard: " + file.string() + " is missing: run `npm ci` in " +
                              root.string() + " to install uPlot");
    return Status::NotFound("dashboard: " + file.string() + " is missing");
  }

  for (const auto& f : kFiles) {
    const std::string file = (root / f.path).string();
    const std::string content_type(f.content_type);
    server.Get(ExactPathPattern(f.url), [file, content_type](const httplib::Request&,
                                                             httplib::Response& res) {
      std::string body;
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Content-Type-Options", "nosniff");
      if (!ReadWholeFile(file, &body)) {
        res.status = 503;
        res.set_content("dashboard file missing: " + file + "\n", "text/plain; charset=utf-8");
        return;
      }
      res.set_header("Content-Security-Policy", kContentSecurityPolicy);
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_content(body, content_type);
    });
  }
  server.Get("/", [](const httplib::Request&, httplib::Response& res) { Redirect(res, "/ui/"); });
  server.Get("/ui", [](const httplib::Request&, httplib::Response& res) { Redirect(res, "/ui/"); });
  return Status::Ok();
}

}  // namespace dnsight
