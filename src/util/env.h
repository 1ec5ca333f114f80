// Every environment variable zeroshot reads is read here (docs/ENVIRONMENT.md lists them).
#pragma once

#include <optional>
#include <string>

namespace zeroshot::util {

// The variable's value, or nullopt when unset or empty.
std::optional<std::string> env(const char* name);
// True for "1", "true", "yes", "on" (any case).
bool env_flag(const char* name);

// The Hugging Face hub cache folder: HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (as huggingface_hub).
std::string hf_hub_cache();
// HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::string hf_home();

}  // namespace zeroshot::util
