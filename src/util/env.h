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

// The folder of zeroshot's prepared-weights cache (weights_cache/): ZEROSHOT_PREPARED_CACHE, else
// $XDG_CACHE_HOME/zeroshot/prepared, else ~/.cache/zeroshot/prepared; nullopt when the variable
// turns the cache off ("off", "0", "false", "no", any case).
std::optional<std::string> prepared_cache_dir();

// HF_ENDPOINT without trailing slashes, else "https://huggingface.co".
std::string hf_endpoint();
// The Hugging Face token: HF_TOKEN, else the legacy HUGGING_FACE_HUB_TOKEN, else the first line of
// the token file (HF_TOKEN_PATH, else $HF_HOME/token), surrounding whitespace removed; nullopt
// when none is set (as huggingface_hub's get_token()).
std::optional<std::string> hf_token();
// HF_HUB_OFFLINE (or the legacy TRANSFORMERS_OFFLINE) is set to a true value.
bool hf_hub_offline();
// Seconds, parsed from a positive number in the variable, else `fallback` (HF_HUB_ETAG_TIMEOUT,
// HF_HUB_DOWNLOAD_TIMEOUT: huggingface_hub's names and meanings, default 10).
double env_seconds(const char* name, double fallback);

}  // namespace zeroshot::util
