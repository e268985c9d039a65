{
  "targets": [
    {
      "target_name": "gptkit_mpi",
      "sources": ["mpi.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "<!@(mpicxx --showme:compile)"],
      "libraries": ["<!@(mpicxx --showme:link)"]
    }
  ]
}
