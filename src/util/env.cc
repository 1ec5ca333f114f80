#include "util/env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

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

}  // namespace zeroshot::util
