{
  "targets": [
    {
      "target_name": "wgts_native",
      "sources": ["native/addon.cc", "native/tun.cc", "native/udp.cc", "native/aead.cc", "native/blake2s.cc", "native/uapi.cc", "native/x25519.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["native/tun.cc", "native/udp.cc", "native/aead.cc", "native/blake2s.cc", "native/uapi.cc", "native/x25519.cc", "native/addon.cc"], "sources": ["native/unsupported.cc"] }]
      ]
    }
  ]
}
