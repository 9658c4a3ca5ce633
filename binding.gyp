{
  "targets": [
    {
      "target_name": "coreforge_native",
      "sources": ["src/native/coreforge_native.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
