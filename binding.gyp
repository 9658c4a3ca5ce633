{
  "targets": [
    {
      "target_name": "coreforge_native",
      "sources": ["src/native/coreforge_native.c", "src/native/decoders.c", "src/native/hashwrite.c", "src/native/spawn.c", "src/native/addon.c"],
      "cflags": ["-O2", "-Wall"],
      "libraries": ["-lzstd", "-llzma", "-lbz2", "-lz"]
    }
  ]
}
