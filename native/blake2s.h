#pragma once

#include "common.h"

#include <cstddef>
#include <cstdint>

namespace wgts {

// Bytes of a TypedArray in one N-API call (GetBytes makes three); false when it is not one.
inline bool FastBytes(napi_env env, napi_value v, ByteView& out) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_uint8_array && type != napi_uint8_clamped_array && type != napi_int8_array) return false;
  out.data = static_cast<uint8_t*>(data);
  out.length = length;
  return true;
}

inline ByteView Bytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  ByteView b;
  if (FastBytes(info.Env(), info[i], b)) return b;
  return GetBytes(info[i], name);
}

// BLAKE2s (RFC 7693) with an optional key (≤ 32 bytes) and outLen 1..32: out = BLAKE2s(key; data).
void Blake2s(uint8_t* out, size_t outLen, const uint8_t* key, size_t keyLen, const uint8_t* data, size_t len);

Napi::Value Blake2sMac(const Napi::CallbackInfo& info);
Napi::Value Blake2sKdf(const Napi::CallbackInfo& info);

}  // namespace wgts
