// Shared helpers for the wgts addon: a JS error from errno, and a base for
// handles that poll a non-blocking fd on the Node event loop.
#pragma once

#include <napi.h>
#include <uv.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace wgts {

inline Napi::Error ErrnoError(Napi::Env env, const char* what, int err) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == EBUSY ? "EBUSY" : err == EADDRINUSE ? "EADDRINUSE" : err == ENOENT ? "ENOENT" : err == EINVAL ? "EINVAL" : "ESYSCALL"));
  return e;
}

// Bytes of a Buffer / TypedArray argument, or throws a TypeError.
struct ByteView {
  uint8_t* data = nullptr;
  size_t length = 0;
};

inline ByteView GetBytes(const Napi::Value& v, const char* name) {
  ByteView out;
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    out.data = static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset();
    out.length = ta.ByteLength();
    return out;
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    out.data = static_cast<uint8_t*>(ab.Data());
    out.length = ab.ByteLength();
    return out;
  }
  throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a Buffer or TypedArray");
}

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

}  // namespace wgts
