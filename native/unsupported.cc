// Non-Linux hosts: the addon loads but offers nothing; wgts uses its portable paths.
#include <napi.h>

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Number::New(env, 0));
  return exports;
}

NODE_API_MODULE(wgts_native, InitAddon)
