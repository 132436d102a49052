#pragma once

#include "common.h"

#include <cstddef>
#include <cstdint>

namespace wgts {

// BLAKE2s (RFC 7693) with an optional key (≤ 32 bytes) and outLen 1..32: out = BLAKE2s(key; data).
void Blake2s(uint8_t* out, size_t outLen, const uint8_t* key, size_t keyLen, const uint8_t* data, size_t len);

Napi::Value Blake2sMac(const Napi::CallbackInfo& info);
Napi::Value Blake2sKdf(const Napi::CallbackInfo& info);

}  // namespace wgts
