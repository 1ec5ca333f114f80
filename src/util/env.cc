#include "util/env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>

namespace zeroshot::util {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

bool env_flag(const char* name) {
  auto value = env(name);
  if (!value) return false;
  std::string v = *value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::optional<std::string> prepared_cache_dir() {
  if (auto dir = env("ZEROSHOT_PREPARED_CACHE")) {
    std::string lower;
    for (char c : *dir) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "off" || lower == "0" || lower == "false" || lower == "no") return std::nullopt;
    return *dir;
  }
  if (auto xdg = env("XDG_CACHE_HOME")) return *xdg + "/zeroshot/prepared";
  return env("HOME").value_or(".") + "/.cache/zeroshot/prepared";
}

std::string hf_home() {
  if (auto home = env("HF_HOME")) return *home;
  if (auto xdg = env("XDG_CACHE_HOME")) return *xdg + "/huggingface";
  return env("HOME").value_or(".") + "/.cache/huggingface";
}

std::string hf_hub_cache() {
  if (auto cache = env("HF_HUB_CACHE")) return *cache;
  if (auto cache = env("HUGGINGFACE_HUB_CACHE")) return *cache;  // legacy name, still honoured
  return hf_home() + "/hub";
}

std::string hf_endpoint() {
  std::string endpoint = env("HF_ENDPOINT").value_or("https://huggingface.co");
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

namespace {
std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto begin = s.find_first_not_of(ws);
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(ws) - begin + 1);
}
}  // namespace

std::optional<std::string> hf_token() {
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
    if (auto token = env(name)) {
      std::string t = trim(*token);
      if (!t.empty()) return t;
    }
  }
  const std::string path = env("HF_TOKEN_PATH").value_or(hf_home() + "/token");
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line)) {
    line = trim(line);
    if (!line.empty()) return line;
  }
  return std::nullopt;
}

bool hf_hub_offline() { return env_flag("HF_HUB_OFFLINE") || env_flag("TRANSFORMERS_OFFLINE"); }

double env_seconds(const char* name, double fallback) {
  auto value = env(name);
  if (!value) return fallback;
  try {
    size_t used = 0;
    double seconds = std::stod(*value, &used);
    if (used == value->size() && seconds > 0) return seconds;
  } catch (const std::exception&) {
  }
  return fallback;
}

}  // namespace zeroshot::util
